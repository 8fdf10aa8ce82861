"""The ``pulse`` console script: parses arguments and dispatches to ``bot.commands``.

Exit codes: 0 success, 1 a failure while running, 2 bad input (arguments, config,
scripts, files), with one clear line per problem on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pulse.config import ConfigError

# Each entry is a module of bot.commands with a register(subparsers) function.
COMMAND_MODULES: tuple[str, ...] = (
    "config_cmd",
    "run_cmd",
    "replay_cmd",
    "db_cmd",
    "score_cmd",
    "import_cmd",
    "journal_cmd",
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line message (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pulse", description="Zanalytics Pulse, the trading coach.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"bot.commands.{name}").register(sub)
    return parser


def print_problems(source: str, problems: Sequence[str]) -> None:
    """Print one line per problem to stderr, prefixed with where it came from."""
    for p in problems:
        print(f"{source}: {p}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print_problems(exc.source, exc.problems)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
