"""Trade statistics per trader, filterable by symbol, setup, side, hour, weekday, flag, driver.

Definitions (hand-checkable, and pinned by ``tests/journal/test_stats.py``):

* Only **closed** trades are counted; a trade belongs to a period by its close time (the
  moment its P&L was realised). Open trades are reported apart (``open_count``).
* A trade is a win when its net P&L (profit + commission + swap + fee, DESIGN.md
  section 2) is > 0, a loss when < 0, a break-even when exactly 0. A partially closed
  trade is one trade: its partial deals add up.
* ``win_rate`` = wins / count (break-evens stay in the denominator: a scratch is not a win).
* ``profit_factor`` = gross profit / |gross loss|; ``None`` when there is no loss.
* ``expectancy`` = net P&L / count (average net result per trade, account currency).
* ``avg_r``: mean R over the trades whose R is known (``r_count`` of them); see
  :func:`r_multiple`.
* ``max_drawdown``: the largest fall of cumulative net P&L from its running peak
  (the peak starts at 0), trades ordered by close time; in percent of the peak equity
  when ``start_balance`` is given.
* Hour and weekday are those of the **entry** (open time) in the trader's timezone.
* ``journal_completion``: share of trades with both a pre-trade prompt and a post-trade
  reflection (``pre_trade_rate`` and ``post_trade_rate`` give each part).
"""

from __future__ import annotations

import itertools
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from pulse.journal.linking import DEFAULT_LINK_WINDOW, TradeJournal, link_entries
from pulse.journal.periods import WEEKDAYS
from pulse.models import Bar, Driver, JournalEntry, Side, Trade

__all__ = [
    "Excursion",
    "StatsFilter",
    "TradeRecord",
    "TradeStats",
    "build_records",
    "compute_stats",
    "count_open",
    "excursion",
    "excursions",
    "filter_records",
    "r_multiple",
    "trader_stats",
]


def r_multiple(trade: Trade, value_per_point: float | None = None) -> float | None:
    """Net P&L over the initial risk, or ``None`` when the risk is unknown.

    Risk in money = |entry − stop| × entry volume × ``value_per_point`` (account currency
    per 1.0 of price per lot, i.e. ``tick_value / tick_size``). Without a symbol spec the
    value per point is inferred from the trade itself: gross profit / (price move × closed
    volume); a trade closed exactly at its entry price then has no R. A stop on the wrong
    side of the entry (moved to break-even or beyond, as MT5 reports show the last stop)
    says nothing about the initial risk, so R is ``None`` too.
    """
    if trade.stop_loss is None or trade.close_time is None:
        return None
    dist = (trade.entry_price - trade.stop_loss) * trade.side.sign
    if dist <= 0:
        return None
    vpp = value_per_point
    if vpp is None:
        if trade.exit_price is None or trade.closed_volume <= 0:
            return None
        move = (trade.exit_price - trade.entry_price) * trade.side.sign
        if abs(move) < 1e-12:
            return None
        vpp = trade.profit / (move * trade.closed_volume)
    if vpp <= 0:
        return None
    return trade.net_pnl / (dist * trade.entry_volume * vpp)


@dataclass(frozen=True)
class TradeRecord:
    """A trade with what the journal and the behaviour engine know about it."""

    trade: Trade
    journal: TradeJournal
    flags: frozenset[str]
    local_open: datetime

    @property
    def setup_tag(self) -> str | None:
        """Setup tag of the linked pre-trade entry, if any."""
        return self.journal.pre.setup_tag if self.journal.pre else None

    @property
    def driver(self) -> Driver | None:
        """Strategy or emotion, as the linked pre-trade entry says."""
        return self.journal.pre.driver if self.journal.pre else None

    @property
    def confidence(self) -> int | None:
        """Confidence 1-10 of the linked pre-trade entry."""
        return self.journal.pre.confidence if self.journal.pre else None

    @property
    def overridden(self) -> bool:
        """Whether the trade was taken over a soft block (an override is linked to it)."""
        return bool(self.journal.overrides)


def build_records(
    trades: Iterable[Trade],
    entries: Iterable[JournalEntry],
    tz: tzinfo,
    flags: Mapping[str, Iterable[str]] | None = None,
    link_window: timedelta = DEFAULT_LINK_WINDOW,
) -> list[TradeRecord]:
    """Join trades with their journal entries and behaviour flags (``trade_id -> flags``)."""
    trade_list = sorted(trades, key=lambda t: (t.open_time, t.trade_id))
    linked = link_entries(entries, trade_list, link_window)
    flags = flags or {}
    return [
        TradeRecord(
            trade=t,
            journal=linked[t.trade_id],
            flags=frozenset(flags.get(t.trade_id, ())),
            local_open=t.open_time.astimezone(tz),
        )
        for t in trade_list
    ]


@dataclass(frozen=True)
class StatsFilter:
    """Which trades to count; ``None`` means any. Period bounds apply to the close time."""

    start: datetime | None = None
    end: datetime | None = None
    symbol: str | None = None
    setup_tag: str | None = None
    side: Side | None = None
    hour: int | None = None
    weekday: int | None = None  # 0 = Monday
    flag: str | None = None
    driver: Driver | None = None

    def accepts(self, r: TradeRecord) -> bool:
        """A closed trade, closed inside the period, matching every other filter."""
        t = r.trade
        if t.close_time is None or not self.in_period(t.close_time):
            return False
        return self.matches(r)

    def in_period(self, at: datetime) -> bool:
        """Whether ``at`` falls in ``[start, end)`` (an open bound matches everything)."""
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def matches(self, r: TradeRecord) -> bool:
        """Every filter except the period."""
        t = r.trade
        checks = (
            self.symbol is None or t.symbol.upper() == self.symbol.upper(),
            self.setup_tag is None or (r.setup_tag or "").casefold() == self.setup_tag.casefold(),
            self.side is None or t.side is self.side,
            self.hour is None or r.local_open.hour == self.hour,
            self.weekday is None or r.local_open.weekday() == self.weekday,
            self.flag is None or self.flag in r.flags,
            self.driver is None or r.driver is self.driver,
        )
        return all(checks)

    def describe(self) -> str:
        """Human-readable summary of the active filters ("all trades" when none)."""
        parts = []
        if self.symbol:
            parts.append(self.symbol.upper())
        if self.setup_tag:
            parts.append(f"setup '{self.setup_tag}'")
        if self.side:
            parts.append(self.side.value)
        if self.hour is not None:
            parts.append(f"entries {self.hour:02d}:00-{self.hour:02d}:59")
        if self.weekday is not None:
            parts.append(WEEKDAYS[self.weekday])
        if self.flag:
            parts.append(f"flagged {self.flag}")
        if self.driver:
            parts.append(f"{self.driver.value}-driven")
        return ", ".join(parts) or "all trades"


def filter_records(records: Iterable[TradeRecord], flt: StatsFilter) -> list[TradeRecord]:
    """The closed trades ``flt`` accepts, in close-time order."""
    out = [r for r in records if flt.accepts(r)]
    out.sort(key=lambda r: (r.trade.close_time, r.trade.trade_id))
    return out


@dataclass(frozen=True)
class TradeStats:
    """Figures for a set of closed trades (see the module docstring for definitions)."""

    count: int
    wins: int
    losses: int
    breakevens: int
    win_rate: float | None
    net_pnl: float
    gross_profit: float
    gross_loss: float
    profit_factor: float | None
    expectancy: float | None
    avg_r: float | None
    r_count: int
    max_drawdown: float
    max_drawdown_pct: float | None
    avg_hold_win: timedelta | None
    avg_hold_loss: timedelta | None
    journal_completion: float | None
    pre_trade_rate: float | None
    post_trade_rate: float | None
    net_pnl_pct: float | None = None
    open_count: int = 0
    by_trade_r: dict[str, float] = field(default_factory=dict)
    excursion_count: int = 0
    avg_mae_r: float | None = None
    avg_mfe_r: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: timedeltas become seconds."""
        d = asdict(self)
        for k in ("avg_hold_win", "avg_hold_loss"):
            v = getattr(self, k)
            d[k] = None if v is None else v.total_seconds()
        return d

    def lines(self, currency: str = "") -> list[str]:
        """The figures as short readable lines (CLI and Discord embeds)."""
        cur = f" {currency}" if currency else ""

        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.0%}"

        def hold(v: timedelta | None) -> str:
            if v is None:
                return "n/a"
            minutes = round(v.total_seconds() / 60)
            return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"

        pf = "n/a (no losses)" if self.profit_factor is None else f"{self.profit_factor:.2f}"
        exp = "n/a" if self.expectancy is None else f"{self.expectancy:+.2f}{cur}"
        avg_r = "n/a" if self.avg_r is None else f"{self.avg_r:+.2f}R (n={self.r_count})"
        dd = f"{self.max_drawdown:.2f}{cur}"
        if self.max_drawdown_pct is not None:
            dd += f" ({self.max_drawdown_pct:.1f}%)"
        return [
            f"trades {self.count} (wins {self.wins}, losses {self.losses}, "
            f"break-even {self.breakevens}), still open {self.open_count}",
            f"win rate {pct(self.win_rate)}, net P&L {self.net_pnl:+.2f}{cur}"
            + (f" ({self.net_pnl_pct:+.2f}%)" if self.net_pnl_pct is not None else ""),
            f"profit factor {pf}, expectancy {exp}, average R {avg_r}",
            f"max drawdown {dd}",
            f"average hold: winners {hold(self.avg_hold_win)}, losers {hold(self.avg_hold_loss)}",
            f"journal completion {pct(self.journal_completion)} (pre-trade "
            f"{pct(self.pre_trade_rate)}, post-trade {pct(self.post_trade_rate)})",
        ] + (
            [
                f"excursions over {self.excursion_count} trades with bars: average MAE "
                f"{self.avg_mae_r:.2f}R, MFE {self.avg_mfe_r:.2f}R"
            ]
            if self.avg_mae_r is not None and self.avg_mfe_r is not None
            else []
        )


def _mean_td(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return sum(values, timedelta()) / len(values)


def compute_stats(
    records: Sequence[TradeRecord],
    *,
    start_balance: float | None = None,
    point_values: Mapping[str, float] | None = None,
    open_count: int = 0,
    excursions: Mapping[str, Excursion] | None = None,
) -> TradeStats:
    """Statistics of ``records`` (already filtered; open trades are skipped).

    ``excursions`` (``trade_id -> Excursion``, see :func:`excursions`) adds the average
    MAE and MFE in R over the trades that have both bars and a stop.
    """
    closed = sorted(
        (r for r in records if r.trade.close_time is not None),
        key=lambda r: (r.trade.close_time, r.trade.trade_id),
    )
    n = len(closed)
    nets = [r.trade.net_pnl for r in closed]
    wins = [r for r, v in zip(closed, nets, strict=True) if v > 0]
    losses = [r for r, v in zip(closed, nets, strict=True) if v < 0]
    gross_profit = sum(v for v in nets if v > 0)
    gross_loss = sum(v for v in nets if v < 0)
    net = sum(nets)

    peak = cum = dd = 0.0
    dd_pct: float | None = 0.0 if start_balance else None
    for v in nets:
        cum += v
        peak = max(peak, cum)
        dd = max(dd, peak - cum)
        if start_balance and dd_pct is not None:
            base = start_balance + peak
            dd_pct = max(dd_pct, (peak - cum) / base * 100 if base > 0 else 0.0)

    pv = {k.upper(): v for k, v in (point_values or {}).items()}
    rs: dict[str, float] = {}
    for r in closed:
        rv = r_multiple(r.trade, pv.get(r.trade.symbol.upper()))
        if rv is not None:
            rs[r.trade.trade_id] = rv

    def hold(t: Trade) -> timedelta:
        assert t.close_time is not None
        return t.close_time - t.open_time

    ex_r = [
        e
        for r in closed
        if (e := (excursions or {}).get(r.trade.trade_id)) is not None
        and e.mae_r is not None
        and e.mfe_r is not None
    ]
    pre = sum(1 for r in closed if r.journal.pre is not None)
    post = sum(1 for r in closed if r.journal.post is not None)
    complete = sum(1 for r in closed if r.journal.complete)
    return TradeStats(
        count=n,
        wins=len(wins),
        losses=len(losses),
        breakevens=n - len(wins) - len(losses),
        win_rate=len(wins) / n if n else None,
        net_pnl=net,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        profit_factor=gross_profit / -gross_loss if gross_loss < 0 else None,
        expectancy=net / n if n else None,
        avg_r=statistics.fmean(rs.values()) if rs else None,
        r_count=len(rs),
        max_drawdown=dd,
        max_drawdown_pct=dd_pct,
        avg_hold_win=_mean_td([hold(r.trade) for r in wins]),
        avg_hold_loss=_mean_td([hold(r.trade) for r in losses]),
        journal_completion=complete / n if n else None,
        pre_trade_rate=pre / n if n else None,
        post_trade_rate=post / n if n else None,
        net_pnl_pct=net / start_balance * 100 if start_balance else None,
        open_count=open_count,
        by_trade_r=rs,
        excursion_count=len(ex_r),
        avg_mae_r=statistics.fmean(e.mae_r for e in ex_r if e.mae_r is not None) if ex_r else None,
        avg_mfe_r=statistics.fmean(e.mfe_r for e in ex_r if e.mfe_r is not None) if ex_r else None,
    )


def trader_stats(
    trades: Iterable[Trade],
    entries: Iterable[JournalEntry],
    tz: tzinfo,
    flt: StatsFilter | None = None,
    *,
    flags: Mapping[str, Iterable[str]] | None = None,
    start_balance: float | None = None,
    point_values: Mapping[str, float] | None = None,
) -> TradeStats:
    """One call: link, filter and compute (what the CLI and the ``/journal stats`` use)."""
    flt = flt or StatsFilter()
    records = build_records(trades, entries, tz, flags)
    chosen = filter_records(records, flt)
    open_n = count_open(records, flt)
    return compute_stats(
        chosen, start_balance=start_balance, point_values=point_values, open_count=open_n
    )


def count_open(records: Iterable[TradeRecord], flt: StatsFilter) -> int:
    """Trades still open, opened before the period's end and matching the other filters."""
    return sum(
        1
        for r in records
        if r.trade.close_time is None
        and (flt.end is None or r.trade.open_time < flt.end)
        and flt.matches(r)
    )


@dataclass(frozen=True)
class Excursion:
    """Maximum adverse / favourable excursion of a trade, in price units (and R)."""

    mae: float
    mfe: float
    mae_r: float | None
    mfe_r: float | None
    bars_used: int


def _bar_step(ordered: Sequence[Bar]) -> timedelta:
    if len(ordered) < 2:
        return timedelta(0)
    return timedelta(
        seconds=statistics.median(
            (b.time - a.time).total_seconds() for a, b in itertools.pairwise(ordered)
        )
    )


def excursion(trade: Trade, bars: Sequence[Bar]) -> Excursion | None:
    """MAE/MFE from the bars overlapping the trade, or ``None`` without full coverage.

    A bar covers ``[time, next bar's time)`` (the last one: the median bar spacing). The
    entry and exit bars are used whole, so prices traded just before the entry or after
    the exit in those bars count: bar data cannot tell them apart (a tick feed could).
    Both figures are ≥ 0: MAE is how far price went against the entry, MFE in favour.
    """
    ordered = sorted(bars, key=lambda b: b.time)
    return _excursion(trade, ordered, _bar_step(ordered))


def _excursion(trade: Trade, ordered: Sequence[Bar], step: timedelta) -> Excursion | None:
    if trade.close_time is None or not ordered:
        return None
    ends = [b.time for b in ordered[1:]] + [ordered[-1].time + step]
    if ordered[0].time > trade.open_time or ends[-1] < trade.close_time:
        return None
    used = [
        b
        for b, end in zip(ordered, ends, strict=True)
        if end > trade.open_time and b.time <= trade.close_time
    ]
    if not used:
        return None
    hi = max(b.high for b in used)
    lo = min(b.low for b in used)
    e = trade.entry_price
    if trade.side is Side.BUY:
        mae, mfe = max(0.0, e - lo), max(0.0, hi - e)
    else:
        mae, mfe = max(0.0, hi - e), max(0.0, e - lo)
    dist = None
    if trade.stop_loss is not None:
        d = (e - trade.stop_loss) * trade.side.sign
        dist = d if d > 0 else None
    return Excursion(
        mae=mae,
        mfe=mfe,
        mae_r=mae / dist if dist else None,
        mfe_r=mfe / dist if dist else None,
        bars_used=len(used),
    )


def excursions(
    trades: Iterable[Trade], bars_by_symbol: Mapping[str, Sequence[Bar]]
) -> dict[str, Excursion]:
    """MAE/MFE of every closed trade whose symbol's bars cover it (bars sorted once per
    symbol; each trade looks only at its own span)."""
    prepared: dict[str, tuple[list[Bar], list[datetime], timedelta]] = {}
    for sym, bars in bars_by_symbol.items():
        ordered = sorted(bars, key=lambda b: b.time)
        prepared[sym.upper()] = (ordered, [b.time for b in ordered], _bar_step(ordered))
    out: dict[str, Excursion] = {}
    for t in trades:
        p = prepared.get(t.symbol.upper())
        if p is None or t.close_time is None:
            continue
        ordered, times, step = p
        lo = max(0, bisect_right(times, t.open_time) - 1)
        hi = bisect_right(times, t.close_time)
        window = ordered[lo : hi + 1]  # one bar past the exit gives the last bar's end
        ex = _excursion(t, window, step) if window else None
        if ex is not None:
            out[t.trade_id] = ex
    return out
