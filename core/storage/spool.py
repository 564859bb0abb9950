"""The raw mail spool: a message's bytes in the database until they are in the content store.

The pipeline's step 2 writes a message's bytes (`spool`) beside its RawMail
row, in the transaction that decides the message, so the commit before the
250 makes both durable at once: no file, fsync and rename of its own on the
mail's path (see core.models.RawContent). `move` takes them into the content
store (core.storage.files) off that path, a batch at a time, and deletes
their rows; `raw_bytes` reads a message's bytes wherever they are.

A message's bytes are always in the spool, the store or both: a row is
deleted only once its file is on disk under its name, and the store keeps
the same bytes once however often they are put, so a mover stopped anywhere
and started again loses nothing and doubles nothing. Two movers at once
write the same files and delete the same rows, which is harmless.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Callable, NamedTuple

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.orm import Session

from core.models import RawContent, RawMail
from core.storage.db import Database
from core.storage.fast import write_plain
from core.storage.files import Store
from core.storage.writelock import writing

log = logging.getLogger("helpdesk.spool")

_SPOOL = insert(RawContent.__table__)  # built once: every mail runs it
# A batch read at once holds at most this many bytes of mail in memory (and
# at least one message, however large).
BATCH_BYTES = 16 * 1024 * 1024
BATCH_ROWS = 200


def spool(connection: Connection, raw_mail_id: int, content: bytes) -> None:
    """Write a message's bytes beside its RawMail row, in the caller's transaction."""
    write_plain(connection, _SPOOL, {"raw_mail_id": raw_mail_id, "content": content})


def raw_bytes(session: Session, store: Store, raw: RawMail) -> bytes | None:
    """A message's bytes: from the spool while they wait there, else from
    the store; None when neither has them (a store restored without them)."""
    content = session.scalar(select(RawContent.content).where(RawContent.raw_mail_id == raw.id))
    if content is not None:
        return content
    # Not spooled (any more): a mover deletes the row only once the file is there.
    try:
        return store.get(raw.sha256)
    except FileNotFoundError:
        return None


def spooled(db: Database) -> int:
    """How many messages' bytes wait in the spool."""
    with db.read() as session:
        return waiting(session)[0]


def waiting(session: Session) -> tuple[int, datetime | None]:
    """How many messages' bytes wait in the spool, and when the oldest of
    them was received (None when none wait). The spool holds a few seconds
    of mail while the worker runs; older mail there means it does not, or
    the store cannot be written."""
    count, oldest = session.execute(
        select(func.count(), func.min(RawMail.received_at)).select_from(RawContent)
        .join(RawMail, RawMail.id == RawContent.raw_mail_id)).one()
    return count, oldest


def move(db: Database, store: Store, *, seconds: float = 30.0,
         storing: Callable[[Callable[[], Moved]], Moved] = lambda work: work()) -> int:
    """Move spooled bytes into the store, oldest first, a batch at a time,
    until none are left or `seconds` have passed; returns how many messages
    were moved. A store that cannot be written raises (OSError), with the
    bytes still spooled.

    `storing` runs each batch's read and file writes, the bulk of the work
    (the worker runs them at a lower CPU priority: tasks.priority). The
    batch's rows are deleted by the caller's thread, at its priority: the
    delete holds the database's write lock, which the mail servers' writer
    waits for, and a thread that other work may preempt would hold it long."""
    moved, after, deadline = 0, 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        last, done = storing(lambda: _store_next(db, store, after))
        if last is None:
            break
        if done:
            with writing(db), db.begin() as session:
                session.execute(delete(RawContent).where(RawContent.raw_mail_id.in_(done))
                                .execution_options(synchronize_session=False))
        moved, after = moved + len(done), last
    return moved


class Moved(NamedTuple):
    last: int | None  # the last raw mail read; None: the spool had nothing after `after`
    stored: list[int]  # the raw mails whose bytes are in the store now


def _store_next(db: Database, store: Store, after: int) -> Moved:
    batch = _next_batch(db, after)
    if not batch:
        return Moved(None, [])
    return Moved(batch[-1][0], _put(store, batch))


def _next_batch(db: Database, after: int) -> list[tuple[int, bytes, str]]:
    """The oldest spooled messages after raw mail `after`, with their bytes and digests:
    at most BATCH_ROWS of them and BATCH_BYTES in all (but at least one)."""
    with db.read() as session:
        sizes = session.execute(
            select(RawContent.raw_mail_id, RawMail.size).join(RawMail, RawMail.id == RawContent.raw_mail_id)
            .where(RawContent.raw_mail_id > after).order_by(RawContent.raw_mail_id).limit(BATCH_ROWS)).all()
        wanted, total = [], 0
        for raw_mail_id, size in sizes:
            total += size
            if wanted and total > BATCH_BYTES:
                break
            wanted.append(raw_mail_id)
        if not wanted:
            return []
        # Another mover may have taken some meanwhile: those are not read again.
        return list(session.execute(
            select(RawContent.raw_mail_id, RawContent.content, RawMail.sha256)
            .join(RawMail, RawMail.id == RawContent.raw_mail_id)
            .where(RawContent.raw_mail_id.in_(wanted)).order_by(RawContent.raw_mail_id)).all())


def _put(store: Store, batch: list[tuple[int, bytes, str]]) -> list[int]:
    """A batch's bytes into the store at once (Store.put_many: two flushes of
    the file system, not two fsyncs a mail); the ids of those stored. Bytes
    that are not what their row's digest says are logged and stay spooled
    for a person to look at."""
    stored = []
    for (raw_mail_id, _content, sha256), digest in zip(batch, store.put_many(row[1] for row in batch)):
        if digest == sha256:
            stored.append(raw_mail_id)
        else:
            log.error("raw mail %s: its spooled bytes do not match its digest; kept in the spool", raw_mail_id)
    return stored
