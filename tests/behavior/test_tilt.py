"""Tilt: at least two of four signals (loss streak, recent revenge, rising size, daily loss)."""

from __future__ import annotations

from typing import Any

import pytest

from pulse.behavior import Flag
from pulse.models import Trade
from tests.behavior.factory import at, engine, trade, warmup


def tilt(entry: Trade, history: list[Trade], used: float = 0.0, **cfg: Any) -> Flag | None:
    flags = engine(**cfg).flags_for_entry(entry, history, used)
    return next((f for f in flags if f.id == "tilt"), None)


def two_old_losses() -> list[Trade]:
    """Two losses in a row, closed long enough ago that no revenge window is open."""
    return [
        trade(at(-120), symbol="GBPUSD", closed=at(-100), pnl=-120),
        trade(at(-95), symbol="GBPUSD", closed=at(-90), pnl=-80),
    ]


def earlier_revenge(minutes_before: float) -> list[Trade]:
    """A GBPUSD loss, then a GBPUSD re-entry 5 min later (revenge), closed as a win."""
    t = -minutes_before
    return [
        trade(at(t - 25), symbol="GBPUSD", closed=at(t - 5), pnl=-100),
        trade(at(t), symbol="GBPUSD", volume=0.5, closed=at(t + 10), pnl=40),
    ]


def rising(losses: bool = False) -> list[Trade]:
    """Two entries of 0.50 and 0.80 lots before the judged 1.00-lot entry."""
    pnl = -100.0 if losses else 0.0
    return [
        trade(at(-40), symbol="AUDUSD", volume=0.5, closed=at(-35), pnl=pnl),
        trade(at(-20), symbol="NZDUSD", volume=0.8, closed=at(-15), pnl=pnl),
    ]


ENTRY: dict[str, Any] = {"symbol": "EURUSD", "volume": 1.0}


@pytest.mark.parametrize(("used", "fires"), [(49.9, False), (50.0, True)])
def test_loss_streak_plus_daily_loss_at_50_percent(used: float, fires: bool) -> None:
    history = [*warmup(3), *two_old_losses()]
    f = tilt(trade(at(0), **ENTRY), history, used)
    assert (f is not None) is fires
    if f is not None:
        assert f.evidence == (
            "2 of 4 tilt signals: 2 losses in a row (-$200); 50% of the daily loss limit used"
        )
        assert f.confidence == 0.6


def test_each_signal_alone_is_not_tilt() -> None:
    e = trade(at(0), **ENTRY)
    assert tilt(e, [*warmup(3), *two_old_losses()]) is None
    assert tilt(e, [*warmup(3), *earlier_revenge(30)]) is None
    assert tilt(e, [*warmup(3), *rising()]) is None
    assert tilt(e, warmup(3), used=80.0) is None


def test_one_loss_is_not_a_streak() -> None:
    history = [*warmup(3), *two_old_losses()[1:]]
    assert tilt(trade(at(0), **ENTRY), history, 60.0) is None


def test_rising_size_plus_loss_streak() -> None:
    f = tilt(trade(at(0), **ENTRY), [*warmup(3), *rising(losses=True)])
    assert f is not None
    assert f.evidence == (
        "2 of 4 tilt signals: 2 losses in a row (-$200); sizes rising 0.50 → 0.80 → 1.00 lots"
    )


def test_rising_size_needs_strictly_rising_and_a_baseline() -> None:
    history = [*warmup(3), *rising()]
    assert tilt(trade(at(0), symbol="EURUSD", volume=0.8), history, 60.0) is None  # 0.8 = 0.8
    assert tilt(trade(at(0), **ENTRY), history, 60.0) is not None
    # Only 2 prior entries: no size-based signal at all.
    assert tilt(trade(at(0), **ENTRY), rising(), 60.0) is None


@pytest.mark.parametrize(("minutes_before", "fires"), [(60, True), (61, False)])
def test_revenge_in_the_last_60_minutes(minutes_before: float, fires: bool) -> None:
    history = [*warmup(3), *earlier_revenge(minutes_before)]
    f = tilt(trade(at(0), **ENTRY), history, used=50.0)
    assert (f is not None) is fires
    if f is not None:
        assert "revenge entry on GBPUSD at 08:00" in f.evidence


def test_earlier_revenge_is_judged_with_what_was_known_then() -> None:
    # The re-entry at -30 was only the 2nd GBPUSD-free entry after a USDJPY loss: not revenge,
    # even though a third entry (at -20) came after it.
    history = [
        *warmup(3),
        trade(at(-60), symbol="USDJPY", closed=at(-40), pnl=-50),
        trade(at(-35), symbol="AUDUSD", volume=0.5, closed=at(-34), pnl=10),
        trade(at(-30), symbol="NZDUSD", volume=0.5, closed=at(-29), pnl=10),
    ]
    assert tilt(trade(at(0), **ENTRY), history, used=50.0) is None
    history.append(trade(at(-25), symbol="USDCAD", volume=0.5, closed=at(-24), pnl=10))
    f = tilt(trade(at(0), **ENTRY), history, used=50.0)  # the 3rd entry (at -25) was revenge
    assert f is not None and "revenge entry on USDCAD at 08:35" in f.evidence


def test_current_revenge_counts_as_the_revenge_signal() -> None:
    history = [
        *warmup(3),
        *two_old_losses(),
        trade(at(-10), symbol="EURUSD", closed=at(-5), pnl=-60),
    ]
    flags = engine().flags_for_entry(trade(at(0), **ENTRY), history, 0.0)
    assert [f.id for f in flags] == ["revenge", "tilt"]
    assert "3 losses in a row (-$260); this entry is a revenge trade" in flags[1].evidence
    # A revenge entry without a second signal is not tilt.
    lone = [*warmup(3), trade(at(-10), symbol="EURUSD", closed=at(-5), pnl=-60)]
    assert [f.id for f in engine().flags_for_entry(trade(at(0), **ENTRY), lone, 0.0)] == ["revenge"]


def test_confidence_rises_with_signals() -> None:
    history2 = [*warmup(3), *rising(losses=True)]
    two = tilt(trade(at(0), **ENTRY), history2, used=0.0)
    assert two is not None and two.confidence == 0.6
    three = tilt(trade(at(0), **ENTRY), history2, used=75.0)
    assert three is not None and three.confidence == 0.8
    # 4 signals: add a revenge (loss at -15 on EURUSD -> the EURUSD entry is revenge).
    history4 = [
        *warmup(3),
        trade(at(-40), symbol="AUDUSD", volume=0.5, closed=at(-35), pnl=-10),
        trade(at(-20), symbol="EURUSD", volume=0.8, closed=at(-15), pnl=-10),
    ]
    four = tilt(trade(at(0), **ENTRY), history4, used=75.0)
    assert four is not None and four.confidence == 1.0
    assert four.evidence.startswith("4 of 4 tilt signals")


def test_min_signals_from_config() -> None:
    history = [*warmup(3), *two_old_losses()]
    assert tilt(trade(at(0), **ENTRY), history, tilt_min_signals=1) is not None
    assert tilt(trade(at(0), **ENTRY), history, used=99.0, tilt_min_signals=3) is None
