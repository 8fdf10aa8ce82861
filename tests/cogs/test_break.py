"""/break MINUTES end to end through the cogs: a real PulseService on tmp SQLite, the
commands called through their callbacks (and discord.py's option parsing) with the fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import PulseBot
from bot.feeds.mt5 import MT5Feed
from bot.service import PulseService
from cogs.common import ArgumentProblem
from pulse.config import PulseConfig
from storage import repo_outbox, repo_risk
from tests.fakes.discord_helpers import dispatch, invoke, make_interaction
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import ANN, EXTENSIONS, Clock, no_sleep
from .helpers import field, only
from .test_risk import check
from .test_status import ann, status_cog


async def take_break(bot: PulseBot, **options: Any) -> Any:
    inter = make_interaction(client=bot, user=ann())
    await dispatch(status_cog(bot).take_break, inter, **options)
    return only(inter)


async def test_break_answers_with_the_end_in_the_traders_timezone(
    bot: PulseBot, service: PulseService
) -> None:
    msg = await take_break(bot, minutes=30, reason="clear my head")
    assert msg.ephemeral
    # T0 is 12:00 UTC, 13:00 in Prague (the trader's timezone): 30 minutes -> 13:30
    assert msg.content == ("☕ Break started: 30 minutes until 13:30 (Europe/Prague). New "
                           "entries are blocked until then; `/override` with a reason lifts it.")
    assert msg.embed is not None and (msg.embed.title or "").startswith("☕ Break started: 30")
    assert "**Your break**: 30 min left" in field(msg, "Lockouts")
    acct = service.sessions[ANN].account
    assert acct is not None
    (row,) = await repo_risk.active_lockouts(service.db, acct.id, service.status(ANN).at)
    assert row.kind == "cooling" and row.reason == "self-imposed: clear my head"
    (queued,) = await repo_outbox.list_outbox(service.db)
    assert queued.nudge.kind == "cooling_started" and queued.nudge.data["self_imposed"] is True


async def test_risk_check_during_the_break_is_soft_blocked_and_override_lifts_it(
    bot: PulseBot, service: PulseService, clock: Clock
) -> None:
    await take_break(bot, minutes=20)
    clock.advance(minutes=8)
    msg = await check(bot)
    assert msg.embed.title == "⛔ Blocked: you may override with a reason"
    rules = field(msg, "Rules")
    assert "⛔ **Cooling period**" in rules and "20-minute break" in rules
    assert "12 minutes left" in rules

    inter = make_interaction(client=bot, user=ann())
    await invoke(status_cog(bot).override, inter, reason="planned London open setup")
    done = only(inter)
    assert done.embed is not None and "Override recorded" in (done.embed.title or "")
    after = await check(bot)
    assert after.embed.title == "⚠️ Allowed, with a warning"
    (rec,) = await repo_risk.list_overrides(service.db, ANN)
    assert rec.rule == "cooling_period" and rec.reason == "planned London open setup"


async def test_break_survives_a_service_restart(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock, bot: PulseBot,
    service: PulseService, tmp_path: Path
) -> None:
    await take_break(bot, minutes=45)
    await service.stop()  # the process goes away mid-break

    clock.advance(minutes=15)
    feed = MT5Feed(fake, feeds=config.feeds, password="s3cret", clock=clock)
    second = PulseService(config, feeds={ANN: feed}, sleep=no_sleep, bars_every=0)
    await second.start()
    bot2 = PulseBot(config, extensions=EXTENSIONS, sync_state_path=tmp_path / "sync2.json")
    bot2.service = second  # type: ignore[attr-defined]
    try:
        for ext in EXTENSIONS:
            await bot2.load_extension(ext)
        msg = await check(bot2)
        assert msg.embed.title == "⛔ Blocked: you may override with a reason"
        assert "45-minute break" in field(msg, "Rules")
        inter = make_interaction(client=bot2, user=ann())
        await invoke(status_cog(bot2).status, inter)
        assert "**Your break**: 30 min left" in field(only(inter), "Lockouts")
    finally:
        await bot2.close()
        await second.stop()


@pytest.mark.parametrize("raw", [0, -5, 481, 5000])
async def test_invalid_minutes_are_refused_and_nothing_starts(
    bot: PulseBot, service: PulseService, raw: int
) -> None:
    msg = await take_break(bot, minutes=raw)
    assert msg.ephemeral and msg.embed is None
    assert msg.content == (f"**minutes**: must be between 1 and 480, got {raw}. "
                           "Type how long you want to pause, e.g. 30.")
    assert service.status(ANN).lockouts == ()
    assert await repo_outbox.list_outbox(service.db) == []


async def test_a_direct_call_out_of_range_is_refused_too(
    bot: PulseBot, service: PulseService
) -> None:
    """The callback checks again (the handler the tree runs turns it into the answer)."""
    inter = make_interaction(client=bot, user=ann())
    with pytest.raises(ArgumentProblem, match="minutes: must be between 1 and 480, got 481"):
        await invoke(status_cog(bot).take_break, inter, minutes=481)
    assert service.status(ANN).lockouts == ()
