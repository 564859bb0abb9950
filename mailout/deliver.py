"""One delivery pass over the outbox: claim due rows, render, send, record.

Guarantee: at least once. A row is claimed (locked_until set) in a short
transaction, sent, then marked sent. A worker killed between sending and
marking leaves the lock; once it expires (core.storage.retries.LEASE) the row is due
again and is sent a second time, with the same Message-ID, which mail
clients de-duplicate. A row is never lost and never sent by two live
workers at once.

On SQLite the pass's writes (the claim, the marks) queue for the write lock
with the mail servers' (core.storage.writelock), which hands it over at once,
and the mail is rendered in a reader's transaction, which takes no lock: a
pass running through a wave of mail does not hold up the mail it answers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session, lazyload, load_only

from core.mail import outbox
from core.models import OutboxStatus, Ticket, utcnow
from core.storage.db import Database
from core.storage.writelock import writing
from mailout.dkim import Signer, signer_for
from mailout.render import OutgoingMail, Renderer
from mailout.transport import DeliveryFailure, Transport, transport_for

BATCH = 200
# Sent rows are marked in groups, to keep the database off the critical path;
# a crash loses at most one group's marks, which the lease then re-sends.
MARK_EVERY = 50
# Rows rendered per short read of the database (50 rows render in about 10 ms).
RENDER_CHUNK = 50
# A pass stops claiming new batches after this long, so beat's next pass
# (and other workers) share the work and a pass never runs unbounded.
PASS_SECONDS = 60.0
# A chunk's tickets with only what rendering reads (mailout.render.context_of
# and link_of): the eager joins of Ticket (office, assignee, priority) cost
# more than the mail. Anything else a site's own template asks for still
# loads, lazily, in the same read. Built once: only the ids change.
TICKETS = (select(Ticket).where(Ticket.id.in_(bindparam("ids", expanding=True)))
           .options(lazyload("*"), load_only(Ticket.id, Ticket.ref, Ticket.subject, Ticket.requester_email,
                                             Ticket.token_nonce)))


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
    renderer = Renderer(db.settings, now)
    signer = signer_for(db.settings)
    with transport or transport_for(db.settings) as channel:
        while time.monotonic() - started < PASS_SECONDS:
            with writing(db), db.begin() as session:
                rows = outbox.claim_due_rows(session, now, batch)
            if not rows:
                break
            report.add(_deliver_batch(db, renderer, rows, channel, now, signer))
            if len(rows) < batch:
                break
    return report


def _deliver_batch(db: Database, renderer: Renderer, rows: list[Row], channel: Transport,
                   now: datetime, signer: Signer | None = None) -> PassReport:
    """Send a batch of claimed rows; each mail is DKIM-signed just before it
    goes (when a key is configured), after rendering and outside any transaction."""
    report = PassReport()
    sent: list[int] = []
    unreachable: DeliveryFailure | None = None
    for start in range(0, len(rows), RENDER_CHUNK):
        for outbox_id, mail, to, cc in _render_chunk(db, renderer, rows[start:start + RENDER_CHUNK]):
            if unreachable is None and isinstance(mail, OutgoingMail):
                try:
                    channel.send(signer.sign(mail) if signer else mail, db.settings.address, to, cc=cc)
                    sent.append(outbox_id)
                    continue
                except DeliveryFailure as failure:
                    mail, unreachable = failure, failure if failure.unreachable else None
            _record_failure(db, outbox_id, unreachable or mail, now, report)
        if len(sent) >= MARK_EVERY:
            report.sent += _mark(db, sent, now)
    report.sent += _mark(db, sent, now)
    return report


# Outbox id, the mail or why not, recipient, those copied.
Rendered = tuple[int, OutgoingMail | DeliveryFailure, str, tuple[str, ...]]


def _render_chunk(db: Database, renderer: Renderer, rows: list[Row]) -> list[Rendered]:
    """Render a few claimed rows in one short read (their tickets, in one
    query), a reader's (Database.read): on SQLite it takes no write lock, so
    the mail servers' writes go on while the mail is rendered."""
    with db.read() as reader:
        tickets = _tickets(reader, {row.ticket_id for row in rows if row.ticket_id})
        return [(row.id, _render_or_failure(reader, renderer, row, tickets.get(row.ticket_id)), row.to_address,
                 tuple(address.strip() for address in row.cc.split(",")) if row.cc else ())
                for row in rows]


def _tickets(reader: Session, ids: set[int]) -> dict[int, Ticket]:
    if not ids:
        return {}
    return {ticket.id: ticket for ticket in reader.scalars(TICKETS, {"ids": sorted(ids)})}


def _render_or_failure(reader: Session, renderer: Renderer, row: Row,
                       ticket: Ticket | None) -> OutgoingMail | DeliveryFailure:
    try:
        return renderer.render(reader, row, ticket)
    except Exception as exc:  # a broken admin template must not stop the pass
        return DeliveryFailure(f"cannot render {row.template!r}: {type(exc).__name__}: {exc}")


def _mark(db: Database, sent: list[int], now: datetime) -> int:
    count = len(sent)
    if sent:
        with writing(db), db.begin() as session:
            outbox.mark_sent(session, sent, now)
        sent.clear()
    return count


def _record_failure(db: Database, outbox_id: int, failure: DeliveryFailure, now: datetime,
                    report: PassReport) -> None:
    with writing(db), db.begin() as session:
        row = outbox.mark_failed(session, outbox_id, str(failure), now, permanent=failure.permanent)
        if row.status is OutboxStatus.failed:
            report.failed += 1
        else:
            report.retrying += 1
