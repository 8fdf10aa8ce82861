"""pulse/requests.py: the one wrong-side rule that /risk check and POST /pulse/risk share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.http import RiskBody, _request_problems
from cogs.common import ArgumentProblem
from cogs.risk import check_sides
from pulse.models import Side, TradeRequest
from pulse.requests import request_side_problems, side_problems

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_buy_and_sell_sides() -> None:
    assert side_problems(Side.BUY, 1.1, 1.09, 1.12) == []
    assert side_problems(Side.SELL, 1.1, 1.12, 1.09) == []
    (stop,) = side_problems(Side.BUY, 1.1, 1.102, None)
    assert (stop.level, stop.where, stop.detail) == (
        "stop", "below", "1.102 is not below the buy price 1.1")
    assert stop.hint == "a buy's stop goes below the entry"
    stop_at, target_at = side_problems(Side.SELL, 1.1, 1.1, 1.1)  # on the price is wrong too
    assert (stop_at.where, target_at.where) == ("above", "below")


def test_zero_means_none_like_trade_request() -> None:
    assert side_problems(Side.BUY, 1.1, 0.0, 0.0) == []
    req = TradeRequest(time=T, symbol="EURUSD", side=Side.SELL, volume=1, price=1.1,
                       sl=1.09, tp=1.12)
    assert [p.level for p in request_side_problems(req)] == ["stop", "target"]


prices = st.floats(min_value=0.5, max_value=2.0, allow_nan=False)
levels = st.one_of(st.none(), st.floats(min_value=0.4, max_value=2.1, allow_nan=False))


@given(side=st.sampled_from(list(Side)), price=prices, stop=levels, tp=levels)
def test_cog_and_http_refuse_exactly_the_same_requests(
    side: Side, price: float, stop: float | None, tp: float | None
) -> None:
    """Both front ends call the one rule: they refuse the same requests, first the stop."""
    body = RiskBody(trader_id=1, symbol="EURUSD", side=side, volume=1, price=price,
                    sl=stop, tp=tp)
    http = _request_problems(body)
    expected = side_problems(side, price, stop, tp)
    assert len(http) == len(expected)
    if expected:
        with pytest.raises(ArgumentProblem) as exc:
            check_sides(side, price, stop, tp)
        assert exc.value.problem == expected[0].detail
        assert exc.value.argument == ("stop" if expected[0].level == "stop" else "take_profit")
        assert http[0].startswith("sl:" if expected[0].level == "stop" else "tp:")
    else:
        check_sides(side, price, stop, tp)
