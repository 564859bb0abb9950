"""Staff told of their work, through the real SMTP server, the real portal and
a real relay: an assignment mail to the agent, supervisors mailed when no
agent is available and on a breach, the header's count, the account switch,
and availability lapsing without page loads."""
from __future__ import annotations

import email
from datetime import timedelta
from email.policy import default

import pytest
from sqlalchemy import select

from core.demo import seed_defaults
from core.models import Office, Outbox, Role, Ticket, User, utcnow
from core.tickets.sweep import run_sweep
from mailin.smtpd import BackgroundServer
from mailout.deliver import deliver_due
from mailout.transport import RelayTransport
from tests.factories import make_user
from tests.mailin.conftest import transcript
from tests.mailin.mails import HELPDESK, SCHOOL, mail
from tests.mailout.relay import Relay
from tests.portal.staff_world import log_in


@pytest.fixture
def smtp(database, world):
    with database.begin() as s:
        seed_defaults(s)
        city = s.scalar(select(Office).where(Office.code == "C3171"))
        make_user(s, city, Role.supervisor, email="kasi.c3171@staff.test", available=False)
    server = BackgroundServer(database).start()
    yield server
    server.stop()


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


def arrive(smtp, database, subject: str) -> str:
    assert transcript(smtp.port, mail(subject=subject), mail_from=SCHOOL, rcpt=(HELPDESK,))[-2] == 250
    with database.session() as s:
        return s.scalar(select(Ticket.ref).order_by(Ticket.id.desc()).limit(1))


def delivered(database, relay, now=None) -> dict[str, list[str]]:
    """Each recipient's mails of one delivery pass, as subject and plain text."""
    with RelayTransport("127.0.0.1", relay.port) as channel:
        deliver_due(database, now, transport=channel)
    found: dict[str, list[str]] = {}
    for message in relay.messages:
        parsed = email.message_from_bytes(message.data, policy=default)
        text = f"{parsed['Subject']}\n{parsed.get_body(('plain',)).get_content()}"
        for address in message.recipients:
            found.setdefault(address, []).append(text)
    relay.messages.clear()
    return found


def header_count(client) -> str:
    page = client.get("/staff/").get_data(as_text=True)
    return page.split('class="notices"', 1)[1].split("</a>", 1)[0]


def test_an_agent_logged_in_gets_the_ticket_by_mail_and_in_the_header_count(database, world, client, smtp, relay):
    log_in(client, world.emails["c3171"])  # logging in makes the agent available
    ref = arrive(smtp, database, "Dana BOS belum cair")
    mails = delivered(database, relay)
    [assigned] = mails[world.emails["c3171"]]
    assert ref in assigned and "ditugaskan kepada Anda" in assigned
    assert "kasi.c3171@staff.test" not in mails  # an agent took it: the supervisor is not bothered
    assert '<span class="count">1</span>' in header_count(client)
    client.get(f"/staff/tickets/{ref}")
    assert "count" not in header_count(client)


def test_no_available_agent_mails_the_supervisor_and_a_closed_browser_lapses(database, world, client, smtp, relay):
    log_in(client, world.emails["c3171"])
    with database.begin() as s:  # the agent closed the browser an hour ago
        agent = s.scalar(select(User).where(User.email == world.emails["c3171"]))
        agent.last_seen_at = utcnow() - timedelta(hours=1)
    ref = arrive(smtp, database, "Rapor tidak bisa dicetak")
    mails = delivered(database, relay)
    assert world.emails["c3171"] not in mails
    [unstaffed] = mails["kasi.c3171@staff.test"]
    assert ref in unstaffed and "tidak ada petugas yang tersedia" in unstaffed
    with database.session() as s:
        assert s.scalar(select(Ticket.assignee_id).where(Ticket.ref == ref)) is None

    # Back at the browser: a page load makes them available again.
    client.get("/staff/")
    arrive(smtp, database, "Sinkronisasi gagal")
    assert world.emails["c3171"] in delivered(database, relay)


def test_assigning_by_hand_mails_the_colleague_unless_they_turned_it_off(database, world, client, smtp, relay):
    ref = world.refs["sman1"]
    with database.session() as s:
        colleague = s.scalar(select(User.id).where(User.email == world.emails["c3171b"]))
    log_in(client, world.emails["c3171"])
    client.post(f"/staff/tickets/{ref}/assign", data={"assignee": str(colleague)})
    assert len(delivered(database, relay)[world.emails["c3171b"]]) == 1

    log_in(client, world.emails["c3171b"])
    assert client.post("/staff/account/notices", data={"mail": ["unstaffed", "breach"]}).status_code == 302
    page = client.get("/staff/account").get_data(as_text=True)
    assert 'value="assigned">' in page and 'value="breach" checked>' in page
    log_in(client, world.emails["c3171"])
    client.post(f"/staff/tickets/{ref}/assign", data={"assignee": ""})
    client.post(f"/staff/tickets/{ref}/assign", data={"assignee": str(colleague)})
    assert world.emails["c3171b"] not in delivered(database, relay)
    log_in(client, world.emails["c3171b"])
    assert '<span class="count">2</span>' in header_count(client)  # still counted in the portal


def test_a_breach_mails_the_offices_supervisor_besides_the_agent(database, world, client, smtp, relay):
    log_in(client, world.emails["c3171"])
    ref = arrive(smtp, database, "Tunjangan belum cair")
    delivered(database, relay)
    later = utcnow() + timedelta(days=30)
    assert run_sweep(database, later).breached == 1
    mails = delivered(database, relay, later)
    assert [text for text in mails["kasi.c3171@staff.test"] if ref in text and "SLA" in text]
    assert [text for text in mails[world.emails["c3171"]] if ref in text and "SLA" in text]
    with database.session() as s:
        rows = s.scalars(select(Outbox.to_address).where(Outbox.template == "sla_breached")).all()
    assert rows.count("kasi.c3171@staff.test") == 1  # told once, whoever else works the ticket
