"""A terminal that does not answer cannot hold the Discord connection: the mt5linux
bridge is reached in connect() (not when the feed is built), and the process starts the
service in the background instead of inside setup_hook."""

from __future__ import annotations

import asyncio
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from bot.app import PulseBot
from bot.feeds.base import FeedHealth, FeedUnavailable
from bot.feeds.mt5 import LazyBridge, MT5Feed
from bot.feeds.replay import ReplayFeed
from bot.wiring import PulseProcess
from pulse.config import Secrets, parse_config
from tests.fakes.fake_mt5 import FakeMetaTrader5

# -- the bridge: lazy


class _Bridges:
    """A stand-in ``mt5linux`` module whose client constructor records where it ran."""

    def __init__(self) -> None:
        self.built_in: list[str] = []
        self.refuse = True
        self.terminal = FakeMetaTrader5()

    def client(self, host: str, port: int) -> Any:
        self.built_in.append(threading.current_thread().name)
        if self.refuse:
            raise ConnectionRefusedError(111, "Connection refused")
        return self.terminal


@pytest.fixture
def bridges(monkeypatch: pytest.MonkeyPatch) -> _Bridges:
    b = _Bridges()
    module = types.ModuleType("mt5linux")
    module.MetaTrader5 = b.client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mt5linux", module)
    return b


async def test_the_bridge_is_reached_in_connect_not_when_the_feed_is_built(
    bridges: _Bridges,
) -> None:
    cfg = parse_config({"feeds": {"bridge": {"enabled": True, "port": 18812}}}, env={})
    feed = MT5Feed.from_config(cfg.feeds, Secrets())
    assert isinstance(feed.module, LazyBridge) and bridges.built_in == []  # nothing yet

    # nothing listens: connect() fails like a closed terminal (-10004), the feed is down
    with pytest.raises(FeedUnavailable, match="not reachable"):
        await feed.connect()
    assert feed.health is FeedHealth.DOWN and feed.status().last_error is not None
    assert bridges.built_in and all(n.startswith("pulse-mt5") for n in bridges.built_in)

    # the bridge comes up: the next connect builds the client and the feed is up
    bridges.refuse = False
    await feed.connect()
    assert feed.status().health is FeedHealth.UP and feed.module.connected
    assert (await feed.account()).login == bridges.terminal.account["login"]
    await feed.close()


# -- the process: the service starts in the background


class _StuckFeed(ReplayFeed):
    """A feed whose connect() waits until released (a terminal that does not answer)."""

    def __init__(self, release: asyncio.Event) -> None:
        super().__init__()
        self.release = release

    async def connect(self) -> None:
        await self.release.wait()
        await super().connect()


async def test_a_stuck_feed_does_not_hold_start_up(tmp_path: Path) -> None:
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"},
        "traders": [{"discord_user_id": 9, "feed": "replay"}],
        "monitoring": {"enabled": False},
    }, env={})
    release = asyncio.Event()
    bot = PulseBot(cfg, extensions=(), sync_state_path=tmp_path / "sync.json")
    process = PulseProcess(bot, feeds={9: _StuckFeed(release)},
                           service_options={"bars_every": 0})
    await process.open_storage()
    try:
        # setup_hook's step returns at once although the feed has not answered
        await asyncio.wait_for(process.start_service(), timeout=2)
        assert process.service is None and getattr(bot, "service", None) is None
        with pytest.raises(TimeoutError):
            await process.wait_service(timeout=0.05)
        release.set()
        service = await process.wait_service(timeout=10)
        assert bot.service is service  # type: ignore[attr-defined]
        assert 9 in service.sessions and process.poll_loop_running
    finally:
        await process.stop_service()
        await process.close_storage()


async def test_stopping_while_the_feed_still_hangs_returns(tmp_path: Path) -> None:
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"},
        "traders": [{"discord_user_id": 9, "feed": "replay"}],
        "monitoring": {"enabled": False},
    }, env={})
    bot = PulseBot(cfg, extensions=(), sync_state_path=tmp_path / "sync.json")
    process = PulseProcess(bot, feeds={9: _StuckFeed(asyncio.Event())},
                           service_options={"bars_every": 0})
    await process.open_storage()
    try:
        await process.start_service()
        await asyncio.sleep(0)
        await asyncio.wait_for(process.stop_service(), timeout=5)
        assert process.service is None
    finally:
        await process.close_storage()
