"""Daily and weekly summaries; the weekly one on a real EURUSD week (fixture), with its chart."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from matplotlib.image import imread

from bot.charts.summary_chart import render_summary_chart
from pulse.journal.importers import apply_stops
from pulse.journal.importers.deals_csv import parse_deals_csv
from pulse.journal.importers.journal_csv import parse_journal_csv
from pulse.journal.periods import day_bounds, week_bounds
from pulse.journal.stats import build_records
from pulse.journal.summary import build_daily_summary, build_weekly_summary
from pulse.models import Side
from pulse.trades import reconstruct_trades
from tests.journal.helpers import FIXTURES, DealMaker, trades_of

PRAGUE = ZoneInfo("Europe/Prague")


def week_records():
    st = parse_deals_csv((FIXTURES / "week_deals.csv").read_bytes())
    trades = apply_stops(reconstruct_trades(st.deals), st.stops)
    entries = parse_journal_csv((FIXTURES / "week_journal.csv").read_bytes(), 42)
    return build_records(trades, entries, PRAGUE)


def test_daily_summary_text():
    m = DealMaker()
    day = datetime(2026, 3, 4, 8, tzinfo=UTC)
    deals = (
        m.round_trip(1, day, 30, Side.BUY, 80.0)
        + m.round_trip(2, day + timedelta(hours=2), 30, Side.SELL, 60.0)
        + m.round_trip(3, day + timedelta(hours=4), 30, Side.BUY, -20.0)
        + m.round_trip(4, day - timedelta(days=1), 30, Side.BUY, -500.0)  # yesterday
    )
    recs = build_records(trades_of(deals), [], PRAGUE)
    start, end = day_bounds(day, PRAGUE)
    s = build_daily_summary(recs, start, end, PRAGUE, start_balance=10_000, score=85)
    assert s.text.splitlines()[0] == "3 trades, 2 wins, +1.2%. Behavioural score: 85/100"
    assert (s.trades, s.wins, s.losses, s.net_pnl) == (3, 2, 1, 120.0)
    assert s.text.splitlines()[1] == "No rule hits."
    hits = build_daily_summary(
        recs, start, end, PRAGUE, score=60, deductions=["revenge -30", "override -10"],
        rule_hits=["cooling_period: soft block at 11:05"], currency="USD",
    )
    assert hits.text.splitlines() == [
        "3 trades, 2 wins, +120.00 USD. Behavioural score: 60/100",
        "Score deductions: revenge -30; override -10.",
        "Rule hits: cooling_period: soft block at 11:05.",
    ]
    empty = build_daily_summary(recs, end, end + timedelta(days=1), PRAGUE, start_balance=1)
    assert empty.text == "0 trades, 0 wins, +0.0%."


def test_weekly_summary_of_a_real_week():
    recs = week_records()
    start, end = week_bounds(datetime(2017, 4, 26, tzinfo=UTC), PRAGUE)
    w = build_weekly_summary(recs, start, end, PRAGUE, start_balance=100_000, currency="USD")
    # per local (Prague) trading day, from the fixture's 18 trades:
    # Mon +91 -78.5 -78.5; Tue -72 +121.5 -419; Wed -207 +19 -160.5 -214;
    # Thu -207 -78.5 +76.5; Fri (incl. the Thu 22:00 UTC = Fri 00:00 local entry)
    # +49 -207 -78.5 -78.5 +158
    assert [(d.weekday, d.trades, d.net_pnl) for d in w.days] == [
        ("Monday", 3, -66.0), ("Tuesday", 3, -369.5), ("Wednesday", 4, -562.5),
        ("Thursday", 3, -209.0), ("Friday", 5, -157.0),
    ]
    assert w.days[2].net_pnl_pct == pytest.approx(-562.5 / (100_000 - 66 - 369.5) * 100)
    assert w.stats.count == 18 and w.stats.wins == 6
    assert w.stats.profit_factor == pytest.approx(515 / 1879)
    lines = w.text.splitlines()
    assert lines[0] == "Week of 2017-04-24: 18 trades, win rate 33%, profit factor 0.27, -1.4%."
    assert lines[1].startswith("Best day: Monday (-0.1%). Worst day: Wednesday (-0.6%). Weakness: ")
    assert w.weakness is not None and w.strength is not None
    assert w.weakness.group_n >= 5 and w.weakness.rest_n >= 5
    assert f"n={w.weakness.group_n}/{w.weakness.rest_n}" in lines[1]
    # the chart: a real PNG of the intended size
    png = render_summary_chart(w.chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", png[8:16])
    assert length == 13
    width, height = struct.unpack(">II", png[16:24])
    assert kind == b"IHDR" and (width, height) == (1000, 700)
    assert zlib.crc32(png[12:29]) == struct.unpack(">I", png[29:33])[0]
    assert png.endswith(b"IEND\xaeB`\x82")
    assert 15_000 < len(png) < 400_000
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (700, 1000)
    assert pixels[..., :3].std() > 0.02  # something was drawn
    assert len(w.chart.equity) == 19 and w.chart.equity[-1][1] == pytest.approx(98_636.0)
    assert sum(w.chart.pnl_by_weekday) == pytest.approx(-1364.0)


def test_weekly_summary_too_few_trades_says_so():
    m = DealMaker()
    deals = m.round_trip(1, datetime(2026, 3, 3, 9, tzinfo=UTC), 30, Side.BUY, 50.0)
    recs = build_records(trades_of(deals), [], PRAGUE)
    start, end = week_bounds(datetime(2026, 3, 3, tzinfo=UTC), PRAGUE)
    w = build_weekly_summary(recs, start, end, PRAGUE)
    assert w.text.splitlines() == [
        "Week of 2026-03-02: 1 trade, win rate 100%, profit factor n/a, +50.00.",
        "Best day: Tuesday (+50.00).",
        "Not enough trades yet to compare groups (needs at least 5 on each side).",
    ]
    png = render_summary_chart(w.chart, width=600, height=400)
    assert struct.unpack(">II", png[16:24]) == (600, 400)
