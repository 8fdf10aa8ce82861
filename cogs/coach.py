"""``/coach share|unshare|list|view|channel``: sharing with a coach, by consent only.

- ``/coach share coach:@member``: the trader consents; from then on their daily
  summaries, red states and violations are mirrored to the server's coach channel
  (:mod:`bot.coach` decides what and where).
- ``/coach unshare [coach]``: revokes at once (one coach, or everyone); mirrors already
  queued are suppressed by the outbox, which re-checks consent before sending.
- ``/coach list``: who you share with, and who shares with you.
- ``/coach view trader:@member [period]``: a coach reads a trader's summary, only while
  that trader consents (:func:`bot.coach.coach_can_view`); otherwise refused.
- ``/coach channel channel:#channel``: where this server's coach mirrors go. Needs
  Manage Server, checked at run time. The ``default_permissions`` mark states the intent,
  but Discord applies ``default_member_permissions`` to top-level commands only (it is
  not sent for a subcommand), so the run-time check is the real guard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.coach import coach_can_view
from cogs._access import (
    answer,
    answer_error,
    coach_channels,
    config_of,
    engine_of,
    now_of,
)
from cogs.summary import send_summary
from storage.repo_coach import (
    active_consents,
    consents_for_coach,
    grant_consent,
    revoke_consent,
)
from storage.repo_traders import list_traders

__all__ = ["MIRRORED", "CoachCog", "repoint_consents"]

MIRRORED = "daily summaries, red behaviour states and rule violations"


class CoachCog(commands.GroupCog, name="Coach", group_name="coach",
               group_description="Share your summaries and alerts with a coach"):
    """The /coach commands."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await answer_error(interaction, error)

    async def _server_channel(self, interaction: discord.Interaction) -> int | None:
        if interaction.guild_id is not None:
            channel = await coach_channels(self.bot).get(interaction.guild_id,
                                                         at=now_of(interaction))
            if channel is not None:
                return channel
        return config_of(self.bot).discord.coach_channel_id

    # -- share / unshare / list

    @app_commands.command(name="share", description="Share your daily summaries, red "
                          "states and violations with a coach")
    @app_commands.describe(coach="the coach who may see them")
    async def share(self, interaction: discord.Interaction, coach: discord.User) -> None:
        if coach.id == interaction.user.id:
            await answer(interaction, "coach: that is you; pick the member who coaches you.")
            return
        if coach.bot:
            await answer(interaction, f"coach: {coach.mention} is a bot; pick a person.")
            return
        channel = await self._server_channel(interaction)
        await grant_consent(engine_of(self.bot), interaction.user.id, coach.id,
                            now_of(interaction), channel_id=channel)
        where = (
            f"They appear in <#{channel}>."
            if channel is not None
            else "No coach channel is set yet: ask a member with Manage Server to run "
            "`/coach channel`; until then nothing is mirrored."
        )
        await answer(interaction, f"You now share your {MIRRORED} with {coach.mention}, and "
                     f"they may view your summaries with `/coach view`. {where} "
                     "`/coach unshare` stops it at once.")

    @app_commands.command(name="unshare", description="Stop sharing with a coach "
                          "(or with every coach)")
    @app_commands.describe(coach="the coach to stop sharing with (default: everyone)")
    async def unshare(self, interaction: discord.Interaction,
                      coach: discord.User | None = None) -> None:
        ended = await revoke_consent(engine_of(self.bot), interaction.user.id,
                                     now_of(interaction),
                                     coach_user_id=coach.id if coach else None)
        if ended == 0:
            who = coach.mention if coach else "any coach"
            await answer(interaction, f"You were not sharing with {who}; nothing changed.")
            return
        who = coach.mention if coach else f"{ended} coach{'es' if ended != 1 else ''}"
        await answer(interaction, f"Stopped sharing with {who}. Nothing more is mirrored, "
                     "including alerts still waiting to be sent.")

    @app_commands.command(name="list", description="Who you share with, and who shares "
                          "with you")
    async def list_consents(self, interaction: discord.Interaction) -> None:
        engine = engine_of(self.bot)
        mine = await active_consents(engine, interaction.user.id)
        theirs = await consents_for_coach(engine, interaction.user.id)
        embed = discord.Embed(title="Coach sharing", colour=discord.Colour.blurple())
        embed.add_field(
            name="You share with",
            value="\n".join(f"<@{c.coach_user_id}> since {c.granted_at:%Y-%m-%d}"
                            for c in mine)[:1024] or "nobody",
            inline=False,
        )
        embed.add_field(
            name="Sharing with you",
            value="\n".join(f"<@{c.trader_id}> since {c.granted_at:%Y-%m-%d}"
                            for c in theirs)[:1024] or "nobody",
            inline=False,
        )
        await answer(interaction, embed=embed)

    # -- a coach looks

    @app_commands.command(name="view", description="As a coach: a trader's summary "
                          "(only if they share with you)")
    @app_commands.describe(trader="the trader", period="day or week (default: day)",
                           date="a local day, YYYY-MM-DD (default: today)")
    async def view(self, interaction: discord.Interaction, trader: discord.User,
                   period: Literal["day", "week"] = "day", date: str | None = None) -> None:
        if not await coach_can_view(engine_of(self.bot), interaction.user.id, trader.id):
            await answer(interaction, f"{trader.mention} does not share with you, so Pulse "
                         "shows you nothing of theirs. They can run `/coach share` to "
                         "allow it.")
            return
        await send_summary(interaction, trader.id, period, date)

    # -- the server's channel

    @app_commands.command(name="channel", description="Where this server's coach mirrors "
                          "go (Manage Server)")
    @app_commands.describe(channel="the coach channel")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def channel(self, interaction: discord.Interaction,
                      channel: discord.TextChannel) -> None:
        if interaction.guild_id is None:
            await answer(interaction, "Run `/coach channel` in the server whose channel it "
                         "sets.")
            return
        if not interaction.permissions.manage_guild:
            await answer(interaction, "You need the Manage Server permission to choose the "
                         "coach channel. Ask a server admin.")
            return
        store = coach_channels(self.bot)
        at = now_of(interaction)
        previous = await store.set(interaction.guild_id, channel.id, by=interaction.user.id,
                                   at=at)
        moved = 0
        if previous is not None and previous != channel.id:
            # Shares given in this server carry its old channel: point them at the new one.
            moved = await repoint_consents(engine_of(self.bot), previous, channel.id, at)
        extra = f" {moved} existing share(s) moved there." if moved else ""
        await answer(interaction, f"Coach mirrors for this server now go to {channel.mention}: "
                     f"{MIRRORED} of traders who ran `/coach share`.{extra}")


async def repoint_consents(engine: AsyncEngine, old: int, new: int, at: datetime) -> int:
    """Re-grant every active consent whose channel is ``old`` with channel ``new``."""
    moved = 0
    for trader in await list_traders(engine):
        for consent in await active_consents(engine, trader.id):
            if consent.channel_id == old:
                await grant_consent(engine, consent.trader_id, consent.coach_user_id, at,
                                    channel_id=new)
                moved += 1
    return moved


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.coach')``)."""
    await bot.add_cog(CoachCog(bot))
