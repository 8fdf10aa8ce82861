"""bot.journal_service on a real (temporary SQLite) database: scoping, overrides, hits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.journal_service import daily_summary, load_trader_journal, weekly_summary
from pulse.config import parse_config
from pulse.models import Deal, DealType, JournalEntry, JournalKind, Side
from storage import open_database
from storage.records import Lockout, OverrideRecord, Violation
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_journal import add_journal_entry
from storage.repo_risk import add_lockout, add_override, add_violation
from storage.repo_traders import ensure_account, upsert_trader
from tests.journal.helpers import DealMaker, trades_of

DAY = datetime(2026, 3, 4, 8, tzinfo=UTC)  # Wednesday, 09:00 in Prague


@pytest.fixture
async def engine(tmp_path):
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
    yield eng
    await eng.dispose()


async def seed(engine, trader, login, deals):
    await upsert_trader(engine, trader, at=DAY, timezone="Europe/Prague")
    acct = await ensure_account(engine, login, at=DAY, trader_id=trader)
    await insert_deals(engine, acct.id, deals)
    await upsert_trades(engine, acct.id, trades_of(deals))
    return acct


async def test_daily_summary_from_storage(engine):
    cfg = parse_config({})
    m = DealMaker()
    deposit = Deal(ticket=999, time=DAY - timedelta(days=3), type=DealType.BALANCE,
                   profit=10_000.0)
    deals = [deposit]
    deals += m.round_trip(1, DAY, 20, Side.BUY, -150.0)
    deals += m.round_trip(2, DAY + timedelta(minutes=25), 20, Side.BUY, 270.0)
    acct = await seed(engine, 7, 111, deals)
    # another trader's account and journal must not leak in
    other = DealMaker()
    other.ticket = 5000
    await seed(engine, 8, 222, other.round_trip(9, DAY, 10, Side.SELL, 999.0))
    await add_journal_entry(engine, JournalEntry(trader_id=8, kind=JournalKind.NOTE, at=DAY,
                                                 text="private"))
    await add_override(engine, OverrideRecord(trader_id=7, account_id=acct.id,
                                              rule="cooling_period", reason="A+ setup",
                                              at=DAY + timedelta(minutes=24)))
    await add_violation(engine, Violation(account_id=acct.id, rule="cooling_period", ticket=3,
                                          at=DAY + timedelta(minutes=25), message="blocked"))
    await add_lockout(engine, Lockout(account_id=acct.id, kind="cooling",
                                      started_at=DAY + timedelta(minutes=20),
                                      until=DAY + timedelta(minutes=35), reason="loss 1.5%"))

    j = await load_trader_journal(engine, cfg, 7)
    assert {t.trade_id for t in j.trades} == {"1", "2"} and j.tz.key == "Europe/Prague"
    assert all(e.trader_id == 7 for e in j.entries)
    assert j.balance_before(DAY) == 10_000.0
    # the stored override links to the trade opened one minute later
    rec2 = next(r for r in j.records if r.trade.trade_id == "2")
    assert rec2.overridden and rec2.journal.overrides[0].text == "A+ setup"

    s = await daily_summary(engine, cfg, 7, DAY + timedelta(hours=5))
    lines = s.text.splitlines()
    # +120 on 10 000 = +1.2%; the second entry came 5 min after a losing exit on the same
    # symbol (revenge -30), one override (-10), one violation (-10)
    assert lines[0] == f"2 trades, 1 win, +1.2%. Behavioural score: {s.score}/100"
    assert s.deductions == ["-30 revenge", "-10 override", "-10 violation"]
    assert s.score == 50
    assert s.rule_hits == [
        "cooling_period violated at 09:25 (deal 3)",
        "cooling 09:20-09:35 (loss 1.5%)",
        "cooling_period overridden at 09:24: A+ setup",
    ]
    w = await weekly_summary(engine, cfg, 7, DAY)
    assert w.stats.count == 2 and w.stats.net_pnl == pytest.approx(120.0)
    assert w.text.startswith("Week of 2026-03-02: 2 trades, win rate 50%, profit factor 1.80")


async def test_excursions_from_stored_bars_finest_timeframe_first(engine):
    from bot.journal_service import trade_excursions
    from pulse.models import Bar
    from storage.repo_bars import upsert_bars

    cfg = parse_config({"feeds": {"watchlist": {"timeframes": ["H1", "M15"]}}})
    m = DealMaker()
    deals = m.round_trip(1, DAY, 40, Side.BUY, 100.0) + m.round_trip(
        2, DAY + timedelta(days=2), 40, Side.BUY, -50.0
    )
    await seed(engine, 7, 111, deals)
    trades = trades_of(deals)

    def bars(start, n, step, low, high):
        return [Bar(time=start + i * step, open=1.1, high=high, low=low, close=1.1)
                for i in range(n)]

    # M15 bars cover only the first trade; H1 bars cover both (wider ranges)
    await upsert_bars(engine, "EURUSD", "M15",
                      bars(DAY - timedelta(hours=1), 12, timedelta(minutes=15), 1.0990, 1.1020))
    await upsert_bars(engine, "EURUSD", "H1",
                      bars(DAY - timedelta(hours=2), 60, timedelta(hours=1), 1.0950, 1.1050))
    ex = await trade_excursions(engine, cfg, trades)
    assert ex["1"].mae == pytest.approx(1.1 - 1.0990)  # from M15, the finer bars
    assert ex["1"].mfe == pytest.approx(1.1020 - 1.1)
    assert ex["2"].mae == pytest.approx(1.1 - 1.0950)  # only H1 covers it
