"""Trade reconstruction: MT5 deals in, round-trip trades out (pure, incremental).

A *trade* is one position's round trip (DESIGN.md section 2). MT5 reports executions
(deals), not trades, so the kernel feeds every deal to a :class:`TradeBook`, which groups
buy/sell deals by ``position_id`` and folds them into :class:`~pulse.models.Trade` values:

* ``IN`` opens a trade, or scales into the open one (volume-weighted entry price).
* ``OUT`` and ``OUT_BY`` (close by an opposite position) close part or all of it
  (volume-weighted exit price); the trade is closed when its open volume reaches zero
  within ``1e-9`` of its volume.
* ``INOUT`` (netting reversal) first closes the open volume (the deal's profit,
  commission, swap and fee belong to the closing trade), then opens the remainder on the
  other side as trade ``"<position_id>.1"`` (then ``.2`` ...), opened at the deal's time.

Balance, credit, commission, charge and other non buy/sell deals are cash movements, not
trades: they are kept apart (:meth:`TradeBook.cash_deals`, :attr:`TradeBook.cash_total`).

Ingest is idempotent (a ticket seen twice changes nothing) and order-tolerant: a deal
older than its position's latest deal triggers a rebuild of that position from its
sorted deals, so any arrival order yields the same trades. An in-order deal costs O(1)
plus building one ``Trade``; a late one O(deals of its position).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from pulse.models import Deal, DealEntry, Side, Trade, trusted_builder

__all__ = [
    "CLOSE_TOLERANCE",
    "TradeBook",
    "TradeEvent",
    "TradeEventKind",
    "cash_total",
    "reconstruct_trades",
]

CLOSE_TOLERANCE = 1e-9
"""Open volume at or below this fraction of the trade's volume counts as closed."""

TradeEventKind = Literal["opened", "scaled_in", "partial_close", "closed", "reversed"]


class TradeEvent(NamedTuple):
    """What one deal did to one trade (an immutable named tuple: one per deal, and a
    frozen dataclass costs twice as much to build).

    ``kind`` is ``opened`` (a new entry), ``scaled_in``, ``partial_close``, ``closed``, or
    ``reversed`` (a new entry on the opposite side opened by an ``INOUT`` deal; it counts
    as an entry like ``opened``). An ``INOUT`` deal yields ``closed`` then ``reversed``.
    ``trade`` is the trade after the change (for a late, out-of-order deal: the trade's
    state after the rebuild, so consumers may upsert it by ``trade_id``).
    """

    kind: TradeEventKind
    trade: Trade
    deal: Deal


class _Leg:
    """Mutable accumulator for one trade while its deals are folded in."""

    __slots__ = (
        "close_time",
        "commission",
        "entry_volume",
        "fee",
        "in_notional",
        "in_volume",
        "max_volume",
        "open_time",
        "open_volume",
        "out_notional",
        "out_volume",
        "position_id",
        "profit",
        "side",
        "swap",
        "symbol",
        "tickets",
        "trade_id",
    )

    def __init__(
        self, trade_id: str, position_id: int, symbol: str, side: Side, time: datetime
    ) -> None:
        self.trade_id = trade_id
        self.position_id = position_id
        self.symbol = symbol
        self.side = side
        self.open_time = time
        self.close_time: datetime | None = None
        self.entry_volume = 0.0
        self.open_volume = 0.0
        self.max_volume = 0.0
        self.in_volume = 0.0
        self.in_notional = 0.0
        self.out_volume = 0.0
        self.out_notional = 0.0
        self.profit = 0.0
        self.commission = 0.0
        self.swap = 0.0
        self.fee = 0.0
        self.tickets: tuple[int, ...] = ()  # a tuple of ints: not tracked by the GC

    def add_in(self, volume: float, price: float) -> None:
        if self.in_volume == 0.0:
            self.entry_volume = volume
        self.in_volume += volume
        self.in_notional += volume * price
        self.open_volume += volume
        if self.open_volume > self.max_volume:
            self.max_volume = self.open_volume

    def add_out(self, volume: float, price: float, time: datetime) -> float:
        """Close up to ``volume``; returns the volume left over beyond the open volume."""
        closing = min(volume, self.open_volume)
        self.out_volume += closing
        self.out_notional += closing * price
        self.open_volume -= closing
        if self.open_volume <= CLOSE_TOLERANCE * self.max_volume:
            self.open_volume = 0.0
            self.close_time = time
        return volume - closing

    def add_cash(self, deal: Deal) -> None:
        self.profit += deal.profit
        self.commission += deal.commission
        self.swap += deal.swap
        self.fee += deal.fee

    def to_trade(self) -> Trade:
        return _make_trade(
            trade_id=self.trade_id,
            position_id=self.position_id,
            symbol=self.symbol,
            side=self.side,
            open_time=self.open_time,
            close_time=self.close_time,
            entry_volume=self.entry_volume,
            volume=self.max_volume,
            closed_volume=self.out_volume,
            entry_price=self.in_notional / self.in_volume if self.in_volume else 0.0,
            exit_price=self.out_notional / self.out_volume if self.out_volume else None,
            profit=self.profit,
            commission=self.commission,
            swap=self.swap,
            fee=self.fee,
            deal_tickets=self.tickets,
            stop_loss=None,
        )


_make_trade = trusted_builder(Trade, {
    "trade_id": "1", "position_id": 1, "symbol": "X", "side": Side.BUY,
    "open_time": datetime(2026, 1, 1, tzinfo=UTC), "close_time": None,
    "entry_volume": 1.0, "volume": 1.0, "closed_volume": 0.0, "entry_price": 1.0,
    "exit_price": None, "profit": 0.0, "commission": 0.0, "swap": 0.0, "fee": 0.0,
    "deal_tickets": (1,), "stop_loss": None,
})  # fmt: skip


class _PositionBook:
    """The deals and trades of one ``position_id``."""

    __slots__ = ("current", "deals", "legs", "position_id")

    def __init__(self, position_id: int) -> None:
        self.position_id = position_id
        self.deals: list[Deal] = []  # in sort_key order (keys are derived when a late deal comes)
        self.legs: list[_Leg] = []
        self.current: _Leg | None = None  # the open leg, if any

    def _new_leg(self, deal: Deal, side: Side) -> _Leg:
        n = len(self.legs)
        trade_id = str(self.position_id) if n == 0 else f"{self.position_id}.{n}"
        leg = _Leg(trade_id, self.position_id, deal.symbol, side, deal.time)
        self.legs.append(leg)
        self.current = leg
        return leg

    def apply(self, deal: Deal) -> list[tuple[TradeEventKind, _Leg]]:
        """Fold one deal (the latest of this position) into the legs; say what changed."""
        side = Side.from_deal_type(deal.type)
        leg = self.current
        entry = deal.entry

        if entry is DealEntry.IN and (leg is None or leg.side is side):
            if leg is None:
                leg = self._new_leg(deal, side)
                kind: TradeEventKind = "opened"
            else:
                kind = "scaled_in"
            leg.add_in(deal.volume, deal.price)
            leg.add_cash(deal)
            leg.tickets += (deal.ticket,)
            return [(kind, leg)]

        if entry is DealEntry.INOUT and (leg is None or leg.side is side):
            # Nothing to reverse: the deal simply opens (or adds to) this side.
            return self.apply(deal.model_copy(update={"entry": DealEntry.IN}))

        if leg is None:
            # A close whose opening deal was never seen (e.g. history starts later):
            # keep its P&L as a trade opened and closed by this deal.
            leg = self._new_leg(deal, side.opposite)
            leg.add_in(deal.volume, deal.price)
            leg.add_out(deal.volume, deal.price, deal.time)
            leg.add_cash(deal)
            leg.tickets += (deal.ticket,)
            self.current = None
            return [("closed", leg)]

        # An opposite-side deal: OUT, OUT_BY, INOUT (or an IN the broker sent against the
        # open side, treated as a close like MT5's netting does).
        remainder = leg.add_out(deal.volume, deal.price, deal.time)
        leg.add_cash(deal)
        leg.tickets += (deal.ticket,)
        if leg.close_time is None:
            return [("partial_close", leg)]
        self.current = None
        events: list[tuple[TradeEventKind, _Leg]] = [("closed", leg)]
        if entry in (DealEntry.INOUT, DealEntry.IN) and remainder > CLOSE_TOLERANCE * deal.volume:
            new = self._new_leg(deal, side)
            new.add_in(remainder, deal.price)
            new.tickets += (deal.ticket,)
            events.append(("reversed" if entry is DealEntry.INOUT else "opened", new))
        return events

    def rebuild(self) -> list[list[tuple[TradeEventKind, _Leg]]]:
        """Refold every deal from scratch; returns the events of each deal, in order."""
        self.legs = []
        self.current = None
        return [self.apply(d) for d in self.deals]


class TradeBook:
    """Incremental trade reconstruction for one account (see the module docstring)."""

    def __init__(self, deals: Iterable[Deal] = ()) -> None:
        self._tickets: set[int] = set()
        self._positions: dict[int, _PositionBook] = {}
        self._trades: dict[str, Trade] = {}
        self._cash: list[Deal] = []
        self._cash_total = 0.0
        self._changed: set[str] = set()
        self._removed: set[str] = set()
        for d in sorted(deals, key=lambda d: d.sort_key):
            self.add(d)

    def __contains__(self, ticket: object) -> bool:
        return ticket in self._tickets

    def __len__(self) -> int:
        """Number of distinct deals ingested (trade and cash deals)."""
        return len(self._tickets)

    def add(self, deal: Deal) -> list[TradeEvent]:
        """Ingest one deal; returns what it did to trades (empty for duplicates and cash)."""
        if deal.ticket in self._tickets:
            return []
        self._tickets.add(deal.ticket)
        if not deal.type.is_trade:
            self._cash.append(deal)
            self._cash_total += deal.net
            return []

        pos = self._positions.get(deal.position_id)
        if pos is None:
            pos = self._positions[deal.position_id] = _PositionBook(deal.position_id)
        if not pos.deals or (key := deal.sort_key) >= pos.deals[-1].sort_key:
            pos.deals.append(deal)
            changes = pos.apply(deal)
            out = []
            for kind, leg in changes:
                trade = leg.to_trade()
                self._trades[trade.trade_id] = trade
                self._changed.add(trade.trade_id)
                out.append(TradeEvent(kind, trade, deal))
            return out

        # Late deal: insert it in order and refold this position.
        key = deal.sort_key
        i = bisect.bisect_right([d.sort_key for d in pos.deals], key)
        pos.deals.insert(i, deal)
        old_ids = {leg.trade_id for leg in pos.legs}
        for tid in old_ids:
            self._trades.pop(tid, None)
        per_deal = pos.rebuild()
        for leg in pos.legs:
            self._trades[leg.trade_id] = leg.to_trade()
        new_ids = {leg.trade_id for leg in pos.legs}
        self._changed |= new_ids
        self._changed -= old_ids - new_ids
        self._removed = (self._removed | (old_ids - new_ids)) - new_ids
        return [TradeEvent(kind, self._trades[leg.trade_id], deal) for kind, leg in per_deal[i]]

    def extend(self, deals: Iterable[Deal]) -> list[TradeEvent]:
        """Ingest many deals; returns all their events in ingest order."""
        out: list[TradeEvent] = []
        for d in deals:
            out.extend(self.add(d))
        return out

    def trade(self, trade_id: str) -> Trade | None:
        """The current state of trade ``trade_id`` (None when unknown)."""
        return self._trades.get(trade_id)

    def take_changes(self) -> tuple[list[Trade], list[str]]:
        """Trades new or changed since the last call (sorted), and ids that no longer
        exist; then forget both. A late deal can change or renumber trades beyond the
        ones its events name (e.g. a reversal inserted before later ones), so a store
        that mirrors the book should sync with this rather than with the events."""
        changed = sorted((self._trades[t] for t in self._changed), key=_trade_key)
        removed = sorted(self._removed)
        self._changed = set()
        self._removed = set()
        return changed, removed

    def trades(self) -> list[Trade]:
        """Every trade, sorted by open time then trade id."""
        return sorted(self._trades.values(), key=_trade_key)

    def open_trades(self) -> list[Trade]:
        """Trades with volume still open, in opening order."""
        return [t for t in self.trades() if t.close_time is None]

    def closed_trades(self) -> list[Trade]:
        """Fully closed trades, in opening order."""
        return [t for t in self.trades() if t.close_time is not None]

    def cash_deals(self) -> list[Deal]:
        """Balance, credit, commission, charge ... deals, in time order."""
        return sorted(self._cash, key=lambda d: d.sort_key)

    @property
    def cash_total(self) -> float:
        """Sum of the cash deals' profit + commission + swap + fee (balance movements)."""
        return self._cash_total


def _trade_key(t: Trade) -> tuple[datetime, str]:
    return (t.open_time, t.trade_id)


def reconstruct_trades(deals: Iterable[Deal]) -> list[Trade]:
    """Every trade the deals make, sorted by open time then trade id."""
    return TradeBook(deals).trades()


def cash_total(deals: Iterable[Deal]) -> float:
    """Net amount of the non-trade (balance, credit, commission ...) deals."""
    return sum(d.net for d in deals if not d.type.is_trade)
