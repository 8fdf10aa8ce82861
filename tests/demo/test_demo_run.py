"""``pulse demo``: exit code, the required moments of the day, JSON lines, determinism."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from bot.demo import DemoOptions, SessionStep, load_demo_day, run_demo

from .conftest import Run, run_demo_cli

KINDS = {"demo", "session", "deal", "equity", "check", "override_request", "score", "journal",
         "daily_summary", "demo_end", "verdict", "nudge", "violation", "state", "override",
         "summary"}


def _t(line: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(line["at"])


def _nudges(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [x for x in lines if x["type"] == "nudge" and x["kind"] == kind]


def test_text_run_exits_0_and_tells_the_whole_day(text_run: Run) -> None:
    assert text_run.code == 0, text_run.err
    out = text_run.out
    for needle in (
        "📈 ES M1 ", "📈 ES M5 ",                      # scores at checks
        "✅ ALLOWED (allow)",                           # the clean trade's check
        "cooling_started:",                             # the 1% loss
        "⛔ BLOCKED (soft_block)",                      # a check during cooling
        "/override cooling_period reason: “ES flushed",  # the trader's reason
        "🔓 override of cooling_period accepted",
        "revenge: Revenge trade?",
        "tilt: Tilt warning",
        "daily_loss_warning: Careful",
        "break_started: 3 losses in a row",
        "🛑 BLOCKED (hard_block)",
        "consecutive_losses [hard_block]",
        "break_ended:",
        "📝 pre-trade journal #", "📝 post-trade journal #",
        "post_trade_prompt:",
        "📊 daily summary: 4 trades, 1 win, -2.7%",
        "🟢 behaviour green", "🟡 behaviour yellow", "🔴 behaviour red",
    ):
        assert needle in out, needle
    # times are the trader's (Europe/Prague): the US cash open is 15:30
    assert "15:30:00         ── US cash open" in out
    # the chart goes next to the database by default
    chart = text_run.db.parent / "pulse-demo-summary-2013-09-03.png"
    assert f"chart: {chart}" in out and chart.read_bytes()[:4] == b"\x89PNG"
    # the run time goes to stderr only, so stdout can be compared between runs
    assert "done in" in text_run.err and "done in" not in out


def test_text_messages_are_in_time_order(text_run: Run) -> None:
    times = [line[:8] for line in text_run.out.splitlines()
             if len(line) > 8 and line[2] == ":" and line[5] == ":"]
    tuesday = times[times.index("15:30:00"):]
    assert tuesday == sorted(tuesday)


def test_json_lines_parse_and_carry_at_and_type(json_run: Run) -> None:
    assert json_run.code == 0, json_run.err
    lines = json_run.lines
    assert len(lines) > 50
    for x in lines:
        assert {"at", "type"} <= set(x), x
        assert x["type"] in KINDS, x
        assert _t(x).utcoffset() == timedelta(hours=2)  # Europe/Prague in September
    assert lines[0]["type"] == "demo" and lines[-1]["type"] == "demo_end"
    # the kernel's day-end record is not part of the conversation (the scheduled summary is)
    assert not [x for x in lines if x["type"] == "summary"]


def test_json_has_every_required_moment_in_order(json_run: Run) -> None:
    lines = json_run.lines
    win = [x for x in lines if x["type"] == "deal" and x.get("entry") == "out"
           and x["profit"] > 0]
    assert len(win) == 1 and win[0]["net"] > 0

    cooling = _nudges(lines, "cooling_started")
    assert len(cooling) == 1
    soft = [x for x in lines if x["type"] == "verdict" and x["action"] == "soft_block"]
    assert len(soft) == 1 and soft[0]["rules"][0]["rule"] == "cooling_period"
    assert _t(soft[0]) > _t(cooling[0])

    overrides = [x for x in lines if x["type"] == "override"]
    assert len(overrides) == 1
    ov = overrides[0]
    assert ov["accepted"] is True and ov["rule"] == "cooling_period"
    assert ov["reason"].startswith("ES flushed")
    revenge = _nudges(lines, "revenge")
    assert len(revenge) == 2 and _t(revenge[0]) > _t(ov)
    assert _nudges(lines, "tilt")

    brk = _nudges(lines, "break_started")
    ended = _nudges(lines, "break_ended")
    assert len(brk) == 1 and len(ended) == 1
    losses = [x for x in lines if x["type"] == "deal" and x.get("entry") == "out"
              and x["net"] < 0]
    assert len(losses) == 3 and _t(brk[0]) == _t(losses[-1])
    hard = [x for x in lines if x["type"] == "verdict" and x["action"] == "hard_block"]
    assert len(hard) == 1 and not hard[0]["allowed"]
    assert "consecutive_losses" in {r["rule"] for r in hard[0]["rules"]}
    assert _t(brk[0]) < _t(hard[0]) < _t(ended[0])

    warning = _nudges(lines, "daily_loss_warning")
    assert len(warning) == 1 and "86%" in warning[0]["text"]
    assert len(_nudges(lines, "post_trade_prompt")) == 4

    journal = Counter(x["kind"] for x in lines if x["type"] == "journal")
    assert journal == {"pre_trade": 2, "post_trade": 2}
    states = [x["state"] for x in lines if x["type"] == "state"]
    assert states[-1] == "red" and "yellow" in states

    summaries = [x for x in lines if x["type"] == "daily_summary"]
    assert len(summaries) == 1
    s = summaries[0]
    assert (s["trades"], s["wins"], s["losses"]) == (4, 1, 3)
    assert s["net"] == 190 - 1020 - 940 - 940
    assert s["score"] == last_state_score(lines)
    chart = json_run.out_dir / "demo-summary-2013-09-03.png"
    assert s["chart"] == str(chart)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def last_state_score(lines: list[dict[str, Any]]) -> int:
    """The behaviour score of the day's last state line (the summary must agree)."""
    return int([x for x in lines if x["type"] == "state"][-1]["score"])


def test_running_twice_gives_identical_output(text_run: Run, json_run: Run) -> None:
    again = run_demo_cli(json_run.db, "--json", out_dir=json_run.out_dir)
    assert again.code == 0
    assert again.out == json_run.out
    # the database is created fresh: the same rows, not twice as many
    assert again.lines[-1]["stored"] == json_run.lines[-1]["stored"]


async def test_speed_n_waits_gap_over_n_from_the_session_on(text_run: Run) -> None:
    """``--speed 600``: the same conversation, with sleeps of (gap / 600) between timeline
    items from the session start (before it, no waiting)."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    buf = io.StringIO()
    await run_demo(DemoOptions(db=text_run.db, speed=600.0, sleep=sleep), buf)
    assert buf.getvalue() == text_run.out
    day = load_demo_day()
    session = next(s.at for s in day.steps if isinstance(s, SessionStep))
    last = max(s.at for s in day.steps)
    # the last bar closes before the summary; the first gap starts at the bar before the
    # session event (at most a minute earlier)
    span = (last - session).total_seconds()
    assert span / 600 <= sum(slept) <= (span + 60) / 600
    assert all(s > 0 for s in slept)
