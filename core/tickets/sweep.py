"""The periodic sweep: auto-close, SLA warnings and breaches (with escalation),
the return of absent agents' tickets, handing out unassigned tickets, and
telling offices how many unstaffed tickets their paced notices held back.

Idempotent and safe from two processes at once: each step claims its rows
with a conditional UPDATE ... WHERE <still due> RETURNING id, in batches, each
batch in its own transaction. A second process that races for the same rows
waits for the first's row locks (PostgreSQL) or its write lock (SQLite), then
finds the condition false and claims nothing. Running the sweep twice as of
the same moment changes nothing the second time.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from core import audit
from core.access import ratelimit
from core.config.policy import Policy, load_policy
from core.mail import notices, staff_notices
from core.models import Status, Ticket, utcnow
from core.storage.db import Database
from core.tickets import assignment, lifecycle, routing, sla

BATCH = 500
# An SLA flag is bookkeeping, not activity on the ticket: keep its updated_at
# (the column's onupdate would otherwise stamp the wall clock).
_UNTOUCHED = {"updated_at": Ticket.updated_at}


@dataclass
class SweepReport:
    closed: int = 0
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    returned: int = 0
    assigned: int = 0
    unstaffed_told: int = 0  # offices told how many unstaffed tickets were held back (core.mail.pacing)
    forgotten: int = 0  # rate counts and form stamps past every window

    def __str__(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name)}" for f in fields(self))


def run_sweep(db: Database, now: datetime | None = None) -> SweepReport:
    """Every step once, as of `now`; what a periodic task calls."""
    now = now or utcnow()
    with db.begin() as session:
        policy = load_policy(session)
    report = SweepReport()
    report.closed = auto_close(db, policy, now)
    report.breached, report.escalated = flag_breaches(db, policy, now)
    report.warned = warn(db, policy, now)
    report.returned = return_absent(db, policy, now)
    report.assigned = fill_pools(db, policy, now)
    with db.begin() as session:
        # Before the counts are forgotten: a day-long quiet time ends as they would go.
        report.unstaffed_told = staff_notices.unstaffed_summaries(session, db.settings, policy, now)
        report.forgotten = ratelimit.forget_old(session, now)
    return report


def _claim(session: Session, where: ColumnElement[bool], values: dict) -> list[int]:
    """Up to BATCH ids of rows still matching `where`, updated with `values` in one statement."""
    candidates = select(Ticket.id).where(where).order_by(Ticket.id).limit(BATCH).scalar_subquery()
    claimed = session.scalars(update(Ticket).where(Ticket.id.in_(candidates), where).values(**values)
                              .returning(Ticket.id).execution_options(synchronize_session=False)).all()
    return sorted(claimed)


def _tickets(session: Session, ids: list[int]) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)))


def _batches(db: Database, where: ColumnElement[bool], values: dict, each) -> int:
    total = 0
    while True:
        with db.begin() as session:
            ids = _claim(session, where, values)
            for ticket in _tickets(session, ids):
                each(session, ticket)
        total += len(ids)
        if len(ids) < BATCH:
            return total


def auto_close(db: Database, policy: Policy, now: datetime) -> int:
    """Close tickets answered `auto_close_days` ago or more, and tell the customer."""
    if not policy.auto_close_days:
        return 0
    cutoff = now - timedelta(days=policy.auto_close_days)
    due = (Ticket.status == Status.answered) & (Ticket.status_changed_at <= cutoff)
    detail = f"no answer for {policy.auto_close_days} days"

    def each(session: Session, ticket: Ticket) -> None:
        if ticket.status is not Status.answered:
            return  # attached to an incident closed earlier in this batch: it closed with it
        # Through the one transition function, so a rule added there holds here too.
        lifecycle.move(session, ticket, Status.closed, audit.SYSTEM, now=now, detail=detail)
        notices.auto_closed(session, db.settings, policy, ticket, now=now)

    # The claim only stamps the rows (and locks them on PostgreSQL): a second
    # sweep's claim waits, then finds them closed and passes them by.
    return _batches(db, due, {"updated_at": now}, each)


def flag_breaches(db: Database, policy: Policy, now: datetime) -> tuple[int, int]:
    """Flag tickets past a due time, tell who works them and the office's
    supervisors; escalate those whose priority says so. (breached, escalated)"""
    escalated = 0

    def each(session: Session, ticket: Ticket) -> None:
        nonlocal escalated
        clock = sla.missed(ticket, now)
        audit.record(session, ticket, "sla_breach", audit.SYSTEM, to_value=clock, at=now)
        # Told before any escalation, so the people who let it run late hear of it.
        due = sla.due_of(ticket, clock)
        told = notices.sla_breached(session, db.settings, policy, ticket, clock, due, now=now)
        staff_notices.breached(session, db.settings, policy, ticket, clock, due, now=now,
                               told={row.to_address for row in told})
        # At the root there is no tier left to escalate to; the flag and the queue say it.
        if ticket.priority is not None and ticket.priority.escalate_on_breach and ticket.office.parent_id:
            routing.forward_to_parent(session, db.settings, policy, ticket, audit.SYSTEM,
                                      f"SLA breached: {clock}", now=now)
            escalated += 1

    breached = _batches(db, sla.breaching(now), {"sla_breached_at": now, **_UNTOUCHED}, each)
    return breached, escalated


def warn(db: Database, policy: Policy, now: datetime) -> int:
    """Mark tickets nearing a due time (shown in the SLA queue) and tell who works
    them, once each."""
    horizon = sla.warning_horizon(now, policy)

    def each(session: Session, ticket: Ticket) -> None:
        clock = sla.missed(ticket, horizon)
        audit.record(session, ticket, "sla_warning", audit.SYSTEM, to_value=clock, at=now)
        notices.sla_warning(session, db.settings, policy, ticket, clock, sla.due_of(ticket, clock), now=now)

    return _batches(db, sla.nearing(horizon), {"sla_warned_at": now, **_UNTOUCHED}, each)


def return_absent(db: Database, policy: Policy, now: datetime) -> int:
    """Tickets of staff away longer than `absence_hours` (or deactivated) go back to the pool."""
    with db.begin() as session:
        away = assignment.absent_staff(session, policy, now)
    returned = 0
    for user_id in away:
        with db.begin() as session:
            returned += assignment.return_to_pool(session, user_id, policy, now)
    return returned


def fill_pools(db: Database, policy: Policy, now: datetime) -> int:
    """Hand out unassigned tickets in every office where someone is available."""
    with db.begin() as session:
        offices = assignment.unassigned_offices(session)
    return sum(fill_pool(db, office_id, policy, now) for office_id in offices)


def fill_pool(db: Database, office_id: int, policy: Policy | None = None, now: datetime | None = None) -> int:
    """Hand out one office's unassigned tickets, BATCH at a time, each batch in a
    transaction of its own (so staff locks are held briefly), until caps or
    tickets run out."""
    now = now or utcnow()
    if policy is None:
        with db.begin() as session:
            policy = load_policy(session)
    given = 0
    while True:
        with db.begin() as session:
            batch = assignment.fill_office(session, office_id, policy, now, limit=BATCH)
        given += batch
        if batch < BATCH:
            return given
