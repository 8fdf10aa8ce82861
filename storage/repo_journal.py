"""Journal entries and verdicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pulse.models import JournalEntry, JournalKind, Verdict
from storage._rows import rows_to_models
from storage._sql import between, ensure_trader
from storage.engine import DB, reading, transaction
from storage.schema import journal_entries, verdicts

__all__ = [
    "add_journal_entry",
    "add_verdict",
    "get_journal_entry",
    "get_verdict",
    "list_journal_entries",
    "update_journal_entry",
]

_JOURNAL_FIELDS = tuple(f for f in JournalEntry.model_fields if f != "id")


def _entry_row(e: JournalEntry) -> dict[str, Any]:
    data = e.model_dump(mode="python", exclude={"id"})
    for k in ("kind", "driver", "side"):
        if data[k] is not None:
            data[k] = data[k].value
    return data


def _entry(row: sa.Row[Any]) -> JournalEntry:
    m = row._mapping
    return JournalEntry.model_validate({"id": m["id"], **{f: m[f] for f in _JOURNAL_FIELDS}})


async def add_journal_entry(db: DB, entry: JournalEntry) -> JournalEntry:
    """Store a new entry; returns it with its id."""
    async with transaction(db) as conn:
        await ensure_trader(conn, entry.trader_id, entry.at)
        res = await conn.execute(
            sa.insert(journal_entries).values(_entry_row(entry)).returning(journal_entries.c.id)
        )
        return entry.model_copy(update={"id": res.scalar_one()})


async def update_journal_entry(db: DB, entry: JournalEntry) -> bool:
    """Overwrite a stored entry (by id, and only the owner's); False if there is none."""
    if entry.id is None:
        raise ValueError("update_journal_entry needs an entry with an id")
    where = (journal_entries.c.id == entry.id) & (journal_entries.c.trader_id == entry.trader_id)
    async with transaction(db) as conn:
        res = await conn.execute(sa.update(journal_entries).where(where).values(_entry_row(entry)))
        return bool(res.rowcount)


async def get_journal_entry(db: DB, entry_id: int) -> JournalEntry | None:
    """An entry by id, whoever owns it (callers acting for a trader use the owner-scoped
    queries of storage.journal_queries)."""
    async with reading(db) as conn:
        q = sa.select(journal_entries).where(journal_entries.c.id == entry_id)
        row = (await conn.execute(q)).first()
    return None if row is None else _entry(row)


async def list_journal_entries(
    db: DB,
    trader_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kind: JournalKind | None = None,
    trade_id: str | None = None,
    limit: int | None = None,
) -> list[JournalEntry]:
    """A trader's entries with ``since <= at < until``, oldest first."""
    c = journal_entries.c
    q = between(sa.select(journal_entries).where(c.trader_id == trader_id), c.at, since, until)
    if kind is not None:
        q = q.where(c.kind == kind.value)
    if trade_id is not None:
        q = q.where(c.trade_id == trade_id)
    q = q.order_by(c.at, c.id)
    if limit is not None:
        q = q.limit(limit)
    async with reading(db) as conn:
        # row processing and model building off the event loop (I/O stays async)
        return await rows_to_models(await conn.execute(q), _entry)


async def add_verdict(
    db: DB, verdict: Verdict, *, trader_id: int | None = None, account_id: int | None = None
) -> int:
    """Store a verdict (a pre-trade check's answer); returns its id."""
    data = verdict.model_dump(mode="json")
    async with transaction(db) as conn:
        if trader_id is not None:
            await ensure_trader(conn, trader_id, verdict.at)
        res = await conn.execute(
            sa.insert(verdicts)
            .values(
                trader_id=trader_id,
                account_id=account_id,
                at=verdict.at,
                allowed=verdict.allowed,
                action=verdict.action.value,
                rules=data["rules"],
                request=data["request"],
                risk_percent=verdict.risk_percent,
            )
            .returning(verdicts.c.id)
        )
        return int(res.scalar_one())


async def get_verdict(db: DB, verdict_id: int) -> Verdict | None:
    """A stored verdict by id."""
    async with reading(db) as conn:
        row = (await conn.execute(sa.select(verdicts).where(verdicts.c.id == verdict_id))).first()
    if row is None:
        return None
    return Verdict.model_validate(
        {
            "at": row.at,
            "allowed": row.allowed,
            "action": row.action,
            "rules": row.rules,
            "request": row.request,
            "risk_percent": row.risk_percent,
        }
    )
