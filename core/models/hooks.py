"""Outgoing HTTP: webhooks registered by admins, and the deliveries queued for
them and for the chat notices (Slack, Teams, WhatsApp).

A delivery is the outbox's sibling: written in the transaction of the change
that causes it, claimed, sent and retried by the same pass and with the same
backoff as mail (core.mail.outbox), so there is still one outbox in spirit.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, StrEnum, utcnow
from core.models.directory import enum_column
from core.models.mail import OutboxStatus


class Webhook(Base):
    """An endpoint an admin registered, with the events it wants.

    The secret signs each delivery, so it must be recoverable: it is stored
    encrypted with a key derived from the installation's secret key
    (core.hooks.secrets), never in the clear."""

    __tablename__ = "webhook"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[str] = mapped_column(Text)  # space separated
    secret_sealed: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[Optional[str]] = mapped_column(String(254))
    # Start of the current run of failed attempts; cleared by a success.
    failing_since: Mapped[Optional[datetime]]
    disabled_at: Mapped[Optional[datetime]]
    disabled_reason: Mapped[Optional[str]] = mapped_column(Text)


class Channel(StrEnum):
    webhook = "webhook"
    slack = "slack"
    teams = "teams"
    whatsapp = "whatsapp"


class HookDelivery(Base):
    """One HTTP POST to make. `body` is the exact bytes sent (so a retry signs
    and sends the same thing), `delivery_id` the id the receiver sees on every
    attempt. `endpoint` names the receiver: deliveries to one endpoint about
    one ticket go out in the order they were written."""

    __tablename__ = "hook_delivery"
    __table_args__ = (Index("ix_hook_delivery_due", "status", "next_attempt_at"),
                      Index("ix_hook_delivery_order", "endpoint", "ticket_id", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    channel: Mapped[Channel] = enum_column(Channel)
    endpoint: Mapped[str] = mapped_column(String(2000))
    webhook_id: Mapped[Optional[int]] = mapped_column(ForeignKey("webhook.id"), index=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[OutboxStatus] = enum_column(OutboxStatus, default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    sent_at: Mapped[Optional[datetime]]
