"""The reports page: figures scoped to what the user may read, a period
chosen by dates (a bad date is named next to its field), and a CSV download."""
from __future__ import annotations

import csv
import io

import pytest

from tests.portal.staff_world import build_world, log_in


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False  # the log-in form's CSRF has its own test


def test_a_province_sees_its_cities_and_not_another_province(app, database):
    world = build_world(database)  # tickets from two schools of C3171 and one of C3172, all today
    client = app.test_client()
    log_in(client, world.emails["p31"])
    page = client.get("/staff/reports?lang=en").get_data(as_text=True)
    assert "Dinas Pendidikan Jakarta Selatan" in page and "Dinas Pendidikan Jakarta Timur" in page
    assert "C3273" not in page and "P32" not in page

    rows = list(csv.reader(io.StringIO(client.get("/staff/reports.csv").get_data(as_text=True))))
    assert rows[0][:3] == ["office", "name", "created"]
    assert {r[0]: r[2] for r in rows[1:]} == {"P31": "0", "C3171": "2", "C3172": "1", "TOTAL": "3"}


def test_a_city_agent_sees_only_its_own_office(app, database):
    world = build_world(database)
    client = app.test_client()
    log_in(client, world.emails["c3273"])
    rows = list(csv.reader(io.StringIO(client.get("/staff/reports.csv").get_data(as_text=True))))
    assert {r[0]: r[2] for r in rows[1:]} == {"C3273": "0", "TOTAL": "0"}


def test_a_bad_date_is_named_next_to_its_field_and_the_default_period_shown(app, database):
    world = build_world(database)
    client = app.test_client()
    log_in(client, world.emails["min"])
    response = client.get("/staff/reports?lang=en&from=2026-13-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="r-from-error">Write a date as YYYY-MM-DD.' in page
    assert 'aria-invalid="true"' in page
    reversed_period = client.get("/staff/reports?lang=id&from=2026-11-02&to=2026-11-01").get_data(as_text=True)
    assert "Awal periode jatuh setelah akhirnya." in reversed_period


@pytest.mark.browser
def test_the_reports_page_in_a_browser(page, live_server, database):
    from tests.factories import PASSWORD
    from tests.portal.conftest import screenshot

    world = build_world(database)
    page.goto(f"{live_server}/login")
    page.fill("#email", world.emails["p31"])
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/staff/")
    page.click("nav.staffnav >> text=Laporan")
    page.wait_for_selector("table.report")
    assert "Per kantor" in page.inner_text("main")
    assert page.inner_text("table.report tfoot").split()[1] == "3"
    path = screenshot(page, "staff-reports")
    assert path.stat().st_size > 0
