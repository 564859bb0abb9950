"""A webhook's health: a success clears its run of failures; a run of failures
that has lasted a day disables it, gives up its waiting deliveries and tells
the admins by mail (through the outbox, like every notice). It sits in
core.mail, above core.hooks, because telling the admins is a mail notice."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import load_policy
from core.config.settings import Settings
from core.hooks import queue
from core.mail import notices
from core.models import Role, User, Webhook

# How long an endpoint may fail every attempt before it is disabled. The
# outbox's backoff spans about 32 hours, so the day runs out first.
DEAD_AFTER = timedelta(days=1)


def succeeded(session: Session, webhook_id: int) -> None:
    session.execute(update(Webhook).where(Webhook.id == webhook_id, Webhook.failing_since.is_not(None))
                    .values(failing_since=None))


def failed(session: Session, settings: Settings, webhook_id: int, error: str, now: datetime) -> bool:
    """Count a failed attempt against the webhook; True when it was disabled now."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or not webhook.enabled:
        return False
    if webhook.failing_since is None:
        webhook.failing_since = now
        return False
    if now - webhook.failing_since < DEAD_AFTER:
        return False
    disable(session, settings, webhook, f"every delivery failed for a day; last error: {error}"[:2000], now)
    return True


def disable(session: Session, settings: Settings, webhook: Webhook, reason: str, now: datetime) -> None:
    """Stop delivering to the webhook and tell every active admin."""
    since = webhook.failing_since or now
    webhook.enabled, webhook.disabled_at, webhook.disabled_reason = False, now, reason
    queue.give_up_pending(session, webhook.id, "webhook disabled")
    audit.record(session, None, "webhook_disabled", audit.SYSTEM, to_value=f"{webhook.id} {webhook.url}",
                 detail=reason, at=now)
    policy = load_policy(session)
    context = {"url": webhook.url, "since": since.strftime("%Y-%m-%d %H:%M UTC"), "reason": reason}
    for admin in session.scalars(select(User).where(User.role == Role.admin, User.active.is_(True))
                                 .order_by(User.id)):
        notices.notify(session, settings, policy, None, template="webhook_disabled", to=admin.email,
                       to_staff=True, language=admin.language or policy.default_language, context=context, now=now)
    session.flush()
    queue.forget_enabled()
