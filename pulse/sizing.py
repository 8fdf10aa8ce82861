"""Position sizing: risk % of a request, lots for a target risk, and the breakdown plan.

Risk of a request in account currency is ``volume × |price − stop| / tick_size ×
tick_value`` (``tick_value`` is what one ``tick_size`` move is worth for one lot);
risk % divides that by the balance. Lots are always rounded *down* to the symbol's
volume step, so a plan never risks more than asked. The breakdown (DESIGN.md section 5)
splits a risk budget into N equal micro-entries, each waiting for a higher confluence
score; when equal slices would fall below the symbol's minimum volume the plan uses
fewer slices and says so instead of silently rounding up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pulse.config import PositionBreakdownConfig
from pulse.models import SymbolSpec

__all__ = [
    "BreakdownPlan",
    "Slice",
    "floor_to_step",
    "lots_for_risk",
    "plan_breakdown",
    "risk_amount",
    "risk_percent",
]

_EPS = 1e-9


def _decimals(step: float) -> int:
    """Number of decimals that represent multiples of ``step`` exactly enough."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def floor_to_step(volume: float, step: float) -> float:
    """Round ``volume`` down to a multiple of ``step`` (tolerant of float noise)."""
    if volume <= 0:
        return 0.0
    n = math.floor(volume / step + _EPS)
    return round(n * step, _decimals(step))


def risk_amount(volume: float, price: float, stop: float, spec: SymbolSpec) -> float:
    """Money lost (account currency) if the stop is hit."""
    return volume * abs(price - stop) / spec.tick_size * spec.tick_value


def risk_percent(
    volume: float, price: float, stop: float, spec: SymbolSpec, balance: float
) -> float:
    """Risk of a request as a percent of ``balance``."""
    if balance <= 0:
        return math.inf
    return risk_amount(volume, price, stop, spec) / balance * 100.0


def lots_for_risk(
    target_percent: float, price: float, stop: float, spec: SymbolSpec, balance: float
) -> float:
    """Largest volume (multiple of the step, capped at ``volume_max``) risking at most
    ``target_percent`` of ``balance``; 0.0 when even the step risks more, or no stop distance."""
    per_lot = risk_amount(1.0, price, stop, spec)
    if per_lot <= 0 or balance <= 0 or target_percent <= 0:
        return 0.0
    lots = floor_to_step(target_percent / 100.0 * balance / per_lot, spec.volume_step)
    return min(lots, floor_to_step(spec.volume_max, spec.volume_step))


@dataclass(frozen=True)
class Slice:
    """One micro-entry of a plan: its lots, its risk and the confluence it waits for."""

    index: int
    lots: float
    risk_percent: float
    min_confluence: float


@dataclass(frozen=True)
class BreakdownPlan:
    """A risk budget split into entries; ``note`` explains any departure from the ask."""

    symbol: str
    target_risk_percent: float
    splits_requested: int
    slices: tuple[Slice, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_lots(self) -> float:
        return round(sum(s.lots for s in self.slices), 10)

    @property
    def total_risk_percent(self) -> float:
        return sum(s.risk_percent for s in self.slices)

    @property
    def feasible(self) -> bool:
        return bool(self.slices)


def plan_breakdown(
    target_percent: float,
    price: float,
    stop: float,
    spec: SymbolSpec,
    balance: float,
    cfg: PositionBreakdownConfig,
    splits: int | None = None,
) -> BreakdownPlan:
    """Split ``target_percent`` of risk into ``splits`` (default ``cfg.default_splits``) entries.

    Entry k (1-based) waits for a confluence score of ``min_confluence_per_entry +
    (k − 1) × scale_in_increment``. Slices are equal and rounded down to the volume step;
    if that falls below ``volume_min`` the plan uses the most slices that still reach it.
    """
    n_req = splits if splits is not None else cfg.default_splits
    if n_req < 1:
        raise ValueError(f"splits must be >= 1, got {n_req}")
    notes: list[str] = []
    total = lots_for_risk(target_percent, price, stop, spec, balance)
    per_lot_pct = risk_percent(1.0, price, stop, spec, balance)
    if total < spec.volume_min - _EPS:
        min_pct = per_lot_pct * spec.volume_min
        notes.append(
            f"{target_percent:g}% risk is below one minimum lot: {spec.volume_min:g} lots "
            f"of {spec.name} with this stop would risk {min_pct:.2f}%. Widen the budget "
            "or tighten the stop."
        )
        return BreakdownPlan(spec.name, target_percent, n_req, (), tuple(notes))
    n = n_req
    while n > 1 and floor_to_step(total / n, spec.volume_step) < spec.volume_min - _EPS:
        n -= 1
    each = floor_to_step(total / n, spec.volume_step)
    if n < n_req:
        wanted = total / n_req
        notes.append(
            f"{n_req} slices of {wanted:.4g} lots would be below the {spec.volume_min:g}-lot "
            f"minimum; using {n} slice{'s' if n > 1 else ''} of {each:g} lots instead."
        )
    slices = tuple(
        Slice(
            index=k,
            lots=each,
            risk_percent=each * per_lot_pct,
            min_confluence=cfg.min_confluence_per_entry + (k - 1) * cfg.scale_in_increment,
        )
        for k in range(1, n + 1)
    )
    used = each * n
    if total - used > _EPS:
        notes.append(
            f"rounding down to the {spec.volume_step:g}-lot step leaves {total - used:.4g} "
            f"lots unused ({used * per_lot_pct:.2f}% of {target_percent:g}% planned)."
        )
    return BreakdownPlan(spec.name, target_percent, n_req, slices, tuple(notes))
