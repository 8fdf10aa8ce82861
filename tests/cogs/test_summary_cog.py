"""/summary day|week: the embed and the PNG chart, from real storage."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import PulseBot
from tests.cogs import journal_fixtures as fx
from tests.cogs.journal_fixtures import (
    ANN,
    BOB,
    cog,
    desk,
    seed_trades,
)
from tests.fakes.discord_helpers import invoke

PNG = b"\x89PNG\r\n\x1a\n"

bot = fx.bot  # fixtures
engine = fx.engine


def summary(bot: PulseBot) -> Any:
    return cog(bot, "Summary")


async def test_day_summary_embed_and_chart(bot: PulseBot, engine: AsyncEngine) -> None:
    await seed_trades(engine, ANN, 111, [-150.0, 270.0])
    await seed_trades(engine, BOB, 222, [999.0], first_ticket=5000, first_pos=50)
    d = desk()
    inter = d.interaction(bot)
    await invoke(summary(bot).day, inter, date="2026-03-04")
    assert inter.response.deferred_ephemeral
    (sent,) = inter.followup.sent
    assert sent.ephemeral and sent.embed is not None
    assert sent.embed.title == "Daily summary 2026-03-04"
    assert sent.embed.description is not None
    assert sent.embed.description.startswith("2 trades, 1 win, +1.2%. Behavioural score: ")
    assert sent.embed.image.url == "attachment://summary.png"
    (file,) = sent.files
    assert file.filename == "summary.png" and file.fp.read().startswith(PNG)
    # the revenge entry (same symbol, 10 min after the loss) shows as a deduction
    assert "Score deductions" in sent.text() and "-30 revenge" in sent.text()


async def test_week_summary_embed_and_chart(bot: PulseBot, engine: AsyncEngine) -> None:
    await seed_trades(engine, ANN, 111, [-150.0, 270.0, 60.0])
    d = desk()
    inter = d.interaction(bot)
    await invoke(summary(bot).week, inter, date="2026-03-06")
    (sent,) = inter.followup.sent
    assert sent.ephemeral and sent.embed is not None
    assert sent.embed.title == "Weekly summary, week of 2026-03-02"
    assert sent.embed.description is not None
    assert sent.embed.description.startswith("Week of 2026-03-02: 3 trades, win rate 67%")
    assert sent.files[0].fp.read().startswith(PNG)


async def test_summary_date_argument_error(bot: PulseBot) -> None:
    d = desk()
    inter = d.interaction(bot)
    await invoke(summary(bot).day, inter, date="yesterday")
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral and not sent.files
    assert sent.content == "date: 'yesterday' is not a date; use YYYY-MM-DD, e.g. 2026-03-02"


async def test_summary_of_a_day_without_trades(bot: PulseBot) -> None:
    d = desk()
    inter = d.interaction(bot, d.bob)
    await invoke(summary(bot).day, inter, date="2026-03-04")
    (sent,) = inter.followup.sent
    assert sent.embed is not None and sent.embed.description is not None
    assert sent.embed.description.startswith("0 trades")
    assert sent.files[0].fp.read().startswith(PNG)
