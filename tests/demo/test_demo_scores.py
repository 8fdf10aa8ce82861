"""The scores the demo prints are the analyzers' on the bars closed by then (causal)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from bot.demo import DEMO_BARS, DEMO_SESSION, load_demo_day
from bot.feeds.replay import load_bars_csv
from pulse.analysis.confluence import ConfluenceScorer
from pulse.ticks import resample_bars

from .conftest import Run

STEP = {"M1": pd.Timedelta(minutes=1), "M5": pd.Timedelta(minutes=5)}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    m1 = load_bars_csv(DEMO_BARS)
    return {"M1": m1, "M5": resample_bars(m1, "M5", DEMO_SESSION)}


def test_printed_scores_equal_the_analyzers_on_bars_up_to_the_check(
    json_run: Run, frames: dict[str, pd.DataFrame]
) -> None:
    cfg = load_demo_day().config
    scorer = ConfluenceScorer(cfg)
    count = cfg.feeds.bars_count
    lines = [x for x in json_run.lines if x["type"] == "score"]
    checks = [x for x in json_run.lines if x["type"] == "check"]
    assert len(lines) == 2 * len(checks) == 12
    for line in lines:
        at = datetime.fromisoformat(line["at"])
        tf = line["timeframe"]
        bars = frames[tf]
        closes = pd.DatetimeIndex(bars.index) + STEP[tf]
        closed = bars[closes <= pd.Timestamp(at)].iloc[-count:]  # nothing after `at`
        expected = scorer.score(closed, "ES")
        assert line["score"] == expected.score, line
        assert line["direction"] == expected.direction
        assert line["grade"] == expected.grade
        assert line["reasons"] == expected.reasons
        assert line["components"] == expected.components
        assert line["opposite"] == expected.opposite.model_dump(mode="json")
        bar = datetime.fromisoformat(line["time"])
        assert bar == expected.time and bar + STEP[tf] <= at  # the last *closed* bar


def test_scores_change_through_the_day(json_run: Run) -> None:
    """Not one cached number: the checks see different markets."""
    m1 = [(x["direction"], x["score"]) for x in json_run.lines
          if x["type"] == "score" and x["timeframe"] == "M1"]
    assert len(set(m1)) >= 4
