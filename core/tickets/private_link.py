"""What a customer may read through their private link: the public thread of
their own ticket and its files, never an internal note, never another ticket."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from core.access.tokens import hash_token, sign, signature_matches
from core.config.policy import Policy
from core.content.attachments import is_safe_inline_image
from core.models import Attachment, Direction, Message, Office, Participant, Setting, Status, Ticket, utcnow

# Types a download keeps: documents, archives and raster images a phone can
# open with the right application. Anything else (html, svg, xml, scripts)
# goes out as bytes, so no browser ever renders it as a page of ours.
_DOWNLOAD_TYPES = frozenset({
    "application/pdf", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/rtf", "application/zip", "application/x-7z-compressed", "text/plain", "text/csv",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff",
})
_DOWNLOAD_PREFIXES = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
THUMBNAILABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff"})


@dataclass(frozen=True)
class ThreadFile:
    id: int
    filename: str
    size: int
    content_type: str
    refused_reason: str | None

    @property
    def has_thumbnail(self) -> bool:
        return self.refused_reason is None and _base_type(self.content_type) in THUMBNAILABLE


@dataclass(frozen=True)
class ThreadMessage:
    id: int
    direction: Direction
    from_name: str | None
    from_address: str | None
    text: str
    created_at: datetime
    attachments: tuple[ThreadFile, ...] = ()


@dataclass(frozen=True)
class PageState:
    """Everything the private page shows that can change, read in one query.

    Equal states render equal pages (for one token and language), so the
    state is the key of a rendered page: a new public message changes the
    count and the last id (a merge adds messages), a status, subject or
    office change changes its field, and a policy change changes the
    policy version.
    """
    id: int
    ref: str
    subject: str
    status: Status
    created_at: datetime
    token_issued_at: datetime | None
    office_name: str | None
    office_timezone: str | None  # the holding office's zone: times are shown in it
    messages: int
    last_message_id: int | None
    policy_version: tuple
    participant: str | None = None  # the link is this participant's own, not the requester's


_public = (Message.ticket_id == Ticket.id, Message.direction != Direction.note)


def _page_state_of(issued_at) -> Select:
    """The page's state, with the link's issue time from `issued_at`'s table."""
    return (select(Ticket.id, Ticket.ref, Ticket.subject, Ticket.status, Ticket.created_at, issued_at,
                   Office.name, Office.timezone,
                   select(func.count(Message.id)).where(*_public).scalar_subquery(),
                   select(func.max(Message.id)).where(*_public).scalar_subquery(),
                   select(func.count()).select_from(Setting).scalar_subquery(),
                   select(func.max(Setting.updated_at)).scalar_subquery())
            .outerjoin(Office, Office.id == Ticket.office_id))


_PAGE_STATE = _page_state_of(Ticket.token_issued_at).where(Ticket.token_hash == bindparam("token_hash"))
# A participant's own link (core.mail.copies): the same page, their link's age.
_PARTICIPANT_PAGE_STATE = (_page_state_of(Participant.token_issued_at).add_columns(Participant.address)
                           .join(Participant, Participant.ticket_id == Ticket.id)
                           .where(Participant.token_hash == bindparam("token_hash")))


def page_state(session: Session, token: str) -> PageState | None:
    """The state of the ticket a token opens, expiry not yet checked; None
    when no ticket has this token (revoked, mistyped, or never issued).

    One round trip instead of the policy, the ticket object and the thread:
    a page served from cache needs nothing more, and a revoked link or a new
    reply is seen on the very next request.
    """
    if not token or len(token) > 100:
        return None
    digest = {"token_hash": hash_token(token)}
    row = session.connection().execute(_PAGE_STATE, digest).one_or_none()
    if row is not None:
        *fields, settings_count, settings_changed = row
        return PageState(*fields, policy_version=(settings_count, settings_changed))
    row = session.connection().execute(_PARTICIPANT_PAGE_STATE, digest).one_or_none()
    if row is None:
        return None
    *fields, settings_count, settings_changed, address = row
    return PageState(*fields, policy_version=(settings_count, settings_changed), participant=address)


def link_expired(policy: Policy, issued_at: datetime | None, now: datetime | None = None) -> bool:
    """The rule of core.tickets.intake.find_by_token: a link lives policy.token_days (0: forever)."""
    if not policy.token_days:
        return False
    return issued_at is None or issued_at < (now or utcnow()) - timedelta(days=policy.token_days)


def form_token(secret: str, token: str) -> str:
    """The CSRF value of the forms on a private page, derived from its link.

    The private page's actions are authorised by the link alone, not by any
    cookie, so a forged cross-site post must already know the link; binding
    the form value to the link (keyed, so it cannot be computed without the
    secret) gives the same protection as a session-bound value while a
    visitor's GET writes no session and sets no cookie.
    """
    return sign(secret, "ticket-form", token, length=40)


def form_token_matches(secret: str, token: str, value: str | None) -> bool:
    return bool(value) and signature_matches(secret, value, "ticket-form", token, length=40)


def public_thread(session: Session, ticket_id: int) -> tuple[ThreadMessage, ...]:
    """The messages the customer sees, oldest first, each with its files.

    One query of plain rows, not ORM objects: this is the page customers
    reload, and a long thread of mapped objects costs more than the SQL.
    Run on the session's connection, without the ORM's result machinery
    (and without autoflush: the page reads what is committed).
    """
    rows = session.connection().execute(
        select(Message.id, Message.direction, Message.from_name, Message.from_address, Message.text,
               Message.created_at, Attachment.id, Attachment.filename, Attachment.size,
               Attachment.content_type, Attachment.refused_reason)
        .outerjoin(Attachment, Attachment.message_id == Message.id)
        .where(Message.ticket_id == ticket_id, Message.direction != Direction.note)
        .order_by(Message.id, Attachment.id))
    messages: dict[int, tuple] = {}
    files: dict[int, list[ThreadFile]] = {}
    for mid, direction, name, address, text, at, aid, filename, size, kind, refused in rows:
        messages.setdefault(mid, (mid, direction, name, address, text or "", at))
        if aid is not None:
            files.setdefault(mid, []).append(ThreadFile(aid, filename, size, kind, refused))
    return tuple(ThreadMessage(*fields, attachments=tuple(files.get(mid, ()))) for mid, fields in messages.items())


def attachment_of(session: Session, ticket_id: int, attachment_id: int) -> Attachment | None:
    """A kept file of this ticket's public thread; None for anything else,
    including files of notes and of other tickets."""
    return session.scalar(
        select(Attachment).join(Message, Attachment.message_id == Message.id).where(
            Attachment.id == attachment_id, Message.ticket_id == ticket_id,
            Message.direction != Direction.note, Attachment.refused_reason.is_(None)))


def _base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def serving(attachment: Attachment) -> tuple[str, bool]:
    """(Content-Type, inline?) for sending the file to a browser."""
    kind = _base_type(attachment.content_type)
    if is_safe_inline_image(kind):
        return kind, True
    if kind in _DOWNLOAD_TYPES or kind.startswith(_DOWNLOAD_PREFIXES):
        return kind, False
    return "application/octet-stream", False


def has_thumbnail(attachment: Attachment | ThreadFile) -> bool:
    return attachment.refused_reason is None and _base_type(attachment.content_type) in THUMBNAILABLE
