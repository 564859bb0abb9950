"""The staff day in a real Chromium: log in, reply in one action, forward up,
the province sees it, a sibling city cannot; an admin imports a directory."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Outbox, Status
from tests.factories import PASSWORD
from tests.portal.conftest import screenshot
from tests.portal.staff_world import build_world, ticket_of

pytestmark = pytest.mark.browser

BAD_DIRECTORY = """code,name,kind,parent_code,email
S900,SMA Negeri 90 Jakarta,school,C3171,sman90@sekolah.test
S901,,school,C3171,
S902,SMA Negeri 92,school,NOPE,sman92@sekolah.test
bad code!,X,school,C3171,
"""


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff/")


def log_out(page) -> None:
    page.click("form[action='/logout'] button")


def test_a_city_agent_replies_and_forwards_and_the_offices_see_what_they_should(page, live_server, database):
    world = build_world(database)
    base = live_server
    page.goto(f"{base}/login")
    screenshot(page, "staff-login")
    log_in(page, base, world.emails["c3171"])
    page.goto(f"{base}/staff/?queue=mine")  # logging in made the agent available and gave them a ticket
    screenshot(page, "staff-queues")
    page.click(f"text={world.refs['sman1']}")
    assert page.inner_text("#ticket-assignee") == "agent C3171"
    page.fill("#text", "NUPTK Ibu Siti sudah kami ajukan ulang.")
    page.select_option("#reply-status", "answered")
    page.click("#send-reply")
    page.wait_for_selector("text=Balasan terkirim.")
    screenshot(page, "staff-ticket-replied")
    assert ticket_of(database, world.refs["sman1"]).status is Status.answered
    with database.session() as s:
        mail = s.scalar(select(Outbox).where(Outbox.template == "staff_reply"))
        assert mail.to_address == "sman1@sekolah.test" and "sudah kami ajukan ulang" in mail.context

    page.goto(f"{base}/staff/tickets/{world.refs['sman8']}")
    page.fill("#fwd-note", "Butuh keputusan provinsi.")
    page.click("#forward")
    page.wait_for_selector("text=Diteruskan ke")
    assert ticket_of(database, world.refs["sman8"]).office.code == "P31"
    log_out(page)

    log_in(page, base, world.emails["p31"])
    page.goto(f"{base}/staff/?queue=forwarded")
    assert world.refs["sman8"] in page.content()
    screenshot(page, "staff-province-forwarded")
    page.click(f"text={world.refs['sman8']}")
    page.click("#take")
    page.wait_for_selector("text=Tiket ini sekarang milik Anda.")
    screenshot(page, "staff-province-ticket")
    log_out(page)

    log_in(page, base, world.emails["c3172"])
    response = page.goto(f"{base}/staff/tickets/{world.refs['sman1']}")
    assert response.status == 404
    page.goto(f"{base}/staff/search?q=NUPTK")
    assert world.refs["sman1"] not in page.content()
    screenshot(page, "staff-sibling-search")


def test_an_admin_imports_a_directory_with_bad_rows_and_reads_the_report(page, live_server, database, tmp_path):
    world = build_world(database)
    csv_file = tmp_path / "directory.csv"
    csv_file.write_text(BAD_DIRECTORY)
    log_in(page, live_server, world.emails["min"])
    page.goto(f"{live_server}/admin/")
    screenshot(page, "admin-index")
    page.goto(f"{live_server}/admin/directory")
    page.set_input_files("#file", str(csv_file))
    page.click("#import")
    page.wait_for_selector("#bad-rows")
    rows = page.inner_text("#bad-rows")
    assert "S901" in rows and "S902" in rows and "bad code!" in rows
    assert "1" in page.inner_text("#summary")
    screenshot(page, "admin-directory-report")
    for path in ("users", "priorities", "policy", "categories", "canned", "quarantine", "outbox", "mail-templates"):
        page.goto(f"{live_server}/admin/{path}")
        screenshot(page, f"admin-{path}")
