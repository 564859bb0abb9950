"""Mail that needs an admin: the quarantine, outgoing mail that failed, and the
wording of the mail templates (site copies override the shipped defaults)."""
from __future__ import annotations

from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.models import Outbox, OutboxStatus, Outcome, RawMail, User, utcnow
from core.settings import Settings
from core.store import Store

DEFAULT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"
TEMPLATE_SUFFIXES = (".txt", ".html")
PREVIEW_BYTES = 20_000


class NotFound(LookupError):
    pass


class BadTemplate(ValueError):
    pass


def quarantined(session: Session, limit: int = 200) -> list[RawMail]:
    return list(session.scalars(select(RawMail).where(
        RawMail.outcome == Outcome.quarantined, RawMail.discarded_at.is_(None)
    ).order_by(RawMail.received_at.desc()).limit(limit)))


def quarantined_mail(session: Session, raw_id: int) -> RawMail:
    raw = session.get(RawMail, raw_id)
    if raw is None or raw.outcome is not Outcome.quarantined or raw.discarded_at is not None:
        raise NotFound(raw_id)
    return raw


def raw_preview(settings: Settings, raw: RawMail) -> tuple[list[tuple[str, str]], str]:
    """Headers and the start of a raw message as text, for an admin to judge it."""
    store = Store(settings.path("store"))
    if not store.exists(raw.sha256):
        return [], ""
    content = store.get(raw.sha256)
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


def reprocess_requests(session: Session, limit: int = 50) -> list[int]:
    """The raw mails waiting to be processed again, oldest request first."""
    return list(session.scalars(select(RawMail.id).where(RawMail.reprocess_requested_at.is_not(None))
                                .order_by(RawMail.reprocess_requested_at, RawMail.id).limit(limit)))


def reprocess_done(session: Session, raw_id: int) -> None:
    raw = session.get(RawMail, raw_id)
    if raw is not None:
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


def template_files(settings: Settings) -> list[str]:
    """Every mail template file, as a path under mail/ ("staff_reply/body.txt"), shipped or the site's."""
    found = set()
    for root in (DEFAULT_TEMPLATES, settings.path("templates", "mail")):
        if root.is_dir():
            found.update(p.relative_to(root).as_posix() for p in root.rglob("*")
                         if p.is_file() and p.suffix in TEMPLATE_SUFFIXES)
    return sorted(found)


def _checked(settings: Settings, name: str) -> str:
    # Only names of existing templates: a path from a form can never leave the folder.
    if name not in template_files(settings):
        raise NotFound(name)
    return name


def read_template(settings: Settings, name: str) -> tuple[str, bool]:
    """The wording in use and whether it is the site's own copy (else the default)."""
    own = settings.path("templates", "mail", _checked(settings, name))
    if own.exists():
        return own.read_text("utf-8"), True
    default = DEFAULT_TEMPLATES / name
    return (default.read_text("utf-8") if default.exists() else ""), False


def save_template(session: Session, settings: Settings, actor: User, name: str, text: str) -> None:
    """Keep the site's wording; a template that does not parse is refused, not saved."""
    target = settings.path("templates", "mail", _checked(settings, name))
    try:
        Environment(autoescape=name.endswith(".html")).parse(text)
    except TemplateSyntaxError as exc:
        raise BadTemplate(f"line {exc.lineno}: {exc.message}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text.replace("\r\n", "\n"), "utf-8")
    tmp.replace(target)
    audit.record(session, None, "mail_template", actor, to_value=name)


def restore_template(session: Session, settings: Settings, actor: User, name: str) -> None:
    """Drop the site's copy so the shipped default applies again."""
    settings.path("templates", "mail", _checked(settings, name)).unlink(missing_ok=True)
    audit.record(session, None, "mail_template", actor, to_value=f"{name} (default)")
