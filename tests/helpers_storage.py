"""Shared storage fixture: a freshly migrated SQLite file per test. Import it into a test
module or conftest (``from tests.helpers_storage import engine``) to use it there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import open_database


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The real schema on ``tmp_path/pulse.db``, disposed after the test."""
    eng = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}")
    try:
        yield eng
    finally:
        await eng.dispose()
