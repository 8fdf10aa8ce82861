"""Analysis speed: scoring a 500-bar window, full analysis of 100k bars, and the
``smartmoneyconcepts`` package on the same bars.

Usage: python bench/bench_analysis.py [--quick]   (--quick skips smartmoneyconcepts on
100k bars, which takes about a minute)

Bars: the real EURUSD H1 series shipped with ``backtesting`` (5,000 bars). The 100k-bar
history chains its bar-to-bar returns 20 times (each copy starts at the previous copy's
last close), so price path, bar shapes and volumes are real and there are no jumps.

Figures: wall time (perf_counter) and CPU time (process_time) of this process; on a busy
machine wall time includes waiting for a core, so both are printed with the load average.
Targets (DESIGN.md section 10): 500-bar window, all analyzers, median <= 5 ms; 100k bars
<= 1 s; SMC >= 10x faster than smartmoneyconcepts.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pulse.analysis.bars import normalize_bars
from pulse.analysis.confluence import ConfluenceScorer, _run_wyckoff, analyze, score_series
from pulse.analysis.indicators import compute_indicators
from pulse.analysis.smc import analyze_smc
from pulse.config import AnalysisConfig, ConfluenceWeights


def eurusd() -> pd.DataFrame:
    from backtesting.test import EURUSD

    return normalize_bars(EURUSD)


def chained(df: pd.DataFrame, copies: int) -> pd.DataFrame:
    """``copies`` copies of ``df`` end to end, each scaled to start at the last close."""
    parts = []
    level = float(df["close"].iloc[0])
    for _ in range(copies):
        part = df.copy()
        part[["open", "high", "low", "close"]] *= level / float(df["open"].iloc[0])
        parts.append(part)
        level = float(part["close"].iloc[-1])
    out = pd.concat(parts)
    out.index = pd.date_range("2000-01-03", periods=len(out), freq="h", tz="UTC", name="time")
    return out


def measure(fn: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return wall, cpu


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1e3:7.2f} ms  best {min(xs) * 1e3:7.2f} ms"


def load_smc() -> Any | None:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from smartmoneyconcepts import smc
    except ImportError:
        return None
    return smc


def their_smc(smc: Any, ohlc: pd.DataFrame, swing_length: int = 5) -> None:
    """The same work with smartmoneyconcepts: swings, BOS/CHoCH, OBs, FVGs, liquidity."""
    sw = smc.swing_highs_lows(ohlc, swing_length=swing_length)
    smc.bos_choch(ohlc, sw)
    smc.ob(ohlc, sw)
    smc.fvg(ohlc)
    smc.liquidity(ohlc, sw)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    cfg = AnalysisConfig()
    weights = ConfluenceWeights().for_symbol(None)
    bars = eurusd()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    # 1. score one symbol on a 500-bar window (windows slide over the sample)
    scorer = ConfluenceScorer(cfg)
    ends = np.linspace(600, len(bars), 100).astype(int)
    windows = [bars.iloc[e - 500: e] for e in ends]
    for w in windows[:5]:
        scorer.score(w, "EURUSD")
    it = iter(windows * 3)
    wall, cpu = measure(lambda: scorer.score(next(it), "EURUSD"), 300)
    print(f"score, 500-bar window, all analyzers: wall {ms(wall)} | cpu {ms(cpu)}  "
          f"(target median <= 5 ms)")
    w = windows[-1]
    ind = compute_indicators(w, cfg.technical)
    smc_res = analyze_smc(w, cfg.smc)
    wy = _run_wyckoff(w, cfg)
    parts = {
        "indicators": lambda: compute_indicators(w, cfg.technical),
        "smc": lambda: analyze_smc(w, cfg.smc),
        "wyckoff": lambda: _run_wyckoff(w, cfg),
        "confluence": lambda: score_series(w, ind, smc_res, wy, cfg, weights),
    }
    for name, fn in parts.items():
        _, pc = measure(fn, 200)
        print(f"  {name:<11} cpu {ms(pc)}")

    # 2. full analysis of 100k bars
    big = chained(bars, 20)
    analyze(big.iloc[:5000])
    wall, cpu = measure(lambda: analyze(big, cfg, "EURUSD"), 5)
    print(f"full analysis, {len(big)} bars: wall {ms(wall)} | cpu {ms(cpu)}  (target <= 1 s)")
    _, sc = measure(lambda: analyze_smc(big, cfg.smc), 5)
    print(f"  smc alone    cpu {ms(sc)}")

    # 3. smartmoneyconcepts on the same bars
    smc = load_smc()
    if smc is None:
        print("smartmoneyconcepts not installed: pip install smartmoneyconcepts to compare")
        return 0
    sizes = [500, len(bars)] + ([] if quick else [len(big)])
    for size in sizes:
        src = windows[-1] if size == 500 else (bars if size == len(bars) else big)
        ohlc = src.iloc[-size:]
        reps = 20 if size == 500 else (3 if size == len(bars) else 1)
        with contextlib.redirect_stdout(io.StringIO()):
            their_smc(smc, ohlc)  # warm-up
            _, tc = measure(lambda o=ohlc: their_smc(smc, o), reps)  # type: ignore[misc]
        _, oc = measure(lambda o=ohlc: analyze_smc(o, cfg.smc), max(reps, 5))  # type: ignore[misc]
        ratio = statistics.median(tc) / statistics.median(oc)
        print(f"smc on {size:>6} bars: ours cpu {statistics.median(oc) * 1e3:9.2f} ms, "
              f"smartmoneyconcepts cpu {statistics.median(tc) * 1e3:10.2f} ms, {ratio:6.0f}x")
    # causality: their swings on a prefix versus the same bars in the full run
    ohlc = bars.iloc[:2000]
    with contextlib.redirect_stdout(io.StringIO()):
        full = smc.swing_highs_lows(ohlc, swing_length=5)["HighLow"].to_numpy()
        changed = 0
        cuts = range(100, 2000, 50)
        for m in cuts:
            part = smc.swing_highs_lows(ohlc.iloc[:m], swing_length=5)["HighLow"].to_numpy()
            changed += int((np.nan_to_num(part) != np.nan_to_num(full[:m])).any())
    print(f"smartmoneyconcepts swings: {changed}/{len(cuts)} prefixes disagree with the full "
          f"run on bars they share (look-ahead); ours: 0 by construction (tests/analysis)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
