"""Shared helpers of the scenario tests: run a script file, compare with its golden file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pulse.config import PulseConfig
from pulse.replay import parse_script, run_script, to_json

HERE = Path(__file__).parent
SCRIPTS = sorted(p for p in HERE.iterdir() if p.suffix in (".yaml", ".json"))


def load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def run(path: Path) -> list[dict[str, Any]]:
    """The script's out-events as JSON objects, against the built-in default config."""
    script = parse_script(load(path), PulseConfig(), source=path.name)
    return [to_json(o, script.tz) for o in run_script(script)]


def golden_path(path: Path) -> Path:
    return path.with_suffix(".expected.jsonl")


def write_golden(path: Path) -> None:
    lines = [json.dumps(o, ensure_ascii=False) for o in run(path)]
    golden_path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":  # python -m tests.scenarios._golden: rewrite every golden file
    for p in SCRIPTS:
        write_golden(p)
        print(f"wrote {golden_path(p).name}")
