"""Apply Alembic migrations from code: ``await upgrade(url)`` at start, ``pulse db ...``.

The Alembic config is built here, with ``script_location`` taken from this package's
directory, so migrating works from any working directory and from an installed wheel
(no alembic.ini to find). Migrations run on a connection of our async engine, inside the
running event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command, util
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import StorageError, StorageInputError, make_engine, redact_url

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revisions",
    "open_database",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at this package's migrations (and ``url`` if given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        # ConfigParser interpolates '%': escape it (URL-encoded passwords contain it).
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions() -> tuple[str, ...]:
    """The head revision(s) of the migration scripts (one, unless history has branched)."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


async def _run(url: str, fn: Callable[[Connection], Any], engine: AsyncEngine | None) -> Any:
    own = engine is None
    eng = engine if engine is not None else make_engine(url)
    try:
        async with eng.begin() as conn:
            return await conn.run_sync(fn)
    except util.CommandError as e:
        raise StorageInputError(f"storage: {e}") from None
    except (exc.DBAPIError, OSError) as e:
        reason = getattr(e, "orig", None) or e
        raise StorageError(f"storage: cannot use database {redact_url(url)}: {reason}") from None
    finally:
        if own:
            await eng.dispose()


def _command(url: str, name: str, revision: str) -> Callable[[Connection], None]:
    def go(connection: Connection) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        getattr(command, name)(cfg, revision)

    return go


async def upgrade(url: str, revision: str = "head", *, engine: AsyncEngine | None = None) -> None:
    """Migrate the database at ``url`` up to ``revision`` (creating it if it is new)."""
    await _run(url, _command(url, "upgrade", revision), engine)


async def downgrade(url: str, revision: str, *, engine: AsyncEngine | None = None) -> None:
    """Migrate down to ``revision`` (``"base"`` drops every table)."""
    await _run(url, _command(url, "downgrade", revision), engine)


async def current_revision(url: str, *, engine: AsyncEngine | None = None) -> str | None:
    """The revision the database is at, or None for an empty (unmigrated) database."""

    def go(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    result: str | None = await _run(url, go, engine)
    return result


async def open_database(url: str, *, echo: bool = False, migrate: bool = True) -> AsyncEngine:
    """The process's engine for ``url``, migrated to head first (the start-up path)."""
    engine = make_engine(url, echo=echo)
    if migrate:
        try:
            await upgrade(url, engine=engine)
        except BaseException:
            await engine.dispose()
            raise
    return engine
