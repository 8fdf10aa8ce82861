"""Latency of the journal cogs on a large journal: callback start to answer, no network.

Usage: python bench/bench_journal_cogs.py [--trades N] [--runs R]

A temporary SQLite database holds one trader with N trades (default 2000, over about a
year) and a pre-trade entry for 70% of them; the cogs are called through their
app-command callbacks with the Discord fakes. Prints p50 / p95 / max wall time per
command and, while each runs, the longest stall of the event loop (a 2 ms ticker): what
other work in the process (nudge delivery) would wait for. On a loaded machine a stall
also includes time the OS did not run the process: compare with ``uptime``'s load.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes

from bot.app import PulseBot
from bot.wiring import freeze_heap
from pulse.config import load_config
from pulse.models import Deal, DealEntry, DealType, Driver, JournalEntry, JournalKind
from pulse.trades import reconstruct_trades
from storage import open_database
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_journal import add_journal_entry
from storage.repo_traders import ensure_account, upsert_trader
from tests.fakes.discord_helpers import FakeGuild, FakeMember, FakeTextChannel, invoke
from tests.fakes.discord_helpers import make_interaction as interaction

TRADER = 1_111_111_111_111_111_101
START = datetime(2025, 3, 3, 7, tzinfo=UTC)


def journal_data(n: int, seed: int = 11) -> tuple[list[Deal], list[JournalEntry]]:
    rnd = random.Random(seed)
    t = START
    deals = [Deal(ticket=10**9, time=START - timedelta(days=1), type=DealType.BALANCE,
                  profit=100_000.0)]
    entries: list[JournalEntry] = []
    for pos in range(1, n + 1):
        t += timedelta(minutes=rnd.randint(20, 300))
        side = rnd.choice((DealType.BUY, DealType.SELL))
        other = DealType.SELL if side is DealType.BUY else DealType.BUY
        sym = rnd.choice(("EURUSD", "GBPUSD", "XAUUSD"))
        price = 1.1 + rnd.uniform(-0.05, 0.05)
        common = dict(volume=1.0, price=price, symbol=sym, position_id=pos, commission=-3.5)
        deals.append(Deal(ticket=2 * pos, order=2 * pos, time=t, type=side,
                          entry=DealEntry.IN, **common))
        deals.append(Deal(ticket=2 * pos + 1, order=2 * pos + 1, time=t + timedelta(minutes=40),
                          type=other, entry=DealEntry.OUT, profit=round(rnd.gauss(10, 120), 2),
                          **common))
        if rnd.random() < 0.7:
            entries.append(JournalEntry(
                trader_id=TRADER, kind=JournalKind.PRE_TRADE, at=t - timedelta(minutes=1),
                confidence=rnd.randint(1, 10), driver=rnd.choice(list(Driver)),
                setup_tag=rnd.choice(("breakout", "pullback", "fade", "range")), symbol=sym))
    return deals, entries


async def stall_during(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(wall seconds of ``work``, longest event-loop stall in seconds while it ran)."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.002)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    await work()
    wall = time.perf_counter() - t0
    done = True
    await tick
    return wall, worst


async def main(n_trades: int, runs: int, freeze: bool = True) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = await open_database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        deals, entries = journal_data(n_trades)
        await upsert_trader(engine, TRADER, at=START, timezone="Europe/Prague")
        acct = await ensure_account(engine, 111, at=START, trader_id=TRADER)
        await insert_deals(engine, acct.id, deals)
        await upsert_trades(engine, acct.id, reconstruct_trades(deals))
        for e in entries:
            await add_journal_entry(engine, e)
        last_day = max(d.time for d in deals).date().isoformat()

        bot = PulseBot(load_config(None), extensions=(), sync_state_path=Path(tmp) / "s.json")
        bot.engine = engine  # type: ignore[attr-defined]
        for ext in ("cogs.journal", "cogs.summary"):
            await bot.load_extension(ext)
        journal: Any = bot.get_cog("Journal")
        summary: Any = bot.get_cog("Summary")
        guild = FakeGuild()
        FakeTextChannel(guild=guild)
        user = FakeMember(TRADER, guild=guild)

        cases: list[tuple[str, Any, dict[str, Any]]] = [
            ("/journal list", journal.list_entries, {"limit": 25}),
            ("/journal stats", journal.stats, {}),
            ("/journal stats symbol", journal.stats, {"symbol": "EURUSD", "since": "2025-06-01"}),
            ("/journal export csv", journal.export, {}),
            ("/journal export json", journal.export, {"format": "json"}),
            ("/summary day", summary.day, {"date": last_day}),
            ("/summary week", summary.week, {"date": last_day}),
        ]
        if freeze:
            frozen = freeze_heap()  # as `pulse run` does once started (bot/wiring.py)
            print(f"start-up heap frozen: {frozen} objects")
        print(f"{n_trades} trades, {len(entries)} journal entries, {runs} runs per command")
        print(f"{'command':24} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
              f"{'stall p50 ms':>13} {'stall max ms':>13}")
        for name, cmd, opts in cases:
            walls: list[float] = []
            stalls: list[float] = []
            for _ in range(runs):
                inter = interaction(client=bot, user=user, guild=guild)

                async def run(cmd: Any = cmd, inter: Any = inter,
                              opts: dict[str, Any] = opts) -> None:
                    await invoke(cmd, inter, **opts)

                wall, stall = await stall_during(run)
                assert inter.messages, f"{name}: no answer"
                walls.append(wall)
                stalls.append(stall)
            walls.sort()
            p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
            print(f"{name:24} {statistics.median(walls) * 1e3:8.1f} {p95 * 1e3:8.1f} "
                  f"{walls[-1] * 1e3:8.1f} {statistics.median(stalls) * 1e3:13.1f} "
                  f"{max(stalls) * 1e3:13.1f}")
        await bot.close()
        await engine.dispose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trades", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-freeze", action="store_true",
                    help="leave the start-up heap to the garbage collector (as before)")
    a = ap.parse_args()
    asyncio.run(main(a.trades, a.runs, freeze=not a.no_freeze))
