"""Builders for journal tests: trades are always made from deals via pulse.trades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pulse.models import Deal, DealEntry, DealType, Side, Trade
from pulse.trades import reconstruct_trades

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "journal"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


class DealMaker:
    """Numbers tickets so tests only state what matters."""

    def __init__(self) -> None:
        self.ticket = 0

    def deal(
        self,
        pos: int,
        at: datetime,
        side: Side,
        entry: DealEntry,
        volume: float,
        price: float,
        profit: float = 0.0,
        commission: float = 0.0,
        swap: float = 0.0,
        symbol: str = "EURUSD",
    ) -> Deal:
        self.ticket += 1
        return Deal(
            ticket=self.ticket,
            order=self.ticket,
            time=at,
            type=DealType.BUY if side is Side.BUY else DealType.SELL,
            entry=entry,
            position_id=pos,
            volume=volume,
            price=price,
            profit=profit,
            commission=commission,
            swap=swap,
            symbol=symbol,
        )

    def round_trip(
        self,
        pos: int,
        opened: datetime,
        minutes: float,
        side: Side,
        profit: float,
        *,
        volume: float = 1.0,
        price: float = 1.1,
        symbol: str = "EURUSD",
    ) -> list[Deal]:
        """An entry and a full exit ``minutes`` later with ``profit``."""
        move = profit / (volume * 100_000) * side.sign
        return [
            self.deal(pos, opened, side, DealEntry.IN, volume, price, symbol=symbol),
            self.deal(
                pos,
                opened + timedelta(minutes=minutes),
                side.opposite,
                DealEntry.OUT,
                volume,
                round(price + move, 6),
                profit=profit,
                symbol=symbol,
            ),
        ]


def trades_of(deals: list[Deal], stops: dict[int, float] | None = None) -> list[Trade]:
    trades = reconstruct_trades(deals)
    stops = stops or {}
    return [
        t.model_copy(update={"stop_loss": stops[t.position_id]}) if t.position_id in stops else t
        for t in trades
    ]
