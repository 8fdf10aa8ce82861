"""Does a higher confluence grade predict a better forward move? Measured, not claimed.

Every bar is scored causally (:func:`pulse.analysis.confluence.analyze` over the whole
file: a bar's score uses only bars up to it). For each bar with a side (long and short
scores differ) and ``horizon`` bars of future, the forward move is
``(close[t + horizon] - close[t]) / ATR[t]`` signed by the scored direction; a hit is a
move > 0. Per grade: count, hit rate, mean move in ATR, with 95% percentile-bootstrap
intervals (fixed seed, so a report is reproducible). High grades are then compared with
all other bars by bootstrapping the difference; when that interval reaches 0 or below
the report says plainly that high grades did no better.

Caveat stated in the report: forward windows of neighbouring bars overlap, so samples are
not independent and the intervals are optimistic (narrower than they should be).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pulse.analysis.confluence import AnalysisResult

__all__ = ["GRADES", "CalibrationReport", "GradeStats", "calibrate"]

GRADES: tuple[str, ...] = ("high", "medium", "low", "minimal")
_CODE = {"high": 3, "medium": 2, "low": 1, "minimal": 0}
CLAIMED_WIN_RATE = 0.65  # the seed's "> 65% win rate on high-confluence trades"


@dataclass(frozen=True)
class GradeStats:
    """Forward-move statistics of one group of bars."""

    grade: str
    count: int
    hit_rate: float | None
    hit_rate_ci: tuple[float, float] | None
    mean_move_atr: float | None
    mean_move_ci: tuple[float, float] | None


@dataclass(frozen=True)
class CalibrationReport:
    """Per-grade statistics, the high-vs-rest comparison and a plain verdict."""

    symbol: str | None
    bars: int
    horizon: int
    scored: int
    skipped_ties: int
    grades: list[GradeStats]
    rest: GradeStats
    diff_hit_rate_ci: tuple[float, float] | None
    diff_mean_move_ci: tuple[float, float] | None
    high_better: bool | None
    verdict: str
    seed: int
    resamples: int
    thinned: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``pulse calibrate --json`` object."""
        return asdict(self)

    def lines(self) -> list[str]:
        """A readable table and the verdict."""
        out = [
            f"calibration of {self.symbol or 'bars'}: {self.bars} bars, horizon {self.horizon}"
            f" bars, {self.scored} scored ({self.skipped_ties} ties with no side skipped)",
            f"{'grade':<10}{'count':>7}  {'hit rate [95% CI]':<24}{'mean move ATR [95% CI]'}",
        ]
        for g in [*self.grades, self.rest]:
            if g.count == 0 or g.hit_rate is None or g.mean_move_atr is None:
                out.append(f"{g.grade:<10}{g.count:>7}  -")
                continue
            hc = g.hit_rate_ci or (float("nan"), float("nan"))
            mc = g.mean_move_ci or (float("nan"), float("nan"))
            out.append(
                f"{g.grade:<10}{g.count:>7}  "
                f"{g.hit_rate:6.1%} [{hc[0]:6.1%}, {hc[1]:6.1%}]  "
                f"{g.mean_move_atr:+.3f} [{mc[0]:+.3f}, {mc[1]:+.3f}]"
            )
        out.append(self.verdict)
        if self.thinned:
            note = (f"each group counted at most once per {self.horizon} bars, so forward "
                    "windows do not overlap")
        else:
            note = ("neighbouring bars' forward windows overlap, so intervals are optimistic; "
                    "--thin counts non-overlapping windows only")
        out.append(f"(95% percentile bootstrap, {self.resamples} resamples, seed {self.seed}; "
                   f"{note})")
        return out


def _boot_means(values: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """Bootstrap distribution of the mean of ``values`` (chunked to bound memory)."""
    n = values.size
    out = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(n, 1))
    for s in range(0, resamples, chunk):
        e = min(resamples, s + chunk)
        idx = rng.integers(0, n, size=(e - s, n))
        out[s:e] = values[idx].mean(axis=1)
    return out


def _ci(dist: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(dist, [2.5, 97.5])
    return (float(lo), float(hi))


def _stats(
    name: str, moves: np.ndarray, rng: np.random.Generator, resamples: int
) -> tuple[GradeStats, np.ndarray | None, np.ndarray | None]:
    if moves.size == 0:
        return GradeStats(name, 0, None, None, None, None), None, None
    hits = (moves > 0).astype(float)
    bh = _boot_means(hits, rng, resamples)
    bm = _boot_means(moves, rng, resamples)
    stats = GradeStats(name, int(moves.size), float(hits.mean()), _ci(bh),
                       float(moves.mean()), _ci(bm))
    return stats, bh, bm


def _thin(mask: np.ndarray, horizon: int) -> np.ndarray:
    """Keep a marked bar only if no kept bar is fewer than ``horizon`` bars before it, so
    the kept bars' forward windows never overlap (greedy, earliest first)."""
    out = np.zeros_like(mask)
    last = -horizon
    for p in np.flatnonzero(mask).tolist():
        if p >= last + horizon:
            out[p] = True
            last = p
    return out


def calibrate(
    result: AnalysisResult, horizon: int = 10, *, resamples: int = 1000, seed: int = 7,
    min_count: int = 30, thin: bool = False,
) -> CalibrationReport:
    """Per-grade forward-move statistics of ``result``'s causal score series.

    ``thin``: count each grade's bars only when their forward windows do not overlap
    (one per ``horizon`` bars per group), which makes the intervals honest at the cost
    of fewer samples."""
    if horizon < 1:
        raise ValueError("horizon must be at least 1 bar")
    s = result.scores
    close = result.bars["close"].to_numpy(dtype=float)
    atr = result.indicators["atr"].to_numpy(dtype=float)
    n = close.size
    rng = np.random.default_rng(seed)
    t = np.arange(max(n - horizon, 0))
    side = np.sign(s.long - s.short)[t]
    with np.errstate(invalid="ignore", divide="ignore"):
        move = (close[t + horizon] - close[t]) / atr[t] * side
    usable = np.isfinite(move) & (atr[t] > 0)
    ties = int((usable & (side == 0)).sum())
    usable &= side != 0
    codes = s.grade_codes()[t]
    groups = []
    boots: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {}

    def pick(mask: np.ndarray) -> np.ndarray:
        return move[_thin(mask, horizon) if thin else mask]

    for g in GRADES:
        st, bh, bm = _stats(g, pick(usable & (codes == _CODE[g])), rng, resamples)
        groups.append(st)
        boots[g] = (bh, bm)
    rest, rbh, rbm = _stats("rest", pick(usable & (codes != _CODE["high"])), rng, resamples)
    high = groups[0]
    hbh, hbm = boots["high"]
    diff_h = diff_m = None
    better: bool | None = None
    cfg = result.config
    if high.count == 0:
        verdict = (f"No bar graded high (score >= {cfg.grade_high:g}) on this data: "
                   "nothing to check a high-confluence claim against.")
    elif high.count < min_count or rest.count == 0:
        verdict = (f"Only {high.count} high-grade bar(s): too few (< {min_count}) to tell "
                   "whether high grades do better than the rest.")
    else:
        assert hbh is not None and hbm is not None and rbh is not None and rbm is not None
        diff_h, diff_m = _ci(hbh - rbh), _ci(hbm - rbm)
        better = diff_h[0] > 0 and diff_m[0] > 0
        assert high.hit_rate is not None and rest.hit_rate is not None
        assert high.mean_move_atr is not None and rest.mean_move_atr is not None
        cmp = (f"hit rate {high.hit_rate:.1%} vs {rest.hit_rate:.1%}, mean move "
               f"{high.mean_move_atr:+.3f} vs {rest.mean_move_atr:+.3f} ATR")
        if better:
            verdict = f"High grades did better than the rest here: {cmp}."
        else:
            verdict = (f"High grades do no better than the rest on this data: {cmp} "
                       "(the 95% interval of the difference reaches 0).")
    if high.count and high.hit_rate_ci is not None and high.hit_rate_ci[1] < CLAIMED_WIN_RATE:
        verdict += (f" A {CLAIMED_WIN_RATE:.0%} win rate for high-confluence setups is not "
                    "supported by this data.")
    return CalibrationReport(
        symbol=result.symbol, bars=n, horizon=horizon, scored=int(usable.sum()),
        skipped_ties=ties, grades=groups, rest=rest, diff_hit_rate_ci=diff_h,
        diff_mean_move_ci=diff_m, high_better=better, verdict=verdict, seed=seed,
        resamples=resamples, thinned=thin,
    )
