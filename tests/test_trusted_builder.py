"""trusted_builder: the fast path gives exactly what validation gives, or is not used."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from pulse.models import Action, RuleResult, TradeRequest, Verdict, trusted_builder
from pulse.risk.enforcer import _make_verdict
from pulse.trades import TradeBook, _make_trade
from tests.kernel._streams import t0, trade_deals

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_trades_built_fast_equal_validated_ones() -> None:
    assert _make_trade.__name__ == "fast"  # the guard accepted this pydantic
    book = TradeBook(trade_deals(7, "EURUSD", t0(), 30, -120.0))
    (trade,) = book.trades()
    again = type(trade).model_validate(trade.model_dump())
    assert trade == again and trade.model_dump() == again.model_dump()
    moved = trade.model_copy(update={"stop_loss": 1.09})
    assert moved.stop_loss == 1.09 and trade.stop_loss is None  # copies don't share state


def test_verdicts_built_fast_equal_validated_ones() -> None:
    req = TradeRequest(time=T, symbol="EURUSD", side="buy", volume=1.0, price=1.1, sl=1.09)
    rules = (RuleResult(rule="max_trades", action=Action.WARN, message="last one"),)
    values = {"at": T, "allowed": True, "action": Action.WARN, "rules": rules,
              "request": req, "risk_percent": 0.4}
    fast = _make_verdict(**values)
    assert _make_verdict.__name__ == "fast"
    assert fast == Verdict(**values) and fast.model_dump(mode="json") == \
        Verdict(**values).model_dump(mode="json")


class _Mutable(BaseModel):
    x: int


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
    x: int
    y: str = "a"


def test_a_model_that_is_not_frozen_is_validated() -> None:
    build = trusted_builder(_Mutable, {"x": 1})
    assert build.__name__ == "validated" and build(x="2").x == 2


def test_a_sample_missing_a_field_falls_back_to_validation() -> None:
    build = trusted_builder(_Frozen, {"x": 1})  # y missing: the fast path can't be checked
    assert build.__name__ == "validated" and build(x=3) == _Frozen(x=3)
    assert trusted_builder(_Frozen, {"x": 1, "y": "b"}).__name__ == "fast"
