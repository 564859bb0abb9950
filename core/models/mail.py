from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, StrEnum, utcnow
from core.models.directory import enum_column


class Outcome(StrEnum):
    new_ticket = "new_ticket"
    appended = "appended"
    duplicate = "duplicate"
    auto_reply = "auto_reply"
    bounce = "bounce"
    quarantined = "quarantined"


class RawMail(Base):
    """Every message received and decided.

    The row is written in the transaction that decides the message, with its
    `outcome`, and its bytes with it (RawContent), committed before the 250;
    a periodic task then moves the bytes into the content store, under
    `sha256`. (Rows without an outcome come from earlier releases, which
    committed the row first: a delivery cut short.)
    """

    __tablename__ = "raw_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(8))  # smtp, imap, file, web
    envelope_from: Mapped[Optional[str]] = mapped_column(String(254))
    envelope_to: Mapped[Optional[str]] = mapped_column(Text)
    message_id: Mapped[Optional[str]] = mapped_column(String(995), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[Optional[Outcome]] = enum_column(Outcome, nullable=True, index=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    reason: Mapped[Optional[str]] = mapped_column(Text)
    processed_at: Mapped[Optional[datetime]]
    # An admin looked at a quarantined message and threw it away (it stays logged).
    discarded_at: Mapped[Optional[datetime]]
    # An admin asked for the message to go through the pipeline again; a task
    # does it (the portal never runs the mail pipeline itself) and clears this.
    reprocess_requested_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    # The admin who released the message although its sender failed
    # authentication (core.mail.quarantine.release_despite_auth): processing
    # it again skips that verdict's quarantine, and no other check.
    auth_waived_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    # rspamd's verdict at the SMTP dialogue (no action, add header, ...) and its
    # score; empty when no rspamd was asked (or it did not answer in time).
    spam_action: Mapped[Optional[str]] = mapped_column(String(16))
    spam_score: Mapped[Optional[float]] = mapped_column(Float)
    # The sender authentication verdict (core.mail.auth.Verdict) as JSON:
    # SPF, DKIM, DMARC, and the client IP and HELO they were checked for.
    auth: Mapped[Optional[str]] = mapped_column(Text)


class RawContent(Base):
    """A received message's bytes until they are in the content store: the
    spool (core.storage.spool).

    They are written with their RawMail row, in the transaction that decides
    the message, so that one commit makes both durable before the 250 (a
    file of its own, fsynced with its folder, cost the SMTP processes a third
    of their CPU a mail). The mover takes them into the content store off
    the mail's path and deletes the row; a message's bytes are in one place
    or the other, and read from here first."""

    __tablename__ = "raw_content"
    raw_mail_id: Mapped[int] = mapped_column(ForeignKey("raw_mail.id"), primary_key=True, autoincrement=False)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"      # gave up after the last attempt; shown to admins
    bounced = "bounced"    # a delivery status report came back for it
    suppressed = "suppressed"  # not sent: loop guard or rate limit


class Outbox(Base):
    """A mail to send, written in the same transaction as the change that causes it.

    `template` and `context` are what mailout renders; the Message-ID is fixed
    here so a retry sends the same message and threading never depends on luck.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    template: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    language: Mapped[str] = mapped_column(String(8), default="id")
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    # Further recipients, comma separated (a ticket's participants on a staff reply).
    cc: Mapped[Optional[str]] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(995), unique=True)
    in_reply_to: Mapped[Optional[str]] = mapped_column(String(995))
    references: Mapped[Optional[str]] = mapped_column(Text)
    # Automatic notices carry Auto-Submitted and count against the rate limit.
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[OutboxStatus] = enum_column(OutboxStatus, default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    sent_at: Mapped[Optional[datetime]]
    bounced_at: Mapped[Optional[datetime]]
    bounce_reason: Mapped[Optional[str]] = mapped_column(Text)


class ImapCursor(Base):
    """How far the poller has read a folder; a new UIDVALIDITY starts it over."""

    __tablename__ = "imap_cursor"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(512), unique=True)  # user@host/folder
    uidvalidity: Mapped[int] = mapped_column(Integer)
    last_uid: Mapped[int] = mapped_column(Integer, default=0)


class RateEvent(Base):
    """One counted action (an automatic mail to an address, a web form post from
    an IP). Counted in the database so limits hold across processes. `amount`
    is what the action weighs where a limit sums rather than counts (the
    bytes a customer's reply uploads); 1 elsewhere."""

    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    amount: Mapped[int] = mapped_column(Integer, server_default="1")


class UsedStamp(Base):
    """A web form's signed stamp, once it has carried a submission. The primary
    key makes a replay fail even when two copies arrive at the same moment."""

    __tablename__ = "used_stamp"
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Setting(Base):
    """A policy value admins change at run time, as JSON (see core/config/policy.py)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SenderRuleKind(StrEnum):
    ban = "ban"      # refused at the SMTP dialogue with 550
    allow = "allow"  # taken whatever the spam filter says


class SenderRule(Base):
    """An address (name@domain) or a whole domain that admins ban or allow,
    with their reason. One rule per address or domain."""

    __tablename__ = "sender_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SenderRuleKind] = enum_column(SenderRuleKind)
    pattern: Mapped[str] = mapped_column(String(254), unique=True)  # lower case; a domain has no "@"
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
