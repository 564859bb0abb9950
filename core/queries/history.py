"""A customer's history for the staff ticket page: the school's other tickets
and the requester's, newest first, only those the user may read.

Each list is one query on an index that leads with the school (or the
address) and orders by creation (ix_ticket_school_created,
ix_ticket_requester_created), stopped after `limit` rows that pass the
visibility rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Row, or_
from sqlalchemy.orm import Session

from core.access.visibility import visible_tickets
from core.models import Ticket, User
from core.queries.queues import summaries

LIMIT = 10


@dataclass(frozen=True)
class History:
    school: list[Row] = field(default_factory=list)     # core.queries.queues.SUMMARY rows
    requester: list[Row] = field(default_factory=list)  # the address's tickets of no or another school


def history(session: Session, user: User, ticket: Ticket, limit: int = LIMIT) -> History:
    """The other tickets of this ticket's school and of its requester that `user` may read."""
    def newest(*where) -> list[Row]:
        query = summaries([*where, Ticket.id != ticket.id, visible_tickets(user)])
        return list(session.execute(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)))

    school = newest(Ticket.school_id == ticket.school_id) if ticket.school_id else []
    # Mail from the school's own address is already in the school's list.
    elsewhere = or_(Ticket.school_id.is_(None), Ticket.school_id != ticket.school_id) if ticket.school_id else None
    requester = newest(Ticket.requester_email == ticket.requester_email,
                       *([elsewhere] if elsewhere is not None else []))
    return History(school, requester)
