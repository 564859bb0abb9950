"""Staff set a ticket's priority and category: one call each, for the ticket
page and the API alike. A new priority moves the SLA due times
(core.tickets.sla.change_priority); both changes are audited.

The caller finds the ticket with core.tickets.actions.find_actionable, so
only staff of the holding office change it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy
from core.models import Category, Priority, Ticket, User, utcnow
from core.tickets import categories, sla
from core.tickets.actions import ActionRefused
from core.words import N_


def priorities(session: Session) -> list[Priority]:
    """Every priority, most urgent first, as the forms offer them."""
    return list(session.scalars(select(Priority).order_by(Priority.level.desc())))


def set_priority(session: Session, policy: Policy, ticket: Ticket, actor: User, priority_id: int | None, *,
                 now: datetime | None = None) -> bool:
    """Give the ticket this priority; its due times move. False when it had it already."""
    priority = session.get(Priority, priority_id) if priority_id else None
    if priority is None:
        raise ActionRefused(N_("no such priority"))
    if ticket.priority_id == priority.id:
        return False
    now = now or utcnow()
    sla.change_priority(session, ticket, priority, actor, now, policy)
    return True


def set_category(session: Session, ticket: Ticket, actor: User, category_id: int | None, *,
                 now: datetime | None = None) -> bool:
    """File the ticket under this category (None: none). False when nothing changes.
    Only an active category may be chosen; the ticket stays where it is held."""
    category = session.get(Category, category_id) if category_id else None
    if category_id and (category is None or not category.active):
        raise ActionRefused(N_("no such category"))
    if ticket.category_id == (category.id if category else None):
        return False
    now = now or utcnow()
    before = categories.label(ticket.category) if ticket.category else None
    ticket.category = category
    ticket.updated_at = now
    audit.record(session, ticket, "category", actor, from_value=before,
                 to_value=categories.label(category) if category else None, at=now)
    return True
