"""Overconfidence: size >= 1.4 x baseline after a win streak of >= 3."""

from __future__ import annotations

import pytest

from pulse.behavior import Flag
from pulse.models import Trade
from tests.behavior.factory import at, engine, trade, warmup


def wins(n: int, start_min: float = -200) -> list[Trade]:
    return [
        trade(at(start_min + 20 * i), symbol="EURUSD", closed=at(start_min + 20 * i + 10), pnl=50)
        for i in range(n)
    ]


def over(entry: Trade, history: list[Trade]) -> Flag | None:
    flags = engine().flags_for_entry(entry, history, 0.0)
    return next((f for f in flags if f.id == "overconfidence"), None)


@pytest.mark.parametrize(("volume", "fires"), [(1.4, True), (1.39, False)])
def test_size_threshold(volume: float, fires: bool) -> None:
    entry = trade(at(0), volume=volume)
    assert (over(entry, [*warmup(3), *wins(3)]) is not None) is fires


@pytest.mark.parametrize(("streak", "fires"), [(2, False), (3, True)])
def test_streak_threshold(streak: int, fires: bool) -> None:
    entry = trade(at(0), volume=2.0)
    assert (over(entry, [*warmup(3), *wins(streak)]) is not None) is fires


def test_a_loss_breaks_the_streak_and_break_even_too() -> None:
    ws = wins(5)
    broken = [*ws[:2], trade(at(-150), closed=at(-145), pnl=-10), *ws[2:4]]
    entry = trade(at(0), volume=2.0)
    assert over(entry, [*warmup(3), *broken]) is None  # streak is 2 (ws[2], ws[3])
    even = [*ws[:3], trade(at(-60), closed=at(-50), pnl=0.0)]
    assert over(entry, [*warmup(3), *even]) is None


def test_streak_counts_by_exit_time_not_list_order() -> None:
    ws = wins(3)
    early_loss = trade(at(-400), closed=at(-390), pnl=-50)
    entry = trade(at(0), volume=2.0)
    assert over(entry, [*reversed(ws), early_loss, *warmup(3)]) is not None


def test_needs_a_baseline() -> None:
    entry = trade(at(0), volume=5.0)
    history = wins(2)  # only 2 prior entries
    assert over(entry, history) is None
    assert over(entry, wins(3)) is not None


def test_evidence_and_confidence() -> None:
    e = engine()
    history = [*warmup(5, 0.8), *wins(3)]  # baseline: median of 8 entries = 0.8
    f = next(
        x
        for x in e.flags_for_entry(trade(at(0), volume=1.5), history, 0.0)
        if x.id == "overconfidence"
    )
    assert (
        f.evidence == "entered EURUSD 1.50 lots after 3 wins in a row; 1.88× your 0.80-lot baseline"
    )
    # 0.5 + 0.3 x (1.5/0.8 - 1.4)/1.4 + 0.2 x 0
    assert f.confidence == pytest.approx(round(0.5 + 0.3 * (1.5 / 0.8 - 1.4) / 1.4, 2))
    bigger = next(
        x
        for x in e.flags_for_entry(trade(at(0), volume=3.0), [*history, *wins(3, -120)], 0.0)
        if x.id == "overconfidence"
    )
    assert bigger.confidence > f.confidence
