"""Fatigue: late-night / early-morning entries in the trader's timezone, optimal hours."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pulse.behavior import Flag
from tests.behavior.factory import PRAGUE, engine, trade


def fatigue(opened: datetime, tz: tzinfo = PRAGUE, **cfg: Any) -> Flag | None:
    flags = engine(tz, **cfg).flags_for_entry(trade(opened), [], 0.0)
    return next((f for f in flags if f.id == "fatigue"), None)


# (UTC instant, fires) around 22:00 and 06:00 Prague local time, on an ordinary winter day
# (CET, UTC+1) and on both 2026 DST change days (29 March: CET->CEST; 25 October: CEST->CET).
CASES = [
    (datetime(2026, 1, 15, 20, 59, 59, tzinfo=UTC), False),  # 21:59:59 CET
    (datetime(2026, 1, 15, 21, 0, 0, tzinfo=UTC), True),  # 22:00 CET
    (datetime(2026, 3, 29, 19, 59, tzinfo=UTC), False),  # 21:59 CEST (DST began that night)
    (datetime(2026, 3, 29, 20, 0, tzinfo=UTC), True),  # 22:00 CEST
    (datetime(2026, 3, 29, 3, 59, tzinfo=UTC), True),  # 05:59 CEST, hours after the gap
    (datetime(2026, 3, 29, 4, 0, tzinfo=UTC), False),  # 06:00 CEST
    (datetime(2026, 10, 25, 20, 59, tzinfo=UTC), False),  # 21:59 CET (DST ended that night)
    (datetime(2026, 10, 25, 21, 0, tzinfo=UTC), True),  # 22:00 CET
    (datetime(2026, 10, 25, 4, 59, tzinfo=UTC), True),  # 05:59 CET
    (datetime(2026, 10, 25, 5, 0, tzinfo=UTC), False),  # 06:00 CET
]


@pytest.mark.parametrize(("instant", "fires"), CASES)
def test_fatigue_hours_in_prague(instant: datetime, fires: bool) -> None:
    assert (fatigue(instant) is not None) is fires


def test_the_same_instant_depends_on_the_traders_timezone() -> None:
    instant = datetime(2026, 3, 29, 20, 30, tzinfo=UTC)  # 22:30 Prague, 16:30 New York
    assert fatigue(instant, PRAGUE) is not None
    assert fatigue(instant, ZoneInfo("America/New_York")) is None
    assert fatigue(instant, UTC) is None
    tokyo_night = datetime(2026, 3, 29, 13, 30, tzinfo=UTC)  # 22:30 in Tokyo
    assert fatigue(tokyo_night, ZoneInfo("Asia/Tokyo")) is not None


def test_entry_time_in_any_offset_is_the_same_instant() -> None:
    utc = datetime(2026, 1, 15, 21, 30, tzinfo=UTC)
    a, b = fatigue(utc.astimezone(ZoneInfo("Asia/Tokyo"))), fatigue(utc)
    assert a is not None and b is not None
    assert (a.evidence, a.confidence, a.at) == (b.evidence, b.confidence, b.at)


def test_evidence_and_confidence_depth() -> None:
    f = fatigue(datetime(2026, 1, 15, 21, 14, tzinfo=UTC))
    assert f is not None
    assert f.evidence == (
        "entered EURUSD at 22:14 (Europe/Prague), within your fatigue hours 22:00–06:00"
    )
    at_22 = fatigue(datetime(2026, 1, 15, 21, 0, tzinfo=UTC))
    at_01 = fatigue(datetime(2026, 1, 16, 0, 0, tzinfo=UTC))
    at_0559 = fatigue(datetime(2026, 1, 16, 4, 59, tzinfo=UTC))
    assert at_22 and at_01 and at_0559
    assert at_22.confidence == 0.5
    assert at_01.confidence == 1.0
    assert at_22.confidence < f.confidence < at_01.confidence
    assert at_0559.confidence == 0.5  # 1 minute from the end of the window


OPTIMAL = ["08:00-12:00", "14:00-17:00"]


@pytest.mark.parametrize(
    ("hhmm", "fires"),
    [
        ((7, 59), True),
        ((8, 0), False),
        ((11, 59), False),
        ((12, 0), True),
        ((13, 0), True),
        ((14, 0), False),
        ((17, 0), True),
    ],
)
def test_outside_optimal_hours(hhmm: tuple[int, int], fires: bool) -> None:
    instant = datetime(2026, 1, 15, *hhmm, tzinfo=PRAGUE)
    f = fatigue(instant, optimal_hours=OPTIMAL)
    assert (f is not None) is fires
    if f is not None:
        assert "outside your optimal hours 08:00-12:00, 14:00-17:00" in f.evidence


def test_optimal_window_may_wrap_midnight() -> None:
    kw: dict[str, Any] = {
        "optimal_hours": ["20:00-02:00"],
        "fatigue_hour": 3,
        "fatigue_morning_hour": 4,
    }
    assert fatigue(datetime(2026, 1, 15, 23, 0, tzinfo=PRAGUE), **kw) is None
    assert fatigue(datetime(2026, 1, 15, 1, 59, tzinfo=PRAGUE), **kw) is None
    assert fatigue(datetime(2026, 1, 15, 2, 0, tzinfo=PRAGUE), **kw) is not None


def test_night_and_optimal_hours_combine_into_one_flag() -> None:
    f = fatigue(datetime(2026, 1, 15, 23, 0, tzinfo=PRAGUE), optimal_hours=OPTIMAL)
    assert f is not None
    assert "fatigue hours" in f.evidence and "optimal hours" in f.evidence
    # the stronger of night (1 h deep of 3: 0.5 + 0.5/3) and optimal (6 h past 17:00: 0.9)
    assert f.confidence == 0.9


def test_equal_fatigue_hours_disable_the_night_rule() -> None:
    assert fatigue(datetime(2026, 1, 15, 23, 0, tzinfo=PRAGUE), fatigue_hour=6) is None


def test_non_wrapping_fatigue_window() -> None:
    kw: dict[str, Any] = {"fatigue_hour": 0, "fatigue_morning_hour": 5}
    assert fatigue(datetime(2026, 1, 15, 23, 59, tzinfo=PRAGUE), **kw) is None
    assert fatigue(datetime(2026, 1, 15, 0, 0, tzinfo=PRAGUE), **kw) is not None
    assert fatigue(datetime(2026, 1, 15, 5, 0, tzinfo=PRAGUE), **kw) is None
