"""Optional bar cache (symbol, timeframe, open time), so restarts need not refetch."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pulse.models import Bar
from storage._sql import between, insert
from storage.engine import DB, reading, transaction
from storage.schema import bars

__all__ = ["load_bars", "upsert_bars"]

_FIELDS = tuple(Bar.model_fields)


async def upsert_bars(db: DB, symbol: str, timeframe: str, items: Iterable[Bar]) -> int:
    """Store bars, replacing any with the same open time (the last bar grows while open)."""
    rows = [{"symbol": symbol, "timeframe": timeframe, **b.model_dump()} for b in items]
    if not rows:
        return 0
    async with transaction(db) as conn:
        stmt = insert(conn, bars)
        ex = stmt.excluded
        upsert = stmt.on_conflict_do_update(
            index_elements=[bars.c.symbol, bars.c.timeframe, bars.c.time],
            set_={f: ex[f] for f in _FIELDS if f != "time"},
        )
        await conn.execute(upsert, rows)
    return len(rows)


async def load_bars(
    db: DB,
    symbol: str,
    timeframe: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Bar]:
    """Cached bars with ``since <= time < until``, oldest first."""
    c = bars.c
    q = sa.select(bars).where((c.symbol == symbol) & (c.timeframe == timeframe))
    q = between(q, c.time, since, until)
    async with reading(db) as conn:
        rows = (await conn.execute(q.order_by(c.time))).all()
    out: list[Bar] = []
    for r in rows:
        m: Any = r._mapping
        out.append(Bar.model_validate({f: m[f] for f in _FIELDS}))
    return out
