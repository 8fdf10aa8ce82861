"""Shared fixtures: a controllable clock, the fake MetaTrader5 module and an MT5 feed on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.feeds.mt5 import MT5Feed
from pulse.config import FeedsConfig, parse_config
from tests.fakes.fake_mt5 import FakeMetaTrader5
from tests.helpers_clock import Clock

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeMetaTrader5]:
    mt5 = FakeMetaTrader5(server_offset_hours=2.0, clock=clock)
    yield mt5
    assert not mt5.order_send_called, "the feed must never trade"


def feeds_config(**mt5: object) -> FeedsConfig:
    cfg = parse_config(
        {
            "feeds": {
                "mt5": {"enabled": True, "login": 5001234, "server": "Broker-Demo", **mt5},
                "history_overlap_minutes": 60,
                "backoff_initial_seconds": 1,
                "backoff_max_seconds": 8,
                "watchlist": {"symbols": ["EURUSD", "GBPUSD"], "timeframes": ["M15", "H1"]},
            }
        },
        env={},
    )
    return cfg.feeds


@pytest.fixture
async def feed(fake: FakeMetaTrader5, clock: Clock) -> AsyncIterator[MT5Feed]:
    f = MT5Feed(fake, feeds=feeds_config(), password="s3cret", clock=clock)
    await f.connect()
    yield f
    await f.close()
