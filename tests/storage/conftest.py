"""Fixtures: a migrated SQLite file per test (tmp_path), and an account in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import open_database
from storage.records import AccountRecord
from storage.repo_traders import ensure_account

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = await open_database(db_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def account(engine: AsyncEngine) -> AccountRecord:
    return await ensure_account(
        engine, 5001, server="Demo-1", trader_id=42, currency="USD", initial_balance=100_000, at=T0
    )
