"""Counting actions in a sliding window, in the database, so a limit holds
across every web and worker process (an in-memory counter would hold per
process only and forget on restart)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import RateEvent, UsedStamp, utcnow
from core.storage.fast import select_plain, write_soon

# The longest window any limit counts over (automatic mails per day).
LONGEST_WINDOW = timedelta(days=1)
# How long a signed form stamp is accepted; a spent stamp older than this
# would be refused as expired anyway, so its record may go.
STAMP_LIFETIME = timedelta(hours=6)

# Built once: mail ingest counts and hits on every new ticket, and building a
# statement costs several times more than running it.
_RATE = RateEvent.__table__
_HIT = insert(_RATE)
_COUNT = select(func.count()).where(_RATE.c.key == bindparam("key"), _RATE.c.at > bindparam("since"))
_TOTAL = select(func.coalesce(func.sum(_RATE.c.amount), 0)).where(
    _RATE.c.key == bindparam("key"), _RATE.c.at > bindparam("since"))
_COUNT_TWO = select(func.count().filter(_RATE.c.at > bindparam("short_since")), func.count()).where(
    _RATE.c.key == bindparam("key"), _RATE.c.at > bindparam("long_since"))


def hit(session: Session, key: str, now: datetime | None = None, amount: int = 1) -> None:
    """Count one action under `key` (by a plain INSERT, sent with the next
    statement: core.storage.fast.write_soon); `amount` is what it weighs for
    `total` (bytes, say)."""
    write_soon(session.connection(), _HIT, {"key": key[:300], "at": now or utcnow(), "amount": amount})


def total(session: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    """The sum of the amounts counted under `key` in the window."""
    since = (now or utcnow()) - window
    return int(session.connection().execute(_TOTAL, {"key": key[:300], "since": since}).scalar() or 0)


def count(session: Session, key: str, window: timedelta, now: datetime | None = None) -> int:
    ((counted,),) = select_plain(session.connection(), *count_query(key, window, now))
    return counted or 0


def count_query(key: str, window: timedelta, now: datetime | None = None) -> tuple[Select, dict]:
    """count's query and its values, for a caller that sends it with others
    (core.storage.fast.select_plain_many); its one row holds the count."""
    return _COUNT, {"key": key[:300], "since": (now or utcnow()) - window}


def counts_query(key: str, short: timedelta, long: timedelta, now: datetime | None = None) -> tuple[Select, dict]:
    """The counts in two windows (short within long), as one query and its
    values, which a caller sends with others (core.storage.fast.select_plain_many);
    counted_two reads its rows."""
    now = now or utcnow()
    return _COUNT_TWO, {"key": key[:300], "short_since": now - short, "long_since": now - long}


def counted_two(rows: list[tuple]) -> tuple[int, int]:
    ((in_short, in_long),) = rows
    return in_short or 0, in_long or 0


def allowed(session: Session, key: str, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Whether fewer than `limit` actions were counted in the window; a limit of 0: no limit."""
    return limit <= 0 or under(limit, count(session, key, window, now))  # no query without a limit


def under(limit: int, counted: int) -> bool:
    """Whether `counted` actions leave room under `limit`; a limit of 0: no limit."""
    return limit <= 0 or counted < limit


def clear(session: Session, key: str) -> int:
    """Forget every action counted under `key` (they were dealt with); returns how many."""
    return session.execute(delete(RateEvent).where(RateEvent.key == key[:300])).rowcount or 0


def keys_under(session: Session, prefix: str, window: timedelta = LONGEST_WINDOW,
               now: datetime | None = None) -> list[str]:
    """The keys starting with `prefix` that counted an action in the window."""
    since = (now or utcnow()) - window
    return list(session.scalars(select(RateEvent.key).where(RateEvent.key.startswith(prefix, autoescape=True),
                                                           RateEvent.at > since).distinct().order_by(RateEvent.key)))


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
