"""Pulse's memory: async persistence (SQLAlchemy 2 Core), migrations, repositories.

All SQL of the project lives in this package. Typical start-up::

    engine = await storage.open_database(cfg.storage.url)   # checks the URL, migrates
    new = await storage.repo_deals.insert_deals(engine, account.id, deals)

Repository functions take an ``AsyncEngine`` (each call is its own transaction) or an
``AsyncConnection`` (the call joins the caller's transaction: ``async with
engine.begin() as conn``). See docs/storage.md.
"""

from storage.engine import (
    DB,
    StorageError,
    StorageInputError,
    StorageURLError,
    check_url,
    make_engine,
    reading,
    redact_url,
    transaction,
)
from storage.migrate import (
    current_revision,
    downgrade,
    head_revisions,
    make_revision,
    open_database,
    upgrade,
)

__all__ = [
    "DB",
    "StorageError",
    "StorageInputError",
    "StorageURLError",
    "check_url",
    "current_revision",
    "downgrade",
    "head_revisions",
    "make_engine",
    "make_revision",
    "open_database",
    "reading",
    "redact_url",
    "transaction",
    "upgrade",
]
