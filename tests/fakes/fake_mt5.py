"""A fake ``MetaTrader5`` module that mirrors the real one field by field.

What is mirrored (DESIGN.md section 11, checked against the package's documentation):
- record types are namedtuples with MT5's field names in MT5's order
  (``AccountInfo``, ``TradePosition``, ``TradeDeal``, ``SymbolInfo``, ``Tick``);
- ``copy_rates_*`` and ``copy_ticks_*`` return numpy structured arrays with MT5's dtypes;
- failures return ``None`` (``False`` for ``initialize``/``login``) and set ``last_error()``
  to a ``(code, text)`` tuple; nothing raises;
- record times are epoch seconds (and ``time_msc`` milliseconds) in the broker's *server*
  time, ``server_offset_hours`` ahead of UTC.

Scriptable: ``fail_next(k, code)`` makes the next k calls fail (e.g. -10005 IPC timeout),
``disconnect()``/``reconnect()`` simulate the terminal going away, ``calls`` records every
call. ``order_send``/``order_check`` fail the test: Pulse is read-only.

An instance behaves like the module: pass it where the feed expects ``MetaTrader5``.
"""

from __future__ import annotations

import fnmatch
from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- records

AccountInfo = namedtuple(
    "AccountInfo",
    [
        "login",
        "trade_mode",
        "leverage",
        "limit_orders",
        "margin_so_mode",
        "trade_allowed",
        "trade_expert",
        "margin_mode",
        "currency_digits",
        "fifo_close",
        "balance",
        "credit",
        "profit",
        "equity",
        "margin",
        "margin_free",
        "margin_level",
        "margin_so_call",
        "margin_so_so",
        "margin_initial",
        "margin_maintenance",
        "assets",
        "liabilities",
        "commission_blocked",
        "name",
        "server",
        "currency",
        "company",
    ],
)

TradePosition = namedtuple(
    "TradePosition",
    [
        "ticket",
        "time",
        "time_msc",
        "time_update",
        "time_update_msc",
        "type",
        "magic",
        "identifier",
        "reason",
        "volume",
        "price_open",
        "sl",
        "tp",
        "price_current",
        "swap",
        "profit",
        "symbol",
        "comment",
        "external_id",
    ],
)

TradeDeal = namedtuple(
    "TradeDeal",
    [
        "ticket",
        "order",
        "time",
        "time_msc",
        "type",
        "entry",
        "magic",
        "position_id",
        "reason",
        "volume",
        "price",
        "commission",
        "swap",
        "profit",
        "fee",
        "symbol",
        "comment",
        "external_id",
    ],
)

Tick = namedtuple(
    "Tick", ["time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real"]
)

SymbolInfo = namedtuple(
    "SymbolInfo",
    [
        "custom",
        "chart_mode",
        "select",
        "visible",
        "session_deals",
        "session_buy_orders",
        "session_sell_orders",
        "volume",
        "volumehigh",
        "volumelow",
        "time",
        "digits",
        "spread",
        "spread_float",
        "ticks_bookdepth",
        "trade_calc_mode",
        "trade_mode",
        "start_time",
        "expiration_time",
        "trade_stops_level",
        "trade_freeze_level",
        "trade_exemode",
        "swap_mode",
        "swap_rollover3days",
        "margin_hedged_use_leg",
        "expiration_mode",
        "filling_mode",
        "order_mode",
        "order_gtc_mode",
        "option_mode",
        "option_right",
        "bid",
        "bidhigh",
        "bidlow",
        "ask",
        "askhigh",
        "asklow",
        "last",
        "lasthigh",
        "lastlow",
        "volume_real",
        "volumehigh_real",
        "volumelow_real",
        "option_strike",
        "point",
        "trade_tick_value",
        "trade_tick_value_profit",
        "trade_tick_value_loss",
        "trade_tick_size",
        "trade_contract_size",
        "trade_accrued_interest",
        "trade_face_value",
        "trade_liquidity_rate",
        "volume_min",
        "volume_max",
        "volume_step",
        "volume_limit",
        "swap_long",
        "swap_short",
        "margin_initial",
        "margin_maintenance",
        "session_volume",
        "session_turnover",
        "session_interest",
        "session_buy_orders_volume",
        "session_sell_orders_volume",
        "session_open",
        "session_close",
        "session_aw",
        "session_price_settlement",
        "session_price_limit_min",
        "session_price_limit_max",
        "margin_hedged",
        "price_change",
        "price_volatility",
        "price_theoretical",
        "price_greeks_delta",
        "price_greeks_theta",
        "price_greeks_gamma",
        "price_greeks_vega",
        "price_greeks_rho",
        "price_greeks_omega",
        "price_sensitivity",
        "basis",
        "category",
        "currency_base",
        "currency_profit",
        "currency_margin",
        "bank",
        "description",
        "exchange",
        "formula",
        "isin",
        "name",
        "page",
        "path",
    ],
)

RATES_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("tick_volume", "<u8"),
        ("spread", "<i4"),
        ("real_volume", "<u8"),
    ]
)
TICKS_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("last", "<f8"),
        ("volume", "<u8"),
        ("time_msc", "<i8"),
        ("flags", "<u4"),
        ("volume_real", "<f8"),
    ]
)

# --------------------------------------------------------------------------- error codes

RES_S_OK = 1
RES_E_FAIL = -1
RES_E_INVALID_PARAMS = -2
RES_E_NO_MEMORY = -3
RES_E_NOT_FOUND = -4
RES_E_INVALID_VERSION = -5
RES_E_AUTH_FAILED = -6
RES_E_UNSUPPORTED = -7
RES_E_AUTO_TRADING_DISABLED = -8
RES_E_INTERNAL_FAIL = -10000
RES_E_INTERNAL_FAIL_SEND = -10001
RES_E_INTERNAL_FAIL_RECEIVE = -10002
RES_E_INTERNAL_FAIL_INIT = -10003
RES_E_INTERNAL_FAIL_CONNECT = -10004
RES_E_INTERNAL_FAIL_TIMEOUT = -10005

ERROR_TEXT = {
    RES_S_OK: "Success",
    RES_E_FAIL: "Generic fail",
    RES_E_INVALID_PARAMS: "Invalid arguments",
    RES_E_NOT_FOUND: "Not found",
    RES_E_AUTH_FAILED: "Authorization failed",
    RES_E_INTERNAL_FAIL_INIT: "IPC initialize failed",
    RES_E_INTERNAL_FAIL_CONNECT: "No IPC connection",
    RES_E_INTERNAL_FAIL_TIMEOUT: "IPC timeout",
}


def default_symbol(name: str, **overrides: Any) -> Any:
    """A SymbolInfo with every field set (an FX-like 5-digit symbol unless overridden)."""
    values: dict[str, Any] = dict.fromkeys(SymbolInfo._fields, 0)
    values.update(
        custom=False,
        select=True,
        visible=True,
        digits=5,
        spread=10,
        spread_float=True,
        trade_calc_mode=0,
        trade_mode=4,
        trade_exemode=2,
        swap_mode=1,
        expiration_mode=15,
        filling_mode=1,
        order_mode=127,
        point=1e-05,
        trade_tick_value=1.0,
        trade_tick_value_profit=1.0,
        trade_tick_value_loss=1.0,
        trade_tick_size=1e-05,
        trade_contract_size=100000.0,
        volume_min=0.01,
        volume_max=100.0,
        volume_step=0.01,
        margin_hedged_use_leg=False,
        basis="",
        category="",
        currency_base=name[:3],
        currency_profit=name[3:6] or "USD",
        currency_margin=name[:3],
        bank="",
        description=name,
        exchange="",
        formula="",
        isin="",
        name=name,
        page="",
        path=f"Forex\\{name}",
    )
    float_fields = {
        f
        for f in SymbolInfo._fields
        if f.startswith(
            (
                "bid",
                "ask",
                "last",
                "price_",
                "session_",
                "swap_l",
                "swap_s",
                "margin_i",
                "margin_m",
                "margin_hedged",
                "option_strike",
                "trade_accrued",
                "trade_face",
                "trade_liq",
                "volume_limit",
                "volume_real",
                "volumehigh_real",
                "volumelow_real",
            )
        )
        and f not in ("session_deals", "session_buy_orders", "session_sell_orders")
    }
    for f in float_fields:
        if values[f] == 0 and not isinstance(values[f], str):
            values[f] = 0.0
    values.update(overrides)
    return SymbolInfo(**values)


class OrderSendCalled(AssertionError):
    """Raised (and recorded) when anything tries to trade through the fake."""


class FakeMetaTrader5:
    """Stand-in for the ``MetaTrader5`` module (instance attributes = module attributes)."""

    # Timeframes (values are MT5's).
    TIMEFRAME_M1 = 1
    TIMEFRAME_M2 = 2
    TIMEFRAME_M3 = 3
    TIMEFRAME_M4 = 4
    TIMEFRAME_M5 = 5
    TIMEFRAME_M6 = 6
    TIMEFRAME_M10 = 10
    TIMEFRAME_M12 = 12
    TIMEFRAME_M15 = 15
    TIMEFRAME_M20 = 20
    TIMEFRAME_M30 = 30
    TIMEFRAME_H1 = 1 | 0x4000
    TIMEFRAME_H2 = 2 | 0x4000
    TIMEFRAME_H3 = 3 | 0x4000
    TIMEFRAME_H4 = 4 | 0x4000
    TIMEFRAME_H6 = 6 | 0x4000
    TIMEFRAME_H8 = 8 | 0x4000
    TIMEFRAME_H12 = 12 | 0x4000
    TIMEFRAME_D1 = 24 | 0x4000
    TIMEFRAME_W1 = 1 | 0x8000
    TIMEFRAME_MN1 = 1 | 0xC000

    DEAL_TYPE_BUY = 0
    DEAL_TYPE_SELL = 1
    DEAL_TYPE_BALANCE = 2
    DEAL_TYPE_CREDIT = 3
    DEAL_TYPE_CHARGE = 4
    DEAL_TYPE_CORRECTION = 5
    DEAL_TYPE_BONUS = 6
    DEAL_TYPE_COMMISSION = 7
    DEAL_ENTRY_IN = 0
    DEAL_ENTRY_OUT = 1
    DEAL_ENTRY_INOUT = 2
    DEAL_ENTRY_OUT_BY = 3
    POSITION_TYPE_BUY = 0
    POSITION_TYPE_SELL = 1

    COPY_TICKS_ALL = -1
    COPY_TICKS_INFO = 1
    COPY_TICKS_TRADE = 2
    TICK_FLAG_BID = 0x02
    TICK_FLAG_ASK = 0x04
    TICK_FLAG_LAST = 0x08
    TICK_FLAG_VOLUME = 0x10
    TICK_FLAG_BUY = 0x20
    TICK_FLAG_SELL = 0x40

    RES_S_OK = RES_S_OK
    RES_E_FAIL = RES_E_FAIL
    RES_E_INVALID_PARAMS = RES_E_INVALID_PARAMS
    RES_E_NOT_FOUND = RES_E_NOT_FOUND
    RES_E_AUTH_FAILED = RES_E_AUTH_FAILED
    RES_E_INTERNAL_FAIL_CONNECT = RES_E_INTERNAL_FAIL_CONNECT
    RES_E_INTERNAL_FAIL_TIMEOUT = RES_E_INTERNAL_FAIL_TIMEOUT

    __version__ = "5.0.45"
    __author__ = "fake"

    def __init__(
        self,
        *,
        server_offset_hours: float = 2.0,
        clock: Callable[[], datetime] | None = None,
        login: int = 5001234,
        password: str | None = "s3cret",
        server: str = "Broker-Demo",
        symbols: list[str] | None = None,
    ) -> None:
        self.server_offset_hours = server_offset_hours
        self.clock = clock or (lambda: datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
        self.expected_login = login
        self.expected_password = password
        self.server = server
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.order_send_called = False
        self.initialized = False
        self.terminal_up = True
        self.empty_history_as_none = False
        self._fail: list[tuple[int, str]] = []
        self._last_error: tuple[int, str] = (RES_S_OK, ERROR_TEXT[RES_S_OK])
        self.symbols: dict[str, Any] = {
            s: default_symbol(s) for s in (symbols or ["EURUSD", "GBPUSD", "XAUUSD"])
        }
        self.deals: list[Any] = []
        self.positions: list[Any] = []
        self.rates: dict[tuple[str, int], np.ndarray] = {}
        self.ticks: dict[str, np.ndarray] = {}
        self.account: dict[str, Any] = dict.fromkeys(AccountInfo._fields, 0)
        self.account.update(
            login=login,
            trade_mode=0,
            leverage=100,
            limit_orders=200,
            trade_allowed=True,
            trade_expert=True,
            margin_mode=2,
            currency_digits=2,
            fifo_close=False,
            balance=100_000.0,
            credit=0.0,
            profit=0.0,
            equity=100_000.0,
            margin=0.0,
            margin_free=100_000.0,
            margin_level=0.0,
            margin_so_call=50.0,
            margin_so_so=30.0,
            margin_initial=0.0,
            margin_maintenance=0.0,
            assets=0.0,
            liabilities=0.0,
            commission_blocked=0.0,
            name="Test Trader",
            server=server,
            currency="USD",
            company="Fake Broker Ltd",
        )

    # -- scripting ----------------------------------------------------------------

    def fail_next(self, k: int, code: int = RES_E_INTERNAL_FAIL_TIMEOUT) -> None:
        """The next ``k`` calls (any function but last_error) fail with ``code``."""
        self._fail.extend([(code, ERROR_TEXT.get(code, "Error"))] * k)

    def disconnect(self) -> None:
        """The terminal goes away: calls fail with -10004, initialize with -10003."""
        self.terminal_up = False
        self.initialized = False

    def reconnect(self) -> None:
        self.terminal_up = True

    def server_ts(self, t: datetime) -> int:
        """Epoch seconds of UTC-aware ``t`` on the server's clock."""
        return int((t + timedelta(hours=self.server_offset_hours)).timestamp())

    def add_deal(
        self,
        ticket: int,
        when: datetime,
        *,
        type: int = 0,
        entry: int = 0,
        position_id: int = 0,
        volume: float = 1.0,
        price: float = 1.1,
        profit: float = 0.0,
        commission: float = 0.0,
        swap: float = 0.0,
        fee: float = 0.0,
        symbol: str = "EURUSD",
        order: int = 0,
        magic: int = 0,
        reason: int = 0,
        comment: str = "",
    ) -> Any:
        """Record a deal executed at UTC ``when`` (stored in server time, like MT5)."""
        ms = int((when + timedelta(hours=self.server_offset_hours)).timestamp() * 1000)
        deal = TradeDeal(
            ticket,
            order or ticket + 1000,
            ms // 1000,
            ms,
            type,
            entry,
            magic,
            position_id or ticket,
            reason,
            volume,
            price,
            commission,
            swap,
            profit,
            fee,
            symbol,
            comment,
            "",
        )
        self.deals.append(deal)
        return deal

    def add_position(
        self,
        ticket: int,
        when: datetime,
        *,
        type: int = 0,
        volume: float = 1.0,
        price_open: float = 1.1,
        sl: float = 0.0,
        tp: float = 0.0,
        price_current: float = 1.1,
        profit: float = 0.0,
        symbol: str = "EURUSD",
    ) -> Any:
        ms = int((when + timedelta(hours=self.server_offset_hours)).timestamp() * 1000)
        pos = TradePosition(
            ticket,
            ms // 1000,
            ms,
            ms // 1000,
            ms,
            type,
            0,
            ticket,
            0,
            volume,
            price_open,
            sl,
            tp,
            price_current,
            0.0,
            profit,
            symbol,
            "",
            "",
        )
        self.positions.append(pos)
        return pos

    def set_rates(self, symbol: str, timeframe: int, rows: list[tuple[Any, ...]]) -> None:
        """Bars as (utc_open_time, o, h, l, c, tick_volume, spread, real_volume)."""
        arr = np.zeros(len(rows), dtype=RATES_DTYPE)
        for i, (t, o, h, lo, c, tv, sp, rv) in enumerate(rows):
            arr[i] = (self.server_ts(t), o, h, lo, c, tv, sp, rv)
        self.rates[(symbol, timeframe)] = arr

    def set_ticks(
        self, symbol: str, rows: list[tuple[datetime, float, float, float, float]]
    ) -> None:
        """Ticks as (utc_time, bid, ask, last, volume)."""
        arr = np.zeros(len(rows), dtype=TICKS_DTYPE)
        for i, (t, bid, ask, last, vol) in enumerate(rows):
            ms = int((t + timedelta(hours=self.server_offset_hours)).timestamp() * 1000)
            arr[i] = (
                ms // 1000,
                bid,
                ask,
                last,
                int(vol),
                ms,
                self.TICK_FLAG_BID | self.TICK_FLAG_ASK,
                vol,
            )
        self.ticks[symbol] = arr

    def call_names(self) -> list[str]:
        return [c[0] for c in self.calls]

    # -- plumbing --------------------------------------------------------------------

    def _enter(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Record the call; False (with last_error set) when it must fail."""
        self.calls.append((name, args, kwargs))
        if self._fail:
            self._last_error = self._fail.pop(0)
            return False
        if not self.terminal_up:
            code = RES_E_INTERNAL_FAIL_INIT if name == "initialize" else RES_E_INTERNAL_FAIL_CONNECT
            self._last_error = (code, ERROR_TEXT[code])
            return False
        if name != "initialize" and not self.initialized:
            self._last_error = (
                RES_E_INTERNAL_FAIL_CONNECT,
                ERROR_TEXT[RES_E_INTERNAL_FAIL_CONNECT],
            )
            return False
        self._last_error = (RES_S_OK, ERROR_TEXT[RES_S_OK])
        return True

    def _error(self, code: int, text: str | None = None) -> None:
        self._last_error = (code, text or ERROR_TEXT.get(code, "Error"))
        return None

    @staticmethod
    def _ts(v: Any) -> float:
        """MT5 takes datetimes or epoch seconds for date arguments."""
        if isinstance(v, datetime):
            return v.timestamp()
        return float(v)

    # -- the API ---------------------------------------------------------------------

    def initialize(
        self,
        path: str | None = None,
        *,
        login: int | None = None,
        password: str | None = None,
        server: str | None = None,
        timeout: int | None = None,
        portable: bool = False,
    ) -> bool:
        if not self._enter(
            "initialize",
            (path,),
            {
                "login": login,
                "password": password,
                "server": server,
                "timeout": timeout,
                "portable": portable,
            },
        ):
            return False
        if login is not None and (
            login != self.expected_login or password != self.expected_password
        ):
            self._error(RES_E_AUTH_FAILED, "Terminal: Authorization failed")
            return False
        self.initialized = True
        return True

    def login(
        self,
        login: int,
        *,
        password: str | None = None,
        server: str | None = None,
        timeout: int | None = None,
    ) -> bool:
        if not self._enter("login", (login,), {"password": password, "server": server}):
            return False
        if login != self.expected_login or password != self.expected_password:
            self._error(RES_E_AUTH_FAILED, "Terminal: Authorization failed")
            return False
        return True

    def shutdown(self) -> None:
        self.calls.append(("shutdown", (), {}))
        self.initialized = False

    def last_error(self) -> tuple[int, str]:
        return self._last_error

    def version(self) -> tuple[int, int, str] | None:
        if not self._enter("version", (), {}):
            return None
        return (500, 4755, "15 Jan 2025")

    def account_info(self) -> Any:
        if not self._enter("account_info", (), {}):
            return None
        return AccountInfo(**self.account)

    def symbols_total(self) -> int | None:
        if not self._enter("symbols_total", (), {}):
            return None
        return len(self.symbols)

    def symbols_get(self, group: str | None = None) -> tuple[Any, ...] | None:
        if not self._enter("symbols_get", (), {"group": group}):
            return None
        return tuple(s for n, s in self.symbols.items() if group is None or _group_match(n, group))

    def symbol_info(self, symbol: str) -> Any:
        if not self._enter("symbol_info", (symbol,), {}):
            return None
        info = self.symbols.get(symbol)
        if info is None:
            self._error(RES_E_NOT_FOUND, f"Terminal: Symbol {symbol} not found")
            return None
        return info

    def symbol_info_tick(self, symbol: str) -> Any:
        if not self._enter("symbol_info_tick", (symbol,), {}):
            return None
        if symbol not in self.symbols:
            self._error(RES_E_NOT_FOUND)
            return None
        arr = self.ticks.get(symbol)
        if arr is not None and len(arr):
            r = arr[-1]
            return Tick(
                int(r["time"]),
                float(r["bid"]),
                float(r["ask"]),
                float(r["last"]),
                int(r["volume"]),
                int(r["time_msc"]),
                int(r["flags"]),
                float(r["volume_real"]),
            )
        ms = int((self.clock() + timedelta(hours=self.server_offset_hours)).timestamp() * 1000)
        return Tick(ms // 1000, 1.1, 1.1001, 0.0, 0, ms, 6, 0.0)

    def positions_total(self) -> int | None:
        if not self._enter("positions_total", (), {}):
            return None
        return len(self.positions)

    def positions_get(
        self, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[Any, ...] | None:
        if not self._enter(
            "positions_get", (), {"symbol": symbol, "group": group, "ticket": ticket}
        ):
            return None
        out = [
            p
            for p in self.positions
            if (symbol is None or p.symbol == symbol)
            and (group is None or _group_match(p.symbol, group))
            and (ticket is None or p.ticket == ticket)
        ]
        return tuple(out)

    def history_deals_total(self, date_from: Any, date_to: Any) -> int | None:
        got = self.history_deals_get(date_from, date_to)
        return None if got is None else len(got)

    def history_deals_get(
        self,
        date_from: Any = None,
        date_to: Any = None,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[Any, ...] | None:
        if not self._enter(
            "history_deals_get",
            (date_from, date_to),
            {"group": group, "ticket": ticket, "position": position},
        ):
            return None
        if ticket is not None:
            out = [d for d in self.deals if d.ticket == ticket]
        elif position is not None:
            out = [d for d in self.deals if d.position_id == position]
        else:
            if date_from is None or date_to is None:
                self._error(RES_E_INVALID_PARAMS, "Invalid arguments")
                return None
            lo, hi = self._ts(date_from), self._ts(date_to)
            out = [
                d
                for d in self.deals
                if lo <= d.time <= hi and (group is None or _group_match(d.symbol, group))
            ]
        out.sort(key=lambda d: (d.time_msc, d.ticket))
        if not out and self.empty_history_as_none:
            return None
        return tuple(out)

    def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int
    ) -> np.ndarray | None:
        if not self._enter("copy_rates_from_pos", (symbol, timeframe, start_pos, count), {}):
            return None
        arr = self.rates.get((symbol, timeframe))
        if arr is None or symbol not in self.symbols:
            self._error(RES_E_NOT_FOUND, "Terminal: Call failed")
            return None
        end = len(arr) - start_pos
        return arr[max(0, end - count) : max(0, end)].copy()

    def copy_ticks_range(
        self, symbol: str, date_from: Any, date_to: Any, flags: int
    ) -> np.ndarray | None:
        if not self._enter("copy_ticks_range", (symbol, date_from, date_to, flags), {}):
            return None
        arr = self.ticks.get(symbol)
        if arr is None or symbol not in self.symbols:
            self._error(RES_E_NOT_FOUND, "Terminal: Call failed")
            return None
        lo, hi = self._ts(date_from) * 1000, self._ts(date_to) * 1000
        sel = (arr["time_msc"] >= lo) & (arr["time_msc"] <= hi)
        return arr[sel].copy()

    def order_send(self, request: Any = None) -> Any:
        self.order_send_called = True
        raise OrderSendCalled("order_send called: Pulse is read-only and must never trade")

    def order_check(self, request: Any = None) -> Any:
        self.order_send_called = True
        raise OrderSendCalled("order_check called: Pulse is read-only")


def _group_match(name: str, group: str) -> bool:
    """MT5 group filter: comma-separated masks with ``*``; ``!mask`` excludes."""
    ok = False
    for mask in (m.strip() for m in group.split(",") if m.strip()):
        if mask.startswith("!"):
            if fnmatch.fnmatchcase(name, mask[1:]):
                return False
        elif fnmatch.fnmatchcase(name, mask):
            ok = True
    return ok
