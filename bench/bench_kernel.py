"""Kernel throughput on a long synthetic stream: events per second.

The stream is a trader's months (see :func:`stream`). Profits are random, so cooling
periods, breaks, daily-loss warnings, behaviour flags, violations and day summaries all
happen along the way. Prints events/s (best CPU time of 3 runs) for the batch path
(``process_many``, its outputs kept; it pauses the cyclic garbage collector, see
``pulse/collector.py``), the one-event-at-a-time path (``process``, the live loop's; the
collector runs as usual), a deals-and-checks-only stream, and the cost of a restart
(``restore`` of an ``export_state``).

    /tmp/venv/bin/python bench/bench_kernel.py [n_trades]
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pulse.kernel import (
    CheckEvent,
    DealEvent,
    EquityEvent,
    InEvent,
    PulseKernel,
    event_sort_key,
)
from pulse.models import Deal, DealEntry, DealType, Side, SymbolSpec, TradeRequest

TZ = ZoneInfo("Europe/Prague")
SYMS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD")
SPECS = {s: SymbolSpec(name=s, tick_size=0.00001, tick_value=1.0) for s in SYMS}


def stream(n_trades: int, seed: int = 7, snapshots: bool = True) -> list[InEvent]:
    """A trader's months: 3-6 trades per weekday from 08:00 Prague, 20% closed in two
    parts; an account snapshot after every deal (the feed polls it), a check before every
    second entry. ``snapshots=False`` gives the deals and checks only."""
    rnd = random.Random(seed)
    events: list[InEvent] = []
    day = datetime(2026, 1, 5, 8, 0, tzinfo=TZ)
    balance = 100_000.0
    ticket = 0
    pos = 0
    while pos < n_trades:
        at = day + timedelta(minutes=rnd.randint(0, 60))
        for _ in range(rnd.randint(3, 6)):
            pos += 1
            if pos > n_trades:
                break
            sym = SYMS[pos % len(SYMS)]
            buy = rnd.random() < 0.5
            vol = rnd.choice((0.5, 1.0, 1.0, 1.5, 2.0))
            t_in, t_out = (DealType.BUY, DealType.SELL) if buy else (DealType.SELL, DealType.BUY)
            if pos % 2 == 0:
                req = TradeRequest(time=at, symbol=sym, side=Side.BUY if buy else Side.SELL,
                                   volume=vol, price=1.1, sl=1.098)
                events.append(CheckEvent(at, req))
            ticket += 1
            legs = [Deal(ticket=ticket, time=at, type=t_in, entry=DealEntry.IN,
                         position_id=pos, volume=vol, price=1.1, symbol=sym,
                         commission=-3.5 * vol)]
            net = round(rnd.gauss(30, 350), 2)
            parts = 2 if rnd.random() < 0.2 else 1
            for _k in range(parts):
                at += timedelta(minutes=rnd.randint(3, 40))
                ticket += 1
                legs.append(Deal(ticket=ticket, time=at, type=t_out, entry=DealEntry.OUT,
                                 position_id=pos, volume=vol / parts, price=1.1,
                                 profit=round(net / parts, 2), symbol=sym))
            for d in legs:
                events.append(DealEvent(d.time, d))
                balance += d.net
                if snapshots:
                    events.append(EquityEvent(d.time + timedelta(seconds=1), balance,
                                              balance + rnd.gauss(0, 40)))
            at += timedelta(minutes=rnd.randint(20, 90))
        day += timedelta(days=3 if day.weekday() == 4 else 1)
    return events


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """Best CPU time of ``runs`` calls (process time: other processes don't count)."""
    best = float("inf")
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    events = sorted(stream(n), key=event_sort_key)
    deals_only = sorted(stream(n, snapshots=False), key=event_sort_key)
    span = (events[-1].at - events[0].at).days

    def fresh() -> PulseKernel:
        return PulseKernel(None, symbols=SPECS, initial_balance=100_000, trader_tz=TZ)

    k = fresh()
    out = k.process_many(events)
    kinds = Counter(type(o).__name__ for o in out)
    batch = best_of(3, lambda: fresh().process_many(events))

    def one_by_one(evs: list[InEvent]) -> None:
        kk = fresh()
        for e in evs:
            kk.process(e)

    single = best_of(3, lambda: one_by_one(events))
    dealt = best_of(3, lambda: one_by_one(deals_only))
    blob = k.export_state()
    restart = best_of(1, lambda: PulseKernel.restore(
        blob, None, symbols=SPECS, initial_balance=100_000, trader_tz=TZ))

    print(f"stream: {len(events):,} events ({n:,} trades, {span} days): deals, a snapshot "
          "after each deal, a check before every 2nd entry")
    print("out-events: " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    print(f"process_many (sorted batch): {len(events) / batch:,.0f} events/s")
    print(f"process (one at a time):     {len(events) / single:,.0f} events/s")
    print(f"deals and checks only:       {len(deals_only) / dealt:,.0f} events/s "
          f"({len(deals_only):,} events)")
    print(f"restart (restore {len(blob['events']):,} logged events): {restart:.2f} s CPU")
    rate = len(events) / batch
    print(f"target >= 50,000 events/s: {'MET' if rate >= 50_000 else 'MISSED'} ({rate:,.0f})")


if __name__ == "__main__":
    main()
