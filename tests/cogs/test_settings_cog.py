"""/settings: timezone autocomplete and validation, times, DMs, quiet hours, account link;
changes persist and reschedule the trader's summaries (the real SummaryScheduler)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import PulseBot
from bot.delivery import DiscordDelivery
from bot.outbox import OutboxWorker
from bot.scheduler import SummaryScheduler, daily_job_id, weekly_job_id
from bot.trader_settings import (
    SettingsInputError,
    parse_hhmm,
    parse_timezone,
    timezone_choices,
)
from storage.repo_traders import accounts_for_trader, ensure_account, get_trader
from tests.cogs import journal_fixtures as fx
from tests.cogs.journal_fixtures import (
    ANN,
    BOB,
    DAY,
    cog,
    desk,
)
from tests.fakes.discord_helpers import invoke

bot = fx.bot  # fixtures
engine = fx.engine


@pytest.fixture
async def scheduler(bot: PulseBot, engine: AsyncEngine) -> AsyncIterator[SummaryScheduler]:
    """The real summary scheduler (APScheduler in this loop), as bot.scheduler; its outbox
    worker is never started (nothing is sent)."""
    worker = OutboxWorker(engine, bot.config, DiscordDelivery(bot))
    sched = SummaryScheduler(engine, bot.config, worker)
    await sched.start()
    bot.scheduler = sched  # type: ignore[attr-defined]
    yield sched
    await sched.stop()


def cron(sched: SummaryScheduler, job_id: str) -> tuple[str, str] | None:
    """A job's trigger as text and its timezone, or None without the job."""
    assert sched.scheduler is not None
    job = sched.scheduler.get_job(job_id)
    return None if job is None else (str(job.trigger), str(job.trigger.timezone))


def settings(bot: PulseBot) -> Any:
    return cog(bot, "Settings")


async def test_timezone_autocomplete_offers_iana_names(bot: PulseBot) -> None:
    d = desk()
    inter = d.interaction(bot, type=discord.InteractionType.autocomplete)
    choices = await settings(bot)._timezone_autocomplete(inter, "prag")
    assert [c.value for c in choices][:1] == ["Europe/Prague"]
    many = await settings(bot)._timezone_autocomplete(inter, "america/")
    assert len(many) == 25 and all(c.value.startswith("America/") for c in many)
    assert len(await settings(bot)._timezone_autocomplete(inter, "")) == 25


async def test_timezone_is_persisted_and_reschedules(
    bot: PulseBot, engine: AsyncEngine, scheduler: SummaryScheduler
) -> None:
    d = desk()
    inter = d.interaction(bot)
    await invoke(settings(bot).timezone, inter, name="america/new_york")
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral
    assert sent.content == "Saved. Your summaries are rescheduled."
    assert "America/New_York" in sent.text()
    rec = await get_trader(engine, ANN)
    assert rec is not None and rec.timezone == "America/New_York"
    assert cron(scheduler, daily_job_id(ANN)) == (
        "cron[hour='21', minute='0']", "America/New_York")

    utc = d.interaction(bot)
    await invoke(settings(bot).timezone, utc, name="UTC")
    rec = await get_trader(engine, ANN)
    assert rec is not None and rec.timezone == "UTC"  # stored as chosen, not the default


async def test_invalid_timezone_refused_with_suggestions(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    d = desk()
    inter = d.interaction(bot)
    await invoke(settings(bot).timezone, inter, name="Europe/Pragu")
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral
    assert sent.content is not None
    assert sent.content.startswith("timezone: 'Europe/Pragu' is not a known timezone; "
                                   "did you mean Europe/Prague")
    assert await get_trader(engine, ANN) is None


async def test_summary_times_validated_and_persisted(
    bot: PulseBot, engine: AsyncEngine, scheduler: SummaryScheduler
) -> None:
    d = desk()
    bad = d.interaction(bot)
    await invoke(settings(bot).summaries, bad, daily_time="25:00", weekly_time="6pm")
    assert bad.response.sent is not None and bad.response.sent.ephemeral
    assert bad.response.sent.content == "daily_time: '25:00' is not a time of day; use 24-hour " \
        "HH:MM, e.g. 21:30"
    assert await get_trader(engine, ANN) is None
    assert cron(scheduler, daily_job_id(ANN)) is None  # nothing known about ann yet

    ok = d.interaction(bot)
    await invoke(settings(bot).summaries, ok, daily_time="7:30", weekly_day="fri",
                 weekly_time="18:15", weekly=True)
    rec = await get_trader(engine, ANN)
    assert rec is not None
    s = rec.settings
    assert (s.daily_summary_time, s.weekly_summary_day, s.weekly_summary_time) == (
        "07:30", "fri", "18:15")
    assert ok.response.sent is not None and "Fri 18:15" in ok.response.sent.text()
    assert ok.response.sent.content == "Saved. Your summaries are rescheduled."
    tz = bot.config.risk_limits.day_reset_timezone
    assert cron(scheduler, daily_job_id(ANN)) == ("cron[hour='7', minute='30']", tz)
    assert cron(scheduler, weekly_job_id(ANN)) == (
        "cron[day_of_week='fri', hour='18', minute='15']", tz)

    off = d.interaction(bot)
    await invoke(settings(bot).summaries, off, daily=False)
    rec = await get_trader(engine, ANN)
    assert rec is not None and rec.settings.daily_summary is False
    assert rec.settings.daily_summary_time == "07:30"  # other choices kept
    assert cron(scheduler, daily_job_id(ANN)) is None  # the daily job is gone
    assert cron(scheduler, weekly_job_id(ANN)) is not None


async def test_dm_preferences_and_quiet_hours(bot: PulseBot, engine: AsyncEngine) -> None:
    d = desk()
    inter = d.interaction(bot)
    await invoke(settings(bot).dms, inter, nudges=False, mute="fatigue")
    rec = await get_trader(engine, ANN)
    assert rec is not None and rec.settings.dm_nudges is False
    assert rec.settings.muted_kinds == ("fatigue",)

    unmute = d.interaction(bot)
    await invoke(settings(bot).dms, unmute, unmute="fatigue", mute="win_streak")
    rec = await get_trader(engine, ANN)
    assert rec is not None and rec.settings.muted_kinds == ("win_streak",)

    bad = d.interaction(bot)
    await invoke(settings(bot).dms, bad, mute="everything")
    assert bad.response.sent is not None
    assert bad.response.sent.content is not None
    assert bad.response.sent.content.startswith("mute: 'everything' is not a kind of nudge")

    quiet = d.interaction(bot)
    await invoke(settings(bot).quiet_hours, quiet, start="23:00", end="6:30")
    rec = await get_trader(engine, ANN)
    assert rec is not None
    assert (rec.settings.quiet_hours_start, rec.settings.quiet_hours_end,
            rec.settings.quiet_hours_enabled) == ("23:00", "06:30", True)
    assert quiet.response.sent is not None and "23:00-06:30" in quiet.response.sent.text()

    bad_q = d.interaction(bot)
    await invoke(settings(bot).quiet_hours, bad_q, end="7")
    assert bad_q.response.sent is not None
    assert bad_q.response.sent.content == ("end: '7' is not a time of day; use 24-hour "
                                           "HH:MM, e.g. 21:30")


async def test_show_fills_in_config_defaults(bot: PulseBot) -> None:
    d = desk()
    inter = d.interaction(bot, d.bob)
    await invoke(settings(bot).show, inter)
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral and sent.embed is not None
    fields = {f.name: f.value for f in sent.embed.fields}
    cfg = bot.config.discord
    assert fields["Daily summary"] == cfg.daily_summary_time
    assert fields["Timezone"] == bot.config.risk_limits.day_reset_timezone
    assert (fields["Linked MT5 accounts"] or "").startswith("none")


async def test_account_link_and_refusal_of_someone_elses(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    await ensure_account(engine, 222, at=DAY, server="Broker-Live", trader_id=BOB)
    d = desk()
    inter = d.interaction(bot)
    await invoke(settings(bot).account, inter, login=111, server="Broker-Live")
    sent = inter.response.sent
    assert sent is not None and sent.content == "Linked MT5 account 111@Broker-Live to you."
    assert [a.login for a in await accounts_for_trader(engine, ANN)] == [111]

    steal = d.interaction(bot)
    await invoke(settings(bot).account, steal, login=222, server="Broker-Live")
    assert steal.response.sent is not None
    assert "linked to another trader" in (steal.response.sent.content or "")
    assert [a.login for a in await accounts_for_trader(engine, BOB)] == [222]


def test_parsers() -> None:
    assert parse_hhmm("7.05", "t") == "07:05" and parse_hhmm(" 23:59 ", "t") == "23:59"
    for bad in ("24:00", "12:60", "noon", "1230"):
        with pytest.raises(SettingsInputError, match="not a time of day"):
            parse_hhmm(bad, "t")
    assert parse_timezone("europe/prague") == "Europe/Prague"
    with pytest.raises(SettingsInputError, match="Europe/Prague"):
        parse_timezone("Europe/Praha")  # Prague's city name, in Czech: suggest by closeness
    assert timezone_choices("Tokyo")[0] == "Asia/Tokyo"
