"""``pulse db upgrade|current|downgrade``: manage the database schema (Alembic).

The URL comes from ``--url``, else ``storage.url`` of the config (``--config PATH``,
default ``config.yaml`` when present in the working directory, else the built-in
defaults). Works from any directory: the migrations ship inside the ``storage`` package.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.commands.config_cmd import config_of
from storage import (
    StorageError,
    StorageInputError,
    check_url,
    current_revision,
    downgrade,
    head_revisions,
    make_revision,
    redact_url,
    upgrade,
)

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database schema: upgrade, current, downgrade")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION")
    dsub.required = True

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--config", type=Path, default=None, help="config file (storage.url)")
        q.add_argument("--url", default=None, help="database URL (overrides the config)")

    up = dsub.add_parser("upgrade", help="migrate to the latest schema (or --revision)")
    common(up)
    up.add_argument("--revision", default="head")
    up.set_defaults(func=run_upgrade)

    cur = dsub.add_parser("current", help="show the schema revision of the database")
    common(cur)
    cur.set_defaults(func=run_current)

    down = dsub.add_parser("downgrade", help="migrate down to REVISION ('base' drops all)")
    common(down)
    down.add_argument("revision")
    down.set_defaults(func=run_downgrade)

    rev = dsub.add_parser(
        "revision", help="(development) autogenerate a migration from storage/schema.py"
    )
    common(rev)
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--rev-id", default=None, help="e.g. 0002")
    rev.set_defaults(func=run_revision)


def _url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    return config_of(args).storage.url


def _run(args: argparse.Namespace, action: str) -> int:
    url = _url(args)
    try:
        check_url(url)
        shown = redact_url(url)
        if action == "upgrade":
            asyncio.run(upgrade(url, args.revision))
            rev = asyncio.run(current_revision(url))
            print(f"database {shown}: at revision {rev} ({_label(rev)})")
        elif action == "downgrade":
            asyncio.run(downgrade(url, args.revision))
            rev = asyncio.run(current_revision(url))
            print(f"database {shown}: at revision {rev or 'base (empty)'}")
        elif action == "revision":
            path = asyncio.run(make_revision(url, args.message, rev_id=args.rev_id))
            print(f"wrote {path}: review it, then run the storage tests")
        else:
            rev = asyncio.run(current_revision(url))
            print(f"database {shown}: at revision {rev or 'none (not migrated)'} ({_label(rev)})")
    except StorageInputError as e:
        print(f"pulse db: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StorageError as e:
        print(f"pulse db: {e}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _label(rev: str | None) -> str:
    heads = head_revisions()
    if rev in heads:
        return "head"
    return f"behind; head is {', '.join(heads)}: run pulse db upgrade"


def run_upgrade(args: argparse.Namespace) -> int:
    return _run(args, "upgrade")


def run_current(args: argparse.Namespace) -> int:
    return _run(args, "current")


def run_downgrade(args: argparse.Namespace) -> int:
    return _run(args, "downgrade")


def run_revision(args: argparse.Namespace) -> int:
    return _run(args, "revision")
