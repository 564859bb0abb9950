import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.tickets.assignment import AssignmentRefused, absent_staff, assign_new, assign_to, fill_office, loads, \
    return_to_pool, set_available
from core.config.policy import Policy
from core.models import Event, Office, Role, Status, Ticket, User
from core.tickets.intake import open_ticket
from tests.core.tiers import T0, load_chain, mail, open_from
from tests.factories import make_user


@pytest.fixture
def city(session):
    return load_chain(session)["C3171"]


def agents(session, office, n, **kw):
    return [make_user(session, office, Role.agent, email=f"a{i}@staff.test", **kw) for i in range(n)]


def test_new_tickets_go_to_the_least_loaded_then_least_recently_assigned(session, settings, city):
    a, b, c = agents(session, city, 3)
    given = [open_from(session, settings, now=T0 + timedelta(minutes=i)).assignee for i in range(6)]
    assert given == [a, b, c, a, b, c]
    assert loads(session, [a.id, b.id, c.id]) == {a.id: 2, b.id: 2, c.id: 2}


def test_unavailable_inactive_and_other_offices_staff_get_nothing(session, settings, city):
    away = make_user(session, city, Role.agent, email="away@staff.test", available=False)
    gone = make_user(session, city, Role.agent, email="gone@staff.test")
    gone.active = False
    make_user(session, city.parent, Role.agent, email="region@staff.test")
    worker = make_user(session, city, Role.agent, email="worker@staff.test")
    assert {open_from(session, settings).assignee for _ in range(3)} == {worker}
    assert away and gone


def test_supervisors_get_tickets_only_where_the_office_has_no_agent(session, settings, city):
    sup = make_user(session, city, Role.supervisor)
    assert open_from(session, settings).assignee is sup
    agent = make_user(session, city, Role.agent, available=False)
    assert open_from(session, settings).assignee is None  # an agent exists, though away
    assert agent


def test_the_cap_holds_and_extra_tickets_wait_in_the_pool(session, settings, city):
    a, b = agents(session, city, 2)
    a.max_open = 1
    policy = Policy(agent_cap=2)
    given = [open_from(session, settings, policy=policy).assignee for _ in range(4)]
    assert given.count(a) == 1 and given.count(b) == 2 and given.count(None) == 1


def test_closed_tickets_do_not_count_as_load(session, settings, city):
    a, b = agents(session, city, 2)
    first = open_from(session, settings)
    assert open_from(session, settings).assignee is b
    first.status = Status.closed
    session.flush()
    assert open_from(session, settings, now=T0 + timedelta(hours=1)).assignee is a


def test_manual_assignment_wins_and_is_audited_with_both_addresses(session, settings, city):
    a, b = agents(session, city, 2)
    ticket = open_from(session, settings)
    assert ticket.assignee is a
    lead = make_user(session, city, Role.supervisor)
    assign_to(session, ticket, lead, b, now=T0)
    event = session.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "assign")
                            .order_by(Event.id.desc())).first()
    assert (event.actor, event.from_value, event.to_value) == (lead.email, a.email, b.email)
    assert assign_new(session, ticket, Policy()) is None and ticket.assignee is b


def test_manual_assignment_outside_the_holding_office_is_refused(session, settings, city):
    agents(session, city, 1)
    outsider = make_user(session, city.parent, Role.agent)
    with pytest.raises(AssignmentRefused):
        assign_to(session, open_from(session, settings), outsider, outsider)


def test_coming_back_takes_the_oldest_unassigned_ticket(session, settings, city):
    a = make_user(session, city, Role.agent, available=False)
    old = open_from(session, settings, now=T0)
    new = open_from(session, settings, now=T0 + timedelta(hours=1))
    assert old.assignee is None and new.assignee is None
    assert set_available(session, a, True, now=T0 + timedelta(hours=2)) is old
    assert a.available and a.available_changed_at == T0 + timedelta(hours=2)


def test_coming_back_takes_the_newest_ticket_of_an_overloaded_colleague(session, settings, city):
    busy = make_user(session, city, Role.agent, email="busy@staff.test")
    tickets = [open_from(session, settings, now=T0 + timedelta(minutes=i)) for i in range(4)]
    newcomer = make_user(session, city, Role.agent, email="new@staff.test", available=False)
    got = set_available(session, newcomer, True, now=T0 + timedelta(hours=1))
    assert got is tickets[-1] and got.assignee is newcomer
    event = [e for e in got.events if e.kind == "assign"][-1]
    assert (event.from_value, event.to_value, event.detail) == (busy.email, newcomer.email, "rebalanced")


def test_no_rebalance_when_the_colleague_is_within_the_margin(session, settings, city):
    make_user(session, city, Role.agent, email="busy@staff.test")
    open_from(session, settings)
    open_from(session, settings)
    newcomer = make_user(session, city, Role.agent, email="new@staff.test", available=False)
    assert set_available(session, newcomer, True, now=T0) is None  # 2 is not above 1 + 1


def test_going_away_and_staying_away_returns_tickets_to_the_pool(session, settings, city):
    a, b = agents(session, city, 2)
    mine = [open_from(session, settings, now=T0 + timedelta(minutes=i)) for i in range(4)]
    set_available(session, a, False, now=T0)
    policy = Policy(absence_hours=48)
    assert absent_staff(session, policy, T0 + timedelta(hours=47)) == []
    assert absent_staff(session, policy, T0 + timedelta(hours=48)) == [a.id]
    assert return_to_pool(session, a.id, policy, T0 + timedelta(hours=48)) == 2
    assert {t.assignee for t in mine} == {b}
    assert absent_staff(session, policy, T0 + timedelta(hours=49)) == []


def test_filling_an_office_hands_out_the_pool_oldest_first_up_to_the_caps(session, settings, city):
    a = make_user(session, city, Role.agent, available=False, email="a@staff.test")
    pool = [open_from(session, settings, now=T0 + timedelta(minutes=i)) for i in range(5)]
    a.available = True
    a.max_open = 3
    assert fill_office(session, city.id, Policy(), T0 + timedelta(hours=1)) == 3
    assert [t.assignee for t in pool] == [a, a, a, None, None]


def _open_many(database, settings, n_threads: int, per_thread: int):
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def work():
        try:
            start.wait()
            for _ in range(per_thread):
                with database.begin() as s:
                    policy = Policy(agent_cap=5)
                    school = s.scalar(select(Office).where(Office.code == "S001"))
                    open_ticket(s, settings, policy, mail(), school=school)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_assigners_never_exceed_a_cap_nor_double_assign(database):
    with database.begin() as s:
        city = load_chain(s)["C3171"]
        for i in range(3):
            make_user(s, city, Role.agent, email=f"a{i}@staff.test")
    assert _open_many(database, database.settings, n_threads=6, per_thread=5) == []
    with database.begin() as s:
        per_agent = dict(s.execute(select(Ticket.assignee_id, func.count()).group_by(Ticket.assignee_id)).all())
        events = s.scalar(select(func.count()).select_from(Event).where(Event.kind == "assign"))
    assert sum(per_agent.values()) == 30
    assert per_agent.pop(None) == 15
    assert sorted(per_agent.values()) == [5, 5, 5]
    assert events == 15


def test_two_workers_giving_out_one_ticket_give_it_once(database):
    with database.begin() as s:
        city = load_chain(s)["C3171"]
        for i in range(4):
            make_user(s, city, Role.agent, email=f"a{i}@staff.test", available=False)
        ticket_id = open_from(s, database.settings).id
    with database.begin() as s:
        s.execute(User.__table__.update().values(available=True))
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work():
        try:
            start.wait()
            with database.begin() as s:
                assign_new(s, s.get(Ticket, ticket_id), Policy())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.begin() as s:
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "assign")) == 1
        assert s.get(Ticket, ticket_id).assignee_id is not None
