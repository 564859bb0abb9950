"""Files a browser sends (the public form, the private page, a staff reply):
checked against the same attachment rules as mail, then stored.

All or nothing: a web user can pick another file at once, so one refused
file refuses the post (mail, which cannot be asked again, keeps the refused
file's name and reason instead)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from core.config.policy import Policy
from core.config.settings import Settings
from core.content.attachments import Refused, check, rules_for
from core.models import Attachment
from core.storage.files import Store


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it."""
    filename: str
    content: bytes


@dataclass(frozen=True)
class CheckedUpload:
    """A file the attachment rules accepted (see check_uploads): its safe
    name, its real type and its bytes."""
    filename: str
    content_type: str
    content: bytes


class UploadRefused(Exception):
    """A file the attachment rules turn away; the web form asks for another."""

    def __init__(self, filename: str, reason: str):
        super().__init__(f"{filename}: {reason}")
        self.filename, self.reason = filename, reason


def check_uploads(policy: Policy, uploads: Sequence[Upload]) -> list[CheckedUpload]:
    """Check every file against the same rules as mail; raise UploadRefused
    for the first refused one. Call it before opening the transaction:
    looking into an archive takes a moment (bounded by the archive limits),
    and the database's write lock must not wait for it."""
    rules = rules_for(policy)
    checked = []
    for upload in uploads:
        try:
            name, kind = check(upload.filename, upload.content, rules)
        except Refused as refused:
            raise UploadRefused(upload.filename, refused.reason) from None
        checked.append(CheckedUpload(name, kind, upload.content))
    return checked


def keep_uploads(settings: Settings, uploads: Sequence[CheckedUpload]) -> list[Attachment]:
    """Store checked files and return their Attachment rows."""
    store = Store(settings.path("store"))
    return [Attachment(filename=upload.filename, content_type=upload.content_type, size=len(upload.content),
                       sha256=store.put(upload.content))
            for upload in uploads]
