"""Fixtures for the trading cogs: a real PulseService on a tmp SQLite file, fed by the
fake MetaTrader5 module through the real MT5 feed, with a clock the test moves, and a
PulseBot (offline) with the cogs loaded through their extension entry points."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import backtesting
import pandas as pd
import pytest

from bot.app import PulseBot
from bot.feeds.mt5 import MT5Feed
from bot.service import PulseService
from pulse.config import PulseConfig, parse_config
from tests.fakes.fake_mt5 import FakeMetaTrader5
from tests.helpers_clock import Clock, no_sleep

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, 13:00 in Prague
ANN = 4242  # a linked trader (Discord user id)
LOGIN = 5001234
EXTENSIONS = ("cogs.status", "cogs.risk", "cogs.analysis")
EURUSD_CSV = Path(backtesting.__file__).parent / "test" / "EURUSD.csv"


def make_config(db: Path, **risk: Any) -> PulseConfig:
    return parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "risk_limits": risk,
        "feeds": {
            "mt5": {"enabled": True, "login": LOGIN, "server": "Broker-Demo"},
            "poll_interval_seconds": 1,
            "bars_count": 400,
            "watchlist": {"symbols": ["EURUSD", "GBPUSD"], "timeframes": ["H1"]},
        },
        "traders": [{"discord_user_id": ANN, "name": "Ann", "account_login": LOGIN,
                     "feed": "mt5", "timezone": "Europe/Prague"}],
    }, env={})


def eurusd_rows(n: int = 400, scale: float = 1.0) -> list[tuple[Any, ...]]:
    """Real EURUSD H1 bars (backtesting's sample) as fake-MT5 rate rows."""
    df = pd.read_csv(EURUSD_CSV, index_col=0, parse_dates=True).iloc[:n]
    return [
        (pd.Timestamp(t).to_pydatetime().replace(tzinfo=UTC), o * scale, h * scale,
         lo * scale, c * scale, int(v), 10, 0)
        for t, o, h, lo, c, v in zip(df.index, df["Open"], df["High"], df["Low"],
                                     df["Close"], df["Volume"], strict=True)
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def fake(clock: Clock) -> FakeMetaTrader5:
    mt5 = FakeMetaTrader5(server_offset_hours=2.0, clock=clock)
    mt5.set_rates("EURUSD", mt5.TIMEFRAME_H1, eurusd_rows())
    return mt5


@pytest.fixture
def risk_overrides() -> dict[str, Any]:
    """Per-test risk_limits overrides (parametrize or override this fixture)."""
    return {}


@pytest.fixture
def config(tmp_path: Path, risk_overrides: dict[str, Any]) -> PulseConfig:
    return make_config(tmp_path / "pulse.db", **risk_overrides)


@pytest.fixture
async def service(config: PulseConfig, fake: FakeMetaTrader5,
                  clock: Clock) -> AsyncIterator[PulseService]:
    feed = MT5Feed(fake, feeds=config.feeds, password="s3cret", clock=clock)
    svc = PulseService(config, feeds={ANN: feed}, sleep=no_sleep, bars_every=0)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
async def bot(config: PulseConfig, service: PulseService,
              tmp_path: Path) -> AsyncIterator[PulseBot]:
    b = PulseBot(config, extensions=EXTENSIONS, sync_state_path=tmp_path / "sync.json")
    b.service = service  # type: ignore[attr-defined]  # what the process wiring sets
    for ext in EXTENSIONS:
        await b.load_extension(ext)
    yield b
    await b.close()
