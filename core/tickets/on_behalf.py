"""Staff open a ticket for a customer who asked by another way (a phone call,
a letter, an integration such as the school data system): the same intake as
every channel, with the acknowledgement mailed to the requester.

A registered school's ticket starts at the school's parent office, as its
mail would, so no tier is skipped; staff may only open one for a school in
their sight. An address the directory does not know is held by the office
of the member of staff who opened it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy
from core.config.settings import Settings
from core.mail import notices
from core.models import Category, Priority, Ticket, User, utcnow
from core.tickets.actions import ActionRefused
from core.tickets.intake import Incoming, home_on_behalf, open_ticket_with_message
from core.words import N_


@dataclass(frozen=True)
class Request:
    requester_email: str
    requester_name: str
    subject: str
    text: str
    category_id: int | None = None
    priority_name: str | None = None
    channel: str = "api"


def open_for(session: Session, settings: Settings, policy: Policy, actor: User, request: Request, *,
             now: datetime | None = None) -> Ticket:
    """Open the ticket and queue its acknowledgement (ActionRefused for a school
    out of sight, an unknown category or priority, or no text)."""
    now = now or utcnow()
    text = request.text.strip()
    if not text or not request.subject.strip():
        raise ActionRefused(N_("a ticket needs a subject and some text"))
    category = session.get(Category, request.category_id) if request.category_id else None
    if request.category_id and (category is None or not category.active):
        raise ActionRefused(N_("no such category"))
    priority = session.scalar(select(Priority).where(Priority.name == request.priority_name)) \
        if request.priority_name else None
    if request.priority_name and priority is None:
        raise ActionRefused(N_("no such priority"))
    # The acknowledgement's reads go with the home's (one round trip fewer, and
    # not while the office's staff rows are locked for the assignment).
    notices.read_ahead_limit(session, policy, request.requester_email, now)
    home, sight = home_on_behalf(session, policy, request.requester_email, actor.office, priority)
    if sight is not None and not (sight and sight.startswith(actor.office.path)):
        raise ActionRefused(N_("the requester's school is not in your office's sight"))
    ticket, message = open_ticket_with_message(session, settings, policy, Incoming(
        from_address=request.requester_email, from_name=request.requester_name.strip() or None,
        subject=request.subject, text=text, full_text=request.text, channel=request.channel),
        home=home, priority=priority, category=category, now=now)
    audit.record(session, ticket, "opened_for", actor, to_value=request.requester_email.lower(), at=now)
    notices.ack(session, settings, policy, ticket, message, now=now)
    return ticket
