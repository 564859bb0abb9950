"""Showing stored UTC times in an office's own time zone.

Times are stored in UTC; people read them in the zone of the office that
holds the ticket, with the zone's abbreviation (WIB, WITA, WIT across
Indonesia), so "14:00" is never mistaken for UTC or for another island's
clock.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from core.config.hours import parse_zone

DEFAULT_ZONE = "Asia/Jakarta"


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    """The zone of that IANA name; the default zone for none or an unknown name
    (names are checked where they are written, so this only covers old rows)."""
    try:
        return parse_zone(name or DEFAULT_ZONE)
    except ValueError:
        return parse_zone(DEFAULT_ZONE)


def is_zone(name: str) -> bool:
    try:
        parse_zone(name)
    except ValueError:
        return False
    return True


def local(moment: datetime, name: str | None) -> datetime:
    """`moment` (UTC, or naive meaning UTC) in the named zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone(name))


def show(moment: datetime | None, name: str | None) -> str:
    """"2024-05-01 14:30 WITA": the time in the named zone, with its abbreviation."""
    if moment is None:
        return ""
    shown = local(moment, name)
    return f"{shown:%Y-%m-%d %H:%M} {shown.tzname()}"
