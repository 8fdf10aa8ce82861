"""Insights: a group of trades compared with the rest, in sentences a trader understands.

Every comparison needs at least ``min_n`` (``journal.insight_min_trades``, default 5)
closed trades on *each* side and always states both n. The measure is the win rate
(net P&L > 0); the average net result per trade is quoted alongside. Topics:

* best and worst setup tag, entry hour and weekday (each group vs all other trades);
* post-loss entries (opened within ``post_loss_window`` after a losing exit) vs the rest;
* emotion-driven vs strategy-driven trades (pre-trade answer);
* high confidence (≥ ``high_confidence``) vs lower confidence;
* trades taken over an override vs the rest.

An insight is a *strength* when its group does better than the rest, a *weakness* when
worse; equal win rates say nothing and are dropped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from pulse.journal.periods import WEEKDAYS
from pulse.journal.stats import TradeRecord
from pulse.models import Driver

__all__ = ["Insight", "find_insights", "post_loss_ids", "strongest"]


@dataclass(frozen=True)
class Insight:
    """A comparison of a group of trades with the rest (both with at least ``min_n``), as
    figures and as one sentence that states n."""

    topic: str
    label: str
    group_n: int
    rest_n: int
    group_win_rate: float
    rest_win_rate: float
    group_expectancy: float
    rest_expectancy: float
    text: str

    @property
    def delta(self) -> float:
        """Group win rate minus the rest's (positive: the group does better)."""
        return self.group_win_rate - self.rest_win_rate

    @property
    def kind(self) -> str:
        """"strength" when the group wins more often than the rest, else "weakness"."""
        return "strength" if self.delta > 0 else "weakness"

    @property
    def short(self) -> str:
        """ "post-loss entries (win rate 20% vs 55%, n=5/14)" """
        return (
            f"{self.label} (win rate {self.group_win_rate:.0%} vs {self.rest_win_rate:.0%}, "
            f"n={self.group_n}/{self.rest_n})"
        )


@dataclass(frozen=True)
class _Agg:
    """Count, wins and net total of a group: enough for win rate and expectancy."""

    n: int
    wins: int
    total: float

    @staticmethod
    def of(rs: Sequence[TradeRecord]) -> _Agg:
        nets = [r.trade.net_pnl for r in rs]
        return _Agg(len(nets), sum(1 for v in nets if v > 0), sum(nets))

    def __sub__(self, other: _Agg) -> _Agg:
        return _Agg(self.n - other.n, self.wins - other.wins, self.total - other.total)


def _money(v: float, currency: str) -> str:
    return f"{v:+.2f} {currency}".rstrip() if currency else f"{v:+.2f}"


def post_loss_ids(records: Sequence[TradeRecord], window: timedelta) -> set[str]:
    """Trades opened within ``window`` after some losing trade's exit."""
    exits = sorted(
        r.trade.close_time
        for r in records
        if r.trade.close_time is not None and r.trade.net_pnl < 0
    )
    out = set()
    for r in records:
        t0 = r.trade.open_time
        i = bisect_left(exits, t0 - window)
        if i < len(exits) and exits[i] <= t0:
            out.add(r.trade.trade_id)
    return out


def _compare(
    topic: str,
    label: str,
    group: Sequence[TradeRecord] | _Agg,
    rest: Sequence[TradeRecord] | _Agg,
    min_n: int,
    sentence: Callable[[float, float, str, str], str],
    currency: str,
) -> Insight | None:
    g = group if isinstance(group, _Agg) else _Agg.of(group)
    o = rest if isinstance(rest, _Agg) else _Agg.of(rest)
    if g.n < min_n or o.n < min_n:
        return None
    gw, rw = g.wins / g.n, o.wins / o.n
    if gw == rw:
        return None
    ge, re_ = g.total / g.n, o.total / o.n
    text = sentence(gw, rw, f"n={g.n}", f"n={o.n}") + (
        f" Average per trade: {_money(ge, currency)} vs {_money(re_, currency)}."
    )
    return Insight(topic, label, g.n, o.n, gw, rw, ge, re_, text)


def _group_sentence(label: str) -> Callable[[float, float, str, str], str]:
    def sentence(g: float, o: float, gn: str, on: str) -> str:
        return (
            f"{label[0].upper()}{label[1:]}: you win {g:.0%} of trades ({gn}) "
            f"vs {o:.0%} on your other trades ({on})."
        )

    return sentence


def _best_worst(
    topic: str,
    closed: Sequence[TradeRecord],
    key: Callable[[TradeRecord], Hashable | None],
    describe: Callable[[Hashable], str],
    min_n: int,
    currency: str,
) -> list[Insight]:
    groups: dict[Hashable, list[TradeRecord]] = defaultdict(list)
    for r in closed:
        k = key(r)
        if k is not None:
            groups[k].append(r)
    found: list[Insight] = []
    everyone = _Agg.of(closed)
    for k, members in groups.items():
        agg = _Agg.of(members)
        label = describe(k)
        ins = _compare(topic, label, agg, everyone - agg, min_n, _group_sentence(label), currency)
        if ins is not None:
            found.append(ins)
    if not found:
        return []
    best = max(found, key=lambda i: (i.delta, i.group_expectancy))
    worst = min(found, key=lambda i: (i.delta, i.group_expectancy))
    out = []
    if best.delta > 0:
        out.append(_retitle(best, f"Best {topic}"))
    if worst.delta < 0:
        out.append(_retitle(worst, f"Worst {topic}"))
    return out


def _retitle(i: Insight, prefix: str) -> Insight:
    return Insight(
        i.topic,
        i.label,
        i.group_n,
        i.rest_n,
        i.group_win_rate,
        i.rest_win_rate,
        i.group_expectancy,
        i.rest_expectancy,
        f"{prefix}: {i.text}",
    )


def find_insights(
    records: Sequence[TradeRecord],
    *,
    min_n: int = 5,
    post_loss_window: timedelta = timedelta(minutes=30),
    high_confidence: int = 7,
    currency: str = "",
) -> list[Insight]:
    """Every insight the closed trades in ``records`` support, strongest effect first."""
    closed = [r for r in records if r.trade.close_time is not None]
    out: list[Insight] = []
    out += _best_worst(
        "setup",
        closed,
        lambda r: (r.setup_tag or "").casefold() or None,
        lambda k: f"setup '{k}'",
        min_n,
        currency,
    )
    out += _best_worst(
        "hour",
        closed,
        lambda r: r.local_open.hour,
        lambda k: f"entries at {k:02d}:00-{k:02d}:59",
        min_n,
        currency,
    )
    out += _best_worst(
        "weekday",
        closed,
        lambda r: r.local_open.weekday(),
        lambda k: f"{WEEKDAYS[int(str(k))]} entries",
        min_n,
        currency,
    )

    minutes = round(post_loss_window.total_seconds() / 60)
    pl = post_loss_ids(records, post_loss_window)
    ins = _compare(
        "post_loss",
        f"post-loss entries within {minutes} min",
        [r for r in closed if r.trade.trade_id in pl],
        [r for r in closed if r.trade.trade_id not in pl],
        min_n,
        lambda g, o, gn, on: (
            f"Trades opened within {minutes} min after a loss win {g:.0%} ({gn}) "
            f"vs {o:.0%} for your other trades ({on})."
        ),
        currency,
    )
    out += [ins] if ins else []

    ins = _compare(
        "driver",
        "emotion-driven trades",
        [r for r in closed if r.driver is Driver.EMOTION],
        [r for r in closed if r.driver is Driver.STRATEGY],
        min_n,
        lambda g, o, gn, on: (
            f"Trades you called emotion-driven win {g:.0%} ({gn}) "
            f"vs {o:.0%} for strategy-driven ones ({on})."
        ),
        currency,
    )
    out += [ins] if ins else []

    ins = _compare(
        "confidence",
        f"confidence {high_confidence}+ trades",
        [r for r in closed if r.confidence is not None and r.confidence >= high_confidence],
        [r for r in closed if r.confidence is not None and r.confidence < high_confidence],
        min_n,
        lambda g, o, gn, on: (
            f"When your confidence is {high_confidence}/10 or more you win {g:.0%} ({gn}) "
            f"vs {o:.0%} when it is lower ({on})."
        ),
        currency,
    )
    out += [ins] if ins else []

    ins = _compare(
        "override",
        "trades taken over an override",
        [r for r in closed if r.overridden],
        [r for r in closed if not r.overridden],
        min_n,
        lambda g, o, gn, on: (
            f"Trades you took by overriding a block win {g:.0%} ({gn}) "
            f"vs {o:.0%} for the rest ({on})."
        ),
        currency,
    )
    out += [ins] if ins else []
    out.sort(key=lambda i: (-abs(i.delta), i.topic, i.label))
    return out


def strongest(insights: Sequence[Insight], kind: str) -> Insight | None:
    """The largest-effect ``"weakness"`` or ``"strength"`` (ties: the larger group)."""
    chosen = [i for i in insights if i.kind == kind]
    return max(chosen, key=lambda i: (abs(i.delta), i.group_n), default=None)
