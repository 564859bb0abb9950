"""core.tickets.arrival: routing a screened mail into tickets, and recording bounces."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.config.policy import load_policy
from core.mail import outbox
from core.mail.notices import mark_bounced
from core.models import Event, Outbox, OutboxStatus, Outcome, Status, TicketLink
from core.tickets.arrival import route
from core.tickets.intake import Incoming
from tests.factories import load_directory


@pytest.fixture
def policy(session):
    load_directory(session)
    return load_policy(session)


def incoming(sender="sman1@sekolah.test", **changes):
    return Incoming(from_address=sender, subject="Rapor", text="isi", message_id="<c1@sekolah.test>", **changes)


def acks(session):
    return session.scalars(select(Outbox).where(Outbox.template == "ack")).all()


def test_new_mail_from_a_school_opens_a_ticket_at_its_city_and_is_acknowledged(session, settings, policy):
    routed = route(session, settings, policy, incoming())
    assert routed.outcome is Outcome.new_ticket
    assert (routed.ticket.school.code, routed.ticket.office.code) == ("S001", "C3171")
    (ack,) = acks(session)
    assert (ack.to_address, ack.in_reply_to, ack.language, ack.automatic) == (
        "sman1@sekolah.test", "<c1@sekolah.test>", routed.ticket.language, True)


def test_mail_from_an_unknown_sender_goes_to_triage(session, settings, policy):
    assert route(session, settings, policy, incoming("siapa@gmail.test")).ticket.office.code == "MIN"


def test_a_reply_is_appended_without_acknowledgement(session, settings, policy):
    ticket = route(session, settings, policy, incoming()).ticket
    routed = route(session, settings, policy, incoming(), ticket=ticket)
    assert (routed.outcome, routed.ticket) == (Outcome.appended, ticket)
    assert len(acks(session)) == 1 and len(ticket.messages) == 2


def test_an_automatic_reply_is_kept_reopens_nothing_and_is_never_acknowledged(session, settings, policy):
    ticket = route(session, settings, policy, incoming()).ticket
    ticket.status = Status.answered
    routed = route(session, settings, policy, incoming(auto_reply=True), ticket=ticket)
    assert routed.outcome is Outcome.auto_reply and ticket.status is Status.answered
    assert ticket.messages[-1].auto_reply and len(acks(session)) == 1
    with pytest.raises(ValueError):
        route(session, settings, policy, incoming(auto_reply=True))


def test_a_stranger_s_ticket_is_linked_to_the_one_it_named(session, settings, policy):
    named = route(session, settings, policy, incoming()).ticket
    routed = route(session, settings, policy, incoming("orang@asing.test"), linked=named)
    assert routed.outcome is Outcome.new_ticket and routed.ticket is not named
    link = session.scalars(select(TicketLink)).one()
    assert {link.ticket_id, link.other_id} == {named.id, routed.ticket.id}


def test_acknowledgement_can_be_withheld(session, settings, policy):
    route(session, settings, policy, incoming(), acknowledge_new=False)
    assert acks(session) == []


def test_a_bounce_marks_its_outbox_row_and_notes_it_on_the_ticket(session, settings, policy):
    ticket = route(session, settings, policy, incoming()).ticket
    row = outbox.enqueue(session, settings, template="reply", to="sman1@sekolah.test", ticket=ticket)
    session.flush()
    assert mark_bounced(session, row.message_id, "failed 5.1.1") is row
    assert (row.status, row.bounce_reason, row.bounced_at is not None) == (OutboxStatus.bounced, "failed 5.1.1", True)
    event = session.scalars(select(Event).where(Event.kind == "bounce")).one()
    assert event.ticket_id == ticket.id
    assert mark_bounced(session, "<unknown@x>", "failed") is None
    assert mark_bounced(session, None, "failed") is None
