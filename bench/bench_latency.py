"""Deal-to-outbox latency of the live loop, in process.

Usage: python bench/bench_latency.py [round_trips]   (default 300, i.e. 600 deals)

A PulseService runs on the fake ``MetaTrader5`` module (tests/fakes/fake_mt5.py: the real
feed code, its worker thread and lock, server-time conversion) and a SQLite file. A
scripted trader opens and closes positions (alternating small wins and losses, 4 minutes
apart, 30 a day over consecutive days, no rule tripped so every close gives exactly one
post-trade nudge; behaviour flags such as overtrading add their own). For every closing deal the
clock starts when ``feed.poll_deals()`` returns it and stops when the service tells its
subscribers, which happens after the poll's transaction (deals, trades, nudges, lockouts,
kernel state) has committed; the nudge row is then checked in the outbox. Prints p50, p95,
p99 and max, per quarter of the run (the kernel's saved state grows through the day), and
the time of a whole poll_once with no new deal (the idle cost per poll interval), and of
a poll bringing a late deal (older than events already applied: the kernel replays its log),
and a restart on the same file (start(): restore the saved state, history catch-up).

What a trader sees is this plus up to one poll interval (feeds.poll_interval_seconds,
default 1 s) plus the outbox worker's delivery.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import summary_line  # noqa: E402

from bot.feeds.mt5 import MT5Feed  # noqa: E402
from bot.service import PulseService  # noqa: E402
from pulse.config import parse_config  # noqa: E402
from pulse.kernel import NudgeOut, OutEvent  # noqa: E402
from pulse.models import Deal  # noqa: E402
from storage import repo_outbox  # noqa: E402
from tests.fakes.fake_mt5 import FakeMetaTrader5  # noqa: E402

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Prague
PER_DAY = 30  # round trips per trading day (08:00-10:00 Prague), then the next day
TRADER = 42


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now




def line(name: str, xs: list[float]) -> str:
    return summary_line(name, xs, width=28)


async def run(round_trips: int, db: Path) -> None:
    clock = Clock(T0)
    fake = FakeMetaTrader5(server_offset_hours=2.0, clock=clock)
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "risk_limits": {"max_trades_per_day": 10_000},
        "feeds": {"mt5": {"enabled": True, "login": 5001234, "server": "Broker-Demo"},
                  "watchlist": {"symbols": ["EURUSD"], "timeframes": ["M15"]}},
        "traders": [{"discord_user_id": TRADER, "account_login": 5001234, "feed": "mt5"}],
    }, env={})
    feed = MT5Feed(fake, feeds=cfg.feeds, password="s3cret", clock=clock)

    returned: dict[int, float] = {}
    real_poll = feed.poll_deals

    async def timed_poll() -> list[Deal]:
        deals = await real_poll()
        t = time.perf_counter()
        for d in deals:
            returned[d.ticket] = t
        return deals

    feed.poll_deals = timed_poll  # type: ignore[method-assign]
    delivered: dict[str, float] = {}

    def on_out(_tid: int, outs: list[OutEvent]) -> None:
        t = time.perf_counter()
        for o in outs:
            if isinstance(o, NudgeOut):
                delivered[o.dedupe_key] = t

    svc = PulseService(cfg, feeds={TRADER: feed}, bars_every=0)
    svc.on_out_events.append(on_out)
    await svc.start()
    latencies: list[float] = []
    idle: list[float] = []
    late: list[float] = []
    log_size = replays = main_replays = 0
    balance = 100_000.0
    try:
        ticket = 1
        for i in range(round_trips):
            if i and i % PER_DAY == 0:  # next trading day, same morning hours
                clock.now = T0 + timedelta(days=i // PER_DAY)
            clock.now += timedelta(minutes=2)
            fake.add_deal(ticket, clock.now, type=0, entry=0, position_id=ticket, volume=1.0,
                          price=1.1)
            await svc.poll_once()
            clock.now += timedelta(minutes=2)
            profit = 40.0 if i % 2 == 0 else -30.0
            balance += profit
            account: dict[str, float] = fake.account  # type: ignore[assignment]
            account.update(balance=balance, equity=balance)
            fake.add_deal(ticket + 1, clock.now, type=1, entry=1, position_id=ticket,
                          volume=1.0, price=1.1 + profit / 100_000, profit=profit)
            await svc.poll_once()
            key = f"{TRADER}:post_trade_prompt:{ticket}"
            latencies.append((delivered[key] - returned[ticket + 1]) * 1000)
            clock.now += timedelta(seconds=1)
            t = time.perf_counter()
            await svc.poll_once()
            idle.append((time.perf_counter() - t) * 1000)
            ticket += 2
        rows = await repo_outbox.list_outbox(svc.db, kind="post_trade_prompt")
        assert len(rows) == round_trips, (len(rows), round_trips)
        # Late deals: stamped before events already applied, so the kernel replays its
        # whole log (every event since start) to stay order-independent.
        replays_before = svc.kernel(TRADER).replays
        for _ in range(20):
            clock.now += timedelta(minutes=2)
            fake.add_deal(ticket, clock.now, type=0, entry=0, position_id=ticket,
                          volume=0.5, price=1.1)
            await svc.poll_once()
            clock.now += timedelta(seconds=10)
            fake.add_deal(ticket + 1, clock.now - timedelta(seconds=30), type=0, entry=0,
                          position_id=ticket + 1, volume=0.5, price=1.1)
            t = time.perf_counter()
            await svc.poll_once()
            late.append((time.perf_counter() - t) * 1000)
            ticket += 2
        log_size = len(svc.kernel(TRADER).export_state()["events"])
        replays = svc.kernel(TRADER).replays - replays_before
        main_replays = replays_before
    finally:
        await svc.stop()

    # A restart on the same file and terminal: restore the saved state, catch up.
    feed2 = MT5Feed(fake, feeds=cfg.feeds, password="s3cret", clock=clock)
    again = PulseService(cfg, feeds={TRADER: feed2}, bars_every=0)
    t = time.perf_counter()
    await again.start()
    restart_ms = (time.perf_counter() - t) * 1000
    await again.stop()

    deals = 2 * round_trips
    print(f"deal -> outbox row (committed), {round_trips} closing deals of {deals} deals, "
          f"fake MT5 + SQLite WAL file")
    print(line("all closing deals", latencies))
    q = max(1, len(latencies) // 4)
    for k in range(4):
        part = latencies[k * q:(k + 1) * q] if k < 3 else latencies[3 * q:]
        print(line(f"  quarter {k + 1}", part))
    print(line("idle poll (no new deal)", idle))
    print(line(f"late deal poll (replay {log_size})", late))
    print(f"restart (restore {log_size} logged events + history catch-up): "
          f"{restart_ms:.0f} ms")
    print(f"kernel replays: {main_replays} during the {deals} in-order deals, {replays} for "
          f"the {len(late)} late ones")
    print(f"mean {statistics.fmean(latencies):.2f} ms; target (DESIGN.md 10): p95 <= 100 ms "
          "beyond the poll interval")


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 300
    if n < 100:
        raise SystemExit("round_trips: use at least 100 (200+ closing deals recommended)")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(n, Path(tmp) / "bench.db"))


if __name__ == "__main__":
    main(sys.argv)


