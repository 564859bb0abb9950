"""The deliveries waiting to be POSTed: queued in the caller's transaction,
claimed and retried like the mail outbox (same backoff, same lease).

Order: a delivery is due only when no earlier delivery to the same endpoint
about the same ticket is still pending, so a receiver sees a ticket's events
in the order of its changes even when one of them needed retries.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Row, exists, insert, select, update
from sqlalchemy.orm import Session, aliased

from core.models import Channel, HookDelivery, OutboxStatus, Webhook, utcnow
from core.storage.fast import write_plain
from core.storage.retries import LEASE, count_failure

# Built once: the mail path may queue deliveries for every change.
INSERT_DELIVERY = insert(HookDelivery.__table__)


def enqueue(session: Session, *, channel: Channel, endpoint: str, event: str, body: dict,
            ticket_id: int | None = None, webhook_id: int | None = None, now: datetime | None = None) -> str:
    """Queue one POST; returns its delivery id (the receiver's key for spotting
    a repeat). A webhook's body also carries it as "id"; a chat provider's
    body is sent as given, since their formats are fixed."""
    now = now or utcnow()
    delivery_id = str(uuid.uuid4())
    if channel is Channel.webhook:
        body = {"id": delivery_id, **body}
    write_plain(session.connection(), INSERT_DELIVERY, {
        "delivery_id": delivery_id, "channel": channel.value, "endpoint": endpoint[:2000],
        "webhook_id": webhook_id, "ticket_id": ticket_id, "event": event,
        "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str),
        "created_at": now, "status": OutboxStatus.pending.value, "attempts": 0, "next_attempt_at": now,
        "locked_until": None, "last_error": None, "sent_at": None,
    })
    return delivery_id


_EARLIER = aliased(HookDelivery)
CLAIMED_COLUMNS = (HookDelivery.id, HookDelivery.delivery_id, HookDelivery.channel, HookDelivery.endpoint,
                   HookDelivery.webhook_id, HookDelivery.ticket_id, HookDelivery.event, HookDelivery.body)


def claim_due(session: Session, now: datetime, limit: int = 100, lease: timedelta = LEASE) -> list[Row]:
    """Lock up to `limit` due deliveries whose earlier siblings (same endpoint,
    same ticket) are done; plain rows of CLAIMED_COLUMNS. A short transaction
    of its own, as core.mail.outbox.claim_due_rows."""
    blocked = exists().where(_EARLIER.endpoint == HookDelivery.endpoint, _EARLIER.ticket_id == HookDelivery.ticket_id,
                             _EARLIER.status == OutboxStatus.pending, _EARLIER.id < HookDelivery.id)
    query = (select(*CLAIMED_COLUMNS)
             .where(HookDelivery.status == OutboxStatus.pending, HookDelivery.next_attempt_at <= now,
                    (HookDelivery.locked_until.is_(None)) | (HookDelivery.locked_until <= now), ~blocked)
             .order_by(HookDelivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=HookDelivery)
    rows = list(session.execute(query))
    if rows:
        session.execute(update(HookDelivery).where(HookDelivery.id.in_([row.id for row in rows]))
                        .values(locked_until=now + lease))
    return rows


def mark_sent(session: Session, delivery_pk: int, now: datetime) -> None:
    session.execute(update(HookDelivery).where(HookDelivery.id == delivery_pk,
                                               HookDelivery.status == OutboxStatus.pending)
                    .values(status=OutboxStatus.sent, sent_at=now, locked_until=None, last_error=None))


def mark_failed(session: Session, delivery_pk: int, error: str, now: datetime, *,
                permanent: bool = False) -> HookDelivery:
    """A failed attempt: again after the next backoff step, or given up after
    the last one (or at once on a permanent refusal)."""
    return count_failure(session.get(HookDelivery, delivery_pk), error, now, permanent=permanent)


def give_up_pending(session: Session, webhook_id: int, reason: str) -> int:
    """Fail every pending delivery of a webhook (it was disabled or removed)."""
    return session.execute(update(HookDelivery).where(HookDelivery.webhook_id == webhook_id,
                                                      HookDelivery.status == OutboxStatus.pending)
                           .values(status=OutboxStatus.failed, last_error=reason, locked_until=None)).rowcount


def detach(session: Session, webhook_id: int) -> None:
    """Keep a removed webhook's deliveries as a record, no longer tied to it."""
    session.execute(update(HookDelivery).where(HookDelivery.webhook_id == webhook_id).values(webhook_id=None))


# "Is any webhook enabled?", per database, with when it was read. The mail
# path asks for every change; the answer is cached for a few seconds so an
# installation without webhooks pays one tiny query per process per TTL.
# Changes made in this process clear it at once (forget_enabled); another
# process sees a new webhook within TTL seconds.
ENABLED_TTL = 2.0
_ENABLED = select(Webhook.id).where(Webhook.enabled.is_(True)).limit(1)
_enabled_cache: dict[object, tuple[float, bool]] = {}


def any_enabled(session: Session) -> bool:
    key = session.get_bind().engine.url
    cached = _enabled_cache.get(key)
    clock = time.monotonic()
    if cached is not None and cached[0] > clock:
        return cached[1]
    answer = session.execute(_ENABLED).first() is not None
    _enabled_cache[key] = (clock + ENABLED_TTL, answer)
    return answer


def forget_enabled() -> None:
    _enabled_cache.clear()


def enabled_for(session: Session, event: str) -> list[tuple[int, str]]:
    """(id, url) of the enabled webhooks that want this event."""
    rows = session.execute(select(Webhook.id, Webhook.url, Webhook.events).where(Webhook.enabled.is_(True))
                           .order_by(Webhook.id))
    return [(row.id, row.url) for row in rows if event in row.events.split()]
