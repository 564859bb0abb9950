"""A small world for staff portal tests: the test directory, staff in three
cities, a province and the ministry, and tickets from schools of two cities."""
from __future__ import annotations

from dataclasses import dataclass

from core.config.policy import Policy
from core.models import Role, Ticket
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import PASSWORD, load_directory, make_user


@dataclass
class World:
    refs: dict[str, str]       # name -> ticket ref
    emails: dict[str, str]     # name -> staff email


def build_world(database) -> World:
    policy = Policy()
    with database.begin() as s:
        offices = load_directory(s)
        emails = {}
        for name, code, role in [("c3171", "C3171", Role.agent), ("c3171b", "C3171", Role.agent),
                                 ("c3172", "C3172", Role.agent), ("c3273", "C3273", Role.agent),
                                 ("p31", "P31", Role.agent), ("p31admin", "P31", Role.admin),
                                 ("min", "MIN", Role.admin)]:
            emails[name] = make_user(s, offices[code], role, email=f"{name}@staff.test", available=False).email
        refs = {}
        for name, sender, subject, text in [
                ("sman1", "sman1@sekolah.test", "NUPTK guru belum terbit", "NUPTK Ibu Siti belum terbit sejak Maret."),
                ("sman8", "sman8@sekolah.test", "Sinkronisasi Dapodik gagal", "Error 500 saat sinkronisasi."),
                ("smkn26", "smkn26@sekolah.test", "Tunjangan profesi belum cair", "Tunjangan triwulan II rahasia."),
        ]:
            school = customer_office(s, sender, policy)
            ticket = open_ticket(s, database.settings, policy, Incoming(
                from_address=sender, subject=subject, text=text, message_id=f"<{name}@sekolah.test>"),
                school=school)
            refs[name] = ticket.ref
    return World(refs, emails)


def log_in(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def ticket_of(database, ref: str) -> Ticket:
    from sqlalchemy import select
    with database.session() as s:
        return s.scalar(select(Ticket).where(Ticket.ref == ref))
