"""What the demo leaves in its SQLite file: the live path's rows, not a printout."""

from __future__ import annotations

from collections import Counter

from bot.demo import DEMO_TRADER_ID
from pulse.models import DealType, JournalKind
from storage import make_engine, repo_deals, repo_journal, repo_outbox, repo_risk, repo_traders

from .conftest import Run


async def test_db_holds_deals_trades_journal_verdict_links_and_nudges(json_run: Run) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{json_run.db}")
    try:
        accounts = await repo_traders.accounts_for_trader(engine, DEMO_TRADER_ID)
        assert len(accounts) == 1
        acct = accounts[0].id

        deals = await repo_deals.load_deals(engine, acct)
        assert [d.ticket for d in deals] == list(range(1000, 1009))
        assert deals[0].type is DealType.BALANCE and deals[0].profit == 100_000

        trades = await repo_deals.load_trades(engine, acct)
        assert len(trades) == 4
        assert [round(t.net_pnl, 2) for t in trades] == [190.0, -1020.0, -940.0, -940.0]
        # the stops the entries were placed with (from the terminal's positions): R known
        assert [t.stop_loss for t in trades] == [1651.0, 1639.5, 1636.5, 1639.5]

        entries = await repo_journal.list_journal_entries(engine, DEMO_TRADER_ID)
        kinds = Counter(e.kind for e in entries)
        assert kinds == {JournalKind.PRE_TRADE: 2, JournalKind.POST_TRADE: 2,
                         JournalKind.OVERRIDE: 1}
        by_id = {t.trade_id for t in trades}
        for e in entries:
            if e.kind is JournalKind.POST_TRADE:
                assert e.trade_id in by_id
            if e.kind is JournalKind.PRE_TRADE:
                assert e.verdict_id is not None  # linked to the check it followed
                verdict = await repo_journal.get_verdict(engine, e.verdict_id)
                assert verdict is not None and verdict.allowed
                assert verdict.request is not None and verdict.request.symbol == "ES"
        override = next(e for e in entries if e.kind is JournalKind.OVERRIDE)
        assert override.rule == "cooling_period" and override.text.startswith("ES flushed")

        overrides = await repo_risk.list_overrides(engine, DEMO_TRADER_ID)
        assert [(o.rule, o.reason[:10]) for o in overrides] == [("cooling_period", "ES flushed")]
        lockouts = await repo_risk.list_lockouts(engine, acct)
        assert sorted(lo.kind for lo in lockouts) == ["break", "cooling"]

        outbox = await repo_outbox.list_outbox(engine, trader_id=DEMO_TRADER_ID)
        stored = Counter(i.nudge.kind for i in outbox)
        printed = Counter(x["kind"] for x in json_run.lines if x["type"] == "nudge")
        assert stored == printed  # every nudge printed went through the outbox, once
        for kind in ("cooling_started", "revenge", "daily_loss_warning", "break_started",
                     "post_trade_prompt"):
            assert stored[kind] >= 1, kind
    finally:
        await engine.dispose()

    reported = json_run.lines[-1]["stored"]
    assert reported["deals"] == 9 and reported["trades"] == 4
    assert reported["journal entries"] == 5 and reported["outbox nudges"] == sum(stored.values())
