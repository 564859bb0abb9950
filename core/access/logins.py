"""Staff log-in: password checks with a lockout counted in the database, password
reset links, and password changes.

Failures are counted on the user row, not in the web process, so the limit holds
across every web worker. A wrong password and an unknown address get the same
answer, and an unknown address still costs one hash, so neither the message
nor the timing tells an attacker which addresses exist.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.access import bearer
from core.access.passwords import hash_password, needs_rehash, verify_password
from core.access.tokens import hash_token
from core.models import PasswordReset, User, utcnow

# After this many failures in a row the account locks, for LOCK_MINUTES doubled
# with every further failure (capped), so guessing stays hopeless while a
# forgetful user is back in minutes.
FREE_FAILURES = 5
LOCK_MINUTES = 5
MAX_LOCK_MINUTES = 24 * 60
RESET_HOURS = 2
_DUMMY_HASH: list[str] = []


class LoginRefused(Exception):
    """Wrong address or password, an inactive account, or a locked one (locked_until says)."""

    def __init__(self, locked_until: datetime | None = None):
        super().__init__("login refused")
        self.locked_until = locked_until


class BadResetToken(Exception):
    """The reset link is unknown, used or expired."""


class WrongPassword(Exception):
    """The current password given to change it is wrong."""


def _find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def _burn_one_hash(password: str) -> None:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not-a-real-password"))
    verify_password(_DUMMY_HASH[0], password)


def lock_minutes(failed: int) -> int:
    """Minutes of lockout after `failed` failures in a row (0 below the free failures)."""
    if failed < FREE_FAILURES:
        return 0
    return min(LOCK_MINUTES * 2 ** (failed - FREE_FAILURES), MAX_LOCK_MINUTES)


def verify_login(session: Session, email: str, password: str, *, now: datetime | None = None) -> User:
    """The active user with this address and password, or LoginRefused.

    A locked account refuses even the right password until the lock ends.
    """
    now = now or utcnow()
    user = _find_user(session, email)
    if user is None or not user.active:
        _burn_one_hash(password)
        raise LoginRefused()
    if user.locked_until is not None and user.locked_until > now:
        raise LoginRefused(user.locked_until)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        minutes = lock_minutes(user.failed_logins)
        if minutes:
            user.locked_until = now + timedelta(minutes=minutes)
            audit.record(session, None, "login_locked", user, to_value=user.locked_until.isoformat(), at=now)
        session.flush()
        raise LoginRefused(user.locked_until if minutes else None)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def change_password(session: Session, user: User, current: str, new: str, *, now: datetime | None = None) -> None:
    """Set a new password after checking the current one (WeakPassword if too short)."""
    if not verify_password(user.password_hash, current):
        raise WrongPassword()
    set_password(session, user, new, now=now)


def set_password(session: Session, user: User, new: str, *, actor: User | None = None,
                 now: datetime | None = None) -> None:
    now = now or utcnow()
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, None, "password_set", actor or user, to_value=user.email, at=now)
    bearer.revoke_user(session, user.id, now)  # access tokens end with the old hash (their generation)
    session.flush()


def request_reset(session: Session, email: str, *, now: datetime | None = None) -> tuple[User, str] | None:
    """A fresh reset token for an active user (the caller mails it), or None.

    Only the token's hash is stored; the token itself exists only in the mail.
    """
    now = now or utcnow()
    user = _find_user(session, email)
    if user is None or not user.active:
        return None
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(user_id=user.id, token_hash=hash_token(token), created_at=now,
                              expires_at=now + timedelta(hours=RESET_HOURS)))
    session.flush()
    return user, token


def user_of_reset(session: Session, token: str, *, now: datetime | None = None) -> User:
    """The user a valid, unused, unexpired reset token belongs to, else BadResetToken."""
    now = now or utcnow()
    if not token or len(token) > 100:
        raise BadResetToken()
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= now or not reset.user.active:
        raise BadResetToken()
    return reset.user


def reset_password(session: Session, token: str, new: str, *, now: datetime | None = None) -> User:
    """Set the password through a reset token and spend every open token of that user."""
    now = now or utcnow()
    user = user_of_reset(session, token, now=now)
    set_password(session, user, new, now=now)
    for reset in session.scalars(select(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))):
        reset.used_at = now
    session.flush()
    return user


def active_user(session: Session, user_id: int) -> User | None:
    """The user a session names, if the account is still active."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None
