"""One delivery pass over the outbox: claim due rows, render, send, record.

Guarantee: at least once. A row is claimed (locked_until set) in a short
transaction, sent, then marked sent. A worker killed between sending and
marking leaves the lock; once it expires (core.outbox.LEASE) the row is due
again and is sent a second time, with the same Message-ID, which mail
clients de-duplicate. A row is never lost and never sent by two live
workers at once.
"""
from __future__ import annotations

import time
from email.message import EmailMessage
from dataclasses import dataclass
from datetime import datetime

from core import outbox
from core.db import Database
from core.models import Outbox, OutboxStatus, utcnow
from mailout.render import render
from mailout.transport import DeliveryFailure, Transport, transport_for

BATCH = 200
# Sent rows are marked in groups, to keep the database off the critical path;
# a crash loses at most one group's marks, which the lease then re-sends.
MARK_EVERY = 50
# A pass stops claiming new batches after this long, so beat's next pass
# (and other workers) share the work and a pass never runs unbounded.
PASS_SECONDS = 60.0


@dataclass
class PassReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, other: "PassReport") -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed


def deliver_due(db: Database, now: datetime | None = None, *, transport: Transport | None = None,
                batch: int = BATCH) -> PassReport:
    """Deliver every due outbox row once, over one transport connection."""
    now = now or utcnow()
    report = PassReport()
    started = time.monotonic()
    with transport or transport_for(db.settings) as channel:
        while time.monotonic() - started < PASS_SECONDS:
            with db.begin() as session:
                ids = outbox.claim_due(session, now, batch)
            if not ids:
                break
            report.add(_deliver_batch(db, ids, channel, now))
            if len(ids) < batch:
                break
    return report


def _deliver_batch(db: Database, ids: list[int], channel: Transport, now: datetime) -> PassReport:
    report = PassReport()
    sent: list[int] = []
    unreachable: DeliveryFailure | None = None
    for outbox_id in ids:
        if unreachable is not None:
            _record_failure(db, outbox_id, unreachable, now, report)
            continue
        try:
            channel.send(*_render_one(db, outbox_id, now))
        except DeliveryFailure as failure:
            unreachable = failure if failure.unreachable else None
            _record_failure(db, outbox_id, failure, now, report)
            continue
        sent.append(outbox_id)
        if len(sent) >= MARK_EVERY:
            report.sent += _mark(db, sent, now)
    report.sent += _mark(db, sent, now)
    return report


def _render_one(db: Database, outbox_id: int, now: datetime) -> tuple[EmailMessage, str, str]:
    # A short read of its own: on SQLite every transaction holds the write
    # lock, so a session kept open across sends would block the marking.
    with db.session() as reader:
        row = reader.get(Outbox, outbox_id)
        try:
            mail = render(reader, db.settings, row, now)
        except Exception as exc:  # a broken admin template must not stop the pass
            raise DeliveryFailure(f"cannot render {row.template!r}: {type(exc).__name__}: {exc}") from exc
        return mail, db.settings.address, row.to_address


def _mark(db: Database, sent: list[int], now: datetime) -> int:
    count = len(sent)
    if sent:
        with db.begin() as session:
            outbox.mark_sent(session, sent, now)
        sent.clear()
    return count


def _record_failure(db: Database, outbox_id: int, failure: DeliveryFailure, now: datetime,
                    report: PassReport) -> None:
    with db.begin() as session:
        row = outbox.mark_failed(session, outbox_id, str(failure), now, permanent=failure.permanent)
        if row.status is OutboxStatus.failed:
            report.failed += 1
        else:
            report.retrying += 1
