"""Journal queries the journal CLI and cogs need beyond ``repo_journal``: owner-scoped
get and delete.

Every function takes the *acting* trader id and puts it in the WHERE clause, so an entry
of another trader is indistinguishable from a missing one (nobody learns it exists).
"""

from __future__ import annotations

import sqlalchemy as sa

from pulse.models import JournalEntry
from storage.engine import DB, transaction
from storage.repo_journal import get_journal_entry
from storage.schema import journal_entries

__all__ = ["delete_own_entry", "get_own_entry"]


async def get_own_entry(db: DB, trader_id: int, entry_id: int) -> JournalEntry | None:
    """The entry if it exists and belongs to ``trader_id``, else ``None``."""
    entry = await get_journal_entry(db, entry_id)
    if entry is None or entry.trader_id != trader_id:
        return None
    return entry


async def delete_own_entry(db: DB, trader_id: int, entry_id: int) -> bool:
    """Delete the entry if it belongs to ``trader_id``; False when there is none such."""
    c = journal_entries.c
    async with transaction(db) as conn:
        res = await conn.execute(
            sa.delete(journal_entries).where((c.id == entry_id) & (c.trader_id == trader_id))
        )
        return bool(res.rowcount)
