"""The real PulseBot (real discord.py) against the fake Discord, with the outbox worker
and the summary scheduler installed: a nudge DM, the fallback when DMs are refused, a
coach mirror, a scheduled daily summary (time made to pass), and the flush at shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import PulseBot
from bot.delivery import DiscordDelivery
from bot.outbox import Clock as ClockFn
from bot.outbox import OutboxPolicy, OutboxWorker
from bot.scheduler import SummaryScheduler, daily_job_id
from pulse.config import parse_config
from pulse.models import Deal, DealType, Nudge, Severity, Side
from storage import open_database
from storage.repo_coach import grant_consent
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_outbox import list_outbox
from storage.repo_traders import ensure_account, upsert_trader
from tests.e2e.conftest import BotFactory, fake, start_bot, sync_state  # noqa: F401
from tests.fakes.discord_server import (
    ANN_ID,
    BOB_ID,
    COACH_CHANNEL_ID,
    CORA_ID,
    TRADING_CHANNEL_ID,
    FakeDiscord,
)
from tests.journal.helpers import DealMaker, trades_of
from tests.outbox.conftest import Clock

DAY = datetime(2026, 3, 4, 8, tzinfo=UTC)


def install(bot: PulseBot, db: AsyncEngine, clock: ClockFn, policy: OutboxPolicy) -> None:
    """The outbox and the scheduler hung on the bot's lifecycle the way the process wiring
    (bot/wiring.py) does: started in setup_hook after login, stopped in the shutdown
    phases ``stop_scheduler`` then ``flush_outbox`` while still connected."""
    parts: dict[str, object] = {}

    async def start() -> None:
        worker = OutboxWorker(db, bot.config, DiscordDelivery(bot), clock=clock, policy=policy)
        scheduler = SummaryScheduler(db, bot.config, worker, clock=clock)
        parts.update(outbox=worker, scheduler=scheduler)
        bot.outbox = worker  # type: ignore[attr-defined]
        bot.scheduler = scheduler  # type: ignore[attr-defined]
        worker.start()
        await scheduler.start()

    async def stop_scheduler() -> None:
        scheduler = parts["scheduler"]
        assert isinstance(scheduler, SummaryScheduler)
        await scheduler.stop()

    async def flush() -> None:
        worker = parts["outbox"]
        assert isinstance(worker, OutboxWorker)
        await worker.flush(5.0)

    bot.on_startup("outbox and scheduler", start)
    bot.on_shutdown("stop_scheduler", "summary scheduler", stop_scheduler)
    bot.on_shutdown("flush_outbox", "outbox", flush, timeout=7.0)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}")
    try:
        yield eng
    finally:
        await eng.dispose()


async def seed(db: AsyncEngine) -> None:
    await upsert_trader(db, ANN_ID, at=DAY, timezone="Europe/Prague", name="Ann")
    await upsert_trader(db, BOB_ID, at=DAY, timezone="Europe/Prague", name="Bob")
    acct = await ensure_account(db, 5001, at=DAY, trader_id=ANN_ID)
    m = DealMaker()
    deals = [Deal(ticket=999, time=DAY - timedelta(days=3), type=DealType.BALANCE,
                  profit=10_000.0)]
    deals += m.round_trip(1, DAY, 20, Side.BUY, 150.0)
    await insert_deals(db, acct.id, deals)
    await upsert_trades(db, acct.id, trades_of(deals))
    await grant_consent(db, BOB_ID, CORA_ID, DAY, channel_id=COACH_CHANNEL_ID)


async def test_outbox_and_scheduler_in_the_running_bot(
    fake: FakeDiscord, start_bot: BotFactory, db: AsyncEngine  # noqa: F811
) -> None:
    await seed(db)
    fake.close_dms(BOB_ID)
    config = parse_config({"discord": {"fallback_channel_id": TRADING_CHANNEL_ID}})
    # Thursday 20:50 in Prague: the summary job (made to run below) covers Wednesday
    clock = Clock(datetime(2026, 3, 5, 19, 50, tzinfo=UTC))

    def setup(bot: PulseBot) -> None:
        install(bot, db, clock, OutboxPolicy(poll_interval=30.0))

    async with start_bot(config=config, setup=setup) as running:
        worker = running.bot.outbox  # type: ignore[attr-defined]
        scheduler = running.bot.scheduler  # type: ignore[attr-defined]
        assert isinstance(worker, OutboxWorker) and worker.running
        assert isinstance(scheduler, SummaryScheduler) and scheduler.running

        # a nudge: written, then DMed (the enqueue wakes the loop; poll is 30 s)
        await worker.enqueue(Nudge(at=clock.now, kind="cooling_started",
                                   severity=Severity.WARNING, text="Cooling 15 min",
                                   dedupe_key="cool:ann:1", trader_id=ANN_ID))
        await fake.wait_for_request("POST", r"/users/@me/channels")
        dm = fake.dm_channels[ANN_ID]
        await fake.wait_for_request("POST", rf"/channels/{dm}/messages")

        # Bob's DMs are closed: his coach's channel gets it, mentioning him; the
        # violation is also mirrored there as the coach's copy
        await worker.enqueue(Nudge(at=clock.now, kind="violation",
                                   severity=Severity.CRITICAL, text="Deal during a break",
                                   dedupe_key="viol:bob:1", trader_id=BOB_ID))
        await fake.wait_for_request("POST", rf"/channels/{COACH_CHANNEL_ID}/messages", count=2)
        coach_posts = fake.find("POST", rf"/channels/{COACH_CHANNEL_ID}/messages")
        contents = sorted(p.json.get("content") or "" for p in coach_posts)
        assert contents == ["", f"<@{BOB_ID}> your DMs are closed, so Pulse posts this here."]
        assert fake.find("POST", rf"/channels/{fake.dm_channels[BOB_ID]}/messages")[0].status \
            == 403

        # the scheduled daily summary: time made to pass for the job
        aps = scheduler.scheduler
        assert aps is not None
        job = aps.get_job(daily_job_id(ANN_ID))
        assert job is not None
        job.modify(next_run_time=datetime.now(UTC))
        aps.wakeup()
        post = await fake.wait_for_request("POST", rf"/channels/{dm}/messages", count=2)
        assert post.files == ["daily-2026-03-04.png"]
        assert post.json["embeds"][0]["title"] == "Daily summary"

        # queued at shutdown: the flush delivers it before the bot disconnects
        await worker.stop()  # the loop is down: only the flush can deliver now
        await worker.enqueue(Nudge(at=clock.now, kind="tilt", severity=Severity.WARNING,
                                   text="Tilt", dedupe_key="tilt:ann:1", trader_id=ANN_ID))
        await running.stop()
    assert len(fake.find("POST", rf"/channels/{dm}/messages")) == 3
    statuses = {r.nudge.dedupe_key: r.status for r in await list_outbox(db)}
    assert statuses == {
        "cool:ann:1": "sent", "viol:bob:1": "sent", f"viol:bob:1|coach:{CORA_ID}": "sent",
        f"daily_summary:{ANN_ID}:2026-03-04": "sent", "tilt:ann:1": "sent",
    }
    assert not scheduler.running
