"""Where tickets went and where mail goes: the offices that handed a ticket on,
and the addresses staff confirmed as a school's contacts."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, utcnow
from core.models.directory import Office


class Handoff(Base):
    """An office that forwarded, dispatched or re-homed a ticket away keeps
    reading it (core.access.visibility), so it can still answer the school's
    phone call. One row per ticket and office, written by core.tickets.routing
    with the move; the move itself is in the audit trail."""

    __tablename__ = "ticket_handoff"
    # The primary key answers "did this office hand this ticket on" (the ticket
    # page); the index lists an office's handed-on tickets (queues, search).
    __table_args__ = (Index("ix_ticket_handoff_office", "office_id", "ticket_id"),)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    """An address staff confirmed as belonging to a school: mail from it routes
    as the school's own (core.tickets.intake.find_home). Removing the row
    sends the address's next mail to triage again."""

    __tablename__ = "school_contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-case, unique: an address belongs to one school.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[Optional[str]] = mapped_column(String(254))  # the confirming user's email

    school: Mapped[Office] = relationship(lazy="joined")
