"""``pulse replay SCRIPT [--json]``: run a replay script through the kernel.

Default output is one readable block per out-event; ``--json`` prints the JSON-lines
contract of DESIGN.md section 8 exactly. A bad script exits 2 with one line per problem
naming the event index and field, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from pulse.config import load_config
from pulse.replay import ScriptError, parse_script, run_script, to_json_line, to_text

EXIT_BAD_INPUT = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="run a replay script (YAML or JSON) through the kernel")
    p.add_argument("script", type=Path, help="replay script, .yaml/.yml or .json")
    p.add_argument("--json", action="store_true", help="print the JSON-lines contract")
    p.add_argument(
        "--config", type=Path, default=None,
        help="base config (default: ./config.yaml if present, else the built-in defaults); "
        "the script's config: section overrides it",
    )
    p.set_defaults(func=run)


def _fail(source: str, problems: list[str]) -> int:
    for line in problems:
        print(f"{source}: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def read_script(path: Path) -> Any:
    """Read YAML or JSON (JSON is YAML, but its own parser gives better error positions)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def run(args: argparse.Namespace) -> int:
    src = str(args.script)
    try:
        data = read_script(args.script)
    except FileNotFoundError:
        return _fail(src, [f"file not found: {args.script}"])
    except IsADirectoryError:
        return _fail(src, [f"{args.script} is a directory, not a script"])
    except UnicodeDecodeError as exc:
        return _fail(src, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"])
    except json.JSONDecodeError as exc:
        return _fail(src, [f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return _fail(src, [f"not valid YAML{where}: {problem}"])
    except OSError as exc:
        return _fail(src, [f"cannot read {args.script}: {exc.strerror}"])
    cfg_path = args.config
    if cfg_path is None and Path("config.yaml").is_file():
        cfg_path = Path("config.yaml")
    base = load_config(cfg_path)  # ConfigError -> exit 2 in bot.cli
    try:
        script = parse_script(data, base, source=src)
    except ScriptError as exc:
        return _fail(exc.source, exc.problems)
    tz = script.tz
    render = to_json_line if args.json else to_text
    for o in run_script(script):
        print(render(o, tz))
    return 0
