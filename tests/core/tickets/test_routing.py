from datetime import timedelta

import pytest
from sqlalchemy import select

from core import audit
from core.config.policy import Policy
from core.models import Event, Outbox, Role, Status
from core.tickets.routing import RouteRefused, came_from, forward_to_parent, hand_to_admin, pick_up, pull_back, \
    take_ownership
from core.access.visibility import can_act, can_read
from tests.core.tiers import T0, load_chain, open_from
from tests.factories import make_user

POLICY = Policy()


@pytest.fixture
def chain(session, settings):
    offices = load_chain(session)
    staff = {code: make_user(session, offices[code], Role.agent) for code in ("C3171", "R31A", "P31")}
    staff["sup.P31"] = make_user(session, offices["P31"], Role.supervisor)
    staff["MIN"] = make_user(session, offices["MIN"], Role.admin, email="admin1@kemdik.test")
    staff["MIN2"] = make_user(session, offices["MIN"], Role.admin, email="admin2@kemdik.test")
    return offices, staff


def moves(session, ticket):
    return [(e.kind, e.from_value, e.to_value) for e in session.scalars(
        select(Event).where(Event.ticket_id == ticket.id, Event.kind.in_(["forward", "pull_back"]))
        .order_by(Event.id))]


def test_a_ticket_climbs_city_region_province_ministry_one_tier_at_a_time(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings)
    assert ticket.office.code == "C3171" and ticket.assignee is staff["C3171"]
    forward_to_parent(session, settings, POLICY, ticket, staff["C3171"], "needs the region", now=T0)
    assert (ticket.office.code, ticket.status, ticket.assignee) == ("R31A", Status.forwarded, staff["R31A"])
    forward_to_parent(session, settings, POLICY, ticket, staff["R31A"], "province decides", now=T0)
    forward_to_parent(session, settings, POLICY, ticket, staff["P31"], "national policy", now=T0)
    assert ticket.office.code == "MIN" and ticket.status is Status.forwarded
    assert moves(session, ticket) == [("forward", "C3171", "R31A"), ("forward", "R31A", "P31"),
                                      ("forward", "P31", "MIN")]
    # The Province that sent it up reads it still (it can answer the school's call), but no longer acts.
    assert can_act(staff["MIN"], ticket) and can_read(staff["P31"], ticket) and not can_act(staff["P31"], ticket)


def test_forwarding_needs_a_reason(session, settings, chain):
    ticket = open_from(session, settings)
    with pytest.raises(RouteRefused, match="why"):
        forward_to_parent(session, settings, POLICY, ticket, chain[1]["C3171"], "  ")
    assert ticket.office.code == "C3171"


def test_only_the_holding_office_may_forward(session, settings, chain):
    ticket = open_from(session, settings)
    with pytest.raises(RouteRefused, match="holding"):
        forward_to_parent(session, settings, POLICY, ticket, chain[1]["P31"], "grabbing it")


def test_a_closed_ticket_is_not_forwarded(session, settings, chain):
    ticket = open_from(session, settings)
    from core.tickets import lifecycle
    lifecycle.move(session, ticket, Status.closed, audit.SYSTEM)
    with pytest.raises(RouteRefused, match="closed"):
        forward_to_parent(session, settings, POLICY, ticket, chain[1]["C3171"], "late")


def test_at_the_root_forwarding_hands_the_ticket_to_a_fellow_admin(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings, office=offices["MIN"])
    take_ownership(session, ticket, staff["MIN"], now=T0)
    forward_to_parent(session, settings, POLICY, ticket, staff["MIN"], "you know this one", now=T0 + timedelta(minutes=1))
    assert ticket.office.code == "MIN" and ticket.assignee is staff["MIN2"]
    assert ticket.status is Status.forwarded
    kinds = [(e.kind, e.from_value, e.to_value) for e in ticket.events if e.kind in ("assign", "forward")]
    assert ("assign", "admin1@kemdik.test", "admin2@kemdik.test") in kinds
    assert ("forward", "MIN", "MIN") in kinds


def test_handing_over_without_a_fellow_admin_is_refused(session, settings, chain):
    offices, staff = chain
    staff["MIN2"].active = False
    ticket = open_from(session, settings, office=offices["MIN"])
    with pytest.raises(RouteRefused, match="no fellow admin"):
        hand_to_admin(session, settings, POLICY, ticket, staff["MIN"], "help")


def test_the_higher_office_picking_it_up_opens_it(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings)
    forward_to_parent(session, settings, POLICY, ticket, staff["C3171"], "region", now=T0)
    assert not pick_up(session, ticket, staff["C3171"])  # not the holder any more
    assert pick_up(session, ticket, staff["R31A"], now=T0) and ticket.status is Status.open
    assert not pick_up(session, ticket, staff["R31A"])


def test_taking_ownership_of_a_forwarded_ticket_opens_it_and_audits_the_assignment(session, settings, chain):
    offices, staff = chain
    other = make_user(session, offices["R31A"], Role.agent, email="other@staff.test", available=False)
    ticket = open_from(session, settings)
    forward_to_parent(session, settings, POLICY, ticket, staff["C3171"], "region", now=T0)
    take_ownership(session, ticket, other, now=T0)
    assert ticket.assignee is other and ticket.status is Status.open
    last = [e for e in ticket.events if e.kind == "assign"][-1]
    assert (last.from_value, last.to_value, last.actor) == (staff["R31A"].email, other.email, other.email)


def test_a_supervisor_pulls_a_ticket_back_to_the_office_it_came_from(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings)
    forward_to_parent(session, settings, POLICY, ticket, staff["C3171"], "region", now=T0)
    forward_to_parent(session, settings, POLICY, ticket, staff["R31A"], "province", now=T0)
    assert came_from(session, ticket).code == "R31A"
    with pytest.raises(RouteRefused, match="supervisors"):
        pull_back(session, POLICY, ticket, staff["P31"], "yours")
    pull_back(session, POLICY, ticket, staff["sup.P31"], "the region can answer this", now=T0)
    assert (ticket.office.code, ticket.status, ticket.assignee) == ("R31A", Status.open, staff["R31A"])
    assert moves(session, ticket)[-1] == ("pull_back", "P31", "R31A")


def test_a_ticket_that_started_at_the_office_cannot_be_pulled_back(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings, "sman3bdg@sekolah.test")
    sup = make_user(session, offices["C3273"], Role.supervisor)
    with pytest.raises(RouteRefused, match="not forwarded here"):
        pull_back(session, POLICY, ticket, sup, "nowhere to go")


def test_escalation_by_the_system_needs_no_user(session, settings, chain):
    ticket = open_from(session, settings)
    forward_to_parent(session, settings, POLICY, ticket, audit.SYSTEM, "SLA breached", now=T0)
    event = [e for e in ticket.events if e.kind == "forward"][-1]
    assert (event.actor, event.to_value, event.detail) == ("system", "R31A", "SLA breached")


def test_forwarding_tells_the_customer_and_the_receiving_office(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings)
    forward_to_parent(session, settings, POLICY, ticket, staff["C3171"], "region", now=T0)
    sent = {(o.template, o.to_address) for o in session.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id))}
    assert ("forwarded_customer", "sman1@sekolah.test") in sent
    assert ("forwarded_staff", staff["R31A"].email) in sent


def test_handing_over_at_the_root_tells_the_admin(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings, office=offices["MIN"])
    hand_to_admin(session, settings, POLICY, ticket, staff["MIN"], "yours", to=staff["MIN2"], now=T0)
    sent = {(o.template, o.to_address) for o in session.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id))}
    assert ("assigned", "admin2@kemdik.test") in sent
