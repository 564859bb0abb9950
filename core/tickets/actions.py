"""What staff do to a ticket, each in one call: reply (and set the status), add an
internal note, change status, assign, take ownership, merge a duplicate
(links between tickets are core.tickets.links).

The views find the ticket through `find_visible`/`find_actionable`, which
apply core visibility: a ticket the user may not see does not exist for them,
and one they may only read cannot be changed.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from core import audit
from core.access.visibility import can_act, can_read
from core.config.policy import Policy
from core.config.settings import Settings
from core.content.uploads import CheckedUpload, keep_uploads
from core.directory import contacts
from core.mail import notices, staff_notices
from core.models import Attachment, Direction, Message, Office, Status, Ticket, User, utcnow
from core.tickets import assignment, canned, lifecycle, routing, sla
from core.words import N_


class TicketNotFound(LookupError):
    """No such ticket, or one the user may not see (the two look the same)."""


class ReadOnly(PermissionError):
    """The user may read the ticket but its holding office is another."""


class ActionRefused(ValueError):
    """The action makes no sense for this ticket (empty reply, merge into itself...)."""


def find_visible(session: Session, user: User, ref: str, *, thread: bool = False) -> Ticket:
    """The ticket by reference if the user may read it; `thread` loads what its
    page shows with it: the school and the parent office in the same query, the
    messages with their files in a second, the history in a third."""
    query = select(Ticket).where(Ticket.ref == ref.strip().upper())
    if thread:
        query = query.options(joinedload(Ticket.school).lazyload(Office.parent),
                              joinedload(Ticket.office).joinedload(Office.parent),
                              # The page shows each message's text for display, not the mail as
                              # received nor its HTML, which can be far longer.
                              selectinload(Ticket.messages).options(
                                  defer(Message.full_text), defer(Message.html), joinedload(Message.attachments)),
                              selectinload(Ticket.events))
    ticket = session.scalar(query)
    if ticket is None or not can_read(user, ticket):
        raise TicketNotFound(ref)
    return ticket


def find_actionable(session: Session, user: User, ref: str) -> Ticket:
    ticket = find_visible(session, user, ref)
    if not can_act(user, ticket):
        raise ReadOnly(ref)
    return ticket


def _staff_message(ticket: Ticket, actor: User, direction: Direction, text: str, now: datetime,
                   attachments: list) -> Message:
    return Message(ticket=ticket, direction=direction, author=actor, from_address=actor.email,
                   from_name=actor.name, subject=ticket.subject, text=text, full_text=text,
                   channel="portal", created_at=now, attachments=attachments)


def reply(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User, text: str, *,
          uploads: Sequence[CheckedUpload] = (), status: Status = Status.answered, canned_id: int | None = None,
          now: datetime | None = None) -> Message:
    """Answer the customer: the message, the status, first_response_at and the mail, at once.

    The status is usually `answered`; staff may instead keep the ticket open,
    put it on hold or close it with the same click.
    """
    now = now or utcnow()
    if canned_id:
        text = canned.fill(session, actor, canned_id, text, ticket)
    text = (text or "").strip()
    if not text:
        raise ActionRefused(N_("a reply needs some text"))
    message = _staff_message(ticket, actor, Direction.outbound, text, now, keep_uploads(settings, uploads))
    message.message_id = notices.reply_message_id(settings, ticket)
    session.add(message)
    session.flush()
    notices.staff_reply(session, settings, policy, ticket, message, now=now)
    sla.mark_first_response(ticket, now)
    ticket.updated_at = now
    with audit.together(session):  # up to four events (picked up, assigned, reply, status): one statement
        routing.pick_up(session, ticket, actor, now)
        if ticket.assignee_id is None and ticket.status is not Status.closed:  # nobody is assigned a closed ticket
            assignment.assign_to(session, ticket, actor, actor, now=now, detail="replied")
        audit.record(session, ticket, "reply", actor, detail=f"message {message.id}", at=now)
        if status is not ticket.status:
            lifecycle.move(session, ticket, status, actor, now=now, policy=policy)
    return message


def add_note(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User, text: str, *,
             uploads: Sequence[CheckedUpload] = (), now: datetime | None = None) -> Message:
    """An internal note: on the ticket for staff, never mailed, never shown to the customer."""
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise ActionRefused(N_("a note needs some text"))
    message = _staff_message(ticket, actor, Direction.note, text, now, keep_uploads(settings, uploads))
    session.add(message)
    ticket.updated_at = now
    session.flush()
    routing.pick_up(session, ticket, actor, now)
    audit.record(session, ticket, "note", actor, detail=f"message {message.id}", at=now)
    return message


def change_status(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User,
                  status: Status, *, reason: str = "", now: datetime | None = None) -> None:
    """Move the ticket; the customer hears of a close or a hold (forwarding has its own action)."""
    if status is Status.forwarded:
        raise ActionRefused(N_("forward the ticket to send it up"))
    if not lifecycle.can_move(ticket.status, status):
        raise ActionRefused(lifecycle.CANNOT_MOVE % {
            "status": lifecycle.STATUS_LABELS[ticket.status], "new_status": lifecycle.STATUS_LABELS[status]})
    now = now or utcnow()
    lifecycle.move(session, ticket, status, actor, now=now, detail=reason or None, policy=policy)
    ticket.updated_at = now
    if status is Status.closed:
        notices.closed(session, settings, policy, ticket, actor=actor, now=now)
    elif status is Status.on_hold:
        notices.on_hold(session, settings, policy, ticket, reason=reason, now=now)


def assignable(session: Session, ticket: Ticket) -> list[User]:
    """Active staff of the holding office, who may be given the ticket."""
    return list(session.scalars(select(User).where(
        User.office_id == ticket.office_id, User.active.is_(True)).order_by(User.name)))


def assign(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User,
           assignee_id: int | None, *, now: datetime | None = None) -> None:
    """Give the ticket to a member of the holding office (None: back to the
    pool); they are told, unless they took it themselves."""
    assignee = session.get(User, assignee_id) if assignee_id else None
    if assignee_id and assignee is None:
        raise ActionRefused(N_("no such member of staff"))
    before, now = ticket.assignee_id, now or utcnow()
    try:
        assignment.assign_to(session, ticket, actor, assignee, now=now)
    except assignment.AssignmentRefused as exc:
        raise ActionRefused(str(exc)) from None
    if assignee is not None and assignee.id != before:
        staff_notices.assigned(session, settings, policy, ticket, assignee, actor=actor, now=now)


def take(session: Session, ticket: Ticket, actor: User, *, now: datetime | None = None) -> None:
    """Take ownership; a ticket forwarded to us is picked up (open again) at the same time."""
    try:
        routing.take_ownership(session, ticket, actor, now=now or utcnow())
    except assignment.AssignmentRefused as exc:
        raise ActionRefused(str(exc)) from None


def merge(session: Session, duplicate: Ticket, target: Ticket, actor: User, *,
          now: datetime | None = None) -> None:
    """Fold a duplicate into another ticket of the same office: its messages move, it closes.

    The duplicate keeps its reference (mail quoting it still threads) and
    points to the target; its history stays on it.
    """
    if duplicate.id == target.id:
        raise ActionRefused(N_("a ticket cannot be merged into itself"))
    if target.merged_into_id is not None or target.status is Status.closed:
        raise ActionRefused(N_("%(ref)s is closed or merged itself") % {"ref": target.ref})
    now = now or utcnow()
    for message in list(duplicate.messages):
        message.ticket = target
    duplicate.merged_into_id = target.id
    target.updated_at = duplicate.updated_at = now
    audit.record(session, duplicate, "merged", actor, to_value=target.ref, at=now)
    audit.record(session, target, "merged_in", actor, from_value=duplicate.ref, at=now)
    if duplicate.status is not Status.closed:
        lifecycle.move(session, duplicate, Status.closed, actor, now=now, detail=f"merged into {target.ref}")
    session.flush()




def forward(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User, reason: str, *,
            now: datetime | None = None) -> Ticket:
    """Send the ticket one tier up with the reason (at the root: to a fellow admin)."""
    try:
        return routing.forward_to_parent(session, settings, policy, ticket, actor, reason, now=now)
    except routing.RouteRefused as exc:
        raise ActionRefused(str(exc)) from None


def pull_back(session: Session, policy: Policy, ticket: Ticket, actor: User, reason: str, *,
              now: datetime | None = None) -> Ticket:
    """A supervisor sends a forwarded ticket back to the office it came from."""
    try:
        return routing.pull_back(session, policy, ticket, actor, reason, now=now)
    except routing.RouteRefused as exc:
        raise ActionRefused(str(exc)) from None


def set_availability(session: Session, user: User, available: bool, policy: Policy, *,
                     now: datetime | None = None) -> Ticket | None:
    """Whether the agent receives new tickets; logging in switches it on and may bring a ticket."""
    return assignment.set_available(session, user, available, now=now, policy=policy)


def find_attachment(session: Session, user: User, ref: str, attachment_id: int) -> Attachment:
    """A kept attachment of a ticket the user may see (TicketNotFound otherwise or if refused)."""
    ticket = find_visible(session, user, ref)
    found = session.scalar(select(Attachment).join(Message, Attachment.message_id == Message.id).where(
        Attachment.id == attachment_id, Message.ticket_id == ticket.id, Attachment.refused_reason.is_(None)))
    if found is None:
        raise TicketNotFound(ref)
    return found


def dispatch(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User,
             office_id: int | None, reason: str, *, now: datetime | None = None) -> Ticket:
    """Send the ticket down to an office of the holder's subtree (from triage: any office)."""
    to = session.get(Office, office_id) if office_id else None
    try:
        return routing.dispatch(session, settings, policy, ticket, actor, to, reason, now=now)
    except routing.RouteRefused as exc:
        raise ActionRefused(str(exc)) from None


def confirm_sender(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User,
                   school_hint: str, *, now: datetime | None = None) -> Ticket:
    """The requester's address belongs to the school named by code or registered
    address: it becomes the school's contact and the ticket goes to its City."""
    try:
        return routing.confirm_sender(session, settings, policy, ticket, actor,
                                      contacts.find_school(session, policy, school_hint),
                                      now=now)
    except routing.RouteRefused as exc:
        raise ActionRefused(str(exc)) from None
