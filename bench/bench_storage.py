"""Trade reconstruction and storage speed.

Usage: python bench/bench_storage.py [positions]

A seeded synthetic account (hedging and netting mixed): each position has 1-3 entries,
1-3 exits, some netting reversals, plus balance and commission rows. Prints:

* TradeBook ingest in time order and shuffled (late deals rebuild their position),
  in deals per second (the kernel's budget is 50,000 events/s overall);
* deal ingest into a SQLite file: batches of 500 (a poll window) and one deal per
  transaction (a live feed), in deals per second; re-ingesting the same deals;
* trade upserts, outbox enqueues, and two engines writing one file at once.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pulse.models import Deal, DealEntry, DealType, Nudge
from pulse.trades import TradeBook
from storage import make_engine, open_database
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_outbox import enqueue_nudge
from storage.repo_traders import ensure_account

T0 = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def synthetic_deals(n_positions: int, seed: int = 11) -> list[Deal]:
    rnd = random.Random(seed)
    out: list[Deal] = []
    ticket = 0
    t = T0

    def add(pid: int, typ: DealType, entry: DealEntry, vol: float, **kw: float) -> None:
        nonlocal ticket, t
        ticket += 1
        t += timedelta(seconds=rnd.randint(1, 90))
        out.append(
            Deal(
                ticket=ticket,
                time=t,
                time_msc=ticket,
                type=typ,
                entry=entry,
                position_id=pid,
                volume=vol,
                price=1.1 + rnd.uniform(-0.01, 0.01),
                symbol=rnd.choice(("EURUSD", "GBPUSD", "XAUUSD")),
                **kw,
            )
        )

    for pid in range(1, n_positions + 1):
        side = rnd.choice((DealType.BUY, DealType.SELL))
        opp = DealType.SELL if side is DealType.BUY else DealType.BUY
        vols = [round(rnd.uniform(0.1, 1.0), 2) for _ in range(rnd.randint(1, 3))]
        for v in vols:
            add(pid, side, DealEntry.IN, v, commission=-3.5 * v)
        open_vol = sum(vols)
        if rnd.random() < 0.1:
            add(pid, opp, DealEntry.INOUT, open_vol + 0.5, profit=rnd.uniform(-200, 200))
            add(pid, side, DealEntry.OUT, 0.5, profit=rnd.uniform(-100, 100))
            continue
        parts = rnd.randint(1, 3)
        for i in range(parts):
            v = open_vol / parts
            add(pid, opp, DealEntry.OUT, v, profit=rnd.uniform(-150, 150), swap=-0.1 * i)
        if pid % 50 == 0:
            ticket += 1
            out.append(Deal(ticket=ticket, time=t, type=DealType.COMMISSION, profit=-10.0))
    return out


def bench_tradebook(deals: list[Deal]) -> None:
    for label, order in (
        ("in order", deals),
        ("shuffled", random.Random(3).sample(deals, len(deals))),
    ):
        best = float("inf")
        for _ in range(3):
            book = TradeBook()
            t = time.perf_counter()
            for d in order:
                book.add(d)
            best = min(best, time.perf_counter() - t)
        n_trades = len(book.trades())
        print(
            f"TradeBook {label:9s}: {len(deals) / best:10,.0f} deals/s "
            f"({len(deals)} deals -> {n_trades} trades, {best * 1e6 / len(deals):.1f} us/deal)"
        )


async def bench_storage(deals: list[Deal], tmp: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    eng = await open_database(url)
    acc = await ensure_account(eng, 1, at=T0)

    t = time.perf_counter()
    for k in range(0, len(deals), 500):
        await insert_deals(eng, acc.id, deals[k : k + 500])
    dt = time.perf_counter() - t
    print(f"SQLite insert_deals, batches of 500      : {len(deals) / dt:10,.0f} deals/s")

    t = time.perf_counter()
    for k in range(0, len(deals), 500):
        assert await insert_deals(eng, acc.id, deals[k : k + 500]) == []
    dt = time.perf_counter() - t
    print(f"SQLite re-ingest (all duplicates)       : {len(deals) / dt:10,.0f} deals/s")

    acc2 = await ensure_account(eng, 2, at=T0)
    few = deals[:500]
    t = time.perf_counter()
    for d in few:
        await insert_deals(eng, acc2.id, [d])
    dt = time.perf_counter() - t
    print(
        f"SQLite insert_deals, 1 per transaction  : {len(few) / dt:10,.0f} deals/s "
        f"({dt / len(few) * 1e3:.2f} ms each)"
    )

    trades = TradeBook(deals).trades()
    t = time.perf_counter()
    await upsert_trades(eng, acc.id, trades)
    await upsert_trades(eng, acc.id, trades)
    dt = time.perf_counter() - t
    print(f"SQLite upsert_trades (insert + update)  : {2 * len(trades) / dt:10,.0f} trades/s")

    t = time.perf_counter()
    n = 1000
    for i in range(n):
        await enqueue_nudge(eng, Nudge(at=T0, kind="revenge", text="x", dedupe_key=f"k{i % 500}"))
    dt = time.perf_counter() - t
    print(f"SQLite enqueue_nudge (50% duplicates)   : {n / dt:10,.0f} nudges/s")
    await eng.dispose()

    async def writer(lo: int, hi: int) -> None:
        e = make_engine(url)
        a = await ensure_account(e, 3, at=T0)
        for d in deals[lo:hi]:
            await insert_deals(e, a.id, [d])
        await e.dispose()

    t = time.perf_counter()
    await asyncio.gather(writer(0, 600), writer(400, 1000))
    dt = time.perf_counter() - t
    print(f"SQLite two engines, 1 deal/transaction  : {1200 / dt:10,.0f} inserts/s combined")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    deals = synthetic_deals(n)
    bench_tradebook(deals)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench_storage(deals, Path(tmp)))


if __name__ == "__main__":
    main()
