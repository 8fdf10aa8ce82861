"""Coach consents: what a trader agreed to share with which coach."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage._sql import ensure_trader
from storage.engine import DB, reading, transaction
from storage.records import CoachConsent
from storage.schema import coach_consents

__all__ = ["active_consents", "consents_for_coach", "grant_consent", "revoke_consent"]

_c = coach_consents.c


def _consent(row: sa.Row[Any]) -> CoachConsent:
    return CoachConsent.model_validate(dict(row._mapping))


async def grant_consent(
    db: DB, trader_id: int, coach_user_id: int, at: datetime, *, channel_id: int | None = None
) -> CoachConsent:
    """Share with a coach (replacing an active consent to the same coach)."""
    async with transaction(db) as conn:
        await ensure_trader(conn, trader_id, at)
        await conn.execute(
            sa.update(coach_consents)
            .where(
                (_c.trader_id == trader_id)
                & (_c.coach_user_id == coach_user_id)
                & _c.revoked_at.is_(None)
            )
            .values(revoked_at=at)
        )
        res = await conn.execute(
            sa.insert(coach_consents)
            .values(
                trader_id=trader_id,
                coach_user_id=coach_user_id,
                channel_id=channel_id,
                granted_at=at,
            )
            .returning(_c.id)
        )
        return CoachConsent(
            id=int(res.scalar_one()),
            trader_id=trader_id,
            coach_user_id=coach_user_id,
            channel_id=channel_id,
            granted_at=at,
        )


async def revoke_consent(
    db: DB, trader_id: int, at: datetime, *, coach_user_id: int | None = None
) -> int:
    """Stop sharing (with one coach, or all); returns how many consents ended."""
    where = (_c.trader_id == trader_id) & _c.revoked_at.is_(None)
    if coach_user_id is not None:
        where = where & (_c.coach_user_id == coach_user_id)
    async with transaction(db) as conn:
        res = await conn.execute(sa.update(coach_consents).where(where).values(revoked_at=at))
        return int(res.rowcount)


async def active_consents(db: DB, trader_id: int) -> list[CoachConsent]:
    """The trader's consents not revoked, oldest first."""
    q = sa.select(coach_consents).where((_c.trader_id == trader_id) & _c.revoked_at.is_(None))
    async with reading(db) as conn:
        rows = (await conn.execute(q.order_by(_c.granted_at, _c.id))).all()
    return [_consent(r) for r in rows]


async def consents_for_coach(db: DB, coach_user_id: int) -> list[CoachConsent]:
    """Active consents naming this coach (who may see what)."""
    q = sa.select(coach_consents).where(
        (_c.coach_user_id == coach_user_id) & _c.revoked_at.is_(None)
    )
    async with reading(db) as conn:
        rows = (await conn.execute(q.order_by(_c.trader_id, _c.id))).all()
    return [_consent(r) for r in rows]
