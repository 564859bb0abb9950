"""Long-lived API tokens for integrations (the teacher database, a school data
system): made by `helpdesk create-token`, shown once, stored as a SHA-256,
listed and revoked by admins. A token acts as its user, within its scopes."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.access.tokens import hash_token
from core.models import ApiToken, Office, User, utcnow
from core.words import N_

PREFIX = "hd_"
SCOPES = ("read", "write", "admin")
DEFAULT_SCOPES = ("read", "write")
# Writing last_used_at on every request would make every read a write; once a minute says enough.
LAST_USED_EVERY = timedelta(minutes=1)


class TokenRefused(ValueError):
    """A token that cannot be made as asked (unknown scope, no name)."""


def looks_like(token: str) -> bool:
    """Whether a bearer token is an API token (the others are access JWTs)."""
    return token.startswith(PREFIX)


def create(session: Session, user: User, name: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, *,
           actor: User | str | None = None, now: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the token (which exists only here)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise TokenRefused(N_("a token needs a name of at most 100 characters"))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise TokenRefused(N_("scopes are some of %(scopes)s; not %(unknown)s")
                           % {"scopes": ", ".join(SCOPES), "unknown": ", ".join(unknown) or "none"})
    if "admin" in scopes and user.role.value != "admin":
        raise TokenRefused(N_("only an admin's token may have the admin scope"))
    now = now or utcnow()
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, scopes=" ".join(s for s in SCOPES if s in scopes),
                   token_hash=hash_token(token), prefix=token[:10], created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, None, "api_token_created", actor or user, to_value=f"{user.email} {name}",
                 detail=row.scopes, at=now)
    return row, token


def find(session: Session, token: str, now: datetime | None = None) -> ApiToken | None:
    """The live token row (its user active), stamping its last use; None if unknown or revoked."""
    if not looks_like(token) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = now or utcnow()
    if row.last_used_at is None or row.last_used_at < now - LAST_USED_EVERY:
        row.last_used_at = now
    return row


def _below(admin: User):
    return select(Office.id).where(Office.path.startswith(admin.office.path, autoescape=True))


def listed(session: Session, admin: User) -> list[ApiToken]:
    """The tokens of users in the admin's office and below, newest first."""
    return list(session.scalars(select(ApiToken).join(User, User.id == ApiToken.user_id)
                                .where(User.office_id.in_(_below(admin))).order_by(ApiToken.id.desc())))


def revoke(session: Session, admin: User, token_id: int, now: datetime | None = None) -> ApiToken:
    """Revoke a token of a user the admin manages (LookupError otherwise)."""
    row = session.scalar(select(ApiToken).join(User, User.id == ApiToken.user_id).where(
        ApiToken.id == token_id, User.office_id.in_(_below(admin))))
    if row is None:
        raise LookupError(token_id)
    now = now or utcnow()
    if row.revoked_at is None:
        row.revoked_at = now
        audit.record(session, None, "api_token_revoked", admin, to_value=f"{row.user.email} {row.name}", at=now)
    return row
