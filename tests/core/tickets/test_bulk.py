"""Bulk actions: each ticket changed completely or not at all, refusals reported."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.config.policy import Policy
from core.models import BulkJob, CannedResponse, Direction, JobStatus, Message, Outbox, Priority, Status, Ticket
from core.tickets import bulk, lifecycle
from core.tickets.actions import ActionRefused
from tests.core.tickets.waves_world import build_wave


def test_a_bulk_reply_gives_each_ticket_its_own_message_and_mail_in_its_own_thread(session, settings):
    wave = build_wave(session, settings, 5)
    refs = [t.ref for t in wave.tickets]
    report = bulk.apply(session, settings, Policy(), wave.agent, refs, bulk.BulkAction("reply", text="Sudah pulih."))
    assert report.changed == 5 and report.refused == []
    mails = {m.ticket_id: m for m in session.scalars(select(Outbox).where(Outbox.template == "staff_reply"))}
    for i, ticket in enumerate(wave.tickets):
        assert ticket.status is Status.answered
        assert mails[ticket.id].to_address == f"sdn{i}@sekolah.test"
        assert mails[ticket.id].in_reply_to == f"<wave-{i}@sekolah.test>"


def test_tickets_not_visible_held_elsewhere_or_in_the_wrong_state_are_refused_and_untouched(session, settings):
    wave = build_wave(session, settings, 3)
    closed = wave.tickets[2]
    lifecycle.move(session, closed, Status.closed, wave.agent)
    province = wave.offices["P31"]
    from tests.factories import make_user
    reader = make_user(session, province, email="reader@p31.test")
    refs = [wave.tickets[0].ref, wave.sibling.ref, closed.ref, "NOPE-1"]
    report = bulk.apply(session, settings, Policy(), wave.agent, refs, bulk.BulkAction("reply", text="Halo"))
    assert report.changed == 1
    reasons = dict(report.refused)
    assert reasons[wave.sibling.ref] == bulk.NOT_VISIBLE and reasons["NOPE-1"] == bulk.NOT_VISIBLE
    assert reasons[closed.ref] == bulk.CLOSED
    # The refused reply left no message and no mail on the closed ticket (its savepoint rolled back).
    assert session.scalar(select(func.count()).select_from(Message).where(
        Message.ticket_id == closed.id, Message.direction == Direction.outbound)) == 0
    assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.ticket_id == closed.id)) == 0
    # The province may read the city's tickets but not act on them.
    held = bulk.apply(session, settings, Policy(), reader, [wave.tickets[1].ref], bulk.BulkAction("note", text="x"))
    assert held.refused == [(wave.tickets[1].ref, bulk.HELD_ELSEWHERE)]


def test_status_priority_category_assign_and_note_in_bulk(session, settings):
    wave = build_wave(session, settings, 2)
    refs = [t.ref for t in wave.tickets]
    urgent = Priority(name="Darurat", level=99, first_response_hours=1, resolution_hours=4)
    session.add(urgent)
    session.flush()
    policy = Policy()
    for action in (bulk.BulkAction("status", "on_hold"), bulk.BulkAction("priority", str(urgent.id)),
                   bulk.BulkAction("assign", str(wave.agent.id)), bulk.BulkAction("note", text="Gangguan pusat")):
        assert bulk.apply(session, settings, policy, wave.agent, refs, action).changed == 2
    for ticket in wave.tickets:
        assert ticket.status is Status.on_hold and ticket.priority_id == urgent.id
        assert ticket.assignee_id == wave.agent.id
        assert ticket.messages[-1].direction is Direction.note


def test_a_canned_reply_fills_each_ticket_s_own_placeholders(session, settings):
    wave = build_wave(session, settings, 2)
    canned = CannedResponse(title="Gangguan", body="Tiket {{ ticket.ref }}: layanan sudah pulih.")
    session.add(canned)
    session.flush()
    bulk.apply(session, settings, Policy(), wave.agent, [t.ref for t in wave.tickets],
               bulk.BulkAction("reply", canned_id=canned.id))
    for ticket in wave.tickets:
        assert ticket.messages[-1].text == f"Tiket {ticket.ref}: layanan sudah pulih."


@pytest.mark.parametrize("action, problem", [
    (bulk.BulkAction("explode"), "choose an action"),
    (bulk.BulkAction("reply", text="  "), "a reply needs some text"),
    (bulk.BulkAction("status", "lost"), "choose a status"),
    (bulk.BulkAction("priority", ""), "choose a priority"),
])
def test_an_impossible_action_is_refused_before_any_ticket(action, problem):
    with pytest.raises(ActionRefused, match=problem):
        action.checked()


def test_a_job_runs_in_chunks_and_keeps_its_progress_and_report(database):
    with database.begin() as s:
        wave = build_wave(s, database.settings, 7)
        refs = [t.ref for t in wave.tickets] + [wave.sibling.ref]
        job = bulk.create_job(s, wave.agent, refs + refs[:1], bulk.BulkAction("reply", "answered", "Sudah pulih."))
        job_id, sibling = job.id, wave.sibling.ref
    assert bulk.run_job(database, job_id, chunk=3) is True
    assert bulk.run_job(database, job_id) is False  # done: a second run does nothing
    with database.begin() as s:
        job = s.get(BulkJob, job_id)
        assert (job.status, job.total, job.done, job.refused) == (JobStatus.done, 8, 8, 1)
        assert json.loads(job.report) == [[sibling, bulk.NOT_VISIBLE]]
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "staff_reply")) == 7
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.status == Status.answered)) == 7


def test_a_job_larger_than_the_setting_runs_in_a_worker():
    job = BulkJob(total=5001)
    assert bulk.runs_in_worker(Policy(), job) and not bulk.runs_in_worker(Policy(bulk_inline_max=6000), job)


def test_an_empty_selection_is_refused(session, settings):
    wave = build_wave(session, settings, 1)
    with pytest.raises(ActionRefused, match="select some tickets"):
        bulk.create_job(session, wave.agent, [" "], bulk.BulkAction("note", text="x"))


class StepClock:
    """A clock that reads the given times in turn: a job reads it once as it
    starts, then before and after each chunk."""

    def __init__(self, *times: float):
        self.times = iter(times)

    def __call__(self) -> float:
        return next(self.times)


def test_a_paced_job_rests_after_each_chunk_as_long_as_it_worked_and_shows_progress_meanwhile(database):
    with database.begin() as s:
        wave = build_wave(s, database.settings, 7)
        refs = [t.ref for t in wave.tickets[:4]] + [wave.sibling.ref] + [t.ref for t in wave.tickets[4:]]
        job = bulk.create_job(s, wave.agent, refs, bulk.BulkAction("reply", "answered", "Sudah pulih."))
        job_id, sibling = job.id, wave.sibling.ref
    rests = []

    def sleep(seconds: float) -> None:  # what the job's page would show while the job rests
        with database.read() as s:
            job = s.get(BulkJob, job_id)
            rests.append((seconds, job.status, job.done, job.refused, bulk.refused_of(job)))

    # Three chunks (3, 3, 2 tickets) "taking" 0.4 s, 0.25 s and 0.1 s, well
    # ahead of a second a ticket; no rest after the last.
    pace = bulk.Pace(0.5, seconds_per_ticket=1.0, sleep=sleep,
                     clock=StepClock(0.0, 0.0, 0.4, 0.8, 1.05, 1.3, 1.4))
    assert bulk.run_job(database, job_id, chunk=3, pace=pace) is True
    assert rests == [(pytest.approx(0.4), JobStatus.running, 3, 0, []),
                     (pytest.approx(0.25), JobStatus.running, 6, 1, [(sibling, bulk.NOT_VISIBLE)])]
    with database.read() as s:
        job = s.get(BulkJob, job_id)
        assert (job.status, job.done, job.refused) == (JobStatus.done, 8, 1)
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.status == Status.answered)) == 7


def test_a_rest_is_the_idle_share_of_the_duty_and_bounded():
    # 100 tickets done in their first 0.2 s: well ahead of 8 ms a ticket.
    assert bulk.Pace(0.5).rest_after(0.2, 0.2, 100) == pytest.approx(0.2)
    assert bulk.Pace(0.8).rest_after(0.2, 0.2, 100) == pytest.approx(0.05)  # works four fifths of the time
    # A slow chunk does not stall the job.
    assert bulk.Pace(0.25, seconds_per_ticket=1.0).rest_after(10.0, 10.0, 100) == bulk.MAX_REST_SECONDS
    assert bulk.Pace(1.0).rest_after(0.6, 0.6, 100) == 0.0 == bulk.FULL_SPEED.rest_after(0.6, 0.6, 100)


def test_a_job_behind_its_schedule_rests_only_as_far_as_it_is_ahead():
    pace = bulk.Pace(0.5, seconds_per_ticket=0.008)
    assert pace.rest_after(0.6, 0.7, 100) == pytest.approx(0.1)  # 0.8 s allowed for 100 tickets
    assert pace.rest_after(0.6, 30.0, 3000) == 0.0  # 24 s allowed: late already, no rest


def test_a_job_at_full_speed_never_sleeps(database):
    with database.begin() as s:
        wave = build_wave(s, database.settings, 4)
        job_id = bulk.create_job(s, wave.agent, [t.ref for t in wave.tickets], bulk.BulkAction("note", text="x")).id
    slept = []
    assert bulk.run_job(database, job_id, chunk=1, pace=bulk.Pace(1.0, sleep=slept.append)) is True
    assert slept == []
