"""Trading day and week boundaries in a trader's timezone (DESIGN.md section 2).

A trading day starts at ``day_reset`` local time; a trading week starts at ``day_reset``
on the Monday. All bounds are half-open ``[start, end)``, returned in UTC; the caller
supplies "now", nothing here reads the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["WEEKDAYS", "day_bounds", "local_day", "week_bounds"]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware time")


def local_day(at: datetime, tz: tzinfo, day_reset: time = time(0, 0)) -> date:
    """The trading day ``at`` belongs to (the local date, shifted back before the reset)."""
    _require_aware(at)
    local = at.astimezone(tz)
    shifted = local - timedelta(hours=day_reset.hour, minutes=day_reset.minute)
    return shifted.date()


def _start_of(day: date, tz: tzinfo, day_reset: time) -> datetime:
    # Wall-clock construction (DST-correct for ZoneInfo zones), returned in UTC so that
    # comparisons and subtractions are exact whatever zone the other operand uses.
    return datetime.combine(day, day_reset, tzinfo=tz).astimezone(UTC)


def day_bounds(at: datetime, tz: tzinfo, day_reset: time = time(0, 0)) -> tuple[datetime, datetime]:
    """``[start, end)`` of the trading day containing ``at``."""
    d = local_day(at, tz, day_reset)
    return _start_of(d, tz, day_reset), _start_of(d + timedelta(days=1), tz, day_reset)


def week_bounds(
    at: datetime, tz: tzinfo, day_reset: time = time(0, 0)
) -> tuple[datetime, datetime]:
    """``[start, end)`` of the trading week (Monday's reset to next Monday's) containing ``at``."""
    d = local_day(at, tz, day_reset)
    monday = d - timedelta(days=d.weekday())
    return _start_of(monday, tz, day_reset), _start_of(monday + timedelta(days=7), tz, day_reset)
