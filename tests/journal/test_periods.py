from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from pulse.journal.periods import day_bounds, local_day, week_bounds

PRAGUE = ZoneInfo("Europe/Prague")


def test_day_and_week_bounds_across_dst():
    # 2026-03-29 is the spring-forward Sunday in Europe: that day has 23 hours
    start, end = day_bounds(datetime(2026, 3, 29, 12, tzinfo=UTC), PRAGUE)
    assert (end - start).total_seconds() == 23 * 3600
    ws, we = week_bounds(datetime(2026, 3, 29, 12, tzinfo=UTC), PRAGUE)
    assert ws == datetime(2026, 3, 22, 23, tzinfo=UTC)  # Monday 00:00 CET
    assert we == datetime(2026, 3, 29, 22, tzinfo=UTC)  # next Monday 00:00 CEST


def test_day_reset_shifts_the_trading_day():
    # With a 22:00 New York reset the day *starts* at 22:00: Monday 23:30 is in the
    # trading day that began Monday 22:00, Monday 21:30 in the one that began Sunday.
    ny = ZoneInfo("America/New_York")
    at = datetime(2026, 3, 3, 4, 30, tzinfo=UTC)  # Mon 23:30 EST
    assert local_day(at, ny, time(22, 0)).isoformat() == "2026-03-02"
    at2 = datetime(2026, 3, 3, 2, 30, tzinfo=UTC)  # Mon 21:30 EST
    assert local_day(at2, ny, time(22, 0)).isoformat() == "2026-03-01"
