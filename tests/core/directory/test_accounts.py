"""An admin manages the accounts of their own office and below, and no other:
an office code with LIKE's wildcard `_` included."""
from __future__ import annotations

from core.directory.accounts import list_users
from core.models import Role
from tests.factories import load_directory, make_user

WILDCARD_CODES = """code,name,kind,parent_code,email
MIN,Kementerian,ministry,,
P_1,Provinsi Garis Bawah,province,MIN,
PX1,Provinsi Lain,province,MIN,
C_11,Kota Garis Bawah,city,P_1,
CX11,Kota Lain,city,PX1,
"""


def test_an_office_code_with_like_wildcards_lists_only_its_own_staff(session):
    offices = load_directory(session, WILDCARD_CODES)
    staff = {code: make_user(session, offices[code], Role.admin if code.startswith("P") else Role.agent)
             for code in ("P_1", "PX1", "C_11", "CX11")}
    assert {u.office.code for u in list_users(session, staff["P_1"])} == {"P_1", "C_11"}
    assert {u.office.code for u in list_users(session, staff["PX1"])} == {"PX1", "CX11"}

