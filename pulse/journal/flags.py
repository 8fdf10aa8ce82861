"""Behaviour flags per trade, for the statistics' "filter by flag" and the insights.

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
from pulse.config import BehavioralConfig
from pulse.models import Trade

__all__ = ["trade_flags"]


def trade_flags(trades: Sequence[Trade], cfg: BehavioralConfig, tz: tzinfo) -> dict[str, set[str]]:
    """``trade_id -> {flag ids}`` for every trade that raised at least one flag."""
    engine = BehaviorEngine(cfg, tz)
    tape = TradeTape(trades)
    out: dict[str, set[str]] = {}
    for t in sorted(trades, key=lambda t: (t.open_time, t.trade_id)):
        flags = engine.flags_for_entry(t, tape, 0.0)
        if flags:
            out[t.trade_id] = {f.id for f in flags}
    return out
