"""Deals and trades of an account: idempotent deal ingest, trade upserts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pulse.models import Deal, DealEntry, DealType, Side, Trade
from storage._rows import rows_to_models
from storage._sql import between, insert
from storage.engine import DB, reading, transaction
from storage.schema import deals, trades

__all__ = [
    "count_deals",
    "delete_trades",
    "insert_deals",
    "load_deals",
    "load_trades",
    "upsert_trades",
]

_DEAL_FIELDS = tuple(Deal.model_fields)
_TRADE_FIELDS = tuple(Trade.model_fields)


def _deal_row(account_id: int, d: Deal) -> dict[str, Any]:
    row = {f: getattr(d, f) for f in _DEAL_FIELDS}
    row["type"] = int(d.type)
    row["entry"] = int(d.entry)
    row["account_id"] = account_id
    return row


def _deal(row: sa.Row[Any]) -> Deal:
    m = row._mapping
    data = {f: m[f] for f in _DEAL_FIELDS}
    data["type"] = DealType(data["type"])
    data["entry"] = DealEntry(data["entry"])
    return Deal.model_validate(data)


async def insert_deals(db: DB, account_id: int, new_deals: Iterable[Deal]) -> list[Deal]:
    """Store deals, ignoring tickets already stored; returns the deals that were new.

    INSERT ... ON CONFLICT (account_id, ticket) DO NOTHING, so re-sending a batch (an
    overlapping poll window, a restart) or two writers sending the same deal store it once.
    """
    unique: dict[int, Deal] = {}
    for d in new_deals:
        unique.setdefault(d.ticket, d)
    if not unique:
        return []
    rows = [_deal_row(account_id, d) for d in unique.values()]
    async with transaction(db) as conn:
        stmt = (
            insert(conn, deals)
            .on_conflict_do_nothing(index_elements=[deals.c.account_id, deals.c.ticket])
            .returning(deals.c.ticket)
        )
        # executemany: SQLAlchemy batches it into multi-row INSERTs ("insertmanyvalues")
        # from one cached compilation, and RETURNING yields only the rows inserted.
        inserted = set((await conn.execute(stmt, rows)).scalars())
    return [d for t, d in unique.items() if t in inserted]


async def load_deals(
    db: DB,
    account_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    position_ids: Iterable[int] | None = None,
) -> list[Deal]:
    """The account's deals with ``since <= time < until``, in deal order (time, msc, ticket)."""
    q = sa.select(deals).where(deals.c.account_id == account_id)
    q = between(q, deals.c.time, since, until)
    if position_ids is not None:
        q = q.where(deals.c.position_id.in_(list(position_ids)))
    q = q.order_by(deals.c.time, deals.c.time_msc, deals.c.ticket)
    async with reading(db) as conn:
        # row processing and model building off the event loop (I/O stays async)
        return await rows_to_models(await conn.execute(q), _deal)


async def count_deals(db: DB, account_id: int) -> int:
    """How many deals of the account are stored (cash deals included)."""
    q = sa.select(sa.func.count()).select_from(deals).where(deals.c.account_id == account_id)
    async with reading(db) as conn:
        return int((await conn.execute(q)).scalar_one())


def _trade_row(account_id: int, t: Trade) -> dict[str, Any]:
    row = {f: getattr(t, f) for f in _TRADE_FIELDS}
    row["side"] = t.side.value
    row["deal_tickets"] = list(t.deal_tickets)
    row["account_id"] = account_id
    return row


def _trade(row: sa.Row[Any]) -> Trade:
    m = row._mapping
    data = {f: m[f] for f in _TRADE_FIELDS}
    data["side"] = Side(data["side"])
    data["deal_tickets"] = tuple(data["deal_tickets"])
    return Trade.model_validate(data)


async def upsert_trades(db: DB, account_id: int, items: Iterable[Trade]) -> int:
    """Insert or update trades by (account, trade_id); returns how many were written.

    A stored stop loss survives an update that carries none (deals do not know the stop;
    it may have come from a report import or the position).
    """
    rows = [_trade_row(account_id, t) for t in items]
    if not rows:
        return 0
    async with transaction(db) as conn:
        stmt = insert(conn, trades)
        ex = stmt.excluded
        updates: dict[str, Any] = {
            f: ex[f] for f in _TRADE_FIELDS if f not in ("trade_id", "stop_loss")
        }
        updates["stop_loss"] = sa.func.coalesce(ex.stop_loss, trades.c.stop_loss)
        upsert = stmt.on_conflict_do_update(
            index_elements=[trades.c.account_id, trades.c.trade_id], set_=updates
        )
        await conn.execute(upsert, rows)
    return len(rows)


async def delete_trades(db: DB, account_id: int, trade_ids: Iterable[str]) -> int:
    """Remove trades that no longer exist (``TradeBook.take_changes`` reports them when a
    late deal renumbers a position's legs); returns how many rows went."""
    ids = list(trade_ids)
    if not ids:
        return 0
    where = (trades.c.account_id == account_id) & trades.c.trade_id.in_(ids)
    async with transaction(db) as conn:
        res = await conn.execute(sa.delete(trades).where(where))
        return int(res.rowcount)


async def load_trades(
    db: DB,
    account_id: int,
    *,
    opened_since: datetime | None = None,
    closed_since: datetime | None = None,
    open_only: bool = False,
) -> list[Trade]:
    """The account's trades, sorted by open time then trade id.

    ``opened_since`` keeps trades opened at or after it; ``closed_since`` keeps trades
    closed at or after it (open trades are kept too, they may close later).
    """
    q = sa.select(trades).where(trades.c.account_id == account_id)
    if opened_since is not None:
        q = q.where(trades.c.open_time >= opened_since)
    if closed_since is not None:
        q = q.where(sa.or_(trades.c.close_time.is_(None), trades.c.close_time >= closed_since))
    if open_only:
        q = q.where(trades.c.close_time.is_(None))
    q = q.order_by(trades.c.open_time, trades.c.trade_id)
    async with reading(db) as conn:
        # row processing and model building off the event loop (I/O stays async)
        return await rows_to_models(await conn.execute(q), _trade)
