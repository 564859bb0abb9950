"""One process that makes the pipeline's writes for every SMTP server process.

SQLite takes one writer at a time. When each server process wrote for
itself, the write lock's holder shared its interpreter with that process's
SMTP sessions and parsing, so the lock was held for four times as long as
the writes took. With `helpdesk smtpd --processes N` on SQLite, the server
processes receive, record the bytes, parse and clean, and send what is left
to do to this process, which does nothing else (see `serve_writer`).

Each pipeline thread of a server process has a pipe of its own to the
writer (a pool in `RemoteWriter`): a request is one (operation, arguments)
tuple, one per mail, the answer ("ok", value) or ("temporary", why). The
pipes are made by the process that starts both ends, so nothing else can
write to them: what crosses them is pickled. Requests that wait together
are written in one transaction, so one commit serves them all; the writer
fsyncs the log itself before answering, beside the next batch's work
(relaxed_commits says why that gives no 250 for rows not on disk).
"""
from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sqlite3
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.models import Attachment
from core.storage.db import Database, is_transient
from core.storage.fast import new
from core.storage.writelock import WriteLockTimeout, writing
from mailin.clean import Cleaned
from mailin.inbound import IngestResult, TemporaryFailure
from mailin.pipeline import Arrival, Prepared, Redo, Stopped, take_within

log = logging.getLogger("helpdesk.writer")

# As long as the SQLite write lock is waited for: a mail the writer has not
# answered for by then is a temporary failure (451), and should the writer
# still commit it, the sender's retry is screened as its duplicate.
ANSWER_SECONDS = 30.0
# After SIGTERM or SIGINT the writer still answers the server processes'
# last requests (they stop at the same signal), for at most this long.
STOP_GRACE_SECONDS = 10.0


class RemoteWriter:
    """The pipeline's Writer in a server process: each call borrows one of
    the pipes to the writer process, sends its request and waits for the
    answer."""

    def __init__(self, connections: list[Connection]):
        self.pipes: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        for connection in connections:
            self.pipes.put(connection)

    def take(self, arrival: Arrival, prepared: Prepared | Stopped) -> IngestResult:
        return self._send(*take_request(arrival, prepared))()

    def _send(self, operation: str, args: tuple) -> Callable[[], object]:
        """Send one request; the function returned waits for its answer. The
        pipe carries nothing else until then."""
        try:
            pipe = self.pipes.get(timeout=ANSWER_SECONDS)
        except queue.Empty:
            raise TemporaryFailure(f"no pipe to the writer process came free in {ANSWER_SECONDS:g} s") from None
        try:
            pipe.send((operation, args))
        except BaseException as error:
            self.pipes.put(pipe)  # nothing was sent: pickling comes first
            if isinstance(error, (EOFError, OSError)):
                raise self._gone(error) from error
            raise
        return lambda: self._answer(pipe, operation)

    def _answer(self, pipe: Connection, operation: str):
        try:
            if not pipe.poll(ANSWER_SECONDS):
                # Its answer may still come: this pipe can never be used again.
                pipe.close()
                log.error("the writer process did not answer a %s in %g s; %d pipes to it remain",
                          operation, ANSWER_SECONDS, self.pipes.qsize())
                raise TemporaryFailure(f"the writer process did not answer in {ANSWER_SECONDS:g} s")
            status, value = pipe.recv()
        except (EOFError, OSError) as error:
            raise self._gone(error) from error
        finally:
            if not pipe.closed:
                self.pipes.put(pipe)
        if status == "temporary":
            raise TemporaryFailure(value)
        return value

    @staticmethod
    def _gone(error: BaseException) -> TemporaryFailure:
        # The writer is gone (its supervisor restarts us all): nothing more
        # was committed than it answered for, so the sender retries.
        return TemporaryFailure(f"the writer process is gone: {error!r}")


def take_request(arrival: Arrival, prepared: Prepared | Stopped) -> tuple[str, tuple]:
    """The one request a mail makes of the writer: its row, and what to write with it."""
    if isinstance(prepared, Prepared):
        prepared = prepared._replace(cleaned=portable(prepared.cleaned))
    return "take", (arrival, prepared)


def portable(cleaned: Cleaned | None) -> Cleaned | None:
    """Cleaned with its attachment rows as plain values, which pickle small."""
    if cleaned is None:
        return None
    rows = tuple({key: value for key, value in vars(row).items() if not key.startswith("_")}
                 for row in cleaned.attachments)
    return Cleaned(cleaned.text, cleaned.full_text, cleaned.html, rows)


def _rows_again(cleaned: Cleaned | None) -> Cleaned | None:
    if cleaned is None:
        return None
    return Cleaned(cleaned.text, cleaned.full_text, cleaned.html,
                   tuple(new(Attachment, **values) for values in cleaned.attachments))


def answer_batch(db: Database, requests: list[tuple[str, tuple]]) -> list[tuple[str, object]]:
    """The requests that came in together, answered in one transaction: one
    commit for all of them. Every answer waits for that commit (and, sent by
    serve_writer, for the log's fsync after it).
    A mail a step stops is settled in it as it would be alone (see
    pipeline.apply_within); a failure of the transaction itself is a
    temporary failure for each request, as nothing of it was written."""
    try:
        with writing(db):
            try:
                return _answer_all(db, requests, light=True)
            except Redo as redo:
                # A bug, or a write the database refused: the batch again, each
                # mail in a savepoint of the session's own (see apply_within).
                log.warning("writer: a batch of %d requests again, one savepoint each: %s", len(requests), redo)
                return _answer_all(db, requests, light=False)
    except TemporaryFailure as failure:
        return [("temporary", str(failure))] * len(requests)
    except Exception as error:
        if not is_transient(error):
            log.exception("writer: a batch of %d requests failed", len(requests))
        return [("temporary", f"writer: {type(error).__name__}: {error}")] * len(requests)


def _answer_all(db: Database, requests: list[tuple[str, tuple]], light: bool) -> list[tuple[str, object]]:
    with db.begin() as session:
        return [_answer_within(session, db, operation, args, light) for operation, args in requests]


def _answer_within(session: Session, db: Database, operation: str, args: tuple,
                   light: bool) -> tuple[str, object]:
    if operation == "take":
        arrival, prepared = args
        if isinstance(prepared, Prepared):
            prepared = prepared._replace(cleaned=_rows_again(prepared.cleaned))
        return "ok", take_within(session, db, arrival, prepared, light=light)
    return "temporary", f"writer: no such operation: {operation!r}"


def serve_writer(db: Database, connections: list[Connection], stop: threading.Event | None = None,
                 durable: Callable[[], None] | None = None) -> None:
    """Answer the server processes' requests until every pipe has closed, or
    at most STOP_GRACE_SECONDS after `stop` is set. Each pipe carries one
    request at a time; those waiting together are answered together (see
    answer_batch), so the busier the servers, the more mails share a commit.

    A batch's answers go out only once `durable()` (default: the log's
    fsync, see sync_log) has returned after its commit, from a thread of
    their own (AnswersAfterSync), so the next batch is worked meanwhile."""
    live = list(connections)
    stop = stop or threading.Event()
    answers = AnswersAfterSync(durable or sync_log(db))
    deadline = None
    try:
        while live and (deadline is None or time.monotonic() < deadline) and not answers.failed:
            waiting = []
            for pipe in wait(live, timeout=0.5):
                try:
                    waiting.append((pipe, pipe.recv()))
                except (EOFError, OSError):
                    live.remove(pipe)
                    answers.close_after(pipe)
            if waiting:
                replies = answer_batch(db, [request for _, request in waiting])
                answers.send_after_sync([(pipe, reply) for (pipe, _), reply in zip(waiting, replies)])
            if deadline is None and stop.is_set():
                deadline = time.monotonic() + STOP_GRACE_SECONDS
    finally:
        answers.finish()
    if answers.failed:
        # The kernel may have dropped the log's pages it could not write and
        # report the next fsync clean: no later answer could be trusted.
        raise LogSyncFailed("the database log could not be synced: the writer stops")


class LogSyncFailed(RuntimeError):
    """The write-ahead log's fsync failed: nothing committed since the last
    good one can be answered for, and the writer process ends."""


def relaxed_commits(db: Database) -> None:
    """The writer's own connections at synchronous=NORMAL: a commit writes
    the log without fsyncing it, and serve_writer fsyncs it before any
    answer (a group commit). Call before the database is first used, and
    only for a Database whose every commit is answered through serve_writer.

    Why no 250 is given for rows not on disk (sqlite.org/pragma.html#pragma_synchronous,
    sqlite.org/walformat.html, and wal.c's walCheckpoint and sqlite3WalFrames):
    - A commit is on disk once the log's frames up to its commit frame are.
      "Transactions are durable across application crashes regardless of
      the synchronous setting": a commit's frames are in the kernel when
      COMMIT returns, and an fsync of the log file (any descriptor of it)
      writes them; the answers wait for that fsync.
    - A checkpoint never loses them: "in WAL mode when synchronous is
      NORMAL, the WAL file is synchronized before each checkpoint and the
      database file is synchronized after each completed checkpoint".
      Checkpoints copy frames without changing them, and nBackfill (the
      frames copied) advances only after those syncs.
    - A log reset never overwrites them unsynced: frames are overwritten
      only when the log restarts, which SQLite allows only "when nBackfill
      equals mxFrame", i.e. after a completed checkpoint, which synced the
      log before copying and the database after. The new header is synced
      too ("the WAL file header is synchronized when a WAL file begins to be
      reused"). A later transaction never rewrites an earlier one's frames
      otherwise: it appends, and rewrites only frames of its own.
    - Frames are checked on recovery with checksums chained from the log's
      header, so no later commit survives a lost earlier one.
    - The checkpoint thread's connection must not be at synchronous=OFF
      (the only level whose checkpoints skip those syncs); it sets NORMAL.
    Other processes read a batch's rows up to one fsync (a few ms) before
    they are on disk; a power cut in that moment takes back what they saw,
    while the mails themselves were not answered and their senders retry.
    """
    @event.listens_for(db.engine, "connect")
    def normal_sync(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")


def sync_log(db: Database) -> Callable[[], None]:
    """fsync the database's write-ahead log: every frame written to it
    before the call is on disk when it returns. A no-op off SQLite, whose
    commits are durable when they return."""
    if not db.is_sqlite:
        return lambda: None
    path = f"{db.engine.url.database}-wal"

    def sync() -> None:
        # Opened each time: the log is removed when the last connection
        # closes (after a checkpoint that synced the database) and made
        # again, and a descriptor kept open would fsync the removed file.
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return  # checkpointed into the database, which was synced, and removed
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    return sync


class AnswersAfterSync:
    """Sends each batch's answers once the log holding its commit is on
    disk, in a thread of its own: its fsync (about a third of the writer's
    wall time a mail when the commit did it under the write lock) runs
    beside the next batch's work. Batches that wait together share one
    fsync. Pipes whose asker is gone are closed here too, after any answer
    queued for them, so no answer is written to a reused descriptor."""

    def __init__(self, durable: Callable[[], None]):
        self.durable = durable
        self.failed = False
        self.queue: queue.SimpleQueue[list[tuple[Connection, tuple | None]] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="answers", daemon=True)
        self.thread.start()

    def send_after_sync(self, answers: list[tuple[Connection, tuple]]) -> None:
        self.queue.put(answers)

    def close_after(self, pipe: Connection) -> None:
        self.queue.put([(pipe, None)])

    def finish(self) -> None:
        """Send what is queued, and stop the thread."""
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        more = True
        while more:
            batches = [self.queue.get()]
            while batches[-1] is not None and not self.queue.empty():
                batches.append(self.queue.get())
            more = batches[-1] is not None
            answers = [answer for batch in batches if batch is not None for answer in batch]
            self._sync_then_send(answers)

    def _sync_then_send(self, answers: list[tuple[Connection, tuple | None]]) -> None:
        if any(reply is not None for _, reply in answers) and not self.failed:
            try:
                self.durable()
            except OSError as error:
                log.critical("writer: the database log could not be synced: %s", error)
                self.failed = True
        for pipe, reply in answers:
            if reply is None:
                pipe.close()
                continue
            if self.failed:
                reply = ("temporary", "writer: the database log could not be synced")
            with contextlib.suppress(OSError):  # the asker died meanwhile
                pipe.send(reply)


def run_writer_process(pipes: list[Connection], started) -> None:
    """The writer process's body: its own database connection, and SIGTERM
    or SIGINT end it once the server processes are done (they stop too)."""
    from core.config.settings import load_settings

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    db, done = Database(load_settings()), threading.Event()
    if db.is_sqlite:
        relaxed_commits(db)
    checkpoints = checkpoint_beside(db, done)
    log.info("writer ready: the database writes of %d pipeline threads", len(pipes))
    started.set()
    try:
        serve_writer(db, pipes, stop)
    finally:
        done.set()
        checkpoints.join(CHECKPOINT_SECONDS * 10)


# How often the writer process copies the WAL into the database, beside the writes.
CHECKPOINT_SECONDS = 0.25


def checkpoint_beside(db: Database, stop: threading.Event) -> threading.Thread:
    """Copy the write-ahead log into the database in a thread of its own,
    until `stop`; call before the database is first used.

    SQLite checkpoints inside the commit that fills the log past 1000 pages,
    so one write in a few dozen waited 10-15 ms for the copy and its fsync,
    and every server process's mail waited behind it (0.65 ms per mail in
    all). The writer's connections leave that to this thread, whose passive
    checkpoints run beside the writes without blocking them. Other
    processes' connections keep SQLite's automatic checkpoint.

    A passive checkpoint never catches up with a writer that commits every
    few milliseconds, and SQLite starts the log over only once it has: under
    a steady stream of mail the log grew by 100 KB a mail (230 MB in a bench
    round beside a 6 MB database), and every commit had the file extended,
    which made it twice as slow. So each passive checkpoint is followed by a
    RESTART, taken in turn with the writes, which copies the few frames left
    and has the next commit write the log from its start. It waits for
    readers of the old frames at most RESTART_WAIT_MS, and tries again next
    time.
    """
    @event.listens_for(db.engine, "connect")
    def no_checkpoint_in_commits(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")

    def run() -> None:
        # A connection of its own (outside the pool), autocommit: a
        # checkpoint runs outside any transaction, and waits only briefly.
        connection = sqlite3.connect(db.engine.url.database, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        # Not OFF, whatever the build's default: at OFF a checkpoint would
        # skip the syncs that relaxed_commits counts on.
        connection.execute("PRAGMA synchronous=NORMAL")
        try:
            while not stop.wait(CHECKPOINT_SECONDS):
                _checkpoint(db, connection)
            _checkpoint(db, connection)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="checkpoint", daemon=True)
    thread.start()
    return thread


# How long a RESTART checkpoint waits for the write lock and for readers of
# old frames; writers wait behind it meanwhile.
RESTART_WAIT_MS = 10


def _checkpoint(db: Database, connection: sqlite3.Connection) -> None:
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        # In the writers' queue (see core.storage.writelock): SQLite's own busy
        # handler polls, and would hardly ever find the writer between batches.
        with writing(db):
            connection.execute("PRAGMA wal_checkpoint(RESTART)")
    except (sqlite3.Error, WriteLockTimeout) as error:
        log.warning("checkpoint failed: %s", error)
