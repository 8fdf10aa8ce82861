"""``/help [command]``: what Pulse can do, built from the live command tree.

The list is read from the bot's ``CommandTree`` at call time, so every cog that is
loaded shows up without this file knowing about it. Answers are ephemeral: help is
for the person asking, not the channel.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord
from discord import app_commands
from discord.ext import commands

#: Display order (DESIGN.md section 9); commands not listed follow alphabetically.
ORDER: tuple[str, ...] = (
    "status", "risk", "score", "signals", "split", "journal", "summary",
    "settings", "coach", "break", "override", "help",
)
EMBED_COLOUR = discord.Colour.blurple()
MAX_FIELD = 1024  # Discord's limit for an embed field value



def usage(cmd: app_commands.Command) -> str:
    """``/score <symbol> [timeframe]``: required in angle brackets, optional in square."""
    parts = [f"/{cmd.qualified_name}"]
    for p in cmd.parameters:
        parts.append(f"<{p.display_name}>" if p.required else f"[{p.display_name}]")
    return " ".join(parts)


def _rank(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def top_level_commands(
    tree: app_commands.CommandTree[commands.Bot], guild: discord.abc.Snowflake | None
) -> list[app_commands.Command | app_commands.Group]:
    """Slash commands visible here (global plus this guild's), in display order."""
    seen: dict[str, app_commands.Command | app_commands.Group] = {}
    scopes: list[discord.abc.Snowflake | None] = [None] if guild is None else [None, guild]
    for scope in scopes:
        for cmd in tree.get_commands(guild=scope, type=discord.AppCommandType.chat_input):
            if isinstance(cmd, app_commands.Command | app_commands.Group):
                seen.setdefault(cmd.name, cmd)
    return sorted(seen.values(), key=lambda c: _rank(c.name))


def leaf_commands(
    cmd: app_commands.Command | app_commands.Group,
) -> Iterable[app_commands.Command]:
    """The invocable commands under ``cmd`` (itself when it is not a group)."""
    if isinstance(cmd, app_commands.Group):
        for sub in cmd.walk_commands():
            if isinstance(sub, app_commands.Command):
                yield sub
    else:
        yield cmd


def overview_embed(
    cmds: Iterable[app_commands.Command | app_commands.Group],
) -> discord.Embed:
    """One field per top-level command, one line per invocable (sub)command."""
    embed = discord.Embed(
        title="Pulse commands",
        description=(
            "Pulse watches your account and coaches you: it never trades for you. "
            "Answers about your account are only visible to you. "
            "`/help command:<name>` explains one command."
        ),
        colour=EMBED_COLOUR,
    )
    for cmd in cmds:
        lines = [f"`{usage(leaf)}`: {leaf.description}" for leaf in leaf_commands(cmd)]
        value = "\n".join(lines) or cmd.description
        if len(value) > MAX_FIELD:
            value = value[: MAX_FIELD - 1] + "…"
        embed.add_field(name=f"/{cmd.name}", value=value, inline=False)
    return embed


def detail_embed(cmd: app_commands.Command | app_commands.Group) -> discord.Embed:
    """Usage and every parameter of one command (or of each subcommand of a group)."""
    embed = discord.Embed(title=f"/{cmd.name}", description=cmd.description, colour=EMBED_COLOUR)
    for leaf in leaf_commands(cmd):
        params = [
            f"`{p.display_name}`{'' if p.required else ' (optional)'}: {p.description}"
            for p in leaf.parameters
        ]
        value = leaf.description + ("\n" + "\n".join(params) if params else "")
        embed.add_field(name=usage(leaf), value=value[:MAX_FIELD], inline=False)
    return embed


class HelpCog(commands.Cog, name="Help"):
    """The /help command."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    def _visible(
        self, guild: discord.abc.Snowflake | None
    ) -> list[app_commands.Command | app_commands.Group]:
        return top_level_commands(self.bot.tree, guild)

    @app_commands.command(name="help", description="What Pulse can do and how to use each command")
    @app_commands.describe(command="a command to explain in detail, e.g. score")
    async def help(self, interaction: discord.Interaction, command: str | None = None) -> None:
        cmds = self._visible(interaction.guild)
        if command is None:
            await interaction.response.send_message(embed=overview_embed(cmds), ephemeral=True)
            return
        wanted = command.strip().lstrip("/").split(" ")[0].lower()
        match = next((c for c in cmds if c.name == wanted), None)
        if match is None:
            names = ", ".join(f"/{c.name}" for c in cmds)
            await interaction.response.send_message(
                f"There is no /{wanted} command. Commands: {names}.", ephemeral=True
            )
            return
        await interaction.response.send_message(embed=detail_embed(match), ephemeral=True)

    @help.autocomplete("command")
    async def _command_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lstrip("/").lower()
        return [
            app_commands.Choice(name=f"/{c.name}", value=c.name)
            for c in self._visible(interaction.guild)
            if needle in c.name
        ][:25]


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.help')``)."""
    await bot.add_cog(HelpCog(bot))
