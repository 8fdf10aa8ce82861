"""Day score: 100 minus deductions, floored at 0; green >= 80, yellow >= 50, red below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse.behavior import BehaviorEngine, Deduction, Flag
from pulse.config import BehavioralConfig, BehaviorDeductions
from pulse.models import BehaviorState, FlagId
from tests.behavior.factory import PRAGUE, engine

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def flag(fid: FlagId, minute: int = 0, trade_id: str | None = None, conf: float = 0.7) -> Flag:
    return Flag(
        fid, conf, f"{fid} evidence", T + timedelta(minutes=minute), trade_id or f"t{minute}"
    )


def test_clean_day_is_100_green() -> None:
    r = engine().report([], 0, 0)
    assert (r.score, r.state, r.flags, r.deductions) == (100, BehaviorState.GREEN, (), ())


def test_default_points_per_flag_override_and_violation() -> None:
    e = engine()
    cases: list[tuple[FlagId, int]] = [
        ("revenge", 30),
        ("tilt", 25),
        ("overconfidence", 20),
        ("fatigue", 15),
    ]
    for fid, pts in cases:
        assert e.report([flag(fid)], 0, 0).score == 100 - pts
    assert e.report([], 1, 0).score == 90
    assert e.report([], 0, 1).score == 90
    assert e.report([], 2, 3).score == 50


def test_overtrading_costs_nothing_by_default_but_is_reported() -> None:
    r = engine().report([flag("overtrading")], 0, 0)
    assert r.score == 100 and r.deductions == () and [f.id for f in r.flags] == ["overtrading"]
    cfg = BehavioralConfig(deductions=BehaviorDeductions(overtrading=5))
    assert BehaviorEngine(cfg).report([flag("overtrading")], 0, 0).score == 95


@pytest.mark.parametrize(
    ("points", "score", "state"),
    [
        (20, 80, BehaviorState.GREEN),
        (21, 79, BehaviorState.YELLOW),
        (50, 50, BehaviorState.YELLOW),
        (51, 49, BehaviorState.RED),
    ],
)
def test_state_boundaries(points: int, score: int, state: BehaviorState) -> None:
    cfg = BehavioralConfig(deductions=BehaviorDeductions(fatigue=points))
    r = BehaviorEngine(cfg).report([flag("fatigue")], 0, 0)
    assert (r.score, r.state) == (score, state)


def test_state_boundaries_with_default_points() -> None:
    e = engine()
    assert e.report([flag("overconfidence")], 0, 0).state is BehaviorState.GREEN  # 80
    assert e.report([flag("fatigue")], 1, 0).state is BehaviorState.YELLOW  # 75
    assert e.report([flag("revenge", 0), flag("overconfidence", 1)], 0, 0).score == 50
    assert e.report([flag("revenge", 0), flag("overconfidence", 1)], 0, 0).state is (
        BehaviorState.YELLOW
    )
    assert e.report([flag("revenge"), flag("tilt")], 0, 0).state is BehaviorState.RED  # 45


def test_each_occurrence_deducts_and_the_score_floors_at_zero() -> None:
    e = engine()
    r = e.report([flag("revenge", m) for m in range(5)], 2, 1)
    assert r.score == 0
    assert r.total_deducted == 5 * 30 + 2 * 10 + 10
    assert [d.reason for d in r.deductions] == ["revenge"] * 5 + ["override"] * 2 + ["violation"]
    assert e.report([flag("revenge", 0), flag("revenge", 1)], 0, 0).score == 40


def test_the_same_occurrence_twice_counts_once() -> None:
    e = engine()
    weak, strong = flag("revenge", 0, "t9", 0.5), flag("revenge", 0, "t9", 0.9)
    r = e.report([weak, strong, weak], 0, 0)
    assert r.score == 70 and r.flags == (strong,)


def test_deductions_are_listed_in_time_order_then_overrides_then_violations() -> None:
    e = engine(PRAGUE)
    flags = [flag("fatigue", 30), flag("tilt", 5), flag("revenge", 5), flag("overconfidence", 1)]
    r = e.report(flags, 1, 1)
    assert [d.reason for d in r.deductions] == [
        "overconfidence",
        "revenge",
        "tilt",
        "fatigue",
        "override",
        "violation",
    ]
    assert r.deductions[0] == Deduction("overconfidence", 20, "10:01 overconfidence evidence")
    assert r.deductions[-2].detail == "soft block overridden (1 of 1)"
    assert r.deductions[-1].detail == "traded while blocked (1 of 1)"
    assert r.describe().splitlines()[0] == "Behavioural score: 0/100 (red)"


def test_thresholds_from_config() -> None:
    cfg = BehavioralConfig(green_threshold=90, yellow_threshold=70)
    e = BehaviorEngine(cfg)
    assert e.report([], 1, 0).state is BehaviorState.GREEN
    assert e.report([], 2, 0).state is BehaviorState.YELLOW
    assert e.report([], 4, 0).state is BehaviorState.RED


def test_bad_counts_and_bad_flags_are_refused() -> None:
    with pytest.raises(ValueError, match="overrides and violations must be >= 0"):
        engine().report([], -1, 0)
    with pytest.raises(ValueError, match="confidence"):
        Flag("revenge", 1.5, "x", T, None)
    with pytest.raises(ValueError, match="timezone-aware"):
        Flag("revenge", 0.5, "x", datetime(2026, 3, 2, 9, 0), None)
