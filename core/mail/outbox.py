"""Queueing mail: a row in the outbox, in the caller's transaction.

mailout renders and delivers rows later; because the row commits with the
change that caused it, a crash never sends a mail about a change that did
not happen, nor loses one about a change that did.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Row, or_, select, update
from sqlalchemy.orm import Session

from core.config.settings import Settings
from core.mail.msgids import make_message_id
from core.models import Outbox, OutboxStatus, Ticket, utcnow
from core.storage.fast import insert_now, new
from core.storage.retries import LEASE, count_failure


def enqueue(session: Session, settings: Settings, *, template: str, to: str, ticket: Ticket | None = None,
            context: dict | None = None, language: str = "id", automatic: bool = True,
            in_reply_to: str | None = None, references: str | None = None,
            now: datetime | None = None, suppressed: str | None = None, cc: tuple[str, ...] = (),
            message_id: str | None = None, key: int | None = None) -> Outbox:
    """Write the row at once (see core.storage.fast); `suppressed`: why it is held
    back, recorded as its error, and it is never sent; `cc`: further recipients;
    `message_id`: the mail's Message-ID when the caller made it (else a new one);
    `key`: its id, if reserved (core.storage.fast.next_keys)."""
    ref = ticket.ref if ticket is not None else "HD-NOTICE"
    row = new(
        Outbox, id=key, ticket_id=ticket.id if ticket is not None else None,
        template=template,
        context=json.dumps(context or {}, default=str),
        language=language,
        to_address=to.lower(),
        cc=", ".join(address.lower() for address in cc) or None,
        message_id=message_id or make_message_id(ref, settings.secret_key, settings.domain),
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
        created_at=now or utcnow(),
        next_attempt_at=now or utcnow(),
    )
    if suppressed is not None:
        row.status, row.last_error = OutboxStatus.suppressed, suppressed
    insert_now(session, row)
    return row


# What delivering a row reads of it, returned by the claim so nothing is read twice.
CLAIMED_COLUMNS = (Outbox.id, Outbox.ticket_id, Outbox.template, Outbox.context, Outbox.language,
                   Outbox.to_address, Outbox.cc, Outbox.message_id, Outbox.in_reply_to, Outbox.references, Outbox.automatic)


def claim_due_rows(session: Session, now: datetime, limit: int = 200, lease: timedelta = LEASE) -> list[Row]:
    """Lock up to `limit` due rows for one delivery pass; returns them as plain
    rows of CLAIMED_COLUMNS (no ORM objects: a pass handles thousands).

    Call in a short transaction of its own. On PostgreSQL, SKIP LOCKED lets
    concurrent workers claim disjoint rows without waiting; on SQLite every
    transaction takes the write lock at BEGIN, so claims run one after another.
    """
    query = (select(*CLAIMED_COLUMNS)
             .where(Outbox.status == OutboxStatus.pending, Outbox.next_attempt_at <= now,
                    or_(Outbox.locked_until.is_(None), Outbox.locked_until <= now))
             .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.execute(query))
    if rows:
        session.execute(update(Outbox).where(Outbox.id.in_([row.id for row in rows]))
                        .values(locked_until=now + lease))
    return rows


def claim_due(session: Session, now: datetime, limit: int = 200, lease: timedelta = LEASE) -> list[int]:
    """claim_due_rows, for callers that want only the ids."""
    return [row.id for row in claim_due_rows(session, now, limit, lease)]


def mark_sent(session: Session, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(update(Outbox).where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.pending)
                        .values(status=OutboxStatus.sent, sent_at=now, locked_until=None, last_error=None))


def mark_failed(session: Session, outbox_id: int, error: str, now: datetime, *, permanent: bool = False) -> Outbox:
    """Count a failed attempt: try again after the next backoff step, or give up
    (status failed, shown to admins) after the last one or on a permanent refusal."""
    return count_failure(session.get(Outbox, outbox_id), error, now, permanent=permanent)
