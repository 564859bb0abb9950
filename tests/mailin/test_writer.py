"""The writer process's protocol: the pipeline in one thread, its writes made
by serve_writer in another, over real pipes, on a committing database. Every
kind of outcome must come out as it does when the pipeline writes itself."""
from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import struct
import threading
from multiprocessing import Pipe

import pytest
from sqlalchemy import event, select

from core.models import Attachment, Message, Outbox, OutboxStatus, Outcome, RawContent, RawMail, Ticket
from core.storage.db import READ_ONLY, Database
from core.storage.files import Store
from mailin.inbound import TemporaryFailure, Unthreaded
from core.storage.writelock import writing
from mailin.pipeline import Arrival, Stopped, ingest, record_row
from mailin.writer import (
    RemoteWriter, answer_batch, checkpoint_beside, serve_writer, take_request,
)
from tests._shared import wait_for
from tests.mailin.mails import HELPDESK, PDF, SCHOOL, delivery_report, mail, with_parts


@pytest.fixture
def remote(db):
    """A RemoteWriter of two pipes and the writer answering them in a thread."""
    pipes = [Pipe() for _ in range(2)]
    stop = threading.Event()
    thread = threading.Thread(target=serve_writer, args=(db, [theirs for _, theirs in pipes], stop), daemon=True)
    thread.start()
    yield RemoteWriter([ours for ours, _ in pipes])
    stop.set()
    for ours, _ in pipes:
        ours.close()
    thread.join(15)
    assert not thread.is_alive(), "the writer did not stop when its pipes closed"


def deliver(db, writer, raw: bytes, envelope_from: str | None = SCHOOL):
    return ingest(db, raw, envelope_from, (HELPDESK,), "smtp", writer)


def test_a_new_mail_through_the_writer_opens_a_ticket_with_its_attachments(db, remote):
    exe = b"MZ\x90\x00" + b"\x00" * 200
    raw = with_parts(files=[("surat.pdf", "application/pdf", PDF), ("nilai.pdf", "application/pdf", exe)])
    result = deliver(db, remote, raw)
    assert result.outcome is Outcome.new_ticket and result.ticket_ref
    with db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == result.ticket_ref)).one()
        message = session.scalars(select(Message).where(Message.ticket_id == ticket.id)).one()
        kept = session.scalars(select(Attachment).where(Attachment.message_id == message.id)
                               .order_by(Attachment.id)).all()
        raw_row = session.get(RawMail, result.raw_mail_id)
    assert message.text.startswith("Terlampir") and raw_row.ticket_id == ticket.id
    assert [(a.filename, a.refused_reason is None, a.size) for a in kept] == [
        ("surat.pdf", True, len(PDF)), ("nilai.pdf", False, len(exe))]


def test_a_reply_a_duplicate_and_a_bounce_settle_as_when_written_in_process(db, remote):
    first = mail(subject="Rapor")
    opened = deliver(db, remote, first)
    reply = deliver(db, remote, mail(subject=f"Re: [{opened.ticket_ref}] Rapor"))
    again = deliver(db, remote, first)
    with db.session() as session:
        (ack,) = session.scalars(select(Outbox.message_id)).all()
    bounce = deliver(db, remote, delivery_report(ack), envelope_from="")
    assert (reply.outcome, reply.ticket_ref) == (Outcome.appended, opened.ticket_ref)
    assert again.outcome is Outcome.duplicate and "already ingested" in again.reason
    assert (bounce.outcome, bounce.ticket_ref) == (Outcome.bounce, opened.ticket_ref)
    with db.session() as session:
        assert session.scalars(select(Outbox.status)).all() == [OutboxStatus.bounced]


def test_unreadable_mail_is_quarantined_through_the_writer(db, remote):
    result = ingest(db, b"\r\n\r\nno header at all\r\n", None, (HELPDESK,), "file", remote)
    assert result.outcome is Outcome.quarantined
    with db.session() as session:
        assert session.get(RawMail, result.raw_mail_id).outcome is Outcome.quarantined


def test_a_writer_that_is_gone_is_a_temporary_failure_and_nothing_is_recorded(db):
    ours, theirs = Pipe()
    theirs.close()
    with pytest.raises(TemporaryFailure, match="writer process is gone"):
        deliver(db, RemoteWriter([ours]), mail())
    with db.session() as session:
        assert session.scalars(select(RawMail)).all() == []


def test_an_error_in_the_writer_comes_back_as_a_temporary_failure(db):
    assert answer_batch(db, [("drop_tables", ())])[0][0] == "temporary"
    ours, theirs = Pipe()
    thread = threading.Thread(target=serve_writer, args=(db, [theirs]), daemon=True)
    thread.start()
    try:
        with pytest.raises(TemporaryFailure, match="no such operation"):
            RemoteWriter([ours])._send("drop_tables", ())()
    finally:
        ours.close()
        thread.join(15)


def database_file_alone(db: Database) -> list[int] | None:
    """The raw_mail ids in the database file alone, without its log: what
    checkpoints have copied there. None when caught in the middle of a copy."""
    path = db.engine.url.database
    with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as file_only:
        try:
            return [row[0] for row in file_only.execute("SELECT id FROM raw_mail ORDER BY id")]
        except sqlite3.DatabaseError:
            return None


def test_the_writer_process_checkpoints_beside_its_writes(db, tmp_path):
    """Its own commits never stop to copy the log into the database: a thread
    does, so the rows reach the database file itself within moments."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no write-ahead log to copy by hand")
    writer_db, done = Database(db.settings), threading.Event()
    thread = checkpoint_beside(writer_db, done)
    try:
        with writer_db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        results = [ingest(writer_db, mail(subject=f"Soal {n}"), SCHOOL, (HELPDESK,)) for n in range(5)]
        wanted = [result.raw_mail_id for result in results]
        wait_for(lambda: database_file_alone(writer_db) == wanted, timeout=10)
    finally:
        done.set()
        thread.join(5)
        writer_db.engine.dispose()


def log_restarts(db: Database) -> int:
    """The checkpoint sequence number in the write-ahead log's header, which
    SQLite counts up each time a commit writes the log from its start again."""
    with open(f"{db.engine.url.database}-wal", "rb") as log_file:
        return struct.unpack_from(">I", log_file.read(32), 12)[0]


def log_frames(db: Database) -> tuple[int, int]:
    """(frames in the write-ahead log, frames of them copied into the
    database), from the wal-index beside it (sqlite.org/walformat.html:
    mxFrame and nBackfill, in the machine's byte order)."""
    with open(f"{db.engine.url.database}-shm", "rb") as index:
        header = index.read(100)
    return struct.unpack_from("=I", header, 16)[0], struct.unpack_from("=I", header, 96)[0]


def test_the_log_starts_over_after_each_checkpoint_however_steady_the_writes(db):
    """Commits that never pause leave a passive checkpoint always a few
    frames behind, and SQLite starts the log over only once one has caught
    up: the log file grew for as long as the writes went on. With the
    RESTART after it, the commit after each checkpoint writes the log from
    its start again.

    Each round here leaves the passive checkpoint behind on purpose rather
    than by timing: a reader's snapshot keeps it from copying the last
    commit, as a commit made during the copy would, and the test holds the
    writers' lock, which the RESTART waits for, until the passive checkpoint
    is seen to have copied what it could."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no write-ahead log to copy by hand")
    writer_db = Database(db.settings)
    row = {"channel": "smtp", "envelope_from": SCHOOL, "sha256": "0" * 64, "size": 1}

    def commit() -> None:
        with writer_db.engine.begin() as connection:
            record_row(connection, row)

    once = threading.Event()
    once.set()  # each checkpoint thread here makes one checkpoint and ends
    try:
        checkpoint_beside(writer_db, once).join(10)  # before the first commit, as the writer process does
        with writing(writer_db):
            commit()
        for _ in range(3):
            reader = sqlite3.connect(writer_db.engine.url.database, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM raw_mail").fetchall()
            seen, _ = log_frames(writer_db)  # the frames the reader's snapshot holds
            with writing(writer_db):
                commit()
                written, _ = log_frames(writer_db)
                thread = checkpoint_beside(writer_db, once)
                # The passive checkpoint copies what the reader sees, and stops there.
                wait_for(lambda: log_frames(writer_db) == (written, seen), timeout=10)
                reader.execute("COMMIT")
                reader.close()
            thread.join(10)
            assert not thread.is_alive()
            restarts = log_restarts(writer_db)
            with writing(writer_db):
                commit()
            assert log_restarts(writer_db) == restarts + 1
    finally:
        writer_db.engine.dispose()


def test_a_writer_that_does_not_answer_is_a_temporary_failure_and_its_pipe_is_dropped(db, monkeypatch):
    import mailin.writer

    monkeypatch.setattr(mailin.writer, "ANSWER_SECONDS", 0.2)
    ours, theirs = Pipe()  # nobody reads theirs: a writer stuck in a long write
    writer = RemoteWriter([ours])
    with pytest.raises(TemporaryFailure, match="did not answer"):
        writer._send("take", ())()
    assert ours.closed  # a late answer must not be taken for the next request's
    with pytest.raises(TemporaryFailure, match="no pipe"):
        writer._send("take", ())
    theirs.close()


def write_commits(db) -> list:
    """The commits of writing transactions from now on, as they happen (the
    pipeline's reads of the policy commit too, as readers)."""
    commits = []

    def on_commit(connection):
        options = connection.get_execution_options()
        if not options.get(READ_ONLY) and options.get("isolation_level") != "AUTOCOMMIT":
            commits.append(connection)

    event.listen(db.engine, "commit", on_commit)
    return commits


class Held:
    """Keeps each mail's request, as a server process would send it, for
    the test to hand the writer together."""

    def __init__(self):
        self.requests = []

    def take(self, arrival, prepared):
        self.requests.append(take_request(arrival, prepared))
        return None


def test_mails_answered_together_share_one_transaction_and_a_stopped_one_is_settled_in_it(db, monkeypatch):
    import mailin.pipeline

    route = mailin.pipeline.route

    def route_failing_on_boom(session, settings, policy, incoming, **kwargs):
        if incoming.subject == "boom":
            raise RuntimeError("a bug in routing")
        return route(session, settings, policy, incoming, **kwargs)

    monkeypatch.setattr(mailin.pipeline, "route", route_failing_on_boom)
    held, twice = Held(), mail(subject="Dua kali")
    for raw in (mail(subject="Pertama"), twice, mail(subject="boom"), twice, mail(subject="Terakhir")):
        ingest(db, raw, SCHOOL, (HELPDESK,), "smtp", held)
    commits = write_commits(db)
    answers = answer_batch(db, held.requests)
    assert len(commits) == 1
    assert [(status, result.outcome) for status, result in answers] == [
        ("ok", Outcome.new_ticket), ("ok", Outcome.new_ticket), ("ok", Outcome.quarantined),
        ("ok", Outcome.duplicate), ("ok", Outcome.new_ticket)]
    assert "RuntimeError: a bug in routing" in answers[2][1].reason
    with db.session() as session:
        # The quarantined mail's writes were taken back: three tickets, one message each.
        assert session.scalars(select(Ticket.subject).order_by(Ticket.id)).all() == [
            "Pertama", "Dua kali", "Terakhir"]
        assert len(session.scalars(select(Message)).all()) == 3
        assert [row.outcome for row in session.scalars(select(RawMail).order_by(RawMail.id))] == [
            result.outcome for _, result in answers]


def write_begins(db) -> list:
    """The writing transactions begun from now on."""
    begins = []

    def on_begin(connection):
        if not connection.get_execution_options().get(READ_ONLY):
            begins.append(connection)

    event.listen(db.engine, "begin", on_begin)
    return begins


def answer_three(db, monkeypatch, subject: str, after):
    """Three new mails answered in one batch, the middle one with this
    subject; routing it calls `after(session)` once it has written. Returns
    the answers, and the writing transactions begun and committed for them."""
    import mailin.pipeline

    route = mailin.pipeline.route

    def route_then(session, settings, policy, incoming, **kwargs):
        routed = route(session, settings, policy, incoming, **kwargs)
        if incoming.subject == subject:
            after(session)
        return routed

    monkeypatch.setattr(mailin.pipeline, "route", route_then)
    held = Held()
    for each in ("Pertama", subject, "Terakhir"):
        ingest(db, mail(subject=each), SCHOOL, (HELPDESK,), "smtp", held)
    begins, commits = write_begins(db), write_commits(db)
    return answer_batch(db, held.requests), begins, commits


def test_a_mail_stopped_after_its_writes_has_them_taken_back_without_redoing_the_batch(db, monkeypatch):
    """The light savepoint: the stop comes after the ticket, its message and
    its acknowledgement were written; they go, the batch's other mails stay,
    and the batch is written once."""
    def stop(session):
        raise Unthreaded("stopped after writing")

    answers, begins, commits = answer_three(db, monkeypatch, "Berhenti", stop)
    assert (len(begins), len(commits)) == (1, 1)
    assert [result.outcome for _, result in answers] == [Outcome.new_ticket, Outcome.auto_reply, Outcome.new_ticket]
    with db.session() as session:
        assert session.scalars(select(Ticket.subject).order_by(Ticket.id)).all() == ["Pertama", "Terakhir"]
        assert len(session.scalars(select(Message)).all()) == 2
        assert len(session.scalars(select(Outbox)).all()) == 2


def test_a_write_the_database_refuses_redoes_the_batch_and_quarantines_only_its_mail(db, monkeypatch):
    """A failed flush leaves the session unusable until it rolls back: the
    batch is rolled back and written again, each mail in the session's own
    savepoint, and only the mail that caused it is quarantined."""
    def refused(session):
        session.add(Ticket(ref="X"))  # no subject, no office: NOT NULL refuses it
        session.flush()

    answers, begins, commits = answer_three(db, monkeypatch, "Ditolak", refused)
    assert (len(begins), len(commits)) == (2, 1)
    assert [result.outcome for _, result in answers] == [
        Outcome.new_ticket, Outcome.quarantined, Outcome.new_ticket]
    assert "IntegrityError" in answers[1][1].reason
    with db.session() as session:
        assert session.scalars(select(Ticket.subject).order_by(Ticket.id)).all() == ["Pertama", "Terakhir"]
        assert [row.outcome for row in session.scalars(select(RawMail).order_by(RawMail.id))] == [
            Outcome.new_ticket, Outcome.quarantined, Outcome.new_ticket]


def test_a_batch_whose_transaction_fails_is_a_temporary_failure_for_each_request(db):
    good = {"channel": "smtp", "envelope_from": SCHOOL, "envelope_to": HELPDESK, "message_id": None,
            "sha256": "0" * 64, "size": 1}
    stopped = Stopped(Outcome.quarantined, "unreadable")
    answers = answer_batch(db, [take_request(Arrival(good, "0" * 64, None, b"x"), stopped),
                                take_request(Arrival({"channel": "smtp"}, "1" * 64, None, b"y"), stopped)])
    assert [status for status, _ in answers] == ["temporary", "temporary"]
    with db.session() as session:
        assert session.scalars(select(RawMail)).all() == session.scalars(select(RawContent)).all() == []


def test_requests_waiting_together_are_committed_together(db):
    """Three server threads ask at once; the writer answers them with one commit."""
    pipes = [Pipe() for _ in range(3)]
    results, errors = [], []

    def server_thread(pipe):
        try:
            results.append(deliver(db, RemoteWriter([pipe]), mail(subject="Bersamaan")))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=server_thread, args=(ours,)) for ours, _ in pipes]
    for thread in threads:
        thread.start()
    wait_for(lambda: all(theirs.poll() for _, theirs in pipes), timeout=10)
    commits = write_commits(db)
    stop = threading.Event()
    writer = threading.Thread(target=serve_writer, args=(db, [theirs for _, theirs in pipes], stop), daemon=True)
    writer.start()
    for thread in threads:
        thread.join(15)
    stop.set()
    for ours, _ in pipes:
        ours.close()
    writer.join(15)
    assert not errors and [result.outcome for result in results] == [Outcome.new_ticket] * 3
    assert len(commits) == 1


def test_a_mail_is_cleaned_then_written_with_its_row_and_bytes_in_one_request(db):
    """Before the writer hears of a mail, its kept attachment is in the
    store and nothing of it is in the database (nor its bytes in the store);
    then one request, and one commit, write its row, its bytes and its ticket."""
    ours, theirs = Pipe()
    raw = with_parts(files=[("jadwal.pdf", "application/pdf", PDF)])
    results = []
    server = threading.Thread(target=lambda: results.append(deliver(db, RemoteWriter([ours]), raw)))
    server.start()
    store = Store(db.settings.path("store"))
    assert theirs.poll(10)
    assert store.exists(hashlib.sha256(PDF).hexdigest()) and not store.exists(hashlib.sha256(raw).hexdigest())
    with db.session() as session:
        assert session.scalars(select(RawMail)).all() == session.scalars(select(RawContent)).all() == []
    commits = write_commits(db)
    writer = threading.Thread(target=serve_writer, args=(db, [theirs]), daemon=True)
    writer.start()
    server.join(15)
    ours.close()
    writer.join(15)
    assert [result.outcome for result in results] == [Outcome.new_ticket] and len(commits) == 1
    with db.session() as session:
        (row,) = session.scalars(select(RawMail)).all()
        assert (row.id, row.outcome, row.sha256) == (results[0].raw_mail_id, Outcome.new_ticket,
                                                     hashlib.sha256(raw).hexdigest())
        assert session.get(RawContent, row.id).content == raw
