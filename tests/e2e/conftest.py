"""Fixtures: a fake Discord on 127.0.0.1 and the real PulseBot running against it."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.app import PulseBot, serve
from pulse.config import PulseConfig, load_config
from tests.fakes.discord_server import FakeDiscord

READY_TIMEOUT = 10.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(heartbeat_interval_ms=200)
    await server.start()
    try:
        with server.redirect_discord():
            yield server
    finally:
        await server.stop()


@pytest.fixture
def sync_state(tmp_path: Path) -> Path:
    return tmp_path / "pulse-command-sync.json"


class RunningBot:
    """The bot plus the task running :func:`bot.app.serve`."""

    def __init__(self, bot: PulseBot, task: asyncio.Task[None]) -> None:
        self.bot = bot
        self.task = task

    async def stop(self) -> None:
        await self.bot.close()
        await asyncio.wait_for(self.task, timeout=READY_TIMEOUT)


BotFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningBot]]


@pytest.fixture
def start_bot(fake: FakeDiscord, sync_state: Path) -> BotFactory:
    """``async with start_bot(config=..., signals=...) as running:`` until READY."""

    @contextlib.asynccontextmanager
    async def _start(
        *,
        config: PulseConfig | None = None,
        token: str | None = None,
        signals: Sequence[signal.Signals] = (),
        setup: Callable[[PulseBot], Any] | None = None,
    ) -> AsyncIterator[RunningBot]:
        bot = PulseBot(config or load_config(None), sync_state_path=sync_state,
                       guild_ready_timeout=0.05)
        if setup is not None:
            setup(bot)
        task = asyncio.create_task(serve(bot, token or fake.token, signals=signals))
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait({task, ready}, timeout=READY_TIMEOUT,
                                         return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # raise what stopped the bot
                raise AssertionError("the bot stopped before READY")
            assert ready in done, "bot not READY in time"
            running = RunningBot(bot, task)
            yield running
        finally:
            ready.cancel()
            if not task.done():
                await bot.close()
                await asyncio.wait_for(task, timeout=READY_TIMEOUT)

    return _start
