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
