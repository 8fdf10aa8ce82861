"""Journal data from storage, assembled for the CLI, the cogs and the scheduler.

Thin async glue: load a trader's trades (every account linked to them), deals, journal
entries, overrides, violations and lockouts, then call the pure builders of
``pulse.journal``. No rule lives here. Every function is scoped to one trader.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncEngine

from pulse.behavior.engine import BehaviorEngine
from pulse.behavior.types import Flag
from pulse.config import TIMEFRAMES, PulseConfig, hhmm_to_time
from pulse.journal.flags import entry_flags
from pulse.journal.periods import day_bounds, week_bounds
from pulse.journal.stats import Excursion, TradeRecord, build_records, excursions
from pulse.journal.summary import (
    DailySummary,
    WeeklySummary,
    build_daily_summary,
    build_weekly_summary,
)
from pulse.models import Deal, JournalEntry, JournalKind, Trade
from storage.repo_bars import load_bars
from storage.repo_deals import load_deals, load_trades
from storage.repo_journal import list_journal_entries
from storage.repo_risk import list_lockouts, list_overrides, list_violations
from storage.repo_settings import chosen_timezone
from storage.repo_traders import accounts_for_trader, get_trader

__all__ = [
    "TraderJournal",
    "daily_summary",
    "load_trader_journal",
    "trade_excursions",
    "trader_timezone",
    "weekly_summary",
]


async def trader_timezone(engine: AsyncEngine, cfg: PulseConfig, trader_id: int) -> ZoneInfo:
    """The timezone the trader chose (``/settings``; UTC too), else a stored one written
    without the "chosen" mark (config seed, import) unless it is the column's default UTC,
    else config.yaml's trader entry, else the day-reset timezone."""
    chosen = await chosen_timezone(engine, trader_id)
    names = []
    if chosen is not None:
        names.append(chosen)
    else:
        rec = await get_trader(engine, trader_id)
        if rec is not None and rec.timezone and rec.timezone != "UTC":
            names.append(rec.timezone)
    tc = cfg.trader(trader_id)
    if tc is not None:
        names.append(tc.timezone)
    names.append(cfg.risk_limits.day_reset_timezone)
    for name in names:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


@dataclass
class TraderJournal:
    """Everything stored about one trader's trading, joined."""

    trader_id: int
    tz: ZoneInfo
    trades: list[Trade]
    deals: list[Deal]
    entries: list[JournalEntry]
    records: list[TradeRecord]
    flags: dict[str, list[Flag]]
    account_ids: list[int]
    currency: str

    def balance_before(self, at: datetime) -> float | None:
        """Balance just before ``at``: every deal's net (deposits, P&L, costs) until then.

        ``None`` when no deposit is on record (percentages are then not shown)."""
        bal = sum(d.net for d in self.deals if d.time < at)
        return bal if bal > 0 else None


async def load_trader_journal(
    engine: AsyncEngine, cfg: PulseConfig, trader_id: int
) -> TraderJournal:
    tz = await trader_timezone(engine, cfg, trader_id)
    accounts = await accounts_for_trader(engine, trader_id)
    trades: list[Trade] = []
    deals: list[Deal] = []
    for a in accounts:
        trades += await load_trades(engine, a.id)
        deals += await load_deals(engine, a.id)
    entries = await list_journal_entries(engine, trader_id)
    # Overrides the kernel stored apart (storage.overrides) count as journal overrides for
    # linking, unless the journal already has the same override (same rule and time).
    known = {(e.rule, e.at) for e in entries if e.kind is JournalKind.OVERRIDE}
    linked_entries = list(entries) + [
        JournalEntry(
            trader_id=trader_id,
            kind=JournalKind.OVERRIDE,
            at=o.at,
            rule=o.rule,
            text=o.reason,
            verdict_id=o.verdict_id,
        )
        for o in await list_overrides(engine, trader_id)
        if (o.rule, o.at) not in known
    ]
    link = timedelta(minutes=cfg.journal.entry_link_minutes)

    def build() -> tuple[dict[str, list[Flag]], list[TradeRecord]]:
        flags = entry_flags(trades, cfg.behavioral, tz)
        ids = {k: {str(f.id) for f in v} for k, v in flags.items()}
        return flags, build_records(trades, linked_entries, tz, ids, link_window=link)

    # Pure CPU over every trade (tens to hundreds of ms for a year): off the event loop.
    flags, records = await asyncio.to_thread(build)
    currency = accounts[0].currency if accounts else cfg.system.currency
    return TraderJournal(
        trader_id, tz, trades, deals, entries, records, flags, [a.id for a in accounts], currency
    )


async def daily_summary(
    engine: AsyncEngine, cfg: PulseConfig, trader_id: int, at: datetime
) -> DailySummary:
    """The trading day containing ``at``: results, behaviour score and rule hits."""
    j = await load_trader_journal(engine, cfg, trader_id)
    reset = hhmm_to_time(cfg.risk_limits.day_reset)
    start, end = day_bounds(at, j.tz, reset)
    engine_b = BehaviorEngine(cfg.behavioral, j.tz, currency=j.currency)
    day_flags = [f for flags in j.flags.values() for f in flags if start <= f.at < end]
    stored_overrides = await list_overrides(engine, trader_id, since=start, until=end)
    journal_overrides = [
        e for e in j.entries if e.kind is JournalKind.OVERRIDE and start <= e.at < end
    ]
    overrides = len(stored_overrides) or len(journal_overrides)
    hits: list[str] = []
    violations = 0
    for account_id in j.account_ids:
        for v in await list_violations(engine, account_id, since=start, until=end):
            violations += 1
            hits.append(f"{v.rule} violated at {v.at.astimezone(j.tz):%H:%M} (deal {v.ticket})")
        for lo in await list_lockouts(engine, account_id, since=start):
            if start <= lo.started_at < end:
                hits.append(
                    f"{lo.kind} {lo.started_at.astimezone(j.tz):%H:%M}-"
                    f"{lo.until.astimezone(j.tz):%H:%M}" + (f" ({lo.reason})" if lo.reason else "")
                )
    for o in stored_overrides:
        hits.append(f"{o.rule} overridden at {o.at.astimezone(j.tz):%H:%M}: "
                    f"{_clause(o.reason)}")
    if not stored_overrides:
        for e in journal_overrides:
            hits.append(f"{e.rule} overridden at {e.at.astimezone(j.tz):%H:%M}: "
                        f"{_clause(e.text)}")
    def build() -> DailySummary:
        report = engine_b.report(day_flags, overrides, violations)
        return build_daily_summary(
            j.records,
            start,
            end,
            j.tz,
            start_balance=j.balance_before(start),
            score=report.score,
            deductions=[f"-{d.points} {d.reason}" for d in report.deductions],
            rule_hits=hits,
            currency=j.currency,
            day_reset=reset,
        )

    return await asyncio.to_thread(build)  # statistics and chart data: off the event loop


def _clause(text: str | None) -> str:
    """A reason as a clause inside the summary's rule-hit list, which ends each list with
    its own period: one trailing full stop goes ("not revenge." -> "not revenge"), an
    ellipsis, "?" or "!" stays."""
    text = (text or "").strip()
    if text.endswith(".") and not text.endswith(".."):
        return text[:-1].rstrip()
    return text


async def weekly_summary(
    engine: AsyncEngine, cfg: PulseConfig, trader_id: int, at: datetime
) -> WeeklySummary:
    """The trading week containing ``at``; insights over ``journal.insight_lookback_days``."""
    j = await load_trader_journal(engine, cfg, trader_id)
    reset = hhmm_to_time(cfg.risk_limits.day_reset)
    start, end = week_bounds(at, j.tz, reset)
    lookback = end - timedelta(days=cfg.journal.insight_lookback_days)
    history = [
        r
        for r in j.records
        if r.trade.close_time is not None and lookback <= r.trade.close_time < end
    ]
    return await asyncio.to_thread(  # statistics, insights, chart data: off the event loop
        build_weekly_summary,
        j.records,
        start,
        end,
        j.tz,
        start_balance=j.balance_before(start),
        insight_records=history,
        min_n=cfg.journal.insight_min_trades,
        post_loss_window=timedelta(minutes=cfg.journal.post_loss_window_minutes),
        high_confidence=cfg.journal.high_confidence,
        currency=j.currency,
        day_reset=reset,
    )


async def trade_excursions(
    engine: AsyncEngine, cfg: PulseConfig, trades: list[Trade]
) -> dict[str, Excursion]:
    """MAE/MFE of the closed trades whose symbol has stored bars covering them, trying the
    watchlist timeframes finest first (a trade not covered by M15 may be by H1)."""
    tfs = sorted(
        (tf for tf in cfg.feeds.watchlist.timeframes if tf in TIMEFRAMES), key=TIMEFRAMES.index
    )
    by_symbol: dict[str, list[Trade]] = {}
    for t in trades:
        if t.close_time is not None:
            by_symbol.setdefault(t.symbol, []).append(t)
    out: dict[str, Excursion] = {}
    for symbol, group in by_symbol.items():
        since = min(t.open_time for t in group) - timedelta(days=1)
        until = max(t.close_time or t.open_time for t in group) + timedelta(days=1)
        for tf in tfs:
            todo = [t for t in group if t.trade_id not in out]
            if not todo:
                break
            bars = await load_bars(engine, symbol, tf, since=since, until=until)
            if bars:
                out.update(excursions(todo, {symbol: bars}))
    return out
