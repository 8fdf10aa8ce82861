"""ReplayFeed: script events and CSV bars/ticks on one timeline, speeds, no look-ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from bot.feeds.base import FeedError, SymbolRefused
from bot.feeds.replay import ReplayFeed, TickRow, load_bars_csv, load_ticks_csv
from pulse.data import ES_SESSION, es_m1_path, es_ticks_path, load_es_ticks

SCRIPT = {
    "account": {"currency": "USD", "initial_balance": 100000, "timezone": "Europe/Prague"},
    "symbols": {
        "EURUSD": {
            "tick_size": 0.00001,
            "tick_value": 1.0,
            "contract_size": 100000,
            "volume_step": 0.01,
            "volume_min": 0.01,
            "volume_max": 100,
        },
    },
    "events": [
        {
            "at": "2026-03-02T09:00:00+01:00",
            "type": "check",
            "symbol": "EURUSD",
            "side": "buy",
            "volume": 1.0,
            "price": 1.0850,
            "sl": 1.0830,
        },
        {
            "at": "2026-03-02T09:00:05+01:00",
            "type": "deal",
            "ticket": 11,
            "position": 7,
            "symbol": "EURUSD",
            "side": "buy",
            "entry": "in",
            "volume": 1.0,
            "price": 1.0850,
        },
        {
            "at": "2026-03-02T09:40:00+01:00",
            "type": "deal",
            "ticket": 12,
            "position": 7,
            "symbol": "EURUSD",
            "side": "sell",
            "entry": "out",
            "volume": 1.0,
            "price": 1.0830,
            "profit": -200,
            "commission": -7,
        },
        {"at": "2026-03-02T09:41:00+01:00", "type": "equity", "balance": 99793, "equity": 99793},
        {
            "at": "2026-03-02T09:45:00+01:00",
            "type": "override",
            "rule": "cooling_period",
            "reason": "A+ setup",
        },
        {"at": "2026-03-02T10:30:00+01:00", "type": "clock"},
    ],
}


class SleepLog:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def cet(h: int, m: int, s: int = 0) -> datetime:
    return datetime(2026, 3, 2, h - 1, m, s, tzinfo=UTC)


async def test_script_plays_in_order_and_state_follows() -> None:
    pytest.importorskip("pulse.replay")
    sleep = SleepLog()
    feed = ReplayFeed.from_script(SCRIPT, sleep=sleep)
    await feed.connect()
    seen = []
    async for item in feed.play(until=cet(9, 0, 5)):
        seen.append(item)
    assert [i.kind for i in seen] == ["event", "event"]
    assert feed.clock() == cet(9, 0, 5)
    (pos,) = await feed.positions()
    assert (pos.symbol, pos.volume, pos.identifier) == ("EURUSD", 1.0, 7)
    assert [d.ticket for d in await feed.poll_deals()] == [11]

    async for item in feed.play():
        seen.append(item)
    assert feed.played == 6  # the second play() resumed after the first
    assert sleep.calls == []  # full speed never sleeps
    assert [d.ticket for d in await feed.poll_deals()] == [12]
    assert await feed.poll_deals() == []
    assert await feed.positions() == []
    acct = await feed.account()
    assert (acct.balance, acct.equity, acct.time) == (99793, 99793, cet(10, 30))
    hist = await feed.history_deals(cet(9, 0), cet(10, 0))
    assert [d.net for d in hist] == [0.0, -207.0]
    spec = await feed.symbol_spec("EURUSD")
    assert spec.tick_value == 1.0
    with pytest.raises(SymbolRefused, match="known: EURUSD"):
        await feed.symbol_spec("GBPUSD")
    with pytest.raises(SymbolRefused):
        await feed.symbol_spec("EURUSD'); import os; ('")


@pytest.mark.parametrize(("speed", "scale"), [(1.0, 1.0), (60.0, 1 / 60)])
async def test_speed_scales_the_sleeps(speed: float, scale: float) -> None:
    pytest.importorskip("pulse.replay")
    sleep = SleepLog()
    feed = ReplayFeed.from_script(SCRIPT, sleep=sleep, speed=speed)
    _ = [i async for i in feed.play()]
    gaps = [5, 39 * 60 + 55, 60, 4 * 60, 45 * 60]
    assert sleep.calls == pytest.approx([g * scale for g in gaps])


async def test_plain_dict_events_work_without_the_parser() -> None:
    events = [
        {
            "at": "2026-03-02T10:00:00+00:00",
            "type": "deal",
            "ticket": 1,
            "position": 1,
            "symbol": "EURUSD",
            "side": "sell",
            "entry": "in",
            "volume": 2.0,
            "price": 1.1,
        },
        {"at": "2026-03-02T09:00:00+00:00", "type": "equity", "balance": 5000, "equity": 4990},
    ]
    feed = ReplayFeed(events, initial_balance=5000)
    items = [i async for i in feed.play()]
    assert [i.data["type"] for i in items] == ["equity", "deal"]  # sorted by time
    assert items[1].symbol == "EURUSD"
    (pos,) = await feed.positions("EURUSD")
    assert pos.type.value == "sell" and pos.volume == 2.0
    assert (await feed.account()).equity == 5000  # a deal after the equity event: balance


async def test_bars_are_released_at_their_close_before_same_time_events() -> None:
    bars = load_bars_csv(es_m1_path())
    first = bars.index[0].to_pydatetime()
    check_at = first + timedelta(minutes=3)
    events = [{"at": check_at.isoformat(), "type": "clock", "symbol": "ES"}]
    feed = ReplayFeed(events, bars={("ES", "M1"): bars.iloc[:10]}, session=ES_SESSION)
    assert feed.clock() == first  # before playing: the first item's time, nothing closed yet
    assert (await feed.bars("ES", "M1", 10)).empty
    items = []
    async for item in feed.play(until=check_at):
        items.append(item)
        if item.kind == "event":
            seen_bars = await feed.bars("ES", "M1", 100)
            # the 3rd bar closed at check_at: visible; the 4th is still forming
            assert len(seen_bars) == 3
            assert seen_bars.index[-1] == bars.index[2]
    kinds = [(i.kind, i.at) for i in items]
    assert kinds[:3] == [("bar", first + timedelta(minutes=k)) for k in (1, 2, 3)]
    assert kinds[3] == ("event", check_at)
    bar = items[0].data
    assert (bar.time, bar.open) == (first, bars["open"].iloc[0])


async def test_higher_timeframes_derived_from_m1_without_look_ahead() -> None:
    bars = load_bars_csv(es_m1_path())
    feed = ReplayFeed(bars={("ES", "M1"): bars}, session=ES_SESSION)
    stop = datetime(2013, 9, 3, 14, 0, tzinfo=UTC)
    _ = [i async for i in feed.play(until=stop)]
    h1 = await feed.bars("ES", "H1", 500)
    assert h1.index[-1] == pd.Timestamp("2013-09-03 13:00Z")
    assert h1["close"].iloc[-1] == bars.loc[:"2013-09-03 13:59Z", "close"].iloc[-1]
    d1 = await feed.bars("ES", "D1", 5)
    assert d1.index.tolist() == [pd.Timestamp("2013-09-01 22:00Z")]  # today's not closed
    with pytest.raises(SymbolRefused):
        await feed.bars("NQ", "H1", 10)


async def test_ticks_csv_replay_and_range(tmp_path: Path) -> None:
    es = load_es_ticks().iloc[:2000]
    path = tmp_path / "ticks.csv"
    es.to_csv(path, index=False)
    ticks = load_ticks_csv(path)
    assert list(ticks.columns) == ["bid", "ask", "last", "volume"]
    feed = ReplayFeed(ticks={"ES": ticks})
    items = [i async for i in feed.play()]
    assert len(items) == 2000 and all(i.kind == "tick" for i in items)
    assert items[0].data == TickRow(int(es["time_msc"].iloc[0]), 0.0, 0.0, 1640.25, 8.0)
    start = items[0].at
    got = await feed.ticks("ES", start, start + timedelta(seconds=1))
    assert (got["last"] > 0).all() and got["time_msc"].iloc[0] == es["time_msc"].iloc[0]
    # the bundled gzip file loads the same way
    assert len(load_ticks_csv(es_ticks_path())) == 500_000


def test_csv_errors_name_the_row(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_text("time,open,high,low\n2026-03-02T09:00:00+00:00,1,2,0.5\n")
    with pytest.raises(FeedError, match="missing column"):
        load_bars_csv(p)
    p.write_text("time,open,high,low,close\n2026-03-02 09:00:00,1,2,0.5,1\n")
    with pytest.raises(FeedError, match="no UTC offset"):
        load_bars_csv(p)
    assert load_bars_csv(p, tz="Europe/Prague").index[0] == pd.Timestamp("2026-03-02 08:00Z")
    p.write_text(
        "time,open,high,low,close\n2026-03-02T09:00:00Z,1,2,0.5,1\n2026-03-02T09:01:00Z,1,x,0.5,1\n"
    )
    with pytest.raises(FeedError, match="row 3"):
        load_bars_csv(p)
    p.write_text(
        "time,open,high,low,close\n2026-03-02T09:01:00Z,1,2,0.5,1\n2026-03-02T09:00:00Z,1,2,0.5,1\n"
    )
    with pytest.raises(FeedError, match="row 3: times must be in increasing order"):
        load_bars_csv(p)
    with pytest.raises(ValueError, match="speed"):
        ReplayFeed(speed=0)


async def test_open_positions_carry_the_stop_of_the_scripted_entry(tmp_path: Path) -> None:
    """Like MT5's positions_get, an open position reports the stop its entry was placed
    with, so the service's trades get an initial risk (and R) from the replay feed."""
    import copy

    from bot.service import PulseService
    from pulse.config import parse_config

    script = copy.deepcopy(SCRIPT)
    script["events"][1]["sl"] = 1.0830  # the entry deal's stop
    feed = ReplayFeed.from_script(script, speed=None)
    async for _ in feed.play(until=datetime(2026, 3, 2, 8, 0, 5, tzinfo=UTC)):
        pass
    (pos,) = await feed.positions()
    assert (pos.identifier, pos.sl) == (7, 1.0830)
    assert await feed.positions("GBPUSD") == []

    cfg = parse_config({"storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"},
                        "traders": [{"discord_user_id": 9, "feed": "replay"}]}, env={})
    svc = PulseService(cfg, feeds={9: feed}, bars_every=0)
    await svc.start()
    try:
        await svc.poll_once()
        (trade,) = await svc.trades(9)
        assert trade.stop_loss == 1.0830
    finally:
        await svc.stop()
