"""Tickets for mail tests, opened through core like every channel does."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.config.policy import load_policy
from core.config.settings import Settings
from core.mail import notices
from core.models import Ticket
from core.tickets.intake import Incoming, customer_office, open_ticket


def open_with_ack(session: Session, settings: Settings, *, sender: str = "sman1@sekolah.test",
                  subject: str = "Dapodik tidak bisa login", message_id: str | None = "<q1@sekolah.test>",
                  language: str | None = None, now: datetime | None = None) -> Ticket:
    policy = load_policy(session)
    school = customer_office(session, sender, policy)
    ticket = open_ticket(session, settings, policy, Incoming(
        from_address=sender, subject=subject, text="Mohon bantuan.", message_id=message_id,
        from_name="Operator Sekolah"), school=school, now=now)
    if language:
        ticket.language = language
    session.flush()
    notices.ack(session, settings, policy, ticket, ticket.messages[0], now=now)
    return ticket
