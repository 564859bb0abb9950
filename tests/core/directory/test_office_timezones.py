"""The directory CSV's optional timezone column and the zone offices get by default."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from core.config.zones import show
from core.directory.csvrows import RowError, read_directory
from core.directory.offices import import_directory
from core.models import Office

WITH_ZONES = """code,name,kind,parent_code,email,timezone
MIN,Kementerian,ministry,,,
P73,Dinas Sulawesi Selatan,province,MIN,,Asia/Makassar
P94,Dinas Papua,province,MIN,,Asia/Jayapura
"""


def zones(session) -> dict[str, str]:
    return dict(session.execute(select(Office.code, Office.timezone)).all())


def test_the_sixth_column_sets_zones_and_an_empty_cell_means_jakarta(session):
    report = import_directory(session, read_directory(WITH_ZONES))
    assert not report.errors
    assert zones(session) == {"MIN": "Asia/Jakarta", "P73": "Asia/Makassar", "P94": "Asia/Jayapura"}


def test_a_file_without_the_column_keeps_the_zones_already_set(session):
    import_directory(session, read_directory(WITH_ZONES))
    report = import_directory(session, read_directory(
        "code,name,kind,parent_code,email\nP73,Dinas Sulawesi Selatan Baru,province,MIN,\n"))
    assert report.updated == 1
    assert zones(session)["P73"] == "Asia/Makassar"


def test_changing_only_the_zone_counts_as_an_update(session):
    import_directory(session, read_directory(WITH_ZONES))
    report = import_directory(session, read_directory(
        "code,name,kind,parent_code,email,timezone\nP73,Dinas Sulawesi Selatan,province,MIN,,Asia/Jakarta\n"))
    assert (report.updated, report.unchanged) == (1, 0)
    assert zones(session)["P73"] == "Asia/Jakarta"


def test_an_unknown_zone_is_reported_by_line_and_the_good_rows_kept(session):
    rows = list(read_directory(WITH_ZONES + "C7371,Kota Makassar,city,P73,,Asia/Ujung_Pandang_Baru\n"))
    bad = [r for r in rows if isinstance(r, RowError)]
    assert [str(e) for e in bad] == [
        "line 5 (C7371): timezone 'Asia/Ujung_Pandang_Baru' is not a known time zone name such as Asia/Makassar"]
    report = import_directory(session, rows)
    assert report.created == 3 and len(report.errors) == 1


def test_times_show_in_the_zone_with_its_indonesian_abbreviation():
    moment = datetime(2024, 5, 1, 7, 30, tzinfo=timezone.utc)
    assert show(moment, "Asia/Jakarta") == "2024-05-01 14:30 WIB"
    assert show(moment, "Asia/Makassar") == "2024-05-01 15:30 WITA"
    assert show(moment, "Asia/Jayapura") == "2024-05-01 16:30 WIT"
    assert show(moment.replace(tzinfo=None), None) == "2024-05-01 14:30 WIB"  # naive means UTC
