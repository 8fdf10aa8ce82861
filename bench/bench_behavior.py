"""Behaviour engine speed: ``flags_for_entry`` per entry on a long synthetic trade stream.

Usage: python bench/bench_behavior.py [days]

A seeded synthetic trader (Europe/Prague): 2-14 entries a day, bursts after losses, sizes
that grow after wins and losses, 45% losers, some entries at night, 6 months by default.
Each entry is judged as the kernel would judge it, three ways:

* ``tape``: one TradeTape of the whole history, upserted as trades open and close
  (the recommended way for a long-lived caller);
* ``bounded list``: a plain list of the day's trades plus the 40 entries before the day;
* ``full list``: a plain list of the whole history (the engine sorts it on every call;
  shown to make the O(n log n) cost of that choice visible).

Prints microseconds per call (median, p95) and calls per second; the kernel's budget is
50,000 events/s overall (DESIGN.md section 10 via issue 3).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from _stats import percentile

from pulse.behavior import BehaviorEngine, Flag, TradeTape
from pulse.config import BehavioralConfig
from pulse.models import Side, Trade

TZ = ZoneInfo("Europe/Prague")


def stream(days: int, seed: int = 7) -> list[Trade]:
    """Closed trades in entry order (each with its close time)."""
    rng = random.Random(seed)
    out: list[Trade] = []
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    n = 0
    size = 1.0
    for d in range(days):
        t = start + timedelta(days=d, minutes=rng.randint(0, 120))
        for _ in range(rng.randint(2, 14)):
            n += 1
            loss = rng.random() < 0.45
            dur = timedelta(minutes=rng.randint(1, 90))
            pnl = -rng.uniform(20, 400) if loss else rng.uniform(20, 500)
            out.append(
                Trade(
                    trade_id=str(n),
                    position_id=n,
                    symbol=rng.choice(["EURUSD", "GBPUSD", "XAUUSD"]),
                    side=Side.BUY,
                    open_time=t,
                    close_time=t + dur,
                    entry_volume=round(size, 2),
                    volume=round(size, 2),
                    closed_volume=round(size, 2),
                    entry_price=1.1,
                    exit_price=1.1,
                    profit=pnl,
                )
            )
            size = max(0.1, min(5.0, size * rng.choice([0.8, 1.0, 1.0, 1.25, 1.5])))
            gap = rng.randint(1, 10) if loss else rng.randint(5, 120)
            t = t + dur + timedelta(minutes=gap)
    return out




def run(days: int) -> None:
    trades = stream(days)
    engine = BehaviorEngine(BehavioralConfig(), tz=TZ)
    print(f"{len(trades)} entries over {days} days")

    def as_open(t: Trade) -> Trade:
        return t.model_copy(update={"close_time": None, "closed_volume": 0.0, "profit": 0.0})

    # Tape: upsert the open entry, judge it, later the closed version replaces it.
    tape = TradeTape()
    times: list[float] = []
    flags: list[Flag] = []
    pending: list[Trade] = []  # closed versions not yet applied (by close time)
    for t in trades:
        pending.sort(key=lambda x: x.close_time or t.open_time)
        while pending and (pending[0].close_time or t.open_time) <= t.open_time:
            tape.upsert(pending.pop(0))
        entry = as_open(t)
        t0 = time.perf_counter()
        flags += engine.flags_for_entry(entry, tape, 30.0)
        times.append(time.perf_counter() - t0)
        tape.upsert(entry)
        pending.append(t)
    report("tape", times)
    counts = {f: sum(1 for x in flags if x.id == f) for f in sorted({x.id for x in flags})}
    print(f"  flags raised: {counts}")

    # Bounded list: today's trades (local day) + the 40 entries before the day.
    times = []
    for i, t in enumerate(trades):
        day_start = t.open_time.astimezone(TZ).replace(hour=0, minute=0, second=0)
        j = i
        while j > 0 and trades[j - 1].open_time >= day_start:
            j -= 1
        window = [
            x if x.close_time is not None and x.close_time <= t.open_time else as_open(x)
            for x in trades[max(0, j - 40) : i]
        ]
        entry = as_open(t)
        t0 = time.perf_counter()
        engine.flags_for_entry(entry, window, 30.0)
        times.append(time.perf_counter() - t0)
    report("bounded list", times)

    for size in (1_000, 10_000):
        if size > len(trades):
            continue
        hist = trades[:size]
        entry = as_open(trades[size]) if size < len(trades) else as_open(trades[-1])
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            engine.flags_for_entry(entry, hist, 30.0)
            times.append(time.perf_counter() - t0)
        report(f"full list of {size}", times)

    day = flags[-12:]
    times = []
    for _ in range(2000):
        t0 = time.perf_counter()
        engine.report(day, 2, 1)
        times.append(time.perf_counter() - t0)
    report("report (12 flags)", times)


def report(name: str, times: list[float]) -> None:
    med = statistics.median(times) * 1e6
    print(
        f"  {name:<20} median {med:8.1f} us   p95 {percentile(times, 95) * 1e6:8.1f} us   "
        f"{1e6 / med:>10,.0f} calls/s"
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 180)
