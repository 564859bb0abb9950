import threading
from datetime import timedelta

from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import func, select

from core.config.policy import Policy, update_policy
from core.directory.staff import mark_seen
from core.models import Event, Outbox, Status, Ticket, User
from core.tickets import lifecycle, routing
from core.tickets.assignment import set_available
from core.tickets.intake import add_customer_message
from core.tickets.sweep import SweepReport, run_sweep
from tests.core.sweep_world import build, open_at, read
from tests.core.tiers import T0, mail


def answer(database, ticket_id, at):
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        lifecycle.move(s, ticket, Status.answered, ticket.assignee, now=at)


def customer_writes(database, ticket_id, at) -> int:
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        return add_customer_message(s, database.settings, Policy(), ticket, mail(), now=at).id


def test_an_answered_ticket_closes_on_day_7_not_day_6_with_a_notice(database):
    build(database)
    ticket_id = open_at(database, T0)
    answer(database, ticket_id, T0 + timedelta(hours=1))
    with freeze_time(T0 + timedelta(days=6, hours=23, minutes=59)):
        assert run_sweep(database).closed == 0
    with freeze_time(T0 + timedelta(days=7, hours=1)):
        assert run_sweep(database).closed == 1
    ticket = read(database, ticket_id)
    assert ticket.status is Status.closed and ticket.closed_at == T0 + timedelta(days=7, hours=1)
    closing = [e for e in ticket.events if e.kind == "status"][-1]
    assert (closing.actor, closing.from_value, closing.to_value) == ("system", "answered", "closed")
    with database.begin() as s:
        notice = s.scalar(select(Outbox).where(Outbox.ticket_id == ticket_id, Outbox.template == "auto_closed"))
        assert notice.to_address == "sman1@sekolah.test" and '"days": 7' in notice.context


def test_the_auto_close_days_are_a_setting(database):
    build(database)
    with database.begin() as s:
        update_policy(s, "admin", auto_close_days=3)
    ticket_id = open_at(database, T0)
    answer(database, ticket_id, T0)
    assert run_sweep(database, T0 + timedelta(days=3)).closed == 1


def test_open_and_on_hold_tickets_are_never_auto_closed(database):
    build(database)
    waiting = open_at(database, T0)
    held = open_at(database, T0)
    with database.begin() as s:
        lifecycle.move(s, s.get(Ticket, held), Status.on_hold, "lead", now=T0)
    assert run_sweep(database, T0 + timedelta(days=30)).closed == 0
    assert read(database, waiting).status is Status.open and read(database, held).status is Status.on_hold


def test_a_second_sweep_as_of_the_same_time_changes_nothing(database):
    build(database)
    for i in range(3):
        answer(database, open_at(database, T0 + timedelta(minutes=i), "mendesak"), T0 + timedelta(hours=1))
    open_at(database, T0, "mendesak")
    first = run_sweep(database, T0 + timedelta(days=8))
    assert (first.closed, first.breached, first.escalated) == (3, 1, 1)
    with database.begin() as s:
        events = s.scalar(select(func.count()).select_from(Event))
    assert run_sweep(database, T0 + timedelta(days=8)) == SweepReport()
    with database.begin() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == events


def test_two_sweeps_at_once_close_each_ticket_once(database):
    build(database)
    ids = [open_at(database, T0 + timedelta(seconds=i)) for i in range(40)]
    for ticket_id in ids:
        answer(database, ticket_id, T0 + timedelta(hours=1))
    reports: list[SweepReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def sweep():
        try:
            start.wait()
            reports.append(run_sweep(database, T0 + timedelta(days=8)))
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.closed for r in reports) == 40
    with database.begin() as s:
        closings = s.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "status", Event.to_value == "closed"))
        notices = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "auto_closed"))
    assert closings == 40 and notices == 40


def test_mail_inside_the_reopen_window_reopens_an_auto_closed_ticket(database):
    build(database)
    ticket_id = open_at(database, T0)
    answer(database, ticket_id, T0)
    run_sweep(database, T0 + timedelta(days=7))
    assert customer_writes(database, ticket_id, T0 + timedelta(days=7 + 14)) == ticket_id
    ticket = read(database, ticket_id)
    assert ticket.status is Status.open and ticket.closed_at is None


def test_mail_after_the_reopen_window_opens_a_ticket_that_continues_it(database):
    build(database)
    ticket_id = open_at(database, T0)
    answer(database, ticket_id, T0)
    run_sweep(database, T0 + timedelta(days=7))
    new_id = customer_writes(database, ticket_id, T0 + timedelta(days=7 + 14, minutes=1))
    assert new_id != ticket_id
    new = read(database, new_id)
    assert new.continues_id == ticket_id and new.status is Status.open and new.assignee is not None
    assert read(database, ticket_id).status is Status.closed


def test_a_ticket_walks_through_every_state_and_the_trail_tells_it(database):
    build(database)
    ticket_id = open_at(database, T0)
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        routing.forward_to_parent(s, database.settings, Policy(), ticket, ticket.assignee, "region",
                                  now=T0 + timedelta(hours=1))
        routing.pick_up(s, ticket, ticket.assignee, now=T0 + timedelta(hours=2))
        lifecycle.move(s, ticket, Status.on_hold, ticket.assignee, now=T0 + timedelta(hours=3))
        lifecycle.move(s, ticket, Status.answered, ticket.assignee, now=T0 + timedelta(hours=4))
    customer_writes(database, ticket_id, T0 + timedelta(days=1))
    answer(database, ticket_id, T0 + timedelta(days=2))
    run_sweep(database, T0 + timedelta(days=9))
    customer_writes(database, ticket_id, T0 + timedelta(days=10))
    statuses = [(e.from_value, e.to_value) for e in read(database, ticket_id).events if e.kind == "status"]
    assert statuses == [("open", "forwarded"), ("forwarded", "open"), ("open", "on_hold"),
                        ("on_hold", "answered"), ("answered", "open"), ("open", "answered"),
                        ("answered", "closed"), ("closed", "open")]


def test_an_absent_agents_tickets_return_to_the_pool_and_go_to_a_colleague(database):
    build(database)
    with database.begin() as s:
        first = s.scalar(select(User).where(User.email == "agent.c3171@staff.test"))
        from tests.factories import make_user
        make_user(s, first.office, email="second@staff.test", available=False)
    ids = [open_at(database, T0 + timedelta(minutes=i)) for i in range(3)]
    with database.begin() as s:
        set_available(s, s.scalar(select(User).where(User.email == "agent.c3171@staff.test")), False, now=T0)
        set_available(s, s.scalar(select(User).where(User.email == "second@staff.test")), True, now=T0)
    assert run_sweep(database, T0 + timedelta(hours=47)).returned == 0
    with database.begin() as s:  # the colleague is at work, loading pages
        mark_seen(s, s.scalar(select(User.id).where(User.email == "second@staff.test")), T0 + timedelta(hours=48))
    report = run_sweep(database, T0 + timedelta(hours=48))
    assert report.returned == 3
    assert {read(database, i).assignee.email for i in ids} == {"second@staff.test"}
    assert run_sweep(database, T0 + timedelta(hours=49)).returned == 0


def test_the_sweep_hands_out_tickets_that_waited_for_someone_to_come_back(database):
    build(database)
    with database.begin() as s:
        s.execute(User.__table__.update().values(available=False))
    ids = [open_at(database, T0 + timedelta(minutes=i)) for i in range(3)]
    with database.begin() as s:
        s.execute(User.__table__.update().where(User.email == "agent.c3171@staff.test").values(available=True))
    assert run_sweep(database, T0 + timedelta(hours=1)).assigned == 3
    assert {read(database, i).assignee.email for i in ids} == {"agent.c3171@staff.test"}


def test_the_command_runs_the_sweep_as_of_the_given_time_and_prints_counts(database):
    build(database)
    answer(database, open_at(database, T0), T0)
    env = {"HELPDESK_DATABASE_URL": database.settings.database_url,
           "HELPDESK_DATA_DIR": str(database.settings.data_dir), "HELPDESK_SECRET_KEY": "test-secret-key"}
    from cli import main
    result = CliRunner().invoke(main, ["sweep", "--now", "2026-03-09T08:00:00+00:00"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("closed 1, warned 0, breached 0, escalated 0, returned 0, assigned 0, "
                                     "unstaffed_told 0, forgotten 0")
    again = CliRunner().invoke(main, ["sweep", "--now", "2026-03-09T08:00:00+00:00"], env=env)
    assert "closed 0" in again.output
    bad = CliRunner().invoke(main, ["sweep", "--now", "tomorrow"], env=env)
    assert bad.exit_code != 0 and "ISO" in bad.output


def test_the_sweep_forgets_rate_counts_older_than_every_window(database):
    from datetime import timedelta

    from core.access import ratelimit
    from core.models import RateEvent, utcnow
    from core.tickets.sweep import run_sweep

    now = utcnow()
    with database.begin() as s:
        ratelimit.hit(s, "auto:a@sekolah.test", now - timedelta(days=2))
        ratelimit.hit(s, "auto:a@sekolah.test", now - timedelta(minutes=5))
    assert run_sweep(database, now).forgotten == 1
    with database.session() as s:
        assert s.query(RateEvent).count() == 1
