"""Causal technical indicators over OHLCV frames, computed by TA-Lib.

TA-Lib is the reference (DESIGN.md section 6): Wilder smoothing seeded by the simple
mean of the first ``n`` values (RSI, ATR), EMAs seeded by an SMA, population standard
deviation for Bollinger Bands. Every output at bar ``t`` uses bars ``<= t`` only, and the
warm-up bars are NaN.

Gaps and NaN: TA-Lib lets one NaN poison every later value of a recursive indicator, so
each function computes on the rows where all inputs are finite and puts the results back
in place (a NaN row stays NaN, the rows after it continue from the last valid one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import talib

from pulse.config import TechnicalParams

__all__ = [
    "atr",
    "bollinger",
    "compute_indicators",
    "ema",
    "macd",
    "rsi",
    "sma",
    "volume_sma",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _f64(x: Any) -> FloatArray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64))


def _on_valid(
    func: Callable[..., Any], *inputs: Any, n_out: int = 1
) -> tuple[FloatArray, ...]:
    """Run ``func`` on the rows where every input is finite; NaN elsewhere."""
    arrays = [_f64(a) for a in inputs]
    size = arrays[0].shape[0]
    ok = np.ones(size, dtype=bool)
    for a in arrays:
        ok &= np.isfinite(a)
    if ok.all():
        res = func(*arrays)
        outs = res if isinstance(res, tuple) else (res,)
        return tuple(_f64(o) for o in outs)
    outs_full = tuple(np.full(size, np.nan) for _ in range(n_out))
    if ok.any():
        res = func(*[a[ok] for a in arrays])
        outs = res if isinstance(res, tuple) else (res,)
        for full, part in zip(outs_full, outs, strict=True):
            full[ok] = part
    return outs_full


def rsi(close: Any, period: int = 14) -> FloatArray:
    """Wilder RSI (0-100)."""
    return _on_valid(lambda c: talib.RSI(c, timeperiod=period), close)[0]


def ema(values: Any, period: int) -> FloatArray:
    """Exponential moving average seeded by the SMA of the first ``period`` values."""
    return _on_valid(lambda v: talib.EMA(v, timeperiod=period), values)[0]


def sma(values: Any, period: int) -> FloatArray:
    """Simple moving average."""
    return _on_valid(lambda v: talib.SMA(v, timeperiod=period), values)[0]


def volume_sma(volume: Any, period: int = 20) -> FloatArray:
    """Simple moving average of volume (a volume baseline)."""
    return sma(volume, period)


def macd(
    close: Any, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(macd, signal, histogram), TA-Lib's MACD."""
    m, s, h = _on_valid(
        lambda c: talib.MACD(c, fastperiod=fast, slowperiod=slow, signalperiod=signal),
        close,
        n_out=3,
    )
    return m, s, h


def bollinger(
    close: Any, period: int = 20, k: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upper, middle, lower) Bollinger Bands, population standard deviation."""
    u, m, lo = _on_valid(
        lambda c: talib.BBANDS(
            c, timeperiod=period, nbdevup=k, nbdevdn=k, matype=talib.MA_Type.SMA
        ),
        close,
        n_out=3,
    )
    return u, m, lo


def atr(high: Any, low: Any, close: Any, period: int = 14) -> FloatArray:
    """Wilder average true range."""
    return _on_valid(lambda h, lo, c: talib.ATR(h, lo, c, timeperiod=period), high, low, close)[0]


def compute_indicators(bars: pd.DataFrame, params: TechnicalParams) -> pd.DataFrame:
    """All technical indicators for ``bars`` as one frame on the same index.

    Columns: rsi, macd, macd_signal, macd_hist, bb_upper, bb_middle, bb_lower, atr,
    ema_fast, ema_slow, volume_sma.
    """
    c = bars["close"].to_numpy(dtype=float)
    h = bars["high"].to_numpy(dtype=float)
    lo = bars["low"].to_numpy(dtype=float)
    v = bars["volume"].to_numpy(dtype=float) if "volume" in bars else np.zeros(len(c))
    m, ms, mh = macd(c, params.macd_fast, params.macd_slow, params.macd_signal)
    bu, bm, bl = bollinger(c, params.bb_period, params.bb_std)
    data = {
        "rsi": rsi(c, params.rsi_period),
        "macd": m,
        "macd_signal": ms,
        "macd_hist": mh,
        "bb_upper": bu,
        "bb_middle": bm,
        "bb_lower": bl,
        "atr": atr(h, lo, c, params.atr_period),
        "ema_fast": ema(c, params.ema_fast),
        "ema_slow": ema(c, params.ema_slow),
        "volume_sma": volume_sma(v, params.volume_sma),
    }
    # one float block: far cheaper to build than eleven separate columns
    return pd.DataFrame(np.column_stack(list(data.values())) if len(c) else
                        np.empty((0, len(data))), index=bars.index, columns=list(data))
