"""The fake MetaTrader5 module keeps the real package's shapes (DESIGN.md section 11)."""

from __future__ import annotations

import numpy as np

from tests.fakes.fake_mt5 import (
    RATES_DTYPE,
    TICKS_DTYPE,
    AccountInfo,
    FakeMetaTrader5,
    SymbolInfo,
    TradeDeal,
    TradePosition,
)


def test_record_fields_in_mt5_order() -> None:
    assert TradeDeal._fields == (
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
    )
    assert TradePosition._fields == (
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
    )
    assert AccountInfo._fields[:3] == ("login", "trade_mode", "leverage")
    assert AccountInfo._fields[-4:] == ("name", "server", "currency", "company")
    order = [
        AccountInfo._fields.index(f)
        for f in ("balance", "credit", "profit", "equity", "margin", "margin_free", "margin_level")
    ]
    assert order == sorted(order) and order[-1] - order[0] == 6
    assert len(SymbolInfo._fields) == 96
    assert SymbolInfo._fields[0] == "custom" and SymbolInfo._fields[-1] == "path"


def test_numpy_dtypes_and_constants() -> None:
    assert RATES_DTYPE.names == (
        "time",
        "open",
        "high",
        "low",
        "close",
        "tick_volume",
        "spread",
        "real_volume",
    )
    assert [RATES_DTYPE[n].str for n in RATES_DTYPE.names] == [
        "<i8",
        "<f8",
        "<f8",
        "<f8",
        "<f8",
        "<u8",
        "<i4",
        "<u8",
    ]
    assert TICKS_DTYPE.names == (
        "time",
        "bid",
        "ask",
        "last",
        "volume",
        "time_msc",
        "flags",
        "volume_real",
    )
    assert [TICKS_DTYPE[n].str for n in TICKS_DTYPE.names] == [
        "<i8",
        "<f8",
        "<f8",
        "<f8",
        "<u8",
        "<i8",
        "<u4",
        "<f8",
    ]
    m = FakeMetaTrader5()
    assert (m.TIMEFRAME_M30, m.TIMEFRAME_H1, m.TIMEFRAME_H4, m.TIMEFRAME_D1) == (
        30,
        0x4001,
        0x4004,
        0x4018,
    )
    assert (m.TIMEFRAME_W1, m.TIMEFRAME_MN1) == (0x8001, 0xC001)
    assert (m.DEAL_TYPE_BUY, m.DEAL_TYPE_SELL, m.DEAL_TYPE_BALANCE, m.DEAL_TYPE_COMMISSION) == (
        0,
        1,
        2,
        7,
    )
    assert (m.DEAL_ENTRY_IN, m.DEAL_ENTRY_OUT, m.DEAL_ENTRY_INOUT, m.DEAL_ENTRY_OUT_BY) == (
        0,
        1,
        2,
        3,
    )


def test_failures_return_none_and_set_last_error() -> None:
    m = FakeMetaTrader5()
    assert m.account_info() is None  # not initialized yet
    assert m.last_error() == (-10004, "No IPC connection")
    assert m.initialize(login=5001234, password="nope") is False
    assert m.last_error()[0] == -6
    assert m.initialize(login=5001234, password="s3cret") is True
    assert m.last_error() == (1, "Success")
    m.fail_next(2, code=-10005)
    assert m.account_info() is None and m.last_error() == (-10005, "IPC timeout")
    assert m.positions_get() is None
    assert isinstance(m.account_info(), AccountInfo)
    assert m.symbol_info("NOPE") is None and m.last_error()[0] == -4
    rates = m.copy_rates_from_pos("EURUSD", m.TIMEFRAME_H1, 0, 10)
    assert rates is None  # no history loaded for it
    m.rates[("EURUSD", m.TIMEFRAME_H1)] = np.zeros(3, dtype=RATES_DTYPE)
    got = m.copy_rates_from_pos("EURUSD", m.TIMEFRAME_H1, 0, 10)
    assert got is not None and got.dtype == RATES_DTYPE and len(got) == 3
