"""bot.journal_service: an override reason's own full stop is not doubled in the summary,
and a stored timezone of UTC is honoured when the trader chose it (unset otherwise)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.journal_service import daily_summary, trader_timezone
from bot.trader_settings import change_settings
from pulse.config import parse_config
from pulse.models import Side
from storage import open_database
from storage.records import OverrideRecord
from storage.repo_deals import insert_deals, upsert_trades
from storage.repo_risk import add_override
from storage.repo_traders import ensure_account, upsert_trader
from tests.journal.helpers import DealMaker, trades_of

DAY = datetime(2026, 3, 4, 8, tzinfo=UTC)  # Wednesday, 09:00 in Prague


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
    yield eng
    await eng.dispose()


@pytest.mark.parametrize(("reason", "shown"), [
    ("not revenge.", "not revenge"),
    ("not revenge...", "not revenge..."),  # an ellipsis is the trader's, kept
    ("sure?", "sure?"),
])
async def test_a_reasons_own_period_is_not_doubled(engine: AsyncEngine, reason: str,
                                                   shown: str) -> None:
    cfg = parse_config({})
    await upsert_trader(engine, 7, at=DAY, timezone="Europe/Prague")
    acct = await ensure_account(engine, 111, at=DAY, trader_id=7)
    deals = DealMaker().round_trip(1, DAY, 20, Side.BUY, 50.0)
    await insert_deals(engine, acct.id, deals)
    await upsert_trades(engine, acct.id, trades_of(deals))
    await add_override(engine, OverrideRecord(trader_id=7, account_id=acct.id,
                                              rule="cooling_period", reason=reason,
                                              at=DAY + timedelta(minutes=5)))
    s = await daily_summary(engine, cfg, 7, DAY + timedelta(hours=1))
    assert s.rule_hits == [f"cooling_period overridden at 09:05: {shown}"]
    assert f"Rule hits: cooling_period overridden at 09:05: {shown}." in s.text
    assert ".." not in s.text.replace("...", "")


async def test_a_chosen_utc_is_honoured_a_default_utc_is_unset(engine: AsyncEngine) -> None:
    cfg = parse_config({"traders": [{"discord_user_id": 7, "timezone": "Asia/Tokyo"}]})
    await upsert_trader(engine, 7, at=DAY)  # the row's default timezone: UTC, not chosen
    assert (await trader_timezone(engine, cfg, 7)).key == "Asia/Tokyo"
    await change_settings(engine, cfg, 7, DAY, timezone="UTC")
    assert (await trader_timezone(engine, cfg, 7)).key == "UTC"
    await change_settings(engine, cfg, 7, DAY, timezone="Europe/Prague")
    assert (await trader_timezone(engine, cfg, 7)).key == "Europe/Prague"
