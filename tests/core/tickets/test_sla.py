from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from core.models import Priority, Status, Ticket
from core.tickets import sla
from core.tickets.intake import customer_office, open_ticket
from core.tickets.sweep import run_sweep
from tests.core.sweep_world import build, open_at, read
from tests.core.tiers import T0, load_chain, mail, open_from
from core.config.policy import Policy, load_policy, update_policy


def test_due_times_count_from_creation_in_hours_of_the_priority():
    urgent = Priority(name="mendesak", level=4, first_response_hours=2, resolution_hours=24)
    assert sla.due_times(urgent, T0) == (T0 + timedelta(hours=2), T0 + timedelta(hours=24))
    assert sla.due_times(Priority(name="x", level=0), T0) == (None, None)
    assert sla.due_times(None, T0) == (None, None)


def test_a_new_ticket_carries_the_due_times_of_its_priority(session, settings):
    load_chain(session)
    high = Priority(name="tinggi", level=3, first_response_hours=8, resolution_hours=48)
    session.add(high)
    ticket = open_from(session, settings, priority=high)
    assert ticket.first_response_due_at == T0 + timedelta(hours=8)
    assert ticket.resolution_due_at == T0 + timedelta(hours=48)


def test_the_first_response_is_stamped_once(session, settings):
    load_chain(session)
    ticket = open_from(session, settings)
    assert sla.mark_first_response(ticket, T0 + timedelta(hours=1))
    assert not sla.mark_first_response(ticket, T0 + timedelta(hours=2))
    assert ticket.first_response_at == T0 + timedelta(hours=1)


def test_changing_priority_moves_the_due_times_and_is_audited(session, settings):
    load_chain(session)
    low = Priority(name="rendah", level=1, first_response_hours=72, resolution_hours=240)
    urgent = Priority(name="mendesak", level=4, first_response_hours=2, resolution_hours=24)
    session.add_all([low, urgent])
    ticket = open_from(session, settings, priority=low)
    sla.change_priority(session, ticket, urgent, "lead@staff.test", T0 + timedelta(hours=1))
    assert ticket.first_response_due_at == T0 + timedelta(hours=2)
    assert [(e.from_value, e.to_value) for e in ticket.events if e.kind == "priority"] == [("rendah", "mendesak")]


def test_a_breach_is_flagged_at_the_minute_it_happens_not_before(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")  # 8 h to first response
    with freeze_time(T0 + timedelta(hours=7, minutes=59)):
        assert run_sweep(database).breached == 0
    with freeze_time(T0 + timedelta(hours=8)):
        assert run_sweep(database).breached == 1
    ticket = read(database, ticket_id)
    assert ticket.sla_breached_at == T0 + timedelta(hours=8)
    assert [(e.kind, e.to_value) for e in ticket.events if e.kind == "sla_breach"] == [
        ("sla_breach", "first response")]


def test_a_warning_comes_the_set_hours_before_the_breach_and_only_once(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")
    assert run_sweep(database, T0 + timedelta(hours=5, minutes=59)).warned == 0
    assert run_sweep(database, T0 + timedelta(hours=6)).warned == 1
    assert run_sweep(database, T0 + timedelta(hours=7)).warned == 0
    assert read(database, ticket_id).sla_warned_at == T0 + timedelta(hours=6)


def test_a_late_sweep_flags_the_breach_without_a_warning_first(database):
    build(database)
    open_at(database, T0, "tinggi")
    report = run_sweep(database, T0 + timedelta(hours=9))
    assert (report.breached, report.warned) == (1, 0)


def test_a_ticket_answered_in_time_is_never_flagged(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        sla.mark_first_response(ticket, T0 + timedelta(hours=1))
    assert run_sweep(database, T0 + timedelta(hours=9)).breached == 0
    with database.begin() as s:  # the resolution clock still runs while staff hold it
        assert s.get(Ticket, ticket_id).resolution_due_at == T0 + timedelta(hours=48)
    assert run_sweep(database, T0 + timedelta(hours=48)).breached == 1


def test_a_ticket_waiting_for_the_customer_is_not_flagged(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")
    with database.begin() as s:
        s.get(Ticket, ticket_id).status = Status.answered
    assert run_sweep(database, T0 + timedelta(hours=9)).breached == 0


def test_a_breach_of_an_escalating_priority_goes_one_tier_up(database):
    build(database)
    ticket_id = open_at(database, T0, "mendesak")  # 2 h, escalates on breach
    report = run_sweep(database, T0 + timedelta(hours=2))
    assert (report.breached, report.escalated) == (1, 1)
    ticket = read(database, ticket_id)
    assert (ticket.office.code, ticket.status) == ("R31A", Status.forwarded)
    assert ticket.assignee.email == "agent.r31a@staff.test"
    forward = [e for e in ticket.events if e.kind == "forward"]
    assert [(e.actor, e.from_value, e.to_value) for e in forward] == [("system", "C3171", "R31A")]
    assert run_sweep(database, T0 + timedelta(hours=3)).escalated == 0  # once, not every sweep


def test_a_breach_of_a_non_escalating_priority_stays_put(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")
    assert run_sweep(database, T0 + timedelta(hours=8)).escalated == 0
    assert read(database, ticket_id).office.code == "C3171"


def test_open_ticket_with_a_category_of_a_default_office_routes_only_unknown_senders(session, settings):
    offices = load_chain(session)
    from core.models import Category
    dapodik = Category(name="Dapodik", default_office=offices["P32"])
    sync = Category(name="Sinkronisasi")
    session.add_all([dapodik, sync])
    session.flush()
    sync.parent_id = dapodik.id
    stranger = open_ticket(session, settings, Policy(), mail("someone@gmail.test"), category=sync, now=T0)
    school = open_from(session, settings, category=sync)
    assert stranger.office.code == "P32"
    assert school.office.code == "C3171"  # a school's ticket never skips its city
    assert session.scalar(select(Ticket.category_id).where(Ticket.id == school.id)) == sync.id


def open_in_working_hours(database, at) -> int:
    with database.begin() as s:
        update_policy(s, "admin@staff.test", sla_business_hours="08:00-16:00", sla_timezone="Asia/Jakarta")
    with database.begin() as s:
        policy = load_policy(s)
        level = s.scalar(select(Priority).where(Priority.name == "tinggi"))
        sender = "sman1@sekolah.test"
        return open_ticket(s, database.settings, policy, mail(sender), school=customer_office(s, sender, policy),
                           priority=level, now=at).id


def test_with_working_hours_set_the_clock_stops_overnight_and_the_breach_comes_next_afternoon(database):
    build(database)
    ticket_id = open_in_working_hours(database, T0)  # Monday 15:00 in Jakarta; 8 working hours
    assert read(database, ticket_id).first_response_due_at == T0 + timedelta(hours=24)
    assert run_sweep(database, T0 + timedelta(hours=8)).breached == 0
    assert run_sweep(database, T0 + timedelta(hours=23, minutes=59)).breached == 0
    assert run_sweep(database, T0 + timedelta(hours=24)).breached == 1


def test_changing_priority_under_working_hours_counts_working_hours(session, settings):
    load_chain(session)
    policy = update_policy(session, "admin@staff.test", sla_business_hours="08:00-16:00")
    low = Priority(name="rendah", level=1, first_response_hours=72, resolution_hours=240)
    urgent = Priority(name="mendesak", level=4, first_response_hours=2, resolution_hours=24)
    session.add_all([low, urgent])
    ticket = open_from(session, settings, priority=low, policy=policy)
    sla.change_priority(session, ticket, urgent, "lead@staff.test", T0 + timedelta(hours=1), policy)
    assert ticket.first_response_due_at == T0 + timedelta(hours=18)  # 1 h on Monday, 1 h from Tuesday 08:00


def test_with_working_hours_the_warning_counts_working_hours_back_over_the_night(database):
    build(database)
    # Monday 09:00 in Jakarta, 8 working hours: 7 on Monday, 1 on Tuesday, so due Tuesday 09:00.
    ticket_id = open_in_working_hours(database, T0 - timedelta(hours=6))
    assert read(database, ticket_id).first_response_due_at == T0 + timedelta(hours=18)
    # Two working hours before that is Monday 15:00 (T0), not Tuesday 07:00 by the clock.
    assert run_sweep(database, T0 - timedelta(minutes=1)).warned == 0
    assert run_sweep(database, T0).warned == 1
    assert run_sweep(database, T0 + timedelta(hours=1)).warned == 0  # once
