"""The trading day: it starts at ``day_reset`` (HH:MM) in ``day_reset_timezone``.

Everything "daily" (loss limit, trade count, summaries) uses this day, not the UTC or
local calendar day. Day starts are computed from wall-clock times through ``zoneinfo`` so
they follow DST: a 00:00 Europe/Prague reset is 23:00 UTC in winter and 22:00 UTC in
summer. A reset time that does not exist on a spring-forward day falls on the first
instant after the gap; an ambiguous one (fall-back) is its first occurrence.

Labels: a day is named by the local date on which most of it falls. With a reset before
noon (00:00 Prague, 02:00 ...) that is the date it starts on; with a reset at or after
noon (17:00 New York, the FX convention) it is the date it ends on, so the session that
starts Monday 17:00 is Tuesday's trading day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from zoneinfo import ZoneInfo

from pulse.config import RiskLimits, hhmm_to_time

__all__ = ["TradingCalendar"]


@dataclass(frozen=True)
class TradingCalendar:
    """Maps instants to trading days and back."""

    reset: dtime
    tz: ZoneInfo

    @classmethod
    def from_limits(cls, limits: RiskLimits) -> TradingCalendar:
        return cls(hhmm_to_time(limits.day_reset), ZoneInfo(limits.day_reset_timezone))

    @property
    def _offset(self) -> timedelta:
        return timedelta(days=1 if self.reset.hour >= 12 else 0)

    @lru_cache(maxsize=16)  # noqa: B019 - a few days per calendar; each day's end is the next's start
    def day_start(self, day: date) -> datetime:
        """The UTC instant at which trading day ``day`` starts."""
        local = datetime.combine(day - self._offset, self.reset).replace(tzinfo=self.tz)
        # Round-trip through UTC normalises a wall time inside a DST gap.
        return local.astimezone(UTC)

    def day_of(self, at: datetime) -> date:
        """The trading day that contains instant ``at`` (aware)."""
        return self.bounds(at)[0]

    def next_start(self, day: date) -> datetime:
        """The UTC instant at which the day after ``day`` starts (= ``day`` ends)."""
        return self.day_start(day + timedelta(days=1))

    def bounds(self, at: datetime) -> tuple[date, datetime, datetime]:
        """(day, start, end) of the trading day containing ``at``."""
        one = timedelta(days=1)
        d = at.astimezone(self.tz).date() + self._offset
        start = self.day_start(d)
        if at < start:
            return d - one, self.day_start(d - one), start
        end = self.day_start(d + one)
        if at >= end:
            return d + one, end, self.day_start(d + 2 * one)
        return d, start, end

    def describe(self) -> str:
        return f"{self.reset:%H:%M} {self.tz.key}"
