"""The values the inbound pipeline passes from step to step, and the named
stops a step raises when a message goes no further.

A step takes a value and returns one or raises an `IngestStop`; the pipeline
maps each stop to the outcome it records in the mail log.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from core.models import Outcome


@dataclass(frozen=True)
class InboundAttachment:
    filename: str            # as the sender named it (RFC 2047/2231 decoded), not yet made safe
    content: bytes
    content_type: str        # as declared; core.content.attachments.check sniffs the real one
    content_id: str | None = None   # without angle brackets
    inline: bool = False


@dataclass(frozen=True)
class DeliveryReport:
    """What a delivery status report says about the mail it bounces."""
    original_message_id: str | None
    reason: str


@dataclass(frozen=True)
class MailHeader:
    """What the write steps (screen, thread, route) read of a message: its
    addresses and header fields, without its bodies or attachments. The
    pipeline hands the writer this, not a whole InboundMail with its
    text blanked: what is kept of the bodies travels as mailin.clean.Cleaned."""
    from_address: str                  # lower case
    from_name: str | None
    subject: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    message_id: str | None = None      # "<...>"
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()   # oldest first, as in the header
    date: datetime | None = None       # aware UTC; None when missing or unreadable
    # Headers the screen reads, names in lower case (see parse.SCREENED_HEADERS).
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain"
    report: DeliveryReport | None = None
    envelope_from: str | None = None

    def header(self, name: str) -> str:
        name = name.lower()
        return next((value for key, value in self.headers if key == name), "")

    @property
    def thread_ids(self) -> list[str]:
        """Every Message-ID this mail answers, as header values for core.mail.msgids."""
        return [*self.references, *([self.in_reply_to] if self.in_reply_to else [])]


@dataclass(frozen=True)
class InboundMail(MailHeader):
    """One parsed message: the parts of it the helpdesk uses, decoded."""
    text: str = ""
    html: str = ""
    attachments: tuple[InboundAttachment, ...] = ()

    def header_only(self) -> MailHeader:
        """The message without its bodies and attachments (see MailHeader)."""
        return MailHeader(**{name: getattr(self, name) for name in _HEADER_FIELDS})


_HEADER_FIELDS = tuple(field.name for field in fields(MailHeader))


@dataclass(frozen=True)
class IngestResult:
    raw_mail_id: int
    outcome: Outcome
    ticket_ref: str | None = None
    reason: str | None = None


class IngestStop(Exception):
    """A message that goes no further than this step; `outcome` is logged."""
    outcome: Outcome = Outcome.quarantined
    # Quarantined for now, and taken again by the quarantine's re-process later.
    recheck: bool = False

    def __init__(self, reason: str, ticket_id: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.ticket_id = ticket_id


class Malformed(IngestStop):
    outcome = Outcome.quarantined


class Duplicate(IngestStop):
    outcome = Outcome.duplicate


class Unthreaded(IngestStop):
    """An automatic reply that belongs to no ticket: logged, never a ticket."""
    outcome = Outcome.auto_reply


class FromOurselves(IngestStop):
    """Mail from our own address or carrying our own Message-ID: a loop."""
    outcome = Outcome.quarantined


class Spam(IngestStop):
    """rspamd's verdict asks for a human: kept in the quarantine, where staff
    release it (processed again, without asking rspamd) or discard it."""
    outcome = Outcome.quarantined


class AlreadyProcessed(Exception):
    """Only quarantined or interrupted mail may be processed again."""


class TemporaryFailure(Exception):
    """The message could not be processed now (the database is down or
    locked); the sender should try again later."""

