"""Revenge flag: an entry within the window after a losing exit, plus one criterion."""

from __future__ import annotations

import pytest

from pulse.behavior import Flag
from pulse.models import Trade
from tests.behavior.factory import at, engine, ids, trade, warmup


def loss(symbol: str = "GBPUSD", pnl: float = -320.0, closed_min: float = 0.0) -> Trade:
    return trade(at(closed_min - 20), symbol=symbol, volume=1.0, closed=at(closed_min), pnl=pnl)


def revenge(flags: list[Flag]) -> Flag | None:
    return next((f for f in flags if f.id == "revenge"), None)


@pytest.mark.parametrize(("volume", "fires"), [(1.25, True), (1.24, False)])
def test_size_criterion_at_125_percent_of_baseline(volume: float, fires: bool) -> None:
    history = [*warmup(3, 1.0), loss("GBPUSD")]
    entry = trade(at(10), symbol="EURUSD", volume=volume)
    assert (revenge(engine().flags_for_entry(entry, history, 0.0)) is not None) is fires


def test_size_criterion_survives_float_rounding() -> None:
    # 1.25 x 0.80 is 1.0000000000000002 in floating point; 1.00 lot must still count.
    history = [*warmup(3, 0.8), loss("GBPUSD")]
    entry = trade(at(10), symbol="EURUSD", volume=1.0)
    assert revenge(engine().flags_for_entry(entry, history, 0.0)) is not None


@pytest.mark.parametrize(("seconds_after", "fires"), [(30 * 60, True), (30 * 60 + 1, False)])
def test_window_is_30_minutes_inclusive(seconds_after: int, fires: bool) -> None:
    history = [*warmup(3), loss("EURUSD")]
    entry = trade(at(seconds=seconds_after), symbol="EURUSD", volume=0.5)
    assert (revenge(engine().flags_for_entry(entry, history, 0.0)) is not None) is fires


def test_same_symbol_alone_fires_other_symbol_alone_does_not() -> None:
    history = [*warmup(3), loss("EURUSD")]
    same = trade(at(5), symbol="EURUSD", volume=0.5)
    other = trade(at(5), symbol="USDJPY", volume=0.5)
    f = revenge(engine().flags_for_entry(same, history, 0.0))
    assert f is not None and "same symbol as the loss" in f.evidence
    assert revenge(engine().flags_for_entry(other, history, 0.0)) is None


@pytest.mark.parametrize(("nth", "fires"), [(2, False), (3, True), (4, True)])
def test_third_entry_in_the_window(nth: int, fires: bool) -> None:
    symbols = ["USDJPY", "AUDUSD", "NZDUSD", "USDCAD"]
    history = [*warmup(3), loss("GBPUSD")]
    history += [trade(at(2 * i + 1), symbol=symbols[i], volume=0.5) for i in range(nth - 1)]
    entry = trade(at(20), symbol="USDCHF", volume=0.5)
    f = revenge(engine().flags_for_entry(entry, history, 0.0))
    assert (f is not None) is fires
    if f is not None:
        assert f"{nth}{'rd' if nth == 3 else 'th'} entry since that loss" in f.evidence


def test_entries_before_the_loss_do_not_count_towards_the_nth() -> None:
    history = [*warmup(3), trade(at(-15), symbol="USDJPY", volume=0.5), loss("GBPUSD")]
    history.append(trade(at(3), symbol="AUDUSD", volume=0.5))
    entry = trade(at(6), symbol="NZDUSD", volume=0.5)  # only the 2nd since the loss
    assert revenge(engine().flags_for_entry(entry, history, 0.0)) is None


def test_threshold_comes_from_config() -> None:
    history = [*warmup(3), loss("GBPUSD"), trade(at(1), symbol="USDJPY", volume=0.5)]
    entry = trade(at(2), symbol="AUDUSD", volume=0.5)
    assert revenge(engine().flags_for_entry(entry, history, 0.0)) is None
    assert revenge(engine(revenge_trade_threshold=2).flags_for_entry(entry, history, 0.0))


def test_no_size_criterion_with_fewer_than_three_prior_entries() -> None:
    # 2 prior entries (one of them the loss): no baseline, so a 5x size does not count.
    history = [*warmup(1), loss("GBPUSD")]
    entry = trade(at(5), symbol="EURUSD", volume=5.0)
    assert revenge(engine().flags_for_entry(entry, history, 0.0)) is None
    history = [*warmup(2), loss("GBPUSD")]  # 3 prior entries: baseline 1.0
    assert revenge(engine().flags_for_entry(entry, history, 0.0)) is not None
    assert engine().baseline_size(history) == 1.0


@pytest.mark.parametrize(
    ("pnl", "commission", "fires"), [(5.0, -7.0, True), (0.0, 0.0, False), (120.0, 0.0, False)]
)
def test_only_a_net_loss_opens_the_window(pnl: float, commission: float, fires: bool) -> None:
    prev = trade(at(-20), symbol="EURUSD", closed=at(0), pnl=pnl, commission=commission)
    entry = trade(at(5), symbol="EURUSD", volume=0.5)
    assert (revenge(engine().flags_for_entry(entry, [*warmup(3), prev], 0.0)) is not None) is fires


def test_a_loss_closed_after_the_entry_is_not_known_yet() -> None:
    later = trade(at(-20), symbol="EURUSD", closed=at(10), pnl=-300)
    entry = trade(at(5), symbol="EURUSD", volume=0.5)
    assert revenge(engine().flags_for_entry(entry, [*warmup(3), later], 0.0)) is None


def test_reversal_at_the_losing_exit_instant_is_revenge() -> None:
    history = [*warmup(3), loss("EURUSD", closed_min=0)]
    entry = trade(at(0), symbol="EURUSD", volume=1.0)
    f = revenge(engine().flags_for_entry(entry, history, 0.0))
    assert f is not None and "0 s after" in f.evidence


def test_evidence_names_the_facts() -> None:
    history = [*warmup(5, 0.8), loss("EURUSD", pnl=-320)]
    entry = trade(at(6), symbol="EURUSD", volume=1.5)
    f = revenge(engine().flags_for_entry(entry, history, 0.0))
    assert f is not None
    assert f.evidence == (
        "entered EURUSD 1.50 lots 6 min after a -$320 EURUSD loss: same symbol as the loss; "
        "1.88× your 0.80-lot baseline"
    )
    assert f.at == entry.open_time and f.trade_id == entry.trade_id


def test_confidence_grows_with_criteria_and_recency() -> None:
    history = [*warmup(3), loss("EURUSD")]
    e = engine()
    one = revenge(e.flags_for_entry(trade(at(10), symbol="USDJPY", volume=1.3), history, 0.0))
    two = revenge(e.flags_for_entry(trade(at(10), symbol="EURUSD", volume=1.3), history, 0.0))
    two_late = revenge(e.flags_for_entry(trade(at(25), symbol="EURUSD", volume=1.3), history, 0.0))
    bigger = revenge(e.flags_for_entry(trade(at(10), symbol="EURUSD", volume=2.5), history, 0.0))
    assert one and two and two_late and bigger
    assert one.confidence < two.confidence
    assert two_late.confidence < two.confidence
    assert two.confidence < bigger.confidence <= 1.0
    # 0.45 + 0.15 x (2 - 1) + 0.15 x (1 - 10/30) + 0.10 x clamp((1.3 - 1.25) / 1.25)
    assert two.confidence == pytest.approx(round(0.45 + 0.15 + 0.15 * (2 / 3) + 0.1 * 0.04, 2))


def test_picks_the_loss_with_most_criteria() -> None:
    # Older EURUSD loss (same symbol) beats the newer GBPUSD loss (no criterion).
    history = [*warmup(3), loss("EURUSD", pnl=-100, closed_min=0), loss("GBPUSD", closed_min=5)]
    f = revenge(engine().flags_for_entry(trade(at(8), symbol="EURUSD", volume=0.5), history, 0.0))
    assert f is not None and "-$100 EURUSD loss" in f.evidence and "8 min after" in f.evidence


def test_entry_itself_in_history_is_ignored() -> None:
    history = [*warmup(3), loss("GBPUSD")]
    entry = trade(at(5), symbol="USDJPY", volume=0.5)
    e = engine()
    assert e.flags_for_entry(entry, [*history, entry], 0.0) == e.flags_for_entry(
        entry, history, 0.0
    )
    assert ids(e.flags_for_entry(entry, history, 0.0)) == []
