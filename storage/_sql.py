"""Small helpers shared by the repositories (dialect-aware INSERT ... ON CONFLICT)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import traders


def between(
    q: sa.Select[Any], column: sa.ColumnElement[datetime], since: datetime | None,
    until: datetime | None,
) -> sa.Select[Any]:
    """``q`` limited to ``since <= column < until`` (either bound may be None: open)."""
    if since is not None:
        q = q.where(column >= since)
    if until is not None:
        q = q.where(column < until)
    return q


def insert(conn: AsyncConnection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that supports ``on_conflict_do_nothing/do_update`` on this dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def ensure_trader(conn: AsyncConnection, trader_id: int, at: datetime) -> None:
    """Create a bare trader row if none exists, so rows that belong to a trader can
    always be written (a nudge or journal entry is never lost to a missing profile)."""
    now: dict[str, Any] = {"created_at": at, "updated_at": at}
    stmt = insert(conn, traders).values(id=trader_id, name="", timezone="UTC", settings={}, **now)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=[traders.c.id]))
