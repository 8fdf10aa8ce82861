"""Sanity of a trade request before any rule sees it: stop and target on the right side.

A buy's stop-loss goes below the entry and its target above; a sell's the other way. A
request that breaks this is a typo (a swapped stop and target, a missing digit), not a
trade the risk rules should size or score, so every front end (``/risk check``, the HTTP
API) refuses it with the same rule, defined once here. A stop or target of 0 means none,
as in :class:`pulse.models.TradeRequest` (MT5 reports an unset stop as 0.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pulse.models import Side, TradeRequest

__all__ = ["SideProblem", "request_side_problems", "side_problems"]


@dataclass(frozen=True, slots=True)
class SideProblem:
    """A stop (``level="stop"``) or target (``"target"``) on the wrong side of the price."""

    level: Literal["stop", "target"]
    value: float
    side: Side
    price: float

    @property
    def where(self) -> Literal["below", "above"]:
        """Where the level belongs relative to the entry price."""
        below = (self.level == "stop") == (self.side is Side.BUY)
        return "below" if below else "above"

    @property
    def detail(self) -> str:
        """``1.102 is not below the buy price 1.1``."""
        return f"{self.value:g} is not {self.where} the {self.side.value} price {self.price:g}"

    @property
    def hint(self) -> str:
        """``a buy's stop goes below the entry``."""
        return f"a {self.side.value}'s {self.level} goes {self.where} the entry"


def side_problems(side: Side, price: float, stop: float | None,
                  target: float | None) -> list[SideProblem]:
    """The stop and/or target of an order at ``price`` that sit on the wrong side (or on it).

    Empty when both are fine or absent (None or 0).
    """
    out: list[SideProblem] = []
    buy = side is Side.BUY
    if stop and (stop >= price if buy else stop <= price):
        out.append(SideProblem("stop", stop, side, price))
    if target and (target <= price if buy else target >= price):
        out.append(SideProblem("target", target, side, price))
    return out


def request_side_problems(request: TradeRequest) -> list[SideProblem]:
    """:func:`side_problems` of a :class:`TradeRequest`."""
    return side_problems(request.side, request.price, request.sl, request.tp)
