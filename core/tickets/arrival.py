"""Routing a screened inbound mail into tickets, for every mail channel.

The mail pipeline (mailin/) has parsed, screened, threaded and cleaned the
message; this decides what it does to tickets and which notices it causes,
in the caller's transaction, with the rules of core.tickets.intake.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core import audit
from core.hooks import events as webhook_events
from core.config.policy import Policy
from core.config.settings import Settings
from core.mail import notices
from core.models import Outcome, Ticket, utcnow
from core.tickets import participants
from core.tickets.links import link
from core.tickets.intake import (
    Home, Incoming, customer_office, home_of, open_ticket_with_message, place_customer_message,
)


@dataclass(frozen=True)
class Routed:
    ticket: Ticket
    outcome: Outcome


def route(session: Session, settings: Settings, policy: Policy, incoming: Incoming, *, ticket: Ticket | None = None,
          linked: Ticket | None = None, acknowledge_new: bool = True, home: Home | None = None,
          now: datetime | None = None, withhold_ack: str | None = None) -> Routed:
    """Put the message on `ticket`, or open a new ticket (linked to `linked`,
    the ticket a stranger's mail referred to) where the sender's `home` says
    (read here if not given: see core.tickets.intake.find_home). A new ticket opened
    by a person is acknowledged, and the addresses in the Cc of its mail
    become its participants; automatic replies never are, and never
    reopen anything. `withhold_ack`: why the sender may get no automatic
    mail (core.mail.trust): the acknowledgement is recorded as suppressed.
    """
    now = now or utcnow()
    if ticket is not None:
        was = ticket.status
        landed, message = place_customer_message(session, settings, policy, ticket, incoming, now=now)
        opened = landed is not ticket
        if not opened and not incoming.auto_reply:
            notices.customer_replied(session, settings, policy, landed, message,
                                     reopened=landed.status is not was, now=now)
            webhook_events.on_audit(session, landed, "customer_reply", audit.CUSTOMER, None, "customer", now)
    else:
        if incoming.auto_reply:
            raise ValueError("an automatic reply must not open a ticket")
        if home is None:
            home = home_of(session, policy, customer_office(session, incoming.from_address, policy))
        landed, message = open_ticket_with_message(session, settings, policy, incoming, home=home, now=now)
        opened = True
    if opened and incoming.cc:
        participants.add_from_mail(session, settings, landed, incoming.cc, now)
    if linked is not None:
        link(session, landed, linked, audit.SYSTEM, now=now)
    if opened and acknowledge_new and not incoming.auto_reply:
        # Through notices, so the loop guard and the per-address rate limit apply.
        notices.ack(session, settings, policy, landed, message, now=now, withheld=withhold_ack)
    if incoming.auto_reply:
        outcome = Outcome.auto_reply
    else:
        outcome = Outcome.new_ticket if opened else Outcome.appended
    return Routed(landed, outcome)
