"""The `pulse` entry point: config discovery and shell-friendly behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pulse(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args]


def test_pulse_run_honours_pulse_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("risk_limits:\n  max_trades_per_day: 0\n")
    env = {**os.environ, "PULSE_CONFIG": str(bad), "PYTHONPATH": str(ROOT)}
    env.pop("DISCORD_TOKEN", None)
    p = subprocess.run(_pulse("run"), cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2
    assert f"{bad}: risk_limits.max_trades_per_day: must be >= 1, got 0" in p.stderr


def test_closed_pipe_is_not_a_traceback() -> None:
    """`pulse ... | head` closing the pipe early must not print a BrokenPipeError traceback."""
    code = (
        "import os, sys\n"
        "r, w = os.pipe(); os.close(r); os.dup2(w, 1)\n"  # stdout's reader is gone
        "from bot.cli import main\n"
        "sys.exit(main(['replay', sys.argv[1]]))\n"
    )
    script = sorted((ROOT / "tests" / "scenarios").glob("*.yaml"))[0]
    p = subprocess.run(
        [sys.executable, "-c", code, str(script)], cwd=ROOT, capture_output=True, text=True,
        timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr
    assert p.returncode == 0
