"""Service levels: due times from the priority, and which tickets are near or past them.

A priority gives hours to first response and to resolution, counted from the
ticket's creation around the clock, or in working hours only when the policy
sets them (core.config.hours). The clocks only bite while the ticket
waits for staff (`open` or `forwarded`): a ticket waiting for the customer or
on hold is not flagged, and is judged again once it is back with staff.
Each ticket is warned once and flagged as breached once; the flags stay for
reports.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy
from core.models import Priority, Status, Ticket, User
from core.config import hours

WAITING_FOR_STAFF = (Status.open, Status.forwarded)


def due_times(priority: Priority | None, start: datetime,
              policy: Policy | None = None) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) for a ticket of this priority opened at
    `start`, in the policy's working hours if it sets them (else around the clock)."""
    if priority is None:
        return None, None
    cal = working_calendar(policy) if policy is not None else None
    first = hours.add_working_hours(start, priority.first_response_hours, cal) \
        if priority.first_response_hours else None
    resolution = hours.add_working_hours(start, priority.resolution_hours, cal) \
        if priority.resolution_hours else None
    return first, resolution


def working_calendar(policy: Policy) -> hours.Calendar | None:
    return hours.calendar(policy.sla_business_hours, policy.sla_business_days, policy.sla_holidays,
                          policy.sla_timezone)


def change_priority(session: Session, ticket: Ticket, priority: Priority, actor: User | str,
                    now: datetime, policy: Policy | None = None) -> None:
    """A new priority moves the due times (still from creation) and clears a warning not yet acted on."""
    if ticket.priority_id == priority.id:
        return
    before = ticket.priority.name if ticket.priority else None
    ticket.priority = priority
    ticket.first_response_due_at, ticket.resolution_due_at = due_times(priority, ticket.created_at, policy)
    if ticket.sla_breached_at is None:
        ticket.sla_warned_at = None
    ticket.updated_at = now
    audit.record(session, ticket, "priority", actor, from_value=before, to_value=priority.name, at=now)


def mark_first_response(ticket: Ticket, now: datetime) -> bool:
    """Staff answered the customer: stop the first-response clock; True the first time."""
    if ticket.first_response_at is not None:
        return False
    ticket.first_response_at = now
    return True


def _late(by: datetime) -> ColumnElement[bool]:
    return or_(and_(Ticket.first_response_at.is_(None), Ticket.first_response_due_at <= by),
               Ticket.resolution_due_at <= by)


def breaching(now: datetime) -> ColumnElement[bool]:
    """Tickets whose due time has come and that are not flagged yet."""
    return and_(Ticket.status.in_(WAITING_FOR_STAFF), Ticket.sla_breached_at.is_(None), _late(now))


def warning_horizon(now: datetime, policy: Policy) -> datetime:
    """Due times before this moment are near: Policy.sla_warning_hours ahead,
    counted in working hours when the policy sets them (a ticket due at 09:00
    on Monday is warned of on Friday afternoon, not at 07:00 on Monday)."""
    return hours.add_working_hours(now, policy.sla_warning_hours, working_calendar(policy))


def nearing(horizon: datetime) -> ColumnElement[bool]:
    """Tickets due before the horizon (see warning_horizon), not yet warned nor breached."""
    return and_(Ticket.status.in_(WAITING_FOR_STAFF), Ticket.sla_breached_at.is_(None),
                Ticket.sla_warned_at.is_(None), _late(horizon))


FIRST_RESPONSE, RESOLUTION = "first response", "resolution"


def missed(ticket: Ticket, now: datetime) -> str:
    """Which clock ran out (or runs out by `now`), for the audit trail and the notice."""
    if ticket.first_response_at is None and ticket.first_response_due_at and ticket.first_response_due_at <= now:
        return FIRST_RESPONSE
    return RESOLUTION


def due_of(ticket: Ticket, clock: str) -> datetime | None:
    """When that clock runs out."""
    return ticket.first_response_due_at if clock == FIRST_RESPONSE else ticket.resolution_due_at
