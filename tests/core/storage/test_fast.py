"""core.storage.fast: objects written by plain INSERTs and UPDATEs, then used as if loaded."""
from __future__ import annotations

import gc

import pytest
from sqlalchemy import event, select

from core.models import Attachment, Direction, Message, Office, Outbox, Status, Ticket, utcnow
from core.storage.fast import insert_now, new, update_now
from core.tickets.intake import Incoming, add_message
from tests.factories import load_directory


def statements(session):
    seen = []
    event.listen(session.connection(), "before_cursor_execute",
                 lambda conn, cursor, statement, *args: seen.append(statement.split()[0].upper()))
    return seen


def test_a_ticket_its_message_and_attachments_are_written_parents_first_and_left_clean(session):
    load_directory(session)
    office = session.scalar(select(Office).where(Office.code == "C3171"))
    now = utcnow()
    ticket = Ticket(ref="HD-ROWS-1", subject="Rapor", status=Status.open, office=office,
                    requester_email="a@sekolah.test", created_at=now, updated_at=now, status_changed_at=now,
                    last_customer_at=now)
    message = Message(ticket=ticket, direction=Direction.inbound, from_address="a@sekolah.test", subject="Rapor",
                      text="isi", full_text="isi", channel="mail", created_at=now, attachments=[
                          Attachment(filename="a.pdf", content_type="application/pdf", size=3, sha256="0" * 64)])
    seen = statements(session)
    insert_now(session, message)  # the ticket it belongs to comes first
    assert seen == ["INSERT", "INSERT", "INSERT"]
    assert ticket.id and message.ticket_id == ticket.id and message.attachments[0].message_id == message.id
    assert message.attachments[0].inline is False  # the column's default, set on the object
    assert ticket.office_id == office.id
    assert not session.new and not session.dirty  # nothing left for a flush to write again
    seen.clear()
    assert (ticket.office.code, ticket.messages, message.auto_reply) == ("C3171", [message], False)
    assert seen == []  # and nothing to load: every column was set
    session.flush()
    assert seen == []
    session.expire_all()
    assert session.get(Ticket, ticket.id).messages[0].attachments[0].filename == "a.pdf"


def test_an_object_already_in_the_database_is_not_written_again(session):
    load_directory(session)
    row = Outbox(template="ack", to_address="a@sekolah.test", message_id="<rows-1@helpdesk.test>")
    insert_now(session, row)
    seen = statements(session)
    insert_now(session, row)
    assert seen == [] and session.scalar(select(Outbox.id).where(Outbox.message_id == "<rows-1@helpdesk.test>"))


def _ticket(session, ref: str) -> Ticket:
    office = session.scalar(select(Office).where(Office.code == "C3171"))
    now = utcnow()
    ticket = Ticket(ref=ref, subject="Rapor", status=Status.open, office=office, requester_email="a@sekolah.test",
                    created_at=now, updated_at=now, status_changed_at=now)
    insert_now(session, ticket)
    return ticket


def test_columns_set_by_a_plain_update_show_on_the_object_and_leave_it_clean(session):
    load_directory(session)
    ticket = _ticket(session, "HD-ROWS-2")
    later = utcnow()
    seen = statements(session)
    update_now(session, ticket, updated_at=later, last_customer_at=later)
    assert seen == ["UPDATE"]
    assert (ticket.updated_at, ticket.last_customer_at) == (later, later)
    assert not session.dirty
    session.expire_all()
    assert session.get(Ticket, ticket.id).last_customer_at == later


def test_a_message_on_a_ticket_in_the_database_leaves_the_ticket_clean(session):
    """Its messages were not loaded: they load with the new one when read."""
    load_directory(session)
    ticket = _ticket(session, "HD-ROWS-3")
    message = add_message(session, ticket, Incoming(from_address="a@sekolah.test", subject="Re: Rapor", text="lagi"))
    assert not session.dirty
    seen = statements(session)
    assert message.ticket is ticket and seen == []
    assert [m.text for m in ticket.messages] == ["lagi"]


def test_a_message_on_a_ticket_whose_messages_were_loaded_is_shown_among_them(session):
    load_directory(session)
    ticket = _ticket(session, "HD-ROWS-4")
    assert ticket.messages == []
    message = add_message(session, ticket, Incoming(from_address="a@sekolah.test", subject="Re: Rapor", text="lagi"))
    assert ticket.messages == [message]


def test_new_makes_an_object_as_the_constructor_does_for_insert_now(session):
    load_directory(session)
    office = session.scalar(select(Office).where(Office.code == "C3171"))
    now = utcnow()
    ticket = new(Ticket, ref="HD-ROWS-5", subject="Rapor", status=Status.open, office=office,
                 requester_email="a@sekolah.test", created_at=now, updated_at=now, status_changed_at=now)
    message = new(Message, ticket=ticket, direction=Direction.inbound, from_address="a@sekolah.test",
                  subject="Rapor", text="isi", full_text="isi", channel="mail", created_at=now, attachments=[
                      new(Attachment, filename="a.pdf", content_type="application/pdf", size=3, sha256="0" * 64)])
    assert ticket.messages == [message] and ticket.office is office  # relationships set as usual, backrefs too
    with pytest.raises(TypeError, match="'colour' is an invalid keyword argument for Ticket"):
        new(Ticket, colour="red")
    seen = statements(session)
    insert_now(session, message)
    assert seen == ["INSERT", "INSERT", "INSERT"]
    assert ticket.office_id == office.id and message.ticket_id == ticket.id
    assert not session.new and not session.dirty
    session.expire_all()
    stored = session.get(Ticket, ticket.id)
    assert (stored.ref, stored.created_at, stored.messages[0].attachments[0].filename) == ("HD-ROWS-5", now, "a.pdf")


def test_an_object_from_a_plain_row_is_what_a_load_gives_with_no_query(database):
    """as_loaded: a user and their office read as plain rows outside the
    session (as the API's guard reads them) are the objects a load would
    give, converted as a load converts (the role's enum, SQLite's dates),
    with no query, even for the user's office put on it; a change is written
    as usual."""
    from core.access.passwords import hash_password
    from core.models import Role, User
    from core.storage.fast import as_loaded, columns_of, set_loaded
    with database.begin() as session:
        load_directory(session)
        office = session.scalar(select(Office).where(Office.code == "C3171"))
        session.add(User(email="agen@dinas.test", name="Agen", password_hash=hash_password("x" * 12),
                         office=office, role=Role.supervisor, last_login_at=utcnow()))
    user_columns, office_columns = columns_of(User), columns_of(Office)
    both = select(*user_columns, *office_columns).join(Office, Office.id == User.office_id)
    row = tuple(database.read_plain(both.where(User.email == "agen@dinas.test"))[0])
    with database.read() as session:
        loaded = session.scalar(select(User).where(User.email == "agen@dinas.test"))
        expected = {column.key: getattr(loaded, column.key) for column in user_columns}
    with database.begin() as session:
        seen = statements(session)
        assert as_loaded(session, Office, row[len(user_columns):]).code == "C3171"
        gc.collect()
        assert not session.identity_map  # held weakly: an object nothing refers to is gone
        user = as_loaded(session, User, row[:len(user_columns)])
        set_loaded(user, office=as_loaded(session, Office, row[len(user_columns):]))
        assert {column.key: getattr(user, column.key) for column in user_columns} == expected
        assert user.role is Role.supervisor and user.last_login_at == expected["last_login_at"]
        assert user.office.code == "C3171" and not session.dirty and not session.new
        assert seen == []
        assert as_loaded(session, User, row[:len(user_columns)]) is user  # the session's own object
        user.name = "Agen Baru"
    with database.read() as session:
        assert session.scalar(select(User.name).where(User.email == "agen@dinas.test")) == "Agen Baru"
