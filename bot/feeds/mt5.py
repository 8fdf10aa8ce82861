"""MT5 feed over the ``MetaTrader5`` package or an mt5linux client (same API, injected).

Rules this module keeps (DESIGN.md sections 8 and 11):
- every terminal call runs in one worker thread, one at a time (``asyncio.Lock`` + a
  single-thread executor); a call and its ``last_error()`` run together in that thread,
  so the error read belongs to the call;
- ``None``/``False`` returns are failures: ``last_error()`` codes become clear messages;
  transport codes (-10000..-10005) mark the feed down and back off exponentially
  (``backoff_initial_seconds`` doubling to ``backoff_max_seconds``), with one
  ``feed_down`` and one ``feed_restored`` nudge per outage;
- symbols are checked against a strict regex and then the terminal's own list before any
  call that carries them (mt5linux evaluates strings in a remote Python);
- dates go to the terminal as integer epoch seconds in *server* time (safe through the
  bridge's string evaluation, unambiguous for the package), and record times come back
  from server time to UTC with the configured offset, or one detected from the latest
  tick against the injected clock, rounded to 30 minutes;
- read-only: the feed can only reach the functions in ``READ_ONLY_CALLS``; never
  ``order_send``.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from bot.feeds.base import (
    SYMBOL_RE,
    Clock,
    DealDeduper,
    Feed,
    FeedError,
    FeedHealth,
    FeedStatus,
    FeedUnavailable,
    SymbolRefused,
    check_symbol_syntax,
    check_timeframe,
    utc_now,
)
from pulse.config import BridgeConfig, FeedsConfig, MT5Config, Secrets
from pulse.models import AccountSnapshot, Deal, DealEntry, DealType, Position, Side, SymbolSpec
from pulse.ticks import BAR_COLUMNS

__all__ = [
    "ERROR_MESSAGES",
    "READ_ONLY_CALLS",
    "TIMEFRAME_CODES",
    "TRANSPORT_CODES",
    "LazyBridge",
    "MT5Feed",
    "describe_error",
    "load_module",
]

log = logging.getLogger(__name__)

#: ``last_error()`` codes of the MetaTrader5 package, as a trader should read them.
ERROR_MESSAGES: dict[int, str] = {
    1: "success",
    -1: "the terminal reported a generic failure",
    -2: "invalid parameters in the request to the terminal",
    -3: "the terminal ran out of memory",
    -4: "not found in the terminal (symbol, order or history)",
    -5: "unsupported terminal version: update MetaTrader 5",
    -6: "authorization failed: check feeds.mt5.login, feeds.mt5.server and MT5_PASSWORD",
    -7: "the terminal does not support this call",
    -8: "algo trading is disabled in the terminal",
    -10000: "internal terminal failure",
    -10001: "IPC send to the terminal failed",
    -10002: "IPC receive from the terminal failed",
    -10003: "IPC initialization failed: is the terminal installed, running and logged in?",
    -10004: "no IPC connection to the terminal: it is closed or was never started",
    -10005: "IPC timeout: the terminal is busy, frozen or its connection dropped",
}
#: Codes that mean "the terminal is unreachable": back off and retry.
TRANSPORT_CODES = frozenset({-10000, -10001, -10002, -10003, -10004, -10005})

#: MT5's ``TIMEFRAME_*`` values (used when the module object does not expose them).
TIMEFRAME_CODES: dict[str, int] = {
    **{f"M{m}": m for m in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)},
    **{f"H{h}": 0x4000 | h for h in (1, 2, 3, 4, 6, 8, 12)},
    "D1": 0x4018,
    "W1": 0x8001,
    "MN1": 0xC001,
}
COPY_TICKS_ALL = -1

#: The only module functions this feed may call.
READ_ONLY_CALLS = frozenset(
    {
        "initialize",
        "login",
        "shutdown",
        "version",
        "account_info",
        "symbols_get",
        "symbol_info",
        "symbol_info_tick",
        "positions_get",
        "history_deals_get",
        "copy_rates_from_pos",
        "copy_ticks_range",
    }
)

_HALF_HOUR = 1800.0
_OFFSET_TOLERANCE_S = 90.0
_OFFSET_REFRESH = timedelta(hours=1)
_SYMBOLS_REFRESH = timedelta(minutes=5)


def describe_error(code: int | None, text: str = "") -> str:
    """A readable message for an MT5 ``last_error()`` pair."""
    if code is None:
        return text or "unknown terminal error"
    meaning = ERROR_MESSAGES.get(code, "unknown terminal error")
    return f"{meaning} (MT5 error {code}{': ' + text if text else ''})"


def load_module(feeds: FeedsConfig) -> Any:
    """Import the real API lazily: the mt5linux client when the bridge is on, else MetaTrader5."""
    if feeds.bridge.enabled:
        return _load_bridge(feeds.bridge)
    try:
        import MetaTrader5  # Windows-only wheel

        return MetaTrader5
    except ImportError:
        raise FeedError(
            "the MetaTrader5 package is not installed (it exists for Windows only): "
            "pip install 'zanalytics-pulse[mt5]' on Windows, or set feeds.bridge.enabled: true "
            "to use an mt5linux bridge",
            op="import",
        ) from None


def _load_bridge(bridge: BridgeConfig) -> Any:
    try:
        from mt5linux import MetaTrader5 as Bridge
    except ImportError:
        raise FeedError(
            "feeds.bridge is enabled but mt5linux is not installed: "
            "pip install 'zanalytics-pulse[bridge]'",
            op="import",
        ) from None
    return LazyBridge(lambda: Bridge(host=bridge.host, port=bridge.port),
                      f"{bridge.host}:{bridge.port}")


class LazyBridge:
    """An mt5linux client built on first use, not when the feed is built.

    ``mt5linux.MetaTrader5(host, port)`` opens its rpyc connection in the constructor,
    which blocks (and raises when nothing listens). Built here on the first call, that
    happens inside :meth:`MT5Feed.connect`'s worker thread, so ``pulse run`` and the
    event loop never wait on it. A bridge that cannot be reached answers like the
    package does when the terminal is gone: the call returns None and ``last_error()``
    is -10004 (no IPC connection), so the feed backs off, says ``feed_down`` and retries
    (the next call tries to connect again).
    """

    def __init__(self, factory: Any, where: str) -> None:
        self._factory = factory
        self._where = where
        self._client: Any = None
        self._error: tuple[int, str] | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._client is None:
            if name == "last_error" and self._error is not None:
                error = self._error
                return lambda: error
            try:
                self._client = self._factory()
                self._error = None
            except (OSError, EOFError) as exc:
                self._lost(exc)
                return lambda *a, **k: None
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attr(*args, **kwargs)
            except (OSError, EOFError) as exc:  # the bridge went away: reconnect next call
                self._lost(exc)
                return None

        return call

    def _lost(self, exc: BaseException) -> None:
        self._client = None
        self._error = (-10004, f"mt5linux bridge at {self._where} not reachable: "
                       f"{getattr(exc, 'strerror', None) or exc}")


class MT5Feed(Feed):
    """The live feed. ``module`` is ``MetaTrader5``, an mt5linux client, or a fake."""

    name = "MT5"

    def __init__(
        self,
        module: Any,
        *,
        feeds: FeedsConfig | None = None,
        password: str | None = None,
        clock: Clock = utc_now,
        name: str = "MT5",
    ) -> None:
        super().__init__(clock=clock)
        self.module = module
        self.feeds = feeds or FeedsConfig()
        self.cfg: MT5Config = self.feeds.mt5
        self.name = name
        self._password = password
        self._lock = asyncio.Lock()
        self._init_lock = asyncio.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._delay = self.feeds.backoff_initial_seconds
        self._symbols: set[str] = set()
        self._symbols_at: datetime | None = None
        self._offset_s: float = 0.0
        self._offset_source = "not yet known"
        self._offset_checked: datetime | None = None
        self._deduper: DealDeduper | None = None

    @classmethod
    def from_config(
        cls,
        feeds: FeedsConfig,
        secrets: Secrets | None = None,
        *,
        module: Any = None,
        clock: Clock = utc_now,
    ) -> MT5Feed:
        """Build from the typed config; the password comes from the environment only."""
        secrets = secrets or Secrets.from_env()
        name = "MT5 bridge" if feeds.bridge.enabled else "MT5"
        return cls(
            module if module is not None else load_module(feeds),
            feeds=feeds,
            password=secrets.mt5_password,
            clock=clock,
            name=name,
        )

    # -- thread + lock plumbing ------------------------------------------------------------

    async def _raw(self, fn: str, *args: Any, **kwargs: Any) -> tuple[Any, tuple[int, str] | None]:
        """Run ``module.fn(*args)`` in the worker thread; fetch last_error() with it on failure."""
        if fn not in READ_ONLY_CALLS:
            raise FeedError(f"{fn} is not a read-only call; Pulse never trades", op=fn)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pulse-mt5")

        def job() -> tuple[Any, tuple[int, str] | None]:
            result = getattr(self.module, fn)(*args, **kwargs)
            if result is None or result is False:
                err = self.module.last_error()
                return result, (int(err[0]), str(err[1])) if err else None
            return result, None

        async with self._lock:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, job)

    async def _call(self, fn: str, *args: Any, empty_ok: bool = False, **kwargs: Any) -> Any:
        """One guarded call: honours backoff, reconnects when due, maps errors, tracks health."""
        if self.health is FeedHealth.CLOSED:
            raise FeedUnavailable(f"{self.name} feed is closed", op=fn)
        if self.health is FeedHealth.DOWN:
            now = self.clock()
            if self.retry_at is not None and now < self.retry_at:
                raise FeedUnavailable(
                    f"{self.name} is down ({self.last_error}); next retry at "
                    f"{self.retry_at.isoformat(timespec='seconds')}",
                    op=fn,
                )
            await self._reconnect(fn)
        elif self.health is FeedHealth.NEW:  # used before connect(): connect lazily
            await self._reconnect(fn)
        result, err = await self._raw(fn, *args, **kwargs)
        if result is None or result is False:
            code, text = err if err else (None, "")
            if code in TRANSPORT_CODES:
                await self._transport_failure(code, text, fn)
            if empty_ok and code in (1, None):
                await self._mark_up()
                return None
            raise FeedError(f"{self.name} {fn}: {describe_error(code, text)}", code=code, op=fn)
        await self._mark_up()
        return result

    async def _reconnect(self, op: str) -> None:
        """One reconnect for all callers waiting on it (concurrent calls don't each retry)."""
        async with self._init_lock:
            if self.health is not FeedHealth.UP:
                await self._initialize(op)

    async def _transport_failure(self, code: int | None, text: str, op: str) -> None:
        message = describe_error(code, text)
        retry_in = timedelta(seconds=self._delay)
        self._delay = min(self._delay * 2, self.feeds.backoff_max_seconds)
        log.warning(
            "%s %s failed: %s; retry in %.0f s", self.name, op, message, retry_in.total_seconds()
        )
        await self._mark_down(message, retry_in)
        raise FeedUnavailable(f"{self.name} {op}: {message}", code=code, op=op)

    async def _mark_up(self) -> None:
        self._delay = self.feeds.backoff_initial_seconds
        await super()._mark_up()

    # -- lifecycle -------------------------------------------------------------------------

    async def _initialize(self, op: str = "initialize") -> None:
        """initialize (+ login) and load the terminal's symbol list; errors mapped."""
        kwargs: dict[str, Any] = {"timeout": self.cfg.timeout_ms}
        if self.cfg.login is not None:
            if not self._password:
                raise FeedError(
                    "feeds.mt5.login is set but MT5_PASSWORD is not: export MT5_PASSWORD "
                    "(the password is never read from config.yaml)",
                    op="initialize",
                )
            kwargs.update(login=self.cfg.login, password=self._password)
            if self.cfg.server:
                kwargs["server"] = self.cfg.server
        if self.cfg.path:
            ok, err = await self._raw("initialize", self.cfg.path, **kwargs)
        else:
            ok, err = await self._raw("initialize", **kwargs)
        if not ok:
            code, text = err if err else (None, "")
            if code in TRANSPORT_CODES or code == -1:
                await self._transport_failure(code, text, op)
            raise FeedError(
                f"{self.name} initialize: {describe_error(code, text)}", code=code, op="initialize"
            )
        symbols, err = await self._raw("symbols_get")
        if symbols is None:
            code, text = err if err else (None, "")
            if code in TRANSPORT_CODES:
                await self._transport_failure(code, text, "symbols_get")
            raise FeedError(f"{self.name} symbols_get: {describe_error(code, text)}", code=code)
        self._symbols = {str(s.name) for s in symbols}
        self._symbols_at = self.clock()
        await self._mark_up()
        await self._detect_offset(force=True)

    async def connect(self) -> None:
        """Initialize, log in, load symbols, settle the server-time offset."""
        if self.health is FeedHealth.CLOSED:
            self.health = FeedHealth.NEW
        await self._initialize("initialize")
        if self._deduper is None:
            self._deduper = DealDeduper(self._overlap, self.clock())

    async def close(self) -> None:
        if self.health is not FeedHealth.CLOSED:
            if self._executor is not None:
                try:
                    await self._raw("shutdown")
                except Exception:  # shutting down anyway
                    log.debug("%s shutdown raised", self.name, exc_info=True)
            self.health, self.health_since = FeedHealth.CLOSED, self.clock()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def status(self) -> FeedStatus:
        base = super().status()
        return FeedStatus(
            base.name,
            base.health,
            base.since,
            base.last_error,
            base.failures,
            base.retry_at,
            self._offset_s / 3600,
            self._offset_source,
        )

    @property
    def _overlap(self) -> timedelta:
        return timedelta(minutes=self.feeds.history_overlap_minutes)

    def retry_delay(self) -> float:
        """Seconds until the next reconnect attempt is allowed (0 when up)."""
        if self.health is not FeedHealth.DOWN or self.retry_at is None:
            return 0.0
        return max(0.0, (self.retry_at - self.clock()).total_seconds())

    # -- server time ------------------------------------------------------------------------

    @property
    def server_utc_offset_hours(self) -> float:
        return self._offset_s / 3600

    def to_utc(self, server_epoch_s: float) -> datetime:
        """A server-time epoch (MT5 record time) as a UTC-aware datetime."""
        return datetime.fromtimestamp(server_epoch_s - self._offset_s, tz=UTC)

    def to_server(self, t: datetime) -> int:
        """A UTC-aware datetime as MT5 server-time epoch seconds (for date arguments)."""
        if t.tzinfo is None:
            raise ValueError("datetimes passed to the feed must be timezone-aware")
        return int(t.timestamp() + self._offset_s)

    async def _detect_offset(self, force: bool = False) -> None:
        """Configured offset, else (latest tick time - clock) rounded to 30 min.

        Only a tick within 90 s of a half-hour grid point counts (a stale tick, e.g. on a
        weekend, would give a wrong offset); the freshest watchlist tick is used. Re-run
        hourly so DST switches of the server are followed.
        """
        now = self.clock()
        if self.cfg.server_utc_offset_hours is not None:
            self._offset_s = self.cfg.server_utc_offset_hours * 3600
            self._offset_source = "configured"
            self._offset_checked = now
            return
        if not force and self._offset_checked and now - self._offset_checked < _OFFSET_REFRESH:
            return
        self._offset_checked = now
        candidates = [s for s in self.feeds.watchlist.symbols if s in self._symbols]
        safe = sorted(s for s in self._symbols if SYMBOL_RE.fullmatch(s))
        candidates = candidates or safe[:3]
        best: tuple[float, str] | None = None
        for sym in candidates:
            tick, _ = await self._raw("symbol_info_tick", sym)
            if tick is None:
                continue
            t_server = (
                float(tick.time_msc) / 1000 if getattr(tick, "time_msc", 0) else float(tick.time)
            )
            if best is None or t_server > best[0]:
                best = (t_server, sym)
        if best is None:
            self._offset_source = self._offset_source_fallback("no tick available")
            return
        diff = best[0] - now.timestamp()
        rounded = round(diff / _HALF_HOUR) * _HALF_HOUR
        if abs(diff - rounded) <= _OFFSET_TOLERANCE_S and abs(rounded) <= 14 * 3600:
            if rounded != self._offset_s:
                log.info(
                    "%s server time is UTC%+.1f h (from %s tick)",
                    self.name,
                    rounded / 3600,
                    best[1],
                )
            self._offset_s = rounded
            self._offset_source = f"detected from the latest {best[1]} tick"
        else:
            self._offset_source = self._offset_source_fallback(
                f"latest {best[1]} tick is stale ({diff / 60:+.0f} min off the clock)"
            )

    def _offset_source_fallback(self, why: str) -> str:
        if self._offset_source.startswith("detected"):
            return self._offset_source + f" (kept; {why})"
        log.warning(
            "%s server offset unknown (%s); assuming UTC%+.1f h. Set "
            "feeds.mt5.server_utc_offset_hours to be sure.",
            self.name,
            why,
            self._offset_s / 3600,
        )
        return f"assumed UTC{self._offset_s / 3600:+.1f} h ({why})"

    # -- symbols ------------------------------------------------------------------------------

    async def check_symbol(self, symbol: str) -> str:
        """Refuse anything but a plain name the terminal lists; nothing carries it before."""
        check_symbol_syntax(symbol)
        if symbol not in self._symbols:
            now = self.clock()
            stale = self._symbols_at is None or now - self._symbols_at >= _SYMBOLS_REFRESH
            if not self._symbols or stale:  # a symbol added in the terminal since we looked
                symbols = await self._call("symbols_get")
                self._symbols = {str(s.name) for s in symbols}
                self._symbols_at = now
            if symbol not in self._symbols:
                close = difflib.get_close_matches(symbol, sorted(self._symbols), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise SymbolRefused(
                    f"symbol {symbol!r} is not in the terminal's symbol list{hint}", op="symbol"
                )
        return symbol

    # -- data -----------------------------------------------------------------------------------

    async def account(self) -> AccountSnapshot:
        info = await self._call("account_info")
        return AccountSnapshot(
            time=self.clock(),
            login=int(info.login),
            balance=float(info.balance),
            equity=float(info.equity),
            credit=float(info.credit),
            profit=float(info.profit),
            margin=float(info.margin),
            margin_free=float(info.margin_free),
            currency=str(info.currency),
            server=str(info.server),
        )

    async def positions(self, symbol: str | None = None) -> list[Position]:
        if symbol is not None:
            await self.check_symbol(symbol)
            rows = await self._call("positions_get", symbol=symbol, empty_ok=True)
        else:
            rows = await self._call("positions_get", empty_ok=True)
        return [self._position(p) for p in rows or ()]

    def _position(self, p: Any) -> Position:
        t = float(p.time_msc) / 1000 if p.time_msc else float(p.time)
        return Position(
            ticket=int(p.ticket),
            time=self.to_utc(t),
            type=Side.BUY if int(p.type) == 0 else Side.SELL,
            magic=int(p.magic),
            identifier=int(p.identifier),
            volume=float(p.volume),
            price_open=float(p.price_open),
            sl=float(p.sl),
            tp=float(p.tp),
            price_current=float(p.price_current),
            swap=float(p.swap),
            profit=float(p.profit),
            symbol=str(p.symbol),
            comment=str(p.comment),
        )

    def _deal(self, d: Any) -> Deal | None:
        """MT5 TradeDeal -> Deal (time and time_msc in UTC); None for unknown deal types."""
        try:
            dtype = DealType(int(d.type))
            entry = DealEntry(int(d.entry))
        except ValueError:
            log.warning(
                "%s: deal %s has unknown type/entry %s/%s; skipped",
                self.name,
                d.ticket,
                d.type,
                d.entry,
            )
            return None
        msc = int(d.time_msc) if d.time_msc else int(d.time) * 1000
        utc_msc = msc - int(self._offset_s * 1000)
        return Deal(
            ticket=int(d.ticket),
            order=int(d.order),
            time=datetime.fromtimestamp(utc_msc / 1000, tz=UTC),
            time_msc=utc_msc,
            type=dtype,
            entry=entry,
            magic=int(d.magic),
            position_id=int(d.position_id),
            reason=int(d.reason),
            volume=float(d.volume),
            price=float(d.price),
            commission=float(d.commission),
            swap=float(d.swap),
            profit=float(d.profit),
            fee=float(d.fee),
            symbol=str(d.symbol),
            comment=str(d.comment),
            external_id=str(getattr(d, "external_id", "") or ""),
        )

    def _deals(self, rows: Iterable[Any]) -> list[Deal]:
        out: dict[int, Deal] = {}
        for row in rows:
            deal = self._deal(row)
            if deal is not None:
                out.setdefault(deal.ticket, deal)
        return sorted(out.values(), key=lambda d: d.sort_key)

    async def history_deals(self, start: datetime, end: datetime) -> list[Deal]:
        """Deals in ``[start, end]`` UTC, deduplicated by ticket (the restart rebuild path)."""
        await self._detect_offset()
        rows = await self._call(
            "history_deals_get", self.to_server(start), self.to_server(end), empty_ok=True
        )
        return [d for d in self._deals(rows or ()) if start <= d.time <= end]

    def reset_cursor(self, since: datetime) -> None:
        """Start polling from ``since`` (e.g. the trading day's start after a restart)."""
        self._deduper = DealDeduper(self._overlap, since)

    async def poll_deals(self) -> list[Deal]:
        """New deals since the last poll: window overlaps by history_overlap_minutes."""
        if self._deduper is None:
            self._deduper = DealDeduper(self._overlap, self.clock())
        await self._detect_offset()
        now = self.clock()
        lo, hi = self._deduper.window()
        rows = await self._call(
            "history_deals_get",
            self.to_server(lo),
            self.to_server(max(hi, now + timedelta(days=1))),
            empty_ok=True,
        )
        return self._deduper.accept(self._deals(rows or ()), now)

    async def symbol_spec(self, symbol: str) -> SymbolSpec:
        await self.check_symbol(symbol)
        info = await self._call("symbol_info", symbol)
        tick_size, tick_value = float(info.trade_tick_size), float(info.trade_tick_value)
        if tick_size <= 0 or tick_value <= 0:
            raise FeedError(
                f"{symbol}: the terminal reports tick size {tick_size} / tick value "
                f"{tick_value}; add the symbol to Market Watch so it synchronizes",
                op="symbol_info",
            )
        return SymbolSpec(
            name=str(info.name),
            tick_size=tick_size,
            tick_value=tick_value,
            contract_size=float(info.trade_contract_size) or 1.0,
            volume_step=float(info.volume_step) or 0.01,
            volume_min=float(info.volume_min) or 0.01,
            volume_max=float(info.volume_max) or 100.0,
            digits=int(info.digits),
            currency_profit=str(info.currency_profit) or "USD",
        )

    def _timeframe_code(self, timeframe: str) -> int:
        code = getattr(self.module, f"TIMEFRAME_{timeframe}", None)
        return int(code) if isinstance(code, int) else TIMEFRAME_CODES[timeframe]

    async def bars(self, symbol: str, timeframe: str, count: int) -> pd.DataFrame:
        """copy_rates_from_pos(symbol, tf, 0, count) as a UTC-indexed frame, oldest first."""
        check_timeframe(timeframe)
        await self.check_symbol(symbol)
        if count < 1:
            raise FeedError(f"count must be >= 1, got {count}", op="bars")
        rows = await self._call(
            "copy_rates_from_pos", symbol, self._timeframe_code(timeframe), 0, int(count)
        )
        arr = np.asarray(rows)
        index = pd.DatetimeIndex(
            pd.to_datetime(arr["time"].astype(np.int64) - int(self._offset_s), unit="s", utc=True),
            name="time",
        )
        return pd.DataFrame(
            {
                "open": arr["open"].astype(np.float64),
                "high": arr["high"].astype(np.float64),
                "low": arr["low"].astype(np.float64),
                "close": arr["close"].astype(np.float64),
                "tick_volume": arr["tick_volume"].astype(np.int64),
                "spread": arr["spread"].astype(np.int32),
                "real_volume": arr["real_volume"].astype(np.float64),
            },
            index=index,
        )[BAR_COLUMNS]

    async def watchlist_bars(
        self, symbols: Sequence[str] | None = None, timeframes: Sequence[str] | None = None
    ) -> dict[tuple[str, str], pd.DataFrame]:
        """Bars for every watchlist symbol x timeframe; refused symbols are logged and skipped."""
        out: dict[tuple[str, str], pd.DataFrame] = {}
        for sym in symbols or self.feeds.watchlist.symbols:
            for tf in timeframes or self.feeds.watchlist.timeframes:
                try:
                    out[(sym, tf)] = await self.bars(sym, tf, self.feeds.bars_count)
                except SymbolRefused as exc:
                    log.warning("%s", exc)
                    break
        return out

    async def ticks(
        self, symbol: str, start: datetime, end: datetime, flags: int | None = None
    ) -> pd.DataFrame:
        """copy_ticks_range(symbol, start, end, COPY_TICKS_ALL) with UTC times."""
        await self.check_symbol(symbol)
        if flags is None:
            flags = int(getattr(self.module, "COPY_TICKS_ALL", COPY_TICKS_ALL))
        rows = await self._call(
            "copy_ticks_range", symbol, self.to_server(start), self.to_server(end), flags
        )
        arr = np.asarray(rows)
        msc = arr["time_msc"].astype(np.int64) - int(self._offset_s * 1000)
        return pd.DataFrame(
            {
                "bid": arr["bid"].astype(np.float64),
                "ask": arr["ask"].astype(np.float64),
                "last": arr["last"].astype(np.float64),
                "volume": arr["volume"].astype(np.float64),
                "flags": arr["flags"].astype(np.int64),
                "volume_real": arr["volume_real"].astype(np.float64),
                "time_msc": msc,
            },
            index=pd.DatetimeIndex(pd.to_datetime(msc, unit="ms", utc=True), name="time"),
        )
