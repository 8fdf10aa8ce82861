"""Shared plumbing of ``pulse import`` and ``pulse journal``: config, database, timezone."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse.config import PulseConfig
from storage import StorageError, StorageInputError, open_database

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
T = TypeVar("T")


class BadInput(Exception):
    """One or more lines for stderr; the command exits 2."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def add_db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="config file (default config.yaml)")
    p.add_argument("--url", default=None, help="database URL (overrides storage.url)")


def run_db(
    prog: str,
    args: argparse.Namespace,
    cfg: PulseConfig,
    work: Callable[[AsyncEngine], Awaitable[T]],
) -> tuple[int, T | None]:
    """Open (and migrate) the database, run ``work``, map errors to exit codes."""
    url = str(args.url) if args.url else cfg.storage.url

    async def go() -> T:
        engine = await open_database(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return EXIT_OK, asyncio.run(go())
    except BadInput as e:
        for p in e.problems:
            print(f"{prog}: {p}", file=sys.stderr)
        return EXIT_BAD_INPUT, None
    except StorageInputError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT, None
    except StorageError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return EXIT_FAILURE, None
    except (SQLAlchemyError, OverflowError) as e:
        # a database failure the repositories did not anticipate: one line, never a
        # traceback; the transaction it happened in was rolled back
        reason = getattr(e, "orig", None) or e
        print(f"{prog}: storage: {type(e).__name__}: {reason} (nothing of the failed "
              "step was stored)", file=sys.stderr)
        return EXIT_FAILURE, None


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v
