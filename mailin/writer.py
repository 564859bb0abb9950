"""One process that makes the pipeline's writes for every SMTP server process.

SQLite takes one writer at a time. When each server process wrote for
itself, the write lock's holder shared its interpreter with that process's
SMTP sessions and parsing, so the lock was held for four times as long as
the writes took. With `helpdesk smtpd --processes N` on SQLite, the server
processes receive, parse and clean, and send what is left to do, the
message's bytes with it, to this process, which does nothing else (see
`serve_writer`).

Each pipeline thread of a server process has a pipe of its own to the
writer (a pool in `RemoteWriter`): a request is one (operation, arguments)
tuple, one per mail, the answer ("ok", value) or ("temporary", why). The
pipes are made by the process that starts both ends, so nothing else can
write to them: what crosses them is pickled. Requests that wait together
are written in one transaction, so one commit and its fsync serve them all.
"""
from __future__ import annotations

import contextlib
import logging
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
    commit, and one fsync, for all of them. Every answer waits for that commit.
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


def serve_writer(db: Database, connections: list[Connection], stop: threading.Event | None = None) -> None:
    """Answer the server processes' requests until every pipe has closed, or
    at most STOP_GRACE_SECONDS after `stop` is set. Each pipe carries one
    request at a time; those waiting together are answered together (see
    answer_batch), so the busier the servers, the more mails share a commit."""
    live = list(connections)
    stop = stop or threading.Event()
    deadline = None
    while live and (deadline is None or time.monotonic() < deadline):
        waiting = []
        for pipe in wait(live, timeout=0.5):
            try:
                waiting.append((pipe, pipe.recv()))
            except (EOFError, OSError):
                live.remove(pipe)
                pipe.close()
        if waiting:
            for (pipe, _), reply in zip(waiting, answer_batch(db, [request for _, request in waiting])):
                with contextlib.suppress(OSError):  # the asker died meanwhile
                    pipe.send(reply)
        if deadline is None and stop.is_set():
            deadline = time.monotonic() + STOP_GRACE_SECONDS


def run_writer_process(pipes: list[Connection], started) -> None:
    """The writer process's body: its own database connection, and SIGTERM
    or SIGINT end it once the server processes are done (they stop too)."""
    from core.config.settings import load_settings

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    db, done = Database(load_settings()), threading.Event()
    checkpoints = checkpoint_beside(db, done)
    log.info("writer ready: the database writes of %d pipeline threads", len(pipes))
    started.set()
    serve_writer(db, pipes, stop)
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
