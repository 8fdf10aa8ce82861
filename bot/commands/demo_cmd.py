"""``pulse demo [--json] [--db PATH] [--out DIR] [--speed full|1|N] [--config PATH]``.

Plays the bundled trader day (``pulse/data/demo_day.yaml`` on real ES minute bars)
through the live service into a fresh SQLite file and prints the conversation. Heavy
imports (pandas, SQLAlchemy, the analyzers) happen inside :func:`run`, so ``pulse --help``
stays fast. Bad input exits 2 with one line per problem; the run time goes to stderr so
stdout is the same on every run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_BAD_INPUT = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo", help="offline demo: a scripted trader day on bundled real market data",
        description="Replay a scripted trader day (real E-mini S&P 500 one-minute bars) "
        "through the live service: verdicts, nudges, confluence scores, journal and the "
        "daily summary, printed as the bot would send them.",
    )
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line instead of the readable conversation")
    p.add_argument("--db", type=Path, default=None,
                   help="SQLite file to write (default ./pulse-demo.db); created fresh on "
                   "every run; a file that is not a demo database is never overwritten")
    p.add_argument("--out", type=Path, default=None,
                   help="directory for the daily summary chart (default: next to the DB)")
    p.add_argument("--speed", default="full",
                   help="full (default: no waiting), 1 (real time from the session start) "
                   "or N (N times faster, e.g. 60: an hour a minute)")
    p.add_argument("--config", type=Path, default=None,
                   help="base config (default: the built-in defaults, no config.yaml needed); "
                   "the script's config: section and the demo trader override it")
    p.add_argument("--script", type=Path, default=None,
                   help="another demo script (default: the bundled pulse/data/demo_day.yaml)")
    p.set_defaults(func=run)


def _fail(source: str, problems: list[str]) -> int:
    for line in problems:
        print(f"{source}: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.demo import DEFAULT_DB, DemoError, DemoOptions, parse_speed, run_demo
    from pulse.config import load_config

    try:
        speed = parse_speed(str(args.speed))
    except ValueError as exc:
        return _fail("pulse demo", [str(exc)])
    base = load_config(args.config) if args.config is not None else None  # ConfigError -> 2
    opts = DemoOptions(db=args.db or DEFAULT_DB, as_json=args.json, speed=speed,
                       out_dir=args.out, config=base, script=args.script)
    started = time.perf_counter()
    try:
        result = asyncio.run(run_demo(opts, sys.stdout))
    except DemoError as exc:
        return _fail(exc.source, exc.problems)
    except OSError as exc:  # an unwritable --db / --out place
        where = exc.filename or opts.db
        return _fail("pulse demo", [f"cannot write {where}: {exc.strerror or exc}; "
                                    "choose another --db / --out"])
    took = time.perf_counter() - started
    charts = ", ".join(str(c) for c in result.charts) or "none"
    print(f"pulse demo: done in {took:.1f} s; database {result.db}; chart {charts}",
          file=sys.stderr)
    return 0
