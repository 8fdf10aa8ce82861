"""The nudge outbox: written before sending, retried, deduplicated by ``dedupe_key``.

Life of a row: ``pending`` -> ``sent``; or back to ``pending`` with a later
``next_attempt_at`` after a failed attempt, until the sender gives up (``failed``);
or ``suppressed`` when it must not be sent (quiet hours policy, muted kind, stale).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pulse.models import Nudge
from storage._sql import ensure_trader, insert
from storage.engine import DB, reading, transaction
from storage.records import OutboxItem, OutboxStatus
from storage.schema import nudge_outbox

__all__ = [
    "count_by_status",
    "due_nudges",
    "enqueue_nudge",
    "get_outbox_item",
    "list_outbox",
    "mark_failed",
    "mark_sent",
    "mark_suppressed",
]

_o = nudge_outbox.c


def _item(row: sa.Row[Any]) -> OutboxItem:
    nudge = Nudge(
        at=row.created_at,
        kind=row.kind,
        severity=row.severity,
        text=row.text,
        dedupe_key=row.dedupe_key,
        trader_id=row.trader_id,
        data=row.data or {},
    )
    return OutboxItem(
        id=row.id,
        nudge=nudge,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


async def enqueue_nudge(db: DB, nudge: Nudge, *, not_before: datetime | None = None) -> int | None:
    """Queue a nudge; returns its row id, or None when its dedupe key is already queued.

    ``not_before`` delays the first attempt (e.g. to the end of quiet hours).
    """
    async with transaction(db) as conn:
        if nudge.trader_id is not None:
            await ensure_trader(conn, nudge.trader_id, nudge.at)
        stmt = (
            insert(conn, nudge_outbox)
            .values(
                trader_id=nudge.trader_id,
                kind=nudge.kind,
                severity=nudge.severity.value,
                text=nudge.text,
                data=nudge.model_dump(mode="json")["data"],
                dedupe_key=nudge.dedupe_key,
                status="pending",
                attempts=0,
                next_attempt_at=not_before or nudge.at,
                created_at=nudge.at,
            )
            .on_conflict_do_nothing(index_elements=[_o.dedupe_key])
            .returning(_o.id)
        )
        new_id = (await conn.execute(stmt)).scalar_one_or_none()
    return None if new_id is None else int(new_id)


async def due_nudges(db: DB, now: datetime, *, limit: int = 50) -> list[OutboxItem]:
    """Pending nudges whose next attempt is due, oldest first."""
    q = (
        sa.select(nudge_outbox)
        .where((_o.status == "pending") & (_o.next_attempt_at <= now))
        .order_by(_o.next_attempt_at, _o.id)
        .limit(limit)
    )
    async with reading(db) as conn:
        rows = (await conn.execute(q)).all()
    return [_item(r) for r in rows]


async def _set(db: DB, item_id: int, values: dict[str, Any], only_pending: bool = True) -> bool:
    where = _o.id == item_id
    if only_pending:
        where = where & (_o.status == "pending")
    async with transaction(db) as conn:
        res = await conn.execute(sa.update(nudge_outbox).where(where).values(values))
        return bool(res.rowcount)


async def mark_sent(db: DB, item_id: int, at: datetime) -> bool:
    """Record a delivery; False if the row was not pending (already handled)."""
    return await _set(db, item_id, {"status": "sent", "sent_at": at, "attempts": _o.attempts + 1})


async def mark_failed(db: DB, item_id: int, error: str, *, retry_at: datetime | None) -> bool:
    """Record a failed attempt: retry at ``retry_at``, or give up (``failed``) if None."""
    values: dict[str, Any] = {"attempts": _o.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    return await _set(db, item_id, values)


async def mark_suppressed(db: DB, item_id: int, reason: str) -> bool:
    """Withdraw a pending nudge without sending it, saying why."""
    return await _set(db, item_id, {"status": "suppressed", "last_error": reason[:2000]})


async def get_outbox_item(db: DB, item_id: int) -> OutboxItem | None:
    """An outbox row by id."""
    async with reading(db) as conn:
        row = (await conn.execute(sa.select(nudge_outbox).where(_o.id == item_id))).first()
    return None if row is None else _item(row)


async def list_outbox(
    db: DB,
    *,
    trader_id: int | None = None,
    status: OutboxStatus | None = None,
    since: datetime | None = None,
    kind: str | None = None,
) -> list[OutboxItem]:
    """Outbox rows (newest last), filtered; e.g. to rate-limit a kind per trader."""
    q = sa.select(nudge_outbox)
    if trader_id is not None:
        q = q.where(_o.trader_id == trader_id)
    if status is not None:
        q = q.where(_o.status == status)
    if since is not None:
        q = q.where(_o.created_at >= since)
    if kind is not None:
        q = q.where(_o.kind == kind)
    async with reading(db) as conn:
        rows = (await conn.execute(q.order_by(_o.created_at, _o.id))).all()
    return [_item(r) for r in rows]


async def count_by_status(db: DB) -> dict[str, int]:
    """Outbox rows per status (for metrics and health)."""
    q = sa.select(_o.status, sa.func.count()).group_by(_o.status)
    async with reading(db) as conn:
        rows = (await conn.execute(q)).all()
    return {str(s): int(n) for s, n in rows}
