"""Settings beyond the trader row's JSON (revision 0002): a server's coach channel, and
whether a trader chose their timezone.

- ``guild_settings``: the channel ``/coach channel`` picked per Discord server (was a JSON
  file beside the database).
- ``traders.timezone_set_at``: ``traders.timezone`` is NOT NULL with a default of UTC, so
  a stored "UTC" could be a choice or nothing; the mark says which (NULL: not chosen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from storage._sql import ensure_trader, insert
from storage.engine import DB, reading, transaction
from storage.schema import guild_settings, traders

__all__ = [
    "GuildSettings",
    "chosen_timezone",
    "get_guild_settings",
    "list_guild_settings",
    "set_coach_channel",
    "set_trader_timezone",
]

_g = guild_settings.c


@dataclass(frozen=True)
class GuildSettings:
    """One Discord server's settings."""

    guild_id: int
    coach_channel_id: int | None
    set_by: int | None
    updated_at: datetime


async def get_guild_settings(db: DB, guild_id: int) -> GuildSettings | None:
    """The server's settings, or None when nothing was ever set there."""
    async with reading(db) as conn:
        row = (await conn.execute(sa.select(guild_settings).where(_g.guild_id == guild_id))
               ).first()
    return None if row is None else GuildSettings(**row._mapping)


async def list_guild_settings(db: DB) -> list[GuildSettings]:
    """Every server's settings, by id."""
    async with reading(db) as conn:
        rows = (await conn.execute(sa.select(guild_settings).order_by(_g.guild_id))).all()
    return [GuildSettings(**r._mapping) for r in rows]


async def set_coach_channel(
    db: DB, guild_id: int, channel_id: int, *, by: int | None, at: datetime,
    only_if_unset: bool = False,
) -> int | None:
    """Set the server's coach channel; returns the previous one (None if none).

    ``only_if_unset`` keeps a channel already stored (an import of old settings must
    not undo a newer choice)."""
    async with transaction(db) as conn:
        prev = (await conn.execute(
            sa.select(_g.coach_channel_id).where(_g.guild_id == guild_id))).scalar()
        if prev is not None and only_if_unset:
            return int(prev)
        values = {"coach_channel_id": channel_id, "set_by": by, "updated_at": at}
        stmt = insert(conn, guild_settings).values(guild_id=guild_id, **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=[_g.guild_id],
                                                      set_=values))
    return None if prev is None else int(prev)


async def set_trader_timezone(db: DB, trader_id: int, name: str, at: datetime) -> None:
    """Record the trader's chosen timezone (any IANA name, UTC included) as chosen."""
    async with transaction(db) as conn:
        await ensure_trader(conn, trader_id, at)
        await conn.execute(
            sa.update(traders).where(traders.c.id == trader_id)
            .values(timezone=name, timezone_set_at=at, updated_at=at)
        )


async def chosen_timezone(db: DB, trader_id: int) -> str | None:
    """The timezone the trader chose, or None when they never chose one (the stored
    column's default is not a choice)."""
    async with reading(db) as conn:
        row = (await conn.execute(
            sa.select(traders.c.timezone, traders.c.timezone_set_at)
            .where(traders.c.id == trader_id))).first()
    if row is None or row.timezone_set_at is None:
        return None
    return str(row.timezone)
