"""Migrations: from empty to head, a single head, down to base, schema == metadata."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage import current_revision, downgrade, head_revisions, make_engine, upgrade
from storage.schema import metadata

TABLES = {
    "traders",
    "accounts",
    "deals",
    "trades",
    "journal_entries",
    "verdicts",
    "nudge_outbox",
    "lockouts",
    "risk_state",
    "overrides",
    "violations",
    "coach_consents",
    "bars",
    "guild_settings",
}


async def _tables(url: str) -> set[str]:
    eng = make_engine(url)
    try:
        async with eng.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await eng.dispose()
    return set(names) - {"alembic_version"}


def test_single_head() -> None:
    assert len(head_revisions()) == 1


async def test_upgrade_from_empty_then_down_to_base_and_up_again(db_url: str) -> None:
    assert await current_revision(db_url) is None
    await upgrade(db_url)
    assert await current_revision(db_url) == head_revisions()[0]
    assert await _tables(db_url) == TABLES
    await upgrade(db_url)  # idempotent: already at head
    await downgrade(db_url, "base")
    assert await current_revision(db_url) is None
    assert await _tables(db_url) == set()
    await upgrade(db_url)
    assert await _tables(db_url) == TABLES


async def test_migrated_schema_matches_metadata(db_url: str) -> None:
    await upgrade(db_url)
    eng = make_engine(db_url)

    def diff(conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))

    try:
        async with eng.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await eng.dispose()


async def test_sqlite_pragmas_wal_and_foreign_keys(db_url: str) -> None:
    await upgrade(db_url)
    eng = make_engine(db_url)
    try:
        async with eng.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    finally:
        await eng.dispose()
    assert (mode, fks) == ("wal", 1)
    assert busy is not None and busy >= 1000


def test_cli_upgrade_from_another_directory(tmp_path: Path) -> None:
    """`pulse db upgrade --config` works from any cwd: migrations ship in the package."""
    db = tmp_path / "data" / "p.db"
    db.parent.mkdir()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"storage:\n  url: sqlite+aiosqlite:///{db}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_DATABASE_URL", "PULSE_CONFIG")}
    cmd = [sys.executable, "-m", "bot.cli", "db", "upgrade", "--config", str(cfg)]
    done = subprocess.run(cmd, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"at revision {head_revisions()[0]} (head)" in done.stdout
    assert db.is_file()
    cur = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "current", "--url", f"sqlite+aiosqlite:///{db}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cur.returncode == 0 and "(head)" in cur.stdout


def test_postgresql_ddl_is_portable() -> None:
    """The migration renders for PostgreSQL (offline): timestamptz, bigserial, JSON."""
    import io

    from alembic import command

    from storage.migrate import alembic_config

    cfg = alembic_config("postgresql+asyncpg://pulse@db.example/pulse")
    cfg.output_buffer = buf = io.StringIO()
    command.upgrade(cfg, "head", sql=True)
    ddl = buf.getvalue()
    assert "TIMESTAMP WITH TIME ZONE" in ddl and "BIGSERIAL" in ddl
    assert 'order" BIGINT' in ddl  # reserved word quoted
    assert "CONSTRAINT uq_deals_account_id_ticket UNIQUE (account_id, ticket)" in ddl
    assert "CONSTRAINT uq_nudge_outbox_dedupe_key UNIQUE (dedupe_key)" in ddl


def test_postgresql_upserts_compile() -> None:
    from types import SimpleNamespace
    from typing import Any

    from sqlalchemy.dialects import postgresql

    from storage._sql import insert
    from storage.schema import deals

    conn: Any = SimpleNamespace(dialect=postgresql.dialect())
    stmt = (
        insert(conn, deals)
        .values(account_id=1, ticket=2)
        .on_conflict_do_nothing(index_elements=[deals.c.account_id, deals.c.ticket])
        .returning(deals.c.ticket)
    )
    sql = str(stmt.compile(dialect=postgresql.dialect()))
    assert "ON CONFLICT (account_id, ticket) DO NOTHING RETURNING deals.ticket" in sql


async def test_in_memory_database_keeps_its_schema() -> None:
    from storage import open_database

    eng = await open_database("sqlite+aiosqlite:///:memory:")
    try:
        async with eng.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert set(names) >= TABLES
    finally:
        await eng.dispose()


async def test_two_processes_starting_together_migrate_once(db_url: str) -> None:
    """Two engines upgrading a fresh file at once: one migrates, the other waits and
    finds it at head (BEGIN IMMEDIATE serialises them)."""
    import asyncio

    e1, e2 = make_engine(db_url), make_engine(db_url)
    try:
        await asyncio.gather(upgrade(db_url, engine=e1), upgrade(db_url, engine=e2))
    finally:
        await e1.dispose()
        await e2.dispose()
    assert await current_revision(db_url) == head_revisions()[0]
    assert await _tables(db_url) == TABLES
