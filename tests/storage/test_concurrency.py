"""Two writers on one SQLite file (two engines, and two processes) lose nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from pulse.models import Deal, DealEntry, DealType, Nudge
from storage import make_engine, open_database
from storage.repo_deals import count_deals, insert_deals, load_deals
from storage.repo_outbox import count_by_status, enqueue_nudge
from storage.repo_traders import ensure_account

from .conftest import T0


def _deal(ticket: int) -> Deal:
    return Deal(
        ticket=ticket,
        time=T0 + timedelta(seconds=ticket),
        type=DealType.BUY,
        entry=DealEntry.IN,
        position_id=ticket,
        volume=0.1,
        price=1.1,
        symbol="EURUSD",
    )


async def _writer(url: str, account_id: int, tickets: range, tag: str) -> int:
    eng = make_engine(url)
    new = 0
    try:
        for t in tickets:  # one transaction per deal, interleaved with outbox rows
            new += len(await insert_deals(eng, account_id, [_deal(t)]))
            nudge = Nudge(at=T0, kind="revenge", text=f"{tag} {t}", dedupe_key=f"d:{t}")
            await enqueue_nudge(eng, nudge)
            await enqueue_nudge(eng, Nudge(at=T0, kind="tilt", text=tag, dedupe_key=f"{tag}:{t}"))
            await asyncio.sleep(0)
    finally:
        await eng.dispose()
    return new


async def test_two_engines_write_concurrently(db_url: str) -> None:
    eng = await open_database(db_url)
    acc = await ensure_account(eng, 7, at=T0)
    await eng.dispose()
    # Overlapping ticket ranges: 1..150 and 101..250 -> 250 distinct deals.
    a, b = await asyncio.gather(
        _writer(db_url, acc.id, range(1, 151), "a"),
        _writer(db_url, acc.id, range(101, 251), "b"),
    )
    assert a + b == 250  # each shared ticket counted new exactly once
    eng = make_engine(db_url)
    try:
        assert await count_deals(eng, acc.id) == 250
        assert [d.ticket for d in await load_deals(eng, acc.id)] == list(range(1, 251))
        # 250 shared dedupe keys + 150 + 150 writer-specific ones
        assert await count_by_status(eng) == {"pending": 550}
    finally:
        await eng.dispose()


CHILD = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from pulse.models import Deal, DealEntry, DealType
from storage import make_engine
from storage.repo_deals import insert_deals

async def main(url, account_id, lo, hi):
    eng = make_engine(url)
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    for t in range(lo, hi):
        d = Deal(ticket=t, time=t0 + timedelta(seconds=t), type=DealType.SELL,
                 entry=DealEntry.IN, position_id=t, volume=1.0, price=1.0)
        await insert_deals(eng, account_id, [d])
    await eng.dispose()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
"""


async def test_two_processes_write_concurrently(db_url: str, tmp_path: Path) -> None:
    eng = await open_database(db_url)
    acc = await ensure_account(eng, 8, at=T0)
    await eng.dispose()
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    procs = [
        subprocess.Popen([sys.executable, str(script), db_url, str(acc.id), str(lo), str(hi)])
        for lo, hi in ((1, 201), (151, 351))
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    eng = make_engine(db_url)
    try:
        assert [d.ticket for d in await load_deals(eng, acc.id)] == list(range(1, 351))
    finally:
        await eng.dispose()


async def test_reader_does_not_wait_for_an_open_writer(db_url: str) -> None:
    """Reads use a deferred BEGIN: while another engine holds the write lock, a read
    returns at once with the last committed state (WAL snapshot)."""
    eng = await open_database(db_url)
    acc = await ensure_account(eng, 9, at=T0)
    await insert_deals(eng, acc.id, [_deal(1)])
    other = make_engine(db_url)
    try:
        async with eng.begin() as writer:  # BEGIN IMMEDIATE: holds the write lock
            await insert_deals(writer, acc.id, [_deal(2)])
            seen = await asyncio.wait_for(load_deals(other, acc.id), timeout=5)
            assert [d.ticket for d in seen] == [1]
        assert [d.ticket for d in await load_deals(other, acc.id)] == [1, 2]
    finally:
        await other.dispose()
        await eng.dispose()
