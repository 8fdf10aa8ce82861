"""MAE/MFE of closed trades (``trades.mae``... columns, revision 0002).

The service measures a trade's excursions from the watchlist bars once they cover its
exit; written here, they survive a restart (before, they lived in memory only and were
lost when the bars no longer reached back to the trade).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from pulse.journal.stats import Excursion
from storage.engine import DB, reading, transaction
from storage.schema import trades

__all__ = ["load_excursions", "save_excursions"]

_t = trades.c


async def save_excursions(db: DB, account_id: int, items: Mapping[str, Excursion]) -> int:
    """Store the excursions of existing trades by trade id; returns the rows updated
    (a trade id with no stored trade, e.g. renumbered away, is skipped)."""
    updated = 0
    if not items:
        return 0
    async with transaction(db) as conn:
        for trade_id, ex in items.items():
            res = await conn.execute(
                sa.update(trades)
                .where((_t.account_id == account_id) & (_t.trade_id == trade_id))
                .values(mae=ex.mae, mfe=ex.mfe, mae_r=ex.mae_r, mfe_r=ex.mfe_r,
                        excursion_bars=ex.bars_used)
            )
            updated += int(res.rowcount)
    return updated


async def load_excursions(
    db: DB, account_id: int, trade_ids: Iterable[str] | None = None
) -> dict[str, Excursion]:
    """Stored excursions of the account's trades (all measured ones, or those ids)."""
    q = sa.select(_t.trade_id, _t.mae, _t.mfe, _t.mae_r, _t.mfe_r, _t.excursion_bars).where(
        (_t.account_id == account_id) & _t.mae.is_not(None) & _t.mfe.is_not(None)
    )
    if trade_ids is not None:
        q = q.where(_t.trade_id.in_(list(trade_ids)))
    async with reading(db) as conn:
        rows = (await conn.execute(q)).all()
    return {
        r.trade_id: Excursion(mae=r.mae, mfe=r.mfe, mae_r=r.mae_r, mfe_r=r.mfe_r,
                              bars_used=r.excursion_bars or 0)
        for r in rows
    }
