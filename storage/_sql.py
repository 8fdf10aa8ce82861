"""Small helpers shared by the repositories (dialect-aware INSERT ... ON CONFLICT)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import traders

T = TypeVar("T")

CHUNK = 500
"""Rows per multi-row INSERT (keeps SQLite under its bound-parameter limit)."""


def insert(conn: AsyncConnection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that supports ``on_conflict_do_nothing/do_update`` on this dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(rows: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def ensure_trader(conn: AsyncConnection, trader_id: int, at: datetime) -> None:
    """Create a bare trader row if none exists, so rows that belong to a trader can
    always be written (a nudge or journal entry is never lost to a missing profile)."""
    now: dict[str, Any] = {"created_at": at, "updated_at": at}
    stmt = insert(conn, traders).values(id=trader_id, name="", timezone="UTC", settings={}, **now)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=[traders.c.id]))
