"""Deal -> Discord request latency of the whole process, end to end, in real time.

Usage: python bench/bench_e2e_latency.py [round_trips] [poll_interval_s]
       (defaults: 150 round trips = 300 deals, 150 measured; poll interval 0.1 s)

The real process (bot.wiring.PulseProcess on a real discord.py PulseBot) runs against the
fake Discord (tests/fakes/discord_server.py) on 127.0.0.1, with a SQLite file, and one
trader on the MT5 feed over the fake ``MetaTrader5`` module (the real feed code: worker
thread, lock, server-time conversion, overlapping window + dedupe). The service polls
on its own loop every ``poll_interval`` seconds, as in production.

For every closing deal (a small win: one ``post_trade_prompt`` DM each, no rule tripped)
the clock starts when ``feed.poll_deals()`` returns the deal and stops when the DM's
``POST /channels/{dm}/messages`` arrives at the fake server. In between: the kernel,
one SQLite transaction (deals, trade, nudge row, lockouts), the subscribers, the outbox
worker waking (decisions: consent, settings, quiet hours, rate limit, a lease claim),
discord.py's REST call. Also printed: from the deal being written into the terminal
to the request (adds the wait for the next poll, 0..poll_interval).

Target (DESIGN.md section 10): p95 <= 100 ms beyond the poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import percentile, summary_line  # noqa: E402

from bot.app import PulseBot, serve  # noqa: E402
from bot.feeds.mt5 import MT5Feed  # noqa: E402
from bot.wiring import PulseProcess  # noqa: E402
from pulse.config import parse_config  # noqa: E402
from pulse.models import Deal  # noqa: E402
from tests.fakes.discord_server import ANN_ID, FakeDiscord  # noqa: E402
from tests.fakes.fake_mt5 import FakeMetaTrader5  # noqa: E402

WAIT = 10.0
_MESSAGES = re.compile(r"/channels/(\d+)/messages")


class TimedDiscord(FakeDiscord):
    """The fake Discord, stamping when each post-trade-prompt message arrives."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.prompt_arrivals: list[float] = []
        self.prompt_event = asyncio.Event()

    def _route(self, method: str, path: str, body: Any, files: list[str],
               authorized: bool) -> tuple[int, Any]:
        t = time.perf_counter()
        if method == "POST" and _MESSAGES.fullmatch(path) and isinstance(body, dict):
            footer = ((body.get("embeds") or [{}])[0].get("footer") or {}).get("text", "")
            if footer.endswith("post_trade_prompt"):
                self.prompt_arrivals.append(t)
                self.prompt_event.set()
        return super()._route(method, path, body, files, authorized)




def line(name: str, xs: list[float]) -> str:
    return summary_line(name, xs, width=34)


async def wait_for(pred: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not pred():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


async def run(round_trips: int, poll: float, db: Path) -> None:
    logging.basicConfig(level=logging.ERROR)
    real_clock = lambda: datetime.now(UTC)  # noqa: E731
    mt5 = FakeMetaTrader5(server_offset_hours=2.0, clock=real_clock)
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "risk_limits": {"max_trades_per_day": 100_000},
        "behavioral": {"overtrading_max_entries": 100_000},
        "discord": {"quiet_hours": None},
        "feeds": {"poll_interval_seconds": poll,
                  "mt5": {"enabled": True, "login": 5001234, "server": "Broker-Demo"},
                  "watchlist": {"symbols": ["EURUSD"], "timeframes": ["M15"]}},
        "traders": [{"discord_user_id": ANN_ID, "account_login": 5001234, "feed": "mt5",
                     "timezone": "UTC"}],
        "monitoring": {"port": 0},
    }, env={})
    feed = MT5Feed(mt5, feeds=cfg.feeds, password="s3cret", clock=real_clock)
    returned: dict[int, float] = {}
    inner = feed.poll_deals

    async def timed_poll() -> list[Deal]:
        deals = await inner()
        t = time.perf_counter()
        for d in deals:
            returned.setdefault(d.ticket, t)
        return deals

    feed.poll_deals = timed_poll  # type: ignore[method-assign]

    fake = TimedDiscord(heartbeat_interval_ms=5000)
    await fake.start()
    bot = PulseBot(cfg, sync_state_path=db.parent / "sync.json", guild_ready_timeout=0.05)
    process = PulseProcess(bot, feeds={ANN_ID: feed}, http_port=0,
                           service_options={"bars_every": 0}).install()
    beyond: list[float] = []
    total: list[float] = []
    with fake.redirect_discord():
        task = asyncio.create_task(serve(bot, fake.token, signals=()))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), timeout=WAIT)
            await process.wait_service(timeout=WAIT)  # started in the background
            balance = 100_000.0
            ticket = 1
            for _ in range(round_trips):
                mt5.add_deal(ticket, real_clock(), type=0, entry=0, position_id=ticket,
                             volume=0.1, price=1.1)
                await wait_for(lambda t=ticket: t in returned, f"entry {ticket} polled")
                balance += 12.0
                account: dict[str, Any] = mt5.account
                account.update(balance=balance, equity=balance)
                before = len(fake.prompt_arrivals)
                written = time.perf_counter()
                mt5.add_deal(ticket + 1, real_clock(), type=1, entry=1, position_id=ticket,
                             volume=0.1, price=1.1012, profit=12.0)
                await wait_for(lambda b=before: len(fake.prompt_arrivals) > b,
                               f"post-trade prompt of {ticket}")
                arrived = fake.prompt_arrivals[before]
                beyond.append((arrived - returned[ticket + 1]) * 1000)
                total.append((arrived - written) * 1000)
                ticket += 2
        finally:
            await bot.close()
            await asyncio.wait_for(task, timeout=30)
            await fake.stop()

    hist = process.metrics.deal_to_nudge
    count = next(s.value for m in hist.collect() for s in m.samples
                 if s.name.endswith("_count"))
    print(f"deal -> Discord request, real process (PulseBot + service + outbox) on the fake "
          f"Discord and fake MT5, SQLite WAL file, poll interval {poll:g} s")
    print(f"{round_trips} round trips = {2 * round_trips} deals; {len(beyond)} measured "
          "(closing deal -> post-trade prompt DM)")
    print(line("feed returned deal -> request", beyond))
    q = max(1, len(beyond) // 4)
    for k in range(4):
        part = beyond[k * q:(k + 1) * q] if k < 3 else beyond[3 * q:]
        print(line(f"  quarter {k + 1}", part))
    print(line("deal written in terminal -> request", total))
    print(f"mean beyond poll {statistics.fmean(beyond):.2f} ms; in-process histogram "
          f"pulse_deal_to_nudge_seconds saw {count:.0f} sends")
    verdict = "met" if percentile(beyond, 95) <= 100 else "NOT met"
    print(f"target p95 <= 100 ms beyond the poll interval: {verdict}")


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 150
    poll = float(argv[2]) if len(argv) > 2 else 0.1
    if n < 100:
        raise SystemExit("round_trips: use at least 100")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(n, poll, Path(tmp) / "bench.db"))


if __name__ == "__main__":
    main(sys.argv)
