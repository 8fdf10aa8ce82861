"""The fake Discord drives every interaction kind later cogs need, through real discord.py:
buttons (component interactions), modals, deferred answers with follow-ups, and a
gateway RECONNECT followed by RESUME."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.app import PulseBot
from tests.e2e.conftest import BotFactory
from tests.fakes.discord_server import ANN_ID, BOB_ID, GUILD_ID, FakeDiscord


class Confirm(discord.ui.View):
    def __init__(self, owner_id: int) -> None:
        super().__init__(timeout=60)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("Only the trader can press this.",
                                                    ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Accept", custom_id="pulse:accept")
    async def accept(self, interaction: discord.Interaction,
                     button: discord.ui.Button[Confirm]) -> None:
        await interaction.response.edit_message(content="Accepted: 5 x 0.20 lots", view=None)


class Reason(discord.ui.Modal, title="Override reason"):
    why: discord.ui.Label[Reason] = discord.ui.Label(
        text="Why override?",
        component=discord.ui.TextInput(custom_id="reason", max_length=200),
    )
    note: discord.ui.Label[Reason] = discord.ui.Label(
        text="Anything else", component=discord.ui.TextInput(custom_id="note", required=False),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        reason = self.why.component
        assert isinstance(reason, discord.ui.TextInput)
        await interaction.response.send_message(f"Override noted: {reason.value}", ephemeral=True)


def add_test_commands(bot: PulseBot) -> None:
    async def split(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Split 1.0 lot into 5?", view=Confirm(
            interaction.user.id), ephemeral=True)

    async def override(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Reason(custom_id="pulse:override"))

    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("chart ready", ephemeral=True)
        await interaction.edit_original_response(content="done")

    async def register() -> None:
        for name, cb in (("demo_split", split), ("demo_override", override), ("slow", slow)):
            bot.tree.add_command(app_commands.Command(name=name, description=name, callback=cb))

    bot.on_startup("test-commands", register)


async def test_button_press_updates_the_message_and_refuses_others(
    fake: FakeDiscord, start_bot: BotFactory
) -> None:
    async with start_bot(setup=add_test_commands):
        cb = await fake.push_interaction(
            fake.slash_interaction("demo_split", user_id=ANN_ID, guild_id=GUILD_ID))
        assert cb.json["type"] == 4
        (row,) = cb.json["data"]["components"]
        assert row["components"][0]["custom_id"] == "pulse:accept"
        message_id = int(cb.response["resource"]["message"]["id"])

        stranger = await fake.push_interaction(fake.component_interaction(
            message_id, "pulse:accept", user_id=BOB_ID))
        assert stranger.json["type"] == 4 and stranger.json["data"]["flags"] == 64
        assert stranger.json["data"]["content"] == "Only the trader can press this."

        pressed = await fake.push_interaction(fake.component_interaction(
            message_id, "pulse:accept", user_id=ANN_ID))
        assert pressed.json["type"] == 7
        assert fake.messages[message_id]["content"] == "Accepted: 5 x 0.20 lots"
        assert fake.messages[message_id]["components"] == []


async def test_modal_round_trip(fake: FakeDiscord, start_bot: BotFactory) -> None:
    async with start_bot(setup=add_test_commands):
        cb = await fake.push_interaction(
            fake.slash_interaction("demo_override", user_id=ANN_ID, guild_id=GUILD_ID))
        assert cb.json["type"] == 9 and cb.json["data"]["title"] == "Override reason"
        assert [c["type"] for c in cb.json["data"]["components"]] == [18, 18]

        submit = fake.modal_submit_interaction("pulse:override", {"reason": "A+ setup"},
                                               user_id=ANN_ID, guild_id=GUILD_ID)
        answer = await fake.push_interaction(submit)
        assert answer.json["type"] == 4
        assert answer.json["data"]["content"] == "Override noted: A+ setup"
        assert answer.json["data"]["flags"] == 64


async def test_defer_then_followup_and_edit(fake: FakeDiscord, start_bot: BotFactory) -> None:
    async with start_bot(setup=add_test_commands):
        payload = fake.slash_interaction("slow", user_id=ANN_ID, guild_id=GUILD_ID)
        cb = await fake.push_interaction(payload)
        assert cb.json == {"type": 5, "data": {"flags": 64}}
        token = payload["token"]
        follow = await fake.wait_for_request("POST", rf"/webhooks/\d+/{token}")
        assert follow.json["content"] == "chart ready" and follow.json["flags"] == 64
        edit = await fake.wait_for_request("PATCH", rf"/webhooks/\d+/{token}/messages/@original")
        assert edit.status == 200 and edit.json["content"] == "done"


async def test_gateway_reconnect_resumes_the_session(
    fake: FakeDiscord, start_bot: BotFactory
) -> None:
    async with start_bot():
        await fake.request_reconnect()
        resume = await fake.wait_for_frame(6)
        assert resume["d"]["token"] == fake.token and resume["d"]["session_id"]
        assert sum(1 for f in fake.gateway_frames if f.get("op") == 2) == 1  # no re-IDENTIFY
        cb = await fake.push_interaction(
            fake.slash_interaction("help", user_id=ANN_ID, guild_id=GUILD_ID))
        assert cb.json["type"] == 4
