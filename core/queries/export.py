"""Tickets as plain dicts, in the shape `helpdesk export --format jsonl` prints."""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.models import Message, Ticket


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def message_dict(message: Message) -> dict:
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
    }


def ticket_dict(ticket: Ticket) -> dict:
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
        "messages": [message_dict(m) for m in ticket.messages],
        "events": [{"at": _iso(e.at), "actor": e.actor, "kind": e.kind, "from": e.from_value,
                    "to": e.to_value} for e in ticket.events],
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
        for ticket in tickets:
            yield ticket_dict(ticket)
        last_id = tickets[-1].id
        session.expunge_all()
