"""Small builders of real Trade values for the behaviour tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pulse.behavior import BehaviorEngine, Flag
from pulse.config import BehavioralConfig
from pulse.models import Side, Trade

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Prague
PRAGUE = ZoneInfo("Europe/Prague")

_ids = iter(range(1, 10**9))


def at(minutes: float = 0.0, seconds: float = 0.0, base: datetime = T0) -> datetime:
    return base + timedelta(minutes=minutes, seconds=seconds)


def trade(
    opened: datetime,
    *,
    symbol: str = "EURUSD",
    volume: float = 1.0,
    closed: datetime | None = None,
    pnl: float = 0.0,
    commission: float = 0.0,
    trade_id: str | None = None,
) -> Trade:
    """A trade opened at ``opened`` (and closed at ``closed`` with net ``pnl`` + commission)."""
    n = next(_ids)
    return Trade(
        trade_id=trade_id or f"t{n}",
        position_id=n,
        symbol=symbol,
        side=Side.BUY,
        open_time=opened,
        close_time=closed,
        entry_volume=volume,
        volume=volume,
        closed_volume=volume if closed is not None else 0.0,
        entry_price=1.1,
        exit_price=1.1 if closed is not None else None,
        profit=pnl,
        commission=commission,
    )


def warmup(
    n: int = 3, volume: float = 1.0, end: datetime = at(-300), pnl: float = 0.0
) -> list[Trade]:
    """``n`` closed XAUUSD trades of ``volume`` lots well before T0 (break-even by
    default): a baseline without losses, streaks or time proximity."""
    out = []
    for i in range(n):
        o = end - timedelta(minutes=10 * (n - i))
        out.append(
            trade(o, symbol="XAUUSD", volume=volume, closed=o + timedelta(minutes=5), pnl=pnl)
        )
    return out


def engine(tz: tzinfo = UTC, **cfg: Any) -> BehaviorEngine:
    return BehaviorEngine(BehavioralConfig(**cfg), tz=tz)


def ids(flags: list[Flag]) -> list[str]:
    return [f.id for f in flags]
