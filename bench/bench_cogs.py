"""Command latency of the trading cogs: callback start to answer, no network.

Usage: python bench/bench_cogs.py [--runs N]

A real PulseService on a temporary SQLite file, fed by the fake MetaTrader5 module
through the real MT5 feed (400 real EURUSD H1 bars from ``backtesting``), and the cogs
called through their app-command callbacks with the Discord fakes. Prints p50 / p95 / max
wall time per command: /status (in memory), /risk check (a verdict persisted to SQLite),
/split, /signals, and /score (bars, analysis and the chart in worker threads).
While /score renders, a ticker on the event loop measures the longest stall of the loop
(the point of running the chart in a thread).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes

from bot.app import PulseBot
from bot.feeds.mt5 import MT5Feed
from bot.service import PulseService
from tests.cogs.conftest import (
    ANN,
    EXTENSIONS,
    Clock,
    eurusd_rows,
    make_config,
    no_sleep,
)
from tests.fakes.discord_helpers import FakeMember, invoke, make_interaction
from tests.fakes.fake_mt5 import FakeMetaTrader5


async def timed(runs: int, call: Callable[[], Awaitable[None]]) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (f"{name:<12} n={len(ms):<4} p50 {statistics.median(ms):8.2f} ms   "
            f"p95 {p95:8.2f} ms   max {ms[-1]:8.2f} ms")


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = Clock()
        cfg = make_config(Path(tmp) / "bench.db")
        fake = FakeMetaTrader5(server_offset_hours=2.0, clock=clock)
        fake.set_rates("EURUSD", fake.TIMEFRAME_H1, eurusd_rows())
        fake.set_rates("GBPUSD", fake.TIMEFRAME_H1, eurusd_rows(400, scale=1.17))
        feed = MT5Feed(fake, feeds=cfg.feeds, password="s3cret", clock=clock)
        svc = PulseService(cfg, feeds={ANN: feed}, sleep=no_sleep, bars_every=0)
        await svc.start()
        await svc.refresh_scores()
        bot = PulseBot(cfg, extensions=EXTENSIONS, sync_state_path=Path(tmp) / "sync.json")
        bot.service = svc  # type: ignore[attr-defined]
        for ext in EXTENSIONS:
            await bot.load_extension(ext)
        status: Any = bot.get_cog("Status")
        risk: Any = bot.get_cog("Risk")
        analysis: Any = bot.get_cog("Analysis")
        ann = FakeMember(ANN, "ann")

        def run(cmd: Any, **opts: Any) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                await invoke(cmd, make_interaction(client=bot, user=ann), **opts)
            return call

        try:
            print(f"trading cogs, {runs} runs each (score: {max(3, runs // 10)})")
            print(line("/status", await timed(runs, run(status.status))))
            print(line("/risk check", await timed(runs, run(
                risk.check, symbol="EURUSD", side="buy", volume=0.1, price=1.1, stop=1.098))))
            print(line("/split", await timed(runs, run(
                risk.split, symbol="EURUSD", side="buy", price=1.1, stop=1.098))))
            print(line("/signals", await timed(runs, run(analysis.signals))))

            stalls: list[float] = []
            done = asyncio.Event()

            async def ticker() -> None:
                while not done.is_set():
                    t0 = time.perf_counter()
                    await asyncio.sleep(0.005)
                    stalls.append((time.perf_counter() - t0) * 1000 - 5)

            tick = asyncio.create_task(ticker())
            score_ms = await timed(max(3, runs // 10),
                                   run(analysis.score, symbol="EURUSD", timeframe="H1"))
            done.set()
            await tick
            print(line("/score", score_ms))
            print(f"event-loop stall during /score: max {max(stalls):.1f} ms "
                  f"(p95 {sorted(stalls)[int(0.95 * (len(stalls) - 1))]:.1f} ms)")
        finally:
            await bot.close()
            await svc.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    asyncio.run(main(ap.parse_args().runs))
