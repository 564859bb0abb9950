from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.config.policy import load_policy, update_policy
from core.mail import notices
from core.models import Direction, Event, Message, OutboxStatus, RateEvent, Role, utcnow
from core.tickets.intake import Incoming, open_ticket
from tests.factories import load_directory, make_user

NOW = utcnow()


@pytest.fixture
def world(session, settings):
    offices = load_directory(session)
    policy = load_policy(session)
    ticket = open_ticket(session, settings, policy, Incoming(
        from_address="sman1@sekolah.test", subject="Rapor digital", text="Tolong.",
        message_id="<a1@sekolah.test>"), school=offices["S001"], now=NOW)
    session.flush()
    return offices, policy, ticket


@pytest.mark.parametrize("address", [
    "noreply@sekolah.test", "no-reply@sekolah.test", "do_not_reply@sekolah.test", "donotreply@x.test",
    "MAILER-DAEMON@mx.sekolah.test", "postmaster@sekolah.test", "helpdesk@helpdesk.test",
])
def test_automatic_notices_never_go_to_daemons_no_reply_or_ourselves(settings, address):
    assert notices.loop_risk(settings, address) is not None


def test_an_ordinary_school_address_is_no_loop_risk(settings):
    assert notices.loop_risk(settings, "sman1@sekolah.test") is None
    assert notices.loop_risk(settings, "noreply.fan@sekolah.test") is not None
    assert notices.loop_risk(settings, "replyno@sekolah.test") is None


def test_ack_threads_under_the_customers_message_and_counts_against_the_limit(session, settings, world):
    _, policy, ticket = world
    row = notices.ack(session, settings, policy, ticket, ticket.messages[0], now=NOW)
    assert row.status is OutboxStatus.pending and row.automatic and row.template == "ack"
    assert (row.in_reply_to, row.references) == ("<a1@sekolah.test>", "<a1@sekolah.test>")
    assert row.language == "id" and row.to_address == "sman1@sekolah.test"
    assert session.scalar(select(func.count()).select_from(RateEvent).where(
        RateEvent.key == "auto:sman1@sekolah.test")) == 1


def test_an_auto_reply_gets_no_acknowledgement_but_the_suppression_is_recorded(session, settings, world):
    _, policy, ticket = world
    ticket.messages[0].auto_reply = True
    row = notices.ack(session, settings, policy, ticket, ticket.messages[0], now=NOW)
    assert row.status is OutboxStatus.suppressed and "automatic" in row.last_error
    event = session.scalar(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "mail_suppressed"))
    assert event.to_value == "sman1@sekolah.test" and event.detail.startswith("ack:")


def test_the_sixth_automatic_mail_in_ten_minutes_is_suppressed(session, settings, world):
    _, policy, ticket = world
    rows = [notices.on_hold(session, settings, policy, ticket, now=NOW + timedelta(seconds=i)) for i in range(6)]
    assert [r.status for r in rows] == [OutboxStatus.pending] * 5 + [OutboxStatus.suppressed]
    assert "10 minutes" in rows[-1].last_error
    later = notices.on_hold(session, settings, policy, ticket, now=NOW + timedelta(minutes=11))
    assert later.status is OutboxStatus.pending


def test_the_daily_limit_holds_over_spread_out_mails(session, settings, world):
    _, policy, ticket = world
    policy = update_policy(session, None, auto_mail_per_day=3)
    rows = [notices.on_hold(session, settings, policy, ticket, now=NOW + timedelta(hours=i)) for i in range(4)]
    assert rows[-1].status is OutboxStatus.suppressed and "a day" in rows[-1].last_error
    assert notices.on_hold(session, settings, policy, ticket, now=NOW + timedelta(hours=25)).status \
        is OutboxStatus.pending


def test_notices_to_staff_are_not_rate_limited_but_still_loop_guarded(session, settings, world):
    offices, policy, ticket = world
    agent = make_user(session, offices["C3171"])
    rows = [notices.assigned(session, settings, policy, ticket, agent, now=NOW + timedelta(seconds=i))
            for i in range(8)]
    assert [r.status for r in rows] == [OutboxStatus.pending] * 8  # eight tickets, eight mails
    assert session.scalar(select(func.count()).select_from(RateEvent)) == 0  # nothing counted against the limit
    agent.email = "no-reply@kemdik.test"
    assert notices.assigned(session, settings, policy, ticket, agent, now=NOW).status is OutboxStatus.suppressed


def test_a_staff_reply_is_neither_rate_limited_nor_guarded_and_names_its_message(session, settings, world):
    offices, policy, ticket = world
    agent = make_user(session, offices["C3171"])
    for i in range(8):
        message = Message(ticket=ticket, direction=Direction.outbound, author=agent, text=f"Jawaban {i}",
                          full_text=f"Jawaban {i}", channel="portal", created_at=NOW,
                          message_id=notices.reply_message_id(settings, ticket))
        session.add(message)
        session.flush()
        row = notices.staff_reply(session, settings, policy, ticket, message, now=NOW)
        assert row.status is OutboxStatus.pending and not row.automatic
        assert message.message_id == row.message_id
        assert row.message_id not in row.references.split()  # a mail does not refer to itself
    assert row.in_reply_to == "<a1@sekolah.test>"
    assert row.references.split()[-1] == "<a1@sekolah.test>"
    assert row.references.split()[0].startswith(f"<{ticket.ref}.")  # the earlier replies form the chain


def test_forwarding_tells_the_customer_and_each_agent_of_the_receiving_office(session, settings, world):
    offices, policy, ticket = world
    one = make_user(session, offices["P31"], email="a1@p31.test")
    two = make_user(session, offices["P31"], Role.supervisor, email="a2@p31.test")
    make_user(session, offices["P32"], email="other@p32.test")
    ticket.office = offices["P31"]
    rows = notices.forwarded(session, settings, policy, ticket, offices["C3171"], note="Butuh akses pusat", now=NOW)
    assert [(r.template, r.to_address) for r in rows] == [
        ("forwarded_customer", "sman1@sekolah.test"), ("forwarded_staff", one.email),
        ("forwarded_staff", two.email)]
    assert '"note": "Butuh akses pusat"' in rows[1].context


def test_forwarding_to_an_office_with_a_shared_mailbox_mails_the_mailbox(session, settings, world):
    offices, policy, ticket = world
    make_user(session, offices["MIN"], email="a1@min.test")
    ticket.office = offices["MIN"]
    rows = notices.forwarded(session, settings, policy, ticket, offices["P31"], now=NOW)
    assert [r.to_address for r in rows] == ["sman1@sekolah.test", "ministry@kemdik.test"]


def test_an_agent_who_takes_a_ticket_is_not_told_about_it(session, settings, world):
    offices, policy, ticket = world
    agent = make_user(session, offices["C3171"])
    boss = make_user(session, offices["C3171"], Role.supervisor)
    assert notices.assigned(session, settings, policy, ticket, agent, actor=agent, now=NOW) is None
    row = notices.assigned(session, settings, policy, ticket, agent, actor=boss, now=NOW)
    assert row.to_address == agent.email and '"assigned_by": "supervisor C3171"' in row.context


def test_closing_and_auto_closing_notify_the_customer(session, settings, world):
    _, policy, ticket = world
    assert notices.closed(session, settings, policy, ticket, now=NOW).template == "closed"
    auto = notices.auto_closed(session, settings, policy, ticket, now=NOW)
    assert auto.template == "auto_closed" and '"days": 7' in auto.context


def test_a_bounce_marks_the_mail_and_notes_it_on_the_ticket(session, settings, world):
    _, policy, ticket = world
    row = notices.ack(session, settings, policy, ticket, now=NOW)
    bare = row.message_id.strip("<>")
    assert notices.mark_bounced(session, bare, "550 5.1.1 user unknown", now=NOW) is row
    assert row.status is OutboxStatus.bounced and row.bounce_reason == "550 5.1.1 user unknown"
    event = session.scalar(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "bounce"))
    assert event.to_value == "sman1@sekolah.test"
    assert notices.mark_bounced(session, "<unknown@elsewhere.test>", "x") is None
