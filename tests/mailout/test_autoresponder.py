"""An autoresponder at the other end of the relay answers every mail we send.
However it behaves, the conversation stops: a polite one (Auto-Submitted) is
never answered, a rude one (no headers, a fresh subject, so each answer opens
a new ticket) is cut off by the per-address rate limit."""
from __future__ import annotations

import email
from dataclasses import replace
from email import policy as email_policy

from freezegun import freeze_time
from sqlalchemy import func, select

from core.config.policy import load_policy
from core.mail import notices
from core.models import Outbox, OutboxStatus, Ticket
from core.storage.db import Database
from core.tickets.intake import Incoming, add_customer_message, customer_office, open_ticket
from core.tickets.refs import find_ref
from mailout.deliver import deliver_due
from tests.factories import load_directory
from tests.mailout.world import open_with_ack

ROUNDS = 20


def converse(db: Database, relay, answer) -> None:
    """Deliver, let the autoresponder answer each new mail, feed the answers in, repeat."""
    seen = 0
    for _ in range(ROUNDS):
        deliver_due(db)
        new = relay.messages[seen:]
        seen = len(relay.messages)
        if not new:
            return
        for received in new:
            mail = email.message_from_bytes(received.data, policy=email_policy.default)
            with db.begin() as s:
                answer(s, db, mail)
    raise AssertionError("the conversation did not stop")


def polite(session, db, mail) -> None:
    policy = load_policy(session)
    ticket = session.scalar(select(Ticket).where(Ticket.ref == find_ref(mail["Subject"])))
    landed = add_customer_message(session, db.settings, policy, ticket, Incoming(
        from_address=mail["To"], subject=f"Out of office: {mail['Subject']}", text="Saya sedang cuti.",
        message_id=f"<ooo.{mail['Message-ID'].strip('<>')}>", auto_reply=True))
    notices.ack(session, db.settings, policy, landed, landed.messages[-1])


def rude(session, db, mail) -> None:
    policy = load_policy(session)
    sender = mail["To"].addresses[0].addr_spec
    ticket = open_ticket(session, db.settings, policy, Incoming(
        from_address=sender, subject="Terima kasih atas email Anda", text="Pesan otomatis."),
        school=customer_office(session, sender, policy))
    session.flush()
    notices.ack(session, db.settings, policy, ticket, ticket.messages[0])


def test_a_polite_autoresponder_gets_one_mail_and_no_answer(database, relay):
    db = Database(replace(database.settings, smtp_relay=relay.address))
    with db.begin() as s:
        load_directory(s)
        open_with_ack(s, db.settings)
    converse(db, relay, polite)
    assert len(relay.messages) == 1
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.status == OutboxStatus.suppressed)) == 1


def test_a_rude_autoresponder_is_cut_off_by_the_rate_limit(database, relay):
    db = Database(replace(database.settings, smtp_relay=relay.address))
    with freeze_time("2026-11-23 09:00:00"):
        with db.begin() as s:
            load_directory(s)
            limit = load_policy(s).auto_mail_per_10min
            open_with_ack(s, db.settings)
        converse(db, relay, rude)
    assert len(relay.messages) == limit == 5
    with db.session() as s:
        held = list(s.scalars(select(Outbox).where(Outbox.status == OutboxStatus.suppressed)))
    assert len(held) == 1 and "rate limit" in held[0].last_error
