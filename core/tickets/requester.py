"""What a customer does on the web: open a ticket from the public form, reply
on their private page, say whether the answer solved it.

The web is one more channel into core.tickets.intake: a reply here goes through the
same core.tickets.arrival.route as a reply by mail, so the reopening rules hold
whichever way the customer writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy
from core.config.settings import Settings
from core.content.uploads import CheckedUpload, keep_uploads
from core.directory.contacts import find_school
from core.hooks import chat
from core.mail import notices
from core.models import Category, Priority, Status, Ticket, User, utcnow
from core.tickets import lifecycle
from core.tickets.arrival import route
from core.tickets.intake import Incoming, customer_office, issue_link, open_ticket
from core.words import N_


class UnknownSchool(Exception):
    """The school the customer named is not in the directory."""


@dataclass(frozen=True)
class WebTicket:
    """What the public form hands core."""
    name: str
    email: str
    subject: str
    body: str
    language: str
    school: str = ""          # the school's code or registered address, if known
    category_id: int | None = None
    priority_id: int | None = None  # heeded only where Policy.web_priority_choice allows it
    uploads: Sequence[CheckedUpload] = field(default_factory=tuple)
    phone: str = ""           # for WhatsApp notices, with `whatsapp` the customer's consent
    whatsapp: bool = False



def category_choices(session: Session) -> list[tuple[int, str]]:
    """Active categories as (id, "Group › Category"), in tree order."""
    rows = list(session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.name)))
    by_parent: dict[int | None, list[Category]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append(row)
    choices: list[tuple[int, str]] = []

    def walk(parent_id: int | None, prefix: str) -> None:
        for row in by_parent.get(parent_id, []):
            label = f"{prefix}{row.name}"
            choices.append((row.id, label))
            walk(row.id, label + " › ")

    walk(None, "")
    return choices


def submit_web_ticket(session: Session, settings: Settings, policy: Policy, web: WebTicket, *,
                      now: datetime | None = None) -> Ticket:
    """Open a ticket from the public form and queue its acknowledgement.

    Raises UnknownSchool or BadPhone before anything is written; the uploads were
    checked before the transaction (core.content.uploads.check_uploads).
    """
    now = now or utcnow()
    phone = chat.phone_digits(web.phone) if web.phone.strip() else None
    if web.whatsapp and phone is None:
        raise chat.BadPhone(N_("Give the phone number the WhatsApp messages should go to."))
    school = find_school(session, policy, web.school)
    if web.school.strip() and school is None:
        raise UnknownSchool(web.school)
    school = school or customer_office(session, web.email, policy)
    category = session.get(Category, web.category_id) if web.category_id else None
    priority = session.get(Priority, web.priority_id) if web.priority_id and policy.web_priority_choice else None
    attachments = keep_uploads(settings, web.uploads)
    ticket = open_ticket(session, settings, policy, Incoming(
        from_address=web.email, from_name=web.name.strip() or None, subject=web.subject,
        text=web.body.strip(), full_text=web.body, channel="web", attachments=attachments),
        school=school, category=category, priority=priority, now=now)
    ticket.language = web.language
    ticket.requester_phone, ticket.whatsapp_consent = phone, bool(web.whatsapp and phone)
    notices.ack(session, settings, policy, ticket, ticket.messages[0], now=now)
    return ticket


def customer_reply(session: Session, settings: Settings, policy: Policy, ticket: Ticket, text: str,
                   attachments: Sequence[CheckedUpload], now: datetime | None = None, *,
                   participant: str | None = None) -> Ticket:
    """The customer's reply from their private page; returns the ticket it landed on
    (a new one continuing this when it was closed past the reopen window).
    `participant`: written through that participant's own link, so from them."""

    now = now or utcnow()
    kept = keep_uploads(settings, attachments)
    # The same routing as a reply by mail: reopening, a continuing ticket with
    # its acknowledgement, and the notice to the agent, decided in one place.
    return route(session, settings, policy, Incoming(
        from_address=participant or ticket.requester_email, from_name=None if participant else ticket.requester_name,
        subject=f"Re: {ticket.subject}", text=text.strip(), full_text=text, channel="web",
        attachments=kept), ticket=ticket, now=now).ticket


RATEABLE = frozenset({Status.answered, Status.on_hold})


def can_rate(ticket: Ticket) -> bool:
    """The customer is asked once staff have answered and wait for them."""
    return ticket.status in RATEABLE


def mark_satisfied(session: Session, ticket: Ticket, now: datetime | None = None) -> None:
    """"This solved it": the ticket closes."""
    now = now or utcnow()
    ticket.satisfied = True
    audit.record(session, ticket, "satisfaction", audit.CUSTOMER, to_value="solved", at=now)
    if ticket.status is not Status.closed:
        lifecycle.move(session, ticket, Status.closed, audit.CUSTOMER, now=now, detail="the customer says it is solved")


def mark_unsatisfied(session: Session, ticket: Ticket, now: datetime | None = None) -> None:
    """"Still a problem": the ticket goes back to staff as open."""
    now = now or utcnow()
    ticket.satisfied = False
    ticket.last_customer_at = now
    audit.record(session, ticket, "satisfaction", audit.CUSTOMER, to_value="unsolved", at=now)
    if ticket.status in (Status.answered, Status.on_hold, Status.closed):
        lifecycle.move(session, ticket, Status.open, audit.CUSTOMER, now=now,
                       detail="the customer says it is still a problem")


def reissue_link(session: Session, settings: Settings, ticket: Ticket, actor: User | str,
                 now: datetime | None = None) -> str:
    """Revoke the ticket's private link and issue a new one; returns the new token.
    The next mail about the ticket carries the new link."""
    now = now or utcnow()
    token = issue_link(settings, ticket, now)
    audit.record(session, ticket, "link_reissued", actor, at=now)
    return token


def replace_link(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User, *,
                 now: datetime | None = None) -> None:
    """Staff revoke the customer's private link (a forwarded mail, a shared
    screen) and the customer is mailed the new one; staff never see the token."""
    now = now or utcnow()
    reissue_link(session, settings, ticket, actor, now)
    notices.link_reissued(session, settings, policy, ticket, now=now)
