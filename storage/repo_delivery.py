"""Outbox delivery bookkeeping: claims, outcomes, deferrals and rate-limit look-ups.

The outbox worker (``bot/outbox.py``) drives one row through these steps:

* :func:`claim_attempt` before calling Discord: one more attempt, a lease (the row is
  not due again until the lease ends, so a second worker cannot pick it up) and an
  in-flight marker ``data["delivery"]["claimed_at"]``.
* then exactly one of :func:`finish_sent`, :func:`finish_retry`, :func:`finish_failed`,
  which clear the marker. A row that is due again *with* the marker still set was being
  sent when the process died: the worker cannot know whether Discord accepted it.
* :func:`defer` (quiet hours) and :func:`suppress` (rate limit, consent withdrawn ...)
  happen without an attempt.

``data["delivery"]`` also records where a message went (``to``, ``channel_id``,
``message_id``, ``dm_closed``). A PNG carried inline (``data["attachment"]["png_b64"]``)
is dropped once the message is sent so the table does not grow with charts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.engine import DB, reading, transaction
from storage.records import OutboxItem
from storage.repo_outbox import _item  # the one row -> OutboxItem mapping
from storage.schema import nudge_outbox

__all__ = [
    "claim_attempt",
    "defer",
    "finish_failed",
    "finish_retry",
    "finish_sent",
    "next_due_at",
    "recent_sent",
    "suppress",
]

_o = nudge_outbox.c


async def _update(
    db: DB,
    item_id: int,
    *,
    change_data: Any = None,
    values: dict[str, Any] | None = None,
    due_by: datetime | None = None,
) -> bool:
    """Update a pending row (optionally only if due by ``due_by``), editing its JSON data
    with ``change_data(data) -> data`` inside the same transaction."""
    where = (_o.id == item_id) & (_o.status == "pending")
    if due_by is not None:
        where = where & (_o.next_attempt_at <= due_by)
    async with transaction(db) as conn:
        row = (
            await conn.execute(sa.select(_o.data).where(where).with_for_update())
        ).first()
        if row is None:
            return False
        vals = dict(values or {})
        if change_data is not None:
            vals["data"] = change_data(dict(row.data or {}))
        res = await conn.execute(sa.update(nudge_outbox).where(where).values(vals))
        return bool(res.rowcount)


def _delivery(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data.get("delivery") or {})


async def claim_attempt(
    db: DB, item_id: int, now: datetime, lease_until: datetime
) -> OutboxItem | None:
    """Take a due pending row for one delivery attempt; None if it is not (or no longer)
    due, e.g. another worker claimed it first."""

    def change(data: dict[str, Any]) -> dict[str, Any]:
        d = _delivery(data)
        d["claimed_at"] = now.isoformat()
        return {**data, "delivery": d}

    async with transaction(db) as conn:
        ok = await _update(
            conn,
            item_id,
            change_data=change,
            values={"attempts": _o.attempts + 1, "next_attempt_at": lease_until},
            due_by=now,
        )
        if not ok:
            return None
        row = (await conn.execute(sa.select(nudge_outbox).where(_o.id == item_id))).one()
        return _item(row)


async def finish_sent(db: DB, item_id: int, at: datetime, where: dict[str, Any]) -> bool:
    """Record a delivery and where it went; drops an inline PNG (the message has it)."""

    def change(data: dict[str, Any]) -> dict[str, Any]:
        d = _delivery(data)
        d.pop("claimed_at", None)
        d.update(where)
        out = {**data, "delivery": d}
        att = data.get("attachment")
        if isinstance(att, dict) and "png_b64" in att:
            out["attachment"] = {k: v for k, v in att.items() if k != "png_b64"} | {
                "dropped_after_send": True
            }
        return out

    return await _update(
        db, item_id, change_data=change, values={"status": "sent", "sent_at": at}
    )


async def finish_retry(
    db: DB, item_id: int, error: str, retry_at: datetime, where: dict[str, Any] | None = None
) -> bool:
    """A failed attempt to try again at ``retry_at``."""

    def change(data: dict[str, Any]) -> dict[str, Any]:
        d = _delivery(data)
        d.pop("claimed_at", None)
        d.update(where or {})
        return {**data, "delivery": d}

    return await _update(
        db,
        item_id,
        change_data=change,
        values={"next_attempt_at": retry_at, "last_error": error[:2000]},
    )


async def finish_failed(
    db: DB, item_id: int, error: str, where: dict[str, Any] | None = None
) -> bool:
    """Give up on a row (status ``failed``), saying why."""

    def change(data: dict[str, Any]) -> dict[str, Any]:
        d = _delivery(data)
        d.pop("claimed_at", None)
        d.update(where or {})
        return {**data, "delivery": d}

    return await _update(
        db, item_id, change_data=change, values={"status": "failed", "last_error": error[:2000]}
    )


async def defer(db: DB, item_id: int, until: datetime, reason: str) -> bool:
    """Move a pending row's next attempt to ``until`` without counting an attempt."""
    return await _update(
        db, item_id, values={"next_attempt_at": until, "last_error": reason[:2000]}
    )


async def suppress(db: DB, item_id: int, reason: str) -> bool:
    """Withdraw a pending row without sending it (status ``suppressed``), saying why."""
    return await _update(
        db, item_id, values={"status": "suppressed", "last_error": reason[:2000]}
    )


async def recent_sent(
    db: DB, trader_id: int | None, kind: str, since: datetime
) -> list[OutboxItem]:
    """Rows of this trader and kind sent at or after ``since`` (for the rate limit)."""
    trader = _o.trader_id.is_(None) if trader_id is None else _o.trader_id == trader_id
    q = (
        sa.select(nudge_outbox)
        .where(trader & (_o.kind == kind) & (_o.status == "sent") & (_o.sent_at >= since))
        .order_by(_o.sent_at)
    )
    async with reading(db) as conn:
        rows = (await conn.execute(q)).all()
    return [_item(r) for r in rows]


async def next_due_at(db: DB) -> datetime | None:
    """When the earliest pending row is due (the worker sleeps until then at most)."""
    q = (
        sa.select(_o.next_attempt_at)
        .where(_o.status == "pending")
        .order_by(_o.next_attempt_at)
        .limit(1)
    )
    async with reading(db) as conn:
        value: datetime | None = (await conn.execute(q)).scalar_one_or_none()
    return value
