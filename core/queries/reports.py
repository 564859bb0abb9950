"""How an office and the offices below it did over a period: the figures a
supervisor or the ministry asks for (tickets received, closed, still open,
time to first answer and to resolution, SLA breaches, what customers said),
and the same tickets counted by priority and by category.

Every figure counts the tickets created in the period and held, now, by an
office the user may read (core.access.visibility), so a City sees its own work and a
Province sees each City below it on its own row. One grouped query does the
counting, whatever the size of the table: it reads only the period's tickets
through the index on created_at.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from core.access.visibility import held_below
from core.models import Category, Office, Priority, Status, Ticket, User
from core.words import N_

MAX_DAYS = 366


class BadPeriod(ValueError):
    """The period asked for cannot be reported (reversed, or longer than a year)."""


@dataclass
class Figures:
    created: int = 0
    closed: int = 0
    still_open: int = 0
    responded: int = 0
    response_seconds: float = 0.0
    resolved: int = 0
    resolution_seconds: float = 0.0
    breached: int = 0
    satisfied: int = 0
    unsatisfied: int = 0

    def add(self, other: "Figures") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def hours_to_first_answer(self) -> float | None:
        return self.response_seconds / self.responded / 3600 if self.responded else None

    @property
    def hours_to_resolution(self) -> float | None:
        return self.resolution_seconds / self.resolved / 3600 if self.resolved else None

    @property
    def breach_percent(self) -> float | None:
        return 100 * self.breached / self.created if self.created else None

    @property
    def satisfied_percent(self) -> float | None:
        answers = self.satisfied + self.unsatisfied
        return 100 * self.satisfied / answers if answers else None


@dataclass
class Row:
    """One line of the report: an office's subtree, or one agent."""
    code: str
    name: str
    figures: Figures = field(default_factory=Figures)
    note: str = ""


@dataclass
class Report:
    start: date
    end: date  # inclusive
    office: Office
    offices: list[Row]   # the office itself, then each office directly below it
    agents: list[Row]    # the office's own staff, by tickets they hold
    total: Figures
    # The same tickets by priority (most urgent first) and by category (the
    # group's name first; "" for none): created, closed, still open, breached.
    by_priority: list[Row] = field(default_factory=list)
    by_category: list[Row] = field(default_factory=list)


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The period asked for, by default the last 30 days up to today."""
    end = end or today
    start = start or end - timedelta(days=29)
    _check(start, end)
    return start, end


def _check(start: date, end: date) -> None:
    if start > end:
        raise BadPeriod(N_("the start of the period is after its end"))
    if (end - start).days + 1 > MAX_DAYS:
        raise BadPeriod(N_("a report covers at most %(days)s days") % {"days": MAX_DAYS})


def office_report(session: Session, user: User, start: date, end: date) -> Report:
    """The report for the user's office and everything below it, both days included."""
    _check(start, end)
    since = datetime.combine(start, time.min, timezone.utc)
    until = datetime.combine(end + timedelta(days=1), time.min, timezone.utc)
    seconds = _seconds_between(session)
    closed = Ticket.status == Status.closed
    rows = session.execute(
        select(
            Ticket.office_id, Ticket.assignee_id, func.count(),
            _count(closed), _count(~closed), func.count(Ticket.first_response_at),
            func.coalesce(func.sum(seconds(Ticket.first_response_at, Ticket.created_at)), 0),
            func.count(Ticket.resolved_at),
            func.coalesce(func.sum(seconds(Ticket.resolved_at, Ticket.created_at)), 0),
            func.count(Ticket.sla_breached_at),
            _count(Ticket.satisfied.is_(True)), _count(Ticket.satisfied.is_(False)),
        )
        .where(Ticket.created_at >= since, Ticket.created_at < until, held_below(user))
        .group_by(Ticket.office_id, Ticket.assignee_id)
    ).all()
    office = user.office
    children = list(session.scalars(select(Office).where(Office.parent_id == office.id, Office.kind != "school")
                                    .order_by(Office.code)))
    by_office = {office.id: Row(office.code, office.name, note=N_("held here"))}
    by_office.update((c.id, Row(c.code, c.name)) for c in children)
    child_of = _child_of(session, office, children, {r[0] for r in rows})
    staff = list(session.scalars(select(User).where(User.office_id == office.id).order_by(User.name)))
    by_agent = {u.id: Row(u.email, u.name) for u in staff}
    unassigned = Row("", "", note=N_("unassigned"))
    total = Figures()
    for office_id, assignee_id, *counts in rows:
        figures = _figures(counts)
        total.add(figures)
        target = child_of.get(office_id)
        if target is not None:
            by_office[target].figures.add(figures)
        if office_id == office.id:
            by_agent.get(assignee_id, unassigned).figures.add(figures)
    agents = [row for row in by_agent.values() if row.figures.created] + (
        [unassigned] if unassigned.figures.created else [])
    by_priority, by_category = _breakdowns(session, user, since, until)
    return Report(start, end, office, list(by_office.values()), agents, total, by_priority, by_category)


def _breakdowns(session: Session, user: User, since: datetime, until: datetime) -> tuple[list[Row], list[Row]]:
    """The period's tickets counted by priority and by category, in one grouped query."""
    closed = Ticket.status == Status.closed
    rows = session.execute(
        select(Ticket.priority_id, Ticket.category_id, func.count(), _count(closed), _count(~closed),
               func.count(Ticket.sla_breached_at))
        .where(Ticket.created_at >= since, Ticket.created_at < until, held_below(user))
        .group_by(Ticket.priority_id, Ticket.category_id)).all()
    priorities = {p.id: p for p in session.scalars(select(Priority))}
    names = {c.id: c for c in session.scalars(select(Category))}
    by_priority: dict[int | None, Row] = {}
    by_category: dict[int | None, Row] = {}
    for priority_id, category_id, created, closed_count, still_open, breached in rows:
        figures = Figures(created=created, closed=int(closed_count), still_open=int(still_open), breached=breached)
        level = priorities.get(priority_id)
        by_priority.setdefault(priority_id, Row(level.name if level else "", "")).figures.add(figures)
        filed = names.get(category_id)
        by_category.setdefault(category_id, Row(_category_label(filed, names), "")).figures.add(figures)
    ranked = sorted(by_priority.items(), key=lambda item: -(priorities[item[0]].level if item[0] in priorities
                                                            else -1))
    return [row for _, row in ranked], sorted(by_category.values(), key=lambda row: (row.code == "", row.code))


def _category_label(category: Category | None, every: dict[int, Category]) -> str:
    """"Group / Category / Subcategory" from the categories already read ("" for none)."""
    names: list[str] = []
    while category is not None and len(names) < 8:
        names.append(category.name)
        category = every.get(category.parent_id) if category.parent_id else None
    return " / ".join(reversed(names))


_SECONDS = {"response_seconds", "resolution_seconds"}


def _figures(counts) -> Figures:
    return Figures(**{name: float(value) if name in _SECONDS else int(value)
                      for name, value in zip(Figures.__dataclass_fields__, counts)})


def _count(condition: ColumnElement[bool]):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _seconds_between(session: Session):
    """later - earlier in seconds, in the dialect of the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return lambda later, earlier: func.extract("epoch", later - earlier)
    return lambda later, earlier: (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _child_of(session: Session, office: Office, children: list[Office], office_ids: set[int]) -> dict[int, int]:
    """Which row each holding office counts in: the office itself, or the child whose subtree holds it."""
    paths = dict(session.execute(select(Office.id, Office.path).where(Office.id.in_(office_ids))).all()) \
        if office_ids else {}
    child_paths = [(c.path, c.id) for c in children]
    found = {office.id: office.id}
    for office_id, path in paths.items():
        for prefix, child_id in child_paths:
            if path.startswith(prefix):
                found[office_id] = child_id
                break
    return found


def as_csv_rows(report: Report) -> list[list[str]]:
    """The office rows and the total, for a spreadsheet."""
    header = ["office", "name", "created", "closed", "still_open", "hours_to_first_answer",
              "hours_to_resolution", "sla_breached", "satisfied", "not_satisfied"]
    lines = [header]
    for row in [*report.offices, Row("TOTAL", report.office.name, report.total)]:
        f = row.figures
        lines.append([row.code, row.name, str(f.created), str(f.closed), str(f.still_open),
                      _hours(f.hours_to_first_answer), _hours(f.hours_to_resolution), str(f.breached),
                      str(f.satisfied), str(f.unsatisfied)])
    return lines


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
