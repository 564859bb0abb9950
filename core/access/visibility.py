"""Who may see and change which tickets: the one rule, applied in the query.

Staff act on tickets their office holds and read tickets held by any office
below theirs (a prefix match on Office.path, which holds the codes from the
root: "/MIN/P31/C3171/"). They also read the tickets their office handed on
(forwarded up, dispatched down, re-homed): a Handoff row, written with the
move, so the City that forwarded a ticket can still answer the school's
phone call and see where it went. Sibling and unrelated offices stay out of
sight. The chain is data: a Region tier imported between City and Province
is covered by the same prefix, with no code to change.
"""
from __future__ import annotations

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, object_session

from core.models import Handoff, Office, Ticket, User


def held_below(user: User) -> ColumnElement[bool]:
    """A where-clause on Ticket: tickets held by the user's office or one below it."""
    if not user.active:
        return false()
    if user.office.parent_id is None:
        # The root's path prefixes every path; skipping the sub-query keeps
        # the planner free to use any index for the rest of the query.
        return true()
    below = select(Office.id).where(Office.path.startswith(user.office.path, autoescape=True))
    return Ticket.office_id.in_(below)


def handed_off(user: User, dialect: str | None = None) -> ColumnElement[bool]:
    """A where-clause on Ticket: tickets the user's office handed on.

    Without a dialect it is a correlated EXISTS on the handoff's primary key,
    the form to test a few rows with. With one, it is the form a scan can be
    driven by, beside an office list in an OR (core.queries.queues.scope_of):
    on PostgreSQL `id = ANY(ARRAY(...))`, which the planner evaluates once and
    ORs with the office index as two bitmap index scans (an IN sub-query
    there would be a filter on every row); on SQLite `id IN (...)`, which its
    OR optimisation reads through the rowid.
    """
    if not user.active:
        return false()
    mine = select(Handoff.ticket_id).where(Handoff.office_id == user.office_id)
    if dialect == "postgresql":
        return Ticket.id == any_(func.array(mine.scalar_subquery(), type_=ARRAY(Integer)))
    if dialect is not None:
        return Ticket.id.in_(mine)
    return exists().where(Handoff.ticket_id == Ticket.id, Handoff.office_id == user.office_id)


def visible_tickets(user: User) -> ColumnElement[bool]:
    """A where-clause on Ticket: the tickets this user may read."""
    if not user.active:
        return false()
    if user.office.parent_id is None:
        return true()
    return or_(held_below(user), handed_off(user))


def can_read(user: User, ticket: Ticket) -> bool:
    """visible_tickets for one loaded ticket: the path, else one look-up of the handoff."""
    if not user.active:
        return False
    if ticket.office.path.startswith(user.office.path):
        return True
    session = object_session(ticket)
    return session is not None and was_handed_off(session, ticket, user.office_id)


def was_handed_off(session: Session, ticket: Ticket, office_id: int) -> bool:
    return session.get(Handoff, (ticket.id, office_id)) is not None


def can_act(user: User, ticket: Ticket) -> bool:
    return user.active and ticket.office_id == user.office_id
