"""Small builders for test data, through the same services the product uses."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.passwords import hash_password
from core.directory.csvrows import read_directory
from core.directory.offices import import_directory
from core.models import Office, Role, User

DIRECTORY = """code,name,kind,parent_code,email
MIN,Kementerian Pendidikan,ministry,,ministry@kemdik.test
P31,Dinas Pendidikan DKI Jakarta,province,MIN,
P32,Dinas Pendidikan Jawa Barat,province,MIN,
C3171,Dinas Pendidikan Jakarta Selatan,city,P31,
C3172,Dinas Pendidikan Jakarta Timur,city,P31,
C3273,Dinas Pendidikan Kota Bandung,city,P32,
S001,SMA Negeri 1 Jakarta,school,C3171,sman1@sekolah.test
S002,SMA Negeri 8 Jakarta,school,C3171,sman8@sekolah.test
S003,SMK Negeri 26 Jakarta,school,C3172,smkn26@sekolah.test
S004,SMA Negeri 3 Bandung,school,C3273,sman3bdg@sekolah.test
"""

PASSWORD = "correct horse battery"
_HASH: dict[str, str] = {}


def load_directory(session: Session, csv_text: str = DIRECTORY) -> dict[str, Office]:
    report = import_directory(session, read_directory(csv_text))
    assert not report.errors, report.errors
    session.flush()
    return {o.code: o for o in session.scalars(select(Office))}


def make_user(session: Session, office: Office, role: Role = Role.agent, email: str | None = None,
              available: bool = True) -> User:
    # Argon2 is slow on purpose; tests share one hash of the one password.
    if "h" not in _HASH:
        _HASH["h"] = hash_password(PASSWORD)
    user = User(email=email or f"{role.value}.{office.code.lower()}@staff.test", name=f"{role.value} {office.code}",
                password_hash=_HASH["h"], office=office, role=role, available=available)
    session.add(user)
    session.flush()
    return user


def raw_of(db, raw_mail) -> bytes | None:
    """A received message's bytes, wherever they are (spooled, or moved to the store)."""
    from core.storage.files import Store
    from core.storage.spool import raw_bytes

    with db.read() as session:
        return raw_bytes(session, Store(db.settings.path("store")), raw_mail)
