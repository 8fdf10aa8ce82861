"""Outbox delivery speed: from enqueue to the Discord request, and summary job cost.

Usage: python bench/bench_outbox.py [nudges]

The real discord.py client (REST only) sends to the fake Discord server of
tests/fakes/discord_server.py on 127.0.0.1; storage is a SQLite file in a temp dir.
Prints:

* latency from ``OutboxWorker.enqueue`` (the row written, the loop woken) to the
  request arriving at the fake server, one nudge at a time: p50 / p95 / max;
* throughput of a backlog (``nudges`` rows queued, then the worker started) in DMs/s;
* the same backlog with every DM refused (403/50007) and the coach channel fallback;
* one daily summary job (storage read, pure builder, PNG chart, enqueue), median.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes

from _stats import percentile

from bot.delivery import DiscordDelivery
from bot.outbox import OutboxPolicy, OutboxWorker
from bot.scheduler import SummaryScheduler
from pulse.config import parse_config
from pulse.models import Deal, DealType, Nudge, Severity, Side
from storage import open_database
from storage.repo_coach import grant_consent
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_traders import ensure_account, upsert_trader
from tests.fakes.discord_server import ANN_ID, BOB_ID, COACH_CHANNEL_ID, CORA_ID, FakeDiscord
from tests.journal.helpers import DealMaker, trades_of

T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # 11:00 in Prague: no quiet hours




async def main(n: int) -> None:
    config = parse_config({"discord": {"nudge_rate_limit_seconds": 0}})
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        fake = FakeDiscord()
        await fake.start()
        client = discord.Client(intents=discord.Intents(guilds=True))
        try:
            with fake.redirect_discord():
                await client.login(fake.token)
                delivery = DiscordDelivery(client)
                clock = lambda: T0  # noqa: E731 - fixed "now": no quiet hours, all due
                worker = OutboxWorker(db, config, delivery, clock=clock,
                                      policy=OutboxPolicy(poll_interval=30.0))
                await upsert_trader(db, ANN_ID, at=T0, timezone="Europe/Prague")
                worker.start()
                # warm-up: open the DM channel, first connections
                await worker.enqueue(Nudge(at=T0, kind="tilt", text="warm", dedupe_key="w",
                                           trader_id=ANN_ID))
                await fake.wait_for_request("POST", r"/channels/\d+/messages")
                lat: list[float] = []
                for i in range(n):
                    before = len(fake.requests)
                    t = time.perf_counter()
                    await worker.enqueue(Nudge(at=T0, kind="revenge", severity=Severity.WARNING,
                                               text=f"n{i}", dedupe_key=f"lat:{i}",
                                               trader_id=ANN_ID))
                    while len(fake.requests) == before:
                        fake._changed.clear()
                        await fake._changed.wait()
                    lat.append((time.perf_counter() - t) * 1000)
                await worker.stop()
                print(f"enqueue -> Discord request, {n} nudges one at a time: "
                      f"p50 {statistics.median(lat):.1f} ms, p95 {percentile(lat, 95):.1f} ms, "
                      f"max {max(lat):.1f} ms")

                for label, user in (("DM", ANN_ID), ("DMs closed -> coach channel", BOB_ID)):
                    if user == BOB_ID:
                        fake.close_dms(BOB_ID)
                        await grant_consent(db, BOB_ID, CORA_ID, T0,
                                            channel_id=COACH_CHANNEL_ID)
                    for i in range(n):
                        await worker.enqueue(Nudge(at=T0, kind="fatigue", text=f"b{i}",
                                                   dedupe_key=f"{label}:{i}", trader_id=user))
                    t = time.perf_counter()
                    done = 0
                    while done < n:
                        done += sum(o.status == "sent" for o in await worker.run_once())
                    dt = time.perf_counter() - t
                    print(f"backlog of {n}, {label}: {n / dt:.0f} nudges/s "
                          f"({dt * 1000 / n:.1f} ms each)")

                # one daily summary job
                acct = await ensure_account(db, 5001, at=T0, trader_id=ANN_ID)
                m = DealMaker()
                deals = [Deal(ticket=999, time=T0 - timedelta(days=3), type=DealType.BALANCE,
                              profit=10_000.0)]
                for day in range(5):  # 8 trades a day on each of the 5 days summarised
                    for k in range(8):
                        opened = T0 - timedelta(days=day, hours=2) + timedelta(minutes=40 * k)
                        deals += m.round_trip(day * 8 + k + 1, opened, 20, Side.BUY,
                                              100.0 if k % 3 else -80.0)
                await insert_deals(db, acct.id, deals)
                await upsert_trades(db, acct.id, trades_of(deals))
                sched = SummaryScheduler(db, config, worker, clock=clock)
                times = []
                for day in range(5):
                    at = T0.replace(hour=20) + timedelta(days=-day)
                    t = time.perf_counter()
                    assert await sched.run_daily(ANN_ID, at=at) is not None
                    times.append((time.perf_counter() - t) * 1000)
                print(f"daily summary job (40 stored trades, 8 that day, chart, enqueue): median "
                      f"{statistics.median(times):.0f} ms over {len(times)} runs")
        finally:
            await client.close()
            await fake.stop()
            await db.dispose()
    print(f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
