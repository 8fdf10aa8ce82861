"""Insights appear only with at least 5 trades on each side, and always state n."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulse.journal.insights import find_insights, post_loss_ids, strongest
from pulse.journal.stats import build_records
from pulse.models import Driver, JournalEntry, JournalKind, Side
from tests.journal.helpers import DealMaker, trades_of

UTC_TZ = ZoneInfo("UTC")
MON = datetime(2026, 3, 2, tzinfo=UTC)


def driver_book(n_emotion: int, n_strategy: int):
    """Emotion trades: 1 win in each 5; strategy trades: 3 wins in each 5. Spread over days
    and hours so no other topic reaches 5 on each side by accident."""
    m = DealMaker()
    deals, entries = [], []
    for i in range(n_emotion + n_strategy):
        emotion = i < n_emotion
        k = i if emotion else i - n_emotion
        win = (k % 5 == 0) if emotion else (k % 5 < 3)
        at = MON + timedelta(days=i * 3, hours=8 + (i % 2))
        deals += m.round_trip(i + 1, at, 20, Side.BUY, 50.0 if win else -40.0)
        entries.append(
            JournalEntry(
                trader_id=1,
                kind=JournalKind.PRE_TRADE,
                at=at - timedelta(minutes=1),
                driver=Driver.EMOTION if emotion else Driver.STRATEGY,
            )
        )
    return build_records(trades_of(deals), entries, UTC_TZ)


def test_driver_insight_needs_five_each_side():
    assert [i for i in find_insights(driver_book(4, 5)) if i.topic == "driver"] == []
    assert [i for i in find_insights(driver_book(5, 4)) if i.topic == "driver"] == []
    found = [i for i in find_insights(driver_book(5, 5)) if i.topic == "driver"]
    assert len(found) == 1
    ins = found[0]
    assert (ins.group_n, ins.rest_n) == (5, 5)
    assert ins.group_win_rate == pytest.approx(0.2) and ins.rest_win_rate == pytest.approx(0.6)
    assert ins.kind == "weakness"
    assert "n=5" in ins.text and "20%" in ins.text and "60%" in ins.text
    assert ins.short == "emotion-driven trades (win rate 20% vs 60%, n=5/5)"


def post_loss_book(n_after: int, n_rest: int):
    """Each post-loss trade follows its own losing trade by 10 min; rest trades are alone."""
    m = DealMaker()
    deals = []
    pos = 0
    for i in range(n_after):
        at = MON + timedelta(days=i, hours=9)
        pos += 1
        deals += m.round_trip(pos, at, 5, Side.BUY, -30.0)  # the loss that primes
        pos += 1
        deals += m.round_trip(pos, at + timedelta(minutes=15), 10, Side.SELL, -20.0)
    for i in range(n_rest):
        at = MON + timedelta(days=i, hours=14)
        pos += 1
        deals += m.round_trip(pos, at, 10, Side.SELL, 25.0 if i % 2 == 0 else -10.0)
    return build_records(trades_of(deals), [], UTC_TZ)


def test_post_loss_boundary_counts_and_sentence():
    # the priming losses themselves are "rest" trades: rest = n_after + n_rest
    recs4 = post_loss_book(4, 2)
    assert len(post_loss_ids(recs4, timedelta(minutes=30))) == 4
    assert [i for i in find_insights(recs4) if i.topic == "post_loss"] == []
    found = [i for i in find_insights(post_loss_book(5, 2)) if i.topic == "post_loss"]
    assert len(found) == 1 and (found[0].group_n, found[0].rest_n) == (5, 7)
    # all ten trades lose: equal win rates (0% vs 0%) say nothing
    assert [i for i in find_insights(post_loss_book(5, 0)) if i.topic == "post_loss"] == []
    recs = post_loss_book(5, 4)
    ins = next(i for i in find_insights(recs) if i.topic == "post_loss")
    assert (ins.group_n, ins.rest_n) == (5, 9)
    assert ins.group_win_rate == 0.0 and ins.rest_win_rate == pytest.approx(2 / 9)
    assert "within 30 min after a loss" in ins.text and "(n=5)" in ins.text and "(n=9)" in ins.text
    assert strongest(find_insights(recs), "weakness") is not None
    # a shorter window: the 15-minute gap is no longer "post-loss"
    assert post_loss_ids(recs, timedelta(minutes=5)) == set()


def test_confidence_and_override_and_setup_best_worst():
    m = DealMaker()
    deals, entries = [], []
    for i in range(12):
        at = MON + timedelta(days=i, hours=10)
        high = i < 6
        win = i % 6 < (4 if high else 1)
        deals += m.round_trip(i + 1, at, 30, Side.BUY, 80.0 if win else -50.0)
        entries.append(
            JournalEntry(
                trader_id=1,
                kind=JournalKind.PRE_TRADE,
                at=at - timedelta(minutes=3),
                confidence=8 if high else 3,
                setup_tag="trend" if high else "fade",
            )
        )
        if not high:
            entries.append(
                JournalEntry(
                    trader_id=1,
                    kind=JournalKind.OVERRIDE,
                    at=at - timedelta(minutes=2),
                    rule="cooling_period",
                    text="A+ setup",
                )
            )
    ins = find_insights(build_records(trades_of(deals), entries, UTC_TZ), currency="USD")
    topics = {(i.topic, i.kind) for i in ins}
    assert ("confidence", "strength") in topics
    assert ("override", "weakness") in topics
    assert ("setup", "strength") in topics and ("setup", "weakness") in topics
    conf = next(i for i in ins if i.topic == "confidence")
    assert (conf.group_n, conf.rest_n) == (6, 6)
    assert conf.group_win_rate == pytest.approx(4 / 6)
    assert "7/10 or more" in conf.text
    best = next(i for i in ins if i.topic == "setup" and i.kind == "strength")
    assert best.text.startswith("Best setup: Setup 'trend'") and "n=6" in best.text
    assert "USD" in best.text
    worst = next(i for i in ins if i.topic == "setup" and i.kind == "weakness")
    assert worst.label == "setup 'fade'"
    # the strongest effects come first
    assert abs(ins[0].delta) >= abs(ins[-1].delta)
