"""People copied on a ticket besides its requester, and the notices staff are owed."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, utcnow


class Participant(Base):
    """An address copied on a ticket's replies and allowed to write into it:
    from the Cc of the mail that opened it, or added by staff."""

    __tablename__ = "ticket_participant"
    __table_args__ = (UniqueConstraint("ticket_id", "address", name="uq_ticket_participant_address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    address: Mapped[str] = mapped_column(String(254))  # lower case
    source: Mapped[str] = mapped_column(String(8))     # "mail" (the Cc) or "staff"
    added_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The participant's own private link, as the requester's is kept
    # (core.mail.copies): the nonce it is derived from and its token's SHA-256,
    # never the token. Their own, so the requester's link can be reissued
    # without cutting them off, and each person's access is revoked alone.
    token_nonce: Mapped[Optional[str]] = mapped_column(String(32))
    token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[Optional[datetime]]


class StaffNotice(Base):
    """Something a member of staff was told (a ticket assigned to them, one
    nobody could take, a breach), unread until they open the ticket: the
    portal header counts these."""

    __tablename__ = "staff_notice"
    # The header's count: one user's unread notices, from this index alone.
    __table_args__ = (Index("ix_staff_notice_user_unread", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[Optional[datetime]]
