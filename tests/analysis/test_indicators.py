"""Indicators follow TA-Lib's conventions, checked against independent numpy formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pulse.analysis.indicators import atr, bollinger, compute_indicators, ema, macd, rsi, sma
from pulse.config import TechnicalParams
from tests.analysis.helpers import eurusd


def wilder(values: np.ndarray, n: int, start: int) -> np.ndarray:
    """Wilder smoothing seeded by the simple mean of values[start:start+n]."""
    out = np.full(values.size, np.nan)
    out[start + n - 1] = values[start:start + n].mean()
    for i in range(start + n, values.size):
        out[i] = (out[i - 1] * (n - 1) + values[i]) / n
    return out


def test_rsi_is_wilder_seeded_by_simple_mean() -> None:
    c = eurusd()["close"].to_numpy()[:400]
    d = np.diff(c)
    up, dn = np.clip(d, 0, None), np.clip(-d, 0, None)
    au, ad = wilder(up, 14, 0), wilder(dn, 14, 0)
    want = np.concatenate([[np.nan], 100 - 100 / (1 + au / ad)])
    got = rsi(c, 14)
    assert np.isnan(got[:14]).all()
    assert np.allclose(got[14:], want[14:], atol=1e-9)


def test_atr_is_wilder_of_true_range() -> None:
    b = eurusd().iloc[:300]
    h, lo, c = (b[k].to_numpy() for k in ("high", "low", "close"))
    tr = np.maximum(h[1:] - lo[1:], np.maximum(abs(h[1:] - c[:-1]), abs(lo[1:] - c[:-1])))
    want = np.concatenate([[np.nan], wilder(tr, 14, 0)])
    got = atr(h, lo, c, 14)
    assert np.isnan(got[:14]).all() and np.allclose(got[14:], want[14:])


def test_bollinger_uses_population_std_and_ema_is_sma_seeded() -> None:
    c = pd.Series(eurusd()["close"].to_numpy()[:300])
    u, m, lo = bollinger(c.to_numpy(), 20, 2.0)
    sd = c.rolling(20).std(ddof=0)
    assert np.allclose(m[19:], c.rolling(20).mean()[19:])
    assert np.allclose(u[19:], (c.rolling(20).mean() + 2 * sd)[19:])
    assert np.allclose(lo[19:], (c.rolling(20).mean() - 2 * sd)[19:])
    e = ema(c.to_numpy(), 10)
    assert np.isclose(e[9], c[:10].mean())
    assert np.isclose(e[10], e[9] + 2 / 11 * (c[10] - e[9]))
    assert np.allclose(sma(c.to_numpy(), 5)[4:], c.rolling(5).mean()[4:])


def test_nan_in_the_middle_does_not_poison_later_values() -> None:
    c = eurusd()["close"].to_numpy()[:200].copy()
    clean = np.delete(c, 100)
    c[100] = np.nan
    got = rsi(c, 14)
    assert np.isnan(got[100])
    assert np.allclose(np.delete(got, 100)[14:], rsi(clean, 14)[14:])
    m, _sig, hist = macd(c)
    assert np.isfinite(m[150:]).all() and np.isfinite(hist[150:]).all()


def test_short_and_empty_inputs_are_nan_not_errors() -> None:
    assert np.isnan(rsi(np.array([1.0, 2.0, 3.0]), 14)).all()
    assert rsi(np.array([]), 14).size == 0
    assert np.isnan(atr(np.array([np.nan]), np.array([np.nan]), np.array([np.nan]), 14)).all()


def test_compute_indicators_frame_is_causal() -> None:
    b = eurusd().iloc[:600]
    full = compute_indicators(b, TechnicalParams())
    part = compute_indicators(b.iloc[:350], TechnicalParams())
    assert list(full.columns) == ["rsi", "macd", "macd_signal", "macd_hist", "bb_upper",
                                  "bb_middle", "bb_lower", "atr", "ema_fast", "ema_slow",
                                  "volume_sma"]
    pd.testing.assert_frame_equal(part, full.iloc[:350])
