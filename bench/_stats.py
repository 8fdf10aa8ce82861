"""Shared figures for the bench scripts: one percentile definition for every report.

The scripts used to define their own helper with three different rules (a fraction or a
percent, nearest rank by floor or by rounding, `statistics.quantiles`), so two benches'
"p95" were not the same statistic. Every script now imports this one.
"""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (q in 0..100) of `values`: the nearest-rank sample, no interpolation.

    Index round(q/100 * (n-1)) of the sorted samples, so p0 is the minimum and p100 the
    maximum, and every figure is a latency that was actually measured.
    """
    s = sorted(values)
    if not s:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def summary_line(name: str, values: list[float], unit: str = "ms", width: int = 28) -> str:
    """`name n=.. p50 .. p95 .. p99 .. max ..` in one fixed-width line."""
    return (f"{name:<{width}} n={len(values):>4}  p50 {percentile(values, 50):7.2f} {unit}  "
            f"p95 {percentile(values, 95):7.2f} {unit}  p99 {percentile(values, 99):7.2f} {unit}  "
            f"max {max(values):7.2f} {unit}")
