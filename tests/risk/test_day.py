"""The trading day: starts at day_reset in day_reset_timezone, DST-correct."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pulse.config import RiskLimits
from pulse.risk import TradingCalendar

PRAGUE = TradingCalendar(time(0, 0), ZoneInfo("Europe/Prague"))


def test_prague_midnight_is_23_utc_in_winter_and_22_in_summer() -> None:
    assert PRAGUE.day_start(date(2026, 3, 2)) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert PRAGUE.day_start(date(2026, 7, 2)) == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)


def test_day_of_switches_exactly_at_the_reset() -> None:
    start = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert PRAGUE.day_of(start) == date(2026, 3, 2)
    assert PRAGUE.day_of(start - timedelta(microseconds=1)) == date(2026, 3, 1)


def test_dst_days_are_23_and_25_hours_long() -> None:
    spring = PRAGUE.next_start(date(2026, 3, 29)) - PRAGUE.day_start(date(2026, 3, 29))
    autumn = PRAGUE.next_start(date(2026, 10, 25)) - PRAGUE.day_start(date(2026, 10, 25))
    assert spring == timedelta(hours=23)
    assert autumn == timedelta(hours=25)


def test_reset_inside_the_spring_gap_and_the_autumn_overlap() -> None:
    cal = TradingCalendar(time(2, 30), ZoneInfo("Europe/Prague"))
    # 02:30 does not exist on 29 Mar 2026: the day starts at 03:30 CEST (01:30 UTC).
    assert cal.day_start(date(2026, 3, 29)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 happens twice on 25 Oct 2026: the first one (CEST, 00:30 UTC).
    start = cal.day_start(date(2026, 10, 25))
    assert start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # The second 02:30 (01:30 UTC) is inside the same trading day.
    assert cal.day_of(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == date(2026, 10, 25)
    assert cal.day_of(start - timedelta(seconds=1)) == date(2026, 10, 24)


def test_day_of_day_start_round_trips_for_a_whole_year() -> None:
    for tz, reset in (("Europe/Prague", time(0, 0)), ("America/New_York", time(17, 0)),
                      ("Europe/London", time(2, 30))):
        cal = TradingCalendar(reset, ZoneInfo(tz))
        d = date(2026, 1, 1)
        for _ in range(366):
            start = cal.day_start(d)
            assert cal.day_of(start) == d
            assert cal.day_of(start - timedelta(seconds=1)) == d - timedelta(days=1)
            d += timedelta(days=1)


def test_new_york_5pm_reset_from_config() -> None:
    cal = TradingCalendar.from_limits(
        RiskLimits(day_reset="17:00", day_reset_timezone="America/New_York"))
    # 16:59 New York on Monday belongs to Monday; 17:00 starts Tuesday's trading day.
    ny = ZoneInfo("America/New_York")
    assert cal.day_of(datetime(2026, 3, 2, 16, 59, tzinfo=ny)) == date(2026, 3, 2)
    assert cal.day_of(datetime(2026, 3, 2, 17, 0, tzinfo=ny)) == date(2026, 3, 3)
    assert cal.describe() == "17:00 America/New_York"
