"""Shared set-up of the journal, summary, settings and coach cog tests.

A real :class:`bot.app.PulseBot` (offline), real storage on a temporary SQLite file
(``bot.engine``), the cogs loaded as extensions, the faithful interaction fakes. Trades
are made from deals (``tests.journal.helpers``) and stored like the service stores them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import PulseBot
from pulse.config import load_config
from pulse.models import Deal, DealType, Side
from storage import open_database
from storage.records import AccountRecord
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_traders import ensure_account, upsert_trader
from tests.fakes.discord_helpers import (
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeTextChannel,
    make_interaction,
)
from tests.journal.helpers import DealMaker, trades_of

ANN = 1_111_111_111_111_111_101
BOB = 1_111_111_111_111_111_102
CORA = 1_111_111_111_111_111_103  # the coach
DAY = datetime(2026, 3, 4, 8, tzinfo=UTC)  # Wednesday, 09:00 in Prague

EXTENSIONS = ("cogs.journal", "cogs.summary", "cogs.settings", "cogs.coach")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'cogs.db'}")
    yield eng
    await eng.dispose()


@pytest.fixture
async def bot(tmp_path: Path, engine: AsyncEngine) -> AsyncIterator[PulseBot]:
    b = PulseBot(load_config(None), extensions=(), sync_state_path=tmp_path / "sync.json")
    b.engine = engine  # type: ignore[attr-defined]
    for ext in EXTENSIONS:
        await b.load_extension(ext)
    yield b
    await b.close()


def cog(bot: commands.Bot, name: str) -> Any:
    found = bot.get_cog(name)
    assert found is not None, f"cog {name!r} not loaded"
    return found


@dataclass
class Desk:
    """A server with a trading channel, two traders and a coach."""

    guild: FakeGuild
    channel: FakeTextChannel
    ann: FakeMember
    bob: FakeMember
    cora: FakeMember

    def interaction(self, bot: commands.Bot, user: FakeMember | None = None,
                    **kw: Any) -> FakeInteraction:
        return make_interaction(client=bot, user=user or self.ann, guild=self.guild, **kw)

    def component(self, bot: commands.Bot, user: FakeMember | None = None) -> Any:
        """A button press (typed ``Any``: it stands in for a discord.Interaction)."""
        return self.interaction(bot, user, type=discord.InteractionType.component)

    def submit(self, bot: commands.Bot, user: FakeMember | None = None) -> Any:
        """A modal submit (typed ``Any``: it stands in for a discord.Interaction)."""
        return self.interaction(bot, user, type=discord.InteractionType.modal_submit)


def desk() -> Desk:
    guild = FakeGuild()
    channel = FakeTextChannel(name="trading", guild=guild)
    return Desk(
        guild, channel,
        FakeMember(ANN, "ann", guild=guild),
        FakeMember(BOB, "bob", guild=guild),
        FakeMember(CORA, "cora", guild=guild),
    )


async def seed_trades(engine: AsyncEngine, trader: int, login: int,
                      results: list[float], *, start: datetime = DAY,
                      first_pos: int = 1, first_ticket: int = 0,
                      symbol: str = "EURUSD") -> AccountRecord:
    """A deposit and one 20-minute trade per result, 30 minutes apart."""
    await upsert_trader(engine, trader, at=start, timezone="Europe/Prague")
    acct = await ensure_account(engine, login, at=start, trader_id=trader)
    m = DealMaker()
    m.ticket = first_ticket
    deals: list[Deal] = [Deal(ticket=first_ticket + 900, time=start - timedelta(days=3),
                              type=DealType.BALANCE, profit=10_000.0)]
    for i, profit in enumerate(results):
        deals += m.round_trip(first_pos + i, start + timedelta(minutes=30 * i), 20,
                              Side.BUY, profit, symbol=symbol)
    await insert_deals(engine, acct.id, deals)
    await upsert_trades(engine, acct.id, trades_of(deals))
    return acct
