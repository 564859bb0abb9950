from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from core.config.policy import Policy
from core.models import Event, Status
from core.tickets import lifecycle
from core.tickets.intake import Incoming, add_customer_message, customer_office, find_by_token, link_of, open_ticket
from core.tickets.lifecycle import ForbiddenTransition
from tests.factories import load_directory

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def mail(text="Data guru tidak muncul", sender="sman1@sekolah.test", **kw):
    return Incoming(from_address=sender, subject="Data guru", text=text, **kw)


@pytest.fixture
def ticket(session, settings):
    load_directory(session)
    school = customer_office(session, "SMAN1@Sekolah.test", Policy())
    return open_ticket(session, settings, Policy(), mail(), school=school, now=T0)


def test_a_school_ticket_is_held_by_its_city(ticket):
    assert ticket.office.code == "C3171"
    assert ticket.school.code == "S001"
    assert ticket.status is Status.open


def test_every_forbidden_transition_raises_a_named_error(session, ticket):
    for wanted in Status:
        if not lifecycle.can_move(ticket.status, wanted):
            with pytest.raises(ForbiddenTransition):
                lifecycle.move(session, ticket, wanted)
    lifecycle.move(session, ticket, Status.closed)
    with pytest.raises(ForbiddenTransition, match="from Closed to Answered"):
        lifecycle.move(session, ticket, Status.answered)


def test_status_changes_are_audited_with_from_and_to(session, ticket):
    lifecycle.move(session, ticket, Status.answered, "agent@staff.test")
    session.flush()
    event = session.query(Event).filter_by(ticket_id=ticket.id, kind="status").one()
    assert (event.actor, event.from_value, event.to_value) == ("agent@staff.test", "open", "answered")


def test_reply_on_answered_ticket_reopens_it(session, settings, ticket):
    lifecycle.move(session, ticket, Status.answered)
    landed = add_customer_message(session, settings, Policy(), ticket, mail("Masih belum"))
    assert landed is ticket and ticket.status is Status.open


def test_an_auto_reply_is_kept_but_never_reopens(session, settings, ticket):
    lifecycle.move(session, ticket, Status.answered)
    add_customer_message(session, settings, Policy(), ticket, mail("I am away", auto_reply=True))
    assert ticket.status is Status.answered
    assert ticket.messages[-1].auto_reply


def test_mail_after_the_reopen_window_opens_a_linked_ticket(session, settings, ticket):
    lifecycle.move(session, ticket, Status.closed, now=T0)
    inside = add_customer_message(session, settings, Policy(), ticket, mail(), now=T0 + timedelta(days=14))
    assert inside is ticket and ticket.status is Status.open
    lifecycle.move(session, ticket, Status.closed, now=T0 + timedelta(days=15))
    later = add_customer_message(session, settings, Policy(), ticket, mail(), now=T0 + timedelta(days=30))
    assert later is not ticket and later.continues_id == ticket.id
    assert ticket.status is Status.closed and later.office.code == "C3171"


def test_the_private_link_finds_its_ticket_and_no_other(session, settings, ticket):
    token = link_of(settings, ticket).rsplit("/", 1)[1]
    assert find_by_token(session, token, Policy()) is ticket
    assert find_by_token(session, token[:-2] + "xx", Policy()) is None
    with freeze_time(T0 + timedelta(days=31)):
        assert find_by_token(session, token, Policy(token_days=30)) is None


def test_unknown_senders_go_to_the_triage_office(session, settings):
    load_directory(session)
    stranger = open_ticket(session, settings, Policy(triage_office="P31"), mail(sender="x@gmail.test"))
    assert stranger.office.code == "P31" and stranger.school is None
    default = open_ticket(session, settings, Policy(), mail(sender="x@gmail.test"))
    assert default.office.code == "MIN"


def test_a_new_ticket_is_written_with_its_private_link(session, settings):
    """Where the ticket's key is reserved before its INSERT (PostgreSQL), the
    link goes into that INSERT: no UPDATE writes a second version of the row
    and its indexes. Elsewhere the INSERT gives the key and an UPDATE the
    link. The link opens the ticket either way."""
    from sqlalchemy import event
    load_directory(session)
    school = customer_office(session, "SMAN1@Sekolah.test", Policy())
    updates = []
    event.listen(session.connection(), "before_cursor_execute",
                 lambda conn, cursor, statement, *args: updates.append(statement)
                 if statement.lstrip().upper().startswith("UPDATE TICKET") else None)
    ticket = open_ticket(session, settings, Policy(), mail(), school=school, now=T0)
    session.flush()
    expected = 0 if session.get_bind().dialect.name == "postgresql" else 1
    assert len(updates) == expected, updates
    assert ticket.token_issued_at == T0
    token = link_of(settings, ticket).rsplit("/", 1)[1]
    session.expire_all()
    assert find_by_token(session, token, Policy()).id == ticket.id
