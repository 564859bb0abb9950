from __future__ import annotations

import email
import sqlite3
from dataclasses import replace
from datetime import timedelta
from email import policy as email_policy

import mailparser
import pytest
from freezegun import freeze_time
from sqlalchemy import event, func, select

from core.mail import outbox
from core.mail.msgids import ref_from_message_id
from core.models import Outbox, OutboxStatus, Setting, utcnow
from core.storage import retries
from core.storage.db import READ_ONLY, Database
from core.storage.writelock import writer_lock
from mailout.deliver import _render_chunk, deliver_due
from mailout.render import OutgoingMail, Renderer
from tests.factories import load_directory
from tests.mailout.world import open_with_ack


def relayed(database: Database, relay) -> Database:
    return Database(replace(database.settings, smtp_relay=relay.address))


def test_ack_arrives_at_the_relay_threaded_to_the_customers_message(database, relay):
    db = relayed(database, relay)
    with db.begin() as s:
        load_directory(s)
        ticket = open_with_ack(s, db.settings)
        ref = ticket.ref
    report = deliver_due(db)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [got] = relay.messages
    assert got.recipients == ["sman1@sekolah.test"]
    assert got.sender == "helpdesk@helpdesk.test"
    parsed = email.message_from_bytes(got.data, policy=email_policy.default)
    assert parsed["Subject"].startswith(f"[{ref}] ")
    assert parsed["In-Reply-To"] == "<q1@sekolah.test>"
    assert parsed["References"] == "<q1@sekolah.test>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["List-Unsubscribe"] is None
    assert parsed["Reply-To"].addresses[0].addr_spec == "helpdesk@helpdesk.test"
    assert parsed["From"].addresses[0].display_name
    secret, domain = db.settings.secret_key, db.settings.domain
    assert ref_from_message_id(parsed["Message-ID"], secret, domain) == ref
    text = parsed.get_body(("plain",)).get_content()
    assert "http://helpdesk.test/t/" in text and ref in text
    assert "http://helpdesk.test/t/" in parsed.get_body(("html",)).get_content()
    with db.session() as s:
        row = s.scalar(select(Outbox))
        assert row.status is OutboxStatus.sent and row.message_id == parsed["Message-ID"]


def test_mail_parser_reads_the_same_threading_headers(database, relay):
    db = relayed(database, relay)
    with db.begin() as s:
        load_directory(s)
        ref = open_with_ack(s, db.settings, language="en").ref
    deliver_due(db)
    parsed = mailparser.parse_from_bytes(relay.messages[0].data)
    assert parsed.in_reply_to == "<q1@sekolah.test>"
    assert ref_from_message_id(parsed.message_id, db.settings.secret_key, db.settings.domain) == ref
    assert "We have received your ticket" in parsed.subject
    assert "Reply above this line" in parsed.text_plain[0]


def test_without_a_relay_mail_is_written_to_the_outgoing_folder(database):
    with database.begin() as s:
        load_directory(s)
        ref = open_with_ack(s, database.settings).ref
    assert deliver_due(database).sent == 1
    [written] = list(database.settings.path("outgoing").glob("*.eml"))
    assert ref in written.name
    parsed = email.message_from_bytes(written.read_bytes(), policy=email_policy.default)
    assert parsed["Subject"].startswith(f"[{ref}]")
    assert not list(database.settings.path("outgoing").glob(".*"))  # no temporary file left


def test_a_down_relay_backs_off_and_gives_up_after_the_last_attempt(database, relay):
    db = relayed(database, relay)
    relay.stop()
    with db.begin() as s:
        load_directory(s)
        open_with_ack(s, db.settings)
    start = utcnow()
    waits = []
    with freeze_time(start) as clock:
        for _ in range(len(retries.BACKOFF) + 1):
            report = deliver_due(db)
            assert report.sent == 0
            with db.session() as s:
                row = s.scalar(select(Outbox))
            waits.append(row.next_attempt_at - utcnow())
            clock.move_to(row.next_attempt_at)
    assert row.status is OutboxStatus.failed and row.attempts == len(retries.BACKOFF) + 1
    assert "unreachable" in row.last_error
    assert list(retries.BACKOFF) == waits[:-1]
    assert sum(retries.BACKOFF, timedelta()) >= timedelta(days=1)


def test_five_acks_queued_while_the_relay_is_down_arrive_exactly_once(database, relay):
    db = relayed(database, relay)
    relay.stop()
    with freeze_time("2026-11-23 08:00:00") as clock:
        with db.begin() as s:
            load_directory(s)
            refs = {open_with_ack(s, db.settings, message_id=f"<q{i}@sekolah.test>").ref for i in range(5)}
        assert deliver_due(db).retrying == 5
        assert deliver_due(db).retrying == 0  # nothing due yet: the backoff holds
        clock.tick(timedelta(seconds=61))
        assert deliver_due(db).retrying == 5
        relay.start()
        clock.tick(timedelta(minutes=4))
        assert deliver_due(db).sent == 0  # the second wait (5 minutes) is not over
        clock.tick(timedelta(minutes=2))
        assert deliver_due(db).sent == 5
        clock.tick(timedelta(days=2))
        assert deliver_due(db).sent == 0
    subjects = [email.message_from_bytes(m.data, policy=email_policy.default)["Subject"] for m in relay.messages]
    assert len(subjects) == 5
    assert {s.split("]")[0].lstrip("[") for s in subjects} == refs


def test_a_row_claimed_by_a_killed_worker_is_sent_after_its_lease(database, relay):
    db = relayed(database, relay)
    with db.begin() as s:
        load_directory(s)
        open_with_ack(s, db.settings)
    with freeze_time(utcnow()) as clock:
        with db.begin() as s:
            assert len(outbox.claim_due(s, utcnow())) == 1  # the worker dies here
        assert deliver_due(db).sent == 0
        clock.tick(retries.LEASE + timedelta(seconds=1))
        assert deliver_due(db).sent == 1
    assert len(relay.messages) == 1


def test_a_permanent_refusal_fails_at_once(database, relay):
    db = relayed(database, relay)

    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 No such user"
    relay.sink.handle_RCPT = refuse
    relay.stop()
    relay.start()
    with db.begin() as s:
        load_directory(s)
        open_with_ack(s, db.settings)
    assert deliver_due(db).failed == 1
    with db.session() as s:
        row = s.scalar(select(Outbox))
    assert row.status is OutboxStatus.failed and row.last_error.startswith("550")


def test_a_pass_reads_and_marks_rows_in_bulk_not_one_by_one(database, relay):
    db = relayed(database, relay)
    with db.begin() as s:
        load_directory(s)
        # The rate limit and the pacing of unstaffed notices are other tests.
        for key in ("auto_mail_per_10min", "auto_mail_per_day", "unstaffed_notice_minutes"):
            s.add(Setting(key=key, value="0"))
        s.flush()
        for i in range(60):
            open_with_ack(s, db.settings, sender=f"sman{i % 3 + 1}@sekolah.test", message_id=f"<m{i}@sekolah.test>")
        # The 60 acknowledgements, and the notices to the triage office's mailbox
        # of the 40 tickets from unknown senders that no agent was there to take.
        due = s.scalar(select(func.count()).select_from(Outbox))
    assert due == 100
    statements = []
    listen = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert deliver_due(db).sent == due
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(relay.messages) == due
    # A claim (select, update), a ticket read per chunk of rows, a mark per group.
    assert len([s for s in statements if not s.startswith(("BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE"))]) <= 10


def test_on_sqlite_a_pass_writes_in_the_writers_queue_and_renders_without_the_write_lock(database):
    """The mail servers' writer must not wait on a delivery pass: the pass's
    write transactions begin inside the writer lock (which hands over at
    once; SQLite's own busy handler sleeps up to 100 ms), and its rendering
    needs no write lock at all, so it goes on while another holds it."""
    if not database.is_sqlite:
        pytest.skip("SQLite's write lock; PostgreSQL locks rows")
    with database.begin() as s:
        load_directory(s)
        open_with_ack(s, database.settings)
    began = []  # for each transaction: read only, and the writer lock held
    lock = writer_lock(database)
    listen = lambda conn: began.append((bool(conn.get_execution_options().get(READ_ONLY)),  # noqa: E731
                                        lock.threads.locked()))
    event.listen(database.engine, "begin", listen)
    try:
        assert deliver_due(database).sent == 1
    finally:
        event.remove(database.engine, "begin", listen)
    writes = [held for read_only, held in began if not read_only]
    assert writes and all(writes) and any(read_only for read_only, _ in began)

    with freeze_time(utcnow() + timedelta(days=1)), database.begin() as s:
        open_with_ack(s, database.settings, message_id="<q2@sekolah.test>")
        [row] = outbox.claim_due_rows(s, utcnow(), 10)
    holder = sqlite3.connect(database.engine.url.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer, mid-transaction
        [(outbox_id, mail, to, _cc)] = _render_chunk(database, Renderer(database.settings), [row])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert outbox_id == row.id and to == "sman1@sekolah.test" and isinstance(mail, OutgoingMail)
