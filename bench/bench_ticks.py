"""Tick -> bar aggregation throughput on the bundled real ES ticks (500,000 trades).

Prints ticks/s for: the batch path (one timeframe, and all of M1..D1), the streaming
path tick by tick (``TickAggregator.push``, M1..D1 at once) and in feed-poll chunks
(``push_many``). Best of several runs; target >= 200,000 ticks/s (DESIGN.md section 10).
Usage: python bench/bench_ticks.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from pulse.data import ES_SESSION, load_es_ticks
from pulse.ticks import TIMEFRAME_MS, TickAggregator, aggregate_ticks

ALL = list(TIMEFRAME_MS)  # M1 .. D1, 19 timeframes
COMMON = ["M1", "M5", "M15", "M30", "H1", "H4", "D1"]


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    df = load_es_ticks()
    t, p, v = df["time_msc"].to_numpy(), df["price"].to_numpy(), df["volume"].to_numpy()
    tl, pl, vl = t.tolist(), p.tolist(), v.tolist()
    n = len(t)

    def batch(tfs: list[str]) -> Callable[[], object]:
        return lambda: [aggregate_ticks(t, p, v, tf, ES_SESSION) for tf in tfs]

    def stream(tfs: list[str]) -> Callable[[], object]:
        def run() -> int:
            agg = TickAggregator(tfs, ES_SESSION)
            push = agg.push
            closed = 0
            for a, b, c in zip(tl, pl, vl, strict=True):
                closed += len(push(a, b, c))
            return closed + len(agg.flush())

        return run

    def chunks(tfs: list[str], size: int) -> Callable[[], object]:
        def run() -> int:
            agg = TickAggregator(tfs, ES_SESSION)
            closed = 0
            for i in range(0, n, size):
                closed += len(agg.push_many(t[i : i + size], p[i : i + size], v[i : i + size]))
            return closed + len(agg.flush())

        return run

    print(
        f"{n:,} real ES ticks ({df['time_msc'].iloc[0]} .. {df['time_msc'].iloc[-1]} ms), "
        f"session 17:00 America/Chicago, best of {args.repeat}"
    )
    rows = [
        ("batch, M1 only", batch(["M1"])),
        (f"batch, {len(COMMON)} timeframes M1..D1 (each from ticks)", batch(COMMON)),
        (f"batch, all {len(ALL)} timeframes", batch(ALL)),
        (f"streaming push(), {len(COMMON)} timeframes", stream(COMMON)),
        (f"streaming push(), all {len(ALL)} timeframes", stream(ALL)),
        (f"streaming push_many() chunks of 1000, {len(COMMON)} timeframes", chunks(COMMON, 1000)),
        (f"streaming push_many() chunks of 100, {len(COMMON)} timeframes", chunks(COMMON, 100)),
    ]
    for label, fn in rows:
        sec = best(fn, args.repeat)
        print(f"  {label:<58} {n / sec:>14,.0f} ticks/s  ({sec * 1000:7.1f} ms)")


if __name__ == "__main__":
    main()
