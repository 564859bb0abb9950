"""A wave answered from a real Chromium: filter a queue down to the outage's
two hundred tickets, tick "all matching", reply with a canned response."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from core.models import CannedResponse, Outbox, Priority, Status, Ticket
from tests.core.tickets.waves_world import build_wave
from tests.portal.conftest import screenshot
from tests.portal.test_staff_browser import log_in

pytestmark = pytest.mark.browser


def test_a_bulk_reply_over_two_hundred_tickets_from_a_filtered_queue(page, live_server, database):
    with database.begin() as s:
        wave = build_wave(s, database.settings, 220)
        outage = Priority(name="Gangguan nasional", level=90, first_response_hours=4, resolution_hours=24)
        s.add_all([outage, CannedResponse(title="Dapodik pulih",
                                          body="Tiket {{ ticket.ref }}: server Dapodik sudah pulih.")])
        s.flush()
        wave_ids = [t.id for t in wave.tickets[:200]]
        s.execute(update(Ticket).where(Ticket.id.in_(wave_ids)).values(priority_id=outage.id))
        agent, outage_id, others = wave.agent.email, outage.id, [t.id for t in wave.tickets[200:]]
    log_in(page, live_server, agent)
    page.goto(f"{live_server}/staff/?queue=open")
    page.click("details.filters summary")
    page.select_option("#f-priority", str(outage_id))
    page.click("details.filters button[type=submit]")
    page.wait_for_url("**priority=*")
    assert "200" in page.inner_text("h1")
    screenshot(page, "staff-bulk-filtered-queue")

    page.check("#bulk-all")
    page.select_option("#bulk-action", "reply")
    page.select_option("#bulk-reply-status", "answered")
    page.select_option("#bulk-canned", label="Dapodik pulih")
    page.fill("#bulk-text", "Silakan sinkron ulang. Terima kasih atas kesabarannya.")
    screenshot(page, "staff-bulk-form")
    page.click("#bulk-apply")
    page.wait_for_url("**/staff/bulk/*", timeout=120_000)
    assert "200 dari 200 tiket ditangani, 0 ditolak." in page.inner_text("#job-status")
    screenshot(page, "staff-bulk-report")

    with database.session() as s:
        replies = list(s.execute(select(Outbox.ticket_id, Outbox.in_reply_to).where(Outbox.template == "staff_reply")))
        assert sorted(tid for tid, _ in replies) == sorted(wave_ids)
        assert len({irt for _, irt in replies}) == 200  # each in its own school's thread
        assert s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.id.in_(wave_ids), Ticket.status == Status.answered)) == 200
        assert set(s.scalars(select(Ticket.status).where(Ticket.id.in_(others)))) == {Status.open}
