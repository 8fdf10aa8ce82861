"""Behaviour engine (DESIGN.md section 4): revenge, overconfidence, fatigue, overtrading and
tilt flags with confidence and evidence, and the day-scoped score with its deductions.

Usage::

    engine = BehaviorEngine(cfg.behavioral, tz=ZoneInfo("Europe/Prague"))
    flags = engine.flags_for_entry(entry, history, daily_loss_used_pct=40.0)
    report = engine.report(todays_flags, overrides=1, violations=0)
"""

from pulse.models import FlagId

from .engine import Baseline, BehaviorEngine
from .tape import TradeTape, TradeView
from .types import FLAG_ORDER, BehaviorReport, Deduction, Flag

__all__ = [
    "FLAG_ORDER",
    "Baseline",
    "BehaviorEngine",
    "BehaviorReport",
    "Deduction",
    "Flag",
    "FlagId",
    "TradeTape",
    "TradeView",
]
