"""Deals and trades: idempotent ingest, order independence, trade upserts."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from pulse.models import Deal, DealEntry, DealType
from pulse.trades import TradeBook, reconstruct_trades
from storage import open_database
from storage.records import AccountRecord
from storage.repo_deals import (
    count_deals,
    delete_trades,
    insert_deals,
    load_deals,
    load_trades,
    upsert_trades,
)
from storage.repo_traders import ensure_account

from .conftest import T0


def make_deals(n_positions: int = 30) -> list[Deal]:
    out = [Deal(ticket=1, time=T0 - timedelta(days=1), type=DealType.BALANCE, profit=1e5)]
    ticket = 100
    for p in range(n_positions):
        t = T0 + timedelta(minutes=10 * p)
        side, opp = (DealType.BUY, DealType.SELL) if p % 2 else (DealType.SELL, DealType.BUY)
        for minute, typ, entry, vol, profit in (
            (0, side, DealEntry.IN, 1.0, 0.0),
            (3, opp, DealEntry.OUT, 0.4, 12.5),
            (7, opp, DealEntry.OUT, 0.6, -30.25),
        ):
            ticket += 1
            out.append(
                Deal(
                    ticket=ticket,
                    order=ticket,
                    time=t + timedelta(minutes=minute),
                    time_msc=ticket,
                    type=typ,
                    entry=entry,
                    position_id=1000 + p,
                    volume=vol,
                    price=1.1 + p / 1000,
                    profit=profit,
                    commission=-3.5 if entry is DealEntry.IN else 0.0,
                    symbol="EURUSD",
                    comment="é ok",
                )
            )
    return out


async def test_insert_returns_new_and_second_time_nothing(
    engine: AsyncEngine, account: AccountRecord
) -> None:
    deals = make_deals()
    new = await insert_deals(engine, account.id, deals[:50])
    assert [d.ticket for d in new] == [d.ticket for d in deals[:50]]
    # Overlapping window: 40..end; only 50..end are new.
    new = await insert_deals(engine, account.id, deals[40:])
    assert [d.ticket for d in new] == [d.ticket for d in deals[50:]]
    assert await insert_deals(engine, account.id, deals) == []
    assert await insert_deals(engine, account.id, [deals[3], deals[3]]) == []
    assert await count_deals(engine, account.id) == len(deals)
    assert await load_deals(engine, account.id) == sorted(deals, key=lambda d: d.sort_key)


async def test_same_deals_in_another_order_give_same_rows(tmp_path: Path) -> None:
    deals = make_deals()
    rows = []
    orders = (deals, list(reversed(deals)), random.Random(7).sample(deals, len(deals)))
    for i, order in enumerate(orders):
        eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / f'o{i}.db'}")
        try:
            acc = await ensure_account(eng, 5001, server="Demo-1", at=T0)
            for k in range(0, len(order), 7):  # in batches, each sent twice
                await insert_deals(eng, acc.id, order[k : k + 7])
                await insert_deals(eng, acc.id, order[k : k + 7])
            rows.append(await load_deals(eng, acc.id))
        finally:
            await eng.dispose()
    assert rows[0] == rows[1] == rows[2]
    assert len(rows[0]) == len(deals)


async def test_deals_of_accounts_are_separate(engine: AsyncEngine, account: AccountRecord) -> None:
    other = await ensure_account(engine, 5002, server="Demo-1", at=T0)
    deals = make_deals(2)
    assert len(await insert_deals(engine, account.id, deals)) == len(deals)
    assert len(await insert_deals(engine, other.id, deals)) == len(deals)  # same tickets, ok
    assert await load_deals(engine, other.id, since=T0, until=T0 + timedelta(minutes=5)) == [
        d for d in deals if T0 <= d.time < T0 + timedelta(minutes=5)
    ]


async def test_trades_upsert_round_trip(engine: AsyncEngine, account: AccountRecord) -> None:
    deals = make_deals(5)
    partial = reconstruct_trades(deals[:-1])  # last trade still open
    assert await upsert_trades(engine, account.id, partial) == 5
    assert (await load_trades(engine, account.id, open_only=True))[0].trade_id == "1004"
    full = reconstruct_trades(deals)
    # a stop loss learnt elsewhere survives a rebuild that carries none
    await upsert_trades(engine, account.id, [full[0].model_copy(update={"stop_loss": 1.05})])
    await upsert_trades(engine, account.id, full)
    stored = await load_trades(engine, account.id)
    assert stored[0].stop_loss == 1.05
    assert [t.model_copy(update={"stop_loss": None}) for t in stored] == full
    assert await load_trades(engine, account.id, open_only=True) == []
    later = await load_trades(engine, account.id, opened_since=full[3].open_time)
    assert [t.trade_id for t in later] == ["1003", "1004"]


async def test_store_mirrors_book_with_take_changes(
    engine: AsyncEngine, account: AccountRecord
) -> None:
    """Deals arriving late renumber legs; syncing take_changes() keeps the store exact."""
    deals = make_deals(6)
    rnd = random.Random(5)
    book = TradeBook()
    for d in rnd.sample(deals, len(deals)):
        book.add(d)
        changed, removed = book.take_changes()
        async with engine.begin() as conn:
            await upsert_trades(conn, account.id, changed)
            await delete_trades(conn, account.id, removed)
    assert await load_trades(engine, account.id) == reconstruct_trades(deals)
