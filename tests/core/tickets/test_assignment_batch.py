"""fill_office, the batch form of assign_new: same rules, same audit trail,
same guarantees under concurrency."""
import threading
from datetime import timedelta

from sqlalchemy import func, select

from core.config.policy import Policy
from core.models import Event, Role, Ticket, User
from core.tickets.assignment import assign_new, assign_to, fill_office, loads
from tests.core.tiers import T0, load_chain, open_from
from tests.factories import make_user


def away(session, office, name):
    return make_user(session, office, Role.agent, email=f"{name}@staff.test", available=False)


def pool(session, settings, n, start=T0):
    return [open_from(session, settings, now=start + timedelta(minutes=i)) for i in range(n)]


def test_a_batch_deals_like_one_ticket_after_another(session, settings):
    city = load_chain(session)["C3171"]
    busy, early, late, capped = (away(session, city, n) for n in ("busy", "early", "late", "capped"))
    for ticket in pool(session, settings, 2):
        assign_to(session, ticket, "lead@staff.test", busy, now=T0)
    early.last_assigned_at, late.last_assigned_at, capped.last_assigned_at = (
        T0 - timedelta(hours=2), T0 - timedelta(hours=1), T0 - timedelta(hours=3))
    capped.max_open = 1
    waiting = pool(session, settings, 6, start=T0 + timedelta(hours=1))
    for person in (busy, early, late, capped):
        person.available = True
    assert fill_office(session, city.id, Policy(), T0 + timedelta(hours=2)) == 6
    # Fewest open first, ties to the longest waiting: capped (then full), early,
    # late, early, late, and busy joins once the others reach its 2.
    assert [t.assignee for t in waiting] == [capped, early, late, early, late, busy]
    assert loads(session, [busy.id, early.id, late.id, capped.id]) == {
        busy.id: 3, early.id: 2, late.id: 2, capped.id: 1}
    assert busy.last_assigned_at == T0 + timedelta(hours=2)


def test_a_batch_writes_one_automatic_assign_event_per_ticket(session, settings):
    city = load_chain(session)["C3171"]
    a = away(session, city, "a")
    waiting = pool(session, settings, 3)
    a.available = True
    assert fill_office(session, city.id, Policy(), T0 + timedelta(hours=1)) == 3
    events = session.scalars(select(Event).where(Event.kind == "assign").order_by(Event.ticket_id)).all()
    assert [(e.ticket_id, e.actor, e.to_value, e.detail, e.at) for e in events] == [
        (t.id, "system", a.email, "automatic", T0 + timedelta(hours=1)) for t in waiting]


def test_a_batch_with_nobody_available_gives_nothing_and_writes_nothing(session, settings):
    city = load_chain(session)["C3171"]
    away(session, city, "a")
    pool(session, settings, 2)
    assert fill_office(session, city.id, Policy(), T0) == 0
    assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "assign")) == 0


def test_the_batch_limit_leaves_the_newest_for_the_next_round(session, settings):
    city = load_chain(session)["C3171"]
    a = away(session, city, "a")
    waiting = pool(session, settings, 3)
    a.available = True
    assert fill_office(session, city.id, Policy(), T0, limit=2) == 2
    assert [t.assignee for t in waiting] == [a, a, None]


def test_batches_and_single_assigners_at_once_never_exceed_a_cap_nor_double_assign(database):
    with database.begin() as s:
        offices = load_chain(s)
        for i in range(3):
            make_user(s, offices["C3171"], Role.agent, email=f"a{i}@staff.test", available=False)
        for i in range(40):
            open_from(s, database.settings, now=T0 + timedelta(minutes=i))
        city_id = offices["C3171"].id
        s.execute(User.__table__.update().values(available=True))
    policy = Policy(agent_cap=10)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def batch():
        with database.begin() as s:
            fill_office(s, city_id, policy, T0 + timedelta(hours=1), limit=7)

    def single():
        with database.begin() as s:
            ids = s.scalars(select(Ticket.id).where(Ticket.assignee_id.is_(None)).order_by(Ticket.id.desc())
                            .limit(3)).all()
        for ticket_id in ids:
            with database.begin() as s:
                assign_new(s, s.get(Ticket, ticket_id), policy, T0 + timedelta(hours=1))

    def run(work):
        try:
            start.wait()
            for _ in range(3):
                work()
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in (batch, batch, batch, single, single, single)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.begin() as s:
        per_agent = dict(s.execute(select(Ticket.assignee_id, func.count()).group_by(Ticket.assignee_id)).all())
        events = s.execute(select(Event.ticket_id, func.count()).where(Event.kind == "assign")
                           .group_by(Event.ticket_id)).all()
    assert per_agent.pop(None) == 10
    assert sorted(per_agent.values()) == [10, 10, 10]
    assert len(events) == 30 and {n for _, n in events} == {1}
