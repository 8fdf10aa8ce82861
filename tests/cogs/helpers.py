"""Small helpers of the cog tests (interactions of a kind, the one message, an embed field).

``dispatch`` and ``press`` (discord.py's own argument parsing and button checks) live in
:mod:`tests.fakes.discord_helpers` with the other fakes; import them from there.
"""

from __future__ import annotations

import discord
from discord.ext import commands

from tests.fakes.discord_helpers import (
    FakeInteraction,
    FakeMember,
    SentMessage,
    make_interaction,
)


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
