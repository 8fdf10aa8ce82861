"""Annotated chart render time (bot/charts): one 1200 x 700 PNG of 120 real bars.

Usage: python bench/bench_chart.py

Bars: the real EURUSD H1 series shipped with ``backtesting``; SMC and Wyckoff events from
the analyzers over the whole series. Prints the median and best wall time of rendering to
memory, and the PNG size.
"""

from __future__ import annotations

import io
import statistics
import time

import pandas as pd

from bot.charts import render_chart, score_title
from pulse.analysis.smc import analyze_smc
from pulse.analysis.wyckoff import analyze_wyckoff
from pulse.config import PulseConfig


def main() -> None:
    from backtesting.test import EURUSD

    bars = EURUSD.rename(columns=str.lower).astype(float)
    bars.index = pd.DatetimeIndex(bars.index).tz_localize("UTC")
    cfg = PulseConfig().analysis
    smc = analyze_smc(bars, cfg.smc).events
    wy = analyze_wyckoff(bars, cfg.wyckoff)
    title = score_title("EURUSD", "H1", 82, "long", "high")
    times = []
    size = 0
    for _ in range(10):
        buf = io.BytesIO()
        t0 = time.perf_counter()
        render_chart(
            bars,
            buf,
            smc_events=smc,
            wyckoff_events=wy.events,
            wyckoff_phase=wy.phase,
            title=title,
        )
        times.append(time.perf_counter() - t0)
        size = len(buf.getvalue())
    med, best = statistics.median(times), min(times)
    print(f"chart 120 bars: median {med * 1e3:.0f} ms  best {best * 1e3:.0f} ms  png {size:,} B")


if __name__ == "__main__":
    main()
