"""Mail that needs an admin: the quarantine (release or discard) and outgoing
mail that failed for good (retry or give up)."""
from __future__ import annotations

from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.config.settings import Settings
from core.mail import trust
from core.mail.auth import verdict_from_json
from core.models import Outbox, OutboxStatus, Outcome, RawMail, User, utcnow
from core.storage.files import Store
from core.storage.spool import raw_bytes

PREVIEW_BYTES = 20_000


class NotFound(LookupError):
    pass


class NotAuthQuarantine(ValueError):
    """The message's sender did not fail authentication: there is no verdict to release it despite."""


def quarantined(session: Session, limit: int = 200) -> list[RawMail]:
    return list(session.scalars(select(RawMail).where(
        RawMail.outcome == Outcome.quarantined, RawMail.discarded_at.is_(None)
    ).order_by(RawMail.received_at.desc()).limit(limit)))


def quarantined_mail(session: Session, raw_id: int) -> RawMail:
    raw = session.get(RawMail, raw_id)
    if raw is None or raw.outcome is not Outcome.quarantined or raw.discarded_at is not None:
        raise NotFound(raw_id)
    return raw


def raw_preview(session: Session, settings: Settings, raw: RawMail) -> tuple[list[tuple[str, str]], str]:
    """Headers and the start of a raw message as text, for an admin to judge it."""
    content = raw_bytes(session, Store(settings.path("store")), raw)
    if content is None:
        return [], ""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(content)
    return [(k, str(v)[:500]) for k, v in headers.items()], content[:PREVIEW_BYTES].decode("utf-8", "replace")


def request_reprocess(session: Session, actor: User, raw_id: int, *, now: datetime | None = None) -> None:
    """Ask for a quarantined message to go through the pipeline again.

    The mail pipeline runs in the mail processes, not the web's, so the
    request is a mark that a periodic task picks up within seconds; asking
    twice is harmless."""
    raw = quarantined_mail(session, raw_id)
    if raw.reprocess_requested_at is None:
        raw.reprocess_requested_at = now or utcnow()
        audit.record(session, None, "quarantine_reprocess", actor, to_value=f"raw mail {raw.id}",
                     detail=raw.reason)
    session.flush()


def failed_authentication(raw: RawMail) -> bool:
    """Did the message's sender fail authentication (spoofed, or a forged
    school's address)? Only then may an admin release it despite the verdict."""
    verdict = verdict_from_json(raw.auth)
    return trust.spoofed(verdict) is not None or trust.failed(verdict)


def release_despite_auth(session: Session, actor: User, raw_id: int, *, now: datetime | None = None) -> None:
    """An admin who has looked at a message its failed authentication
    quarantined releases it: processed again, it skips that verdict (the
    spoofing and forged-school guards) and nothing else, so size limits,
    archive bombs and the loop check still apply. No automatic reply goes to
    the sender all the same (core.mail.trust.may_auto_reply still reads the
    verdict). The audit names the admin and the verdict released despite."""
    raw = quarantined_mail(session, raw_id)
    if not failed_authentication(raw):
        raise NotAuthQuarantine(raw_id)
    raw.auth_waived_by_id = actor.id
    raw.reprocess_requested_at = now or utcnow()
    audit.record(session, None, "quarantine_released_despite_auth", actor, to_value=f"raw mail {raw.id}",
                 detail=f"despite: {raw.reason}"[:2000])
    session.flush()


def reprocess_requests(session: Session, limit: int = 50, *, now: datetime | None = None) -> list[int]:
    """The raw mails due to be processed again, oldest request first (a
    mail whose authentication met a DNS timeout is due a few minutes on)."""
    return list(session.scalars(select(RawMail.id).where(RawMail.reprocess_requested_at <= (now or utcnow()))
                                .order_by(RawMail.reprocess_requested_at, RawMail.id).limit(limit)))


def reprocess_done(session: Session, raw_id: int, *, asked_by: datetime | None = None) -> None:
    """Clear the request, unless processing asked again for a time after
    `asked_by` (a DNS timeout: checked again later)."""
    raw = session.get(RawMail, raw_id)
    if raw is not None and (asked_by is None or raw.reprocess_requested_at is None
                            or raw.reprocess_requested_at <= asked_by):
        raw.reprocess_requested_at = None
    session.flush()


def discard(session: Session, actor: User, raw_id: int, *, now: datetime | None = None) -> None:
    raw = quarantined_mail(session, raw_id)
    raw.discarded_at = now or utcnow()
    audit.record(session, None, "quarantine_discarded", actor, to_value=f"raw mail {raw.id}",
                 detail=raw.reason)
    session.flush()


def failed_mail(session: Session, limit: int = 200) -> list[Outbox]:
    return list(session.scalars(select(Outbox).where(Outbox.status == OutboxStatus.failed)
                                .order_by(Outbox.created_at.desc()).limit(limit)))


def retry_mail(session: Session, actor: User, outbox_id: int, *, now: datetime | None = None) -> None:
    """Send a failed mail again from the next delivery pass, with a fresh count of attempts."""
    row = session.get(Outbox, outbox_id)
    if row is None or row.status is not OutboxStatus.failed:
        raise NotFound(outbox_id)
    row.status, row.attempts, row.next_attempt_at, row.locked_until = OutboxStatus.pending, 0, now or utcnow(), None
    audit.record(session, None, "outbox_retry", actor, to_value=f"outbox {row.id} to {row.to_address}")
    session.flush()


def give_up_mail(session: Session, actor: User, outbox_id: int) -> None:
    row = session.get(Outbox, outbox_id)
    if row is None or row.status is not OutboxStatus.failed:
        raise NotFound(outbox_id)
    row.status = OutboxStatus.suppressed
    audit.record(session, None, "outbox_given_up", actor, to_value=f"outbox {row.id} to {row.to_address}")
    session.flush()
