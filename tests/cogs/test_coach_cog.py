"""/coach share|unshare|list|view|channel: consent recorded and revoked, the Manage
Server refusal, a coach refused for a trader who has not consented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import PulseBot
from bot.coach import coach_can_view, mirror_nudges
from cogs._access import coach_channels
from pulse.models import Nudge
from storage.repo_coach import active_consents
from storage.repo_settings import get_guild_settings
from tests.cogs import journal_fixtures as fx
from tests.cogs.journal_fixtures import (
    ANN,
    CORA,
    DAY,
    cog,
    desk,
    seed_trades,
)
from tests.fakes.discord_helpers import (
    FakeRole,
    FakeTextChannel,
    FakeUser,
    invoke,
    make_interaction,
)

bot = fx.bot  # fixtures
engine = fx.engine


def coach(bot: PulseBot) -> Any:
    return cog(bot, "Coach")


def summary_nudge(trader: int) -> Nudge:
    return Nudge(at=DAY, kind="daily_summary", text="2 trades", trader_id=trader,
                 dedupe_key=f"daily_summary:{trader}:2026-03-04")


async def test_channel_requires_manage_server(bot: PulseBot, engine: AsyncEngine) -> None:
    d = desk()
    room = FakeTextChannel(name="coaching", guild=d.guild)
    cmd = coach(bot).channel
    # marked Manage Server / servers only; Discord honours that for top-level commands
    # only, so the run-time check below is what refuses
    assert cmd.default_permissions == discord.Permissions(manage_guild=True)
    assert cmd.guild_only

    inter = d.interaction(bot, d.ann)
    await invoke(cmd, inter, channel=room)
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral
    assert sent.content == ("You need the Manage Server permission to choose the coach "
                            "channel. Ask a server admin.")
    assert await get_guild_settings(engine, d.guild.id) is None

    admin = FakeRole(9, "Coach", discord.Permissions(manage_guild=True))
    d.cora.roles.append(admin)
    ok = d.interaction(bot, d.cora)
    await invoke(cmd, ok, channel=room)
    assert ok.response.sent is not None and room.mention in (ok.response.sent.content or "")
    stored = await get_guild_settings(engine, d.guild.id)
    assert stored is not None and stored.coach_channel_id == room.id
    assert stored.set_by == d.cora.id


async def test_channel_in_a_dm_is_refused(bot: PulseBot) -> None:
    d = desk()
    room = FakeTextChannel(name="coaching", guild=d.guild)
    dm = make_interaction(client=bot, user=FakeUser(CORA, "cora"))
    await invoke(coach(bot).channel, dm, channel=room)
    assert dm.response.sent is not None and dm.response.sent.ephemeral
    assert (dm.response.sent.content or "").startswith("Run `/coach channel` in the server")


async def test_share_records_consent_and_mirrors_unshare_stops_at_once(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    d = desk()
    room = FakeTextChannel(name="coaching", guild=d.guild)
    d.cora.roles.append(FakeRole(9, "Coach", discord.Permissions(manage_guild=True)))
    await invoke(coach(bot).channel, d.interaction(bot, d.cora), channel=room)

    share = d.interaction(bot, d.ann)
    await invoke(coach(bot).share, share, coach=d.cora)
    sent = share.response.sent
    assert sent is not None and sent.ephemeral
    assert d.cora.mention in (sent.content or "") and room.mention in (sent.content or "")
    (consent,) = await active_consents(engine, ANN)
    assert (consent.coach_user_id, consent.channel_id) == (CORA, room.id)
    assert await coach_can_view(engine, CORA, ANN)
    (mirror,) = await mirror_nudges(engine, bot.config, summary_nudge(ANN))
    assert mirror.data["to"] == {"channel_id": room.id}

    unshare = d.interaction(bot, d.ann)
    await invoke(coach(bot).unshare, unshare, coach=d.cora)
    assert unshare.response.sent is not None
    stopped = unshare.response.sent.content or ""
    assert stopped.startswith(f"Stopped sharing with {d.cora.mention}")
    assert await active_consents(engine, ANN) == []
    assert not await coach_can_view(engine, CORA, ANN)
    assert await mirror_nudges(engine, bot.config, summary_nudge(ANN)) == []

    again = d.interaction(bot, d.ann)
    await invoke(coach(bot).unshare, again)
    assert again.response.sent is not None
    assert again.response.sent.content == "You were not sharing with any coach; nothing changed."


async def test_moving_the_channel_moves_existing_shares(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    d = desk()
    old = FakeTextChannel(name="coaching", guild=d.guild)
    new = FakeTextChannel(name="coaching-2", guild=d.guild)
    d.cora.roles.append(FakeRole(9, "Coach", discord.Permissions(manage_guild=True)))
    await invoke(coach(bot).channel, d.interaction(bot, d.cora), channel=old)
    await invoke(coach(bot).share, d.interaction(bot, d.ann), coach=d.cora)
    move = d.interaction(bot, d.cora)
    await invoke(coach(bot).channel, move, channel=new)
    assert "1 existing share(s) moved there" in (move.response.sent.content or "")  # type: ignore[union-attr]
    (consent,) = await active_consents(engine, ANN)
    assert consent.channel_id == new.id


async def test_share_refuses_self_and_warns_without_channel(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    d = desk()
    me = d.interaction(bot, d.ann)
    await invoke(coach(bot).share, me, coach=d.ann)
    assert me.response.sent is not None
    assert (me.response.sent.content or "").startswith("coach: that is you")
    assert await active_consents(engine, ANN) == []

    no_channel = d.interaction(bot, d.ann)
    await invoke(coach(bot).share, no_channel, coach=d.cora)
    assert "No coach channel is set yet" in (no_channel.response.sent.content or "")  # type: ignore[union-attr]
    (consent,) = await active_consents(engine, ANN)
    assert consent.channel_id is None


async def test_coach_view_refused_without_consent_allowed_with_it(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    await seed_trades(engine, ANN, 111, [-150.0, 270.0])
    d = desk()
    refused = d.interaction(bot, d.cora)
    await invoke(coach(bot).view, refused, trader=d.ann, date="2026-03-04")
    sent = refused.response.sent
    assert sent is not None and sent.ephemeral and not sent.embeds and not sent.files
    assert sent.content is not None
    assert sent.content.startswith(f"{d.ann.mention} does not share with you")

    # bob is not ann's coach either, even after ann shares with cora
    await invoke(coach(bot).share, d.interaction(bot, d.ann), coach=d.cora)
    bob = d.interaction(bot, d.bob)
    await invoke(coach(bot).view, bob, trader=d.ann)
    assert bob.response.sent is not None and "does not share with you" in (
        bob.response.sent.content or "")

    allowed = d.interaction(bot, d.cora)
    await invoke(coach(bot).view, allowed, trader=d.ann, date="2026-03-04")
    (shown,) = allowed.followup.sent
    assert shown.ephemeral and shown.embed is not None
    assert (shown.embed.description or "").startswith("2 trades, 1 win")


async def test_list_shows_both_directions(bot: PulseBot) -> None:
    d = desk()
    await invoke(coach(bot).share, d.interaction(bot, d.ann), coach=d.cora)
    mine = d.interaction(bot, d.ann)
    await invoke(coach(bot).list_consents, mine)
    assert mine.response.sent is not None and d.cora.mention in mine.response.sent.text()
    theirs = d.interaction(bot, d.cora)
    await invoke(coach(bot).list_consents, theirs)
    assert theirs.response.sent is not None and d.ann.mention in theirs.response.sent.text()


def test_coach_group_shape(bot: PulseBot) -> None:
    group = bot.tree.get_command("coach")
    assert isinstance(group, app_commands.Group)
    assert sorted(c.name for c in group.commands) == [
        "channel", "list", "share", "unshare", "view"]


async def test_the_old_json_file_is_imported_once_then_storage_only(
    bot: PulseBot, engine: AsyncEngine, tmp_path: Path
) -> None:
    """A channel set before revision 0002 (JSON file beside the database) is honoured:
    imported on first use, the file renamed, later changes in storage only."""
    d = desk()
    legacy = tmp_path / "pulse-coach-channels.json"
    legacy.write_text(json.dumps({"version": 1, "guilds": {
        str(d.guild.id): {"channel_id": 4242, "set_by": CORA, "set_at": DAY.isoformat()},
        "not-a-guild": {"channel_id": 1}}}))
    assert bot.sync_state_path is not None and legacy.parent == bot.sync_state_path.parent
    inter = d.interaction(bot, d.ann)
    await invoke(coach(bot).share, inter, coach=FakeUser(CORA, "cora"))
    (consent,) = await active_consents(engine, ANN)
    assert consent.channel_id == 4242
    assert not legacy.exists() and (tmp_path / "pulse-coach-channels.json.migrated").exists()
    stored = await get_guild_settings(engine, d.guild.id)
    assert stored is not None and (stored.coach_channel_id, stored.set_by) == (4242, CORA)
    # a file appearing again later is not read: storage is the only source now
    legacy.write_text(json.dumps({"version": 1, "guilds": {
        str(d.guild.id): {"channel_id": 1, "set_by": CORA}}}))
    assert await coach_channels(bot).get(d.guild.id, at=DAY) == 4242
