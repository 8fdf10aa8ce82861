"""``pulse run [--config PATH] [--force-sync]``: start the Discord bot process."""

from __future__ import annotations

import argparse
from pathlib import Path


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
        help="config file (default: $PULSE_CONFIG, else ./config.yaml, else the defaults)",
    )
    p.add_argument(
        "--force-sync",
        action="store_true",
        help="sync slash commands even if the command set did not change",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.app import run as run_bot  # imported late: `pulse config check` needs no discord
    from bot.commands.config_cmd import config_path_of

    return run_bot(config_path_of(args), force_sync=args.force_sync)
