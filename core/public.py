"""What a customer may read through their private link: the public thread of
their own ticket and its files, never an internal note, never another ticket."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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


def public_thread(session: Session, ticket: Ticket) -> list[Message]:
    """The messages the customer sees, oldest first, with their attachments loaded."""
    return list(session.scalars(
        select(Message).where(Message.ticket_id == ticket.id, Message.direction != Direction.note)
        .options(selectinload(Message.attachments)).order_by(Message.id)))


def attachment_of(session: Session, ticket: Ticket, attachment_id: int) -> Attachment | None:
    """A kept file of this ticket's public thread; None for anything else,
    including files of notes and of other tickets."""
    return session.scalar(
        select(Attachment).join(Message, Attachment.message_id == Message.id).where(
            Attachment.id == attachment_id, Message.ticket_id == ticket.id,
            Message.direction != Direction.note, Attachment.refused_reason.is_(None)))


def serving(attachment: Attachment) -> tuple[str, bool]:
    """(Content-Type, inline?) for sending the file to a browser."""
    kind = attachment.content_type.split(";", 1)[0].strip().lower()
    if is_safe_inline_image(kind):
        return kind, True
    if kind in _DOWNLOAD_TYPES or kind.startswith(_DOWNLOAD_PREFIXES):
        return kind, False
    return "application/octet-stream", False


def has_thumbnail(attachment: Attachment) -> bool:
    return attachment.refused_reason is None and \
        attachment.content_type.split(";", 1)[0].strip().lower() in THUMBNAILABLE
