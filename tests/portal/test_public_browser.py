"""A customer's whole journey in a real Chromium, at phone and desktop width:
the form, the acknowledgement mail (delivered through a real SMTP relay) and
its link, the thread, a reply with a picture, and "this solved it"."""
from __future__ import annotations

import email
import re
from dataclasses import replace
from email import policy as email_policy

import pytest
from sqlalchemy import select

from core.models import Direction, Message, Status, Ticket
from core.storage.db import Database
from core.tickets import lifecycle
from mailout.deliver import deliver_due
from tests.factories import make_user
from tests.portal.conftest import screenshot
from tests.portal.public_helpers import png, seed

pytestmark = pytest.mark.browser


def link_in_acknowledgement(database, relay, live_server: str) -> str:
    """Deliver the outbox through a real SMTP relay on loopback and read the
    private link out of the acknowledgement that arrives there."""
    deliver_due(Database(replace(database.settings, smtp_relay=relay.address)))
    # Besides the acknowledgement, the triage office's mailbox hears that no agent took the ticket.
    [mail] = [m for m in relay.messages if "sari@example.test" in m.recipients]
    parsed = email.message_from_bytes(mail.data, policy=email_policy.default)
    assert mail.recipients == ["sari@example.test"] and parsed["Subject"].startswith("[HD-")
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"(http://helpdesk\.test/t/\S+)", text).group(1)
    return link.replace(database.settings.base_url, live_server)


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
        page, live_server, database, relay):
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

    page.goto(link_in_acknowledgement(database, relay, live_server))
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


def test_an_indonesian_browser_gets_the_form_in_indonesian(page, live_server, database):
    seed(database)
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("label[for=email]").inner_text() == "Alamat email Anda"
    assert page.locator(".hp").bounding_box()["x"] < 0  # there for robots, off the screen for people
    screenshot(page, "public-form-id")


def test_the_form_is_filled_with_the_keyboard_alone_and_never_reaches_the_honeypot(page, live_server, database):
    seed(database)
    page.goto(live_server + "/")
    reached = []
    for _ in range(20):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.id || document.activeElement.tagName")
        reached.append(focused)
        if focused == "BUTTON":
            break
    fields = [f for f in reached if f in {"name", "email", "school", "category", "subject", "body", "attachments"}]
    assert fields == ["name", "email", "school", "category", "subject", "body", "attachments"]
    assert "website" not in reached and reached[-1] == "BUTTON"
