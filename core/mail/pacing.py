"""How often an office hears that tickets arrived with no agent to take them.

A wave of mail (an outage, a deadline) can bring hundreds of tickets to an
office whose agents are all away, and a notice per ticket buries its
supervisors. So the first unstaffed ticket is told at once, and later ones
within Policy.unstaffed_notice_minutes are only counted; the sweep then
sends one summary per office saying how many arrived since
(core.mail.staff_notices.unstaffed_summaries). At most one notice per office
per window, and no ticket goes untold.

The counts are rate events (core.access.ratelimit): in the database, so the
limit holds across every mail and worker process.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select
from sqlalchemy.orm import Session

from core.access import ratelimit
from core.config.policy import Policy
from core.storage.fast import select_plain

_TOLD, _HELD = "unstaffed-told:", "unstaffed-held:"


def window(policy: Policy) -> timedelta:
    """The quiet time after a notice; no longer than rate events are kept."""
    return min(timedelta(minutes=policy.unstaffed_notice_minutes), ratelimit.LONGEST_WINDOW)


def recently_told(session: Session, policy: Policy, office_id: int, now: datetime) -> bool:
    """Was the office told of an unstaffed ticket within the window? Then a
    new one is only counted (note_held) for the next summary."""
    query = told_query(policy, office_id, now)
    return query is not None and was_told(select_plain(session.connection(), *query))


def told_query(policy: Policy, office_id: int, now: datetime) -> tuple[Select, dict] | None:
    """recently_told as a query to send with others (was_told reads its
    rows), or None without a quiet time."""
    quiet = window(policy)
    return ratelimit.count_query(f"{_TOLD}{office_id}", quiet, now) if quiet else None


def was_told(rows: list[tuple]) -> bool:
    """What told_query's rows say (none: no quiet time, so never)."""
    return bool(rows) and rows[0][0] > 0


def note_held(session: Session, office_id: int, now: datetime) -> None:
    ratelimit.hit(session, f"{_HELD}{office_id}", now)


def note_told(session: Session, policy: Policy, office_id: int, now: datetime) -> None:
    """The office was told now (only someone told starts a quiet time)."""
    if window(policy):
        ratelimit.hit(session, f"{_TOLD}{office_id}", now)


def due_summaries(session: Session, policy: Policy, now: datetime) -> list[tuple[int, int]]:
    """(office id, tickets held) for each office with tickets held back whose
    window has passed; each is noted as told, and its count starts again."""
    due = []
    for key in ratelimit.keys_under(session, _HELD, now=now):
        office_id = int(key.removeprefix(_HELD))
        if recently_told(session, policy, office_id, now):
            continue
        due.append((office_id, ratelimit.clear(session, key)))
        note_told(session, policy, office_id, now)
    return due
