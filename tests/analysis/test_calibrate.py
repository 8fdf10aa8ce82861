"""Calibration: per-grade forward moves, reproducible intervals, a plain verdict."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pulse.analysis.calibrate import calibrate
from pulse.analysis.confluence import AnalysisResult, analyze
from tests.analysis.helpers import eurusd


@pytest.fixture(scope="module")
def res() -> AnalysisResult:
    return analyze(eurusd().iloc[:2500], symbol="EURUSD")


def test_counts_add_up_and_moves_are_signed_by_direction(res: AnalysisResult) -> None:
    rep = calibrate(res, horizon=5)
    assert sum(g.count for g in rep.grades) == rep.scored
    assert rep.rest.count == rep.scored - rep.grades[0].count
    # recompute the minimal grade's mean move by hand
    s, h = res.scores, 5
    close = res.bars["close"].to_numpy()
    atr = res.indicators["atr"].to_numpy()
    t = np.arange(len(close) - h)
    side = np.sign(s.long - s.short)[t]
    move = (close[t + h] - close[t]) / atr[t] * side
    ok = np.isfinite(move) & (side != 0) & (s.grade_codes()[t] == 0)
    minimal = next(g for g in rep.grades if g.grade == "minimal")
    assert minimal.count == int(ok.sum())
    assert minimal.mean_move_atr == pytest.approx(move[ok].mean())
    assert minimal.hit_rate == pytest.approx((move[ok] > 0).mean())
    lo, hi = minimal.mean_move_ci or (0, 0)
    assert lo <= minimal.mean_move_atr <= hi


def test_reproducible_with_fixed_seed(res: AnalysisResult) -> None:
    assert calibrate(res, 10) == calibrate(res, 10)


def test_says_plainly_when_no_bar_is_high(res: AnalysisResult) -> None:
    s = res.scores
    rep = calibrate(_with_scores(res, s.long * 0.5, s.short * 0.5), 10)
    assert rep.grades[0].count == 0
    assert rep.verdict.startswith("No bar graded high")
    assert rep.high_better is None
    text = "\n".join(rep.lines())
    assert "high" in text and "bootstrap" in text


def test_too_few_high_grades_to_judge(res: AnalysisResult) -> None:
    rep = calibrate(res, 10)
    assert 0 < rep.grades[0].count < 30
    assert rep.verdict.startswith(f"Only {rep.grades[0].count} high-grade bar(s): too few")
    assert rep.high_better is None and rep.diff_mean_move_ci is None


def _with_scores(res: AnalysisResult, long: np.ndarray, short: np.ndarray) -> AnalysisResult:
    s = dataclasses.replace(res.scores, long=long, short=short)
    return dataclasses.replace(res, scores=s)


def test_high_grades_that_predict_are_recognised(res: AnalysisResult) -> None:
    close = res.bars["close"].to_numpy()
    h = 10
    fwd = np.append(close[h:] - close[:-h], np.zeros(h))
    # "high" exactly where the market rose over the next 10 bars, low elsewhere
    long = np.where(fwd > 0, 90.0, 45.0)
    short = np.full_like(long, 10.0)
    rep = calibrate(_with_scores(res, long, short), h)
    assert rep.high_better is True
    assert rep.grades[0].hit_rate == pytest.approx(1.0)
    assert rep.verdict.startswith("High grades did better")


def test_high_grades_that_do_not_predict_are_called_out(res: AnalysisResult) -> None:
    rng = np.random.default_rng(3)
    long = np.where(rng.random(len(res.bars)) < 0.3, 85.0, 50.0)
    short = np.full_like(long, 10.0)
    rep = calibrate(_with_scores(res, long, short), 10)
    assert rep.grades[0].count > 500
    assert rep.high_better is False
    assert "do no better than the rest" in rep.verdict
    assert "65% win rate" in rep.verdict


def test_bad_horizon(res: AnalysisResult) -> None:
    with pytest.raises(ValueError, match="horizon"):
        calibrate(res, 0)


def test_thinned_windows_do_not_overlap(res: AnalysisResult) -> None:
    from pulse.analysis.calibrate import _thin

    mask = np.zeros(40, dtype=bool)
    mask[[0, 3, 9, 10, 25, 26, 39]] = True
    assert np.flatnonzero(_thin(mask, 10)).tolist() == [0, 10, 25, 39]
    full, thin = calibrate(res, 10), calibrate(res, 10, thin=True)
    assert thin.thinned and not full.thinned
    for a, b in zip(full.grades, thin.grades, strict=True):
        assert b.count <= a.count
    minimal = next(g for g in thin.grades if g.grade == "minimal")
    assert minimal.count <= len(res.bars) // 10 + 1
    assert "do not overlap" in "\n".join(thin.lines())
