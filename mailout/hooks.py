"""One delivery pass over the queued webhook and chat deliveries: claim, POST,
record. The same guarantees as the mail outbox (mailout.deliver): at least
once, the same delivery id and the same bytes on every attempt, retried with
the outbox's backoff; a delivery waits for the earlier ones to its endpoint
about its ticket (core.hooks.queue.claim_due).

A webhook's POST carries X-Helpdesk-Event, X-Helpdesk-Delivery and
X-Helpdesk-Signature: sha256=<hex HMAC-SHA256 of the raw body under its
secret>. A webhook that fails every attempt for a day is disabled and the
admins are told (core.mail.hook_health).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import Row
from sqlalchemy.orm import Session

from core.config.settings import Settings
from core.hooks import chat, queue
from core.hooks.sealing import InvalidToken
from core.hooks.webhooks import secret_of
from core.mail import hook_health
from core.models import Channel, OutboxStatus, Ticket, Webhook, utcnow
from core.storage.db import Database
from core.storage.writelock import writing
from core.tickets.intake import link_of
from mailout.deliver import PASS_SECONDS, PassReport

log = logging.getLogger(__name__)
BATCH = 100
# A receiver gets this long to answer; a slow one is retried like a dead one.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Helpdesk-Hooks/1"


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


class Undeliverable(Exception):
    """The delivery cannot be made at all (its webhook is gone, WhatsApp is
    not configured): failed at once, without retries."""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver_hooks_due(db: Database, now: datetime | None = None, *, client: httpx.Client | None = None,
                      batch: int = BATCH) -> PassReport:
    """POST every due delivery once. Claims again after each batch, since a
    sent delivery lets the next one about its ticket go; a claimed row stays
    locked for the lease, so no row is tried twice in a pass."""
    now = now or utcnow()
    report = PassReport()
    started = time.monotonic()
    with client or httpx.Client(timeout=TIMEOUT, follow_redirects=False) as http:
        while time.monotonic() - started < PASS_SECONDS:
            with writing(db), db.begin() as session:
                rows = queue.claim_due(session, now, batch)
            if not rows:
                break
            for row in rows:
                _deliver_one(db, http, row, now, report)
    return report


def _deliver_one(db: Database, http: httpx.Client, row: Row, now: datetime, report: PassReport) -> None:
    try:
        with db.read() as reader:
            request = build_request(reader, db.settings, row)
    except Undeliverable as exc:
        _record(db, row, str(exc), now, report, permanent=True)
        return
    try:
        response = http.post(request.url, content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        _record(db, row, f"{type(exc).__name__}: {exc}", now, report)
        return
    if response.is_success:
        with writing(db), db.begin() as session:
            queue.mark_sent(session, row.id, now)
            if row.webhook_id is not None:
                hook_health.succeeded(session, row.webhook_id)
        report.sent += 1
        return
    _record(db, row, f"HTTP {response.status_code}: {response.text[:300]}", now, report,
            permanent=_refused_for_good(row.channel, response.status_code))


def _refused_for_good(channel: Channel, status: int) -> bool:
    """A chat provider's 4xx means the request is wrong and will stay wrong;
    a webhook receiver's answer is retried, whatever it is, until the
    endpoint is disabled."""
    return channel is not Channel.webhook and 400 <= status < 500 and status not in (408, 429)


def _record(db: Database, row: Row, error: str, now: datetime, report: PassReport, *, permanent: bool = False) -> None:
    with writing(db), db.begin() as session:
        failed = queue.mark_failed(session, row.id, error, now, permanent=permanent)
        if row.webhook_id is not None and not permanent:
            hook_health.failed(session, db.settings, row.webhook_id, error, now)
        if failed.status is OutboxStatus.failed:
            report.failed += 1
        else:
            report.retrying += 1
    log.warning("delivery %s (%s) to %s failed: %s", row.delivery_id, row.event, row.endpoint, error)


def build_request(reader: Session, settings: Settings, row: Row) -> Request:
    """The URL, headers and exact body of a delivery."""
    base = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if row.channel is Channel.webhook:
        return _webhook_request(reader, settings, row, base)
    if row.channel is Channel.whatsapp:
        return _whatsapp_request(reader, settings, row, base)
    return Request(row.endpoint, base, row.body.encode())


def _webhook_request(reader: Session, settings: Settings, row: Row, headers: dict[str, str]) -> Request:
    webhook = reader.get(Webhook, row.webhook_id) if row.webhook_id is not None else None
    if webhook is None or not webhook.enabled:
        raise Undeliverable("the webhook was removed or disabled")
    try:
        secret = secret_of(settings, webhook)
    except InvalidToken:
        raise Undeliverable("the webhook's secret was sealed under another secret key") from None
    body = row.body.encode()
    return Request(webhook.url, {**headers, "X-Helpdesk-Event": row.event, "X-Helpdesk-Delivery": row.delivery_id,
                                 "X-Helpdesk-Signature": sign(secret, body)}, body)


def _whatsapp_request(reader: Session, settings: Settings, row: Row, headers: dict[str, str]) -> Request:
    if not settings.whatsapp_on:
        raise Undeliverable("WhatsApp is not configured (HELPDESK_WHATSAPP_TOKEN, HELPDESK_WHATSAPP_PHONE_ID)")
    ticket = reader.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    if ticket is None or not ticket.token_nonce:
        raise Undeliverable("the ticket has no private link")
    body = json.loads(row.body)
    for parameter in body["template"]["components"][0]["parameters"]:
        if parameter.get("text") == chat.LINK:
            parameter["text"] = link_of(settings, ticket)
    return Request(f"{settings.whatsapp_api_url}/{settings.whatsapp_phone_id}/messages",
                   {**headers, "Authorization": f"Bearer {settings.whatsapp_token}"},
                   json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
