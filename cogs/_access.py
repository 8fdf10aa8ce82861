"""What the journal, summary, settings and coach cogs share: where storage is, the
clock, the scheduler hook, the error answer. (Private answers and owner-only buttons are
:func:`cogs.common.answer` and :class:`cogs.common.OwnerView`, shared with the trading cogs.)

Storage: ``bot.service`` (a started :class:`bot.service.PulseService`, its ``db``) when
the process wires one, else ``bot.engine`` (an open ``AsyncEngine``; tests and tools).
Until either exists, commands answer "not ready" ephemerally instead of failing.

The trader is the Discord user: a trader's id is their Discord user id everywhere.
"Now" is the moment the user acted (``interaction.created_at``, Discord's own clock).
"""

from __future__ import annotations

import inspect
import logging
from datetime import datetime

import discord
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.coach_channels import DEFAULT_NAME, CoachChannels
from cogs.common import OwnerView, answer
from pulse.config import PulseConfig

__all__ = [
    "NotReady",
    "OwnerView",
    "answer",
    "answer_error",
    "coach_channels",
    "config_of",
    "engine_of",
    "now_of",
    "reschedule",
]

log = logging.getLogger("pulse.cogs")


class NotReady(app_commands.AppCommandError):
    """Storage is not open yet (start-up) or the service stopped."""


def engine_of(bot: discord.Client) -> AsyncEngine:
    service = getattr(bot, "service", None)
    if service is not None:
        try:
            engine = service.db
        except Exception as exc:  # ServiceError: not started yet
            raise NotReady(str(exc)) from None
        if engine is not None:
            return engine
    engine = getattr(bot, "engine", None)
    if engine is None:
        raise NotReady("Pulse is still starting (storage is not open yet); try again in a moment.")
    return engine


def config_of(bot: discord.Client) -> PulseConfig:
    cfg = getattr(bot, "config", None)
    if not isinstance(cfg, PulseConfig):
        raise NotReady("Pulse has no configuration loaded.")
    return cfg


def now_of(interaction: discord.Interaction) -> datetime:
    """When the user acted (timezone-aware UTC)."""
    return interaction.created_at


def coach_channels(bot: discord.Client) -> CoachChannels:
    """The per-server coach channel store (storage); the old JSON file next to the
    command-sync state file, if any, is imported on first use."""
    store = getattr(bot, "coach_channels", None)
    if isinstance(store, CoachChannels):
        return store
    sync_path = getattr(bot, "sync_state_path", None)
    legacy = sync_path.with_name(DEFAULT_NAME) if sync_path is not None else None
    store = CoachChannels(engine_of(bot), legacy)
    bot.coach_channels = store  # type: ignore[attr-defined]
    return store


async def reschedule(bot: discord.Client, trader_id: int) -> bool:
    """Tell the scheduler (``bot.scheduler.reschedule_trader``) a trader's times changed.

    False when no scheduler runs in this process (tools, tests without one).
    """
    scheduler = getattr(bot, "scheduler", None)
    hook = getattr(scheduler, "reschedule_trader", None)
    if hook is None:
        return False
    result = hook(trader_id)
    if inspect.isawaitable(result):
        await result
    return True


async def answer_error(interaction: discord.Interaction, error: Exception) -> None:
    """The cogs' ``cog_app_command_error``: a clear ephemeral line, never a traceback.

    An option Discord's client would not have sent (a value outside a range or the
    choices, from another client or the API) is named with what it expects."""
    original: BaseException = getattr(error, "original", error)
    if isinstance(original, NotReady):
        text = str(original)
    elif isinstance(original, app_commands.TransformerError):
        name = _option_of(interaction, original.value)
        text = (f"{name}: {original.value!r} is not valid here; `/help` shows what each "
                "option expects.")
    elif isinstance(original, app_commands.NoPrivateMessage):
        text = "This command works in a server, not in DMs."
    elif isinstance(original, app_commands.CheckFailure):
        text = "You cannot use this command here."
    else:
        log.error("command failed", exc_info=original)
        text = "Something went wrong on Pulse's side; it has been logged. Please try again."
    await answer(interaction, text)


def _option_of(interaction: discord.Interaction, value: object) -> str:
    cmd = interaction.command
    if isinstance(cmd, app_commands.Command):
        for p in cmd.parameters:
            if getattr(interaction.namespace, p.name, None) == value:
                return p.display_name
    return "an option"
