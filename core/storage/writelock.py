"""One SQLite writer at a time across the threads and processes of one
machine (see WriterLock); PostgreSQL locks rows and needs none of it."""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import weakref
from typing import Iterator

from core.storage.db import Database


class WriteLockTimeout(TimeoutError):
    """The write lock stayed taken longer than the database's busy timeout:
    trouble that may pass (core.storage.db.is_transient says so)."""


class WriterLock:
    """One SQLite writer at a time, across the threads and processes of the
    mail servers. Writers would queue on SQLite's busy handler anyway, but it
    polls with sleeps growing to 100 ms, so under load the lock sits free while
    everyone sleeps; this lock hands over at once. Threads queue on a thread
    lock, then one thread per process polls an flock on a file beside the
    database (released by the kernel if its holder dies). Waiting longer than
    the database's busy timeout raises WriteLockTimeout (for mail: the sender retries)."""

    POLL_SECONDS = 0.0005

    def __init__(self, path: str | None, timeout: float):
        self.threads = threading.Lock()
        self.path, self.timeout = path, timeout
        self.fd: int | None = None

    def __del__(self):
        if self.fd is not None:
            os.close(self.fd)

    @contextlib.contextmanager
    def held(self):
        deadline = time.monotonic() + self.timeout
        if not self.threads.acquire(timeout=self.timeout):
            raise WriteLockTimeout(f"waited {self.timeout:g} s for the database write lock")
        try:
            if self.path is None:
                yield
                return
            self._lock_file(deadline)
            try:
                yield
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()

    def _lock_file(self, deadline: float) -> None:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WriteLockTimeout(f"waited {self.timeout:g} s for the database write lock") from None
                time.sleep(self.POLL_SECONDS)


_writer_locks: weakref.WeakKeyDictionary[Database, WriterLock] = weakref.WeakKeyDictionary()
_locks_lock = threading.Lock()
# As long as core.storage.db's busy timeout: a writer never gives up sooner here than there.
WRITER_TIMEOUT_SECONDS = 30.0


def writer_lock(db: Database) -> WriterLock:
    with _locks_lock:
        lock = _writer_locks.get(db)
        if lock is None:
            database = db.engine.url.database
            path = f"{database}.writer-lock" if database and database != ":memory:" else None
            lock = _writer_locks[db] = WriterLock(path, WRITER_TIMEOUT_SECONDS)
        return lock


@contextlib.contextmanager
def writing(db: Database) -> Iterator[None]:
    """On SQLite, one writer at a time (see WriterLock); PostgreSQL locks rows."""
    if not db.is_sqlite:
        yield
        return
    with writer_lock(db).held():
        yield
