"""Routing a screened inbound mail into tickets, for every mail channel.

The mail pipeline (mailin/) has parsed, screened, threaded and cleaned the
message; this decides what it does to tickets and which notices it causes,
in the caller's transaction, with the rules of core.tickets.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, outbox
from core.models import Outbox, OutboxStatus, Outcome, Ticket, utcnow
from core.policy import Policy
from core.settings import Settings
from core.staff_actions import link
from core.tickets import Incoming, add_customer_message, customer_office, open_ticket


@dataclass(frozen=True)
class Routed:
    ticket: Ticket
    outcome: Outcome


def route(session: Session, settings: Settings, policy: Policy, incoming: Incoming, *, ticket: Ticket | None = None,
          linked: Ticket | None = None, acknowledge_new: bool = True, now: datetime | None = None) -> Routed:
    """Put the message on `ticket`, or open a new ticket (linked to `linked`,
    the ticket a stranger's mail referred to). A new ticket opened by a person
    is acknowledged; automatic replies never are, and never reopen anything.
    """
    now = now or utcnow()
    if ticket is not None:
        landed = add_customer_message(session, settings, policy, ticket, incoming, now=now)
        opened = landed is not ticket
    else:
        if incoming.auto_reply:
            raise ValueError("an automatic reply must not open a ticket")
        school = customer_office(session, incoming.from_address, policy)
        landed = open_ticket(session, settings, policy, incoming, school=school, now=now)
        opened = True
    if linked is not None:
        session.flush()
        link(session, landed, linked, audit.SYSTEM, now=now)
    if opened and acknowledge_new and not incoming.auto_reply:
        _acknowledge(session, settings, policy, landed, incoming, now)
    if incoming.auto_reply:
        outcome = Outcome.auto_reply
    else:
        outcome = Outcome.new_ticket if opened else Outcome.appended
    return Routed(landed, outcome)


def _acknowledge(session: Session, settings: Settings, policy: Policy, ticket: Ticket, incoming: Incoming,
                 now: datetime) -> None:
    # The same context as the web form's acknowledgement; the link is derived
    # when the mail is rendered, so the outbox never holds a working token.
    # In-Reply-To threads the acknowledgement under the customer's own mail.
    outbox.enqueue(session, settings, template="ack", to=ticket.requester_email, ticket=ticket,
                   context={"ref": ticket.ref, "subject": ticket.subject, "name": ticket.requester_name},
                   language=ticket.language or policy.default_language, automatic=True,
                   in_reply_to=incoming.message_id, references=incoming.message_id, now=now)


def record_bounce(session: Session, original_message_id: str | None, reason: str, *,
                  now: datetime | None = None) -> Outbox | None:
    """Mark the outbox row a delivery status report bounces; None when the
    report names no mail of ours."""
    if not original_message_id:
        return None
    row = session.scalar(select(Outbox).where(Outbox.message_id == original_message_id.strip()))
    if row is None:
        return None
    now = now or utcnow()
    row.status = OutboxStatus.bounced
    row.bounced_at = now
    row.bounce_reason = reason[:1000]
    if row.ticket_id is not None:
        audit.record(session, session.get(Ticket, row.ticket_id), "bounced", audit.SYSTEM,
                     to_value=row.to_address, detail=reason, at=now)
    return row
