"""What staff do to a ticket, each in one call: reply (and set the status), add an
internal note, change status, assign, take ownership, merge a duplicate, link.

The views find the ticket through `find_visible`/`find_actionable`, which
apply core visibility: a ticket the user may not see does not exist for them,
and one they may only read cannot be changed.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, canned, lifecycle, outbox
from core.customer import Upload, keep_uploads
from core.models import Attachment, Direction, Message, Status, Ticket, TicketLink, User, utcnow
from core.policy import Policy
from core.queues import can_act, can_read
from core.settings import Settings
from core.tickets import link_of


class TicketNotFound(LookupError):
    """No such ticket, or one the user may not see (the two look the same)."""


class ReadOnly(PermissionError):
    """The user may read the ticket but its holding office is another."""


class ActionRefused(ValueError):
    """The action makes no sense for this ticket (empty reply, merge into itself...)."""


def find_visible(session: Session, user: User, ref: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.ref == ref.strip().upper()))
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
          uploads: list[Upload] = (), status: Status = Status.answered, canned_id: int | None = None,
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
        raise ActionRefused("a reply needs some text")
    message = _staff_message(ticket, actor, Direction.outbound, text, now, keep_uploads(settings, policy, list(uploads)))
    session.add(message)
    session.flush()
    last_in = session.scalar(select(Message).where(
        Message.ticket_id == ticket.id, Message.direction == Direction.inbound,
        Message.message_id.is_not(None)).order_by(Message.id.desc()).limit(1))
    mail = outbox.enqueue(
        session, settings, template="staff_reply", to=ticket.requester_email, ticket=ticket,
        language=ticket.language or policy.default_language, automatic=False,
        in_reply_to=last_in.message_id if last_in else None,
        references=last_in.message_id if last_in else None, now=now,
        context={"ref": ticket.ref, "subject": ticket.subject, "text": text, "link": link_of(settings, ticket),
                 "staff_name": actor.name, "office": ticket.office.name, "message_id": message.id,
                 "attachments": [a.id for a in message.attachments]})
    message.message_id = mail.message_id
    ticket.first_response_at = ticket.first_response_at or now
    ticket.updated_at = now
    if ticket.assignee_id is None:
        _assign(session, ticket, actor, actor, now)
    audit.record(session, ticket, "reply", actor, detail=f"message {message.id}", at=now)
    if status is not ticket.status:
        lifecycle.move(session, ticket, status, actor, now=now)
    return message


def add_note(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User, text: str, *,
             uploads: list[Upload] = (), now: datetime | None = None) -> Message:
    """An internal note: on the ticket for staff, never mailed, never shown to the customer."""
    now = now or utcnow()
    text = (text or "").strip()
    if not text:
        raise ActionRefused("a note needs some text")
    message = _staff_message(ticket, actor, Direction.note, text, now, keep_uploads(settings, policy, list(uploads)))
    session.add(message)
    ticket.updated_at = now
    session.flush()
    audit.record(session, ticket, "note", actor, detail=f"message {message.id}", at=now)
    return message


def change_status(session: Session, ticket: Ticket, actor: User, status: Status, *,
                  now: datetime | None = None) -> None:
    if status is Status.forwarded:
        raise ActionRefused("forward the ticket to send it up")
    if not lifecycle.can_move(ticket.status, status):
        raise ActionRefused(f"a {ticket.status} ticket cannot become {status}")
    now = now or utcnow()
    lifecycle.move(session, ticket, status, actor, now=now)
    ticket.updated_at = now


def _assign(session: Session, ticket: Ticket, actor: User, assignee: User | None, now: datetime) -> None:
    before = ticket.assignee.email if ticket.assignee else None
    ticket.assignee = assignee
    ticket.assigned_at = now if assignee else None
    if assignee is not None:
        assignee.last_assigned_at = now
    audit.record(session, ticket, "assignee", actor, from_value=before,
                 to_value=assignee.email if assignee else None, at=now)


def assignable(session: Session, ticket: Ticket) -> list[User]:
    """Active staff of the holding office, who may be given the ticket."""
    return list(session.scalars(select(User).where(
        User.office_id == ticket.office_id, User.active.is_(True)).order_by(User.name)))


def assign(session: Session, ticket: Ticket, actor: User, assignee_id: int | None, *,
           now: datetime | None = None) -> None:
    """Give the ticket to a member of the holding office (None: back to the pool)."""
    assignee = session.get(User, assignee_id) if assignee_id else None
    if assignee_id and (assignee is None or not assignee.active or assignee.office_id != ticket.office_id):
        raise ActionRefused("only active staff of the holding office can be assigned")
    if assignee is ticket.assignee:
        return
    _assign(session, ticket, actor, assignee, now or utcnow())
    ticket.updated_at = now or utcnow()


def take(session: Session, ticket: Ticket, actor: User, *, now: datetime | None = None) -> None:
    """Take ownership; a ticket forwarded to us is picked up (open again) at the same time."""
    now = now or utcnow()
    if ticket.assignee_id != actor.id:
        _assign(session, ticket, actor, actor, now)
    if ticket.status is Status.forwarded:
        lifecycle.move(session, ticket, Status.open, actor, now=now, detail="picked up")
    ticket.updated_at = now


def merge(session: Session, duplicate: Ticket, target: Ticket, actor: User, *,
          now: datetime | None = None) -> None:
    """Fold a duplicate into another ticket of the same office: its messages move, it closes.

    The duplicate keeps its reference (mail quoting it still threads) and
    points to the target; its history stays on it.
    """
    if duplicate.id == target.id:
        raise ActionRefused("a ticket cannot be merged into itself")
    if target.merged_into_id is not None or target.status is Status.closed:
        raise ActionRefused(f"{target.ref} is closed or merged itself")
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


def link(session: Session, ticket: Ticket, other: Ticket, actor: User, *, now: datetime | None = None) -> None:
    """Note that two tickets are related (stored once, lower id first)."""
    if ticket.id == other.id:
        raise ActionRefused("a ticket cannot be linked to itself")
    low, high = sorted((ticket.id, other.id))
    exists = session.scalar(select(TicketLink.id).where(TicketLink.ticket_id == low, TicketLink.other_id == high))
    if exists:
        return
    now = now or utcnow()
    session.add(TicketLink(ticket_id=low, other_id=high, created_at=now))
    audit.record(session, ticket, "linked", actor, to_value=other.ref, at=now)
    audit.record(session, other, "linked", actor, to_value=ticket.ref, at=now)
    session.flush()


def linked(session: Session, user: User, ticket: Ticket) -> list[Ticket]:
    """The related tickets this user may see."""
    ids = [row.other_id if row.ticket_id == ticket.id else row.ticket_id
           for row in session.scalars(select(TicketLink).where(
               (TicketLink.ticket_id == ticket.id) | (TicketLink.other_id == ticket.id)))]
    return [t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids))) if can_read(user, t)]


def forward(session: Session, settings: Settings, policy: Policy, ticket: Ticket, actor: User, note: str = "", *,
            now: datetime | None = None) -> Ticket:
    """Send the ticket one tier up, to the parent of the holding office, with an optional note."""
    now = now or utcnow()
    parent = ticket.office.parent
    if parent is None:
        raise ActionRefused("the top office has no office above it; assign a colleague instead")
    if note.strip():
        add_note(session, settings, policy, ticket, actor, note, now=now)
    audit.record(session, ticket, "forwarded", actor, from_value=ticket.office.code, to_value=parent.code, at=now)
    ticket.office = parent
    ticket.assignee = None
    ticket.assigned_at = None
    lifecycle.move(session, ticket, Status.forwarded, actor, now=now)
    ticket.updated_at = now
    session.flush()
    return ticket


def set_availability(session: Session, user: User, available: bool, *, now: datetime | None = None) -> None:
    """Whether the agent receives new tickets; logging in switches it on."""
    if user.available == available:
        return
    now = now or utcnow()
    user.available = available
    user.available_changed_at = now
    audit.record(session, None, "available", user, from_value=not available, to_value=available, at=now)
    session.flush()


def find_attachment(session: Session, user: User, ref: str, attachment_id: int) -> Attachment:
    """A kept attachment of a ticket the user may see (TicketNotFound otherwise or if refused)."""
    ticket = find_visible(session, user, ref)
    found = session.scalar(select(Attachment).join(Message, Attachment.message_id == Message.id).where(
        Attachment.id == attachment_id, Message.ticket_id == ticket.id, Attachment.refused_reason.is_(None)))
    if found is None:
        raise TicketNotFound(ref)
    return found
