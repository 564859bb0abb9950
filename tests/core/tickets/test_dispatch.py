"""Dispatch down the subtree, and the read access an office keeps to the tickets it hands on."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.access.visibility import can_act, can_read, visible_tickets
from core.config.policy import Policy
from core.models import Event, Handoff, Role, Status, Ticket
from core.queries.queues import count_queues, list_queue, scope_of
from core.tickets.routing import RouteRefused, dispatch, dispatch_targets, forward_to_parent, went_to
from tests.core.tiers import T0, load_chain, open_from
from tests.factories import make_user

POLICY = Policy()


@pytest.fixture
def chain(session, settings):
    offices = load_chain(session)
    staff = {code: make_user(session, offices[code], Role.agent)
             for code in ("C3171", "C3172", "R31A", "P31", "P33", "C3374")}
    return offices, staff


def readable(session, user) -> set[str]:
    """What the one query rule lets the user read, asked of the database."""
    return set(session.scalars(select(Ticket.ref).where(visible_tickets(user))))


def at_province(session, settings, staff) -> Ticket:
    """A Jakarta Selatan school's ticket, forwarded up City -> Region -> Province."""
    ticket = open_from(session, settings)
    forward_to_parent(session, settings, POLICY, ticket, staff["C3171"], "needs the region", now=T0)
    forward_to_parent(session, settings, POLICY, ticket, staff["R31A"], "province decides", now=T0)
    return ticket


def test_a_province_dispatches_to_one_of_its_cities_and_still_reads_it(session, settings, chain):
    offices, staff = chain
    ticket = at_province(session, settings, staff)
    dispatch(session, settings, POLICY, ticket, staff["P31"], offices["C3172"], "the school moved to Timur", now=T0)
    assert (ticket.office.code, ticket.status, ticket.assignee) == ("C3172", Status.open, staff["C3172"])
    event = session.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "dispatch")).one()
    assert (event.actor, event.from_value, event.to_value, event.detail) == (
        staff["P31"].email, "P31", "C3172", "the school moved to Timur")
    assert can_act(staff["C3172"], ticket) and not can_act(staff["P31"], ticket)
    # The City and the Region that forwarded it up read it still, and see where it went.
    for code in ("P31", "C3171", "R31A"):
        assert ticket.ref in readable(session, staff[code]) and can_read(staff[code], ticket), code
    assert went_to(session, ticket, offices["C3171"]).to_value == "R31A"
    assert went_to(session, ticket, offices["P31"]).to_value == "C3172"
    # An office that never held it sees nothing.
    assert ticket.ref not in readable(session, staff["P33"]) and not can_read(staff["P33"], ticket)
    assert ticket.ref not in readable(session, staff["C3374"]) and not can_read(staff["C3374"], ticket)


def test_the_queues_list_handed_on_tickets_apart_from_those_held_below(session, settings, chain):
    offices, staff = chain
    ticket = at_province(session, settings, staff)
    city = staff["C3171"]
    scope = scope_of(session, city, POLICY)
    assert [row.ref for row in list_queue(session, city, "sent_on", POLICY, scope=scope).tickets] == [ticket.ref]
    assert list_queue(session, city, "below", POLICY, scope=scope).tickets == []
    counts = count_queues(session, city, POLICY, scope=scope)
    assert (counts["sent_on"], counts["below"], counts["open"]) == (1, 0, 0)
    sibling = staff["C3172"]
    assert count_queues(session, sibling, POLICY)["sent_on"] == 0


def test_one_handoff_row_per_office_however_often_it_hands_the_ticket_on(session, settings, chain):
    offices, staff = chain
    ticket = at_province(session, settings, staff)
    dispatch(session, settings, POLICY, ticket, staff["P31"], offices["C3171"], "yours after all", now=T0)
    forward_to_parent(session, settings, POLICY, ticket, staff["C3171"], "no, the region's", now=T0)
    rows = session.execute(select(Handoff.office_id).where(Handoff.ticket_id == ticket.id)).scalars().all()
    assert sorted(rows) == sorted([offices["C3171"].id, offices["R31A"].id, offices["P31"].id])


@pytest.mark.parametrize("target, reason, refusal", [
    ("P33", "wrong province", "only to offices below it"),   # a sibling's subtree
    ("C3374", "wrong province", "only to offices below it"),
    ("MIN", "up", "only to offices below it"),               # up is forward's, one tier at a time
    ("S001", "the school itself", "does not take tickets"),
    ("P31", "here", "already there"),
    ("C3172", "   ", "why"),
    (None, "somewhere", "choose the office"),
])
def test_dispatch_is_refused_outside_the_subtree_and_without_a_reason(session, settings, chain, target, reason,
                                                                      refusal):
    offices, staff = chain
    ticket = at_province(session, settings, staff)
    with pytest.raises(RouteRefused, match=refusal):
        dispatch(session, settings, POLICY, ticket, staff["P31"], offices.get(target), reason, now=T0)
    assert ticket.office.code == "P31"


def test_only_the_holding_office_dispatches(session, settings, chain):
    offices, staff = chain
    ticket = at_province(session, settings, staff)
    with pytest.raises(RouteRefused, match="holding"):
        dispatch(session, settings, POLICY, ticket, staff["C3171"], offices["C3172"], "grabbing it", now=T0)


def test_the_triage_office_dispatches_anywhere(session, settings, chain):
    offices, staff = chain
    policy = Policy(triage_office="P33")
    ticket = open_from(session, settings, "guru.budi@gmail.test", policy=policy)
    assert ticket.office.code == "P33"
    dispatch(session, settings, policy, ticket, staff["P33"], offices["C3171"], "a Jakarta teacher", now=T0)
    assert ticket.office.code == "C3171"
    assert ticket.ref in readable(session, staff["P33"])
    # Any other office dispatches within its subtree only.
    targets = {o.code for o in dispatch_targets(session, POLICY, offices["P31"])}
    assert targets == {"R31A", "C3171", "C3172"}
    assert {"C3171", "C3374", "P31", "MIN"} <= {o.code for o in dispatch_targets(session, policy, offices["P33"])}
    assert not any(o.kind == "school" for o in dispatch_targets(session, policy, offices["P33"]))
