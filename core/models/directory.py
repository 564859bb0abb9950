from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, StrEnum, utcnow


def enum_column(cls: type[enum.Enum], **kwargs):
    """Enums stored as their string values, portable and readable in SQL."""
    return mapped_column(
        Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e],
             validate_strings=True),
        **kwargs,
    )


class Office(Base):
    """A node of the directory: ministry, province, city, school, or any kind added.

    The chain is data: a ticket moves to `parent`, whatever its kind. `path`
    holds the codes from the root ("/MIN/P31/C3171/") so "every office below
    this one" is one indexed prefix match.
    """

    __tablename__ = "office"
    # "Every office below this one" is a LIKE 'prefix%' on path; PostgreSQL uses
    # a btree for that only with pattern operators (or the plain C collation).
    # The id and kind ride along, so a scope's office ids come from the index
    # alone (a Province's path holds thousands of schools; migration 0017).
    __table_args__ = (Index("ix_office_path_prefix", "path", postgresql_ops={"path": "varchar_pattern_ops"},
                            postgresql_include=["id", "kind"]),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("office.id"), index=True)
    path: Mapped[str] = mapped_column(String(512), index=True)
    # A school's registered address, or another office's shared mailbox;
    # stored lower-case so uniqueness is case-insensitive.
    email: Mapped[Optional[str]] = mapped_column(String(254), unique=True)
    # Language of mail to this office's people ("id" or "en"); none: the default.
    language: Mapped[Optional[str]] = mapped_column(String(8))
    # IANA zone the office's times are shown in (stored times stay UTC).
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta", server_default="Asia/Jakarta")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Incoming-webhook URLs of the office's Slack and Microsoft Teams channels:
    # told of a ticket no agent could take and of SLA breaches (core.hooks.chat).
    slack_url: Mapped[Optional[str]] = mapped_column(String(2000))
    teams_url: Mapped[Optional[str]] = mapped_column(String(2000))

    parent: Mapped[Optional["Office"]] = relationship(remote_side=[id], lazy="joined", join_depth=1)

    def __repr__(self) -> str:
        return f"<Office {self.code} {self.kind}>"


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


class User(Base):
    """A member of staff. Customers have no account."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    role: Mapped[Role] = enum_column(Role)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Available agents receive tickets; the flag and when it last changed
    # drive assignment and the return of an absent agent's tickets.
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    available_changed_at: Mapped[Optional[datetime]]
    # When the person last loaded a page (stamped at most once a minute): an
    # available agent seen longer ago than Policy.available_idle_minutes
    # receives no new tickets. None: not known (kept available).
    last_seen_at: Mapped[Optional[datetime]]
    # Kinds of staff notice this person gets no mail for, space separated
    # (see core.mail.staffnotices.KINDS); read with the row, so no query asks.
    mail_off: Mapped[str] = mapped_column(String(100), default="", server_default="")
    last_assigned_at: Mapped[Optional[datetime]]
    # Most open tickets the automatic rules give this agent; none: the policy's cap.
    max_open: Mapped[Optional[int]] = mapped_column(Integer)
    language: Mapped[Optional[str]] = mapped_column(String(8))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]]
    last_login_at: Mapped[Optional[datetime]]
    password_changed_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    office: Mapped[Office] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class PasswordReset(Base):
    """A one-time password-reset link; only the token's SHA-256 is kept."""

    __tablename__ = "password_reset"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship(lazy="joined")
