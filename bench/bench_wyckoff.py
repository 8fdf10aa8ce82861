"""Wyckoff analyzer speed: a 500-bar scoring window and a 100k-bar full history.

Usage: python bench/bench_wyckoff.py

Bars: the real EURUSD H1 series shipped with ``backtesting`` (5,000 bars). The 100k-bar
history chains its bar-to-bar returns 20 times (each copy continues from the previous
close), so the price path, bar shapes and volumes are real and the series has no jumps.
Prints median and best wall times; targets (DESIGN.md section 10): 500 bars about 1 ms,
100k bars well under 0.5 s (the whole analysis has 1 s).
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from pulse.analysis.wyckoff import analyze_wyckoff
from pulse.config import WyckoffParams


def eurusd() -> pd.DataFrame:
    from backtesting.test import EURUSD

    df = EURUSD.rename(columns=str.lower).astype(float)
    df.index = df.index.tz_localize("UTC")
    return df


def chained(df: pd.DataFrame, copies: int) -> pd.DataFrame:
    """``copies`` copies of ``df`` end to end, each scaled to start at the last close."""
    parts = []
    level = 1.0
    for _ in range(copies):
        scale = level / float(df["close"].iloc[0])
        part = df.copy()
        part[["open", "high", "low", "close"]] *= scale
        parts.append(part)
        level = float(part["close"].iloc[-1])
    out = pd.concat(parts)
    out.index = pd.date_range("2010-01-01", periods=len(out), freq="h", tz="UTC")
    return out


def timeit(fn: object, repeat: int) -> tuple[float, float]:
    assert callable(fn)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    params = WyckoffParams()
    df = eurusd()
    window = df.iloc[-500:]
    med, best = timeit(lambda: analyze_wyckoff(window, params), 500)
    print(f"wyckoff 500 bars:      median {med * 1e3:.3f} ms  best {best * 1e3:.3f} ms")
    big = chained(df, 20)
    res = analyze_wyckoff(big, params)
    med, best = timeit(lambda: analyze_wyckoff(big, params), 15)
    kinds = res.events["kind"].value_counts().to_dict()
    print(f"wyckoff {len(big):,} bars: median {med * 1e3:.1f} ms  best {best * 1e3:.1f} ms")
    print(f"  events: {len(res.events)} {kinds}")
    share = res.phase.value_counts(normalize=True).round(3).to_dict()
    print(f"  phase share: {share}")
    assert np.isfinite(med)


if __name__ == "__main__":
    main()
