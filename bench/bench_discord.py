"""Discord-side latency of the real bot against the fake Discord on 127.0.0.1.

Two figures, p50/p95 over N runs, with real discord.py 2.7 and real HTTP/websocket:
  * /help: INTERACTION_CREATE sent by the fake gateway -> the bot's callback POST
    arriving at the fake (gateway parse + app-command dispatch + cog + REST);
  * DM: ``await channel.send(...)`` round trip to the fake and back (the
    last leg of "deal seen -> nudge request"; the kernel and outbox legs are added
    by the outbox benchmark later).

Run: /tmp/venv/bin/python bench/bench_discord.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from _stats import summary_line

from bot.app import PulseBot, serve
from pulse.config import load_config
from tests.fakes.discord_server import ANN_ID, GUILD_ID, FakeDiscord


async def main(n: int) -> None:
    async with FakeDiscord() as fake:
        with fake.redirect_discord(), tempfile.TemporaryDirectory() as tmp:
            bot = PulseBot(load_config(None), sync_state_path=Path(tmp) / "s.json",
                           guild_ready_timeout=0.05)
            task = asyncio.create_task(serve(bot, fake.token, signals=()))
            await asyncio.wait_for(bot.wait_until_ready(), 10)

            help_ms: list[float] = []
            for _ in range(n):
                payload = fake.slash_interaction("help", user_id=ANN_ID, guild_id=GUILD_ID)
                t0 = time.perf_counter()
                await fake.push_interaction(payload)
                help_ms.append((time.perf_counter() - t0) * 1000)

            dm = await bot.create_dm(discord.Object(id=ANN_ID))
            dm_ms: list[float] = []
            for i in range(n):
                t0 = time.perf_counter()
                await dm.send(f"nudge {i}")
                dm_ms.append((time.perf_counter() - t0) * 1000)

            await bot.close()
            await task
    for name, xs in (("/help interaction -> callback POST", help_ms),
                     ("DM channel.send() round trip", dm_ms)):
        print(summary_line(name, xs, width=38))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
