from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, StrEnum, utcnow
from core.models.directory import Office, User, enum_column


class Status(StrEnum):
    open = "open"            # waiting for staff
    answered = "answered"    # waiting for the customer
    on_hold = "on_hold"
    forwarded = "forwarded"  # waiting for the higher office to pick it up
    closed = "closed"


class Direction(StrEnum):
    inbound = "in"     # from the customer
    outbound = "out"   # staff reply the customer sees
    note = "note"      # internal, never shown to the customer


class Category(Base):
    """Group -> category -> subcategory, as a tree; a default office routes it."""

    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    default_office_id: Mapped[Optional[int]] = mapped_column(ForeignKey("office.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    default_office: Mapped[Optional[Office]] = relationship()


class Priority(Base):
    """A priority and its SLA: hours to first response and to resolution."""

    __tablename__ = "priority"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    level: Mapped[int] = mapped_column(Integer)  # higher is more urgent
    first_response_hours: Mapped[Optional[int]] = mapped_column(Integer)
    resolution_hours: Mapped[Optional[int]] = mapped_column(Integer)
    # A breach of this priority's SLA forwards the ticket one tier up.
    escalate_on_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        # A queue is one office's tickets in a status, newest first; its count
        # reads only this index (the columns the queue rules test are included).
        Index("ix_ticket_office_status_updated", "office_id", "status", "updated_at",
              postgresql_include=["assignee_id", "sla_breached_at", "first_response_at", "first_response_due_at",
                                  "resolution_due_at"]),
        Index("ix_ticket_status_changed", "status", "status_changed_at"),
        # Queue pages list the most recently updated first; search reads the
        # newest ticket ids of a scope from this index alone.
        Index("ix_ticket_office_updated", "office_id", "updated_at", postgresql_include=["id"]),
        Index("ix_ticket_updated_at", "updated_at"),
        # An agent's load (tickets not closed) without reading their closed history.
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        # A school's and a requester's other tickets, newest first (the staff
        # ticket page's history), and search by school or address.
        Index("ix_ticket_school_created", "school_id", "created_at"),
        Index("ix_ticket_requester_created", "requester_email", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    status: Mapped[Status] = enum_column(Status, default=Status.open)
    priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))  # the holding office
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    assigned_at: Mapped[Optional[datetime]]
    requester_email: Mapped[str] = mapped_column(String(254))
    requester_name: Mapped[Optional[str]] = mapped_column(String(200))
    school_id: Mapped[Optional[int]] = mapped_column(ForeignKey("office.id"))
    language: Mapped[Optional[str]] = mapped_column(String(8))
    # A phone number the customer gave on the web form (E.164 digits, no "+"),
    # and whether they agreed to WhatsApp messages about the ticket there.
    requester_phone: Mapped[Optional[str]] = mapped_column(String(20))
    whatsapp_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The customer's private link. The token is an HMAC of the ticket id and
    # this random nonce under the secret key (so every mail can carry the same
    # link without the token being stored); its SHA-256 finds the ticket.
    # Reissuing the link draws a new nonce, which revokes the old one.
    token_nonce: Mapped[Optional[str]] = mapped_column(String(32))
    token_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[Optional[datetime]]
    # A ticket opened by mail on a closed ticket after its reopen window.
    continues_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"))
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"))
    # Incidents (core.tickets.incidents): the parent is marked; each attached
    # ticket points to it, gets its replies in its own thread and closes with it.
    is_incident: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    incident_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_customer_at: Mapped[Optional[datetime]]
    first_response_at: Mapped[Optional[datetime]]
    resolved_at: Mapped[Optional[datetime]]
    closed_at: Mapped[Optional[datetime]]
    # SLA clock: due times set from the priority, flags set by the sweep.
    first_response_due_at: Mapped[Optional[datetime]]
    resolution_due_at: Mapped[Optional[datetime]]
    sla_warned_at: Mapped[Optional[datetime]]
    sla_breached_at: Mapped[Optional[datetime]]
    # The clocks stand still while the ticket waits for the customer, is on
    # hold or closed: since when (None: running), and the working time they
    # stood still before, which pushes the due times back (core.tickets.sla).
    sla_paused_at: Mapped[Optional[datetime]]
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Whether the customer said the answer solved it (None: not asked or no answer).
    satisfied: Mapped[Optional[bool]] = mapped_column(Boolean)

    office: Mapped[Office] = relationship(foreign_keys=[office_id], lazy="joined")
    school: Mapped[Optional[Office]] = relationship(foreign_keys=[school_id])
    assignee: Mapped[Optional[User]] = relationship(lazy="joined")
    priority: Mapped[Optional[Priority]] = relationship(lazy="joined")
    category: Mapped[Optional[Category]] = relationship()
    messages: Mapped[list["Message"]] = relationship(
        back_populates="ticket", order_by="Message.id", cascade="all, delete-orphan")
    events: Mapped[list["Event"]] = relationship(order_by="Event.id", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Ticket {self.ref} {self.status}>"


class Message(Base):
    __tablename__ = "message"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    direction: Mapped[Direction] = enum_column(Direction)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    from_address: Mapped[Optional[str]] = mapped_column(String(254))
    from_name: Mapped[Optional[str]] = mapped_column(String(200))
    # Our own Message-ID for outbound mail, the sender's for inbound.
    message_id: Mapped[Optional[str]] = mapped_column(String(995), index=True)
    in_reply_to: Mapped[Optional[str]] = mapped_column(String(995))
    subject: Mapped[Optional[str]] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text, default="")        # for display
    full_text: Mapped[str] = mapped_column(Text, default="")   # as received
    html: Mapped[Optional[str]] = mapped_column(Text)          # sanitised
    # Out-of-office and other automatic mail: kept, never reopens.
    auto_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(8), default="mail")  # mail, web, portal
    raw_mail_id: Mapped[Optional[int]] = mapped_column(ForeignKey("raw_mail.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    author: Mapped[Optional[User]] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(
        order_by="Attachment.id", cascade="all, delete-orphan")


class Attachment(Base):
    """Metadata of a file; the bytes live in the content-addressed store by sha256.

    A refused file keeps its name, size, hash and reason, but not its bytes.
    """

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_id: Mapped[Optional[str]] = mapped_column(String(255))  # for inline images
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    refused_reason: Mapped[Optional[str]] = mapped_column(String(255))


class Event(Base):
    """The audit trail: who did what to a ticket (or the directory), when, from, to."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(254))  # a user's email, "customer" or "system"
    kind: Mapped[str] = mapped_column(String(32), index=True)
    from_value: Mapped[Optional[str]] = mapped_column(String(255))
    to_value: Mapped[Optional[str]] = mapped_column(String(255))
    detail: Mapped[Optional[str]] = mapped_column(Text)


class TicketLink(Base):
    """Two tickets staff said are related (each link is stored once, low id first)."""

    __tablename__ = "ticket_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(Base):
    """A stock answer staff insert into a reply; office-wide or for everyone (no office)."""

    __tablename__ = "canned_response"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    office_id: Mapped[Optional[int]] = mapped_column(ForeignKey("office.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    office: Mapped[Optional[Office]] = relationship()
