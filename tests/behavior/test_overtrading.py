"""Overtrading: more than 4 entries within 15 minutes (the window start is inclusive)."""

from __future__ import annotations

from typing import Any

import pytest

from pulse.behavior import Flag
from pulse.models import Trade
from tests.behavior.factory import at, engine, trade


def over(entry: Trade, history: list[Trade], **cfg: Any) -> Flag | None:
    flags = engine(**cfg).flags_for_entry(entry, history, 0.0)
    return next((f for f in flags if f.id == "overtrading"), None)


@pytest.mark.parametrize(("entries", "fires"), [(4, False), (5, True), (6, True)])
def test_count_threshold(entries: int, fires: bool) -> None:
    history = [trade(at(i), symbol="XAUUSD", volume=0.1) for i in range(entries - 1)]
    assert (over(trade(at(10)), history) is not None) is fires


@pytest.mark.parametrize(("first_seconds_before", "fires"), [(15 * 60, True), (15 * 60 + 1, False)])
def test_window_is_15_minutes_inclusive(first_seconds_before: int, fires: bool) -> None:
    history = [trade(at(seconds=-first_seconds_before), symbol="XAUUSD")]
    history += [trade(at(-3 + i), symbol="XAUUSD") for i in range(3)]
    assert (over(trade(at(0)), history) is not None) is fires


def test_open_and_closed_entries_both_count_and_future_ones_do_not() -> None:
    history = [trade(at(i), closed=at(i + 1), pnl=5) for i in range(3)]
    history.append(trade(at(5)))
    history.append(trade(at(20)))  # opened after the entry: unknown at that instant
    assert over(trade(at(6)), history) is not None
    assert over(trade(at(6)), history[:3] + history[4:]) is None


def test_evidence_confidence_and_config() -> None:
    history = [trade(at(i), symbol="XAUUSD") for i in range(7)]
    f = over(trade(at(14), volume=0.3), history)
    assert f is not None
    assert f.evidence == (
        "8 entries in 15 min (09:00–09:14), more than your 4; latest EURUSD 0.30 lots"
    )
    five = over(trade(at(14)), history[:4])
    assert five is not None and five.confidence == 0.62  # 0.5 + 0.5 x 1/4 (round half even)
    assert f.confidence == 1.0
    assert over(trade(at(14)), history[:4], overtrading_max_entries=5) is None
    assert over(trade(at(14)), history[:4], overtrading_window_minutes=5) is None
