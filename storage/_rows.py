"""Turning a query's rows into models off the event loop.

Two CPU costs sat on the event loop for every large read: SQLAlchemy's row processing
(each SQLite timestamp parsed back into an aware datetime, done lazily when the rows are
read) and building a pydantic model per row. For a year of deals that held the loop for
50-100 ms, during which nothing else in the process ran (nudge delivery, gateway
heartbeats, other commands). The query still runs on the loop through the async driver
(I/O stays async); reading the buffered rows and converting them runs in a worker
thread. The result is not shared: nothing else touches it meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

__all__ = ["rows_to_models"]

T = TypeVar("T")


async def rows_to_models(result: sa.Result[Any], convert: Callable[[Any], T]) -> list[T]:
    """``[convert(r) for r in result.all()]`` in a worker thread (call it before the
    connection is released)."""
    return await asyncio.to_thread(lambda: [convert(r) for r in result.all()])
