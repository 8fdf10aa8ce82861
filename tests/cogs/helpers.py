"""Helpers of the cog tests: discord.py's own dispatch paths, without the network.

``dispatch`` runs a slash command the way :class:`discord.app_commands.CommandTree` does
after parsing the payload: checks, the options' transformers on the raw values, the
callback, and on failure the command's/cog's error handlers. ``press`` runs a button the
way :class:`discord.ui.View` does: the view's ``interaction_check`` first, then the
callback (exceptions surface in the test instead of being logged).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_helpers import (
    FakeInteraction,
    FakeMember,
    FakeNamespace,
    SentMessage,
    find_button,
    make_interaction,
)


async def dispatch(command: app_commands.Command[Any, ..., Any], interaction: FakeInteraction,
                   /, **raw: Any) -> None:
    """Parse ``raw`` option values through the command's transformers, then call it."""
    interaction.command = command
    interaction.namespace = FakeNamespace(**raw)
    try:
        await command._invoke_with_namespace(interaction, interaction.namespace)  # type: ignore[arg-type]
    except app_commands.AppCommandError as exc:
        await command._invoke_error_handlers(interaction, exc)  # type: ignore[arg-type]


async def press(view: discord.ui.View, label: str, interaction: FakeInteraction) -> bool:
    """Press the button labelled ``label``; False when the view refused the presser."""
    button = find_button(view, label)
    if not await view.interaction_check(interaction):  # type: ignore[arg-type]
        return False
    await button.callback(interaction)  # type: ignore[arg-type]
    return True


def component(bot: commands.Bot, user: FakeMember) -> FakeInteraction:
    return make_interaction(client=bot, user=user, type=discord.InteractionType.component)


def modal_submit(bot: commands.Bot, user: FakeMember) -> FakeInteraction:
    return make_interaction(client=bot, user=user, type=discord.InteractionType.modal_submit)


def only(inter: FakeInteraction) -> SentMessage:
    """The one message an interaction produced."""
    (msg,) = inter.messages
    return msg


def field(msg: SentMessage, name: str) -> str:
    assert msg.embed is not None, msg
    for f in msg.embed.fields:
        if f.name == name or (f.name or "").startswith(name):
            return str(f.value)
    raise AssertionError(f"no field {name!r}: {[f.name for f in msg.embed.fields]}")
