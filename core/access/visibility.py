"""Who may see and change which tickets: the one rule, applied in the query.

Staff act on tickets their office holds and read tickets held by any office
below theirs (a prefix match on Office.path, which holds the codes from the
root: "/MIN/P31/C3171/"). Sibling and unrelated offices stay out of sight.
The chain is data: a Region tier imported between City and Province is
covered by the same prefix, with no code to change.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, select, true

from core.models import Office, Ticket, User


def visible_tickets(user: User) -> ColumnElement[bool]:
    """A where-clause on Ticket: the tickets this user may read."""
    if not user.active:
        return false()
    if user.office.parent_id is None:
        # The root's path prefixes every path; skipping the sub-query keeps
        # the planner free to use any index for the rest of the query.
        return true()
    below = select(Office.id).where(Office.path.startswith(user.office.path, autoescape=True))
    return Ticket.office_id.in_(below)


def can_read(user: User, ticket: Ticket) -> bool:
    return user.active and ticket.office.path.startswith(user.office.path)


def can_act(user: User, ticket: Ticket) -> bool:
    return user.active and ticket.office_id == user.office_id
