"""bot.trade_plans: which plan /risk check suggests, and what a score unlocks."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.render import plan_text
from bot.trade_plans import ready_slices, split_suggestion
from pulse.analysis.confluence import ConfluenceResult, OppositeSide
from pulse.config import PulseConfig, parse_config
from pulse.models import Action, RuleResult, Side, SymbolSpec, TradeRequest, Verdict
from pulse.sizing import plan_breakdown

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)
EURUSD = SymbolSpec(name="EURUSD", tick_size=0.00001, tick_value=1.0)


def verdict(action: Action = Action.ALLOW, rules: tuple[RuleResult, ...] = (),
            volume: float = 0.1, sl: float | None = 1.0980,
            risk: float | None = None) -> Verdict:
    req = TradeRequest(time=AT, symbol="EURUSD", side=Side.BUY, volume=volume, price=1.1,
                       sl=sl)
    return Verdict(at=AT, allowed=not action.blocks, action=action, rules=rules, request=req,
                   risk_percent=risk)


def score(value: float, direction: str = "long", other: float = 10.0) -> ConfluenceResult:
    return ConfluenceResult(
        symbol="EURUSD", time=AT, direction=direction, score=value,
        grade="medium", components={}, reasons=[],
        opposite=OppositeSide(direction="short" if direction == "long" else "long",
                              score=other),
    )


def test_suggestion_splits_the_requests_own_risk() -> None:
    plan = split_suggestion(PulseConfig(), verdict(risk=0.02), EURUSD, 100_000)
    assert plan is not None and len(plan.slices) == 5
    assert plan.target_risk_percent == 0.02 and plan.total_lots == 0.1


def test_oversized_request_is_capped_at_the_maximum_position_size() -> None:
    size = RuleResult(rule="position_size", action=Action.HARD_BLOCK, message="too big")
    plan = split_suggestion(PulseConfig(), verdict(Action.HARD_BLOCK, (size,), 20.0, risk=4.0),
                            EURUSD, 100_000)
    assert plan is not None and plan.target_risk_percent == 2.0


def test_no_suggestion_when_it_cannot_help() -> None:
    cfg = PulseConfig()
    daily = RuleResult(rule="daily_loss", action=Action.HARD_BLOCK, message="limit hit")
    assert split_suggestion(cfg, verdict(Action.HARD_BLOCK, (daily,)), EURUSD, 100_000) is None
    assert split_suggestion(cfg, verdict(sl=None), EURUSD, 100_000) is None
    assert split_suggestion(cfg, verdict(), EURUSD, None) is None
    off = parse_config({"position_breakdown": {"enabled": False}}, env={})
    assert split_suggestion(off, verdict(), EURUSD, 100_000) is None
    # 0.01 lots cannot be split: a single slice is no suggestion
    assert split_suggestion(cfg, verdict(volume=0.01), EURUSD, 100_000) is None


def test_ready_slices_use_the_score_of_the_trade_direction() -> None:
    plan = plan_breakdown(1.0, 1.1, 1.098, EURUSD, 100_000, PulseConfig().position_breakdown)
    assert [s.index for s in ready_slices(plan, score(67), Side.BUY)] == [1, 2]
    assert [s.index for s in ready_slices(plan, score(67), Side.SELL)] == []
    assert [s.index for s in ready_slices(plan, score(90, "short", 61), Side.BUY)] == [1]
    assert ready_slices(plan, None, Side.BUY) == ()
    text = plan_text(plan, ready_slices(plan, score(67), Side.BUY))
    assert "1. 1 lots · 2.00% · confluence ≥ 60 ✅ ready" not in text  # 1% in 5 slices
    assert "confluence ≥ 65 ✅ ready" in text and "confluence ≥ 70 ✅" not in text
