"""API log-in: short-lived signed access tokens and rotating refresh tokens.

An access token is a JWT (HS256) under a key derived from the secret key, so
it cannot be confused with any other HMAC we make. It names the user and the
generation of their password (as the portal's session id does), so a
password change ends it too. It lives ACCESS_SECONDS and is never stored.

A refresh token is 256 random bits; only its SHA-256 is stored. Using it
spends it and issues the next one of the same family. Using a spent one
again means two parties hold it (one stole it): the whole family is revoked.
Log-out and a password change revoke the refresh tokens too.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, NamedTuple

import jwt
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from core.access.tokens import hash_token
from core.models import Office, RefreshToken, Role, User, utcnow
from core.storage.db import Database
from core.storage.fast import as_loaded, columns_of, set_loaded

ACCESS_SECONDS = 15 * 60
REFRESH_DAYS = 30
ALGORITHM = "HS256"
ISSUER = "helpdesk"


class BadToken(Exception):
    """An access or refresh token that is malformed, expired, revoked or spent (the caller
    answers 401 without saying which)."""


class Replayed(BadToken):
    """A spent refresh token was used again; its family is now revoked (commit it)."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int = ACCESS_SECONDS
    token_type: str = "Bearer"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"api-access-token", hashlib.sha256).digest()


def generation(user: User) -> str:
    """A piece of the password hash: changes with every password change (as portal sessions use)."""
    return _generation_of(user.password_hash)


def _generation_of(password_hash: str) -> str:
    return password_hash[-12:]


def access_token(secret: str, user: User, now: datetime | None = None) -> str:
    now = now or utcnow()
    claims = {"sub": str(user.id), "gen": generation(user), "iss": ISSUER, "iat": int(now.timestamp()),
              "exp": int(now.timestamp()) + ACCESS_SECONDS}
    return jwt.encode(claims, _key(secret), algorithm=ALGORITHM)


class Holder(NamedTuple):
    """Who an access token names: the user's id and role, and the user's
    and their office's rows as the driver gave them (for
    core.storage.fast.as_loaded, in the order of HOLDER_USER and
    HOLDER_OFFICE), so that the request need not load them again."""
    user_id: int
    role: Role
    user_row: tuple
    office_row: tuple


# Built once: the API's guard reads it on every request, the user with their
# office (whose path every visibility check reads).
HOLDER_USER, HOLDER_OFFICE = columns_of(User), columns_of(Office)
_HOLDER = select(*HOLDER_USER, *HOLDER_OFFICE).join(Office, Office.id == User.office_id).where(
    User.id == bindparam("id"))
_ACTIVE, _PASSWORD_HASH, _ROLE = (HOLDER_USER.index(column) for column in (User.active, User.password_hash, User.role))


def holder_of_access(db: Database, secret: str, token: str, now: datetime | None = None, *,
                     read: Callable[[Select, dict], list[tuple]] | None = None) -> Holder:
    """The active user an access token names, else BadToken.

    Every API request asks this before its view runs, so the user's row is
    read as plain values outside any transaction (Database.read_plain, or
    `read`, which reads as it does), not as an object in a session of its
    own: the view puts the row in its own session (portal.api.guard.me)."""
    now = now or utcnow()
    try:
        claims = jwt.decode(token, _key(secret), algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["sub", "exp", "iat", "gen"], "verify_exp": False})
    except jwt.PyJWTError:
        raise BadToken() from None
    # Expiry checked against our clock (freezegun in tests), not PyJWT's.
    if not isinstance(claims["exp"], int) or claims["exp"] <= now.timestamp() or not str(claims["sub"]).isdigit():
        raise BadToken()
    rows = (read or db.read_plain)(_HOLDER, {"id": int(claims["sub"])})
    if not rows:
        raise BadToken()
    row = tuple(rows[0])
    user_row, office_row = row[:len(HOLDER_USER)], row[len(HOLDER_USER):]
    if not user_row[_ACTIVE] or not hmac.compare_digest(_generation_of(user_row[_PASSWORD_HASH]),
                                                        str(claims["gen"])):
        raise BadToken()
    return Holder(int(claims["sub"]), Role(user_row[_ROLE]), user_row, office_row)


def user_of(session: Session, holder: Holder) -> User:
    """The holder's user, with their office, in this session, from the rows
    holder_of_access read: no query (a request reads them once)."""
    user = as_loaded(session, User, holder.user_row)
    set_loaded(user, office=as_loaded(session, Office, holder.office_row))
    return user


def _issue(session: Session, secret: str, user: User, family: str, now: datetime) -> TokenPair:
    token = secrets.token_urlsafe(32)
    session.add(RefreshToken(user_id=user.id, family=family, token_hash=hash_token(token), created_at=now,
                             expires_at=now + timedelta(days=REFRESH_DAYS)))
    session.flush()
    return TokenPair(access_token(secret, user, now), token)


def start(session: Session, secret: str, user: User, now: datetime | None = None) -> TokenPair:
    """A new family of tokens for a user who just logged in."""
    return _issue(session, secret, user, secrets.token_hex(16), now or utcnow())


def _find(session: Session, token: str) -> RefreshToken | None:
    if not token or len(token) > 200:
        return None
    return session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)))


def revoke_family(session: Session, family: str, now: datetime | None = None) -> None:
    session.execute(update(RefreshToken).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now or utcnow()))


def revoke_user(session: Session, user_id: int, now: datetime | None = None) -> None:
    """End every API log-in of the user (a password change)."""
    session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now or utcnow()))


def rotate(session: Session, secret: str, token: str, now: datetime | None = None) -> TokenPair:
    """Spend a refresh token and issue the next pair; BadToken if it cannot be used.

    A spent token presented again revokes its family. The caller must commit
    even then (the revocation is the point), so that case is reported by
    `Replayed`, a BadToken raised after the revocation was written.
    """
    now = now or utcnow()
    found = _find(session, token)
    if found is None or found.revoked_at is not None or found.expires_at <= now:
        raise BadToken()
    if found.used_at is not None:
        revoke_family(session, found.family, now)
        raise Replayed()
    user = session.get(User, found.user_id)
    if user is None or not user.active:
        raise BadToken()
    # Spent in one UPDATE guarded by used_at, so two concurrent uses cannot both succeed.
    spent = session.execute(update(RefreshToken).where(RefreshToken.id == found.id, RefreshToken.used_at.is_(None))
                            .values(used_at=now)).rowcount
    if spent != 1:
        revoke_family(session, found.family, now)
        raise Replayed()
    return _issue(session, secret, user, found.family, now)



def end(session: Session, token: str, now: datetime | None = None) -> bool:
    """Log out: revoke the refresh token's family. False if the token is unknown."""
    found = _find(session, token)
    if found is None:
        return False
    revoke_family(session, found.family, now)
    return True
