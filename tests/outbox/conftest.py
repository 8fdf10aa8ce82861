"""Fixtures: a migrated SQLite database per test, a settable clock, a fake delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse.config import PulseConfig, parse_config
from storage import open_database
from tests.outbox.fake_delivery import FakeDelivery

# Monday 2 March 2026, 10:00 UTC (11:00 in Prague): outside default quiet hours.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}")
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def delivery() -> FakeDelivery:
    return FakeDelivery()


def make_config(**discord: object) -> PulseConfig:
    return parse_config({"discord": discord})


@pytest.fixture
def config() -> PulseConfig:
    return make_config(nudge_rate_limit_seconds=300, outbox_max_attempts=3,
                       fallback_channel_id=777)
