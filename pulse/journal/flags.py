"""Behaviour flags per trade, for the statistics' "filter by flag", insights and summaries.

Replays :class:`pulse.behavior.engine.BehaviorEngine` over a trader's history: each
entry is judged with the trades known before it (the engine's own rule). The daily loss
used is not known from trades alone, so it is passed as 0: the tilt signal "≥ 50% of
the daily loss limit used" cannot fire here (the live kernel, which knows equity, does
fire it; its flags are the ones stored and shown in real time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from pulse.behavior.engine import BehaviorEngine
from pulse.behavior.tape import TradeTape
from pulse.behavior.types import Flag
from pulse.config import BehavioralConfig
from pulse.models import Trade

__all__ = ["entry_flags", "trade_flags"]


def entry_flags(
    trades: Sequence[Trade], cfg: BehavioralConfig, tz: tzinfo
) -> dict[str, list[Flag]]:
    """``trade_id -> flags`` for every trade whose entry raised at least one flag."""
    engine = BehaviorEngine(cfg, tz)
    tape = TradeTape(trades)
    out: dict[str, list[Flag]] = {}
    for t in sorted(trades, key=lambda t: (t.open_time, t.trade_id)):
        flags = engine.flags_for_entry(t, tape, 0.0)
        if flags:
            out[t.trade_id] = flags
    return out


def trade_flags(trades: Sequence[Trade], cfg: BehavioralConfig, tz: tzinfo) -> dict[str, set[str]]:
    """``trade_id -> {flag ids}`` (the shape :func:`pulse.journal.stats.build_records` takes)."""
    return {k: {f.id for f in v} for k, v in entry_flags(trades, cfg, tz).items()}
