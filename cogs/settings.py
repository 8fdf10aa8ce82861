"""``/settings show|timezone|summaries|dms|quiet-hours|account``: a trader's own choices.

Parsing and validation are :mod:`bot.trader_settings` (one place for what a valid
timezone or time is); this cog turns options into calls and answers ephemerally with
the settings now in force. Changes that move a summary (timezone, times, days, on/off)
reschedule that trader's jobs at once (``bot.scheduler.reschedule_trader``).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import discord
from discord import app_commands
from discord.ext import commands

from bot import trader_settings as ts
from bot.journal_render import settings_embed
from cogs._access import answer, answer_error, config_of, engine_of, now_of, reschedule
from pulse.models import NudgeKind

__all__ = ["NUDGE_KINDS", "SettingsCog"]

NUDGE_KINDS: tuple[str, ...] = get_args(NudgeKind)
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class SettingsCog(commands.GroupCog, name="Settings", group_name="settings",
                  group_description="Your Pulse settings: timezone, summaries, DMs, "
                  "quiet hours, account"):
    """The /settings commands."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_app_command_error(self, interaction: discord.Interaction,
                                    error: app_commands.AppCommandError) -> None:
        await answer_error(interaction, error)

    async def _apply(self, interaction: discord.Interaction, *, moves_summaries: bool,
                     timezone: str | None = None, **changes: Any) -> None:
        """Store, reschedule when needed, and show what is now in force."""
        trader = interaction.user.id
        try:
            now = await ts.change_settings(engine_of(self.bot), config_of(self.bot), trader,
                                           now_of(interaction), timezone=timezone, **changes)
        except ts.SettingsInputError as exc:
            await answer(interaction, "\n".join(exc.problems))
            return
        rescheduled = moves_summaries and await reschedule(self.bot, trader)
        note = "Saved." + (" Your summaries are rescheduled." if rescheduled else "")
        await answer(interaction, note, embed=settings_embed(now))

    # -- show

    @app_commands.command(name="show", description="The settings in force for you")
    async def show(self, interaction: discord.Interaction) -> None:
        now = await ts.load_settings(engine_of(self.bot), config_of(self.bot),
                                     interaction.user.id)
        await answer(interaction, embed=settings_embed(now))

    # -- timezone

    @app_commands.command(name="timezone", description="Your timezone (summaries, "
                          "trading hours and times shown use it)")
    @app_commands.describe(name="an IANA timezone, e.g. Europe/Prague (pick from the list)")
    async def timezone(self, interaction: discord.Interaction, name: str) -> None:
        try:
            canonical = ts.parse_timezone(name)
        except ts.SettingsInputError as exc:
            await answer(interaction, "\n".join(exc.problems))
            return
        await self._apply(interaction, moves_summaries=True, timezone=canonical)

    @timezone.autocomplete("name")
    async def _timezone_autocomplete(self, interaction: discord.Interaction,
                                     current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in ts.timezone_choices(current)]

    # -- summaries

    @app_commands.command(name="summaries", description="When your daily and weekly "
                          "summaries arrive (your local time), or turn them off")
    @app_commands.describe(
        daily_time="HH:MM, e.g. 21:30", weekly_day="day of the weekly summary",
        weekly_time="HH:MM, e.g. 18:00", daily="send the daily summary",
        weekly="send the weekly summary",
    )
    async def summaries(self, interaction: discord.Interaction,
                        daily_time: str | None = None, weekly_day: Day | None = None,
                        weekly_time: str | None = None, daily: bool | None = None,
                        weekly: bool | None = None) -> None:
        changes: dict[str, Any] = {}
        try:
            if daily_time is not None:
                changes["daily_summary_time"] = ts.parse_hhmm(daily_time, "daily_time")
            if weekly_time is not None:
                changes["weekly_summary_time"] = ts.parse_hhmm(weekly_time, "weekly_time")
            if weekly_day is not None:
                changes["weekly_summary_day"] = ts.parse_weekday(weekly_day, "weekly_day")
        except ts.SettingsInputError as exc:
            await answer(interaction, "\n".join(exc.problems))
            return
        if daily is not None:
            changes["daily_summary"] = daily
        if weekly is not None:
            changes["weekly_summary"] = weekly
        if not changes:
            await answer(interaction, "Nothing to change: give daily_time, weekly_day, "
                         "weekly_time, daily or weekly.")
            return
        await self._apply(interaction, moves_summaries=True, **changes)

    # -- DMs

    @app_commands.command(name="dms", description="Whether Pulse nudges you by DM, and "
                          "which kinds of nudge to mute")
    @app_commands.describe(nudges="receive nudges by DM", mute="a kind of nudge to mute",
                           unmute="a muted kind to receive again")
    async def dms(self, interaction: discord.Interaction, nudges: bool | None = None,
                  mute: str | None = None, unmute: str | None = None) -> None:
        changes: dict[str, Any] = {}
        if nudges is not None:
            changes["dm_nudges"] = nudges
        if mute is not None or unmute is not None:
            problems = [
                f"{opt}: {kind!r} is not a kind of nudge; pick one from the list "
                f"(e.g. {NUDGE_KINDS[0]})"
                for opt, kind in (("mute", mute), ("unmute", unmute))
                if kind is not None and kind not in NUDGE_KINDS
            ]
            if problems:
                await answer(interaction, "\n".join(problems))
                return
            current = await ts.load_settings(engine_of(self.bot), config_of(self.bot),
                                             interaction.user.id)
            muted = [k for k in current.muted_kinds if k != unmute]
            if mute is not None and mute not in muted:
                muted.append(mute)
            changes["muted_kinds"] = tuple(muted)
        if not changes:
            await answer(interaction, "Nothing to change: give nudges, mute or unmute.")
            return
        await self._apply(interaction, moves_summaries=False, **changes)

    @dms.autocomplete("mute")
    @dms.autocomplete("unmute")
    async def _kind_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        needle = current.strip().casefold()
        return [app_commands.Choice(name=k, value=k) for k in NUDGE_KINDS
                if needle in k][:25]

    # -- quiet hours

    @app_commands.command(name="quiet-hours", description="Hours without DM nudges "
                          "(critical alerts still come)")
    @app_commands.describe(start="HH:MM, e.g. 22:30", end="HH:MM, e.g. 07:00",
                           enabled="use quiet hours at all")
    async def quiet_hours(self, interaction: discord.Interaction, start: str | None = None,
                          end: str | None = None, enabled: bool | None = None) -> None:
        changes: dict[str, Any] = {}
        try:
            if start is not None:
                changes["quiet_hours_start"] = ts.parse_hhmm(start, "start")
            if end is not None:
                changes["quiet_hours_end"] = ts.parse_hhmm(end, "end")
        except ts.SettingsInputError as exc:
            await answer(interaction, "\n".join(exc.problems))
            return
        if enabled is not None:
            changes["quiet_hours_enabled"] = enabled
        elif changes:
            changes["quiet_hours_enabled"] = True  # giving times means using them
        if not changes:
            await answer(interaction, "Nothing to change: give start, end or enabled.")
            return
        await self._apply(interaction, moves_summaries=False, **changes)

    # -- account link

    @app_commands.command(name="account", description="Link your MT5 account to your "
                          "Discord user (its trades join your journal)")
    @app_commands.describe(login="your MT5 account number",
                           server="the MT5 server name, as the terminal shows it")
    async def account(self, interaction: discord.Interaction,
                      login: app_commands.Range[int, 1, 2**53], server: str = "") -> None:
        try:
            acct = await ts.link_account(engine_of(self.bot), interaction.user.id, login,
                                         server, now_of(interaction))
        except ts.SettingsInputError as exc:
            await answer(interaction, "\n".join(exc.problems))
            return
        now = await ts.load_settings(engine_of(self.bot), config_of(self.bot),
                                     interaction.user.id)
        where = f"{acct.login}{'@' + acct.server if acct.server else ''}"
        await answer(interaction, f"Linked MT5 account {where} to you.",
                     embed=settings_embed(now))


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.settings')``)."""
    await bot.add_cog(SettingsCog(bot))
