"""bench/_stats.py: one percentile for every bench script (they used to disagree)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
_spec = importlib.util.spec_from_file_location("bench_stats", BENCH / "_stats.py")
assert _spec is not None and _spec.loader is not None
stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stats)


def test_percentile_is_a_measured_sample_by_nearest_rank() -> None:
    xs = [float(v) for v in range(1, 101)]  # 1..100
    assert stats.percentile(xs, 0) == 1.0
    assert stats.percentile(xs, 50) == 51.0  # round(0.5 * 99) = 50 -> 51
    assert stats.percentile(xs, 95) == 95.0  # round(0.95 * 99) = 94 -> 95
    assert stats.percentile(xs, 100) == 100.0
    assert stats.percentile(reversed(xs), 95) == 95.0  # order does not matter


def test_percentile_refuses_nothing_and_fractions_out_of_range() -> None:
    with pytest.raises(ValueError, match="no samples"):
        stats.percentile([], 50)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        stats.percentile([1.0], 0.95 * 1000)


def test_summary_line_names_every_figure() -> None:
    line = stats.summary_line("x", [1.0, 2.0, 3.0], width=4)
    assert line.startswith("x    n=   3")
    assert "p50    2.00 ms" in line and "max    3.00 ms" in line


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("bench_*.py")))
def test_no_bench_script_defines_its_own_percentile(script: str) -> None:
    text = (BENCH / script).read_text()
    assert not re.search(r"^def (pct|percentile|_pct|_percentile)\(", text, re.M), script
