"""Daily and weekly summaries: structured data, a text, and the data for a chart.

Percentages are of the balance at the start of the period (``start_balance``); without
it amounts are shown in the account currency. A trade counts on the day it *closed*
(realised P&L, matching the balance); entries made that day are reported apart. The
behaviour score and its deductions, and the day's rule hits, come from the behaviour
engine and the risk enforcer: a summary shows them, it never recomputes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from pulse.journal.insights import Insight, find_insights, strongest
from pulse.journal.periods import WEEKDAYS, local_day
from pulse.journal.stats import StatsFilter, TradeRecord, TradeStats, compute_stats, filter_records

__all__ = [
    "ChartData",
    "DailySummary",
    "DayResult",
    "WeeklySummary",
    "build_daily_summary",
    "build_weekly_summary",
]


def _amount(net: float, pct: float | None, currency: str) -> str:
    if pct is not None:
        return f"{pct:+.1f}%"
    return f"{net:+.2f} {currency}".rstrip()


@dataclass(frozen=True)
class ChartData:
    """What the summary chart draws (rendered by ``bot/charts/summary_chart.py``)."""

    title: str
    equity: list[tuple[datetime, float]]
    pnl_by_weekday: list[float]  # 7 values, Monday first
    pnl_by_hour: list[float]  # 24 values, entry hour in the trader's timezone
    currency: str = ""
    tz: tzinfo = UTC  # for the time axis labels


@dataclass(frozen=True)
class DailySummary:
    """One trading day: figures, behaviour score and its deductions, rule hits, the text and
    the chart data."""

    day: date
    start: datetime
    end: datetime
    trades: int
    wins: int
    losses: int
    breakevens: int
    net_pnl: float
    net_pnl_pct: float | None
    entries: int
    open_trades: int
    score: int | None
    deductions: list[str]
    rule_hits: list[str]
    stats: TradeStats
    text: str
    chart: ChartData


@dataclass(frozen=True)
class DayResult:
    """One day of a weekly summary: trades and net P&L (percent of the balance before it)."""

    day: date
    weekday: str
    trades: int
    net_pnl: float
    net_pnl_pct: float | None


@dataclass(frozen=True)
class WeeklySummary:
    """One week: statistics, per-day results, best/worst day, the strongest weakness and
    strength among the insights, the text and the chart data."""

    start: datetime
    end: datetime
    stats: TradeStats
    days: list[DayResult]
    best_day: DayResult | None
    worst_day: DayResult | None
    weakness: Insight | None
    strength: Insight | None
    insights: list[Insight]
    text: str
    chart: ChartData
    notes: list[str] = field(default_factory=list)


def _chart(
    title: str,
    closed: Sequence[TradeRecord],
    start: datetime,
    start_value: float,
    currency: str,
    tz: tzinfo,
) -> ChartData:
    equity = [(start, start_value)]
    by_wd = [0.0] * 7
    by_hour = [0.0] * 24
    v = start_value
    for r in closed:
        assert r.trade.close_time is not None
        v += r.trade.net_pnl
        equity.append((r.trade.close_time, v))
        by_wd[r.local_open.weekday()] += r.trade.net_pnl
        by_hour[r.local_open.hour] += r.trade.net_pnl
    return ChartData(title, equity, by_wd, by_hour, currency, tz)


def build_daily_summary(
    records: Sequence[TradeRecord],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    *,
    start_balance: float | None = None,
    score: int | None = None,
    deductions: Sequence[str] = (),
    rule_hits: Sequence[str] = (),
    currency: str = "",
    day_reset: time = time(0, 0),
) -> DailySummary:
    """The day ``[start, end)``: "3 trades, 2 wins, +1.2%. Behavioural score: 85/100"."""
    closed = filter_records(records, StatsFilter(start=start, end=end))
    stats = compute_stats(closed, start_balance=start_balance)
    entries = sum(1 for r in records if start <= r.trade.open_time < end)
    open_n = sum(
        1 for r in records if r.trade.open_time < end and r.trade.close_time is None
    ) + sum(
        1
        for r in records
        if r.trade.open_time < end and r.trade.close_time is not None and r.trade.close_time >= end
    )
    n = stats.count
    head = (
        f"{n} trade{'s' if n != 1 else ''}, {stats.wins} win{'s' if stats.wins != 1 else ''}, "
        f"{_amount(stats.net_pnl, stats.net_pnl_pct, currency)}."
    )
    if score is not None:
        head += f" Behavioural score: {score}/100"
    lines = [head]
    if entries != n:
        lines.append(f"Entries today: {entries}; still open at the close: {open_n}.")
    if deductions:
        lines.append("Score deductions: " + "; ".join(deductions) + ".")
    if rule_hits:
        lines.append("Rule hits: " + "; ".join(rule_hits) + ".")
    elif n:
        lines.append("No rule hits.")
    day = local_day(start, tz, day_reset)
    chart = _chart(
        f"{day.isoformat()} ({WEEKDAYS[day.weekday()]})",
        closed,
        start,
        start_balance if start_balance is not None else 0.0,
        currency,
        tz,
    )
    return DailySummary(
        day=day,
        start=start,
        end=end,
        trades=n,
        wins=stats.wins,
        losses=stats.losses,
        breakevens=stats.breakevens,
        net_pnl=stats.net_pnl,
        net_pnl_pct=stats.net_pnl_pct,
        entries=entries,
        open_trades=open_n,
        score=score,
        deductions=list(deductions),
        rule_hits=list(rule_hits),
        stats=stats,
        text="\n".join(lines),
        chart=chart,
    )


def build_weekly_summary(
    records: Sequence[TradeRecord],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    *,
    start_balance: float | None = None,
    insight_records: Sequence[TradeRecord] | None = None,
    min_n: int = 5,
    post_loss_window: timedelta = timedelta(minutes=30),
    high_confidence: int = 7,
    currency: str = "",
    day_reset: time = time(0, 0),
) -> WeeklySummary:
    """The week ``[start, end)``: best and worst day, win rate, profit factor, the strongest
    weakness and strength (from ``insight_records``, default the week's trades: a week is
    often too few trades for 5-on-each-side comparisons, so the bot passes a longer
    history) and a chart.
    """
    closed = filter_records(records, StatsFilter(start=start, end=end))
    stats = compute_stats(closed, start_balance=start_balance)

    per_day: dict[date, list[TradeRecord]] = {}
    for r in closed:
        assert r.trade.close_time is not None
        per_day.setdefault(local_day(r.trade.close_time, tz, day_reset), []).append(r)
    days: list[DayResult] = []
    balance = start_balance
    for d in sorted(per_day):
        net = sum(r.trade.net_pnl for r in per_day[d])
        pct = net / balance * 100 if balance else None
        days.append(DayResult(d, WEEKDAYS[d.weekday()], len(per_day[d]), net, pct))
        if balance is not None:
            balance += net
    # Best and worst of the days traded (the best of a losing week may be a loss too);
    # with a single day traded it is "best" when it made money, else "worst".
    best = max(days, key=lambda d: d.net_pnl, default=None)
    worst = min(days, key=lambda d: d.net_pnl, default=None)
    if len(days) == 1:
        if days[0].net_pnl > 0:
            worst = None
        else:
            best = None

    ins = find_insights(
        insight_records if insight_records is not None else closed,
        min_n=min_n,
        post_loss_window=post_loss_window,
        high_confidence=high_confidence,
        currency=currency,
    )
    weakness = strongest(ins, "weakness")
    strength = strongest(ins, "strength")

    wk = local_day(start, tz, day_reset)
    n = stats.count
    pf = "n/a" if stats.profit_factor is None else f"{stats.profit_factor:.2f}"
    wr = "n/a" if stats.win_rate is None else f"{stats.win_rate:.0%}"
    lines = [
        f"Week of {wk.isoformat()}: {n} trade{'s' if n != 1 else ''}, win rate {wr}, "
        f"profit factor {pf}, {_amount(stats.net_pnl, stats.net_pnl_pct, currency)}."
    ]
    day_parts = []
    if best:
        day_parts.append(
            f"Best day: {best.weekday} ({_amount(best.net_pnl, best.net_pnl_pct, currency)})."
        )
    if worst:
        day_parts.append(
            f"Worst day: {worst.weekday} ({_amount(worst.net_pnl, worst.net_pnl_pct, currency)})."
        )
    if weakness:
        day_parts.append(f"Weakness: {weakness.short}.")
    if strength:
        day_parts.append(f"Strength: {strength.short}.")
    if day_parts:
        lines.append(" ".join(day_parts))
    notes: list[str] = []
    if not ins:
        notes.append(
            f"Not enough trades yet to compare groups (needs at least {min_n} on each side)."
        )
    lines.extend(notes)
    chart = _chart(
        f"Week of {wk.isoformat()}",
        closed,
        start,
        start_balance if start_balance is not None else 0.0,
        currency,
        tz,
    )
    return WeeklySummary(
        start=start,
        end=end,
        stats=stats,
        days=days,
        best_day=best,
        worst_day=worst,
        weakness=weakness,
        strength=strength,
        insights=ins,
        text="\n".join(lines),
        chart=chart,
        notes=notes,
    )
