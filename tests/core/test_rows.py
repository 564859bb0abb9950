"""core.rows: new objects written by plain INSERTs, then used as if loaded."""
from __future__ import annotations

from sqlalchemy import event, select

from core.models import Attachment, Direction, Message, Office, Outbox, Status, Ticket, utcnow
from core.rows import insert_now
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
