"""Journal actions shared by the Discord cogs and the ``pulse journal`` CLI.

Each action is ONE async function here (load from storage, call the pure builders of
``pulse.journal``, return plain data); the cogs and the CLI only parse their input and
render the result. Every function is scoped to the acting trader: a trade or entry of
anyone else is indistinguishable from a missing one.

- :func:`journal_stats`: statistics and insights of a filtered period (:class:`StatsQuery`).
- :func:`export_journal`: the trader's entries as CSV, or entries and trades as JSON.
- :func:`recent_entries` and :func:`entry_line`: the latest entries, one line each.
- :func:`summary_for`: the daily or weekly summary of a local date (default: now).
- :func:`add_pre_trade`: store a pre-trade prompt's answers.
- :func:`save_reflection`: store (or revise) the post-trade reflection of one of the
  trader's own trades; :func:`reflection_for`, :func:`own_trade`, :func:`reflectable_trades`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.journal_service import (
    daily_summary,
    load_trader_journal,
    trade_excursions,
    trader_timezone,
    weekly_summary,
)
from pulse.config import PulseConfig
from pulse.journal.entries import JournalInputError, edit_entry, new_post_trade, new_pre_trade
from pulse.journal.importers.journal_csv import entries_to_csv, entries_to_json
from pulse.journal.insights import Insight, find_insights
from pulse.journal.stats import (
    StatsFilter,
    TradeStats,
    compute_stats,
    count_open,
    filter_records,
)
from pulse.journal.summary import DailySummary, WeeklySummary
from pulse.models import Driver, JournalEntry, JournalKind, Side, Trade
from storage.repo_deals import load_trades
from storage.repo_journal import add_journal_entry, list_journal_entries, update_journal_entry
from storage.repo_traders import accounts_for_trader

__all__ = [
    "ExportFormat",
    "StatsQuery",
    "StatsReport",
    "SummaryKind",
    "TradeNotFound",
    "add_pre_trade",
    "entry_line",
    "export_journal",
    "journal_stats",
    "own_trade",
    "recent_entries",
    "reflectable_trades",
    "reflection_for",
    "save_reflection",
    "setup_tags",
    "summary_for",
    "trader_trades",
]

ExportFormat = Literal["csv", "json"]
SummaryKind = Literal["day", "week"]


class TradeNotFound(LookupError):
    """No such trade among the acting trader's accounts (another's looks the same)."""


# --------------------------------------------------------------------------- trades


async def trader_trades(engine: AsyncEngine, trader_id: int) -> list[Trade]:
    """Every stored trade of every account linked to the trader, oldest first."""
    out: list[Trade] = []
    for acct in await accounts_for_trader(engine, trader_id):
        out += await load_trades(engine, acct.id)
    out.sort(key=lambda t: (t.open_time, t.trade_id))
    return out


async def own_trade(engine: AsyncEngine, trader_id: int, trade_id: str) -> Trade:
    """The trader's trade ``trade_id`` (the latest when two accounts reuse an id)."""
    matches = [t for t in await trader_trades(engine, trader_id) if t.trade_id == trade_id]
    if not matches:
        raise TradeNotFound(f"trade {trade_id}: not among your trades")
    return matches[-1]


async def reflectable_trades(
    engine: AsyncEngine, trader_id: int, *, limit: int = 25
) -> list[Trade]:
    """The trader's latest closed trades, newest first (for a trade picker)."""
    closed = [t for t in await trader_trades(engine, trader_id) if t.close_time is not None]
    closed.sort(key=lambda t: (t.close_time or t.open_time, t.trade_id), reverse=True)
    return closed[:limit]


# --------------------------------------------------------------------------- entries


async def add_pre_trade(
    engine: AsyncEngine, trader_id: int, at: datetime, answers: Mapping[str, Any]
) -> JournalEntry:
    """Validate the pre-trade answers (every bad one reported at once) and store them."""
    return await add_journal_entry(engine, new_pre_trade(trader_id, at, answers))


async def reflection_for(
    engine: AsyncEngine, trader_id: int, trade_id: str
) -> JournalEntry | None:
    """The trader's latest post-trade reflection on ``trade_id``, if any."""
    found = await list_journal_entries(
        engine, trader_id, kind=JournalKind.POST_TRADE, trade_id=trade_id
    )
    return found[-1] if found else None


async def save_reflection(
    engine: AsyncEngine,
    trader_id: int,
    trade_id: str,
    at: datetime,
    answers: Mapping[str, Any],
) -> tuple[JournalEntry, bool]:
    """Store the reflection on one of the trader's own trades; ``(entry, created)``.

    A second reflection on the same trade revises the first (one reflection per trade,
    so statistics count it once). Raises :class:`TradeNotFound` for a trade that is not
    the trader's and :class:`JournalInputError` for a bad answer.
    """
    trade = await own_trade(engine, trader_id, trade_id)
    fresh = new_post_trade(trader_id, at, trade, answers)
    existing = await reflection_for(engine, trader_id, trade_id)
    if existing is None:
        return await add_journal_entry(engine, fresh), True
    changes = {
        k: getattr(fresh, k)
        for k in ("what_worked", "emotional_factors", "would_take_again", "text")
    }
    revised = edit_entry(existing, trader_id, changes)
    await update_journal_entry(engine, revised)
    return revised, False


async def recent_entries(
    engine: AsyncEngine,
    cfg: PulseConfig,
    trader_id: int,
    *,
    limit: int = 50,
    kind: JournalKind | None = None,
) -> tuple[ZoneInfo, list[JournalEntry]]:
    """The trader's timezone and their ``limit`` latest entries, oldest first."""
    tz = await trader_timezone(engine, cfg, trader_id)
    entries = await list_journal_entries(engine, trader_id, kind=kind)
    return tz, entries[-limit:] if limit > 0 else []


def entry_line(e: JournalEntry, tz: ZoneInfo) -> str:
    """``#12 2026-03-02 09:00 CET pre_trade EURUSD buy setup orb confidence 7: text``."""
    local = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    bits = [f"#{e.id}", local, e.kind.value]
    for label, v in (
        ("", e.symbol),
        ("", e.side.value if e.side else None),
        ("setup ", e.setup_tag),
        ("confidence ", e.confidence),
        ("", e.driver.value if e.driver else None),
        ("trade ", e.trade_id),
        ("rule ", e.rule),
    ):
        if v is not None:
            bits.append(f"{label}{v}")
    text = e.text or e.what_worked or ""
    return " ".join(bits) + (f": {text}" if text else "")


async def setup_tags(engine: AsyncEngine, trader_id: int) -> list[str]:
    """The setup tags the trader has used, most frequent first (for autocomplete)."""
    counts: dict[str, int] = {}
    for e in await list_journal_entries(engine, trader_id, kind=JournalKind.PRE_TRADE):
        if e.setup_tag:
            counts[e.setup_tag] = counts.get(e.setup_tag, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))


# --------------------------------------------------------------------------- export


async def export_journal(engine: AsyncEngine, trader_id: int, fmt: ExportFormat) -> str:
    """The trader's entries as CSV, or entries and trades as one JSON document."""
    if fmt not in ("csv", "json"):
        raise JournalInputError([f"format: must be csv or json, got {fmt!r}"])
    entries = await list_journal_entries(engine, trader_id)
    # Serialising thousands of rows is pure CPU: a worker thread keeps the loop (and
    # the nudges it delivers) responsive meanwhile.
    if fmt == "csv":
        return await asyncio.to_thread(entries_to_csv, entries)
    trades = await trader_trades(engine, trader_id)
    return await asyncio.to_thread(entries_to_json, trader_id, entries, trades)


# --------------------------------------------------------------------------- stats


@dataclass(frozen=True)
class StatsQuery:
    """Which trades ``journal_stats`` counts; dates are the trader's local days,
    ``until`` exclusive; ``None`` means any."""

    since: date | None = None
    until: date | None = None
    symbol: str | None = None
    setup: str | None = None
    side: Side | None = None
    hour: int | None = None
    weekday: int | None = None  # 0 = Monday
    flag: str | None = None
    driver: Driver | None = None
    balance: float | None = None

    def problems(self) -> list[str]:
        out: list[str] = []
        if self.since and self.until and self.until <= self.since:
            out.append("until: must be after since")
        if self.hour is not None and not 0 <= self.hour <= 23:
            out.append(f"hour: must be 0-23, got {self.hour}")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            out.append(f"weekday: must be 0 (Monday) to 6, got {self.weekday}")
        return out


@dataclass(frozen=True)
class StatsReport:
    """What ``journal_stats`` found: figures, insights and how they were chosen."""

    trader_id: int
    filter: StatsFilter
    tz: ZoneInfo
    currency: str
    stats: TradeStats
    insights: list[Insight]
    min_trades: int

    def lines(self) -> list[str]:
        """The CLI's text form."""
        out = [f"trader {self.trader_id}: {self.filter.describe()} (times in {self.tz.key})"]
        out += ["  " + x for x in self.stats.lines(self.currency)]
        if self.insights:
            out.append("insights:")
            out += [f"  - {i.text}" for i in self.insights]
        else:
            out.append(
                f"insights: none yet (each comparison needs {self.min_trades} trades a side)"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON form."""
        return {
            "trader_id": self.trader_id,
            "filter": self.filter.describe(),
            "timezone": self.tz.key,
            "stats": self.stats.to_dict(),
            "insights": [
                {"topic": i.topic, "kind": i.kind, "text": i.text, "n": [i.group_n, i.rest_n]}
                for i in self.insights
            ],
        }


async def journal_stats(
    engine: AsyncEngine, cfg: PulseConfig, trader_id: int, query: StatsQuery
) -> StatsReport:
    """Statistics and insights of the trader's closed trades that ``query`` selects."""
    problems = query.problems()
    if problems:
        raise JournalInputError(problems)
    j = await load_trader_journal(engine, cfg, trader_id)
    tz = j.tz

    def local_start(d: date | None) -> datetime | None:
        return None if d is None else datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)

    flt = StatsFilter(
        start=local_start(query.since),
        end=local_start(query.until),
        symbol=query.symbol or None,
        setup_tag=query.setup or None,
        side=query.side,
        hour=query.hour,
        weekday=query.weekday,
        flag=query.flag or None,
        driver=query.driver,
    )
    chosen = filter_records(j.records, flt)
    balance = query.balance
    if balance is None and flt.start is not None:
        balance = j.balance_before(flt.start)
    ex = await trade_excursions(engine, cfg, [r.trade for r in chosen])
    jc = cfg.journal

    def figures() -> tuple[TradeStats, list[Insight]]:
        stats = compute_stats(
            chosen, start_balance=balance, open_count=count_open(j.records, flt), excursions=ex
        )
        insights = find_insights(
            chosen,
            min_n=jc.insight_min_trades,
            post_loss_window=timedelta(minutes=jc.post_loss_window_minutes),
            high_confidence=jc.high_confidence,
            currency=j.currency,
        )
        return stats, insights

    stats, insights = await asyncio.to_thread(figures)  # pure CPU, off the event loop
    return StatsReport(trader_id, flt, tz, j.currency, stats, insights, jc.insight_min_trades)


# --------------------------------------------------------------------------- summaries


async def summary_for(
    engine: AsyncEngine,
    cfg: PulseConfig,
    trader_id: int,
    kind: SummaryKind,
    *,
    day: date | None = None,
    now: datetime | None = None,
) -> DailySummary | WeeklySummary:
    """The daily (or weekly) summary of local date ``day`` (noon), else of ``now``."""
    if day is None:
        if now is None:
            raise ValueError("summary_for needs a day or now")
        at = now
    else:
        tz = await trader_timezone(engine, cfg, trader_id)
        at = datetime.combine(day, time(12), tzinfo=tz)
    if kind == "day":
        return await daily_summary(engine, cfg, trader_id, at)
    return await weekly_summary(engine, cfg, trader_id, at)
