"""The reflection button of a DM sent before a restart still works after it: the real bot
(discord.py) against the fake Discord, real storage, the cog's DynamicItem."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import PulseBot
from bot.delivery import DiscordDelivery, OutgoingMessage, reflection_view
from pulse.models import JournalKind
from storage import open_database
from storage.repo_journal import list_journal_entries
from tests.cogs.journal_fixtures import seed_trades
from tests.e2e import conftest as e2e
from tests.e2e.conftest import BotFactory
from tests.fakes.discord_server import ANN_ID, BOB_ID, FakeDiscord

fake = e2e.fake  # fixtures of the end-to-end tests
sync_state = e2e.sync_state
start_bot = e2e.start_bot

MODAL = 9
MESSAGE = 4
EPHEMERAL = 64


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}")
    yield eng
    await eng.dispose()


async def test_reflection_button_survives_a_restart(
    fake: FakeDiscord, start_bot: BotFactory, db: AsyncEngine
) -> None:
    await seed_trades(db, ANN_ID, 111, [-150.0, 270.0])

    def wire(bot: PulseBot) -> None:
        bot.extension_names = ("cogs.journal",)
        bot.engine = db  # type: ignore[attr-defined]

    # first run: the post-trade prompt DM with its button (as the outbox sends it)
    async with start_bot(setup=wire) as first:
        delivery = DiscordDelivery(first.bot)
        msg_id = await delivery.send_dm(ANN_ID, OutgoingMessage(
            content="EURUSD buy closed +270.00. What worked?", view=reflection_view("2")))

    # second run: nothing in memory about that message, the press still opens the modal
    async with start_bot(setup=wire):
        press = fake.component_interaction(msg_id, "pulse:reflect:2", user_id=ANN_ID)
        cb = await fake.push_interaction(press)
        assert cb.json["type"] == MODAL, cb.json
        modal = cb.json["data"]
        assert modal["title"] == "Reflect: EURUSD buy +270.00 USD"

        submit = fake.modal_submit_interaction(
            modal["custom_id"],
            {"what_worked": "patience at the level", "would_take_again": "yes"},
            user_id=ANN_ID,
        )
        done = await fake.push_interaction(submit)
        assert done.json["type"] == MESSAGE and done.json["data"]["flags"] == EPHEMERAL
        (entry,) = await list_journal_entries(db, ANN_ID, kind=JournalKind.POST_TRADE)
        assert entry.trade_id == "2" and entry.what_worked == "patience at the level"
        assert entry.would_take_again is True

        # someone else pressing it (say the DM was forwarded) is refused, privately
        other = fake.component_interaction(msg_id, "pulse:reflect:2", user_id=BOB_ID)
        refused = await fake.push_interaction(other)
        assert refused.json["type"] == MESSAGE
        assert refused.json["data"]["flags"] == EPHEMERAL
        assert "not one of your trades" in refused.json["data"]["content"]
        assert await list_journal_entries(db, BOB_ID) == []


async def test_before_storage_is_open_commands_say_so(
    fake: FakeDiscord, start_bot: BotFactory
) -> None:
    def wire(bot: PulseBot) -> None:
        bot.extension_names = ("cogs.journal",)  # and no storage

    async with start_bot(setup=wire):
        waiting = fake.slash_interaction(
            "journal", [{"name": "list", "type": 1, "options": []}], user_id=ANN_ID)
        cb = await fake.push_interaction(waiting)
        assert cb.json["type"] == MESSAGE and cb.json["data"]["flags"] == EPHEMERAL
        assert cb.json["data"]["content"] == (
            "Pulse is still starting (storage is not open yet); try again in a moment.")
