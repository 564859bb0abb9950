"""Chat notices in each provider's documented request format, checked by a
real HTTP receiver on loopback."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.config.policy import load_policy
from core.hooks import chat
from core.mail import notices, staff_notices
from core.tickets import actions
from core.models import Office, Role, Ticket, utcnow
from core.storage.db import Database
from core.tickets.intake import link_of
from mailout.hooks import deliver_hooks_due
from tests.factories import load_directory, make_user
from tests.mailout.receiver import Receiver
from tests.mailout.world import open_with_ack


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


def test_an_unstaffed_ticket_is_posted_to_the_offices_slack_and_teams(database, receiver):
    with database.begin() as s:
        load_directory(s)
        office = s.scalar(select(Office).where(Office.code == "C3171"))
        office.slack_url, office.teams_url = receiver.url("/slack"), receiver.url("/teams")
        ref = open_with_ack(s, database.settings).ref  # no agent at C3171: unstaffed
    assert deliver_hooks_due(database).sent == 2
    by_path = {r.path: r for r in receiver.requests}
    slack = by_path["/slack"].json
    assert set(slack) == {"text", "blocks"} and ref in slack["text"]
    [block] = slack["blocks"]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    assert f"<http://helpdesk.test/staff/tickets/{ref}|" in block["text"]["text"]
    teams = by_path["/teams"].json
    assert teams["@type"] == "MessageCard" and teams["@context"] == "https://schema.org/extensions"
    assert ref in teams["text"] and teams["summary"]
    [action] = teams["potentialAction"]
    assert action["@type"] == "OpenUri"
    assert action["targets"] == [{"os": "default", "uri": f"http://helpdesk.test/staff/tickets/{ref}"}]
    assert all(r.headers["content-type"] == "application/json" for r in receiver.requests)


def test_an_sla_breach_is_posted_to_the_offices_slack(database, receiver):
    with database.begin() as s:
        load_directory(s)
        office = s.scalar(select(Office).where(Office.code == "C3171"))
        office.slack_url = receiver.url("/slack")
        ticket = open_with_ack(s, database.settings)
        staff_notices.breached(s, database.settings, load_policy(s), ticket, "first response",
                               utcnow() - timedelta(hours=1), told=set())
    assert deliver_hooks_due(database).sent == 2  # the unstaffed notice, then the breach
    unstaffed, breach = receiver.requests
    assert "tidak ada petugas" in unstaffed.json["text"]
    # The clock is named in the notice's language too, not as the audit trail keeps it.
    assert "melewati batas waktu respons pertama" in breach.json["text"]
    assert breach.json["blocks"][0]["type"] == "section"


def test_chat_notices_are_written_in_the_offices_language(database, receiver):
    with database.begin() as s:
        load_directory(s)
        office = s.scalar(select(Office).where(Office.code == "C3171"))
        office.teams_url = receiver.url("/teams")
        ticket = open_with_ack(s, database.settings)  # the unstaffed notice, in the default Indonesian
        chat.office_summary(s, database.settings, office, 1250, language="id")
        chat.office_notice(s, database.settings, ticket, office, chat.SLA_BREACHED, clock="resolution",
                           language="en")
    assert deliver_hooks_due(database).sent == 3
    unstaffed, summary, breach = (r.json for r in receiver.requests)
    assert unstaffed["text"] == (f"Tiket {ticket.ref} tiba di {office.name} dan tidak ada petugas yang tersedia: "
                                 f"{ticket.subject}")
    assert unstaffed["potentialAction"][0]["name"] == "Buka tiket"
    assert summary["text"] == f"1.250 tiket lagi tiba di {office.name} tanpa petugas yang tersedia"
    assert summary["potentialAction"][0]["name"] == "Buka antrean"
    assert breach["text"] == f"Ticket {ticket.ref} at {office.name} is past its resolution time: {ticket.subject}"
    assert breach["potentialAction"][0]["name"] == "Open the ticket"


def test_slack_text_escapes_the_characters_slack_reserves():
    body = chat.slack_body("a <b> & c", "https://x.test/t", "Open")
    assert body["text"] == "a &lt;b&gt; &amp; c"


def test_an_office_without_chat_urls_queues_nothing(database, receiver):
    with database.begin() as s:
        load_directory(s)
        ticket = open_with_ack(s, database.settings)
        staff_notices.arrived(s, database.settings, load_policy(s), ticket, None)
        staff_notices.breached(s, database.settings, load_policy(s), ticket, "resolution", utcnow(), told=set())
    assert deliver_hooks_due(database).sent == 0 and not receiver.requests


def whatsapp_database(database: Database, receiver: Receiver) -> Database:
    return Database(replace(database.settings, whatsapp_token="wa-token", whatsapp_phone_id="1234567890",
                            whatsapp_api_url=receiver.url("/v21.0")))


def test_a_customer_who_agreed_gets_the_ack_and_staff_reply_on_whatsapp(database, receiver):
    db = whatsapp_database(database, receiver)
    with db.begin() as s:
        load_directory(s)
        ticket = open_with_ack_on_whatsapp(s, db, "0812-3456-7890")
        agent = make_user(s, ticket.office, Role.agent)
        actions.reply(s, db.settings, load_policy(s), ticket, agent, "Sudah kami perbaiki.")
        ticket_id = ticket.id
    assert deliver_hooks_due(db).sent == 2
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        link = link_of(db.settings, ticket)
        ref = ticket.ref
    names = []
    for got in receiver.requests:
        assert got.path == "/v21.0/1234567890/messages"
        assert got.headers["authorization"] == "Bearer wa-token"
        body = got.json
        assert body["messaging_product"] == "whatsapp" and body["to"] == "6281234567890"
        assert body["type"] == "template"
        template = body["template"]
        assert template["language"] == {"code": "id"}
        [component] = template["components"]
        assert component["type"] == "body"
        assert component["parameters"] == [{"type": "text", "text": ref}, {"type": "text", "text": link}]
        names.append(template["name"])
    assert names == ["helpdesk_ack", "helpdesk_staff_replied"]


def open_with_ack_on_whatsapp(s, db: Database, phone: str) -> Ticket:
    from core.config.policy import load_policy as policy_of
    from core.tickets.intake import Incoming, customer_office, open_ticket

    policy = policy_of(s)
    ticket = open_ticket(s, db.settings, policy, Incoming(
        from_address="sman1@sekolah.test", subject="Dapodik", text="Mohon bantuan.", message_id="<w1@sekolah.test>"),
        school=customer_office(s, "sman1@sekolah.test", policy))
    ticket.requester_phone, ticket.whatsapp_consent = chat.phone_digits(phone), True
    s.flush()
    notices.ack(s, db.settings, policy, ticket, ticket.messages[0])
    return ticket


def test_without_consent_or_configuration_no_whatsapp_is_queued(database, receiver):
    with database.begin() as s:  # WhatsApp not configured
        load_directory(s)
        open_with_ack_on_whatsapp(s, database, "+62 812 3456 7890")
    db = whatsapp_database(database, receiver)
    with db.begin() as s:  # configured, but no consent
        ticket = open_with_ack(s, db.settings, message_id="<w2@sekolah.test>")
        ticket.requester_phone = "6281234567890"
        notices.ack(s, db.settings, load_policy(s), ticket, ticket.messages[0])
    assert deliver_hooks_due(db).sent == 0 and not receiver.requests


def test_phone_numbers_are_read_in_international_form():
    assert chat.phone_digits("0812-3456-7890") == "6281234567890"
    assert chat.phone_digits("+62 812 3456 7890") == "6281234567890"
    assert chat.phone_digits("+1 (415) 555-0100") == "14155550100"
    with pytest.raises(chat.BadPhone):
        chat.phone_digits("0812 abc")
    with pytest.raises(chat.BadPhone):
        chat.phone_digits("123")
