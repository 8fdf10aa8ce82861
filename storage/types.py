"""Column types shared by the schema and the migrations (keep them stable: migrations
import them, so changing what they store needs a new migration)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["ID", "UTCDateTime"]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive ones are refused.

    PostgreSQL stores ``timestamptz``; SQLite has no time zone type, so the value is stored
    as naive UTC text (fixed width, so text order is time order) and UTC is re-attached.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} refused: storage needs aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # defensive: raw SQLite text
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""Surrogate key type: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite."""
