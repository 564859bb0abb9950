"""A customer's whole journey in a real Chromium, at phone and desktop width:
the form, the acknowledgement's link, the thread, a reply with a picture, and
"this solved it"."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core import lifecycle
from core.models import Direction, Message, Outbox, Status, Ticket
from core.tickets import link_of
from tests.factories import make_user
from tests.portal.conftest import screenshot
from tests.portal.public_helpers import png, seed

pytestmark = pytest.mark.browser


def link_in_acknowledgement(database, live_server: str) -> str:
    """The private link the acknowledgement of the one queued ticket carries."""
    with database.begin() as s:
        ack = s.scalar(select(Outbox).where(Outbox.template == "ack"))
        ticket = s.get(Ticket, ack.ticket_id)
        return link_of(database.settings, ticket).replace(database.settings.base_url, live_server)


def staff_answer(database, text: str) -> None:
    with database.begin() as s:
        ticket = s.scalar(select(Ticket))
        agent = make_user(s, ticket.office, email=f"agent{len(ticket.messages)}@staff.test")
        s.add(Message(ticket=ticket, direction=Direction.outbound, author=agent, from_address=agent.email,
                      text=text))
        s.add(Message(ticket=ticket, direction=Direction.note, author=agent, text="NOTE: do not show"))
        lifecycle.move(s, ticket, Status.answered, agent)


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_customer_asks_follows_the_link_replies_with_a_picture_and_says_it_is_solved(
        page, live_server, database):
    seed(database)
    page.goto(f"{live_server}/?lang=en")
    assert page.locator("label[for=email]").inner_text() == "Your email address"
    assert fits_the_screen(page)
    screenshot(page, "public-form")

    page.fill("#name", "Bu Sari")
    page.wait_for_timeout(2100)  # people take longer than the form's two-second floor
    page.click("button[type=submit]")
    assert page.locator("#email-errors").is_visible() and page.input_value("#name") == "Bu Sari"
    screenshot(page, "public-form-errors")

    page.fill("#email", "sari@example.test")
    page.select_option("#category", label="Dapodik › Sinkronisasi")
    page.fill("#subject", "Sinkronisasi gagal")
    page.fill("#body", "Setiap sinkronisasi berhenti di 80%.")
    page.set_input_files("#attachments", files=[
        {"name": "layar.png", "mimeType": "image/png", "buffer": png(1200, 800, "navy")}])
    page.click("button[type=submit]")
    page.wait_for_url("**/sent")
    ref = page.locator(".ref").inner_text()
    assert ref.startswith("HD-") and "sari@example.test" in page.content()
    screenshot(page, "public-sent")

    page.goto(link_in_acknowledgement(database, live_server))
    assert ref in page.locator("h1").inner_text()
    assert "Setiap sinkronisasi berhenti di 80%." in page.locator(".thread").inner_text()
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert fits_the_screen(page)
    screenshot(page, "public-ticket")

    page.fill("#body", "Ini tangkapan layar terbaru.")
    page.set_input_files("#attachments", files=[
        {"name": "terbaru.png", "mimeType": "image/png", "buffer": png(900, 1600, "maroon")}])
    page.click("#reply button[type=submit]")
    page.wait_for_url("**#latest")
    latest = page.locator("#latest")
    assert "Ini tangkapan layar terbaru." in latest.inner_text()
    thumb = latest.locator("img.thumb")
    thumb.wait_for()
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert 0 < thumb.evaluate("i => i.naturalWidth") <= 320

    staff_answer(database, "Sudah kami perbaiki di server pusat.")
    page.reload()
    assert "NOTE: do not show" not in page.content()
    screenshot(page, "public-ticket-answered")
    page.click("text=Yes, this solved it")
    assert page.locator(".status").inner_text() == "Closed"
    assert page.locator(".flash").is_visible()
    screenshot(page, "public-ticket-solved")
    with database.begin() as s:
        ticket = s.scalar(select(Ticket))
        assert (ticket.status, ticket.satisfied) == (Status.closed, True)
