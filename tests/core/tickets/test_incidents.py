"""Incidents: attach what the user may act on, one reply to all in their own threads, close together."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.config.policy import Policy
from core.models import Outbox, Status
from core.tickets import actions, bulk, incidents, lifecycle
from core.tickets.actions import ActionRefused
from tests.core.tickets.waves_world import build_wave


@pytest.fixture
def incident(session, settings):
    wave = build_wave(session, settings, 4)
    parent, *others = wave.tickets
    incidents.declare(session, parent, wave.agent)
    return wave, parent, others


def test_only_tickets_the_user_may_act_on_are_attached(session, settings, incident):
    wave, parent, others = incident
    lifecycle.move(session, others[2], Status.closed, wave.agent)
    report = bulk.attach_to_incident(session, settings, Policy(), wave.agent, parent,
                              [others[0].ref, others[1].ref, others[2].ref, wave.sibling.ref, parent.ref])
    assert report.changed == 2
    assert dict(report.refused) == {others[2].ref: "the ticket is closed", wave.sibling.ref: bulk.NOT_VISIBLE,
                                    parent.ref: "an incident cannot be attached to an incident"}
    assert wave.sibling.incident_id is None
    assert [ref for ref, _, _ in incidents.attached(session, parent)] == [others[0].ref, others[1].ref]


def test_a_search_offers_only_the_office_s_own_open_tickets(session, settings, incident):
    wave, parent, others = incident
    found = incidents.search(session, wave.agent, parent, "dapodik SINKRON")
    assert found == [t.ref for t in others]  # not the parent, not the sibling city's
    assert incidents.search(session, wave.agent, parent, "sekolah 2:") == [others[1].ref]
    with pytest.raises(ActionRefused):
        incidents.search(session, wave.agent, parent, "  ")


def test_one_reply_on_the_parent_reaches_each_attached_requester_in_their_own_thread(session, settings, incident):
    wave, parent, others = incident
    bulk.attach_to_incident(session, settings, Policy(), wave.agent, parent, [t.ref for t in others])
    message, job = bulk.reply_to_incident(session, settings, Policy(), parent, wave.agent, "Server pusat sudah pulih.",
                                   status=Status.answered)
    assert job.total == 3 and parent.status is Status.answered
    report = bulk.apply(session, settings, Policy(), wave.agent, [t.ref for t in others],
                        bulk.BulkAction(**json.loads(job.params)))
    assert report.changed == 3
    mails = {m.to_address: m for m in session.scalars(select(Outbox).where(Outbox.template == "staff_reply"))}
    for i, ticket in enumerate(wave.tickets):
        assert mails[f"sdn{i}@sekolah.test"].in_reply_to == f"<wave-{i}@sekolah.test>"
        assert ticket.status is Status.answered


def test_attached_tickets_close_when_the_parent_closes(session, settings, incident):
    wave, parent, others = incident
    bulk.attach_to_incident(session, settings, Policy(), wave.agent, parent, [others[0].ref, others[1].ref])
    actions.change_status(session, settings, Policy(), parent, wave.agent, Status.closed)
    assert others[0].status is Status.closed and others[1].status is Status.closed
    assert others[2].status is Status.open


def test_a_ticket_in_an_incident_cannot_become_one_and_another_incident_cannot_take_it(session, settings, incident):
    wave, parent, others = incident
    bulk.attach_to_incident(session, settings, Policy(), wave.agent, parent, [others[0].ref])
    with pytest.raises(ActionRefused):
        incidents.declare(session, others[0], wave.agent)
    incidents.declare(session, others[1], wave.agent)
    report = bulk.attach_to_incident(session, settings, Policy(), wave.agent, others[1], [others[0].ref])
    assert report.refused == [(others[0].ref, "the ticket is attached to another incident")]
    incidents.detach(session, wave.agent, parent, others[0].ref)
    assert others[0].incident_id is None


def test_an_answered_incident_and_its_tickets_auto_close_in_one_sweep(database):
    from datetime import timedelta

    from core.models import Ticket, utcnow
    from core.tickets.sweep import run_sweep
    answered_at = utcnow() - timedelta(days=8)
    with database.begin() as s:
        wave = build_wave(s, database.settings, 3)
        parent, *others = wave.tickets
        incidents.declare(s, parent, wave.agent)
        bulk.attach_to_incident(s, database.settings, Policy(), wave.agent, parent, [t.ref for t in others])
        for ticket in wave.tickets:
            lifecycle.move(s, ticket, Status.answered, wave.agent, now=answered_at)
        ids = [t.id for t in wave.tickets]
    run_sweep(database)  # the parent closes first and takes its tickets with it, in the same batch
    with database.session() as s:
        assert set(s.scalars(select(Ticket.status).where(Ticket.id.in_(ids)))) == {Status.closed}
