"""Pattern memory: how the same setup went this week and overall (``setup_memory`` nudge).

A *setup* is symbol + tag + side. The tag is the pre-trade entry's setup tag or, when
the trader gave none, the strongest confluence reason the caller passes in (``tags``).
Tries are trades opened with that setup; the success rate counts closed tries only
(an open try has no outcome yet), a success being a net win.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, tzinfo

from pulse.journal.periods import week_bounds
from pulse.journal.stats import TradeRecord
from pulse.models import Nudge, Side

__all__ = ["SetupKey", "SetupMemory", "setup_key", "setup_memory", "setup_memory_nudge"]


@dataclass(frozen=True)
class SetupKey:
    """What makes two trades "the same setup": symbol, normalised tag and side."""

    symbol: str
    tag: str
    side: Side


def setup_key(symbol: str, side: Side | str, tag: str | None) -> SetupKey | None:
    """Normalised key (symbol upper-case, tag case-folded), or ``None`` without a tag."""
    if not tag or not tag.strip():
        return None
    return SetupKey(symbol.upper(), " ".join(tag.split()).casefold(), Side(side))


@dataclass(frozen=True)
class SetupMemory:
    """Tries and outcomes of one setup."""

    key: SetupKey
    tries_week: int
    closed_week: int
    wins_week: int
    tries_all: int
    closed_all: int
    wins_all: int

    @property
    def success_week(self) -> float | None:
        """Win share of this week's closed tries (None before any closed)."""
        return self.wins_week / self.closed_week if self.closed_week else None

    @property
    def success_all(self) -> float | None:
        """Win share of all closed tries (None before any closed)."""
        return self.wins_all / self.closed_all if self.closed_all else None

    def text(self) -> str:
        """ "You've tried this EURUSD setup 3 times this week. Success rate: 33%. Proceed?" """
        times = "time" if self.tries_week == 1 else "times"
        rate = (
            f"{self.success_week:.0%}" if self.success_week is not None else "n/a (none closed yet)"
        )
        parts = [
            f"You've tried this {self.key.symbol} setup {self.tries_week} {times} this week.",
            f"Success rate: {rate}.",
        ]
        if self.tries_all > self.tries_week and self.success_all is not None:
            parts.append(f"Overall: {self.tries_all} tries, {self.success_all:.0%}.")
        parts.append("Proceed?")
        return " ".join(parts)


def _record_key(r: TradeRecord, tags: Mapping[str, str]) -> SetupKey | None:
    tag = r.setup_tag or tags.get(r.trade.trade_id)
    return setup_key(r.trade.symbol, r.trade.side, tag)


def setup_memory(
    key: SetupKey,
    records: Iterable[TradeRecord],
    now: datetime,
    tz: tzinfo,
    *,
    day_reset: time = time(0, 0),
    tags: Mapping[str, str] | None = None,
) -> SetupMemory:
    """Count tries of ``key`` opened before ``now``: this trading week and overall."""
    week_start, _ = week_bounds(now, tz, day_reset)
    tags = tags or {}
    tw = cw = ww = ta = ca = wa = 0
    for r in records:
        t = r.trade
        if t.open_time > now or _record_key(r, tags) != key:
            continue
        closed = t.close_time is not None and t.close_time <= now
        win = closed and t.net_pnl > 0
        ta += 1
        ca += closed
        wa += win
        if t.open_time >= week_start:
            tw += 1
            cw += closed
            ww += win
    return SetupMemory(key, tw, cw, ww, ta, ca, wa)


def setup_memory_nudge(
    memory: SetupMemory, trader_id: int, now: datetime, min_tries: int
) -> Nudge | None:
    """The nudge, once this week's tries reach ``min_tries`` (``setup_memory_min_tries``)."""
    if memory.tries_week < min_tries:
        return None
    k = memory.key
    return Nudge(
        at=now,
        kind="setup_memory",
        text=memory.text(),
        dedupe_key=f"setup_memory:{trader_id}:{k.symbol}:{k.tag}:{k.side.value}:{memory.tries_week}",
        trader_id=trader_id,
        data={
            "symbol": k.symbol,
            "tag": k.tag,
            "side": k.side.value,
            "tries_week": memory.tries_week,
            "success_week": memory.success_week,
            "tries_all": memory.tries_all,
            "success_all": memory.success_all,
        },
    )
