"""MT5Feed against the fake MetaTrader5 module: conversions, dedupe, backoff, safety."""

from __future__ import annotations

import asyncio
import threading
import time as _time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from bot.feeds.base import FeedError, FeedHealth, FeedUnavailable, SymbolRefused
from bot.feeds.mt5 import MT5Feed, describe_error
from pulse.config import Secrets
from pulse.models import DealEntry, DealType, Side
from tests.fakes.fake_mt5 import FakeMetaTrader5, OrderSendCalled

from .conftest import T0, Clock, feeds_config

INJECTED = "EURUSD'); import os; ('"


def calls_with(fake: FakeMetaTrader5, needle: str) -> list[Any]:
    return [c for c in fake.calls if needle in repr(c[1]) or needle in repr(c[2])]


# --------------------------------------------------------------------------- connect


async def test_connect_logs_in_with_env_password_and_detects_offset(
    fake: FakeMetaTrader5, clock: Clock
) -> None:
    secrets = Secrets.from_env({"MT5_PASSWORD": "s3cret"})
    feed = MT5Feed.from_config(feeds_config(), secrets, module=fake, clock=clock)
    await feed.connect()
    name, _args, kwargs = fake.calls[0]
    assert name == "initialize"
    assert kwargs["login"] == 5001234 and kwargs["password"] == "s3cret"
    assert kwargs["server"] == "Broker-Demo"
    assert feed.health is FeedHealth.UP
    assert feed.server_utc_offset_hours == 2.0
    assert feed.status().offset_source.startswith("detected")
    assert "s3cret" not in repr(feed.status())
    await feed.close()
    assert feed.health is FeedHealth.CLOSED


async def test_wrong_password_is_a_clear_error_without_the_password(
    fake: FakeMetaTrader5, clock: Clock
) -> None:
    feed = MT5Feed(fake, feeds=feeds_config(), password="wrong-pw", clock=clock)
    with pytest.raises(FeedError) as info:
        await feed.connect()
    assert info.value.code == -6
    assert "authorization failed" in str(info.value)
    assert "MT5_PASSWORD" in str(info.value)
    assert "wrong-pw" not in str(info.value)
    assert feed.take_events() == []  # a config problem, not an outage
    await feed.close()


async def test_login_without_password_refused_before_any_call(
    fake: FakeMetaTrader5, clock: Clock
) -> None:
    feed = MT5Feed(fake, feeds=feeds_config(), password=None, clock=clock)
    with pytest.raises(FeedError, match="MT5_PASSWORD is not"):
        await feed.connect()
    assert fake.calls == []
    await feed.close()


# --------------------------------------------------------------------------- server time


async def test_configured_offset_wins(fake: FakeMetaTrader5, clock: Clock) -> None:
    fake.server_offset_hours = 3.0
    feed = MT5Feed(
        fake, feeds=feeds_config(server_utc_offset_hours=3), password="s3cret", clock=clock
    )
    await feed.connect()
    assert feed.status().offset_source == "configured"
    assert "symbol_info_tick" not in fake.call_names()
    fake.add_deal(7, T0 - timedelta(minutes=5))
    deals = await feed.history_deals(T0 - timedelta(hours=1), T0)
    assert [d.time for d in deals] == [T0 - timedelta(minutes=5)]
    await feed.close()


@pytest.mark.parametrize("offset", [0.0, 2.0, 3.0, -5.0, 5.5])
async def test_offset_detected_from_fresh_tick_rounded_to_half_hour(
    clock: Clock, offset: float
) -> None:
    fake = FakeMetaTrader5(server_offset_hours=offset, clock=clock)
    # the latest tick is 40 s old: still rounds to the true offset
    fake.set_ticks("EURUSD", [(T0 - timedelta(seconds=40), 1.1, 1.1001, 0.0, 0)])
    feed = MT5Feed(fake, feeds=feeds_config(), password="s3cret", clock=clock)
    await feed.connect()
    assert feed.server_utc_offset_hours == offset
    fake.add_deal(1, T0 - timedelta(minutes=1, seconds=30))
    (deal,) = await feed.poll_deals()
    assert deal.time == T0 - timedelta(minutes=1, seconds=30)
    assert deal.time_msc == int(deal.time.timestamp() * 1000)
    await feed.close()


async def test_stale_tick_does_not_set_an_offset(clock: Clock) -> None:
    fake = FakeMetaTrader5(server_offset_hours=2.0, clock=clock, symbols=["EURUSD"])
    fake.set_ticks("EURUSD", [(T0 - timedelta(minutes=17), 1.1, 1.1001, 0.0, 0)])
    feed = MT5Feed(fake, feeds=feeds_config(), password="s3cret", clock=clock)
    await feed.connect()
    assert feed.server_utc_offset_hours == 0.0
    assert "stale" in feed.status().offset_source
    await feed.close()


# --------------------------------------------------------------------------- deals


async def test_overlapping_windows_and_duplicates_count_once(
    feed: MT5Feed, fake: FakeMetaTrader5, clock: Clock
) -> None:
    feed.reset_cursor(T0 - timedelta(hours=2))
    fake.add_deal(11, T0 - timedelta(minutes=90), position_id=7, entry=0)
    fake.add_deal(12, T0 - timedelta(minutes=30), position_id=7, entry=1, type=1, profit=-200)
    fake.add_deal(12, T0 - timedelta(minutes=30), position_id=7, entry=1, type=1, profit=-200)
    fake.add_deal(5, T0 - timedelta(hours=4))  # before the window: never returned
    first = await feed.poll_deals()
    assert [d.ticket for d in first] == [11, 12]
    assert first[1].type is DealType.SELL and first[1].entry is DealEntry.OUT
    assert first[1].profit == -200

    # The window asked for starts one overlap before the cursor, in server time.
    _, args, _ = [c for c in fake.calls if c[0] == "history_deals_get"][-1]
    assert args[0] == fake.server_ts(T0 - timedelta(hours=3))

    clock.advance(minutes=5)
    assert await feed.poll_deals() == []  # same deals again: nothing new

    # A deal that shows up late, stamped inside the overlap window, is still caught once.
    fake.add_deal(13, T0 - timedelta(minutes=20), position_id=8)
    clock.advance(minutes=5)
    assert [d.ticket for d in await feed.poll_deals()] == [13]
    clock.advance(minutes=5)
    assert await feed.poll_deals() == []

    # history_deals (the restart path) returns each ticket once, sorted.
    hist = await feed.history_deals(T0 - timedelta(hours=5), T0 + timedelta(hours=1))
    assert [d.ticket for d in hist] == [5, 11, 12, 13]


async def test_empty_history_as_none_is_no_deals(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    fake.empty_history_as_none = True
    assert await feed.poll_deals() == []
    assert feed.health is FeedHealth.UP


async def test_unknown_deal_type_is_skipped(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    fake.add_deal(21, T0 - timedelta(minutes=1), type=99)
    fake.add_deal(22, T0 - timedelta(minutes=1), type=2, volume=0, price=0, profit=500)
    deals = await feed.poll_deals()
    assert [(d.ticket, d.type) for d in deals] == [(22, DealType.BALANCE)]


# --------------------------------------------------------------------------- outages


async def test_ipc_timeout_then_recovery_reports_down_and_restored_once(
    feed: MT5Feed, fake: FakeMetaTrader5, clock: Clock
) -> None:
    seen: list[str] = []
    feed.subscribe(lambda n: seen.append(n.kind))
    fake.fail_next(1, code=-10005)
    with pytest.raises(FeedUnavailable, match="IPC timeout") as info:
        await feed.account()
    assert info.value.code == -10005
    assert feed.health is FeedHealth.DOWN
    assert feed.retry_delay() == 1.0

    # Before the retry time nothing reaches the terminal.
    n_calls = len(fake.calls)
    with pytest.raises(FeedUnavailable, match="next retry"):
        await feed.positions()
    assert len(fake.calls) == n_calls

    # The reconnect attempts fail twice more: backoff doubles, no second feed_down.
    clock.advance(seconds=1)
    fake.fail_next(1, code=-10005)
    with pytest.raises(FeedUnavailable):
        await feed.account()
    assert feed.retry_delay() == 2.0
    clock.advance(seconds=2)
    fake.disconnect()
    with pytest.raises(FeedUnavailable, match="IPC initialization failed"):
        await feed.account()
    assert feed.retry_delay() == 4.0

    fake.reconnect()
    clock.advance(seconds=4)
    snap = await feed.account()
    assert snap.balance == 100_000.0 and snap.time == clock.now
    await feed.account()
    assert seen == ["feed_down", "feed_restored"]
    events = feed.take_events()
    assert [e.kind for e in events] == ["feed_down", "feed_restored"]
    down, restored = events
    assert "IPC timeout" in down.text and down.severity.value == "warning"
    assert down.dedupe_key != restored.dedupe_key
    assert feed.take_events() == []
    assert feed.health is FeedHealth.UP and feed.failures == 0


async def test_concurrent_calls_share_one_reconnect(
    feed: MT5Feed, fake: FakeMetaTrader5, clock: Clock
) -> None:
    fake.fail_next(1, code=-10005)
    with pytest.raises(FeedUnavailable):
        await feed.account()
    clock.advance(seconds=1)
    before = fake.call_names().count("initialize")
    snaps = await asyncio.gather(*(feed.account() for _ in range(5)))
    assert len(snaps) == 5
    assert fake.call_names().count("initialize") == before + 1
    assert [e.kind for e in feed.take_events()] == ["feed_down", "feed_restored"]


async def test_backoff_is_capped(feed: MT5Feed, fake: FakeMetaTrader5, clock: Clock) -> None:
    fake.disconnect()
    delays = []
    for _ in range(6):
        with pytest.raises(FeedUnavailable):
            await feed.account()
        delays.append(feed.retry_delay())
        clock.advance(seconds=feed.retry_delay())
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert [e.kind for e in feed.take_events()] == ["feed_down"]


async def test_async_listener_gets_nudges(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    got: list[str] = []

    async def listener(n: Any) -> None:
        got.append(n.text)

    feed.subscribe(listener)
    fake.fail_next(1, code=-10004)
    with pytest.raises(FeedUnavailable):
        await feed.account()
    assert len(got) == 1 and "no IPC connection" in got[0]


# --------------------------------------------------------------------------- safety


async def test_symbol_with_injected_code_is_refused_before_any_call(
    feed: MT5Feed, fake: FakeMetaTrader5
) -> None:
    n_calls = len(fake.calls)
    for op in (
        feed.bars(INJECTED, "H1", 10),
        feed.ticks(INJECTED, T0 - timedelta(minutes=1), T0),
        feed.symbol_spec(INJECTED),
        feed.positions(INJECTED),
    ):
        with pytest.raises(SymbolRefused):
            await op
    assert len(fake.calls) == n_calls
    assert calls_with(fake, "import os") == []


async def test_unknown_symbol_refused_with_hint_and_never_sent(
    feed: MT5Feed, fake: FakeMetaTrader5
) -> None:
    with pytest.raises(SymbolRefused, match="did you mean EURUSD"):
        await feed.bars("EURUSDm", "H1", 10)
    assert calls_with(fake, "EURUSDm") == []


async def test_symbol_list_refreshed_at_most_every_five_minutes(
    feed: MT5Feed, fake: FakeMetaTrader5, clock: Clock
) -> None:
    from tests.fakes.fake_mt5 import default_symbol

    fake.symbols["USDJPY"] = default_symbol("USDJPY", digits=3)
    with pytest.raises(SymbolRefused):
        await feed.symbol_spec("USDJPY")  # the list loaded at connect is still fresh
    assert fake.call_names().count("symbols_get") == 1
    clock.advance(minutes=5)
    assert (await feed.symbol_spec("USDJPY")).digits == 3
    assert fake.call_names().count("symbols_get") == 2


async def test_first_call_without_connect_connects(fake: FakeMetaTrader5, clock: Clock) -> None:
    feed = MT5Feed(fake, feeds=feeds_config(), password="s3cret", clock=clock)
    snap = await feed.account()
    assert snap.equity == 100_000.0 and fake.call_names()[0] == "initialize"
    assert feed.take_events() == []
    await feed.close()


async def test_feed_never_trades(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    assert not hasattr(feed, "order_send")
    with pytest.raises(FeedError, match="never trades"):
        await feed._raw("order_send", {})
    assert not fake.order_send_called
    with pytest.raises(OrderSendCalled):  # the fake itself fails loudly if anything trades
        FakeMetaTrader5().order_send({})


async def test_none_returns_become_clear_errors(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    fake.fail_next(1, code=-1)
    with pytest.raises(FeedError, match="generic failure") as info:
        await feed.account()
    assert not isinstance(info.value, FeedUnavailable)
    assert feed.health is FeedHealth.UP
    del fake.symbols["GBPUSD"]  # listed at connect, then the terminal loses it
    with pytest.raises(FeedError, match="not found") as info:
        await feed.symbol_spec("GBPUSD")
    assert info.value.code == -4
    assert describe_error(-10005, "IPC timeout").startswith("IPC timeout")
    assert "MT5 error -2" in describe_error(-2)


async def test_calls_run_one_at_a_time_in_the_worker_thread(clock: Clock) -> None:
    class Tracking(FakeMetaTrader5):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.threads: set[str] = set()
            self.inflight = 0
            self.max_inflight = 0

        def _enter(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
            self.threads.add(threading.current_thread().name)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
            _time.sleep(0.001)
            self.inflight -= 1
            return super()._enter(name, args, kwargs)

    fake = Tracking(clock=clock)
    feed = MT5Feed(fake, feeds=feeds_config(), password="s3cret", clock=clock)
    await feed.connect()
    await asyncio.gather(*(feed.account() for _ in range(10)), feed.positions(), feed.poll_deals())
    await feed.close()
    assert fake.max_inflight == 1
    assert all(t.startswith("pulse-mt5") for t in fake.threads)
    assert threading.current_thread().name not in fake.threads


# --------------------------------------------------------------------------- data


async def test_bars_convert_numpy_rates_to_utc_frame(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    rows = [
        (T0 - timedelta(hours=3 - i), 1.1 + i / 1000, 1.102, 1.099, 1.101, 100 + i, 7, 0)
        for i in range(3)
    ]
    fake.set_rates("EURUSD", fake.TIMEFRAME_H1, rows)
    df = await feed.bars("EURUSD", "H1", 2)
    name, args, _ = fake.calls[-1]
    assert (name, args) == ("copy_rates_from_pos", ("EURUSD", 0x4001, 0, 2))
    assert list(df.columns) == [
        "open",
        "high",
        "low",
        "close",
        "tick_volume",
        "spread",
        "real_volume",
    ]
    assert [t.to_pydatetime() for t in df.index] == [
        T0 - timedelta(hours=2),
        T0 - timedelta(hours=1),
    ]
    assert str(df.index.tz) == "UTC"
    assert df["tick_volume"].tolist() == [101, 102]
    assert df["spread"].dtype == np.int32


async def test_watchlist_bars_for_every_symbol_and_timeframe(
    feed: MT5Feed, fake: FakeMetaTrader5
) -> None:
    for sym in ("EURUSD", "GBPUSD"):
        for tf in (fake.TIMEFRAME_M15, fake.TIMEFRAME_H1):
            fake.set_rates(sym, tf, [(T0 - timedelta(hours=1), 1.0, 1.0, 1.0, 1.0, 1, 0, 0)])
    got = await feed.watchlist_bars()
    assert sorted(got) == [("EURUSD", "H1"), ("EURUSD", "M15"), ("GBPUSD", "H1"), ("GBPUSD", "M15")]


async def test_ticks_range_in_server_time_back_to_utc(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    t1, t2 = T0 - timedelta(seconds=30), T0 - timedelta(seconds=10)
    fake.set_ticks("EURUSD", [(t1, 1.1, 1.1002, 0.0, 0), (t2, 1.1001, 1.1003, 0.0, 0)])
    df = await feed.ticks("EURUSD", T0 - timedelta(minutes=1), T0)
    name, args, _ = fake.calls[-1]
    assert name == "copy_ticks_range"
    assert args[1] == fake.server_ts(T0 - timedelta(minutes=1)) and args[3] == -1
    assert [t.to_pydatetime() for t in df.index] == [t1, t2]
    assert df["bid"].tolist() == [1.1, 1.1001]
    assert df["time_msc"].tolist() == [int(t1.timestamp() * 1000), int(t2.timestamp() * 1000)]


async def test_symbol_spec_and_positions(feed: MT5Feed, fake: FakeMetaTrader5) -> None:
    spec = await feed.symbol_spec("EURUSD")
    assert (spec.name, spec.tick_size, spec.tick_value, spec.contract_size) == (
        "EURUSD",
        1e-05,
        1.0,
        100000.0,
    )
    assert (spec.volume_min, spec.volume_step, spec.digits) == (0.01, 0.01, 5)
    fake.add_position(31, T0 - timedelta(minutes=3), type=1, sl=1.12, volume=0.5)
    (pos,) = await feed.positions()
    assert pos.type is Side.SELL and pos.sl == 1.12 and pos.tp is None
    assert pos.time == T0 - timedelta(minutes=3)
    assert await feed.positions("GBPUSD") == []
    acct = await feed.account()
    assert (acct.login, acct.currency, acct.server) == (5001234, "USD", "Broker-Demo")


async def test_naive_datetimes_refused(feed: MT5Feed) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await feed.history_deals(datetime(2026, 3, 2), datetime(2026, 3, 3))
    assert datetime(2026, 3, 2, tzinfo=UTC)  # aware ones are fine (used above)
