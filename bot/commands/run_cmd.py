"""``pulse run [--config PATH] [--force-sync]``: start the Discord bot process."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_CONFIG = Path("config.yaml")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="start the bot (needs DISCORD_TOKEN in the environment)",
        description="Start the Pulse Discord bot. The token comes from DISCORD_TOKEN only. "
        "SIGTERM or Ctrl+C shuts it down cleanly.",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="PATH",
        help="config file (default: ./config.yaml if present, else the built-in defaults)",
    )
    p.add_argument(
        "--force-sync",
        action="store_true",
        help="sync slash commands even if the command set did not change",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.app import run as run_bot  # imported late: `pulse config check` needs no discord

    path: Path | None = args.config
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    return run_bot(path, force_sync=args.force_sync)
