"""Restart safety: a process stopped and started again (a new PulseService on the same
SQLite file and the same terminal) rebuilds the trading day: lockouts in force stay in
force, no deal counts twice, no nudge is queued twice."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.service import PulseService
from pulse.config import PulseConfig
from pulse.models import Action
from storage import repo_risk
from storage.schema import risk_state
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import TRADER, Clock, make_service
from .helpers import close_buy, open_buy, outbox_keys, outbox_kinds, request, stored


async def _losing_trade(svc: PulseService, fake: FakeMetaTrader5, clock: Clock) -> None:
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    await svc.poll_once()
    clock.advance(minutes=4)
    close_buy(fake, clock, 2, 100, profit=-1500.0)  # 1.5%: a 15-minute cooling period
    await svc.poll_once()


def _cooling_blocks(v: object) -> bool:
    rules = [(r.rule, r.action) for r in v.rules]  # type: ignore[attr-defined]
    return ("cooling_period", Action.SOFT_BLOCK) in rules and not v.allowed  # type: ignore[attr-defined]


async def test_restart_during_cooling_still_blocks_with_same_trades_and_no_duplicate_nudge(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    await _losing_trade(first, fake, clock)
    clock.advance(minutes=2)
    assert _cooling_blocks(await first.check(TRADER, request(clock)))
    before_rows = await stored(first)
    before_keys = await outbox_keys(first)
    before_trades = [t.trade_id for t in await first.trades(TRADER)]
    before_status = first.status(TRADER)
    await first.stop()  # the process goes away mid-cooling

    clock.advance(minutes=3)  # 5 of the 15 minutes have passed (loss at 12:05, now 12:10)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        for _ in range(3):
            clock.advance(seconds=1)
            await second.poll_once()
        v = await second.check(TRADER, request(clock))
        assert _cooling_blocks(v)
        assert await stored(second) == before_rows  # same deals, trades and lockouts
        assert [t.trade_id for t in await second.trades(TRADER)] == before_trades
        assert await outbox_keys(second) == before_keys  # nothing queued again
        assert (await outbox_kinds(second))["cooling_started"] == 1
        st = second.status(TRADER)
        assert st.trades_today == before_status.trades_today == 1
        assert st.consecutive_losses == 1 and st.day_pnl == before_status.day_pnl
        cooling = st.lockout("cooling_period")
        assert cooling is not None and cooling.minutes_left == 10  # 9 min 57 s, rounded up
        assert [t.trade_id for t in second.kernel(TRADER).trades()] == before_trades
    finally:
        await second.stop()


async def test_restart_without_saved_state_rebuilds_from_stored_deals(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    await _losing_trade(first, fake, clock)
    keys = await outbox_keys(first)
    async with first.db.begin() as conn:  # e.g. state written by an older build, dropped
        await conn.execute(sa.delete(risk_state))
    await first.stop()

    clock.advance(minutes=5)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        assert _cooling_blocks(await second.check(TRADER, request(clock)))
        assert await outbox_keys(second) == keys
        assert second.status(TRADER).trades_today == 1
    finally:
        await second.stop()


async def test_deals_made_while_stopped_arrive_once_from_the_feed_history(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    await first.poll_once()
    await first.stop()

    # While Pulse is down the trader closes at a loss and opens again 90 minutes later
    # (older than the overlap window of a plain poll: only the history catch-up sees it).
    clock.advance(minutes=10)
    close_buy(fake, clock, 2, 100, profit=-2000.0)
    clock.advance(minutes=90)
    open_buy(fake, clock, 3, 101)
    clock.advance(minutes=1)

    second = make_service(config, fake, clock)
    await second.start()
    try:
        await second.poll_once()
        await second.poll_once()
        rows = await stored(second)
        assert rows["deals"] == 3 and rows["trades"] == 2
        assert second.status(TRADER).trades_today == 2
        kinds = await outbox_kinds(second)
        # The cooling period started and ended while Pulse was away: each nudge once.
        assert kinds["cooling_started"] == 1 and kinds["cooling_ended"] == 1
        assert kinds["post_trade_prompt"] == 1
        keys = await outbox_keys(second)
        assert len(keys) == len(set(keys))
    finally:
        await second.stop()

    third = make_service(config, fake, clock)  # and once more: nothing new
    await third.start()
    try:
        await third.poll_once()
        assert await outbox_keys(third) == keys
        assert await stored(third) == rows
    finally:
        await third.stop()


async def test_an_override_survives_a_restart(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    await _losing_trade(first, fake, clock)
    clock.advance(minutes=1)
    assert (await first.override(TRADER, "cooling_period", "planned breakout")).accepted
    await first.stop()

    clock.advance(minutes=1)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        assert (await second.check(TRADER, request(clock))).allowed
        cooling = second.status(TRADER).lockout("cooling_period")
        assert cooling is not None and cooling.overridden and not second.status(TRADER).blocked
        assert len(await repo_risk.list_overrides(second.db, TRADER)) == 1
        assert second.status(TRADER).deductions  # the override still costs its points
    finally:
        await second.stop()


async def test_cooling_that_ended_while_stopped_is_over_after_restart(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    await _losing_trade(first, fake, clock)
    await first.stop()

    clock.advance(minutes=20)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        v = await second.check(TRADER, request(clock))
        assert v.allowed and "cooling_period" not in [
            r.rule for r in v.rules if r.action is not Action.ALLOW]
        assert (await outbox_kinds(second))["cooling_ended"] == 1
        assert second.status(TRADER).lockouts == ()
    finally:
        await second.stop()


async def test_a_break_in_force_survives_a_restart(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    for i in range(3):  # three small losses in a row: the mandatory 30-minute break
        clock.advance(minutes=1)
        open_buy(fake, clock, 10 + 2 * i, 200 + i)
        clock.advance(minutes=1)
        close_buy(fake, clock, 11 + 2 * i, 200 + i, profit=-100.0)
        await first.poll_once()
    assert first.status(TRADER).lockout("consecutive_losses") is not None
    await first.stop()

    clock.advance(minutes=10)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        v = await second.check(TRADER, request(clock))
        assert not v.allowed and v.action is Action.HARD_BLOCK
        brk = second.status(TRADER).lockout("consecutive_losses")
        assert brk is not None and brk.minutes_left == 20
        assert brk.until - brk.start == timedelta(minutes=30)  # the configured break
        assert (await outbox_kinds(second))["break_started"] == 1
        assert len(await repo_risk.list_lockouts(second.db, 1)) == 1
    finally:
        await second.stop()


async def test_a_crash_with_a_stale_saved_state_loses_nothing_and_repeats_nothing(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    # The kernel state is saved only at start (huge interval): everything after it lives
    # in the deals/outbox rows of the polls' transactions. Then the process dies (no stop).
    first = make_service(config, fake, clock, state_every_seconds=1e9)
    await first.start()
    await _losing_trade(first, fake, clock)
    keys = await outbox_keys(first)
    rows = await stored(first)
    await first.sessions[TRADER].feed.close()
    assert first.engine is not None
    await first.engine.dispose()  # killed: no final state save, nothing flushed

    clock.advance(minutes=2)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        await second.poll_once()
        assert _cooling_blocks(await second.check(TRADER, request(clock)))
        assert await outbox_keys(second) == keys
        assert await stored(second) == rows
        assert second.status(TRADER).trades_today == 1
    finally:
        await second.stop()


async def test_the_days_loss_block_survives_a_restart_and_lifts_at_the_day_reset(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100, volume=3.0)
    clock.advance(minutes=1)
    close_buy(fake, clock, 2, 100, profit=-3100.0, volume=3.0)  # > 3% of 100k
    await first.poll_once()
    assert (await outbox_kinds(first))["daily_loss_hit"] == 1
    await first.stop()

    clock.advance(hours=2)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        v = await second.check(TRADER, request(clock))
        assert not v.allowed and v.action is Action.HARD_BLOCK
        assert "daily_loss" in [r.rule for r in v.rules if r.action is Action.HARD_BLOCK]
        kinds = [lk.kind for lk in await repo_risk.list_lockouts(second.db, 1)]
        assert "daily_block" in kinds and "cooling" in kinds
        assert (await outbox_kinds(second))["daily_loss_hit"] == 1

        clock.now = clock.now.replace(hour=23, minute=1)  # 00:01 in Prague: a new day
        await second.poll_once()
        v2 = await second.check(TRADER, request(clock))
        assert v2.allowed
        st = second.status(TRADER)
        assert st.trades_today == 0 and st.lockouts == () and st.day_pnl == 0.0
    finally:
        await second.stop()


async def test_a_restart_keeps_the_timezone_the_trader_chose(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    from storage import repo_traders

    first = make_service(config, fake, clock)
    await first.start()
    rec = await repo_traders.get_trader(first.db, TRADER)
    assert rec is not None and rec.timezone == "Europe/Prague" and rec.name == "Ana"
    await repo_traders.upsert_trader(first.db, TRADER, at=clock.now, timezone="Asia/Tokyo")
    await first.stop()
    second = make_service(config, fake, clock)
    await second.start()
    try:
        rec = await repo_traders.get_trader(second.db, TRADER)
        assert rec is not None and rec.timezone == "Asia/Tokyo"
        assert second.kernel(TRADER).tz.key == "Asia/Tokyo"  # fatigue hours follow it
    finally:
        await second.stop()
