"""The service on a ReplayFeed with the bundled real ES one-minute bars: deals from a
replay script are persisted, the watchlist gets confluence scores from the analysis
engine, and closed trades get MAE/MFE from the bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bot.feeds.replay import ReplayFeed
from bot.service import PulseService
from pulse.config import parse_config
from pulse.data import load_es_m1

from .conftest import no_sleep
from .helpers import outbox_kinds, stored

ES_SPEC = {"tick_size": 0.25, "tick_value": 12.5, "contract_size": 50, "volume_step": 1,
           "volume_min": 1, "volume_max": 100, "digits": 2}
OPEN_AT = datetime(2013, 9, 3, 14, 0, 5, tzinfo=UTC)
CLOSE_AT = datetime(2013, 9, 3, 14, 30, 5, tzinfo=UTC)


def _script(entry: float, exit_: float) -> dict[str, Any]:
    return {
        "account": {"currency": "USD", "initial_balance": 100000, "timezone": "Europe/Prague"},
        "symbols": {"ES": ES_SPEC},
        "events": [
            {"at": OPEN_AT.isoformat(), "type": "deal", "ticket": 11, "position": 7,
             "symbol": "ES", "side": "buy", "entry": "in", "volume": 1, "price": entry},
            {"at": CLOSE_AT.isoformat(), "type": "deal", "ticket": 12, "position": 7,
             "symbol": "ES", "side": "sell", "entry": "out", "volume": 1, "price": exit_,
             "profit": (exit_ - entry) * 50},
        ],
    }


@pytest.fixture
def bars() -> Any:
    return load_es_m1()


async def _play(feed: ReplayFeed, until: datetime) -> None:
    async for _ in feed.play(until=until):
        pass


async def test_replay_deals_persist_and_watchlist_scores_and_excursions(
    tmp_path: Path, bars: Any
) -> None:
    entry = float(bars.loc[pd.Timestamp("2013-09-03 14:00", tz="UTC"), "open"])
    exit_ = float(bars.loc[pd.Timestamp("2013-09-03 14:30", tz="UTC"), "close"])
    feed = ReplayFeed.from_script(_script(entry, exit_), bars={("ES", "M1"): bars}, speed=None)
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}"},
        "feeds": {"bars_count": 300,
                  "watchlist": {"symbols": ["ES"], "timeframes": ["M1", "M5"]}},
        "traders": [{"discord_user_id": 9, "feed": "replay"}],
    }, env={})
    svc = PulseService(cfg, feeds={9: feed}, sleep=no_sleep, bars_every=1)
    await svc.start()
    try:
        await _play(feed, OPEN_AT)
        await svc.poll_once()
        await _play(feed, CLOSE_AT)
        await svc.poll_once()

        rows = await stored(svc)
        assert rows["deals"] == 2 and rows["trades"] == 1
        assert (await outbox_kinds(svc))["post_trade_prompt"] == 1
        scores = svc.latest_scores()
        assert set(scores) == {("ES", "M1"), ("ES", "M5")}
        m1 = scores[("ES", "M1")]
        assert 0 <= m1.score <= 100 and m1.symbol == "ES" and m1.direction in ("long", "short")
        # No look-ahead: the latest M1 score is of the last bar closed before the clock.
        assert m1.time <= CLOSE_AT
        # The bar holding the exit has not closed yet: MAE/MFE waits for it.
        assert "7" not in svc.excursions(9)
        await _play(feed, CLOSE_AT + timedelta(minutes=2))
        await svc.poll_once()
        ex = svc.excursions(9)["7"]
        window = bars.loc["2013-09-03 14:00":"2013-09-03 14:30"]
        assert ex.mfe == pytest.approx(max(0.0, float(window["high"].max()) - entry))
        assert ex.mae == pytest.approx(max(0.0, entry - float(window["low"].min())))
        assert ex.bars_used == len(window)
    finally:
        await svc.stop()

    # A restart keeps the measured MAE/MFE (stored with the trade), with no bars fetched.
    again = ReplayFeed.from_script(_script(entry, exit_), bars={("ES", "M1"): bars},
                                   speed=None)
    svc2 = PulseService(cfg, feeds={9: again}, sleep=no_sleep, bars_every=10**6)
    await svc2.start()
    try:
        assert svc2.excursions(9) == {"7": ex}
    finally:
        await svc2.stop()


async def test_a_watchlist_symbol_without_bars_is_reported_not_fatal(
    tmp_path: Path, bars: Any
) -> None:
    feed = ReplayFeed.from_script(_script(1650.0, 1651.0), bars={("ES", "M1"): bars},
                                  speed=None)
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}"},
        "feeds": {"watchlist": {"symbols": ["ES", "NQ"], "timeframes": ["M5"]}},
        "traders": [{"discord_user_id": 9, "feed": "replay"}],
    }, env={})
    svc = PulseService(cfg, feeds={9: feed}, sleep=no_sleep, bars_every=1)
    await svc.start()
    try:
        await _play(feed, OPEN_AT)
        await svc.poll_once()
        assert ("ES", "M5") in svc.latest_scores()
        assert "NQ" in svc.score_errors()[("NQ", "M5")]
    finally:
        await svc.stop()
