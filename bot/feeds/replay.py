"""Replay feed: replay scripts and CSV bars/ticks on one timeline, at 1x, Nx or full speed.

The timeline merges three sources by time: script events (``pulse.replay`` kernel events,
or plain dicts with ``at`` and ``type``), bars (each released at its *close*, when it
became knowable) and ticks. At the same instant ticks come first, then bars, then events,
so a check at 09:00 sees the bar that closed at 09:00. :meth:`ReplayFeed.play` yields the
items and sleeps between them (``speed`` 1 = real time, N = N times faster, ``None`` = no
sleeping); ``sleep`` is injectable so tests and ``pulse demo`` never wait.

The feed side (account, positions, deals, bars, ticks) answers from what has been played
so far: the replay clock is the time of the last item, and nothing later leaks out
(no look-ahead for the analysers).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from bot.feeds.base import (
    DealDeduper,
    Feed,
    FeedError,
    FeedHealth,
    SymbolRefused,
    check_symbol_syntax,
    check_timeframe,
)
from pulse.models import AccountSnapshot, Bar, Deal, DealEntry, Position, Side, SymbolSpec
from pulse.ticks import BAR_COLUMNS, TIMEFRAME_MS, SessionSpec, resample_bars, to_epoch_ms

__all__ = [
    "ReplayFeed",
    "ReplayItem",
    "TickRow",
    "load_bars_csv",
    "load_ticks_csv",
]

Sleep = Callable[[float], Awaitable[Any]]
ItemKind = Literal["tick", "bar", "event"]
_PRIORITY: dict[str, int] = {"tick": 0, "bar": 1, "event": 2}


class TickRow(NamedTuple):
    """One replayed tick (cheap: ticks come by the hundred thousand)."""

    time_msc: int
    bid: float
    ask: float
    last: float
    volume: float


class ReplayItem(NamedTuple):
    """One step of the timeline; ``data`` is a kernel event / dict, a :class:`Bar` or a
    :class:`TickRow`."""

    at_ms: int
    kind: ItemKind
    symbol: str | None
    timeframe: str | None
    data: Any

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.at_ms / 1000, tz=UTC)


# --------------------------------------------------------------------------- CSV


def load_bars_csv(path: str | Path, *, tz: str | None = None) -> pd.DataFrame:
    """Bars from CSV: a ``time`` column (ISO with offset, or naive + ``tz``) and OHLC
    (+ optional tick_volume, spread, real_volume / volume). Errors name the row."""
    df = pd.read_csv(path)
    cols = {c.lower().strip(): c for c in df.columns}
    df = df.rename(columns={v: k for k, v in cols.items()})
    missing = [c for c in ("time", "open", "high", "low", "close") if c not in df.columns]
    if missing:
        raise FeedError(
            f"{path}: missing column(s) {', '.join(missing)} (have {', '.join(cols.values())})",
            op="load_bars_csv",
        )
    index = _times(df.pop("time"), path, tz)
    if "real_volume" not in df and "volume" in df:
        df["real_volume"] = df.pop("volume")
    for col, default in (("tick_volume", 0), ("spread", 0), ("real_volume", 0.0)):
        if col not in df:
            df[col] = default
    df.index = index
    prices = df[["open", "high", "low", "close"]].apply(pd.to_numeric, errors="coerce")
    bad = prices.isna().any(axis=1).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FeedError(
            f"{path}: row {i + 2}: open/high/low/close must be numbers", op="load_bars_csv"
        )
    df[["open", "high", "low", "close"]] = prices
    if not df.index.is_monotonic_increasing:
        i = int(np.flatnonzero(np.diff(df.index.asi8) < 0)[0]) + 1
        raise FeedError(
            f"{path}: row {i + 2}: times must be in increasing order", op="load_bars_csv"
        )
    return df[BAR_COLUMNS].astype(
        {"tick_volume": np.int64, "spread": np.int32, "real_volume": np.float64}
    )


def load_ticks_csv(path: str | Path, *, tz: str | None = None) -> pd.DataFrame:
    """Ticks from CSV: ``time_msc`` (epoch ms UTC) or ``time``; ``price`` or
    ``last``/``bid``/``ask``; optional ``volume``. Returns bid, ask, last, volume columns."""
    df = pd.read_csv(path)
    if "time_msc" in df:
        msc = pd.to_numeric(df.pop("time_msc"), errors="coerce")
        if msc.isna().any():
            i = int(np.flatnonzero(msc.isna().to_numpy())[0])
            raise FeedError(
                f"{path}: row {i + 2}: time_msc must be an integer", op="load_ticks_csv"
            )
        index = pd.DatetimeIndex(pd.to_datetime(msc.astype(np.int64), unit="ms", utc=True))
    elif "time" in df:
        index = _times(df.pop("time"), path, tz)
    else:
        raise FeedError(f"{path}: needs a time_msc or time column", op="load_ticks_csv")
    if "price" in df:
        df["last"] = df.pop("price")
    if not {"last", "bid"} & set(df.columns):
        raise FeedError(f"{path}: needs a price, last or bid column", op="load_ticks_csv")
    out = pd.DataFrame(index=index.rename("time"))
    for col in ("bid", "ask", "last", "volume"):
        out[col] = pd.to_numeric(df[col], errors="coerce").to_numpy() if col in df else 0.0
    bad = out[["bid", "ask", "last"]].isna().any(axis=1).to_numpy()
    if bad.any():
        raise FeedError(
            f"{path}: row {int(np.flatnonzero(bad)[0]) + 2}: prices must be numbers",
            op="load_ticks_csv",
        )
    return out.sort_index(kind="stable")


def _times(col: pd.Series, path: str | Path, tz: str | None) -> pd.DatetimeIndex:
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(col, utc=False, format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise FeedError(f"{path}: column time: {exc}", op="load_csv") from None
    if idx.tz is None:
        if tz is None:
            raise FeedError(
                f"{path}: column time has no UTC offset; write times like "
                "2026-03-02T09:00:00+00:00 or pass the timezone",
                op="load_csv",
            )
        idx = idx.tz_localize(tz)
    return idx.tz_convert("UTC").rename("time")


# --------------------------------------------------------------------------- feed


@dataclass
class _PositionState:
    symbol: str
    side: Side
    volume: float
    price: float
    time: datetime
    ticket: int
    sl: float | None = None  # the stop the script's entry carried (MT5's position.sl)


class ReplayFeed(Feed):
    """A :class:`Feed` that plays a recorded timeline."""

    name = "replay"

    def __init__(
        self,
        events: Iterable[Any] = (),
        *,
        bars: Mapping[tuple[str, str], pd.DataFrame] | None = None,
        ticks: Mapping[str, pd.DataFrame] | None = None,
        symbols: Mapping[str, SymbolSpec] | None = None,
        initial_balance: float = 100_000.0,
        currency: str = "USD",
        speed: float | None = None,
        sleep: Sleep = asyncio.sleep,
        session: SessionSpec | None = None,
        start: datetime | None = None,
    ) -> None:
        self._now_ms = _ms(start) if start is not None else 0
        super().__init__(clock=self._clock)
        if speed is not None and speed <= 0:
            raise ValueError(
                f"speed must be > 0 (1 = real time) or None for full speed, got {speed}"
            )
        self.events = sorted(events, key=lambda e: _ms(_event_at(e)))
        self.bar_frames = dict(bars or {})
        self.tick_frames = dict(ticks or {})
        for sym, tf in self.bar_frames:
            check_symbol_syntax(sym)
            check_timeframe(tf)
            if tf not in TIMEFRAME_MS:
                raise FeedError(f"replay bars support {', '.join(TIMEFRAME_MS)}, got {tf}")
        self.symbols = dict(symbols or {})
        self.speed = speed
        self.sleep = sleep
        self.session = session or SessionSpec()
        self.initial_balance = initial_balance
        self.currency = currency
        self._played_deals: list[Deal] = []
        self._played_tickets: set[int] = set()
        self._positions: dict[int, _PositionState] = {}
        self._balance = initial_balance
        self._equity: float | None = None
        self._deduper: DealDeduper | None = None
        self._cursor: Iterator[ReplayItem] | None = None
        self._pending: ReplayItem | None = None
        self._prev_ms: int | None = None
        self.played = 0
        if start is None:  # before anything plays, the clock is the first item's time
            firsts = [_ms(_event_at(self.events[0]))] if self.events else []
            firsts += [
                int(to_epoch_ms(df.index[:1])[0]) for df in self.bar_frames.values() if len(df)
            ]
            firsts += [
                int(to_epoch_ms(df.index[:1])[0]) for df in self.tick_frames.values() if len(df)
            ]
            self._now_ms = min(firsts) if firsts else 0

    @classmethod
    def from_script(cls, script: Any, **kwargs: Any) -> ReplayFeed:
        """From a ``pulse.replay`` script (parsed, or a mapping to parse)."""
        from pulse.replay import ReplayScript, parse_script

        parsed = script if isinstance(script, ReplayScript) else parse_script(script)
        kwargs.setdefault("symbols", parsed.symbols)
        kwargs.setdefault("initial_balance", parsed.account.initial_balance)
        kwargs.setdefault("currency", parsed.account.currency)
        return cls(parsed.events, **kwargs)

    def _clock(self) -> datetime:
        return datetime.fromtimestamp(self._now_ms / 1000, tz=UTC)

    # -- timeline ------------------------------------------------------------------

    def _event_items(self) -> Iterator[tuple[int, int, int, ReplayItem]]:
        for i, e in enumerate(self.events):
            at = _ms(_event_at(e))
            yield at, 2, i, ReplayItem(at, "event", _event_symbol(e), None, e)

    def _bar_items(
        self, symbol: str, tf: str, df: pd.DataFrame
    ) -> Iterator[tuple[int, int, int, ReplayItem]]:
        starts = to_epoch_ms(df.index)
        closes = _closes(starts, tf)
        rows = df[BAR_COLUMNS].itertuples(index=False, name=None)
        for i, (start, close, row) in enumerate(
            zip(starts.tolist(), closes.tolist(), rows, strict=True)
        ):
            o, h, lo, c, tv, sp, rv = row
            bar = Bar(
                time=datetime.fromtimestamp(start / 1000, tz=UTC),
                open=o,
                high=h,
                low=lo,
                close=c,
                tick_volume=float(tv),
                spread=int(sp),
                real_volume=float(rv),
            )
            yield close, 1, i, ReplayItem(close, "bar", symbol, tf, bar)

    def _tick_items(
        self, symbol: str, df: pd.DataFrame
    ) -> Iterator[tuple[int, int, int, ReplayItem]]:
        msc = to_epoch_ms(df.index)
        cols = [
            df[c].to_numpy(dtype=np.float64) if c in df else np.zeros(len(df))
            for c in ("bid", "ask", "last", "volume")
        ]
        for i, (t, b, a, la, v) in enumerate(
            zip(msc.tolist(), *(c.tolist() for c in cols), strict=True)
        ):
            yield t, 0, i, ReplayItem(t, "tick", symbol, None, TickRow(t, b, a, la, v))

    def timeline(self) -> Iterator[ReplayItem]:
        """Every item in time order (ticks, then bar closes, then events at equal times)."""
        streams = [self._event_items()]
        streams += [self._bar_items(s, tf, df) for (s, tf), df in sorted(self.bar_frames.items())]
        streams += [self._tick_items(s, df) for s, df in sorted(self.tick_frames.items())]
        for _, _, _, item in heapq.merge(*streams, key=lambda x: (x[0], x[1])):
            yield item

    async def play(self, until: datetime | None = None) -> AsyncIterator[ReplayItem]:
        """Yield the timeline, sleeping ``gap / speed`` between items; the feed's state
        (clock, deals, account, bars) follows what has been played. Resumable: a later call
        continues after the last item played (``until`` stops before later items)."""
        limit = _ms(until) if until is not None else None
        if self._cursor is None:
            self._cursor = self.timeline()
        while True:
            item = self._pending
            self._pending = None
            if item is None:
                item = next(self._cursor, None)
                if item is None:
                    return
            if limit is not None and item.at_ms > limit:
                self._pending = item
                self._now_ms = max(self._now_ms, limit)
                return
            if self.speed is not None and self._prev_ms is not None and item.at_ms > self._prev_ms:
                await self.sleep((item.at_ms - self._prev_ms) / 1000 / self.speed)
            self._prev_ms = item.at_ms
            self._now_ms = max(self._now_ms, item.at_ms)
            if item.kind == "event":
                self._apply(item.data)
            self.played += 1
            yield item

    def _apply(self, event: Any) -> None:
        deal = _event_deal(event)
        if deal is not None:
            if deal.ticket in self._played_tickets:
                return  # a duplicate in the script counts once, as with the live feed
            self._played_tickets.add(deal.ticket)
            self._played_deals.append(deal)
            if deal.is_trade:
                self._apply_position(deal, _event_sl(event))
            self._balance += deal.net
            self._equity = None
            return
        kind = event.get("type") if isinstance(event, Mapping) else type(event).__name__
        if kind in ("equity", "EquityEvent"):
            values: Mapping[str, Any] = event if isinstance(event, Mapping) else vars_of(event)
            self._balance = float(values["balance"])
            self._equity = float(values["equity"])

    def _apply_position(self, d: Deal, sl: float | None = None) -> None:
        side = Side.from_deal_type(d.type)
        pos = self._positions.get(d.position_id)
        if d.entry is DealEntry.IN and pos is None:
            self._positions[d.position_id] = _PositionState(
                d.symbol, side, d.volume, d.price, d.time, d.position_id, sl or None
            )
            return
        if pos is not None and sl:
            pos.sl = sl  # a later deal's stop (a scale-in moved it)
        elif pos is not None and side is pos.side:  # scale-in
            total = pos.volume + d.volume
            pos.price = (pos.price * pos.volume + d.price * d.volume) / total
            pos.volume = total
        elif pos is not None:  # (partial) close
            pos.volume = round(pos.volume - d.volume, 8)
            if pos.volume <= 0:
                del self._positions[d.position_id]

    # -- Feed API ------------------------------------------------------------------------

    async def connect(self) -> None:
        self.health, self.health_since = FeedHealth.UP, self.clock()

    async def close(self) -> None:
        self.health, self.health_since = FeedHealth.CLOSED, self.clock()

    async def account(self) -> AccountSnapshot:
        equity = self._equity if self._equity is not None else self._balance
        return AccountSnapshot(
            time=self.clock(),
            balance=self._balance,
            equity=equity,
            currency=self.currency,
            server="replay",
        )

    async def positions(self, symbol: str | None = None) -> list[Position]:
        return [
            Position(
                ticket=p.ticket,
                time=p.time,
                type=p.side,
                identifier=pid,
                volume=p.volume,
                price_open=p.price,
                symbol=p.symbol,
                sl=p.sl,
            )
            for pid, p in sorted(self._positions.items())
            if symbol is None or p.symbol == symbol
        ]

    async def history_deals(self, start: datetime, end: datetime) -> list[Deal]:
        out = {d.ticket: d for d in self._played_deals if start <= d.time <= end}
        return sorted(out.values(), key=lambda d: d.sort_key)

    async def poll_deals(self) -> list[Deal]:
        if self._deduper is None:
            start = self._played_deals[0].time if self._played_deals else self.clock()
            self._deduper = DealDeduper(timedelta(days=3650), start)
        return self._deduper.accept(self._played_deals, self.clock())

    async def symbol_spec(self, symbol: str) -> SymbolSpec:
        check_symbol_syntax(symbol)
        try:
            return self.symbols[symbol]
        except KeyError:
            raise SymbolRefused(
                f"symbol {symbol!r} has no spec in this replay "
                f"(known: {', '.join(self.symbols) or 'none'})"
            ) from None

    async def bars(self, symbol: str, timeframe: str, count: int) -> pd.DataFrame:
        """Closed bars only (no look-ahead); a missing timeframe is built from finer bars."""
        check_symbol_syntax(symbol)
        check_timeframe(timeframe)
        df = self.bar_frames.get((symbol, timeframe))
        if df is None:
            df = self._derived(symbol, timeframe)
        if df.empty:
            return df
        closed = df[_closes(to_epoch_ms(df.index), timeframe) <= self._now_ms]
        return closed.iloc[-count:] if count > 0 else closed.iloc[:0]

    def _derived(self, symbol: str, timeframe: str) -> pd.DataFrame:
        finer = sorted(
            (TIMEFRAME_MS[tf], tf)
            for (s, tf) in self.bar_frames
            if s == symbol
            and tf in TIMEFRAME_MS
            and TIMEFRAME_MS[tf] < TIMEFRAME_MS[timeframe]
            and TIMEFRAME_MS[timeframe] % TIMEFRAME_MS[tf] == 0
        )
        if not finer:
            raise SymbolRefused(f"no {timeframe} (or finer) bars for {symbol!r} in this replay")
        derived = resample_bars(self.bar_frames[(symbol, finer[0][1])], timeframe, self.session)
        self.bar_frames[(symbol, timeframe)] = derived
        return derived

    async def ticks(self, symbol: str, start: datetime, end: datetime) -> pd.DataFrame:
        check_symbol_syntax(symbol)
        df = self.tick_frames.get(symbol)
        if df is None:
            raise SymbolRefused(f"no ticks for {symbol!r} in this replay")
        hi = min(_ms(end), self._now_ms)
        msc = to_epoch_ms(df.index)
        out = df[(msc >= _ms(start)) & (msc <= hi)].copy()
        out["time_msc"] = to_epoch_ms(out.index)
        return out


# --------------------------------------------------------------------------- event access


def _closes(starts: np.ndarray, tf: str) -> np.ndarray:
    """When each bar became knowable: its open + the timeframe, or the next bar's open when
    that comes sooner (a bar cut short by a session end)."""
    if not len(starts):
        return starts
    nxt = np.append(starts[1:], starts[-1] + TIMEFRAME_MS[tf])
    return np.minimum(nxt, starts + TIMEFRAME_MS[tf])


def _ms(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError("replay times must be timezone-aware")
    return int(t.timestamp() * 1000)


def vars_of(e: Any) -> dict[str, Any]:
    """Field values of a (slotted) dataclass event."""
    return {k: getattr(e, k) for k in ("balance", "equity") if hasattr(e, k)}


def _event_at(e: Any) -> datetime:
    at = e.get("at") if isinstance(e, Mapping) else getattr(e, "at", None)
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if not isinstance(at, datetime):
        raise FeedError(f"replay event without a valid 'at': {e!r}", op="replay")
    return at


def _event_symbol(e: Any) -> str | None:
    if isinstance(e, Mapping):
        sym = e.get("symbol")
        return str(sym) if sym else None
    for path in ("deal", "request"):
        inner = getattr(e, path, None)
        if inner is not None and getattr(inner, "symbol", None):
            return str(inner.symbol)
    return None


def _event_sl(e: Any) -> float | None:
    """The stop a scripted deal was placed with (a DealEvent's ``sl`` or a dict's)."""
    sl = e.get("sl") if isinstance(e, Mapping) else getattr(e, "sl", None)
    return float(sl) if isinstance(sl, (int, float)) and sl > 0 else None


def _event_deal(e: Any) -> Deal | None:
    """The Deal carried by a kernel DealEvent, or built from a plain ``type: deal`` dict."""
    inner = getattr(e, "deal", None)
    if isinstance(inner, Deal):
        return inner
    if isinstance(e, Mapping) and e.get("type") == "deal":
        from pulse.replay import DealIn

        return DealIn.model_validate(dict(e)).to_deal()
    return None
