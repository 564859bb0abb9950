"""The staff queues: named views of the tickets one user may see, with counts,
filters, sorting and pages.

Every query starts from core.visibility's scope, so a queue, a count and a
filter can never show a ticket of a sibling office.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from math import ceil
from typing import Callable

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from core.models import Category, Office, Priority, Status, Ticket, User, utcnow
from core.policy import Policy
from core.visibility import visible_tickets



PAGE_SIZE = 50
# Counts stop here: "1000+" is as useful as an exact million and far cheaper.
COUNT_CAP = 1000
OPEN_STATES = (Status.open, Status.answered, Status.on_hold, Status.forwarded)


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    where: Callable[[User, datetime, Policy], ColumnElement[bool]]
    read_only: bool = False


def _held(user: User) -> ColumnElement[bool]:
    return Ticket.office_id == user.office_id


def _sla_due(user: User, now: datetime, policy: Policy) -> ColumnElement[bool]:
    soon = now + timedelta(hours=policy.sla_warning_hours)
    late = or_(Ticket.sla_breached_at.is_not(None),
               and_(Ticket.first_response_at.is_(None), Ticket.first_response_due_at <= soon),
               Ticket.resolution_due_at <= soon)
    return and_(_held(user), Ticket.status.in_(OPEN_STATES), late)


QUEUES: dict[str, Queue] = {q.name: q for q in [
    Queue("unassigned", "Unassigned in my office",
          lambda u, n, p: and_(_held(u), Ticket.assignee_id.is_(None), Ticket.status.in_(OPEN_STATES))),
    Queue("mine", "Mine", lambda u, n, p: and_(_held(u), Ticket.assignee_id == u.id,
                                               Ticket.status.in_(OPEN_STATES))),
    Queue("open", "Open", lambda u, n, p: and_(_held(u), Ticket.status == Status.open)),
    Queue("forwarded", "Forwarded to us", lambda u, n, p: and_(_held(u), Ticket.status == Status.forwarded)),
    Queue("on_hold", "On hold", lambda u, n, p: and_(_held(u), Ticket.status == Status.on_hold)),
    Queue("answered", "Answered", lambda u, n, p: and_(_held(u), Ticket.status == Status.answered)),
    Queue("sla", "SLA breached or near", _sla_due),
    Queue("below", "Held below my office", lambda u, n, p: and_(
        Ticket.office_id != u.office_id, Ticket.status.in_(OPEN_STATES)), read_only=True),
    Queue("closed", "Closed", lambda u, n, p: and_(_held(u), Ticket.status == Status.closed)),
]}


@dataclass(frozen=True)
class Filters:
    status: Status | None = None
    priority_id: int | None = None
    category_id: int | None = None
    assignee_id: int | None = None  # 0: nobody
    school: str = ""                # a school's code
    created_from: date | None = None
    created_to: date | None = None

    def where(self) -> list[ColumnElement[bool]]:
        terms: list[ColumnElement[bool]] = []
        if self.status is not None:
            terms.append(Ticket.status == self.status)
        if self.priority_id:
            terms.append(Ticket.priority_id == self.priority_id)
        if self.category_id:
            terms.append(Ticket.category_id == self.category_id)
        if self.assignee_id is not None:
            terms.append(Ticket.assignee_id.is_(None) if self.assignee_id == 0
                         else Ticket.assignee_id == self.assignee_id)
        if self.school:
            terms.append(Ticket.school_id == select(Office.id).where(
                Office.code == self.school).scalar_subquery())
        if self.created_from:
            terms.append(Ticket.created_at >= _midnight(self.created_from))
        if self.created_to:
            terms.append(Ticket.created_at < _midnight(self.created_to + timedelta(days=1)))
        return terms


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


SORTS = {
    "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
    "oldest": (Ticket.updated_at.asc(), Ticket.id.asc()),
    "newest": (Ticket.created_at.desc(), Ticket.id.desc()),
    "due": (Ticket.resolution_due_at.asc().nulls_last(), Ticket.id.asc()),
    "priority": (Priority.level.desc().nulls_last(), Ticket.updated_at.desc()),
}


@dataclass
class Page:
    tickets: list[Ticket]
    total: int          # capped at COUNT_CAP + 1 ("more than COUNT_CAP")
    number: int
    size: int = PAGE_SIZE
    queue: Queue | None = None

    @property
    def pages(self) -> int:
        return max(1, ceil(min(self.total, COUNT_CAP) / self.size))

    @property
    def total_label(self) -> str:
        return f"{COUNT_CAP}+" if self.total > COUNT_CAP else str(self.total)


def scope_of(session: Session, user: User, policy: Policy) -> list[ColumnElement[bool]]:
    """The visibility rule, plus the exact ids of the offices in it that can hold tickets.

    The ids change nothing about what is visible (both clauses apply); they
    give the planner a short, exactly counted list where a path prefix leaves
    it guessing, and a guess on a million tickets is a sequential scan.
    Customer offices (schools) never hold tickets, so they are left out.
    """
    clauses = [visible_tickets(user)]
    if user.office.parent_id is not None:
        clauses.append(Ticket.office_id.in_(list(session.scalars(select(Office.id).where(
            Office.path.startswith(user.office.path, autoescape=True), Office.kind != policy.customer_kind)))))
    return clauses


def _scoped(scope: list, user: User, queue: Queue, now: datetime, policy: Policy, filters: Filters):
    return select(Ticket).where(*scope, queue.where(user, now, policy), *filters.where())


def capped_count(session: Session, query, cap: int = COUNT_CAP) -> int:
    """How many rows the query returns, counting no further than cap + 1."""
    inner = query.with_only_columns(Ticket.id).order_by(None).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0


def list_queue(session: Session, user: User, name: str, policy: Policy, *, filters: Filters = Filters(),
               sort: str = "updated", page: int = 1, now: datetime | None = None,
               scope: list | None = None, total: int | None = None) -> Page:
    """One page of a queue (KeyError for an unknown queue name).

    `scope` (from scope_of) and `total` (from count_queues, when no filter
    applies) may be passed in when the caller has them, to spare the queries.
    """
    queue = QUEUES[name]
    now = now or utcnow()
    query = _scoped(scope or scope_of(session, user, policy), user, queue, now, policy, filters)
    if total is None or filters != Filters():
        total = capped_count(session, query)
    page = max(1, min(page, ceil(min(total, COUNT_CAP) / PAGE_SIZE) or 1))
    ordered = query.options(selectinload(Ticket.school)).order_by(*SORTS.get(sort, SORTS["updated"]))
    if sort == "priority":
        ordered = ordered.outerjoin(Priority, Ticket.priority_id == Priority.id)
    tickets = list(session.scalars(ordered.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).unique())
    return Page(tickets, total, page, queue=queue)


def count_queues(session: Session, user: User, policy: Policy, *, now: datetime | None = None,
                 scope: list | None = None) -> dict[str, int]:
    """Each queue's size for this user, capped at COUNT_CAP + 1.

    Below the root, the scope is one office's tickets and those of the offices
    under it (thousands, not millions): one pass with a filter per queue. At
    the root (the whole country) each queue is counted on its own, stopping at
    the cap.
    """
    now = now or utcnow()
    scope = scope or scope_of(session, user, policy)
    if user.office.parent_id is not None:
        counts = session.execute(select(*[
            func.count().filter(q.where(user, now, policy)).label(name) for name, q in QUEUES.items()
        ]).select_from(Ticket).where(*scope)).one()
        return {name: min(value, COUNT_CAP + 1) for name, value in counts._asdict().items()}
    return {name: capped_count(session, _scoped(scope, user, q, now, policy, Filters())) for name, q in QUEUES.items()}


def filter_choices(session: Session, user: User) -> dict[str, list]:
    """What the filter form offers: priorities, active categories, the office's staff."""
    return {
        "priorities": list(session.scalars(select(Priority).order_by(Priority.level))),
        "categories": list(session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.name))),
        "assignees": list(session.scalars(select(User).where(
            User.office_id == user.office_id, User.active.is_(True)).order_by(User.name))),
    }
