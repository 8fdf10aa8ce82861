"""The ``pulse`` console script: parses arguments and dispatches to ``bot.commands``.

Exit codes: 0 success, 1 a failure while running, 2 bad input (arguments, config,
scripts, files), with one clear line per problem on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from pulse.config import ConfigError

# Command name -> (module of bot.commands with register(subparsers), one-line help).
# Only the chosen command's module is imported, so `pulse config check` does not pay
# for pandas, SQLAlchemy or discord.py; `pulse --help` lists the table.
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("config_cmd", "inspect the configuration"),
    "db": ("db_cmd", "database schema: upgrade, current, downgrade"),
    "demo": ("demo_cmd", "offline demo: a scripted trader day on bundled real market data"),
    "replay": ("replay_cmd", "run a replay script (YAML or JSON) through the kernel"),
    "score": ("score_cmd", "confluence score of the last bar of an OHLCV CSV"),
    "calibrate": ("score_cmd", "how each confluence grade did on an OHLCV CSV"),
    "import": ("import_cmd", "import an MT5 report or deals CSV into the journal"),
    "journal": ("journal_cmd", "a trader's journal: export, stats, list, delete"),
    "run": ("run_cmd", "run the Discord bot"),
}

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and a one-line message (its default, kept explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (None: every module, for tests)."""
    parser = _Parser(prog="pulse", description="Zanalytics Pulse, the trading coach.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    modules = {m for m, _ in COMMANDS.values()}
    if command is not None:
        modules = {COMMANDS[command][0]} if command in COMMANDS else set()
    for module in sorted(modules):
        importlib.import_module(f"bot.commands.{module}").register(sub)
    for name, (_, help_text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first non-option word), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def print_problems(source: str, problems: Sequence[str]) -> None:
    """Print one line per problem to stderr, prefixed with where it came from."""
    for p in problems:
        print(f"{source}: {p}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command_in(argv) or "")
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # surface a closed pipe here, not in the interpreter's exit
    except ConfigError as exc:
        print_problems(exc.source, exc.problems)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `pulse ... | head` closed the pipe: not an error; keep Python from complaining.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
