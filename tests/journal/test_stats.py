"""Statistics against figures computed by hand (see the comments for each number)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulse.journal.stats import (
    StatsFilter,
    build_records,
    compute_stats,
    excursion,
    excursions,
    filter_records,
    r_multiple,
    trader_stats,
)
from pulse.models import Bar, DealEntry, Driver, JournalEntry, JournalKind, Side
from tests.journal.helpers import DealMaker, trades_of

PRAGUE = ZoneInfo("Europe/Prague")
D1 = datetime(2026, 3, 2, tzinfo=UTC)  # Monday
D2 = datetime(2026, 3, 3, tzinfo=UTC)  # Tuesday
IN, OUT = DealEntry.IN, DealEntry.OUT
BUY, SELL = Side.BUY, Side.SELL


def h(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


def fixture_trades():
    m = DealMaker()
    deals = [
        # T1 win with stop: buy 1.0 @1.1000, SL 1.0980 (risk 200), out @1.1030 +300, comm -7
        m.deal(1, h(D1, 9), BUY, IN, 1.0, 1.1000, commission=-3.5),
        m.deal(1, h(D1, 10), SELL, OUT, 1.0, 1.1030, profit=300, commission=-3.5),
        # T2 loss with stop: sell 0.5 @1.1050, SL 1.1070 (risk 100), out @1.1070 -100, comm -3.5
        m.deal(2, h(D1, 11), SELL, IN, 0.5, 1.1050, commission=-1.75),
        m.deal(2, h(D1, 11, 30), BUY, OUT, 0.5, 1.1070, profit=-100, commission=-1.75),
        # T3 break-even, no stop: GBPUSD buy 1.0 @1.2500 out @1.2500
        m.deal(3, h(D1, 12), BUY, IN, 1.0, 1.2500, symbol="GBPUSD"),
        m.deal(3, h(D1, 12, 20), SELL, OUT, 1.0, 1.2500, symbol="GBPUSD"),
        # T4 partial closes: buy 2.0 @1.1000 SL 1.0990 (risk 200); 1.0 @1.1020 +200,
        # 1.0 @1.0990 -100; commission -14 in all -> net 86
        m.deal(4, h(D1, 13), BUY, IN, 2.0, 1.1000, commission=-7),
        m.deal(4, h(D1, 14), SELL, OUT, 1.0, 1.1020, profit=200, commission=-3.5),
        m.deal(4, h(D1, 15), SELL, OUT, 1.0, 1.0990, profit=-100, commission=-3.5),
        # T5 loss, stop missing: XAUUSD sell 0.1 @2000 out @2010 -100, swap -2
        m.deal(5, h(D2, 9), SELL, IN, 0.1, 2000.0, symbol="XAUUSD"),
        m.deal(5, h(D2, 10, 30), BUY, OUT, 0.1, 2010.0, profit=-100, swap=-2, symbol="XAUUSD"),
        # T6 win, stop missing: buy 1.0 @1.1000 out @1.1010 +100
        m.deal(6, h(D2, 12), BUY, IN, 1.0, 1.1000),
        m.deal(6, h(D2, 12, 45), SELL, OUT, 1.0, 1.1010, profit=100),
        # T7 still open
        m.deal(7, h(D2, 16), BUY, IN, 1.0, 1.1000),
    ]
    return trades_of(deals, {1: 1.0980, 2: 1.1070, 4: 1.0990})


def fixture_entries():
    def pre(at, **kw):
        return JournalEntry(trader_id=7, kind=JournalKind.PRE_TRADE, at=at, **kw)

    return [
        pre(h(D1, 8, 58), confidence=8, driver=Driver.STRATEGY, setup_tag="breakout",
            symbol="EURUSD", side=BUY),
        pre(h(D1, 10, 55), confidence=4, driver=Driver.EMOTION, symbol="EURUSD"),
        pre(h(D1, 12, 59), confidence=7, driver=Driver.STRATEGY, setup_tag="Breakout"),
        JournalEntry(trader_id=7, kind=JournalKind.POST_TRADE, at=h(D1, 10, 5), trade_id="1",
                     what_worked="patience"),
        JournalEntry(trader_id=7, kind=JournalKind.POST_TRADE, at=h(D2, 11), trade_id="5"),
    ]


def test_all_trades_match_hand_computed_figures():
    trades = fixture_trades()
    assert [t.trade_id for t in trades] == ["1", "2", "3", "4", "5", "6", "7"]
    t4 = trades[3]
    assert t4.closed_volume == 2.0 and len(t4.deal_tickets) == 3  # one trade, three deals
    s = trader_stats(trades, fixture_entries(), PRAGUE, start_balance=10_000)
    assert (s.count, s.wins, s.losses, s.breakevens, s.open_count) == (6, 3, 2, 1, 1)
    assert s.win_rate == pytest.approx(0.5)
    # nets: 293, -103.5, 0, 86, -102, 100
    assert s.net_pnl == pytest.approx(273.5)
    assert s.gross_profit == pytest.approx(479.0)
    assert s.gross_loss == pytest.approx(-205.5)
    assert s.profit_factor == pytest.approx(479 / 205.5)
    assert s.expectancy == pytest.approx(273.5 / 6)
    assert s.net_pnl_pct == pytest.approx(2.735)
    # R: T1 293/200, T2 -103.5/100, T4 86/200; T3, T5, T6 have no stop
    assert s.r_count == 3
    assert s.by_trade_r == pytest.approx({"1": 1.465, "2": -1.035, "4": 0.43})
    assert s.avg_r == pytest.approx((1.465 - 1.035 + 0.43) / 3)
    # cumulative 293, 189.5, 189.5, 275.5, 173.5, 273.5 -> peak 293, trough 173.5
    assert s.max_drawdown == pytest.approx(119.5)
    assert s.max_drawdown_pct == pytest.approx(119.5 / 10_293 * 100)
    # winners held 60, 120, 45 min; losers 30, 90 min
    assert s.avg_hold_win == timedelta(minutes=75)
    assert s.avg_hold_loss == timedelta(minutes=60)
    # pre-trade linked to T1, T2, T4; post-trade for T1 and T5; both only T1
    assert s.pre_trade_rate == pytest.approx(3 / 6)
    assert s.post_trade_rate == pytest.approx(2 / 6)
    assert s.journal_completion == pytest.approx(1 / 6)
    text = "\n".join(s.lines("USD"))
    assert "win rate 50%" in text and "+273.50 USD" in text and "2.33" in text


def test_r_with_symbol_spec_equals_inferred_r():
    trades = fixture_trades()
    spec = {"EURUSD": 100_000.0}  # tick_value / tick_size = 1.0 / 0.00001
    for t in trades:
        assert r_multiple(t, spec.get(t.symbol)) == pytest.approx(r_multiple(t)) or (
            r_multiple(t) is None and t.stop_loss is None
        )


def test_stop_moved_past_entry_gives_no_r():
    t = fixture_trades()[0].model_copy(update={"stop_loss": 1.1005})  # above a buy's entry
    assert r_multiple(t) is None


@pytest.mark.parametrize(
    ("flt", "ids", "net"),
    [
        (StatsFilter(symbol="eurusd"), ["1", "2", "4", "6"], 375.5),
        (StatsFilter(setup_tag="BREAKOUT"), ["1", "4"], 379.0),
        (StatsFilter(side=SELL), ["2", "5"], -205.5),
        (StatsFilter(driver=Driver.EMOTION), ["2"], -103.5),
        (StatsFilter(weekday=1), ["5", "6"], -2.0),
        # 09:00 UTC is 10:00 in Prague (CET) on both days
        (StatsFilter(hour=10), ["1", "5"], 191.0),
        (StatsFilter(flag="revenge"), ["2"], -103.5),
        (StatsFilter(start=D2, end=D2 + timedelta(days=1)), ["5", "6"], -2.0),
        (StatsFilter(symbol="EURUSD", side=BUY, weekday=0), ["1", "4"], 379.0),
    ],
)
def test_filters(flt, ids, net):
    records = build_records(fixture_trades(), fixture_entries(), PRAGUE, {"2": {"revenge"}})
    chosen = filter_records(records, flt)
    assert [r.trade.trade_id for r in chosen] == ids
    assert compute_stats(chosen).net_pnl == pytest.approx(net)


def test_open_trades_counted_apart_and_filtered():
    s = trader_stats(fixture_trades(), [], PRAGUE, StatsFilter(symbol="GBPUSD"))
    assert (s.count, s.open_count, s.breakevens) == (1, 0, 1)
    assert s.profit_factor is None and s.win_rate == 0.0


def test_empty_period():
    s = trader_stats(fixture_trades(), [], PRAGUE, StatsFilter(start=D2 + timedelta(days=5)))
    assert s.count == 0 and s.win_rate is None and s.expectancy is None and s.avg_r is None
    assert s.max_drawdown == 0.0
    assert "trades 0" in s.lines()[0]


def _bars(start, lows_highs, minutes=15):
    return [
        Bar(time=start + timedelta(minutes=minutes * i), open=(lo + hi) / 2, high=hi, low=lo,
            close=(lo + hi) / 2)
        for i, (lo, hi) in enumerate(lows_highs)
    ]


def test_mae_mfe_from_bars():
    t1 = fixture_trades()[0]  # buy @1.1000 09:00-10:00 UTC, stop 1.0980
    bars = _bars(h(D1, 8, 45), [(1.0900, 1.0950), (1.0990, 1.1005), (1.0985, 1.1040),
                                (1.1010, 1.1035), (1.1020, 1.1032), (1.1030, 1.1060)])
    ex = excursion(t1, bars)
    assert ex is not None
    # bars 09:00..10:00 are used (the 08:45 bar ends at 09:00, before the entry)
    assert ex.bars_used == 5
    assert ex.mae == pytest.approx(0.0015)  # low 1.0985
    assert ex.mfe == pytest.approx(0.0060)  # high 1.1060 in the 10:00 bar (exit bar, whole)
    assert ex.mae_r == pytest.approx(0.75) and ex.mfe_r == pytest.approx(3.0)
    # bars that stop before the exit: no figures rather than wrong ones
    assert excursion(t1, bars[:3]) is None
    sell = fixture_trades()[1]  # sell @1.1050 11:00-11:30
    ex2 = excursion(sell, _bars(h(D1, 11), [(1.1040, 1.1060), (1.1030, 1.1072), (1.1060, 1.1075)]))
    assert ex2 is not None
    assert ex2.mae == pytest.approx(0.0025) and ex2.mfe == pytest.approx(0.0020)


def test_excursions_over_many_bars_match_single_trade_and_feed_stats():
    trades = fixture_trades()
    # 15-minute EURUSD bars over both days; prices wander deterministically
    bars = []
    t = h(D1, 0)
    i = 0
    while t < h(D2, 23):
        mid = 1.1000 + 0.0010 * ((i % 13) - 6) / 6
        bars.append(Bar(time=t, open=mid, high=mid + 0.0008, low=mid - 0.0007, close=mid))
        t += timedelta(minutes=15)
        i += 1
    by_trade = excursions(trades, {"eurusd": bars})
    eur_closed = [t for t in trades if t.symbol == "EURUSD" and t.close_time is not None]
    assert set(by_trade) == {t.trade_id for t in eur_closed}
    for tr in eur_closed:
        assert by_trade[tr.trade_id] == excursion(tr, bars)
    records = build_records(trades, [], PRAGUE)
    s = compute_stats(filter_records(records, StatsFilter()), excursions=by_trade)
    with_stop = [by_trade[k] for k in ("1", "2", "4")]  # T6 has no stop: no R
    assert s.excursion_count == 3
    assert s.avg_mae_r == pytest.approx(sum(e.mae_r for e in with_stop) / 3)
    assert s.avg_mfe_r == pytest.approx(sum(e.mfe_r for e in with_stop) / 3)
    assert "excursions over 3 trades" in s.lines()[-1]
