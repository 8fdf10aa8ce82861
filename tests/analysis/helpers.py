"""Shared builders for the analysis tests: hand-made bars and the real EURUSD H1 sample."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import pandas as pd

from pulse.analysis.bars import normalize_bars


def make_bars(
    rows: Sequence[tuple[float, float, float, float]], volume: Sequence[float] | None = None,
    start: str = "2024-01-01 00:00",
) -> pd.DataFrame:
    """Bars from (open, high, low, close) rows, hourly from ``start`` (UTC)."""
    idx = pd.date_range(start, periods=len(rows), freq="h", tz="UTC", name="time")
    df = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx, dtype=float)
    df["volume"] = [1000.0] * len(rows) if volume is None else [float(v) for v in volume]
    return df


@lru_cache(maxsize=1)
def _eurusd() -> pd.DataFrame:
    from backtesting.test import EURUSD

    return normalize_bars(EURUSD)


def eurusd() -> pd.DataFrame:
    """Real EURUSD H1 bars (5000, from the backtesting package), normalised; a copy."""
    return _eurusd().copy()
