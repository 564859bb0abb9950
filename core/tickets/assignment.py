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

Two paths apply the rules: assign_new, one ticket in the caller's transaction
(opening or forwarding a ticket), and fill_office, an office's whole pool in
one transaction (the sweep), dealt in memory exactly as
one assign_new after another would.
"""
from __future__ import annotations

import heapq
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Row, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.util import identity_key

from core import audit
from core.hooks import events as webhook_events
from core.config.policy import Policy
from core.models import Role, Status, Ticket, User, utcnow
from core.storage.fast import select_plain, set_loaded
from core.words import N_

NOT_CLOSED = (Status.open, Status.answered, Status.on_hold, Status.forwarded)
# A ticket someone is already discussing with the customer is not taken away.
MOVABLE = (Status.open, Status.forwarded)
NEVER = datetime.min.replace(tzinfo=timezone.utc)


class AssignmentRefused(ValueError):
    """The person cannot take this ticket (another office, inactive, ticket closed)."""


def cap_of(user: User | Row, policy: Policy) -> int:
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
    """The office's staff as objects, locked against other assigners until this transaction ends."""
    return list(session.scalars(select(User).where(User.office_id == office_id).order_by(User.id)
                                .with_for_update(of=User).execution_options(populate_existing=True)))


def seen_since(policy: Policy, now: datetime) -> datetime | None:
    """Who loaded no page since this moment is no longer available (None: never lapses)."""
    return now - timedelta(minutes=policy.available_idle_minutes) if policy.available_idle_minutes else None


def eligible(staff: list[User] | list[Row], since: datetime | None = None) -> list:
    """Who the automatic rules may give tickets to, among the office's staff:
    available, and (with `since`) seen since then. A person never seen since
    last_seen_at was added counts as seen; logging in stamps it."""
    active = [u for u in staff if u.active]
    agents = [u for u in active if u.role is Role.agent]
    return [u for u in (agents or active) if u.available and (
        since is None or u.last_seen_at is None or u.last_seen_at >= since)]


# The hot path (one run per new ticket) uses these statements, built once, on
# the session's connection: plain rows, not objects. Loading the office's 20
# users with their office chain, and building statements anew, cost more than
# all the SQL.
_users, _tickets = User.__table__, Ticket.__table__
_not_closed = _tickets.c.status.in_(NOT_CLOSED)
LOCK_STAFF = (select(_users.c.id, _users.c.email, _users.c.role, _users.c.active, _users.c.available,
                     _users.c.max_open, _users.c.last_assigned_at, _users.c.last_seen_at)
              .where(_users.c.office_id == bindparam("office_id")).order_by(_users.c.id).with_for_update())
LOADS = (select(_tickets.c.assignee_id, func.count())
         .where(_tickets.c.assignee_id.in_(bindparam("user_ids", expanding=True)), _not_closed)
         .group_by(_tickets.c.assignee_id))
_give = {"assignee_id": bindparam("to_id"), "assigned_at": bindparam("at")}
CLAIM_FREE = (update(_tickets).where(_tickets.c.id.in_(bindparam("ticket_ids", expanding=True)),
                                     _tickets.c.assignee_id.is_(None), _not_closed)
              .values(_give).returning(_tickets.c.id))
CLAIM_FROM = (update(_tickets).where(_tickets.c.id.in_(bindparam("ticket_ids", expanding=True)),
                                     _tickets.c.assignee_id == bindparam("from_id"), _not_closed)
              .values(_give).returning(_tickets.c.id))
STAMP = update(_users).where(_users.c.id.in_(bindparam("user_ids", expanding=True))).values(
    last_assigned_at=bindparam("at"))


class Candidate:
    """An eligible person under their cap, with the load and stamp the rules rank by."""

    __slots__ = ("id", "email", "load", "cap", "last")

    def __init__(self, row: Row, load: int, policy: Policy):
        self.id, self.email, self.load = row.id, row.email, load
        self.cap = cap_of(row, policy)
        self.last = row.last_assigned_at or NEVER

    def key(self) -> tuple:
        return self.load, self.last, self.id

    def full(self) -> bool:
        return bool(self.cap) and self.load >= self.cap


def candidates(conn: Connection, office_id: int, policy: Policy, now: datetime) -> list[Candidate]:
    """Lock the office's staff rows (in id order, so two assigners cannot
    deadlock), then count their loads in a statement of its own, so that on
    PostgreSQL it sees what the assigner we waited for committed. The eligible
    ones under their cap, fairest first. Pending ORM changes must be flushed."""
    people = eligible(select_plain(conn, LOCK_STAFF, {"office_id": office_id}), seen_since(policy, now))
    if not people:
        return []
    load = dict(conn.execute(LOADS, {"user_ids": [p.id for p in people]}).all())
    ranked = [c for c in (Candidate(p, load.get(p.id, 0), policy) for p in people) if not c.full()]
    ranked.sort(key=Candidate.key)
    return ranked


def _claim(session: Session, ticket_id: int, to: User, now: datetime, *, from_id: int | None = None) -> bool:
    """Give the ticket to `to` if it is still held by `from_id` (None: nobody)."""
    session.flush()
    done = _claim_ids(session.connection(), [ticket_id], to.id, now, from_id=from_id) == [ticket_id]
    if done:
        to.last_assigned_at = now
        _mirror(session, ticket_id, to, now)
    return done


def _claim_ids(conn: Connection, ticket_ids: list[int], to_id: int, now: datetime, *,
               from_id: int | None = None) -> list[int]:
    """Give these tickets to `to_id` where still held by `from_id` (None: nobody); the ids given."""
    params = {"ticket_ids": ticket_ids, "to_id": to_id, "at": now}
    if from_id is None:
        return list(conn.execute(CLAIM_FREE, params).scalars())
    return list(conn.execute(CLAIM_FROM, {**params, "from_id": from_id}).scalars())


def _stamp(session: Session, conn: Connection, user_ids: list[int], now: datetime) -> None:
    """Record when these people were last given a ticket (the tie-breaker), also on
    any of them already loaded in the session."""
    conn.execute(STAMP, {"user_ids": user_ids, "at": now})
    for user_id in user_ids:
        user = session.identity_map.get(identity_key(User, user_id))
        if user is not None:
            set_loaded(user, last_assigned_at=now)


def _record_automatic(session: Session, given: list[tuple[int, str]], now: datetime) -> None:
    """One audit event per (ticket id, assignee email), in one statement; and
    the webhook deliveries they cause, as audit.record would queue them."""
    audit.record_all(session, [
        {"ticket_id": ticket_id, "at": now, "actor": audit.SYSTEM, "actor_id": None, "kind": "assign",
         "from_value": None, "to_value": email, "detail": "automatic"} for ticket_id, email in given])
    webhook_events.on_audit_ids(session, "assign", given, audit.SYSTEM, now)


def _mirror(session: Session, ticket_id: int, to: User | None, now: datetime | None) -> None:
    """Show a row's conditional UPDATE on its loaded object, as if read from the database."""
    ticket = session.get(Ticket, ticket_id)
    set_loaded(ticket, assignee_id=to.id if to else None, assignee=to, assigned_at=now)


def _forget_loaded(session: Session, ticket_ids: list[int]) -> None:
    """Tickets assigned by statement: any loaded object reads its assignee afresh."""
    for ticket_id in ticket_ids:
        ticket = session.identity_map.get(identity_key(Ticket, ticket_id))
        if ticket is not None:
            session.expire(ticket, ["assignee_id", "assignee", "assigned_at", "updated_at"])


def assign_id(session: Session, ticket_id: int, office_id: int, policy: Policy, now: datetime) -> Candidate | None:
    """Give the unassigned ticket to the fairest choice of its office, by statements
    only; who got it, or None if nobody can take it (or it was taken meanwhile).
    Pending ORM changes must be flushed first."""
    conn = session.connection()
    for agent in candidates(conn, office_id, policy, now)[:1]:
        if _claim_ids(conn, [ticket_id], agent.id, now):
            _stamp(session, conn, [agent.id], now)
            _record_automatic(session, [(ticket_id, agent.email)], now)
            return agent
    return None


def assign_new(session: Session, ticket: Ticket, policy: Policy, now: datetime | None = None) -> User | None:
    """Give an unassigned ticket to the fairest choice in its office; None if nobody can take it."""
    if ticket.assignee_id is not None or ticket.status is Status.closed:
        return None
    now = now or utcnow()
    session.flush()
    agent = assign_id(session, ticket.id, ticket.office_id, policy, now)
    if agent is None:
        return None
    # The person's office chain is not needed here; it loads if a caller reads it.
    person = session.get(User, agent.id, options=[lazyload(User.office)])
    set_loaded(ticket, assignee_id=person.id, assignee=person, assigned_at=now)
    return person


def assign_to(session: Session, ticket: Ticket, actor: User | str, assignee: User | None,
              now: datetime | None = None, detail: str | None = None) -> None:
    """Assign by hand (None: back to the pool); wins over every automatic rule."""
    if assignee is not None and (not assignee.active or assignee.office_id != ticket.office_id):
        raise AssignmentRefused(N_("only active staff of the holding office can be assigned"))
    if ticket.status is Status.closed:
        raise AssignmentRefused(N_("a closed ticket cannot be assigned"))
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


def set_available(session: Session, user: User, available: bool, now: datetime | None = None,
                  policy: Policy | None = None) -> Ticket | None:
    """Switch whether the agent receives tickets (logging in switches it on).

    Someone coming back gets the oldest unassigned ticket of the office, or
    failing that the newest waiting ticket of the most loaded colleague, if
    that colleague holds more than the average plus Policy.rebalance_margin.
    Returns the ticket they were given.
    """
    now = now or utcnow()
    if available:
        user.last_seen_at = now  # switching on is being here
    if user.available != available:
        user.available = available
        user.available_changed_at = now
        audit.record(session, None, "available", user, from_value=not available, to_value=available, at=now)
        session.flush()
    if not available:
        return None
    return _welcome(session, user, policy or Policy(), now)


def _welcome(session: Session, user: User, policy: Policy, now: datetime) -> Ticket | None:
    people = eligible(lock_staff(session, user.office_id), seen_since(policy, now))
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
    """Hand the office's unassigned tickets out, oldest first, until caps or tickets
    run out; at most `limit` of them, in this one transaction.

    The batch form of assign_new, by the same rules: the staff are locked and
    their loads counted once, each ticket in created order goes to the fairest
    person as if assigned one by one, and the result is written with one UPDATE
    per person and one INSERT of the audit events. On PostgreSQL the pool's rows
    are taken FOR UPDATE SKIP LOCKED, so a ticket another transaction is moving
    is left for the next round instead of waited on.
    """
    session.flush()
    conn = session.connection()
    people = candidates(conn, office_id, policy, now)
    if not people:
        return 0
    plan = deal(_pool(conn, office_id, limit), people, now)
    given: list[tuple[int, str]] = []
    for agent, ticket_ids in plan.items():
        given += [(ticket_id, agent.email) for ticket_id in _claim_ids(conn, ticket_ids, agent.id, now)]
    if given:
        _stamp(session, conn, [agent.id for agent in plan], now)
        _record_automatic(session, sorted(given), now)
        _forget_loaded(session, [ticket_id for ticket_id, _ in given])
    return len(given)


def _pool(conn: Connection, office_id: int, limit: int) -> list[int]:
    """Ids of the office's unassigned tickets, oldest first, locked for this transaction."""
    query = (select(Ticket.id).where(Ticket.office_id == office_id, Ticket.assignee_id.is_(None),
                                     Ticket.status.in_(NOT_CLOSED))
             .order_by(Ticket.created_at, Ticket.id).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=Ticket, skip_locked=True)
    return list(conn.execute(query).scalars())


def deal(ticket_ids: list[int], people: list[Candidate], now: datetime) -> dict[Candidate, list[int]]:
    """Who gets which ticket, as assign_new would decide one ticket after another
    at the same moment: fewest open, then least recently given one, within caps."""
    heap = [(c.key(), c) for c in people if not c.full()]
    heapq.heapify(heap)
    plan: dict[Candidate, list[int]] = {}
    for ticket_id in ticket_ids:
        if not heap:
            break
        _, agent = heapq.heappop(heap)
        plan.setdefault(agent, []).append(ticket_id)
        agent.load += 1
        agent.last = now
        if not agent.full():
            heapq.heappush(heap, (agent.key(), agent))
    return plan
