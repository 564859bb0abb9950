"""The staff queues: named views of the tickets one user may see, with counts,
filters, sorting and pages.

Every query starts from core.access.visibility's scope, so a queue, a count and a
filter can never show a ticket of a sibling office.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from math import ceil
from typing import Callable, NamedTuple

from sqlalchemy import (ARRAY, BindParameter, ColumnElement, Integer, Row, Select, all_, and_, bindparam, func, or_,
                        select, true, union_all)
from sqlalchemy.orm import Session, aliased

from core.access.visibility import handed_off, held_below, visible_tickets
from core.config.policy import Policy
from core.models import Category, Office, Priority, Status, Ticket, User, utcnow
from core.storage.recent import RecentAnswers, remembered
from core.tickets import sla
from core.tickets.requester import category_choices
from core.words import N_

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
    soon = sla.warning_horizon(now, policy)
    late = or_(Ticket.sla_breached_at.is_not(None),
               and_(Ticket.first_response_at.is_(None), Ticket.first_response_due_at <= soon),
               Ticket.resolution_due_at <= soon)
    return and_(_held(user), Ticket.status.in_(OPEN_STATES), late)


QUEUES: dict[str, Queue] = {q.name: q for q in [
    Queue("unassigned", N_("Unassigned in my office"),
          lambda u, n, p: and_(_held(u), Ticket.assignee_id.is_(None), Ticket.status.in_(OPEN_STATES))),
    Queue("mine", N_("Mine"), lambda u, n, p: and_(_held(u), Ticket.assignee_id == u.id,
                                               Ticket.status.in_(OPEN_STATES))),
    Queue("open", N_("Open"), lambda u, n, p: and_(_held(u), Ticket.status == Status.open)),
    Queue("forwarded", N_("Forwarded to us"), lambda u, n, p: and_(_held(u), Ticket.status == Status.forwarded)),
    Queue("on_hold", N_("On hold"), lambda u, n, p: and_(_held(u), Ticket.status == Status.on_hold)),
    Queue("answered", N_("Answered"), lambda u, n, p: and_(_held(u), Ticket.status == Status.answered)),
    Queue("sla", N_("SLA breached or near"), _sla_due),
    Queue("below", N_("Held below my office"), lambda u, n, p: and_(
        Ticket.office_id != u.office_id, held_below(u), Ticket.status.in_(OPEN_STATES)), read_only=True),
    Queue("sent_on", N_("Sent on by my office"), lambda u, n, p: and_(
        Ticket.office_id != u.office_id, handed_off(u), Ticket.status.in_(OPEN_STATES)), read_only=True),
    Queue("closed", N_("Closed"), lambda u, n, p: and_(_held(u), Ticket.status == Status.closed)),
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
            terms.append(Ticket.category_id.in_(_category_and_below(self.category_id)))
        if self.assignee_id is not None:
            terms.append(Ticket.assignee_id.is_(None) if self.assignee_id == 0
                         else Ticket.assignee_id == self.assignee_id)
        if self.school:
            terms.append(Ticket.school_id == select(Office.id).where(
                Office.code == self.school).scalar_subquery())
        if self.created_from:
            terms.append(Ticket.created_at >= utc_midnight(self.created_from))
        if self.created_to:
            terms.append(Ticket.created_at < utc_midnight(self.created_to + timedelta(days=1)))
        return terms


def _category_and_below(category_id: int) -> Select:
    """The category and its children and grandchildren (group -> category ->
    subcategory): filtering by a group finds the tickets filed under any part of it."""
    children = select(Category.id).where(Category.parent_id == category_id)
    return select(Category.id).where(or_(Category.id == category_id, Category.parent_id == category_id,
                                         Category.parent_id.in_(children)))


def utc_midnight(day: date) -> datetime:
    """The start of `day` in UTC, as stored times are: the queues' and the API's date filters agree."""
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


# A list of tickets shows a summary of each, read as plain rows in one query:
# building ORM objects for 50 tickets and their four neighbours cost more than
# the query. Every joined table is an alias, so the visibility sub-query on
# `office` can never be correlated with the outer query's offices.
# The aliases are public: the API's listing (core.queries.listing) joins the same
# tables through SUMMARY_FROM and names its columns from them.
SUMMARY_SCHOOL, SUMMARY_OFFICE = aliased(Office), aliased(Office)
SUMMARY_ASSIGNEE, SUMMARY_PRIORITY, SUMMARY_CATEGORY = aliased(User), aliased(Priority), aliased(Category)
SUMMARY = (Ticket.id, Ticket.ref, Ticket.subject, Ticket.status, Ticket.requester_email, Ticket.updated_at,
           Ticket.created_at,
           Ticket.sla_breached_at, SUMMARY_SCHOOL.name.label("school_name"),
           SUMMARY_OFFICE.code.label("office_code"),
           SUMMARY_OFFICE.timezone.label("office_timezone"),
           SUMMARY_ASSIGNEE.name.label("assignee_name"), SUMMARY_PRIORITY.name.label("priority_name"),
           SUMMARY_CATEGORY.name.label("category_name"))
SUMMARY_FROM = (Ticket.__table__.join(SUMMARY_OFFICE, SUMMARY_OFFICE.id == Ticket.office_id)
                .outerjoin(SUMMARY_SCHOOL, SUMMARY_SCHOOL.id == Ticket.school_id)
                .outerjoin(SUMMARY_ASSIGNEE, SUMMARY_ASSIGNEE.id == Ticket.assignee_id)
                .outerjoin(SUMMARY_PRIORITY, SUMMARY_PRIORITY.id == Ticket.priority_id)
                .outerjoin(SUMMARY_CATEGORY, SUMMARY_CATEGORY.id == Ticket.category_id))

SORTS = {
    "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
    "oldest": (Ticket.updated_at.asc(), Ticket.id.asc()),
    "newest": (Ticket.created_at.desc(), Ticket.id.desc()),
    "due": (Ticket.resolution_due_at.asc().nulls_last(), Ticket.id.asc()),
    "priority": (SUMMARY_PRIORITY.level.desc().nulls_last(), Ticket.updated_at.desc()),
    "by_category": (SUMMARY_CATEGORY.name.asc().nulls_last(), SUMMARY_PRIORITY.level.desc().nulls_last(),
                    Ticket.updated_at.desc()),
}


def summaries(where: list[ColumnElement[bool]]) -> Select:
    """The summary rows (see SUMMARY) of the tickets matching `where`."""
    return select(*SUMMARY).select_from(SUMMARY_FROM).where(*where)


@dataclass
class Page:
    tickets: list[Row]  # SUMMARY rows
    total: int          # capped at COUNT_CAP + 1 ("more than COUNT_CAP")
    number: int
    size: int = PAGE_SIZE
    queue: Queue | None = None

    @property
    def pages(self) -> int:
        return max(1, ceil(min(self.total, COUNT_CAP) / self.size))


def scope_of(session: Session, user: User, policy: Policy, *,
             recent: RecentAnswers | None = None) -> list[ColumnElement[bool]]:
    """The visibility rule, plus the exact ids of the offices in it that can hold tickets.

    The ids change nothing about what is visible (both clauses apply); they
    give the planner a short, exactly counted list where a path prefix leaves
    it guessing, and a guess on a million tickets is a sequential scan.
    The tickets the office handed on are OR'ed in, in the form the planner
    reads through an index beside the office list.
    """
    clauses = [visible_tickets(user)]
    ids = offices_below(session, user, policy, recent=recent)
    if ids is not None:
        clauses.append(or_(Ticket.office_id.in_(ids), handed_off(user, session.get_bind().dialect.name)))
    return clauses


def offices_below(session: Session, user: User, policy: Policy, *,
                  recent: RecentAnswers | None = None) -> list[int] | None:
    """The ids of the user's office and the offices under it that can hold
    tickets; None for the root's users, who see every office.

    Customer offices (schools) never hold tickets, so they are left out. The
    ids may come from `recent`: used beside the visibility rule, a stale list
    can only narrow what is shown.
    """
    if user.office.parent_id is None:
        return None
    path, kind = user.office.path, policy.customer_kind
    return remembered(("offices below", path, kind), lambda: list(session.scalars(select(Office.id).where(
        Office.path.startswith(path, autoescape=True), Office.kind != kind))), recent)


NEWEST = (Ticket.updated_at.desc(), Ticket.id.desc())


# Up to this many keys, newest_keys reads them office by office (a page of
# the API's list); beyond, it merges the offices' sorted branches.
LATERAL_MOST = 250


def newest_keys(user: User, offices: list[int], where: list[ColumnElement[bool]], count: int) -> Select:
    """The ids of the newest `count` tickets matching `where` among those the
    offices hold or the user's office handed on, newest first (PostgreSQL).

    Newest first over many offices is what one index scan cannot give: the
    updated_at index walks every office's tickets, thirty for each of a
    Province's on a million, more with each filter (a Province's open
    tickets: 12,000 rows read for 50). Here each office's newest matches come
    from its own (office_id, ...) index. For a page, one LATERAL over the
    office ids reads `count` rows per office and plans in 0.1 ms; for the
    thousand newest that search reads, PostgreSQL merges one sorted branch
    per office (Merge Append) and reads about `count` rows in all: 0.7-1.5 ms
    against 10-18 ms as a LATERAL, though building and planning the branches
    costs about 1 ms more. The tickets handed on exclude those the offices
    hold, so the branches are disjoint. The caller applies the scope to what
    it reads with these ids.
    """
    held = bindparam("offices", offices, type_=ARRAY(Integer), unique=True)  # one parameter, however many
    handed = (select(Ticket.id, Ticket.updated_at).where(handed_off(user, "postgresql"), Ticket.office_id != all_(held),
                                                         *where).order_by(*NEWEST).limit(count))
    branches = [_each_office(held, where, count)] if count <= LATERAL_MOST else [
        select(Ticket.id, Ticket.updated_at).where(Ticket.office_id == office, *where).order_by(*NEWEST).limit(count)
        for office in offices]
    keys = union_all(*branches, handed).subquery("k")
    return select(keys.c.id).order_by(keys.c.updated_at.desc(), keys.c.id.desc()).limit(count)


def _each_office(held: BindParameter, where: list[ColumnElement[bool]], count: int) -> Select:
    office = func.unnest(held).table_valued("id").render_derived(name="o")
    newest = (select(Ticket.id, Ticket.updated_at).where(Ticket.office_id == office.c.id, *where)
              .order_by(*NEWEST).limit(count).lateral("t"))
    return select(newest.c.id, newest.c.updated_at).select_from(office.join(newest, true()))


def newest_reader(session: Session, user: User, offices: list[int]) -> Callable[[int], list[int]]:
    """newest_keys with no filter, as a function of the count (search reads
    the texts of a scope's newest tickets for common words)."""
    return lambda count: list(session.scalars(newest_keys(user, offices, [], count)))


def _conditions(scope: list, user: User, queue: Queue, now: datetime, policy: Policy,
                filters: Filters) -> list[ColumnElement[bool]]:
    return [*scope, queue.where(user, now, policy), *filters.where()]


def _scoped(scope: list, user: User, queue: Queue, now: datetime, policy: Policy, filters: Filters):
    return select(Ticket).where(*_conditions(scope, user, queue, now, policy, filters))


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
    where = _conditions(scope or scope_of(session, user, policy), user, queue, now, policy, filters)
    if total is None or filters != Filters():
        total = capped_count(session, select(Ticket).where(*where))
    page = max(1, min(page, ceil(min(total, COUNT_CAP) / PAGE_SIZE) or 1))
    ordered = summaries(where).order_by(*SORTS.get(sort, SORTS["updated"]))
    tickets = list(session.execute(ordered.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    return Page(tickets, total, page, queue=queue)


def matching_refs(session: Session, user: User, name: str, policy: Policy, *, filters: Filters = Filters(),
                  limit: int, now: datetime | None = None) -> list[str]:
    """The references of every ticket in a queue under the filters ("all N
    matching this filter"), oldest first, at most `limit` + 1 (so a caller
    can tell "too many"). KeyError for an unknown queue name."""
    where = _conditions(scope_of(session, user, policy), user, QUEUES[name], now or utcnow(), policy, filters)
    return list(session.scalars(select(Ticket.ref).where(*where).order_by(Ticket.id).limit(limit + 1)))


def count_queues(session: Session, user: User, policy: Policy, *, now: datetime | None = None,
                 scope: list | None = None, recent: RecentAnswers | None = None) -> dict[str, int]:
    """Each queue's size for this user, capped at COUNT_CAP + 1 (from `recent` if it has them).

    Below the root, the scope is one office's tickets and those of the offices
    under it (thousands, not millions): one pass with a filter per queue, read
    from the office-status index alone. At the root (the whole country) each
    queue is counted on its own, stopping at the cap.
    """
    key = ("counts", user.id, user.office_id, user.office.path, user.active, policy.customer_kind,
           policy.sla_warning_hours)
    return remembered(key, lambda: _count_queues(session, user, policy, now or utcnow(), scope), recent)


def _count_queues(session: Session, user: User, policy: Policy, now: datetime, scope: list | None) -> dict[str, int]:
    scope = scope or scope_of(session, user, policy)
    if user.office.parent_id is not None:
        counts = session.execute(select(*[
            func.count().filter(q.where(user, now, policy)).label(name) for name, q in QUEUES.items()
        ]).select_from(Ticket).where(*scope)).one()
        return {name: min(value, COUNT_CAP + 1) for name, value in counts._asdict().items()}
    return {name: capped_count(session, _scoped(scope, user, q, now, policy, Filters())) for name, q in QUEUES.items()}


class Choice(NamedTuple):
    id: int
    name: str


def filter_choices(session: Session, user: User, *, recent: RecentAnswers | None = None) -> dict[str, list[Choice]]:
    """What the filter form offers: priorities, active categories, the office's staff.

    Plain (id, name) pairs, not rows: they outlive the session, so they may
    come from `recent`.
    """
    return remembered(("choices", user.office_id), lambda: _filter_choices(session, user), recent)


def _filter_choices(session: Session, user: User) -> dict[str, list[Choice]]:
    def pairs(query) -> list[Choice]:
        return [Choice(*row) for row in session.execute(query)]
    return {
        "priorities": pairs(select(Priority.id, Priority.name).order_by(Priority.level)),
        "categories": [Choice(*pair) for pair in category_choices(session)],
        "assignees": pairs(select(User.id, User.name).where(
            User.office_id == user.office_id, User.active.is_(True)).order_by(User.name)),
    }
