"""Starting data: the default priorities every installation needs, and a small
but realistic demo directory with staff and tickets in every state."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.access.passwords import hash_password
from core.config.policy import Policy
from core.config.settings import Settings
from core.directory.csvrows import read_directory
from core.directory.offices import import_directory
from core.models import Category, Direction, Message, Office, Priority, Role, Status, User, utcnow
from core.tickets import lifecycle
from core.tickets.intake import Incoming, customer_office, open_ticket

# name, level, hours to first response, hours to resolution, escalate on breach
PRIORITIES = [("rendah", 1, 72, 240, False), ("normal", 2, 24, 120, False),
              ("tinggi", 3, 8, 48, False), ("mendesak", 4, 2, 24, True)]
CATEGORIES = {"Data PTK": ["NUPTK", "Tunjangan profesi"], "Dapodik": ["Sinkronisasi", "Akun operator"],
              "Lainnya": []}

PROVINCES = [("P31", "DKI Jakarta", [("C3171", "Jakarta Selatan"), ("C3175", "Jakarta Timur")]),
             ("P32", "Jawa Barat", [("C3273", "Kota Bandung"), ("C3271", "Kota Bogor")]),
             ("P35", "Jawa Timur", [("C3578", "Kota Surabaya"), ("C3573", "Kota Malang"),
                                    ("C3509", "Kabupaten Jember")])]
SCHOOL_KINDS = ["SMA Negeri", "SMK Negeri", "SMA Swasta Budi Utomo", "SMK Muhammadiyah",
                "SMA Islam Al-Azhar", "SMA Katolik Santo Yusup", "SMK Taruna Bhakti"]
DEMO_PASSWORD = "helpdesk-demo"

TICKETS = [  # school, subject, body, final status
    ("S01", "NUPTK guru belum terbit", "Yth. Dinas, NUPTK Ibu Siti Aminah belum terbit sejak Maret.", "open"),
    ("S02", "Sinkronisasi Dapodik gagal", "Aplikasi menampilkan 'error 500' saat sinkronisasi.", "answered"),
    ("S03", "Tunjangan profesi belum cair", "Tunjangan profesi triwulan II belum diterima.", "forwarded"),
    ("S04", "Lupa kata sandi operator", "Operator kami lupa kata sandi akun Dapodik.", "closed"),
    ("S09", "Data rombel ganda", "Rombongan belajar kelas X muncul dua kali.", "on_hold"),
    ("S10", "Perubahan kepala sekolah", "Mohon pembaruan data kepala sekolah yang baru.", "open"),
    ("S15", "Jam mengajar tidak valid", "Jam mengajar Pak Bambang dianggap kurang dari 24 jam.", "answered"),
    ("S21", "Sekolah belum terdaftar", "NPSN sekolah kami tidak ditemukan.", "open"),
    ("S28", "Verval PTK ditolak", "Verifikasi PTK ditolak tanpa keterangan.", "forwarded"),
    ("S33", "Akun terkunci", "Akun operator terkunci setelah salah kata sandi.", "closed"),
    ("S40", "Guru pindah tugas", "Guru kami pindah ke sekolah lain, mohon mutasi data.", "open"),
    ("S47", "Pertanyaan BOS", "Bagaimana cara melihat status dana BOS tahap 2?", "answered"),
]


def seed_defaults(session: Session) -> bool:
    """Priorities and categories a fresh installation starts with; True if added."""
    if session.scalar(select(func.count()).select_from(Priority)):
        return False
    for name, level, first, resolution, escalate in PRIORITIES:
        session.add(Priority(name=name, level=level, first_response_hours=first, resolution_hours=resolution,
                             escalate_on_breach=escalate, is_default=name == "normal"))
    for group, children in CATEGORIES.items():
        parent = Category(name=group)
        session.add(parent)
        session.flush()
        for child in children:
            session.add(Category(name=child, parent_id=parent.id))
    session.flush()
    return True


def directory_csv(schools: int = 50) -> str:
    """The demo directory: the Ministry, three provinces, seven cities, and
    schools dealt round the cities."""
    lines = ["code,name,kind,parent_code,email", "KEMDIK,Kementerian Pendidikan Dasar dan Menengah,ministry,,"]
    cities = []
    for code, name, its_cities in PROVINCES:
        lines.append(f"{code},Dinas Pendidikan Provinsi {name},province,KEMDIK,")
        for city_code, city in its_cities:
            lines.append(f"{city_code},Dinas Pendidikan {city},city,{code},")
            cities.append((city_code, city.split()[-1]))
    for number in range(1, schools + 1):
        city_code, town = cities[number % len(cities)]
        kind = SCHOOL_KINDS[number % len(SCHOOL_KINDS)]
        lines.append(f"S{number:02d},{kind} {number} {town},school,{city_code},sekolah{number:02d}@sekolah.demo")
    return "\n".join(lines) + "\n"


def _staff(session: Session) -> list[tuple[str, str, str]]:
    hashed = hash_password(DEMO_PASSWORD)
    made = []
    offices = {o.code: o for o in session.scalars(select(Office).where(Office.kind != "school"))}
    for code, office in offices.items():
        roles = [Role.admin] if office.kind == "ministry" else [Role.supervisor, Role.agent]
        if office.kind == "ministry":
            roles.append(Role.agent)
        for role in roles:
            email = f"{role.value}.{code.lower()}@kemdik.demo"
            session.add(User(email=email, name=f"{role.value.title()} {office.name}", password_hash=hashed,
                             office=office, role=role, available=True))
            made.append((email, role.value, code))
    session.flush()
    return made


def load_demo(session: Session, settings: Settings) -> list[tuple[str, str, str]]:
    """Load the demo once; returns the staff logins made (empty if already there)."""
    if session.scalar(select(Office.id).where(Office.code == "KEMDIK")):
        return []
    seed_defaults(session)
    report = import_directory(session, read_directory(directory_csv()), actor="demo")
    assert not report.errors, report.errors
    staff = _staff(session)
    policy = Policy()
    start = utcnow() - timedelta(days=3)
    for n, (school_code, subject, body, final) in enumerate(TICKETS):
        email = f"sekolah{school_code[1:]}@sekolah.demo"
        school = customer_office(session, email, policy)
        at = start + timedelta(hours=5 * n)
        ticket = open_ticket(session, settings, policy, Incoming(
            from_address=email, from_name=school.name, subject=subject, text=body, full_text=body,
            channel="mail"), school=school, now=at)
        _walk(session, ticket, Status(final), at + timedelta(hours=2))
    return staff


def _walk(session: Session, ticket, final: Status, at) -> None:
    """Bring a demo ticket to its final state the way staff would."""
    agent = session.scalar(select(User).where(User.office_id == ticket.office_id, User.role == Role.agent))
    if final in (Status.answered, Status.closed):
        session.add(Message(ticket=ticket, direction=Direction.outbound, author=agent,
                            from_address=agent.email, text="Terima kasih, data sudah kami perbaiki. "
                            "Silakan cek kembali besok.", full_text="", created_at=at))
        ticket.first_response_at = at
        lifecycle.move(session, ticket, Status.answered, agent, now=at)
    if final is Status.closed:
        lifecycle.move(session, ticket, Status.closed, agent, now=at + timedelta(hours=1))
    elif final is Status.forwarded:
        lifecycle.move(session, ticket, Status.forwarded, agent, now=at, detail="perlu keputusan provinsi")
        audit.record(session, ticket, "forward", agent, from_value=ticket.office.code,
                     to_value=ticket.office.parent.code, at=at)
        ticket.office = ticket.office.parent
        # Forwarded tickets leave the city agent; the province's pool takes them.
        ticket.assignee, ticket.assigned_at = None, None
    elif final is Status.on_hold:
        lifecycle.move(session, ticket, Status.on_hold, agent, now=at, detail="menunggu dokumen")
