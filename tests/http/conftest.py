"""A real process minus Discord for the HTTP tests: a SQLite file, a PulseService on a
replay feed with real EURUSD H1 bars, the outbox worker (fake delivery: Discord is the
outer world) and the summary scheduler, behind :func:`bot.http.build_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.feeds.replay import ReplayFeed
from bot.http import build_app
from bot.metrics import PulseMetrics, instrument_feed
from bot.outbox import OutboxWorker
from bot.scheduler import SummaryScheduler
from bot.service import PulseService
from pulse.config import PulseConfig, parse_config
from pulse.models import SymbolSpec
from storage import open_database
from tests.analysis.helpers import eurusd
from tests.outbox.fake_delivery import FakeDelivery

TRADER = 1_300_000_000_000_000_001
TOKEN = "http-test-token"
EURUSD_SPEC = SymbolSpec(name="EURUSD", tick_size=0.00001, tick_value=1.0,
                         contract_size=100000, volume_step=0.01, volume_min=0.01,
                         volume_max=100)


@dataclass
class View:
    """A :class:`bot.http.ProcessView` over real parts; Discord's state is a flag."""

    config: PulseConfig
    metrics: PulseMetrics
    engine: AsyncEngine | None
    service: PulseService | None
    scheduler: SummaryScheduler | None
    outbox: OutboxWorker | None
    api_token: str | None = TOKEN
    connected: bool = True
    poll_loop_running: bool | None = True
    feed: ReplayFeed | None = None
    bars: pd.DataFrame = field(default_factory=pd.DataFrame)

    def discord_status(self) -> tuple[bool, str]:
        return (True, "connected") if self.connected else (False, "gateway disconnected")


def bars_h1() -> pd.DataFrame:
    """600 real EURUSD H1 bars with MT5's column names (what a feed returns)."""
    frame = eurusd().iloc[:600]
    return pd.DataFrame({
        "open": frame["open"], "high": frame["high"], "low": frame["low"],
        "close": frame["close"], "tick_volume": frame["volume"].astype("uint64"),
        "spread": 0, "real_volume": 0,
    }, index=frame.index)


@pytest.fixture
async def view(tmp_path: Path) -> AsyncIterator[View]:
    bars = bars_h1()
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"},
        "feeds": {"watchlist": {"symbols": ["EURUSD"], "timeframes": ["H1"]}},
        "traders": [{"discord_user_id": TRADER, "name": "Ann", "feed": "replay"}],
    }, env={})
    feed = ReplayFeed(bars={("EURUSD", "H1"): bars}, symbols={"EURUSD": EURUSD_SPEC})
    metrics = PulseMetrics()
    instrument_feed(feed, TRADER, metrics)
    engine = await open_database(cfg.storage.url)
    last_close = bars.index[-1].to_pydatetime()
    async for _ in feed.play(until=last_close + pd.Timedelta(hours=1)):
        pass
    service = PulseService(cfg, feeds={TRADER: feed}, engine=engine, bars_every=0)
    service.on_out_events.append(metrics.on_out_events)
    await service.start()
    outbox = OutboxWorker(engine, cfg, FakeDelivery())
    scheduler = SummaryScheduler(engine, cfg, outbox)
    await scheduler.start()
    outbox.start()
    v = View(cfg, metrics, engine, service, scheduler, outbox, feed=feed, bars=bars)
    try:
        yield v
    finally:
        await outbox.stop()
        await scheduler.stop()
        await service.stop()
        await engine.dispose()


@pytest.fixture
async def client(view: View) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(build_app(view))) as c:
        yield c


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
