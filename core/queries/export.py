"""Tickets as plain dicts, in the shape `helpdesk export --format jsonl` prints."""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from core.mail.log import auth_dict
from core.models import Message, RawMail, Ticket


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def message_dict(message: Message, auth: dict | None = None) -> dict:
    """One message; `auth`: its raw mail's authentication verdict (inbound mail)."""
    return {
        "direction": message.direction.value,
        "from": message.from_address or (message.author.email if message.author else None),
        "message_id": message.message_id,
        "created_at": _iso(message.created_at),
        "auto_reply": message.auto_reply,
        "text": message.text,
        "full_text": message.full_text,
        "html": message.html,
        "attachments": [
            {"filename": a.filename, "size": a.size, "sha256": a.sha256, "content_type": a.content_type}
            for a in message.attachments if a.refused_reason is None],
        "refused": [{"filename": a.filename, "reason": a.refused_reason}
                    for a in message.attachments if a.refused_reason is not None],
        "auth": auth,
    }


def auth_of_messages(session: Session, messages) -> dict[int, dict | None]:
    """The authentication verdict of each message's raw mail, by raw mail id, in one query."""
    ids = sorted({m.raw_mail_id for m in messages if m.raw_mail_id is not None})
    if not ids:
        return {}
    return {raw_id: auth_dict(auth) for raw_id, auth in session.execute(
        select(RawMail.id, RawMail.auth).where(RawMail.id.in_(ids)))}


def ticket_dict(ticket: Ticket, auth: dict[int, dict | None] | None = None, events: list | None = None) -> dict:
    """One ticket; `auth` as auth_of_messages gives it (read here if not given);
    `events`: its history, if the caller has it (core.audit.kept), else read."""
    if auth is None:
        session = object_session(ticket)
        auth = auth_of_messages(session, ticket.messages) if session is not None else {}
    return {
        "ref": ticket.ref,
        "status": ticket.status.value,
        "office": ticket.office.code,
        "assignee": ticket.assignee.email if ticket.assignee else None,
        "priority": ticket.priority.name if ticket.priority else None,
        "category": ticket.category.name if ticket.category else None,
        "requester": ticket.requester_email,
        "school": ticket.school.code if ticket.school else None,
        "subject": ticket.subject,
        "created_at": _iso(ticket.created_at),
        "closed_at": _iso(ticket.closed_at),
        "messages": [message_dict(m, auth.get(m.raw_mail_id)) for m in ticket.messages],
        "events": [{"at": _iso(e.at), "actor": e.actor, "kind": e.kind, "from": e.from_value,
                    "to": e.to_value} for e in (ticket.events if events is None else events)],
    }


def export_tickets(session: Session, batch: int = 500) -> Iterator[dict]:
    """Every ticket, oldest first, read in batches so memory stays flat."""
    last_id = 0
    while True:
        tickets = session.scalars(
            select(Ticket).where(Ticket.id > last_id).order_by(Ticket.id).limit(batch).options(
                selectinload(Ticket.messages).selectinload(Message.attachments),
                selectinload(Ticket.messages).selectinload(Message.author),
                selectinload(Ticket.events), selectinload(Ticket.school), selectinload(Ticket.category),
            )).all()
        if not tickets:
            return
        auth = auth_of_messages(session, [m for ticket in tickets for m in ticket.messages])
        for ticket in tickets:
            yield ticket_dict(ticket, auth)
        last_id = tickets[-1].id
        session.expunge_all()
