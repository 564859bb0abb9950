"""Working time, for SLA clocks that count only business hours.

An office answers mail in its opening hours, on its working days, and not
on public holidays; a due time counted around the clock would fall due over
a weekend. The calendar is read from four policy settings (see
core.config.policy): opening hours "HH:MM-HH:MM" in a time zone, working days by
name, and holidays as ISO dates. Empty hours mean around the clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.words import N_

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Calendar:
    opens: time
    closes: time
    days: frozenset[int]  # date.weekday() of working days
    holidays: frozenset[date]
    zone: ZoneInfo

    def works_on(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays


def parse_hours(value: str) -> tuple[time, time]:
    """("08:00", "16:00") from "08:00-16:00"; opening must come before closing."""
    try:
        opens, closes = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(N_("opening hours must read HH:MM-HH:MM")) from None
    if opens >= closes:
        raise ValueError(N_("opening hours must open before they close"))
    return opens, closes


def parse_days(value: tuple[str, ...]) -> frozenset[int]:
    unknown = [d for d in value if d not in DAY_NAMES]
    if unknown or not value:
        raise ValueError(N_("working days are names among %(days)s, at least one") % {"days": ", ".join(DAY_NAMES)})
    return frozenset(DAY_NAMES.index(d) for d in value)


def parse_holidays(value: tuple[str, ...]) -> frozenset[date]:
    try:
        return frozenset(date.fromisoformat(d) for d in value)
    except ValueError:
        raise ValueError(N_("holidays are dates written YYYY-MM-DD")) from None


def parse_zone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(N_("unknown time zone %(value)s (for example Asia/Jakarta)") % {"value": repr(value)}) from None


@lru_cache(maxsize=8)
def calendar(hours: str, days: tuple[str, ...], holidays: tuple[str, ...], zone: str) -> Calendar | None:
    """The calendar these settings describe; None when `hours` is empty (around the clock)."""
    if not hours.strip():
        return None
    opens, closes = parse_hours(hours)
    return Calendar(opens, closes, parse_days(days), parse_holidays(holidays), parse_zone(zone))


def add_working_hours(start: datetime, hours: float, cal: Calendar | None) -> datetime:
    """The moment `hours` of working time after `start` (in UTC); plain hours without a calendar."""
    if cal is None:
        return start + timedelta(hours=hours)
    left = timedelta(hours=hours)
    cursor = start.astimezone(cal.zone)
    while True:  # ends: every week has a working day, and holidays are finite
        day = cursor.date()
        if cal.works_on(day):
            begin = max(cursor, datetime.combine(day, cal.opens, cal.zone))
            closes = datetime.combine(day, cal.closes, cal.zone)
            if begin + left <= closes:
                return (begin + left).astimezone(timezone.utc)
            left -= max(closes - begin, timedelta(0))
        cursor = datetime.combine(day + timedelta(days=1), time(0), cal.zone)


def working_time_between(start: datetime, end: datetime, cal: Calendar | None) -> timedelta:
    """How much working time passes from `start` to `end` (zero if `end` is not later):
    the inverse of add_working_hours, used to know how long a paused SLA clock stood still."""
    if end <= start:
        return timedelta(0)
    if cal is None:
        return end - start
    total = timedelta(0)
    cursor, end = start.astimezone(cal.zone), end.astimezone(cal.zone)
    while cursor < end:
        day = cursor.date()
        if cal.works_on(day):
            begin = max(cursor, datetime.combine(day, cal.opens, cal.zone))
            stop = min(end, datetime.combine(day, cal.closes, cal.zone))
            total += max(stop - begin, timedelta(0))
        cursor = datetime.combine(day + timedelta(days=1), time(0), cal.zone)
    return total
