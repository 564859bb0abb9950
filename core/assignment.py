"""Who works a ticket: fair automatic assignment inside the holding office.

A new or forwarded ticket goes to an available, active agent of the office
holding it (supervisors and admins only where the office has no agents):
fewest tickets not closed, ties to the one assigned longest ago. A cap per
agent (User.max_open, else Policy.agent_cap; 0: none) bounds the automatic
rules; people assigning by hand are never capped.

Concurrency: every automatic choice first locks the staff rows of the office
(SELECT ... FOR UPDATE, in id order so two workers cannot deadlock), which
serialises choices per office on PostgreSQL; SQLite's BEGIN IMMEDIATE does the
same for the whole file. The ticket itself is then claimed with a conditional
UPDATE, so a ticket another worker took meanwhile is left alone.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import audit
from core.models import Role, Status, Ticket, User, utcnow
from core.policy import Policy

NOT_CLOSED = (Status.open, Status.answered, Status.on_hold, Status.forwarded)
# A ticket someone is already discussing with the customer is not taken away.
MOVABLE = (Status.open, Status.forwarded)
NEVER = datetime.min.replace(tzinfo=timezone.utc)


class AssignmentRefused(ValueError):
    """The person cannot take this ticket (another office, inactive, ticket closed)."""


def cap_of(user: User, policy: Policy) -> int:
    return user.max_open if user.max_open is not None else policy.agent_cap


def loads(session: Session, user_ids: list[int]) -> dict[int, int]:
    """Tickets not closed held by each of these users."""
    counts = dict.fromkeys(user_ids, 0)
    if user_ids:
        counts.update(session.execute(
            select(Ticket.assignee_id, func.count()).where(
                Ticket.assignee_id.in_(user_ids), Ticket.status.in_(NOT_CLOSED)).group_by(Ticket.assignee_id)).all())
    return counts


def lock_staff(session: Session, office_id: int) -> list[User]:
    """The office's staff, locked against other assigners until this transaction ends."""
    return list(session.scalars(select(User).where(User.office_id == office_id).order_by(User.id)
                                .with_for_update(of=User).execution_options(populate_existing=True)))


def eligible(staff: list[User]) -> list[User]:
    """Who the automatic rules may give tickets to, among the office's staff."""
    active = [u for u in staff if u.active]
    agents = [u for u in active if u.role is Role.agent]
    return [u for u in (agents or active) if u.available]


def _ranked(session: Session, people: list[User], policy: Policy) -> list[tuple[int, User]]:
    load = loads(session, [u.id for u in people])
    ranked = [(load[u.id], u) for u in people if not cap_of(u, policy) or load[u.id] < cap_of(u, policy)]
    ranked.sort(key=lambda lu: (lu[0], lu[1].last_assigned_at or NEVER, lu[1].id))
    return ranked


def _claim(session: Session, ticket_id: int, to: User, now: datetime, *, from_id: int | None = None) -> bool:
    """Give the ticket to `to` if it is still held by `from_id` (None: nobody)."""
    held = Ticket.assignee_id.is_(None) if from_id is None else Ticket.assignee_id == from_id
    done = session.execute(update(Ticket).where(Ticket.id == ticket_id, held, Ticket.status.in_(NOT_CLOSED))
                           .values(assignee_id=to.id, assigned_at=now)
                           .execution_options(synchronize_session=False)).rowcount == 1
    if done:
        to.last_assigned_at = now
        _mirror(session, ticket_id, to, now)
    return done


def _mirror(session: Session, ticket_id: int, to: User | None, now: datetime | None) -> None:
    """Show a row's conditional UPDATE on its loaded object, as if read from the database."""
    ticket = session.get(Ticket, ticket_id)
    set_committed_value(ticket, "assignee_id", to.id if to else None)
    set_committed_value(ticket, "assignee", to)
    set_committed_value(ticket, "assigned_at", now)


def assign_new(session: Session, ticket: Ticket, policy: Policy, now: datetime | None = None) -> User | None:
    """Give an unassigned ticket to the fairest choice in its office; None if nobody can take it."""
    if ticket.assignee_id is not None or ticket.status is Status.closed:
        return None
    now = now or utcnow()
    session.flush()
    for _, agent in _ranked(session, eligible(lock_staff(session, ticket.office_id)), policy)[:1]:
        if _claim(session, ticket.id, agent, now):
            audit.record(session, ticket, "assign", audit.SYSTEM, to_value=agent.email, at=now, detail="automatic")
            return agent
    return None


def assign_to(session: Session, ticket: Ticket, actor: User | str, assignee: User | None,
              now: datetime | None = None, detail: str | None = None) -> None:
    """Assign by hand (None: back to the pool); wins over every automatic rule."""
    if assignee is not None and (not assignee.active or assignee.office_id != ticket.office_id):
        raise AssignmentRefused("only active staff of the holding office can be assigned")
    if ticket.status is Status.closed:
        raise AssignmentRefused("a closed ticket cannot be assigned")
    if assignee is ticket.assignee:
        return
    now = now or utcnow()
    before = ticket.assignee.email if ticket.assignee else None
    ticket.assignee = assignee
    ticket.assigned_at = now if assignee else None
    if assignee is not None:
        assignee.last_assigned_at = now
    ticket.updated_at = now
    audit.record(session, ticket, "assign", actor, from_value=before,
                 to_value=assignee.email if assignee else None, at=now, detail=detail)
    session.flush()


def set_available(session: Session, user: User, available: bool, now: datetime | None = None,
                  policy: Policy | None = None) -> Ticket | None:
    """Switch whether the agent receives tickets (logging in switches it on).

    Someone coming back gets the oldest unassigned ticket of the office, or
    failing that the newest waiting ticket of the most loaded colleague, if
    that colleague holds more than the average plus Policy.rebalance_margin.
    Returns the ticket they were given.
    """
    now = now or utcnow()
    if user.available != available:
        user.available = available
        user.available_changed_at = now
        audit.record(session, None, "available", user, from_value=not available, to_value=available, at=now)
        session.flush()
    if not available:
        return None
    return _welcome(session, user, policy or Policy(), now)


def _welcome(session: Session, user: User, policy: Policy, now: datetime) -> Ticket | None:
    people = eligible(lock_staff(session, user.office_id))
    if user not in people:
        return None
    load = loads(session, [u.id for u in people])
    if cap_of(user, policy) and load[user.id] >= cap_of(user, policy):
        return None
    for ticket_id in session.scalars(select(Ticket.id).where(
            Ticket.office_id == user.office_id, Ticket.assignee_id.is_(None),
            Ticket.status.in_(NOT_CLOSED)).order_by(Ticket.created_at, Ticket.id).limit(5)):
        if _claim(session, ticket_id, user, now):
            ticket = session.get(Ticket, ticket_id)
            audit.record(session, ticket, "assign", audit.SYSTEM, to_value=user.email, at=now,
                         detail="oldest unassigned")
            return ticket
    return _rebalance_to(session, user, people, load, policy, now)


def _rebalance_to(session: Session, user: User, people: list[User], load: dict[int, int], policy: Policy,
                  now: datetime) -> Ticket | None:
    busiest = max((u for u in people if u is not user), key=lambda u: (load[u.id], -u.id), default=None)
    average = sum(load.values()) / len(people)
    if busiest is None or load[busiest.id] <= average + policy.rebalance_margin:
        return None
    ticket_id = session.scalar(select(Ticket.id).where(
        Ticket.assignee_id == busiest.id, Ticket.status.in_(MOVABLE)).order_by(
        Ticket.created_at.desc(), Ticket.id.desc()).limit(1))
    if ticket_id is None or not _claim(session, ticket_id, user, now, from_id=busiest.id):
        return None
    ticket = session.get(Ticket, ticket_id)
    audit.record(session, ticket, "assign", audit.SYSTEM, from_value=busiest.email, to_value=user.email,
                 at=now, detail="rebalanced")
    return ticket


def absent_staff(session: Session, policy: Policy, now: datetime) -> list[int]:
    """Ids of staff who hold tickets but have been away longer than Policy.absence_hours (or left)."""
    since = now - timedelta(hours=policy.absence_hours)
    away = or_(User.active.is_(False), and_(
        User.available.is_(False), func.coalesce(User.available_changed_at, User.created_at) <= since))
    holding = select(Ticket.id).where(Ticket.assignee_id == User.id, Ticket.status.in_(NOT_CLOSED)).exists()
    return list(session.scalars(select(User.id).where(away, holding).order_by(User.id)))


def return_to_pool(session: Session, user_id: int, policy: Policy, now: datetime) -> int:
    """Take an absent person's tickets back and hand each out again by the rules."""
    taken = session.scalars(update(Ticket).where(
        Ticket.assignee_id == user_id, Ticket.status.in_(NOT_CLOSED)).values(
        assignee_id=None, assigned_at=None).returning(Ticket.id).execution_options(synchronize_session=False)).all()
    person = session.get(User, user_id)
    for ticket_id in sorted(taken):
        _mirror(session, ticket_id, None, None)
        ticket = session.get(Ticket, ticket_id)
        audit.record(session, ticket, "assign", audit.SYSTEM, from_value=person.email, at=now, detail="agent absent")
        assign_new(session, ticket, policy, now)
    return len(taken)


def unassigned_offices(session: Session) -> list[int]:
    """Offices holding tickets nobody works on, where someone is available to take them."""
    return list(session.scalars(select(Ticket.office_id).where(
        Ticket.status.in_(NOT_CLOSED), Ticket.assignee_id.is_(None),
        select(User.id).where(User.office_id == Ticket.office_id, User.available.is_(True),
                              User.active.is_(True)).exists()).distinct()))


def fill_office(session: Session, office_id: int, policy: Policy, now: datetime, limit: int = 500) -> int:
    """Hand the office's unassigned tickets out, oldest first, until caps or tickets run out."""
    ticket_ids = list(session.scalars(select(Ticket.id).where(
        Ticket.office_id == office_id, Ticket.assignee_id.is_(None), Ticket.status.in_(NOT_CLOSED))
        .order_by(Ticket.created_at, Ticket.id).limit(limit)))
    given = 0
    for ticket_id in ticket_ids:
        if assign_new(session, session.get(Ticket, ticket_id), policy, now) is None:
            if not _ranked(session, eligible(lock_staff(session, office_id)), policy):
                break
        else:
            given += 1
    return given
