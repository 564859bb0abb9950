"""The SLA clocks stand still while a ticket waits for the customer, is on hold
or closed, and its due times move later by that much when it comes back."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from core.config.policy import Policy, update_policy
from core.models import Priority, Role, Status
from core.config import hours
from core.tickets import actions, sla
from core.tickets.intake import Incoming, add_customer_message
from tests.core.tiers import load_chain, open_from
from tests.factories import make_user

WIB = ZoneInfo("Asia/Jakarta")
FRIDAY_10 = datetime(2026, 3, 6, 10, 0, tzinfo=timezone.utc)
MONDAY = datetime(2026, 3, 9, tzinfo=timezone.utc)


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2026 in Jakarta, in UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=WIB).astimezone(timezone.utc)


@pytest.fixture
def world(session, settings):
    offices = load_chain(session)
    high = Priority(name="tinggi", level=3, first_response_hours=8, resolution_hours=48)
    session.add(high)
    agent = make_user(session, offices["C3171"], Role.agent)
    return session, settings, high, agent


def customer_writes(session, settings, policy, ticket):
    return add_customer_message(session, settings, policy, ticket, Incoming(
        from_address=ticket.requester_email, subject=f"Re: {ticket.subject}", text="Sudah kami coba lagi"))


def test_working_time_between_is_the_inverse_of_adding_working_hours():
    cal = hours.calendar("08:00-16:00", ("mon", "tue", "wed", "thu", "fri"), ("2026-03-19",), "Asia/Jakarta")
    start = wib(6, 11)  # a Friday
    for added in (1, 5, 6, 13, 40):
        end = hours.add_working_hours(start, added, cal)
        assert hours.working_time_between(start, end, cal) == timedelta(hours=added)
    assert hours.working_time_between(wib(6, 17), wib(9, 8), cal) == timedelta(0)  # the weekend
    assert hours.working_time_between(FRIDAY_10, FRIDAY_10 - timedelta(hours=1), None) == timedelta(0)
    assert hours.working_time_between(FRIDAY_10, MONDAY, None) == timedelta(hours=62)


def test_a_weekend_on_hold_moves_the_due_times_by_the_weekend(world):
    session, settings, high, agent = world
    policy = Policy()
    with freeze_time(FRIDAY_10):
        ticket = open_from(session, settings, priority=high, now=FRIDAY_10, policy=policy)
    assert ticket.resolution_due_at == FRIDAY_10 + timedelta(hours=48)  # Sunday 10:00
    with freeze_time(FRIDAY_10 + timedelta(hours=2)):
        actions.change_status(session, settings, policy, ticket, agent, Status.on_hold, reason="menunggu data")
    assert ticket.sla_paused_at == FRIDAY_10 + timedelta(hours=2)
    assert ticket.resolution_due_at == FRIDAY_10 + timedelta(hours=48)  # shown as it was while paused
    with freeze_time(MONDAY + timedelta(hours=12)):  # Monday 12:00: 72 hours later
        customer_writes(session, settings, policy, ticket)
    assert ticket.status is Status.open and ticket.sla_paused_at is None
    assert ticket.sla_paused_seconds == 72 * 3600
    assert ticket.first_response_due_at == FRIDAY_10 + timedelta(hours=8 + 72)
    assert ticket.resolution_due_at == FRIDAY_10 + timedelta(hours=48 + 72)  # Tuesday 10:00


def test_the_clock_is_judged_against_the_moved_due_time(world):
    session, settings, high, agent = world
    policy = Policy()
    ticket = open_from(session, settings, priority=high, now=FRIDAY_10, policy=policy)
    actions.change_status(session, settings, policy, ticket, agent, Status.on_hold, now=FRIDAY_10 + timedelta(hours=2))
    actions.change_status(session, settings, policy, ticket, agent, Status.open, now=MONDAY)
    late = sla.breaching(MONDAY + timedelta(hours=1))
    found = session.scalars(select(type(ticket)).where(late, type(ticket).id == ticket.id)).all()
    assert found == []  # by the old times (first response due Friday 18:00) it would be late
    assert ticket.first_response_due_at == FRIDAY_10 + timedelta(hours=8) + (MONDAY - FRIDAY_10 - timedelta(hours=2))


def test_in_working_hours_only_the_working_time_on_hold_counts(world):
    session, settings, high, agent = world
    policy = update_policy(session, "admin@staff.test", sla_business_hours="08:00-16:00", sla_timezone="Asia/Jakarta")
    opened = wib(6, 9)  # Friday 09:00: 7 working hours on Friday, 1 on Monday
    ticket = open_from(session, settings, priority=high, now=opened, policy=policy)
    assert ticket.first_response_due_at == wib(9, 9)
    with freeze_time(wib(6, 11)):
        actions.change_status(session, settings, policy, ticket, agent, Status.on_hold)
    with freeze_time(wib(9, 10)):  # Monday 10:00: it stood 5 h on Friday and 2 h on Monday
        customer_writes(session, settings, policy, ticket)
    assert ticket.sla_paused_seconds == 7 * 3600
    assert ticket.first_response_due_at == wib(9, 16)  # Monday 09:00 plus 7 working hours


def test_waiting_for_the_customer_then_on_hold_is_one_pause(world):
    session, settings, high, agent = world
    policy = Policy()
    ticket = open_from(session, settings, priority=high, now=FRIDAY_10, policy=policy)
    with freeze_time(FRIDAY_10 + timedelta(hours=1)):
        actions.reply(session, settings, policy, ticket, agent, "Mohon kirim tangkapan layar")
    assert ticket.status is Status.answered
    with freeze_time(FRIDAY_10 + timedelta(hours=3)):
        actions.change_status(session, settings, policy, ticket, agent, Status.on_hold)
    assert ticket.sla_paused_at == FRIDAY_10 + timedelta(hours=1)
    with freeze_time(FRIDAY_10 + timedelta(hours=11)):
        customer_writes(session, settings, policy, ticket)
    assert ticket.sla_paused_seconds == 10 * 3600
    assert ticket.resolution_due_at == FRIDAY_10 + timedelta(hours=58)


def test_a_closed_ticket_reopened_by_mail_resumes_its_clocks(world):
    session, settings, high, agent = world
    policy = Policy()
    ticket = open_from(session, settings, priority=high, now=FRIDAY_10, policy=policy)
    actions.change_status(session, settings, policy, ticket, agent, Status.closed, now=FRIDAY_10 + timedelta(hours=4))
    with freeze_time(FRIDAY_10 + timedelta(hours=28)):
        landed = customer_writes(session, settings, policy, ticket)
    assert landed is ticket and ticket.status is Status.open
    assert ticket.resolution_due_at == FRIDAY_10 + timedelta(hours=48 + 24)


def test_a_new_priority_keeps_the_time_already_paused(world):
    session, settings, high, agent = world
    policy = Policy()
    urgent = Priority(name="mendesak", level=4, first_response_hours=2, resolution_hours=24)
    session.add(urgent)
    ticket = open_from(session, settings, priority=high, now=FRIDAY_10, policy=policy)
    actions.change_status(session, settings, policy, ticket, agent, Status.on_hold, now=FRIDAY_10)
    actions.change_status(session, settings, policy, ticket, agent, Status.open, now=FRIDAY_10 + timedelta(hours=5))
    sla.change_priority(session, ticket, urgent, agent, FRIDAY_10 + timedelta(hours=6), policy)
    assert ticket.resolution_due_at == FRIDAY_10 + timedelta(hours=24 + 5)


def test_a_pause_ended_without_working_time_changes_nothing(world):
    session, settings, high, agent = world
    policy = update_policy(session, "admin@staff.test", sla_business_hours="08:00-16:00", sla_timezone="Asia/Jakarta")
    ticket = open_from(session, settings, priority=high, now=wib(6, 9), policy=policy)
    due = ticket.first_response_due_at
    actions.change_status(session, settings, policy, ticket, agent, Status.on_hold, now=wib(6, 17))
    actions.change_status(session, settings, policy, ticket, agent, Status.open, now=wib(9, 7))
    assert (ticket.sla_paused_seconds, ticket.first_response_due_at) == (0, due)
