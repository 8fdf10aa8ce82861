"""Fixtures: a migrated SQLite database per test, a settable clock, a fake delivery and
the fake Discord server (both shared from elsewhere in tests/)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulse.config import PulseConfig, parse_config
from tests.e2e.conftest import fake  # noqa: F401  (shared fixture: a fake Discord)
from tests.helpers_clock import Clock
from tests.helpers_storage import engine  # noqa: F401  (shared fixture)
from tests.outbox.fake_delivery import FakeDelivery

# Monday 2 March 2026, 10:00 UTC (11:00 in Prague): outside default quiet hours.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def delivery() -> FakeDelivery:
    return FakeDelivery()


def make_config(**discord: object) -> PulseConfig:
    return parse_config({"discord": discord})


@pytest.fixture
def config() -> PulseConfig:
    return make_config(nudge_rate_limit_seconds=300, outbox_max_attempts=3,
                       fallback_channel_id=777)
