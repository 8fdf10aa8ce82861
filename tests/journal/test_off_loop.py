"""The journal's CPU-bound work runs off the event loop: storage builds its models in a
worker thread (the query stays async), the journal's flags/records and the summaries are
computed in one, and `pulse run` freezes its start-up heap so a full garbage collection
does not pause the loop for ~100 ms (bench/bench_journal_cogs.py shows the stalls)."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import bot.journal_service as js
import storage.repo_deals as repo_deals
import storage.repo_journal as repo_journal
from bot.wiring import freeze_heap
from pulse.config import parse_config
from pulse.models import JournalEntry, JournalKind, Side
from storage import open_database
from storage.repo_journal import add_journal_entry
from storage.repo_traders import ensure_account, upsert_trader
from tests.journal.helpers import DealMaker, trades_of

DAY = datetime(2026, 3, 4, 8, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}")
    yield eng
    await eng.dispose()


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any, name: str,
         seen: dict[str, set[str]]) -> None:
    real = getattr(module, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.setdefault(name, set()).add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)


async def test_models_flags_records_and_summaries_are_built_off_the_loop(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await upsert_trader(engine, 7, at=DAY, timezone="Europe/Prague")
    acct = await ensure_account(engine, 111, at=DAY, trader_id=7)
    m = DealMaker()
    deals = m.round_trip(1, DAY, 20, Side.BUY, -50.0) + m.round_trip(
        2, DAY + timedelta(minutes=30), 20, Side.BUY, 80.0)
    await repo_deals.insert_deals(engine, acct.id, deals)
    await repo_deals.upsert_trades(engine, acct.id, trades_of(deals))
    await add_journal_entry(engine, JournalEntry(trader_id=7, kind=JournalKind.NOTE, at=DAY,
                                                 text="calm"))
    seen: dict[str, set[str]] = {}
    for module, name in ((repo_deals, "_deal"), (repo_deals, "_trade"),
                         (repo_journal, "_entry"), (js, "entry_flags"),
                         (js, "build_records"), (js, "build_daily_summary"),
                         (js, "build_weekly_summary")):
        _spy(monkeypatch, module, name, seen)
    cfg = parse_config({})
    day = await js.daily_summary(engine, cfg, 7, DAY + timedelta(hours=2))
    week = await js.weekly_summary(engine, cfg, 7, DAY)
    assert day.stats.count == 2 and week.stats.count == 2
    loop_thread = threading.main_thread().name
    assert set(seen) == {"_deal", "_trade", "_entry", "entry_flags", "build_records",
                         "build_daily_summary", "build_weekly_summary"}
    on_loop = {k for k, threads in seen.items() if loop_thread in threads}
    assert on_loop == set(), f"built on the event loop: {sorted(on_loop)}"


def test_freeze_heap_takes_start_up_objects_out_of_collections() -> None:
    try:
        frozen = freeze_heap()
        assert frozen > 1000 and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
