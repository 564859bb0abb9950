"""What a customer may read through their private link: the public thread of
their own ticket and its files, never an internal note, never another ticket."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.attachments import is_safe_inline_image
from core.models import Attachment, Direction, Message, Ticket

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


def public_thread(session: Session, ticket: Ticket) -> tuple[ThreadMessage, ...]:
    """The messages the customer sees, oldest first, each with its files.

    One query of plain rows, not ORM objects: this is the page customers
    reload, and a long thread of mapped objects costs more than the SQL.
    The result is immutable and hashable, so a page may cache what it renders from it.
    """
    rows = session.execute(
        select(Message.id, Message.direction, Message.from_name, Message.from_address, Message.text,
               Message.created_at, Attachment.id, Attachment.filename, Attachment.size,
               Attachment.content_type, Attachment.refused_reason)
        .outerjoin(Attachment, Attachment.message_id == Message.id)
        .where(Message.ticket_id == ticket.id, Message.direction != Direction.note)
        .order_by(Message.id, Attachment.id))
    messages: dict[int, tuple] = {}
    files: dict[int, list[ThreadFile]] = {}
    for mid, direction, name, address, text, at, aid, filename, size, kind, refused in rows:
        messages.setdefault(mid, (mid, direction, name, address, text or "", at))
        if aid is not None:
            files.setdefault(mid, []).append(ThreadFile(aid, filename, size, kind, refused))
    return tuple(ThreadMessage(*fields, attachments=tuple(files.get(mid, ()))) for mid, fields in messages.items())


def attachment_of(session: Session, ticket: Ticket, attachment_id: int) -> Attachment | None:
    """A kept file of this ticket's public thread; None for anything else,
    including files of notes and of other tickets."""
    return session.scalar(
        select(Attachment).join(Message, Attachment.message_id == Message.id).where(
            Attachment.id == attachment_id, Message.ticket_id == ticket.id,
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
