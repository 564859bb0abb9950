"""Links between related tickets: stored once per pair, read through visibility."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.access.visibility import can_read
from core.models import Ticket, TicketLink, User, utcnow
from core.tickets.actions import ActionRefused
from core.words import N_


def link(session: Session, ticket: Ticket, other: Ticket, actor: User, *, now: datetime | None = None) -> None:
    """Note that two tickets are related (stored once, lower id first)."""
    if ticket.id == other.id:
        raise ActionRefused(N_("a ticket cannot be linked to itself"))
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
    if not ids:
        return []
    return [t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids))) if can_read(user, t)]
