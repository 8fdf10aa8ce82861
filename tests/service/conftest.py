"""Fixtures: a hand-moved clock, the fake MetaTrader5 module, an MT5 feed on it, a real
SQLite file in tmp_path and a config with one trader on that feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.feeds.mt5 import MT5Feed
from bot.service import PulseService
from pulse.config import PulseConfig, parse_config
from tests.fakes.fake_mt5 import FakeMetaTrader5
from tests.helpers_clock import Clock, no_sleep

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, 13:00 in Prague
TRADER = 42
LOGIN = 5001234


def make_config(db: Path, **extra: Any) -> PulseConfig:
    data: dict[str, Any] = {
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "feeds": {
            "mt5": {"enabled": True, "login": LOGIN, "server": "Broker-Demo"},
            "poll_interval_seconds": 1,
            "history_overlap_minutes": 60,
            "backoff_initial_seconds": 1,
            "backoff_max_seconds": 8,
            "watchlist": {"symbols": ["EURUSD"], "timeframes": ["M15"]},
        },
        "traders": [{"discord_user_id": TRADER, "name": "Ana", "account_login": LOGIN,
                     "feed": "mt5", "timezone": "Europe/Prague"}],
    }
    for k, v in extra.items():
        data[k] = {**data.get(k, {}), **v}
    return parse_config(data, env={})


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def fake(clock: Clock) -> FakeMetaTrader5:
    return FakeMetaTrader5(server_offset_hours=2.0, clock=clock)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "pulse.db"


@pytest.fixture
def config(db_path: Path) -> PulseConfig:
    return make_config(db_path)


def make_service(config: PulseConfig, fake: FakeMetaTrader5, clock: Clock,
                 **kw: Any) -> PulseService:
    """A new process: a new feed on the same terminal, a new service on the same DB."""
    feed = MT5Feed(fake, feeds=config.feeds, password="s3cret", clock=clock)
    kw.setdefault("bars_every", 0)
    return PulseService(config, feeds={TRADER: feed}, sleep=no_sleep, **kw)


@pytest.fixture
async def service(config: PulseConfig, fake: FakeMetaTrader5,
                  clock: Clock) -> AsyncIterator[PulseService]:
    svc = make_service(config, fake, clock)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()
