"""The demo is run once per output mode (in-process, through ``pulse``'s ``main``) and
shared by the tests of this package: each run plays a whole trading day through the
service and SQLite, so running it per test would cost seconds each."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main


@dataclass(frozen=True)
class Run:
    """One ``pulse demo`` run: exit code, stdout, stderr and where it wrote."""

    code: int
    out: str
    err: str
    db: Path
    out_dir: Path

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_demo_cli(db: Path, *extra: str, out_dir: Path | None = None) -> Run:
    args = ["demo", "--db", str(db), *extra]
    if out_dir is not None:
        args += ["--out", str(out_dir)]
    code, out, err = run_cli(*args)
    return Run(code, out, err, db, out_dir or db.parent)


@pytest.fixture(scope="package")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_demo_cli(tmp_path_factory.mktemp("demo_text") / "pulse-demo.db")


@pytest.fixture(scope="package")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("demo_json")
    return run_demo_cli(base / "db" / "demo.db", "--json", out_dir=base / "charts")
