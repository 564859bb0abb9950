"""Counting actions in a sliding window, in the database, so a limit holds
across every web and worker process (an in-memory counter would hold per
process only and forget on restart)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import RateEvent, UsedStamp, utcnow

# The longest window any limit counts over (automatic mails per day).
LONGEST_WINDOW = timedelta(days=1)
# How long a signed form stamp is accepted; a spent stamp older than this
# would be refused as expired anyway, so its record may go.
STAMP_LIFETIME = timedelta(hours=6)


def hit(session: Session, key: str, now: datetime | None = None) -> None:
    """Count one action under `key`."""
    session.add(RateEvent(key=key[:300], at=now or utcnow()))
    session.flush()


def count(session: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    since = (now or utcnow()) - window
    return session.scalar(select(func.count()).select_from(RateEvent).where(
        RateEvent.key == key[:300], RateEvent.at > since)) or 0


def allowed(session: Session, key: str, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Whether fewer than `limit` actions were counted in the window; a limit of 0: no limit."""
    return limit <= 0 or count(session, key, window, now) < limit


def prune(session: Session, before: datetime) -> int:
    """Forget actions older than every window in use; returns how many."""
    return session.execute(delete(RateEvent).where(RateEvent.at < before)).rowcount or 0


def use_once(session: Session, nonce: str, now: datetime | None = None) -> bool:
    """Spend a one-time value (a form's stamp); False if it was spent before.

    The insert runs in a savepoint so a clash leaves the caller's transaction
    usable; on PostgreSQL a concurrent twin waits for the first to commit,
    then clashes.
    """
    try:
        with session.begin_nested():
            session.add(UsedStamp(nonce=nonce[:32], used_at=now or utcnow()))
    except IntegrityError:
        return False
    return True


def prune_stamps(session: Session, before: datetime) -> int:
    """Forget spent stamps old enough to be refused as expired anyway."""
    return session.execute(delete(UsedStamp).where(UsedStamp.used_at < before)).rowcount or 0


def forget_old(session: Session, now: datetime | None = None) -> int:
    """What the sweep calls: drop counts and spent stamps no rule can look at any more."""
    now = now or utcnow()
    return prune(session, now - LONGEST_WINDOW) + prune_stamps(session, now - STAMP_LIFETIME)
