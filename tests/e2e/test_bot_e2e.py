"""The real PulseBot (discord.py 2.7) against the fake Discord server, end to end."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot.app import PulseBot, serve
from pulse.config import load_config
from tests.e2e.conftest import BotFactory
from tests.fakes.discord_server import (
    ANN_ID,
    BOB_ID,
    CORA_ID,
    GUILD_ID,
    TRADING_CHANNEL_ID,
    FakeDiscord,
)

# Every slash command Pulse registers. Later cogs add their names here (one list,
# checked against the sync PUT payload and the /help answer).
EXPECTED_COMMANDS: list[str] = ["status", "break", "override", "risk", "split", "score", "signals",
                                 "journal", "summary", "settings", "coach", "help"]
COMMANDS_PUT = r"/applications/\d+/commands"
EPHEMERAL = 64
CHANNEL_MESSAGE = 4


def assert_command_payload(payload: list[dict[str, object]]) -> None:
    assert sorted(str(c["name"]) for c in payload) == sorted(EXPECTED_COMMANDS)
    for cmd in payload:
        assert cmd["type"] == 1 and cmd["description"], cmd
    help_cmd = next(c for c in payload if c["name"] == "help")
    assert help_cmd["options"] == [{
        "type": 3, "name": "command", "description": "a command to explain in detail, e.g. score",
        "required": False, "autocomplete": True,
    }]


async def test_login_ready_sync_and_help_answered(fake: FakeDiscord, start_bot: BotFactory,
                                                  sync_state: Path) -> None:
    async with start_bot() as running:
        bot = running.bot
        calls = [(r.method, r.path) for r in fake.requests]
        app = fake.application_id
        assert calls[:3] == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me"),
                             ("PUT", f"/applications/{app}/commands")]
        assert all(r.authorized for r in fake.requests)

        # the gateway: identified with our token, READY then GUILD_CREATE landed
        identify = await fake.wait_for_frame(2)
        assert identify["d"]["token"] == fake.token
        assert identify["d"]["intents"] == discord.Intents.default().value
        assert bot.user is not None and bot.user.id == fake.bot_user.id
        guild = bot.get_guild(GUILD_ID)
        assert guild is not None and guild.member_count == 4
        # no privileged members intent: Discord sends only the bot's own member
        assert guild.me is not None and guild.get_member(ANN_ID) is None
        assert guild.get_channel(TRADING_CHANNEL_ID) is not None

        # heartbeats: op 1 from the bot, op 11 back (discord.py measures latency from it)
        await fake.wait_for_frame(1, count=2)
        assert bot.latency < float("inf")

        # sync: the full command list, once, recorded in the state file
        (put,) = fake.find("PUT", COMMANDS_PUT)
        assert_command_payload(put.json)
        assert fake.command_names() == sorted(EXPECTED_COMMANDS)
        assert bot.sync_outcome is not None and bot.sync_outcome.synced
        state = json.loads(sync_state.read_text())
        assert state["synced"][f"{app}:global"]["commands"] == sorted(EXPECTED_COMMANDS)

        # /help from a guild member: answered with an ephemeral channel message
        interaction = fake.slash_interaction("help", user_id=ANN_ID, guild_id=GUILD_ID)
        callback = await fake.push_interaction(interaction)
        assert callback.status == 200
        assert callback.json["type"] == CHANNEL_MESSAGE
        assert callback.json["data"]["flags"] == EPHEMERAL
        (embed,) = callback.json["data"]["embeds"]
        assert embed["title"] == "Pulse commands"
        assert sorted(f["name"].lstrip("/") for f in embed["fields"]) == sorted(EXPECTED_COMMANDS)


async def test_help_in_dm_and_detail(fake: FakeDiscord, start_bot: BotFactory) -> None:
    async with start_bot():
        dm = fake.slash_interaction("help", [{"name": "command", "type": 3, "value": "help"}],
                                    user_id=BOB_ID)
        callback = await fake.push_interaction(dm)
        assert callback.json["type"] == CHANNEL_MESSAGE
        assert callback.json["data"]["flags"] == EPHEMERAL
        assert callback.json["data"]["embeds"][0]["title"] == "/help"

        # autocomplete (interaction type 4) is answered with choices (callback type 8)
        ac = fake.slash_interaction(
            "help", [{"name": "command", "type": 3, "value": "he", "focused": True}],
            user_id=CORA_ID, guild_id=GUILD_ID, interaction_type=4,
        )
        callback = await fake.push_interaction(ac)
        assert callback.json == {"type": 8, "data": {"choices": [
            {"name": "/help", "value": "help"}]}}


async def test_restart_with_same_commands_does_not_sync_again(
    fake: FakeDiscord, start_bot: BotFactory
) -> None:
    async with start_bot():
        pass
    assert len(fake.find("PUT", COMMANDS_PUT)) == 1
    async with start_bot() as second:
        assert second.bot.sync_outcome is not None and not second.bot.sync_outcome.synced
        # the commands Discord kept from the first sync still work
        cb = await fake.push_interaction(
            fake.slash_interaction("help", user_id=ANN_ID, guild_id=GUILD_ID))
        assert cb.json["type"] == CHANNEL_MESSAGE
    assert len(fake.find("PUT", COMMANDS_PUT)) == 1
    assert len(fake.find("GET", "/users/@me")) == 2  # it did log in twice

    def add_ping(bot: PulseBot) -> None:
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)

        async def register() -> None:
            bot.tree.add_command(app_commands.Command(name="ping", description="a new command",
                                                      callback=ping))
        bot.on_startup("test-ping", register)

    async with start_bot(setup=add_ping) as third:
        assert third.bot.sync_outcome is not None and third.bot.sync_outcome.synced
    puts = fake.find("PUT", COMMANDS_PUT)
    assert len(puts) == 2
    assert sorted(c["name"] for c in puts[1].json) == sorted([*EXPECTED_COMMANDS, "ping"])


async def test_dev_guild_sync_goes_to_the_guild(fake: FakeDiscord, start_bot: BotFactory) -> None:
    cfg = load_config(None, overrides={"discord": {"dev_guild_id": GUILD_ID}})
    async with start_bot(config=cfg):
        assert fake.find("PUT", COMMANDS_PUT) == []
        (put,) = fake.find("PUT", rf"/applications/\d+/guilds/{GUILD_ID}/commands")
        assert_command_payload(put.json)
        cb = await fake.push_interaction(fake.slash_interaction(
            "help", user_id=ANN_ID, guild_id=GUILD_ID, command_guild_id=GUILD_ID))
        assert cb.json["data"]["flags"] == EPHEMERAL


async def test_failed_sync_is_logged_and_retried_next_start(
    fake: FakeDiscord, start_bot: BotFactory, sync_state: Path
) -> None:
    fake.fail_next("PUT", COMMANDS_PUT, 403, {"message": "Missing Access", "code": 50001})
    async with start_bot() as running:
        assert running.bot.sync_outcome is None  # not fatal: the bot still runs
        assert not sync_state.exists()
    async with start_bot() as again:
        assert again.bot.sync_outcome is not None and again.bot.sync_outcome.synced
    assert [r.status for r in fake.find("PUT", COMMANDS_PUT)] == [403, 200]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_runs_shutdown_callbacks_in_order_while_connected(
    fake: FakeDiscord, start_bot: BotFactory, sig: signal.Signals
) -> None:
    ran: list[tuple[str, bool, int]] = []
    bot_ref: list[PulseBot] = []

    def hooks(bot: PulseBot) -> None:
        bot_ref.append(bot)

        def record(name: str):  # type: ignore[no-untyped-def]
            async def cb() -> None:
                await asyncio.sleep(0)
                ran.append((name, bot.is_closed(), len(fake.sessions)))
            return cb

        # registered out of order on purpose: the phases decide
        bot.on_shutdown("close_storage", "storage", record("storage"))
        bot.on_shutdown("flush_outbox", "outbox", record("outbox"))
        bot.on_shutdown("close_feeds", "replay-feed", record("replay-feed"))
        bot.on_shutdown("stop_scheduler", "scheduler", record("scheduler"))

    async with start_bot(setup=hooks, signals=(signal.SIGTERM, signal.SIGINT)) as running:
        handler = signal.getsignal(sig)
        # guard: without the bot's handler the signal would stop the test run itself
        assert handler not in (signal.SIG_DFL, signal.SIG_IGN, signal.default_int_handler,
                               None), "handler not installed"
        os.kill(os.getpid(), sig)
        await asyncio.wait_for(running.task, timeout=10)
        assert running.task.exception() is None

    assert [name for name, _, _ in ran] == ["replay-feed", "scheduler", "outbox", "storage"]
    # every callback ran while discord.py was still open and the gateway connected
    assert all(not closed and sessions == 1 for _, closed, sessions in ran)
    assert bot_ref[0].is_closed()
    assert [r.outcome for r in bot_ref[0].shutdown.results] == ["ok"] * 4
    # handler removed again: SIGTERM back to the default, SIGINT to KeyboardInterrupt
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    await fake.wait_for_disconnect()  # the websocket was closed


async def test_second_signal_abandons_a_stuck_shutdown(
    fake: FakeDiscord, start_bot: BotFactory
) -> None:
    started = asyncio.Event()
    after: list[str] = []
    bot_ref: list[PulseBot] = []

    def hooks(bot: PulseBot) -> None:
        bot_ref.append(bot)

        async def stuck() -> None:
            started.set()
            await asyncio.sleep(3600)

        async def later() -> None:
            after.append("storage")

        bot.on_shutdown("flush_outbox", "stuck-outbox", stuck, timeout=3600)
        bot.on_shutdown("close_storage", "storage", later)

    async with start_bot(setup=hooks, signals=(signal.SIGTERM,)) as running:
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(started.wait(), timeout=10)
        assert not running.task.done()
        os.kill(os.getpid(), signal.SIGTERM)  # the impatient operator
        await asyncio.wait_for(running.task, timeout=10)
    assert bot_ref[0].is_closed()
    assert after == []  # the remaining steps were skipped, the connection closed anyway
    await fake.wait_for_disconnect()


async def test_dm_to_closed_user_raises_forbidden_50007(
    fake: FakeDiscord, start_bot: BotFactory
) -> None:
    fake.close_dms(BOB_ID)
    async with start_bot() as running:
        bot = running.bot
        # the outbox will DM by id: no member cache (no privileged intent) needed
        ann = await bot.fetch_user(ANN_ID)
        message = await ann.send("Cooling period: 15 minutes after a 1.2% loss.")
        assert message.content.startswith("Cooling period")
        (sent,) = fake.find("POST", r"/channels/\d+/messages")
        assert sent.status == 200 and sent.json["content"] == message.content

        bob_dm = await bot.create_dm(discord.Object(id=BOB_ID))
        with pytest.raises(discord.Forbidden) as exc:
            await bob_dm.send("Daily loss limit hit.")
        assert exc.value.status == 403 and exc.value.code == 50007
        refused = fake.find("POST", r"/channels/\d+/messages")[-1]
        assert refused.status == 403
        assert refused.path == f"/channels/{fake.dm_channels[BOB_ID]}/messages"
        opened = fake.find("POST", "/users/@me/channels")
        assert [int(r.json["recipient_id"]) for r in opened] == [ANN_ID, BOB_ID]


async def test_bad_token_is_a_login_failure(fake: FakeDiscord, tmp_path: Path) -> None:
    bot = PulseBot(load_config(None), sync_state_path=tmp_path / "s.json")
    with pytest.raises(discord.LoginFailure):
        await asyncio.wait_for(serve(bot, "wrong-token", signals=()), timeout=10)
    assert [(r.path, r.status) for r in fake.requests] == [("/users/@me", 401)]
    assert fake.find("PUT", COMMANDS_PUT) == []
