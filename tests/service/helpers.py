"""Small helpers shared by the service tests: scripted deals and storage look-ups."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.service import PulseService
from pulse.models import Side, TradeRequest
from storage import repo_deals, repo_outbox
from storage.schema import deals, lockouts, trades
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import TRADER, Clock


def open_buy(fake: FakeMetaTrader5, clock: Clock, ticket: int, position: int,
             volume: float = 1.0, price: float = 1.1000) -> Any:
    return fake.add_deal(ticket, clock.now, type=0, entry=0, position_id=position,
                         volume=volume, price=price)


def close_buy(fake: FakeMetaTrader5, clock: Clock, ticket: int, position: int, profit: float,
              volume: float = 1.0, price: float = 1.0990) -> Any:
    """Close a long (a sell deal, entry out) and move the terminal's balance with it."""
    account: dict[str, Any] = fake.account
    account["balance"] = float(account["balance"]) + profit
    account["equity"] = account["balance"]
    return fake.add_deal(ticket, clock.now, type=1, entry=1, position_id=position,
                         volume=volume, price=price, profit=profit)



def round_trip(fake: FakeMetaTrader5, clock: Clock, profit: float) -> None:
    """One minute on, buy (ticket 1, position 100); one more minute, close it with ``profit``."""
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    clock.advance(minutes=1)
    close_buy(fake, clock, 2, 100, profit=profit)

def request(clock: Clock, symbol: str = "EURUSD") -> TradeRequest:
    return TradeRequest(time=clock.now, symbol=symbol, side=Side.BUY, volume=0.1,
                        price=1.1000, sl=1.0980)


async def count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def outbox_kinds(svc: PulseService) -> Counter[str]:
    return Counter(i.nudge.kind for i in await repo_outbox.list_outbox(svc.db))


async def outbox_keys(svc: PulseService) -> list[str]:
    return sorted(i.nudge.dedupe_key for i in await repo_outbox.list_outbox(svc.db))


async def stored(svc: PulseService) -> dict[str, int]:
    """Row counts of what a poll writes (deals, trades, lockouts)."""
    return {
        "deals": await count(svc.db, deals),
        "trades": await count(svc.db, trades),
        "lockouts": await count(svc.db, lockouts),
    }


async def account_id(svc: PulseService) -> int:
    acct = svc.sessions[TRADER].account
    assert acct is not None
    return acct.id


async def stored_tickets(svc: PulseService) -> list[int]:
    return [d.ticket for d in await repo_deals.load_deals(svc.db, await account_id(svc))]
