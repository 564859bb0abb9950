from sqlalchemy import func, select

from core.directory.csvrows import BadDirectory, read_directory
from core.directory.offices import import_directory
from core.models import Office
from tests.factories import DIRECTORY, load_directory

import pytest


def run(session, text):
    report = import_directory(session, read_directory(text))
    session.flush()
    return report


def test_import_builds_the_tree_with_paths(session):
    offices = load_directory(session)
    assert offices["S001"].parent.code == "C3171"
    assert offices["S001"].path == "/MIN/P31/C3171/S001/"
    assert offices["MIN"].parent_id is None


def test_importing_the_same_file_twice_changes_nothing_and_says_so(session):
    first = run(session, DIRECTORY)
    again = run(session, DIRECTORY)
    assert first.created == 10
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert not again.changed
    assert "nothing to change" in again.summary()


def test_bad_rows_are_reported_by_line_and_good_rows_kept(session):
    text = DIRECTORY + "\n".join([
        ",Nameless,school,C3171,x@sekolah.test",           # line 12: empty code
        "S005,SMA 5,school,C9999,s5@sekolah.test",          # 13: unknown parent
        "S006,SMA 6,school,C3171,SMAN1@sekolah.test",       # 14: duplicate email, any case
        "S007,SMA 7,School,C3171,s7@sekolah.test",          # 15: kind not lowercase
        "S008,SMA 8,school,C3171,s8@sekolah.test",          # 16: good
        "S008,SMA 8 again,school,C3171,s8b@sekolah.test",   # 17: duplicate code
        "S009,SMA 9,school,S005,s9@sekolah.test",           # 18: parent rejected
        "",
    ])
    report = run(session, text)
    reasons = {e.line: e.reason for e in report.errors}
    assert set(reasons) == {12, 13, 14, 15, 17, 18}
    assert reasons[12] == "empty code"
    assert reasons[13] == "unknown parent C9999"
    assert "already used by S001" in reasons[14]
    assert "lowercase" in reasons[15]
    assert "line 16" in reasons[17]
    assert "parent S005 was rejected (line 13)" == reasons[18]
    assert report.created == 11
    assert session.scalar(select(Office).where(Office.code == "S008")).name == "SMA 8"


def test_a_cycle_is_rejected_with_the_loop_named(session):
    load_directory(session)
    report = run(session, "code,name,kind,parent_code,email\nA,A,region,B,\nB,B,region,A,\nC,C,city,A,\n")
    reasons = {e.code: e.reason for e in report.errors}
    assert "cycle of parents" in reasons["A"] and "cycle of parents" in reasons["B"]
    assert reasons["C"].startswith("parent A was rejected")


def test_a_second_root_is_rejected(session):
    load_directory(session)
    report = run(session, "code,name,kind,parent_code,email\nROOT2,Other,ministry,,\n")
    assert "already has a root (MIN)" in report.errors[0].reason


def test_a_region_tier_inserted_by_import_reparents_the_cities(session):
    load_directory(session)
    report = run(session, "code,name,kind,parent_code,email\n"
                          "R1,Wilayah Jakarta,region,P31,\n"
                          "C3171,Dinas Pendidikan Jakarta Selatan,city,R1,\n")
    assert (report.created, report.updated) == (1, 1)
    school = session.scalar(select(Office).where(Office.code == "S001"))
    session.refresh(school)
    assert school.path == "/MIN/P31/R1/C3171/S001/"
    assert school.parent.parent.code == "R1"


def test_emails_can_swap_between_offices_in_one_import(session):
    load_directory(session)
    report = run(session, "code,name,kind,parent_code,email\n"
                          "S001,SMA Negeri 1 Jakarta,school,C3171,sman8@sekolah.test\n"
                          "S002,SMA Negeri 8 Jakarta,school,C3171,sman1@sekolah.test\n")
    assert not report.errors and report.updated == 2


def test_a_file_without_the_columns_is_refused_whole():
    with pytest.raises(BadDirectory, match="missing column"):
        list(read_directory("code,name\nA,B\n"))


def test_counts_after_import(session):
    load_directory(session)
    assert session.scalar(select(func.count()).select_from(Office)) == 10
