from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pulse.journal.memory import setup_key, setup_memory, setup_memory_nudge
from pulse.journal.stats import build_records
from pulse.models import JournalEntry, JournalKind, Side
from tests.journal.helpers import DealMaker, trades_of

PRAGUE = ZoneInfo("Europe/Prague")


def book():
    m = DealMaker()
    deals, entries = [], []
    # last week: 2 tries (1 win); this week (Mon 2026-03-09): 3 tries, 1 win, then one open
    plan = [
        (datetime(2026, 3, 3, 9, tzinfo=UTC), 40.0),
        (datetime(2026, 3, 4, 9, tzinfo=UTC), -20.0),
        (datetime(2026, 3, 9, 9, tzinfo=UTC), -20.0),
        (datetime(2026, 3, 10, 9, tzinfo=UTC), 30.0),
        (datetime(2026, 3, 11, 9, tzinfo=UTC), -25.0),
    ]
    for i, (at, pnl) in enumerate(plan, start=1):
        deals += m.round_trip(i, at, 30, Side.BUY, pnl)
        entries.append(JournalEntry(trader_id=1, kind=JournalKind.PRE_TRADE, at=at,
                                    setup_tag="London  Breakout", symbol="EURUSD"))
    # same tag but a sell: another setup
    deals += m.round_trip(9, datetime(2026, 3, 10, 12, tzinfo=UTC), 30, Side.SELL, 50.0)
    entries.append(JournalEntry(trader_id=1, kind=JournalKind.PRE_TRADE,
                                at=datetime(2026, 3, 10, 12, tzinfo=UTC),
                                setup_tag="london breakout"))
    return build_records(trades_of(deals), entries, PRAGUE)


def test_setup_memory_text_and_nudge():
    now = datetime(2026, 3, 12, 8, tzinfo=UTC)
    key = setup_key("eurusd", "buy", "london breakout")
    assert key is not None
    mem = setup_memory(key, book(), now, PRAGUE)
    assert (mem.tries_week, mem.wins_week, mem.tries_all, mem.wins_all) == (3, 1, 5, 2)
    assert mem.text() == (
        "You've tried this EURUSD setup 3 times this week. Success rate: 33%. "
        "Overall: 5 tries, 40%. Proceed?"
    )
    nudge = setup_memory_nudge(mem, trader_id=1, now=now, min_tries=2)
    assert nudge is not None and nudge.kind == "setup_memory" and nudge.text == mem.text()
    assert setup_memory_nudge(mem, 1, now, min_tries=4) is None


def test_memory_only_counts_the_past_and_no_tag_no_key():
    key = setup_key("EURUSD", Side.BUY, "london breakout")
    assert key is not None
    mem = setup_memory(key, book(), datetime(2026, 3, 9, 9, 10, tzinfo=UTC), PRAGUE)
    # Monday's try is open at 09:10: a try without an outcome yet
    assert (mem.tries_week, mem.closed_week, mem.tries_all) == (1, 0, 3)
    assert "1 time this week" in mem.text() and "n/a (none closed yet)" in mem.text()
    assert setup_key("EURUSD", Side.BUY, "  ") is None


def test_confluence_reason_stands_in_for_a_missing_tag():
    m = DealMaker()
    deals = m.round_trip(1, datetime(2026, 3, 9, 9, tzinfo=UTC), 10, Side.BUY, 10.0)
    recs = build_records(trades_of(deals), [], PRAGUE)
    key = setup_key("EURUSD", Side.BUY, "bullish order block")
    assert key is not None
    now = datetime(2026, 3, 9, 12, tzinfo=UTC) + timedelta(hours=1)
    assert setup_memory(key, recs, now, PRAGUE).tries_week == 0
    mem = setup_memory(key, recs, now, PRAGUE, tags={"1": "Bullish order block"})
    assert (mem.tries_week, mem.wins_week) == (1, 1)
