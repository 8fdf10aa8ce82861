"""/help, called through its real callback with the faithful interaction fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.app import PulseBot
from cogs.help import HelpCog, usage
from pulse.config import load_config
from tests.fakes.discord_helpers import (
    FakeGuild,
    FakeMember,
    FakeTextChannel,
    invoke,
    make_interaction,
)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[PulseBot]:
    b = PulseBot(load_config(None), sync_state_path=tmp_path / "sync.json")
    await b.load_extension("cogs.help")
    yield b
    await b.close()


def help_cog(bot: PulseBot) -> HelpCog:
    # load_extension re-executes the module, so the class is not cogs.help.HelpCog itself
    cog = bot.get_cog("Help")
    assert cog is not None and type(cog).__name__ == HelpCog.__name__
    return cog  # type: ignore[return-value]


def guild_with_member() -> tuple[FakeGuild, FakeMember]:
    guild = FakeGuild()
    FakeTextChannel(name="trading", guild=guild)
    return guild, FakeMember(name="ann", guild=guild)


async def test_help_lists_commands_ephemerally(bot: PulseBot) -> None:
    guild, ann = guild_with_member()
    inter = make_interaction(client=bot, user=ann, guild=guild)
    cog = help_cog(bot)
    await invoke(cog.help, inter)
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral
    assert inter.response.type is discord.InteractionResponseType.channel_message
    assert sent.embed is not None and sent.embed.title == "Pulse commands"
    assert [f.name for f in sent.embed.fields] == ["/help"]
    assert "/help [command]" in sent.text()


async def test_help_picks_up_commands_of_later_cogs_in_design_order(bot: PulseBot) -> None:
    async def noop(interaction: discord.Interaction) -> None: ...

    async def score(interaction: discord.Interaction, symbol: str, timeframe: str = "H1") -> None:
        ...

    journal = app_commands.Group(name="journal", description="your trading journal")
    journal.add_command(app_commands.Command(name="add", description="add an entry", callback=noop))
    journal.add_command(app_commands.Command(name="list", description="recent entries",
                                             callback=noop))
    bot.tree.add_command(journal)
    bot.tree.add_command(app_commands.Command(name="score", description="confluence score",
                                              callback=score))
    bot.tree.add_command(app_commands.Command(name="status", description="your day",
                                              callback=noop))
    inter = make_interaction(client=bot)
    cog = help_cog(bot)
    await invoke(cog.help, inter)
    sent = inter.response.sent
    assert sent is not None and sent.embed is not None
    assert [f.name for f in sent.embed.fields] == ["/status", "/score", "/journal", "/help"]
    text = sent.text()
    assert "`/score <symbol> [timeframe]`: confluence score" in text
    assert "`/journal add`: add an entry" in text and "`/journal list`" in text


async def test_help_for_one_command_shows_its_parameters(bot: PulseBot) -> None:
    inter = make_interaction(client=bot)
    cog = help_cog(bot)
    await invoke(cog.help, inter, command="/help")
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral and sent.embed is not None
    assert sent.embed.title == "/help"
    assert sent.embed.fields[0].name == "/help [command]"
    assert "`command` (optional): a command to explain in detail" in sent.text()


async def test_help_for_unknown_command_is_a_clear_ephemeral_error(bot: PulseBot) -> None:
    inter = make_interaction(client=bot)
    cog = help_cog(bot)
    await invoke(cog.help, inter, command="sttaus")
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral and sent.embed is None
    assert sent.content == "There is no /sttaus command. Commands: /help."


async def test_help_autocomplete_offers_matching_commands(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, type=discord.InteractionType.autocomplete)
    cog = help_cog(bot)
    complete: Any = cog._command_autocomplete
    choices = await complete(inter, "/he")
    assert [(c.name, c.value) for c in choices] == [("/help", "help")]
    assert await complete(inter, "zzz") == []


async def test_undeclared_or_missing_options_are_refused(bot: PulseBot) -> None:
    cog = help_cog(bot)
    with pytest.raises(AssertionError, match="no option"):
        await invoke(cog.help, make_interaction(client=bot), symbol="EURUSD")


async def test_help_cannot_answer_twice(bot: PulseBot) -> None:
    inter = make_interaction(client=bot)
    cog = help_cog(bot)
    await invoke(cog.help, inter)
    with pytest.raises(discord.InteractionResponded):
        await invoke(cog.help, inter)


def test_usage_marks_required_and_optional() -> None:
    async def cb(interaction: discord.Interaction, symbol: str, timeframe: str = "H1") -> None:
        ...

    cmd: app_commands.Command[Any, ..., None] = app_commands.Command(
        name="score", description="d", callback=cb
    )
    assert usage(cmd) == "/score <symbol> [timeframe]"
