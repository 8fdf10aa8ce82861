"""Which position-breakdown plan to suggest, and which slices a score unlocks.

The plan itself (slices, rounding, the minimum-volume fallback) is :func:`pulse.sizing.
plan_breakdown`'s; this module only chooses its inputs for ``/risk check`` and ``/split``
so the cogs hold no trading rule:

- the budget is the request's own risk, capped at ``risk_limits.max_position_size`` (a
  request over the maximum gets a plan at the maximum instead: the way to still take it);
- no plan is suggested without a stop, when breakdown is disabled, when the plan would
  be a single slice, or when a rule other than position size blocks outright (no split
  makes a daily-loss block or a break tradeable).
"""

from __future__ import annotations

from dataclasses import dataclass

from pulse.analysis.confluence import ConfluenceResult
from pulse.config import PulseConfig
from pulse.models import Action, Side, SymbolSpec, Verdict
from pulse.sizing import BreakdownPlan, Slice, plan_breakdown, risk_percent

__all__ = ["PlanRequest", "default_risk_percent", "ready_slices", "split_plan",
           "split_suggestion"]


@dataclass(frozen=True)
class PlanRequest:
    """What a split is planned for."""

    symbol: str
    side: Side
    price: float
    stop: float


def default_risk_percent(config: PulseConfig) -> float:
    """``/split`` without a budget plans the most one position may risk."""
    return config.risk_limits.max_position_size


def split_plan(config: PulseConfig, req: PlanRequest, spec: SymbolSpec, balance: float,
               risk: float | None = None, splits: int | None = None) -> BreakdownPlan:
    """The breakdown of ``risk`` % (default: the maximum position size) for ``req``."""
    return plan_breakdown(
        risk if risk is not None else default_risk_percent(config),
        req.price, req.stop, spec, balance, config.position_breakdown, splits,
    )


def split_suggestion(config: PulseConfig, verdict: Verdict, spec: SymbolSpec,
                     balance: float | None) -> BreakdownPlan | None:
    """The plan ``/risk check`` offers with a verdict, or None (see the module docstring)."""
    req = verdict.request
    cfg = config.position_breakdown
    if req is None or req.sl is None or balance is None or balance <= 0 or not cfg.enabled:
        return None
    if cfg.default_splits < 2:
        return None
    hard = {r.rule for r in verdict.rules if r.action is Action.HARD_BLOCK}
    if hard - {"position_size"}:
        return None
    asked = verdict.risk_percent
    if asked is None:
        asked = risk_percent(req.volume, req.price, req.sl, spec, balance)
    budget = min(asked, config.risk_limits.max_position_size)
    plan = plan_breakdown(budget, req.price, req.sl, spec, balance, cfg)
    return plan if len(plan.slices) >= 2 else None


def ready_slices(plan: BreakdownPlan, score: ConfluenceResult | None,
                 side: Side) -> tuple[Slice, ...]:
    """Slices whose confluence gate the current score of the trade's direction meets."""
    if score is None:
        return ()
    want = "long" if side is Side.BUY else "short"
    value = score.score if score.direction == want else score.opposite.score
    return tuple(s for s in plan.slices if value >= s.min_confluence)


def side_score(score: ConfluenceResult, side: Side) -> float:
    """The confluence score of ``side``'s direction."""
    want = "long" if side is Side.BUY else "short"
    return score.score if score.direction == want else score.opposite.score
