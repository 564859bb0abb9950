"""Registering webhooks: admins name an endpoint and the events it wants, and
get its secret once (the portal page, `helpdesk webhook add`, the API)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.config.settings import Settings
from core.hooks import queue, sealing
from core.models import User, Webhook, utcnow
from core.words import N_

EVENTS = ("ticket.created", "ticket.replied", "ticket.status_changed", "ticket.assigned", "ticket.forwarded",
          "ticket.sla_breached")


class BadWebhook(ValueError):
    """A URL or event list that cannot be registered; the message says why."""


class NoSuchWebhook(LookupError):
    pass


@dataclass(frozen=True)
class Registered:
    webhook: Webhook
    secret: str  # shown once, never again


def check_url(settings: Settings, url: str) -> str:
    """The URL, stripped, when a receiver may be registered there: https, or
    http to a loopback host (or anywhere with HELPDESK_WEBHOOK_ALLOW_HTTP)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BadWebhook(N_("the URL must start with https:// and name a host"))
    if parts.username or parts.password:
        raise BadWebhook(N_("the URL must not carry a user name or password"))
    if len(url) > 2000:
        raise BadWebhook(N_("the URL is longer than 2000 characters"))
    if parts.scheme == "http" and not (settings.webhook_allow_http or _loopback(parts.hostname)):
        raise BadWebhook(N_("the URL must use https (http only to a loopback address)"))
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_events(events: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """The events, known and de-duplicated in EVENTS' order; at least one."""
    if isinstance(events, str):
        events = events.replace(",", " ").split()
    wanted = {event.strip() for event in events if event.strip()}
    unknown = sorted(wanted - set(EVENTS))
    if unknown:
        raise BadWebhook(N_("unknown event %(unknown)s; known: %(events)s")
                         % {"unknown": ", ".join(unknown), "events": ", ".join(EVENTS)})
    if not wanted:
        raise BadWebhook(N_("name at least one event: %(events)s") % {"events": ", ".join(EVENTS)})
    return tuple(event for event in EVENTS if event in wanted)


def add(session: Session, settings: Settings, url: str, events, actor: User | str | None = None, *,
        now: datetime | None = None) -> Registered:
    """Register a webhook with a new secret; raises BadWebhook."""
    url, wanted = check_url(settings, url), check_events(events)
    secret = sealing.new_secret()
    webhook = Webhook(url=url, events=" ".join(wanted), secret_sealed=sealing.seal(settings.secret_key, secret),
                      enabled=True, created_at=now or utcnow(), created_by=audit.actor_name(actor))
    session.add(webhook)
    session.flush()
    audit.record(session, None, "webhook_added", actor, to_value=f"{webhook.id} {url}", detail=" ".join(wanted),
                 at=now)
    queue.forget_enabled()
    return Registered(webhook, secret)


def listed(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(Webhook.id)))


def remove(session: Session, webhook_id: int, actor: User | str | None = None, *,
           now: datetime | None = None) -> Webhook:
    """Delete a webhook and give up its waiting deliveries (their rows stay,
    failed, as the record of what was not sent)."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None:
        raise NoSuchWebhook(webhook_id)
    queue.give_up_pending(session, webhook.id, "webhook removed")
    queue.detach(session, webhook.id)
    audit.record(session, None, "webhook_removed", actor, from_value=f"{webhook.id} {webhook.url}", at=now)
    session.delete(webhook)
    session.flush()
    queue.forget_enabled()
    return webhook


def secret_of(settings: Settings, webhook: Webhook) -> str:
    return sealing.open_secret(settings.secret_key, webhook.secret_sealed)
