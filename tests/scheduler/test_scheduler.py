"""Scheduled summaries: cron triggers in each trader's timezone (DST dates), jobs rebuilt
from storage, rescheduling, and the jobs themselves (real storage, real charts)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox import OutboxPolicy, OutboxWorker
from bot.scheduler import (
    JOB_DEFAULTS,
    SummaryScheduler,
    TraderSchedule,
    daily_job_id,
    last_fire_before,
    schedule_for,
    weekly_job_id,
)
from pulse.config import PulseConfig, parse_config
from pulse.journal.summary import ChartData
from pulse.models import Deal, DealType, Side
from storage.records import TraderSettings
from storage.repo_coach import grant_consent
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_outbox import list_outbox
from storage.repo_traders import ensure_account, update_settings, upsert_trader
from tests.helpers_clock import Clock
from tests.journal.helpers import DealMaker, trades_of
from tests.outbox.fake_delivery import FakeDelivery

PRAGUE = ZoneInfo("Europe/Prague")
NEW_YORK = ZoneInfo("America/New_York")
ANN = 1001  # Prague
BOB = 1002  # New York
CARL = 1003  # only in config.yaml
COACH = 2001
DAY = datetime(2026, 3, 4, 8, tzinfo=UTC)  # Wednesday 09:00 in Prague


@pytest.fixture
def config() -> PulseConfig:
    return parse_config({
        "discord": {"daily_summary_time": "21:00", "weekly_summary_day": "sun",
                    "weekly_summary_time": "18:00", "coach_channel_id": 556},
        "traders": [{"discord_user_id": CARL, "timezone": "Asia/Tokyo"}],
    })


def fires(trigger: CronTrigger, start: datetime, n: int) -> list[datetime]:
    out: list[datetime] = []
    prev = None
    now = start
    for _ in range(n):
        nxt = trigger.get_next_fire_time(prev, now)
        assert nxt is not None
        out.append(nxt.astimezone(UTC))
        prev, now = nxt, nxt
    return out


def test_daily_trigger_keeps_local_time_across_dst() -> None:
    sched = TraderSchedule(ANN, PRAGUE, time(21, 0), None)
    trigger = sched.daily_trigger()
    assert trigger is not None
    # Europe: clocks go forward on Sunday 29 March 2026 (CET -> CEST)
    assert fires(trigger, datetime(2026, 3, 27, 12, tzinfo=UTC), 3) == [
        datetime(2026, 3, 27, 20, tzinfo=UTC),
        datetime(2026, 3, 28, 20, tzinfo=UTC),
        datetime(2026, 3, 29, 19, tzinfo=UTC),
    ]
    # and back on Sunday 25 October 2026
    assert fires(trigger, datetime(2026, 10, 24, 12, tzinfo=UTC), 2) == [
        datetime(2026, 10, 24, 19, tzinfo=UTC),
        datetime(2026, 10, 25, 20, tzinfo=UTC),
    ]
    # New York changes on 8 March 2026, three weeks earlier than Europe
    ny = TraderSchedule(BOB, NEW_YORK, time(21, 0), None).daily_trigger()
    assert ny is not None
    assert fires(ny, datetime(2026, 3, 7, 12, tzinfo=UTC), 2) == [
        datetime(2026, 3, 8, 2, tzinfo=UTC),  # Sat 21:00 EST
        datetime(2026, 3, 9, 1, tzinfo=UTC),  # Sun 21:00 EDT
    ]


def test_weekly_trigger_and_last_fire() -> None:
    sched = TraderSchedule(ANN, PRAGUE, None, ("sun", time(18, 0)))
    trigger = sched.weekly_trigger()
    assert trigger is not None and sched.daily_trigger() is None
    assert fires(trigger, datetime(2026, 3, 23, tzinfo=UTC), 2) == [
        datetime(2026, 3, 29, 16, tzinfo=UTC),  # CEST already
        datetime(2026, 4, 5, 16, tzinfo=UTC),
    ]
    # the scheduled instant a late run belongs to
    late = datetime(2026, 3, 4, 23, 20, tzinfo=UTC)  # 00:20 Thursday in Prague
    assert last_fire_before(late, PRAGUE, time(21, 0)) == datetime(2026, 3, 4, 20, tzinfo=UTC)
    assert last_fire_before(late, PRAGUE, time(18, 0), "sun") == \
        datetime(2026, 3, 1, 17, tzinfo=UTC)


def test_settings_override_config_defaults(config: PulseConfig) -> None:
    s = schedule_for(config, ANN, TraderSettings(), PRAGUE)
    assert s.daily == time(21, 0) and s.weekly == ("sun", time(18, 0))
    s = schedule_for(config, ANN, TraderSettings(daily_summary_time="07:30",
                                                 weekly_summary_day="fri",
                                                 weekly_summary=True), PRAGUE)
    assert s.daily == time(7, 30) and s.weekly == ("fri", time(18, 0))
    s = schedule_for(config, ANN, TraderSettings(daily_summary=False, weekly_summary=False),
                     PRAGUE)
    assert s.daily is None and s.weekly is None


def tiny_png(chart: ChartData) -> bytes:
    """A stand-in renderer where the chart itself is not under test (matplotlib is slow)."""
    return b"\x89PNG\r\n\x1a\n" + chart.title.encode()


async def make(engine: AsyncEngine, config: PulseConfig, clock: Clock,
               delivery: FakeDelivery | None = None, *, real_chart: bool = False
               ) -> tuple[SummaryScheduler, OutboxWorker]:
    worker = OutboxWorker(engine, config, delivery or FakeDelivery(), clock=clock,
                          policy=OutboxPolicy())
    if real_chart:
        return SummaryScheduler(engine, config, worker, clock=clock), worker
    return SummaryScheduler(engine, config, worker, clock=clock, render_chart=tiny_png), worker


async def test_start_rebuilds_jobs_from_storage_and_config(
    engine: AsyncEngine, config: PulseConfig
) -> None:
    await upsert_trader(engine, ANN, at=DAY, timezone="Europe/Prague")
    await upsert_trader(engine, BOB, at=DAY, timezone="America/New_York")
    await update_settings(engine, BOB, DAY, daily_summary_time="17:15", weekly_summary=False)
    sched, _ = await make(engine, config, Clock(DAY))
    assert await sched.start() == 3
    try:
        assert sched.scheduler is not None
        jobs = {j.id: j for j in sched.scheduler.get_jobs()}
        assert set(jobs) == {daily_job_id(ANN), weekly_job_id(ANN), daily_job_id(BOB),
                             daily_job_id(CARL), weekly_job_id(CARL)}
        bob = jobs[daily_job_id(BOB)]
        assert bob.trigger.timezone == NEW_YORK
        assert bob.next_run_time.astimezone(NEW_YORK).time() == time(17, 15)
        assert jobs[daily_job_id(CARL)].trigger.timezone == ZoneInfo("Asia/Tokyo")
        ann = jobs[daily_job_id(ANN)]
        assert ann.coalesce is True and ann.max_instances == 1
        assert ann.misfire_grace_time == JOB_DEFAULTS["misfire_grace_time"]
        assert sched.status()["jobs"] == 5 and sched.status()["running"] is True
    finally:
        await sched.stop()
    assert not sched.running


async def test_reschedule_trader_follows_settings(
    engine: AsyncEngine, config: PulseConfig
) -> None:
    await upsert_trader(engine, ANN, at=DAY, timezone="Europe/Prague")
    sched, _ = await make(engine, config, Clock(DAY))
    await sched.start()
    try:
        assert sched.scheduler is not None
        await update_settings(engine, ANN, DAY, daily_summary_time="06:45")
        await upsert_trader(engine, ANN, at=DAY, timezone="America/New_York")
        await sched.reschedule_trader(ANN)
        job = sched.scheduler.get_job(daily_job_id(ANN))
        assert job is not None and job.trigger.timezone == NEW_YORK
        assert job.next_run_time.astimezone(NEW_YORK).time() == time(6, 45)
        await update_settings(engine, ANN, DAY, daily_summary=False)
        await sched.reschedule_trader(ANN)
        assert sched.scheduler.get_job(daily_job_id(ANN)) is None
        assert sched.scheduler.get_job(weekly_job_id(ANN)) is not None
        assert len([j for j in sched.scheduler.get_jobs() if j.id == weekly_job_id(ANN)]) == 1
    finally:
        await sched.stop()


async def seed_day(engine: AsyncEngine) -> None:
    await upsert_trader(engine, ANN, at=DAY, timezone="Europe/Prague", name="Ann")
    acct = await ensure_account(engine, 5001, at=DAY, trader_id=ANN)
    m = DealMaker()
    deals = [Deal(ticket=999, time=DAY - timedelta(days=3), type=DealType.BALANCE,
                  profit=10_000.0)]
    deals += m.round_trip(1, DAY, 20, Side.BUY, -150.0)
    deals += m.round_trip(2, DAY + timedelta(hours=2), 20, Side.BUY, 270.0)
    await insert_deals(engine, acct.id, deals)
    await upsert_trades(engine, acct.id, trades_of(deals))


async def test_daily_job_enqueues_once_per_day_with_its_chart(
    engine: AsyncEngine, config: PulseConfig
) -> None:
    await seed_day(engine)
    await grant_consent(engine, ANN, COACH, DAY)  # mirrored to the server's coach channel
    clock = Clock(datetime(2026, 3, 4, 20, 0, 5, tzinfo=UTC))  # 21:00:05 in Prague
    delivery = FakeDelivery()
    sched, worker = await make(engine, config, clock, delivery, real_chart=True)
    await sched.reschedule_trader(ANN)
    first = await sched.run_daily(ANN)
    assert first is not None
    assert await sched.run_daily(ANN) is None  # a double fire sends once
    clock.now = datetime(2026, 3, 4, 23, 20, tzinfo=UTC)  # a late run (00:20 next day)
    assert await sched.run_daily(ANN) is None  # still the same trading day
    rows = await list_outbox(engine)
    assert sorted(r.nudge.dedupe_key for r in rows) == [
        f"daily_summary:{ANN}:2026-03-04", f"daily_summary:{ANN}:2026-03-04|coach:{COACH}"]
    row = next(r for r in rows if r.id == first)
    assert row.nudge.kind == "daily_summary" and row.nudge.trader_id == ANN
    assert row.nudge.text.startswith("2 trades, 1 win, +1.2%")
    att = row.nudge.data["attachment"]
    assert att["filename"] == "daily-2026-03-04.png"
    assert base64.b64decode(att["png_b64"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert row.nudge.data["summary"]["trades"] == 2
    # 00:20 in Prague is inside quiet hours: the coach gets the mirror, Ann's DM waits
    out = sorted(o.status for o in await worker.run_once())
    assert out == ["deferred", "sent"]
    assert len(delivery.to_channel(556)) == 1 and delivery.dms(ANN) == []
    clock.now = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)  # 07:00 in Prague
    await worker.run_once()
    dm = delivery.dms(ANN)
    assert len(dm) == 1 and dm[0].message.file_name == "daily-2026-03-04.png"


async def test_empty_day_sends_nothing(engine: AsyncEngine, config: PulseConfig) -> None:
    await seed_day(engine)
    clock = Clock(datetime(2026, 3, 5, 20, 0, 5, tzinfo=UTC))  # Thursday: no trades
    sched, _ = await make(engine, config, clock)
    assert await sched.run_daily(ANN) is None
    assert await list_outbox(engine) == []


async def test_weekly_job(engine: AsyncEngine, config: PulseConfig) -> None:
    await seed_day(engine)
    clock = Clock(datetime(2026, 3, 8, 17, 0, 5, tzinfo=UTC))  # Sunday 18:00:05 Prague
    sched, _ = await make(engine, config, clock)
    item = await sched.run_weekly(ANN)
    assert item is not None
    assert await sched.run_weekly(ANN) is None
    (row,) = await list_outbox(engine)
    assert row.nudge.dedupe_key == f"weekly_summary:{ANN}:2026-03-02"
    assert row.nudge.data["summary"]["trades"] == 2
    assert row.nudge.data["attachment"]["filename"] == "weekly-2026-03-02.png"


async def test_apscheduler_fires_the_job_when_its_time_comes(
    engine: AsyncEngine, config: PulseConfig
) -> None:
    """Time made to pass: the job's next run moved to now, APScheduler runs it in the
    loop, and the summary lands in the outbox (the job reads the injected clock)."""
    await seed_day(engine)
    # Thursday 20:50 in Prague: Wednesday's 21:00 is long past (no catch-up at start)
    clock = Clock(datetime(2026, 3, 5, 19, 50, tzinfo=UTC))
    sched, _ = await make(engine, config, clock)
    await sched.start()
    try:
        assert sched.scheduler is not None
        assert [j.id for j in sched.scheduler.get_jobs() if "catchup" in j.id] == []
        job = sched.scheduler.get_job(daily_job_id(ANN))
        assert job is not None
        job.modify(next_run_time=datetime.now(UTC))
        sched.scheduler.wakeup()
        async with asyncio.timeout(10):
            while not await list_outbox(engine):
                await asyncio.sleep(0.02)
        (row,) = await list_outbox(engine)
        assert row.nudge.dedupe_key == f"daily_summary:{ANN}:2026-03-04"
        # the job is back on its cron schedule: next 21:00 Prague
        job = sched.scheduler.get_job(daily_job_id(ANN))
        assert job is not None
        assert job.next_run_time.astimezone(PRAGUE).time() == time(21, 0)
    finally:
        await sched.stop()


async def test_a_summary_missed_while_down_runs_at_start_within_the_grace(
    engine: AsyncEngine, config: PulseConfig
) -> None:
    await seed_day(engine)
    clock = Clock(datetime(2026, 3, 4, 20, 20, tzinfo=UTC))  # 21:20 Prague: 20 min late
    sched, _ = await make(engine, config, clock)
    await sched.start()
    try:
        async with asyncio.timeout(10):
            while not await list_outbox(engine):
                await asyncio.sleep(0.02)
        (row,) = await list_outbox(engine)
        assert row.nudge.dedupe_key == f"daily_summary:{ANN}:2026-03-04"
    finally:
        await sched.stop()
    # a second restart in the grace period sends nothing more (the period's key)
    sched2, _ = await make(engine, config, clock)
    await sched2.start()
    try:
        assert await sched2.run_daily(ANN) is None  # what its catch-up job does
        await asyncio.sleep(0.2)  # let that catch-up job itself run too
        assert len(await list_outbox(engine)) == 1
    finally:
        await sched2.stop()
    # beyond the grace time (80 min late) nothing is caught up
    clock.now = datetime(2026, 3, 4, 21, 20, tzinfo=UTC)
    sched3, _ = await make(engine, config, clock)
    await sched3.start()
    try:
        assert sched3.scheduler is not None
        assert [j.id for j in sched3.scheduler.get_jobs() if "catchup" in j.id] == []
    finally:
        await sched3.stop()
