"""Files a browser sends (the public form, the private page, a staff reply):
checked against the same attachment rules as mail, then stored.

All or nothing: a web user can pick another file at once, so one refused
file refuses the post (mail, which cannot be asked again, keeps the refused
file's name and reason instead)."""
from __future__ import annotations

from dataclasses import dataclass

from core.config.policy import Policy
from core.config.settings import Settings
from core.content.attachments import AttachmentRules, Refused, check
from core.models import Attachment
from core.storage.files import Store


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it."""
    filename: str
    content: bytes


class UploadRefused(Exception):
    """A file the attachment rules turn away; the web form asks for another."""

    def __init__(self, filename: str, reason: str):
        super().__init__(f"{filename}: {reason}")
        self.filename, self.reason = filename, reason


def rules_of(policy: Policy) -> AttachmentRules:
    return AttachmentRules(max_bytes=policy.attachment_max_bytes,
                           allowed_extensions=frozenset(policy.attachment_extensions))


def keep_uploads(settings: Settings, policy: Policy, uploads: list[Upload]) -> list[Attachment]:
    """Check every file against the same rules as mail, then store them.

    All or nothing: a web customer can pick another file at once, so one
    refused file refuses the post (mail, which cannot be asked again, keeps
    the refused file's name and reason instead).
    """
    rules = rules_of(policy)
    checked = []
    for upload in uploads:
        try:
            checked.append((upload, *check(upload.filename, upload.content, rules)))
        except Refused as refused:
            raise UploadRefused(upload.filename, refused.reason) from None
    store = Store(settings.path("store"))
    return [Attachment(filename=name, content_type=kind, size=len(upload.content),
                       sha256=store.put(upload.content))
            for upload, name, kind in checked]
