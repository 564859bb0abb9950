"""Queues, search and staff actions, scoped by office, on the real database."""
import pytest
from sqlalchemy import event, func, select

from core import audit
from core.config.policy import Policy
from core.models import Direction, Event, Outbox, Role, Status
from core.queries.queues import count_queues, list_queue
from core.queries.search import search_tickets
from core.tickets import actions, links
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import load_directory, make_user


@pytest.fixture
def world(session, settings):
    offices = load_directory(session)
    policy = Policy()
    tickets = {}
    for email, subject, text in [("sman1@sekolah.test", "NUPTK belum terbit", "Mohon bantuan NUPTK."),
                                 ("smkn26@sekolah.test", "Tunjangan belum cair", "NUPTK juga salah.")]:
        tickets[email] = open_ticket(session, settings, policy, Incoming(
            from_address=email, subject=subject, text=text, message_id=f"<{email}>"),
            school=customer_office(session, email, policy))
    session.flush()
    users = {code: make_user(session, offices[code], Role.agent) for code in ("C3171", "C3172", "P31")}
    return tickets["sman1@sekolah.test"], tickets["smkn26@sekolah.test"], users, policy


def test_queues_hold_only_the_office_tickets_and_the_province_reads_below(session, world):
    mine, sibling, users, policy = world
    page = list_queue(session, users["C3171"], "unassigned", policy)
    assert [t.ref for t in page.tickets] == [mine.ref]
    assert count_queues(session, users["C3171"], policy)["below"] == 0
    below = list_queue(session, users["P31"], "below", policy)
    assert {t.ref for t in below.tickets} == {mine.ref, sibling.ref}
    assert page.queue.read_only is False and below.queue.read_only is True


def test_search_finds_words_only_in_tickets_the_user_may_see(session, world):
    mine, sibling, users, _ = world
    assert [t.ref for t in search_tickets(session, users["C3171"], "nuptk").tickets] == [mine.ref]
    assert search_tickets(session, users["C3171"], sibling.ref).exact is None
    assert search_tickets(session, users["C3171"], f"[{mine.ref.lower()}]").exact is mine
    assert {t.ref for t in search_tickets(session, users["P31"], "NUPTK").tickets} == {mine.ref, sibling.ref}
    assert search_tickets(session, users["C3171"], 'nuptk" OR "x').tickets == []


def test_a_reply_answers_stamps_first_response_and_queues_mail(session, settings, world):
    mine, _, users, policy = world
    message = actions.reply(session, settings, policy, mine, users["C3171"], "Sudah kami proses.")
    assert mine.status is Status.answered and mine.first_response_at is not None
    assert mine.assignee is users["C3171"] and message.direction is Direction.outbound
    mail = session.query(Outbox).filter_by(ticket_id=mine.id).one()
    assert mail.message_id == message.message_id and mail.in_reply_to == "<sman1@sekolah.test>"


def test_a_reply_on_a_closed_unassigned_ticket_assigns_nobody(session, settings, world):
    # Found by Schemathesis through the API: the replier was assigned a closed
    # ticket, which assignment refuses, and the page and the API answered 500.
    mine, _, users, policy = world
    mine.assignee, mine.assignee_id = None, None
    mine.status = Status.closed
    session.flush()
    actions.reply(session, settings, policy, mine, users["C3171"], "Tambahan informasi.", status=Status.closed)
    assert mine.status is Status.closed and mine.assignee_id is None
    assert session.query(Outbox).filter_by(ticket_id=mine.id).count() == 1


def test_a_note_is_never_mailed(session, settings, world):
    mine, _, users, policy = world
    actions.add_note(session, settings, policy, mine, users["C3171"], "Internal only")
    assert session.query(Outbox).filter_by(ticket_id=mine.id).count() == 0


def test_other_offices_cannot_find_or_act(session, world):
    mine, _, users, _ = world
    with pytest.raises(actions.TicketNotFound):
        actions.find_visible(session, users["C3172"], mine.ref)
    with pytest.raises(actions.ReadOnly):
        actions.find_actionable(session, users["P31"], mine.ref)


def test_forward_take_merge_and_link(session, settings, world):
    mine, sibling, users, policy = world
    actions.forward(session, settings, policy, mine, users["C3171"], "Perlu provinsi")
    assert mine.office.code == "P31" and mine.status is Status.forwarded
    assert mine.assignee is users["P31"]  # the province's available agent gets it
    actions.take(session, mine, users["P31"])
    assert mine.status is Status.open and mine.assignee is users["P31"]
    actions.forward(session, settings, policy, sibling, make_user(session, sibling.office, Role.agent,
                                                                  email="x@staff.test"), "Perlu provinsi")
    with pytest.raises(actions.ActionRefused):
        actions.forward(session, settings, policy, mine, users["C3171"], "not ours any more")
    links.link(session, mine, sibling, users["P31"])
    assert links.linked(session, users["P31"], mine) == [sibling]
    actions.merge(session, sibling, mine, users["P31"])
    assert sibling.status is Status.closed and sibling.merged_into_id == mine.id
    with pytest.raises(actions.ActionRefused):
        actions.merge(session, mine, mine, users["P31"])


def test_a_reply_records_its_events_in_one_statement_in_order(session, settings, world):
    mine, _, users, policy = world
    inserts = []
    connection = session.connection()

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("INSERT INTO event"):
            inserts.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        message = actions.reply(session, settings, policy, mine, users["C3171"], "Sudah kami proses.")
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert len(inserts) == 1
    kinds = list(session.scalars(select(Event.kind).where(Event.ticket_id == mine.id).order_by(Event.id)))
    assert kinds[-3:] == ["assign", "reply", "status"]
    assert session.scalar(select(Event.detail).where(Event.kind == "reply")) == f"message {message.id}"


def test_events_held_together_are_not_written_when_the_block_fails(session, world):
    mine, _, users, _ = world
    before = session.scalar(select(func.count()).select_from(Event))
    with pytest.raises(RuntimeError):
        with audit.together(session):
            audit.record(session, mine, "note", users["C3171"])
            raise RuntimeError("refused halfway")
    assert session.scalar(select(func.count()).select_from(Event)) == before
    with audit.together(session):
        audit.record(session, mine, "note", users["C3171"])
    assert session.scalar(select(func.count()).select_from(Event)) == before + 1
