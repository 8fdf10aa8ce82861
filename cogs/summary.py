"""``/summary day|week [date]``: the daily or weekly summary with its chart, on demand.

The same summary the scheduler delivers (:func:`bot.journal_ops.summary_for`, rendered by
:func:`bot.journal_render.summary_embed`), for today / this week in the trader's
timezone or for a given local date. Ephemeral: it is the trader's own data. The chart is
drawn in a worker thread so the bot keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot import journal_ops
from bot.charts.summary_chart import render_summary_chart
from bot.journal_render import CHART_NAME, summary_embed
from cogs._access import answer, answer_error, config_of, engine_of, now_of
from cogs.journal import ArgumentError, parse_date

__all__ = ["SummaryCog", "send_summary"]


async def send_summary(
    interaction: discord.Interaction,
    trader_id: int,
    kind: journal_ops.SummaryKind,
    day_text: str | None,
) -> None:
    """Compute, draw and send one summary of ``trader_id`` to the caller (ephemerally).

    Shared with ``/coach view`` (after its consent check)."""
    try:
        day = parse_date(day_text, "date")
    except ArgumentError as exc:
        await answer(interaction, str(exc))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot = interaction.client
    summary = await journal_ops.summary_for(
        engine_of(bot), config_of(bot), trader_id, kind, day=day, now=now_of(interaction)
    )
    png = await asyncio.to_thread(render_summary_chart, summary.chart)
    await answer(
        interaction,
        embed=summary_embed(summary, with_chart=True),
        file=discord.File(io.BytesIO(png), filename=CHART_NAME),
    )


class SummaryCog(commands.GroupCog, name="Summary", group_name="summary",
                 group_description="Your daily or weekly trading summary with its chart"):
    """The /summary commands."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await answer_error(interaction, error)

    @app_commands.command(name="day", description="A trading day: trades, wins, P&L, "
                          "behaviour score and rule hits, with a chart")
    @app_commands.describe(date="the local trading day, YYYY-MM-DD (default: today)")
    async def day(self, interaction: discord.Interaction, date: str | None = None) -> None:
        await send_summary(interaction, interaction.user.id, "day", date)

    @app_commands.command(name="week", description="A trading week: best and worst day, "
                          "win rate, profit factor, weakness and strength, with a chart")
    @app_commands.describe(date="any local day in the week, YYYY-MM-DD (default: this week)")
    async def week(self, interaction: discord.Interaction, date: str | None = None) -> None:
        await send_summary(interaction, interaction.user.id, "week", date)


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.summary')``)."""
    await bot.add_cog(SummaryCog(bot))
