"""Synthetic deal streams for kernel tests (and the same shape as bench/bench_kernel.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pulse.models import Deal, DealEntry, DealType, SymbolSpec

PRG = ZoneInfo("Europe/Prague")
SYMBOLS = {n: SymbolSpec(name=n, tick_size=0.00001, tick_value=1.0)
           for n in ("EURUSD", "GBPUSD", "USDJPY")}


def trade_deals(pos: int, symbol: str, opened: datetime, minutes: float, net: float,
                volume: float = 1.0, buy: bool = True) -> list[Deal]:
    """An open and a close deal for position ``pos`` (tickets 2*pos and 2*pos+1)."""
    side_in, side_out = (DealType.BUY, DealType.SELL) if buy else (DealType.SELL, DealType.BUY)
    closed = opened + timedelta(minutes=minutes)
    return [
        Deal(ticket=2 * pos, time=opened, type=side_in, entry=DealEntry.IN, position_id=pos,
             volume=volume, price=1.1, symbol=symbol),
        Deal(ticket=2 * pos + 1, time=closed, type=side_out, entry=DealEntry.OUT,
             position_id=pos, volume=volume, price=1.1, profit=net, symbol=symbol),
    ]


def t0() -> datetime:
    return datetime(2026, 3, 2, 8, 0, tzinfo=PRG)
