"""Value types of the behaviour engine: flags, deductions and the day's report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from pulse.models import BehaviorState, FlagId

__all__ = ["FLAG_ORDER", "BehaviorReport", "Deduction", "Flag"]

FLAG_ORDER: tuple[FlagId, ...] = get_args(FlagId)
"""Canonical flag order (DESIGN.md section 4): revenge, overconfidence, fatigue,
overtrading, tilt. ``flags_for_entry`` returns flags in this order."""


@dataclass(frozen=True, slots=True)
class Flag:
    """One behaviour flag raised on one entry.

    ``confidence`` is in 0..1 and grows with how far the evidence exceeds the rule's
    threshold (docs/behavior.md gives each formula); ``evidence`` names the concrete facts;
    ``at`` is the entry's open time; ``trade_id`` the entry's trade.
    """

    id: FlagId
    confidence: float
    evidence: str
    at: datetime
    trade_id: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("Flag.at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Deduction:
    """Points taken off the day's behaviour score, and why.

    ``reason`` is a flag id, ``"override"`` or ``"violation"``.
    """

    reason: str
    points: int
    detail: str


@dataclass(frozen=True, slots=True)
class BehaviorReport:
    """The day's behaviour: score (0..100), state, the flags and every deduction in order."""

    score: int
    state: BehaviorState
    flags: tuple[Flag, ...]
    deductions: tuple[Deduction, ...]

    @property
    def total_deducted(self) -> int:
        """Sum of all deductions (may exceed 100; the score is floored at 0)."""
        return sum(d.points for d in self.deductions)

    def describe(self) -> str:
        """One line per deduction under a headline, e.g. for an embed or the terminal."""
        head = f"Behavioural score: {self.score}/100 ({self.state.value})"
        lines = [f"  -{d.points} {d.reason}: {d.detail}" for d in self.deductions]
        return "\n".join([head, *lines])
