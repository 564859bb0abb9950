"""A directory of several provinces and cities, a Region tier added by a second
import, and helpers to open tickets in it, for the chain's tests."""
from __future__ import annotations

from datetime import datetime, timezone

from core.config.policy import Policy
from core.models import Office, Ticket
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import DIRECTORY, load_directory

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # a Monday

MORE = """code,name,kind,parent_code,email
P33,Dinas Pendidikan Jawa Tengah,province,MIN,
C3374,Dinas Pendidikan Kota Semarang,city,P33,
C3372,Dinas Pendidikan Kota Surakarta,city,P33,
S005,SMA Negeri 1 Semarang,school,C3374,sman1smg@sekolah.test
S006,SMA Negeri 1 Surakarta,school,C3372,sman1slo@sekolah.test
"""

# The region is inserted later, by import alone: Jakarta Selatan moves under it.
REGION = """code,name,kind,parent_code,email
R31A,Wilayah I DKI Jakarta,region,P31,
C3171,Dinas Pendidikan Jakarta Selatan,city,R31A,
"""


def load_chain(session) -> dict[str, Office]:
    load_directory(session, DIRECTORY)
    load_directory(session, MORE)
    return load_directory(session, REGION)


def mail(sender: str = "sman1@sekolah.test", subject: str = "Data guru", **kw) -> Incoming:
    return Incoming(from_address=sender, subject=subject, text="NUPTK belum terbit", **kw)


def open_from(session, settings, sender: str = "sman1@sekolah.test", *, now: datetime = T0,
              policy: Policy | None = None, **kw) -> Ticket:
    policy = policy or Policy()
    school = customer_office(session, sender, policy)
    return open_ticket(session, settings, policy, mail(sender), school=school, now=now, **kw)
