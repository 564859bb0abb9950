"""Credentials of the REST API: refresh tokens of a log-in, and long-lived API
tokens for integrations. Only a token's SHA-256 is stored, never the token."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.base import Base, utcnow
from core.models.directory import User


class RefreshToken(Base):
    """One refresh token of an API log-in. Each use spends it and issues the
    next one of the same family; a spent one used again revokes the family
    (someone replayed a stolen token)."""

    __tablename__ = "api_refresh_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]


class ApiToken(Base):
    """A long-lived token an integration sends as its bearer token, acting as
    its user within its scopes ("read", "write", "admin")."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(100))  # space separated
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown to admins so they can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship(lazy="joined")
