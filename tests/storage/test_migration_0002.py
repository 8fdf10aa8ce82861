"""Revision 0002: excursions on trades, guild_settings, traders.timezone_set_at.

Upgrading a 0001 database keeps its rows; downgrading drops only what 0002 added (no
table is rebuilt, so no ON DELETE CASCADE wipes accounts or trades)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse.journal.stats import Excursion
from storage import current_revision, downgrade, make_engine, upgrade
from storage.repo_excursions import load_excursions, save_excursions
from storage.repo_settings import (
    chosen_timezone,
    get_guild_settings,
    set_coach_channel,
    set_trader_timezone,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)


async def _exec(url: str, *sql: str) -> list[list[tuple[object, ...]]]:
    eng = make_engine(url)
    out: list[list[tuple[object, ...]]] = []
    try:
        async with eng.begin() as conn:
            for s in sql:
                res = await conn.execute(sa.text(s))
                out.append([tuple(r) for r in res.all()] if res.returns_rows else [])
    finally:
        await eng.dispose()
    return out


async def _columns(url: str, table: str) -> set[str]:
    eng = make_engine(url)
    try:
        async with eng.connect() as conn:
            cols = await conn.run_sync(lambda c: sa.inspect(c).get_columns(table))
    finally:
        await eng.dispose()
    return {c["name"] for c in cols}


SEED = (
    "INSERT INTO traders (id, name, timezone, settings, created_at, updated_at) VALUES "
    "(1, 'ann', 'UTC', '{}', '2026-03-01 08:00:00.000000', '2026-03-01 08:00:00.000000'), "
    "(2, 'bob', 'Europe/Prague', '{}', '2026-03-01 08:00:00.000000', "
    "'2026-03-01 09:00:00.000000')",
    "INSERT INTO accounts (id, login, server, trader_id, currency, initial_balance, "
    "created_at) VALUES (1, 5001, 'Demo-1', 1, 'USD', 100000, '2026-03-01 08:00:00.000000')",
    "INSERT INTO trades (account_id, trade_id, position_id, symbol, side, open_time, "
    "close_time, entry_volume, volume, closed_volume, entry_price, exit_price, profit, "
    "commission, swap, fee, deal_tickets, stop_loss) VALUES (1, '7-1', 7, 'EURUSD', 'buy', "
    "'2026-03-02 08:00:00.000000', '2026-03-02 09:00:00.000000', 1, 0, 1, 1.1, 1.101, "
    "100, -7, 0, 0, '[1, 2]', 1.099)",
)


async def test_upgrade_from_0001_keeps_rows_then_downgrade_keeps_them(db_url: str) -> None:
    await upgrade(db_url, "0001")
    await _exec(db_url, *SEED)
    await upgrade(db_url)
    assert await current_revision(db_url) == "0002"
    (trades,) = await _exec(db_url, "SELECT trade_id, profit, stop_loss, mae, mfe FROM trades")
    assert trades == [("7-1", 100.0, 1.099, None, None)]
    # a stored UTC stays "not chosen"; another zone was chosen (or seeded): marked
    (marks,) = await _exec(db_url, "SELECT id, timezone_set_at FROM traders ORDER BY id")
    assert marks[0] == (1, None) and marks[1][1] is not None

    eng = make_engine(db_url)
    try:
        assert await chosen_timezone(eng, 1) is None
        assert await chosen_timezone(eng, 2) == "Europe/Prague"
        ex = Excursion(mae=0.0008, mfe=0.0015, mae_r=0.8, mfe_r=1.5, bars_used=60)
        assert await save_excursions(eng, 1, {"7-1": ex, "gone-1": ex}) == 1
        assert await load_excursions(eng, 1) == {"7-1": ex}
        assert await set_coach_channel(eng, 99, 555, by=2, at=T0) is None
    finally:
        await eng.dispose()

    await downgrade(db_url, "0001")
    assert await current_revision(db_url) == "0001"
    assert "mae" not in await _columns(db_url, "trades")
    assert "timezone_set_at" not in await _columns(db_url, "traders")
    rows = await _exec(db_url, "SELECT count(*) FROM traders", "SELECT count(*) FROM accounts",
                       "SELECT trade_id, profit FROM trades")
    assert rows == [[(2,)], [(1,)], [("7-1", 100.0)]]
    await upgrade(db_url)  # and up again
    assert "guild_settings" in {n for n in await _tables(db_url)}


async def _tables(url: str) -> set[str]:
    eng = make_engine(url)
    try:
        async with eng.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await eng.dispose()


async def test_coach_channel_set_keeps_previous_and_only_if_unset(engine: AsyncEngine) -> None:
    assert await get_guild_settings(engine, 7) is None
    assert await set_coach_channel(engine, 7, 100, by=1, at=T0) is None
    assert await set_coach_channel(engine, 7, 200, by=2, at=T1) == 100
    # an import of old settings does not undo a newer choice
    assert await set_coach_channel(engine, 7, 300, by=None, at=T1, only_if_unset=True) == 200
    got = await get_guild_settings(engine, 7)
    assert got is not None and (got.coach_channel_id, got.set_by, got.updated_at) == (200, 2, T1)


async def test_a_chosen_utc_is_a_choice(engine: AsyncEngine) -> None:
    await set_trader_timezone(engine, 42, "UTC", T0)
    assert await chosen_timezone(engine, 42) == "UTC"
    assert await chosen_timezone(engine, 43) is None  # no such trader
