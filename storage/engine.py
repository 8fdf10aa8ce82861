"""Async engine creation: URL checks, SQLite pragmas, clear errors.

SQLite (the default) is opened in WAL mode with foreign keys on and a busy timeout, and
every transaction starts with ``BEGIN IMMEDIATE``: a writer takes the write lock up front
and waits (up to the busy timeout) for another writer instead of failing half way with
``database is locked`` when it upgrades a read lock. That is what lets two processes, or
two engines, write to the same file without losing rows. PostgreSQL (asyncpg) needs none
of this.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

__all__ = [
    "BUSY_TIMEOUT_MS",
    "DB",
    "StorageError",
    "StorageInputError",
    "StorageURLError",
    "check_url",
    "make_engine",
    "reading",
    "redact_url",
    "transaction",
]

_READ_ONLY = "pulse_read_only"

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another writer's lock before giving up."""

SUPPORTED = {"sqlite+aiosqlite": "aiosqlite", "postgresql+asyncpg": "asyncpg"}

DB = AsyncEngine | AsyncConnection
"""What repository functions accept: an engine (one transaction per call) or a
connection inside the caller's transaction."""


class StorageError(Exception):
    """A storage problem worth one clear line to the user (never a traceback)."""


class StorageInputError(StorageError):
    """The caller asked for something impossible (bad input: CLI exit code 2)."""


class StorageURLError(StorageInputError):
    """The database URL itself is wrong."""


def redact_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return url


def check_url(url: str) -> URL:
    """Parse and check a database URL, or raise :class:`StorageURLError` saying the fix."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise StorageURLError(
            f"storage.url: cannot parse {url!r}; expected sqlite+aiosqlite:///path/to/pulse.db "
            "or postgresql+asyncpg://user@host/dbname"
        ) from None
    scheme = parsed.drivername
    if scheme not in SUPPORTED:
        raise StorageURLError(
            f"storage.url: driver {scheme!r} is not supported; use sqlite+aiosqlite:///pulse.db "
            f"or postgresql+asyncpg://user@host/dbname (got {redact_url(url)})"
        )
    module = SUPPORTED[scheme]
    if importlib.util.find_spec(module) is None:
        raise StorageURLError(
            f"storage.url: {scheme} needs the {module!r} package; pip install {module}"
        )
    if scheme.startswith("sqlite"):
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            path = Path(db).expanduser().resolve()
            if path.is_dir():
                raise StorageURLError(
                    f"storage.url: {path} is a directory; give a file path such as {path}/pulse.db"
                )
            parent = path.parent
            if not parent.is_dir():
                raise StorageURLError(
                    f"storage.url: directory {parent} for the SQLite file does not exist; "
                    "create it or point storage.url elsewhere"
                )
    elif not parsed.database:
        raise StorageURLError(
            f"storage.url: no database name in {redact_url(url)}; "
            "expected postgresql+asyncpg://user@host/dbname"
        )
    return parsed


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let us emit BEGIN ourselves (see _sqlite_on_begin); the driver's implicit BEGIN is
    # deferred and would make concurrent writers fail instead of wait.
    dbapi_connection.isolation_level = None
    try:
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()
    except Exception:
        # e.g. "file is not a database": close it, or its driver thread outlives us.
        dbapi_connection.close()
        raise


def _sqlite_on_begin(conn: Any) -> None:
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")  # deferred: a WAL reader never waits for a writer
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` (checked first); SQLite gets WAL, FKs, busy timeout."""
    parsed = check_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        # One shared connection, or every pooled connection would see its own empty DB.
        kwargs["poolclass"] = StaticPool
    engine = create_async_engine(parsed, echo=echo, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


@asynccontextmanager
async def reading(db: DB) -> AsyncIterator[AsyncConnection]:
    """Like :func:`transaction`, for reads: on SQLite a deferred BEGIN, so a reader sees
    a consistent snapshot without taking (or waiting for) the write lock."""
    if isinstance(db, AsyncConnection):
        yield db
        return
    async with db.connect() as conn:
        conn = await conn.execution_options(**{_READ_ONLY: True})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def transaction(db: DB) -> AsyncIterator[AsyncConnection]:
    """Yield a connection in a transaction: the caller's, or a new one committed at exit."""
    if isinstance(db, AsyncConnection):
        yield db
        return
    async with db.begin() as conn:
        yield conn
