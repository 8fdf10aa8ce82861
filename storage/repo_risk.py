"""Risk state that must survive restarts: lockouts, kernel state, overrides, violations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage._sql import between, ensure_trader, insert
from storage.engine import DB, reading, transaction
from storage.records import Lockout, LockoutKind, OverrideRecord, Violation
from storage.schema import lockouts, overrides, risk_state, violations

__all__ = [
    "active_lockouts",
    "add_lockout",
    "add_override",
    "add_violation",
    "clear_lockouts",
    "list_lockouts",
    "list_overrides",
    "list_violations",
    "load_risk_state",
    "save_risk_state",
]

_l = lockouts.c


def _lockout(row: sa.Row[Any]) -> Lockout:
    m = row._mapping
    return Lockout.model_validate({k: m[k] for k in Lockout.model_fields})


async def add_lockout(db: DB, lockout: Lockout) -> Lockout:
    """Store a lockout (idempotent on account, kind and start); returns it with its id."""
    async with transaction(db) as conn:
        values = lockout.model_dump(exclude={"id"})
        await conn.execute(
            insert(conn, lockouts)
            .values(values)
            .on_conflict_do_nothing(index_elements=[_l.account_id, _l.kind, _l.started_at])
        )
        q = sa.select(lockouts).where(
            (_l.account_id == lockout.account_id)
            & (_l.kind == lockout.kind)
            & (_l.started_at == lockout.started_at)
        )
        return _lockout((await conn.execute(q)).one())


async def active_lockouts(db: DB, account_id: int, at: datetime) -> list[Lockout]:
    """Lockouts in force at ``at`` (started, not yet over, not cleared)."""
    q = (
        sa.select(lockouts)
        .where(
            (_l.account_id == account_id)
            & (_l.started_at <= at)
            & (_l.until > at)
            & (_l.cleared_at.is_(None) | (_l.cleared_at > at))
        )
        .order_by(_l.started_at, _l.id)
    )
    async with reading(db) as conn:
        rows = (await conn.execute(q)).all()
    return [_lockout(r) for r in rows]


async def list_lockouts(db: DB, account_id: int, *, since: datetime | None = None) -> list[Lockout]:
    """Every lockout of the account ending after ``since``, oldest first."""
    q = sa.select(lockouts).where(_l.account_id == account_id)
    if since is not None:
        q = q.where(_l.until > since)
    async with reading(db) as conn:
        rows = (await conn.execute(q.order_by(_l.started_at, _l.id))).all()
    return [_lockout(r) for r in rows]


async def clear_lockouts(
    db: DB, account_id: int, at: datetime, *, kind: LockoutKind | None = None
) -> int:
    """End the account's active lockouts (of ``kind``) at ``at``; returns how many."""
    where = (
        (_l.account_id == account_id)
        & (_l.started_at <= at)
        & (_l.until > at)
        & _l.cleared_at.is_(None)
    )
    if kind is not None:
        where = where & (_l.kind == kind)
    async with transaction(db) as conn:
        res = await conn.execute(sa.update(lockouts).where(where).values(cleared_at=at))
        return int(res.rowcount)


async def save_risk_state(db: DB, account_id: int, data: dict[str, Any], at: datetime) -> None:
    """Store the kernel's JSON state for an account (day anchors and the like)."""
    async with transaction(db) as conn:
        stmt = insert(conn, risk_state).values(account_id=account_id, data=data, updated_at=at)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[risk_state.c.account_id],
                set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
            )
        )


async def load_risk_state(db: DB, account_id: int) -> tuple[dict[str, Any], datetime] | None:
    """The stored state and when it was saved, or None."""
    q = sa.select(risk_state).where(risk_state.c.account_id == account_id)
    async with reading(db) as conn:
        row = (await conn.execute(q)).first()
    return None if row is None else (dict(row.data), row.updated_at)


async def add_override(db: DB, override: OverrideRecord) -> OverrideRecord:
    """Record a soft block the trader overrode; returns it with its id."""
    async with transaction(db) as conn:
        await ensure_trader(conn, override.trader_id, override.at)
        res = await conn.execute(
            sa.insert(overrides)
            .values(override.model_dump(exclude={"id"}))
            .returning(overrides.c.id)
        )
        return override.model_copy(update={"id": int(res.scalar_one())})


async def list_overrides(
    db: DB, trader_id: int, *, since: datetime | None = None, until: datetime | None = None
) -> list[OverrideRecord]:
    """A trader's overrides with ``since <= at < until``, oldest first."""
    c = overrides.c
    q = sa.select(overrides).where(c.trader_id == trader_id)
    q = between(q, c.at, since, until)
    async with reading(db) as conn:
        rows = (await conn.execute(q.order_by(c.at, c.id))).all()
    return [OverrideRecord.model_validate(dict(r._mapping)) for r in rows]


async def add_violation(db: DB, violation: Violation) -> int | None:
    """Record a violation once per (account, rule, deal); returns its id, None if known."""
    c = violations.c
    async with transaction(db) as conn:
        res = await conn.execute(
            insert(conn, violations)
            .values(violation.model_dump(exclude={"id"}))
            .on_conflict_do_nothing(index_elements=[c.account_id, c.rule, c.ticket])
            .returning(c.id)
        )
        new_id = res.scalar_one_or_none()
    return None if new_id is None else int(new_id)


async def list_violations(
    db: DB, account_id: int, *, since: datetime | None = None, until: datetime | None = None
) -> list[Violation]:
    """An account's violations with ``since <= at < until``, oldest first."""
    c = violations.c
    q = sa.select(violations).where(c.account_id == account_id)
    q = between(q, c.at, since, until)
    async with reading(db) as conn:
        rows = (await conn.execute(q.order_by(c.at, c.id))).all()
    return [Violation.model_validate(dict(r._mapping)) for r in rows]
