"""``/status``, ``/break`` and ``/override``: where the trader stands, a pause, a lift.

- ``/status``: the state light and score with every deduction, the day's P&L against
  the loss limit as a bar, trades used of the maximum, and each lockout with its time
  left (all from :meth:`PulseService.status`).
- ``/break MINUTES [reason]``: a self-imposed pause (``PulseService.take_break``): new
  entries are soft-blocked under ``cooling_period`` until it ends (``/override`` with a
  reason lifts it); the answer gives the end in the trader's timezone.
- ``/override [rule] reason``: lift a soft block with a reason (the service records it
  in the journal and it costs behaviour score); hard blocks are refused by the service
  with its reason.

All answers are ephemeral: they are about the trader's own account.
"""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.journal_service import trader_timezone
from bot.render import status_embed
from bot.service import PulseService
from cogs.common import MAX_BREAK_MINUTES, ArgumentProblem, MinutesTransformer, TradingCog

__all__ = ["StatusCog", "setup"]

RuleName = Literal[
    "cooling_period", "daily_loss", "max_drawdown", "max_trades", "position_size",
    "stop_loss_required", "consecutive_losses",
]
Minutes = app_commands.Transform[int, MinutesTransformer]
REASON_MIN = 3


class StatusCog(TradingCog, name="Status"):
    """/status, /break and /override."""

    def __init__(self, bot: commands.Bot, service: PulseService | None = None) -> None:
        super().__init__(bot, service)

    @app_commands.command(name="status", description="Your state, score, day P&L against the "
                                                     "limit, trades and lockouts")
    async def status(self, interaction: discord.Interaction) -> None:
        found = await self.trader(interaction)
        if found is None:
            return
        svc, tid = found
        st = svc.status(tid)
        await interaction.response.send_message(embed=status_embed(st), ephemeral=True)

    @app_commands.command(name="break", description="Take a break: Pulse blocks new entries "
                                                    "for MINUTES")
    @app_commands.describe(minutes=f"how long to pause, 1 to {MAX_BREAK_MINUTES} minutes",
                           reason="why you are stepping away (optional, kept with the break)")
    async def take_break(self, interaction: discord.Interaction, minutes: Minutes,
                         reason: app_commands.Range[str, 0, 200] | None = None) -> None:
        # The transformer already refused these from Discord; a direct call is checked too.
        if not 1 <= minutes <= MAX_BREAK_MINUTES:
            raise ArgumentProblem(
                "minutes", f"must be between 1 and {MAX_BREAK_MINUTES}, got {minutes}",
                "Type how long you want to pause, e.g. 30.")
        found = await self.trader(interaction)
        if found is None:
            return
        svc, tid = found
        await svc.take_break(tid, minutes, reason=(reason or "").strip())
        st = svc.status(tid)
        mine = next((lk for lk in st.lockouts if lk.self_imposed), None)
        tz = await trader_timezone(svc.db, svc.config, tid)
        embed = status_embed(st)
        embed.title = f"☕ Break started: {minutes} min · {embed.title}"
        ends = ""
        if mine is not None:
            local = mine.until.astimezone(tz)
            same_day = local.date() == st.at.astimezone(tz).date()
            fmt = "%H:%M" if same_day else "%a %d %b %H:%M"
            ends = f" until {local.strftime(fmt)} ({tz.key})"
        await interaction.response.send_message(
            f"☕ Break started: {minutes} minutes{ends}. New entries are blocked until then; "
            "`/override` with a reason lifts it.", embed=embed, ephemeral=True)

    @app_commands.command(name="override", description="Lift a soft block (cooling period) "
                                                       "with a reason; it is journaled")
    @app_commands.describe(reason="why this trade is worth lifting the block (journaled)",
                           rule="the rule to override (default: the soft block in force)")
    async def override(self, interaction: discord.Interaction,
                       reason: app_commands.Range[str, 1, 300],
                       rule: RuleName | None = None) -> None:
        text = reason.strip()
        if len(text) < REASON_MIN:
            raise ArgumentProblem(
                "reason", "an override needs a reason of a few words",
                "Say why, e.g. `/override reason:A+ setup on my plan, half size`.")
        found = await self.trader(interaction)
        if found is None:
            return
        svc, tid = found
        chosen: str | None = rule
        if chosen is None:
            st = svc.status(tid)
            soft = next((lk for lk in st.lockouts if lk.overridable and not lk.overridden),
                        None)
            chosen = soft.rule if soft is not None else "cooling_period"
        record = await svc.override(tid, chosen, text)
        if record.accepted:
            st = svc.status(tid)
            embed = status_embed(st)
            embed.title = f"Override recorded · {embed.title}"
            embed.insert_field_at(0, name="Override", value=record.message[:1024], inline=False)
            await interaction.response.send_message(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(f"⛔ Override refused: {record.message}",
                                                    ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.status')``)."""
    await bot.add_cog(StatusCog(bot))
