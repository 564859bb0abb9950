"""Step 6, clean: what a reader sees of the message, made safe.

The display text has quoted history and signature cut (the full text is kept
beside it); HTML goes through the one sanitiser; every attachment is checked
against the admins' rules and stored by content hash, or recorded as refused
with the reason and without its bytes. Inline images stay attachments, and
the HTML points at them with the placeholder `cid-attachment:<sha256>`: the
portal rewrites it to the URL it serves that attachment at, so the stored
HTML does not depend on the portal's URL scheme.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.config.policy import Policy
from core.content.attachments import AttachmentRules, Refused, check, is_safe_inline_image, rules_for, safe_filename
from core.content.htmltext import html_to_text
from core.content.quotes import display_text
from core.content.sanitize import sanitize_html
from core.models import Attachment
from core.storage.files import Store
from mailin.inbound import InboundAttachment, InboundMail, TemporaryFailure

INLINE_PLACEHOLDER = "cid-attachment:{sha256}"


@dataclass(frozen=True)
class Cleaned:
    text: str                       # for display
    full_text: str                  # as written
    html: str | None                # sanitised
    attachments: tuple[Attachment, ...]


def clean(mail: InboundMail, store: Store, policy: Policy) -> Cleaned:
    rules = rules_for(policy)
    rows = tuple(keep_attachment(item, store, rules) for item in mail.attachments)
    html = None
    if mail.html.strip():
        html = sanitize_html(mail.html, allow_remote_images=policy.allow_remote_images, cid_map=cid_map(rows))
    full_text = mail.text if mail.text.strip() else html_to_text(mail.html) if mail.html.strip() else ""
    return Cleaned(text=display_text(mail.text, html=mail.html or None), full_text=full_text,
                   html=html, attachments=rows)


def keep_attachment(item: InboundAttachment, store: Store, rules: AttachmentRules) -> Attachment:
    """An Attachment row: stored when the rules accept the file, else refused with why."""
    try:
        name, content_type = check(item.filename, item.content, rules)
    except Refused as refusal:
        return Attachment(
            filename=safe_filename(item.filename), content_type=item.content_type[:127],
            size=len(item.content), sha256=hashlib.sha256(item.content).hexdigest(),
            content_id=_short(item.content_id), inline=False, refused_reason=refusal.reason[:255])
    try:
        sha256 = store.put(item.content)
    except OSError as error:
        # A full disk or a broken store is no fault of the message's: the
        # sender keeps it and tries again (451), as nothing is ours yet.
        raise TemporaryFailure(f"could not store an attachment: {error}") from error
    return Attachment(
        filename=name, content_type=content_type[:127], size=len(item.content),
        sha256=sha256, content_id=_short(item.content_id),
        inline=item.inline and is_safe_inline_image(content_type))


def cid_map(rows: tuple[Attachment, ...]) -> dict[str, str]:
    return {row.content_id: INLINE_PLACEHOLDER.format(sha256=row.sha256)
            for row in rows if row.content_id and row.refused_reason is None
            and is_safe_inline_image(row.content_type)}


def _short(content_id: str | None) -> str | None:
    return content_id[:255] if content_id else None
