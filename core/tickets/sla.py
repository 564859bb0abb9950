"""Service levels: due times from the priority, and which tickets are near or past them.

A priority gives hours to first response and to resolution, counted from the
ticket's creation around the clock, or in working hours only when the policy
sets them (core.config.hours). The clocks run only while the ticket waits
for staff (`open` or `forwarded`): while it waits for the customer
(`answered`), is `on_hold` or `closed` they stand still, and when it comes
back to staff its due times move later by the working time it stood
(see pause_or_resume, which core.tickets.lifecycle calls on every move).
Each ticket is warned once and flagged as breached once; the flags stay for
reports.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy, load_policy
from core.models import Priority, Status, Ticket, User
from core.config import hours
from core.words import N_

WAITING_FOR_STAFF = (Status.open, Status.forwarded)
# The clocks stand still in these states; every other state is WAITING_FOR_STAFF.
PAUSED = frozenset({Status.answered, Status.on_hold, Status.closed})


def due_times(priority: Priority | None, start: datetime, policy: Policy | None = None,
              paused: timedelta = timedelta(0)) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) for a ticket of this priority opened at
    `start`, in the policy's working hours if it sets them (else around the clock),
    pushed back by the working time `paused` its clocks stood still."""
    if priority is None:
        return None, None
    cal = working_calendar(policy) if policy is not None else None
    extra = paused.total_seconds() / 3600
    first = hours.add_working_hours(start, priority.first_response_hours + extra, cal) \
        if priority.first_response_hours else None
    resolution = hours.add_working_hours(start, priority.resolution_hours + extra, cal) \
        if priority.resolution_hours else None
    return first, resolution


def paused_for(ticket: Ticket) -> timedelta:
    """The working time the ticket's clocks stood still, up to its last resumption."""
    return timedelta(seconds=ticket.sla_paused_seconds or 0)


def pause_or_resume(session: Session, ticket: Ticket, before: Status, after: Status, now: datetime,
                    policy: Policy | None = None) -> None:
    """Stop the clocks when the ticket leaves staff, restart them when it comes back.

    Moves between two paused states (answered -> on_hold) keep the pause
    that began first. The policy (for the working calendar) is read only on
    a resumption, when the caller did not pass it.
    """
    if after in PAUSED and before not in PAUSED:
        ticket.sla_paused_at = now
    elif after not in PAUSED and before in PAUSED:
        resume(session, ticket, now, policy)


def resume(session: Session, ticket: Ticket, now: datetime, policy: Policy | None = None) -> None:
    """Add the pause that ends now (in working time) to the ticket's paused time and
    move its due times later by as much; a warning already sent is for an old due time."""
    if ticket.sla_paused_at is None:
        return  # paused before pauses were recorded, or never: nothing to add
    policy = policy if policy is not None else load_policy(session)
    stood = hours.working_time_between(ticket.sla_paused_at, now, working_calendar(policy))
    ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + int(stood.total_seconds())
    ticket.sla_paused_at = None
    if ticket.priority is not None and stood:
        ticket.first_response_due_at, ticket.resolution_due_at = due_times(
            ticket.priority, ticket.created_at, policy, paused_for(ticket))
        if ticket.sla_breached_at is None:
            ticket.sla_warned_at = None


def working_calendar(policy: Policy) -> hours.Calendar | None:
    return hours.calendar(policy.sla_business_hours, policy.sla_business_days, policy.sla_holidays,
                          policy.sla_timezone)


def change_priority(session: Session, ticket: Ticket, priority: Priority, actor: User | str,
                    now: datetime, policy: Policy | None = None) -> None:
    """A new priority moves the due times (still from creation, pushed back by the
    time the clocks stood still) and clears a warning not yet acted on."""
    if ticket.priority_id == priority.id:
        return
    before = ticket.priority.name if ticket.priority else None
    ticket.priority = priority
    ticket.first_response_due_at, ticket.resolution_due_at = due_times(priority, ticket.created_at, policy,
                                                                      paused_for(ticket))
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


# English, as the audit trail keeps them; N_: a chat notice names the clock in its language.
FIRST_RESPONSE, RESOLUTION = N_("first response"), N_("resolution")


def missed(ticket: Ticket, now: datetime) -> str:
    """Which clock ran out (or runs out by `now`), for the audit trail and the notice."""
    if ticket.first_response_at is None and ticket.first_response_due_at and ticket.first_response_due_at <= now:
        return FIRST_RESPONSE
    return RESOLUTION


def due_of(ticket: Ticket, clock: str) -> datetime | None:
    """When that clock runs out."""
    return ticket.first_response_due_at if clock == FIRST_RESPONSE else ticket.resolution_due_at
