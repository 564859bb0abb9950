"""Finding a message's ticket, and keeping strangers out of it."""
from __future__ import annotations

import pytest

from core.config.policy import load_policy
from core.mail.msgids import make_message_id
from core.models import Direction, Message, Ticket
from core.tickets.intake import Incoming, open_ticket
from mailin.inbound import InboundMail
from mailin.threads import find_ticket, may_write, thread
from tests.factories import load_directory


@pytest.fixture
def ticket(session, settings) -> Ticket:
    offices = load_directory(session)
    return open_ticket(session, settings, load_policy(session), Incoming(
        from_address="guru@gmail.test", subject="Rapor", text="x", message_id="<first@gmail.test>"),
        school=offices["S001"])


def inbound(sender="guru@gmail.test", subject="Re: Rapor", in_reply_to=None, references=()):
    return InboundMail(from_address=sender, from_name=None, subject=subject, in_reply_to=in_reply_to,
                       references=tuple(references))


@pytest.mark.parametrize("subject", ["Re: [{ref}] Rapor", "AW: Fwd: [ {low} ] x", "Balas: tentang [{ref}]"])
def test_the_tag_anywhere_in_the_subject_finds_the_ticket(session, settings, ticket, subject):
    mail = inbound(subject=subject.format(ref=ticket.ref, low=ticket.ref.lower()))
    assert find_ticket(session, settings, mail) is ticket


def test_our_message_id_in_references_finds_the_ticket(session, settings, ticket):
    ours = make_message_id(ticket.ref, settings.secret_key, settings.domain)
    assert find_ticket(session, settings, inbound(references=["<other@x>", ours])) is ticket


def test_a_message_id_of_ours_for_another_domain_is_not_trusted(session, settings, ticket):
    forged = make_message_id(ticket.ref, settings.secret_key, "evil.test")
    assert find_ticket(session, settings, inbound(in_reply_to=forged)) is None


def test_the_senders_own_earlier_message_id_finds_the_ticket(session, settings, ticket):
    assert find_ticket(session, settings, inbound(in_reply_to="<first@gmail.test>")) is ticket
    assert find_ticket(session, settings, inbound("x@y.test", in_reply_to="<first@gmail.test>")) is None


def test_a_tag_for_no_ticket_falls_back_to_the_headers(session, settings, ticket):
    mail = inbound(subject="Re: [HD-ZZZZZZ] x", in_reply_to="<first@gmail.test>")
    assert find_ticket(session, settings, mail) is ticket


def test_mail_for_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(session, settings, ticket):
    target = open_ticket(session, settings, load_policy(session), Incoming(
        from_address="guru@gmail.test", subject="Rapor juga", text="y"))
    ticket.merged_into_id = target.id
    session.flush()
    assert find_ticket(session, settings, inbound(subject=f"Re: [{ticket.ref}]")) is target


def test_requester_earlier_writers_and_the_school_may_write_and_nobody_else(session, ticket):
    assert may_write(session, ticket, "GURU@gmail.test")
    assert may_write(session, ticket, "sman1@sekolah.test")
    assert not may_write(session, ticket, "kepsek@sekolah.test")
    session.add(Message(ticket=ticket, direction=Direction.inbound, from_address="kepsek@sekolah.test"))
    session.flush()
    assert may_write(session, ticket, "kepsek@sekolah.test")


def test_staff_replies_do_not_make_their_author_a_customer_writer(session, ticket):
    session.add(Message(ticket=ticket, direction=Direction.outbound, from_address="agent@staff.test"))
    session.flush()
    assert not may_write(session, ticket, "agent@staff.test")


def test_a_stranger_s_reference_links_instead_of_joining(session, settings, ticket):
    found = thread(session, settings, inbound("orang@asing.test", subject=f"[{ticket.ref}]"))
    assert (found.ticket, found.linked) == (None, ticket)
    assert found.reason == f"sender orang@asing.test is not on {ticket.ref}: opened a new ticket"
