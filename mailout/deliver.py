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
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import outbox
from core.db import Database
from core.models import Outbox, OutboxStatus, Ticket, utcnow
from mailout.render import render
from mailout.transport import DeliveryFailure, Transport, transport_for

BATCH = 200
# Sent rows are marked in groups, to keep the database off the critical path;
# a crash loses at most one group's marks, which the lease then re-sends.
MARK_EVERY = 50
# Rows rendered per short read of the database.
RENDER_CHUNK = 25
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
    for start in range(0, len(ids), RENDER_CHUNK):
        for outbox_id, mail, to in _render_chunk(db, ids[start:start + RENDER_CHUNK], now):
            if unreachable is None and isinstance(mail, EmailMessage):
                try:
                    channel.send(mail, db.settings.address, to)
                    sent.append(outbox_id)
                    continue
                except DeliveryFailure as failure:
                    mail, unreachable = failure, failure if failure.unreachable else None
            _record_failure(db, outbox_id, unreachable or mail, now, report)
        if len(sent) >= MARK_EVERY:
            report.sent += _mark(db, sent, now)
    report.sent += _mark(db, sent, now)
    return report


def _render_chunk(db: Database, ids: list[int], now: datetime) -> list[tuple[int, EmailMessage | DeliveryFailure, str]]:
    """Render a few rows in one short read. On SQLite every transaction holds
    the write lock, so the read must end before the sends (and the marking)."""
    with db.session() as reader:
        rows = list(reader.scalars(select(Outbox).where(Outbox.id.in_(ids)).order_by(Outbox.id)))
        # Loaded together, the tickets are in the identity map when render asks
        # for them; the list holds them there (the map keeps weak references).
        tickets = reader.scalars(select(Ticket).where(Ticket.id.in_({r.ticket_id for r in rows if r.ticket_id}))).all()
        rendered = [(row.id, _render_or_failure(reader, db, row, now), row.to_address) for row in rows]
        del tickets
        return rendered


def _render_or_failure(reader: Session, db: Database, row: Outbox, now: datetime) -> EmailMessage | DeliveryFailure:
    try:
        return render(reader, db.settings, row, now)
    except Exception as exc:  # a broken admin template must not stop the pass
        return DeliveryFailure(f"cannot render {row.template!r}: {type(exc).__name__}: {exc}")


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
