"""Traders, their settings, and their MT5 accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage._sql import ensure_trader, insert
from storage.engine import DB, reading, transaction
from storage.records import AccountRecord, TraderRecord, TraderSettings
from storage.schema import accounts, traders

__all__ = [
    "account_by_login",
    "accounts_for_trader",
    "ensure_account",
    "get_account",
    "get_trader",
    "list_traders",
    "update_settings",
    "upsert_trader",
]


def _trader(row: sa.Row[Any]) -> TraderRecord:
    return TraderRecord(
        id=row.id,
        name=row.name,
        timezone=row.timezone,
        settings=TraderSettings.model_validate(row.settings or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _account(row: sa.Row[Any]) -> AccountRecord:
    return AccountRecord(
        id=row.id,
        login=row.login,
        server=row.server,
        trader_id=row.trader_id,
        currency=row.currency,
        initial_balance=row.initial_balance,
        created_at=row.created_at,
    )


async def upsert_trader(
    db: DB,
    trader_id: int,
    *,
    at: datetime,
    name: str | None = None,
    timezone: str | None = None,
    settings: TraderSettings | None = None,
) -> TraderRecord:
    """Create the trader or update the given fields (``None`` leaves a field as it is)."""
    async with transaction(db) as conn:
        values: dict[str, Any] = {"updated_at": at}
        if name is not None:
            values["name"] = name
        if timezone is not None:
            values["timezone"] = timezone
        if settings is not None:
            values["settings"] = settings.model_dump(mode="json", exclude_defaults=True)
        stmt = insert(conn, traders).values(
            id=trader_id,
            name=name or "",
            timezone=timezone or "UTC",
            settings=values.get("settings", {}),
            created_at=at,
            updated_at=at,
        )
        await conn.execute(stmt.on_conflict_do_update(index_elements=[traders.c.id], set_=values))
        row = (await conn.execute(sa.select(traders).where(traders.c.id == trader_id))).one()
        return _trader(row)


async def get_trader(db: DB, trader_id: int) -> TraderRecord | None:
    """A trader by Discord user id."""
    async with reading(db) as conn:
        row = (await conn.execute(sa.select(traders).where(traders.c.id == trader_id))).first()
    return None if row is None else _trader(row)


async def list_traders(db: DB) -> list[TraderRecord]:
    """Every stored trader, by id."""
    async with reading(db) as conn:
        rows = (await conn.execute(sa.select(traders).order_by(traders.c.id))).all()
    return [_trader(r) for r in rows]


async def update_settings(db: DB, trader_id: int, at: datetime, **changes: Any) -> TraderRecord:
    """Change some settings (validated); creates the trader if needed."""
    async with transaction(db) as conn:
        current = await get_trader(conn, trader_id)
        base = current.settings if current is not None else TraderSettings()
        merged = TraderSettings.model_validate({**base.model_dump(), **changes})
        return await upsert_trader(conn, trader_id, at=at, settings=merged)


async def ensure_account(
    db: DB,
    login: int,
    *,
    at: datetime,
    server: str = "",
    trader_id: int | None = None,
    currency: str = "USD",
    initial_balance: float = 0.0,
) -> AccountRecord:
    """The account ``login``@``server``, created if new; links it to ``trader_id`` if given."""
    async with transaction(db) as conn:
        if trader_id is not None:
            await ensure_trader(conn, trader_id, at)
        stmt = insert(conn, accounts).values(
            login=login,
            server=server,
            trader_id=trader_id,
            currency=currency,
            initial_balance=initial_balance,
            created_at=at,
        )
        await conn.execute(
            stmt.on_conflict_do_nothing(index_elements=[accounts.c.login, accounts.c.server])
        )
        where = (accounts.c.login == login) & (accounts.c.server == server)
        if trader_id is not None:
            await conn.execute(sa.update(accounts).where(where).values(trader_id=trader_id))
        row = (await conn.execute(sa.select(accounts).where(where))).one()
        return _account(row)


async def get_account(db: DB, account_id: int) -> AccountRecord | None:
    """An account by its row id."""
    async with reading(db) as conn:
        row = (await conn.execute(sa.select(accounts).where(accounts.c.id == account_id))).first()
    return None if row is None else _account(row)


async def account_by_login(db: DB, login: int, server: str = "") -> AccountRecord | None:
    """An account by MT5 login and server."""
    where = (accounts.c.login == login) & (accounts.c.server == server)
    async with reading(db) as conn:
        row = (await conn.execute(sa.select(accounts).where(where))).first()
    return None if row is None else _account(row)


async def accounts_for_trader(db: DB, trader_id: int) -> list[AccountRecord]:
    """The accounts linked to a trader, by id."""
    q = sa.select(accounts).where(accounts.c.trader_id == trader_id).order_by(accounts.c.id)
    async with reading(db) as conn:
        rows = (await conn.execute(q)).all()
    return [_account(r) for r in rows]
