"""Trade reconstruction from MT5 deals: pulse.trades."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.models import Deal, DealEntry, DealType, Side
from pulse.trades import TradeBook, cash_total, reconstruct_trades

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BUY, SELL = DealType.BUY, DealType.SELL
IN, OUT, INOUT, OUT_BY = DealEntry.IN, DealEntry.OUT, DealEntry.INOUT, DealEntry.OUT_BY


def deal(
    ticket: int,
    minute: int,
    type_: DealType,
    entry: DealEntry,
    volume: float,
    price: float,
    position: int = 7,
    symbol: str = "EURUSD",
    **money: float,
) -> Deal:
    return Deal(
        ticket=ticket,
        order=ticket + 1000,
        time=T0 + timedelta(minutes=minute),
        type=type_,
        entry=entry,
        position_id=position,
        volume=volume,
        price=price,
        symbol=symbol,
        **money,
    )


def test_partial_closes_make_one_trade() -> None:
    deals = [
        deal(1, 0, BUY, IN, 1.0, 1.1000, commission=-7.0),
        deal(2, 10, SELL, OUT, 0.4, 1.1010, profit=40.0),
        deal(3, 20, SELL, OUT, 0.6, 1.1020, profit=120.0, swap=-1.5),
    ]
    book = TradeBook()
    kinds = [e.kind for d in deals for e in book.add(d)]
    assert kinds == ["opened", "partial_close", "closed"]
    (t,) = book.trades()
    assert t.trade_id == "7" and t.side is Side.BUY
    assert t.entry_volume == 1.0 and t.volume == 1.0 and t.closed_volume == pytest.approx(1.0)
    assert t.exit_price == pytest.approx((0.4 * 1.1010 + 0.6 * 1.1020) / 1.0)
    assert t.close_time == T0 + timedelta(minutes=20)
    # Commission on the IN deal counts towards the trade's net P&L.
    assert t.net_pnl == pytest.approx(40 + 120 - 1.5 - 7)
    assert t.deal_tickets == (1, 2, 3)
    assert book.open_trades() == [] and book.closed_trades() == [t]


def test_partial_close_leaves_trade_open() -> None:
    book = TradeBook()
    book.add(deal(1, 0, SELL, IN, 0.3, 1.2))
    (ev,) = book.add(deal(2, 5, BUY, OUT, 0.1, 1.19, profit=10.0))
    assert ev.kind == "partial_close"
    assert ev.trade.is_open and ev.trade.closed_volume == pytest.approx(0.1)
    assert book.open_trades() == [ev.trade]


def test_float_dust_counts_as_closed() -> None:
    # 0.1 + 0.2 != 0.3 in floating point; the tolerance must still close the trade.
    deals = [
        deal(1, 0, BUY, IN, 0.1, 1.0),
        deal(2, 1, BUY, IN, 0.2, 1.0),
        deal(3, 2, SELL, OUT, 0.3, 1.0),
    ]
    (t,) = reconstruct_trades(deals)
    assert not t.is_open


def test_scale_in_weights_entry_price() -> None:
    book = TradeBook()
    book.add(deal(1, 0, BUY, IN, 1.0, 1.1000))
    (ev,) = book.add(deal(2, 5, BUY, IN, 0.5, 1.1030))
    assert ev.kind == "scaled_in"
    book.add(deal(3, 6, SELL, OUT, 0.75, 1.1040, profit=10.0))
    book.add(deal(4, 7, BUY, IN, 0.25, 1.1050))  # back up to 1.0 open: max stays 1.5
    (t,) = book.trades()
    assert t.entry_volume == 1.0
    assert t.volume == pytest.approx(1.5)
    assert t.entry_price == pytest.approx((1.0 * 1.1 + 0.5 * 1.103 + 0.25 * 1.105) / 1.75)
    assert t.is_open


def test_netting_reversal_splits_inout() -> None:
    deals = [
        deal(1, 0, BUY, IN, 1.0, 1.1000, commission=-5.0),
        deal(2, 30, SELL, INOUT, 3.0, 1.0980, profit=-200.0, commission=-6.0, fee=-1.0),
        deal(3, 60, BUY, OUT, 2.0, 1.0950, profit=600.0),
    ]
    book = TradeBook()
    assert [e.kind for e in book.add(deals[0])] == ["opened"]
    evs = book.add(deals[1])
    assert [e.kind for e in evs] == ["closed", "reversed"]
    first, second = book.trades()
    assert first.trade_id == "7" and first.side is Side.BUY
    assert first.close_time == T0 + timedelta(minutes=30)
    assert first.exit_price == pytest.approx(1.0980)
    assert first.net_pnl == pytest.approx(-200 - 6 - 1 - 5)
    assert second.trade_id == "7.1" and second.side is Side.SELL
    assert second.open_time == T0 + timedelta(minutes=30)
    assert second.entry_volume == pytest.approx(2.0) and second.entry_price == 1.0980
    assert second.net_pnl == 0.0 and second.is_open
    assert book.add(deals[2])[0].kind == "closed"
    second = book.trades()[1]
    assert second.net_pnl == pytest.approx(600.0) and not second.is_open
    assert second.deal_tickets == (2, 3)


def test_second_reversal_numbers_legs() -> None:
    deals = [
        deal(1, 0, BUY, IN, 1.0, 1.0),
        deal(2, 1, SELL, INOUT, 2.0, 1.0),
        deal(3, 2, BUY, INOUT, 2.0, 1.0),
    ]
    assert [t.trade_id for t in reconstruct_trades(deals)] == ["7", "7.1", "7.2"]
    assert [t.side for t in reconstruct_trades(deals)] == [Side.BUY, Side.SELL, Side.BUY]


def test_out_by_closes_both_positions() -> None:
    # Hedging: a buy (position 7) closed by an opposite sell (position 8).
    deals = [
        deal(1, 0, BUY, IN, 1.0, 1.1000, position=7),
        deal(2, 5, SELL, IN, 0.6, 1.1010, position=8),
        deal(3, 10, SELL, OUT_BY, 0.6, 1.1010, position=7, profit=60.0),
        deal(4, 10, BUY, OUT_BY, 0.6, 1.1000, position=8, profit=-60.0),
    ]
    a, b = reconstruct_trades(deals)
    assert a.trade_id == "7" and a.is_open and a.closed_volume == pytest.approx(0.6)
    assert b.trade_id == "8" and not b.is_open and b.net_pnl == pytest.approx(-60.0)


def test_hedging_two_positions_same_symbol() -> None:
    deals = [
        deal(1, 0, BUY, IN, 1.0, 1.1000, position=7),
        deal(2, 1, SELL, IN, 1.0, 1.1005, position=8),
        deal(3, 2, SELL, OUT, 1.0, 1.1010, position=7, profit=100.0),
        deal(4, 3, BUY, OUT, 1.0, 1.1020, position=8, profit=-150.0),
    ]
    a, b = reconstruct_trades(deals)
    assert (a.trade_id, a.side, a.net_pnl) == ("7", Side.BUY, 100.0)
    assert (b.trade_id, b.side, b.net_pnl) == ("8", Side.SELL, -150.0)
    assert a.is_win and b.is_loss


def test_balance_and_commission_rows_are_not_trades() -> None:
    cash = [
        Deal(ticket=100, time=T0, type=DealType.BALANCE, profit=100_000.0),
        Deal(ticket=101, time=T0, type=DealType.CREDIT, profit=500.0),
        Deal(ticket=102, time=T0 + timedelta(hours=9), type=DealType.COMMISSION, profit=-12.5),
        Deal(ticket=103, time=T0 + timedelta(hours=9), type=DealType.CHARGE, profit=-3.0),
    ]
    deals = [*cash, deal(1, 0, BUY, IN, 1.0, 1.0), deal(2, 1, SELL, OUT, 1.0, 1.0, profit=5.0)]
    book = TradeBook()
    assert [book.add(d) for d in cash] == [[], [], [], []]
    book.extend(deals)
    assert len(book.trades()) == 1
    assert book.cash_total == pytest.approx(100_000 + 500 - 12.5 - 3)
    assert cash_total(deals) == pytest.approx(book.cash_total)
    assert [d.ticket for d in book.cash_deals()] == [100, 101, 102, 103]


def test_duplicate_deal_changes_nothing() -> None:
    d1 = deal(1, 0, BUY, IN, 1.0, 1.0, commission=-7.0)
    d2 = deal(2, 1, SELL, OUT, 1.0, 1.01, profit=100.0)
    book = TradeBook()
    book.extend([d1, d2])
    before = book.trades()
    assert book.add(d1) == [] and book.add(d2) == []
    assert book.trades() == before and len(book) == 2
    assert 1 in book and 3 not in book


def test_late_deal_rebuilds_position() -> None:
    book = TradeBook()
    book.add(deal(2, 10, SELL, OUT, 1.0, 1.01, profit=100.0))  # close seen first
    assert book.trades()[0].is_open is False  # an orphan close keeps its P&L
    evs = book.add(deal(1, 0, BUY, IN, 1.0, 1.0, commission=-7.0))
    assert [e.kind for e in evs] == ["opened"]
    (t,) = book.trades()
    assert evs[0].trade == t  # the event carries the rebuilt, final state
    assert t.open_time == T0 and t.entry_price == 1.0 and not t.is_open
    assert t.net_pnl == pytest.approx(93.0)


def _scenario() -> list[Deal]:
    """A mixed account: hedged positions, partials, a reversal, close-by and cash rows."""
    return [
        Deal(ticket=90, time=T0 - timedelta(days=1), type=DealType.BALANCE, profit=10_000.0),
        deal(1, 0, BUY, IN, 1.0, 1.1000, commission=-7.0),
        deal(2, 1, BUY, IN, 0.5, 1.1010, commission=-3.5),
        deal(3, 2, SELL, OUT, 0.5, 1.1020, profit=50.0),
        deal(4, 3, SELL, OUT, 1.0, 1.1030, profit=150.0, swap=-2.0),
        deal(5, 4, SELL, IN, 2.0, 1.3000, position=20, symbol="GBPUSD"),
        deal(6, 5, BUY, INOUT, 3.0, 1.2990, position=20, symbol="GBPUSD", profit=200.0),
        deal(7, 6, SELL, OUT, 1.0, 1.2995, position=20, symbol="GBPUSD", profit=50.0),
        deal(8, 7, BUY, IN, 1.0, 1.1050, position=30),
        deal(9, 7, SELL, IN, 1.0, 1.1049, position=31),
        deal(10, 8, SELL, OUT_BY, 1.0, 1.1060, position=30, profit=100.0),
        deal(11, 8, BUY, OUT_BY, 1.0, 1.1049, position=31, profit=0.0),
        Deal(ticket=91, time=T0 + timedelta(hours=1), type=DealType.COMMISSION, profit=-4.0),
        deal(12, 9, BUY, IN, 0.3, 1.1100, position=40),
    ]


def test_scenario_reference() -> None:
    trades = reconstruct_trades(_scenario())
    assert [t.trade_id for t in trades] == ["7", "20", "20.1", "30", "31", "40"]
    assert [t.is_open for t in trades] == [False, False, False, False, False, True]
    assert sum(t.net_pnl for t in trades) == pytest.approx(-7 - 3.5 + 50 + 150 - 2 + 250 + 100)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=0, max_value=3))
def test_any_order_and_duplicates_give_same_trades(rnd: random.Random, dups: int) -> None:
    deals = _scenario()
    expected = reconstruct_trades(deals)
    shuffled = deals + [rnd.choice(deals) for _ in range(dups)]
    rnd.shuffle(shuffled)
    book = TradeBook()
    mirror: dict[str, object] = {}  # what a store syncing with take_changes() would hold
    for d in shuffled:
        book.add(d)
        changed, removed = book.take_changes()
        mirror.update((t.trade_id, t) for t in changed)
        for tid in removed:
            del mirror[tid]
    assert book.trades() == expected
    assert sorted(mirror) == sorted(t.trade_id for t in expected)
    assert all(mirror[t.trade_id] == t for t in expected)
    assert book.cash_total == pytest.approx(10_000 - 4.0)


def test_take_changes_reports_renumbered_legs() -> None:
    book = TradeBook()
    # A buy, then a buy INOUT against it (nothing to reverse: a scale-in).
    book.extend([deal(1, 0, BUY, IN, 1.0, 1.0), deal(3, 3, BUY, INOUT, 3.0, 1.0)])
    changed, removed = book.take_changes()
    assert [t.trade_id for t in changed] == ["7"] and removed == []
    evs = book.add(deal(2, 2, SELL, INOUT, 2.0, 1.0))  # late: 7 closes, 7.1 sell opens
    assert [e.kind for e in evs] == ["closed", "reversed"]
    changed, removed = book.take_changes()
    # ...and the minute-3 buy INOUT now reverses 7.1 into 7.2, which no event named.
    assert [t.trade_id for t in changed] == ["7", "7.1", "7.2"]
    assert removed == []
    assert book.trades() == reconstruct_trades(
        [deal(1, 0, BUY, IN, 1.0, 1.0), deal(2, 2, SELL, INOUT, 2.0, 1.0),
         deal(3, 3, BUY, INOUT, 3.0, 1.0)]
    )  # fmt: skip
    assert book.take_changes() == ([], [])


def test_take_changes_reports_removed_ids() -> None:
    book = TradeBook()
    book.extend([deal(1, 0, BUY, IN, 1.0, 1.0), deal(3, 3, SELL, OUT, 1.0, 1.0),
                 deal(4, 4, BUY, IN, 1.0, 1.0)])  # fmt: skip
    assert [t.trade_id for t in book.trades()] == ["7", "7.1"]
    book.take_changes()
    book.add(deal(2, 2, BUY, IN, 1.0, 1.0))  # late scale-in: the OUT no longer flattens 7
    changed, removed = book.take_changes()
    assert [t.trade_id for t in book.trades()] == ["7"] and removed == ["7.1"]
    assert [t.trade_id for t in changed] == ["7"]
