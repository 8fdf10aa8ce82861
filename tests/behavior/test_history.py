"""Streaks, baseline and the TradeTape that keeps look-backs O(recent)."""

from __future__ import annotations

import pytest

from pulse.behavior import TradeTape
from pulse.models import Trade
from tests.behavior.factory import at, engine, trade


def closed(minute: float, pnl: float) -> Trade:
    return trade(at(minute - 5), closed=at(minute), pnl=pnl)


def test_streaks_count_back_from_the_latest_exit_in_any_order() -> None:
    e = engine()
    h = [closed(10, 5), closed(20, -5), closed(30, 8), closed(40, 1), trade(at(50))]
    assert e.win_streak(h) == 2
    assert e.win_streak(list(reversed(h))) == 2
    assert e.loss_streak(h) == 0
    h2 = [*h, closed(60, -1), closed(70, -2)]
    assert (e.win_streak(h2), e.loss_streak(h2)) == (0, 2)
    assert e.loss_streak([*h2, closed(80, 0.0)]) == 0  # break-even ends a streak
    assert e.win_streak([]) == 0


def test_streaks_and_baseline_as_of_an_instant() -> None:
    e = engine()
    h = [closed(10, 5), closed(20, 8), closed(30, -1), closed(40, -2)]
    assert (e.win_streak(h, at(25)), e.loss_streak(h, at(25))) == (2, 0)
    assert (e.win_streak(h, at(40)), e.loss_streak(h, at(40))) == (0, 2)
    assert (e.win_streak(h, at(39)), e.loss_streak(h, at(39))) == (0, 1)
    assert e.baseline_size(h, at(14)) is None  # entries at 5 and 15: only one by 14
    assert e.baseline_size(h, at(25)) == 1.0


def test_streak_ordered_by_exit_not_entry() -> None:
    e = engine()
    long_win = trade(at(0), closed=at(100), pnl=50)
    quick_loss = trade(at(10), closed=at(20), pnl=-50)
    assert (e.win_streak([quick_loss, long_win]), e.loss_streak([long_win, quick_loss])) == (1, 0)


def test_baseline_is_median_of_last_20_entries() -> None:
    e = engine()
    old = [trade(at(i), volume=10.0) for i in range(5)]
    recent = [trade(at(10 + i), volume=1.0 + 0.1 * (i % 2)) for i in range(20)]
    assert e.baseline_size(old + recent) == pytest.approx(1.05)
    assert e.baseline_size(recent[:2]) is None
    assert e.baseline_size(recent[:3]) == 1.0  # 1.0, 1.1, 1.0
    assert e.baseline_size(list(reversed(old + recent))) == pytest.approx(1.05)
    assert engine(baseline_entries=25).baseline_size(old + recent) == pytest.approx(1.1)


def test_tape_upserts_by_trade_id_and_matches_a_list() -> None:
    opened = trade(at(0), symbol="EURUSD", trade_id="p1")
    tape = TradeTape([opened, trade(at(5), trade_id="p2")])
    assert [t.trade_id for t in tape] == ["p1", "p2"]
    assert tape.closed == []
    closed_loss = trade(at(0), symbol="EURUSD", closed=at(10), pnl=-30, trade_id="p1")
    tape.upsert(closed_loss)
    assert len(tape) == 2 and tape.get("p1") == closed_loss and closed_loss in tape
    assert opened not in tape
    assert tape.closed == [closed_loss]
    entry = trade(at(12), symbol="EURUSD", volume=0.5)
    e = engine()
    lst = [closed_loss, tape[1]]
    assert e.flags_for_entry(entry, tape, 0.0) == e.flags_for_entry(entry, lst, 0.0)
    assert [f.id for f in e.flags_for_entry(entry, tape, 0.0)] == ["revenge"]
    tape.discard("p1")
    tape.discard("nope")
    assert [t.trade_id for t in tape] == ["p2"] and tape.closed == []


def test_tape_may_hold_the_entry_and_later_trades() -> None:
    e = engine()
    loss = trade(at(-10), symbol="EURUSD", closed=at(-5), pnl=-30)
    entry = trade(at(0), symbol="USDJPY", volume=0.5)
    later = [trade(at(1 + i), symbol="XAUUSD") for i in range(6)]
    tape = TradeTape([loss, entry, *later])
    assert e.flags_for_entry(entry, tape, 0.0) == e.flags_for_entry(entry, [loss], 0.0) == []
