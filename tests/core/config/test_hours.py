"""Working time for SLA clocks: opening hours, working days, holidays, time zone."""
from datetime import datetime, timedelta, timezone

import pytest

from core.config.policy import BadSetting, load_policy, update_policy
from core.config import hours

MON = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # 15:00 in Jakarta, an hour before closing
WEEK = ("mon", "tue", "wed", "thu", "fri")


def office(holidays=()):
    return hours.calendar("08:00-16:00", WEEK, holidays, "Asia/Jakarta")


def test_no_opening_hours_means_around_the_clock():
    assert hours.calendar("", WEEK, (), "Asia/Jakarta") is None
    assert hours.add_working_hours(MON, 8, None) == MON + timedelta(hours=8)


def test_hours_left_today_count_and_the_rest_starts_at_tomorrows_opening():
    assert hours.add_working_hours(MON, 8, office()) == MON + timedelta(hours=24)  # Tue 15:00 WIB


def test_a_weekend_does_not_count():
    friday = MON + timedelta(days=4)
    assert hours.add_working_hours(friday, 8, office()) == friday + timedelta(days=3)


def test_a_holiday_does_not_count():
    assert hours.add_working_hours(MON, 8, office(("2026-03-03",))) == MON + timedelta(hours=48)


def test_before_opening_the_clock_starts_at_opening_and_may_end_at_closing():
    dawn = datetime(2026, 3, 2, 0, 0, tzinfo=timezone.utc)  # 07:00 in Jakarta
    assert hours.add_working_hours(dawn, 8, office()) == datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_after_closing_the_clock_starts_next_working_morning():
    evening = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)  # 17:00 in Jakarta
    assert hours.add_working_hours(evening, 1, office()) == datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("name, value", [
    ("sla_business_hours", "8-16"), ("sla_business_hours", "16:00-08:00"), ("sla_business_days", ("monday",)),
    ("sla_business_days", ()), ("sla_holidays", ("25/12/2026",)), ("sla_timezone", "Mars/Olympus"),
])
def test_a_calendar_setting_that_does_not_parse_is_refused(session, name, value):
    with pytest.raises(BadSetting) as refused:
        update_policy(session, "admin@staff.test", **{name: value})
    assert refused.value.name == name
    assert getattr(load_policy(session), name) != value


def test_a_calendar_setting_that_parses_is_stored(session):
    update_policy(session, "admin@staff.test", sla_business_hours="07:30-15:30", sla_holidays=("2026-12-25",),
                  sla_business_days=("mon", "tue", "wed", "thu", "fri", "sat"), sla_timezone="Asia/Makassar")
    policy = load_policy(session)
    assert (policy.sla_business_hours, policy.sla_holidays, policy.sla_timezone) == (
        "07:30-15:30", ("2026-12-25",), "Asia/Makassar")
