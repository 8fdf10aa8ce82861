"""Replay scenarios: each script's output equals its golden file, and the facts its header
comment derives by hand hold (asserted independently of the golden text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios._golden import HERE, SCRIPTS, golden_path, run


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_matches_golden(path: Path) -> None:
    expected = [json.loads(line) for line in golden_path(path).read_text().splitlines() if line]
    assert run(path) == expected


def _out(name: str) -> list[dict[str, Any]]:
    return run(HERE / name)


def _verdicts(out: list[dict[str, Any]]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [(o["at"][11:19], o["action"], [(r["rule"], r["action"]) for r in o["rules"]])
            for o in out if o["type"] == "verdict"]


def _nudges(out: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["at"][11:19], o["kind"]) for o in out if o["type"] == "nudge"]


def _violations(out: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(o["rule"], o["ticket"]) for o in out if o["type"] == "violation"]


def test_max_trades_4th_5th_6th() -> None:
    out = _out("max_trades.yaml")
    assert _verdicts(out) == [
        ("10:29:00", "allow", []),
        ("10:59:00", "warn", [("max_trades", "warn")]),
        ("11:29:00", "hard_block", [("max_trades", "hard_block")]),
        ("09:00:00", "allow", []),  # next day: the count reset
    ]
    assert ("10:30:00", "last_trade") in _nudges(out)
    assert ("11:00:00", "max_trades_hit") in _nudges(out)
    assert _violations(out) == [("max_trades", 601)]
    summary = next(o for o in out if o["type"] == "summary")
    assert (summary["trades"], summary["score"], summary["rule_hits"]) == (6, 90, {"max_trades": 3})


def test_daily_loss_79_80_100() -> None:
    out = _out("daily_loss.yaml")
    v = _verdicts(out)
    assert v[0] == ("09:11:00", "allow", [])
    assert v[1] == ("09:21:00", "warn", [("daily_loss", "warn")])
    assert v[2] == ("09:31:00", "hard_block", [("daily_loss", "hard_block")])
    assert v[3] == ("10:31:00", "hard_block", [("daily_loss", "hard_block")])  # block holds
    assert v[4] == ("09:00:00", "allow", [])  # next day
    assert ("09:20:00", "daily_loss_warning") in _nudges(out)
    assert ("09:30:00", "daily_loss_hit") in _nudges(out)
    assert _violations(out) == [("daily_loss", 301), ("cooling_period", 301)]


def test_cooling_start_override_expiry() -> None:
    out = _out("cooling.yaml")
    v = _verdicts(out)
    assert v[0] == ("09:23:00", "soft_block", [("cooling_period", "soft_block")])
    first = next(o for o in out if o["type"] == "verdict")
    assert first["rules"][0]["message"] == (
        "Cooling period active for 12 more minutes after that -1.2% loss. Take a breath.")
    overrides = [(o["rule"], o["accepted"]) for o in out if o["type"] == "override"]
    assert overrides == [("cooling_period", False), ("daily_loss", False), ("cooling_period", True)]
    assert v[1] == ("09:26:00", "warn", [("cooling_period", "warn")])
    assert v[2] == ("10:06:30", "allow", [])
    n = _nudges(out)
    assert n.count(("09:20:00", "cooling_started")) == 1
    assert ("09:50:00", "cooling_started") in n  # exactly 1.0% starts one
    assert ("10:05:00", "cooling_ended") in n
    assert not any(k == "cooling_started" and t == "10:20:00" for t, k in n)  # 0.99% does not
    assert _violations(out) == [("cooling_period", 301)]


def test_three_losses_break_cannot_be_overridden() -> None:
    out = _out("consecutive_losses.yaml")
    assert _verdicts(out) == [
        ("09:56:00", "allow", []),
        ("10:41:00", "hard_block", [("consecutive_losses", "hard_block")]),
        ("11:09:30", "hard_block", [("consecutive_losses", "hard_block")]),
        ("11:10:00", "allow", []),
    ]
    ov = next(o for o in out if o["type"] == "override")
    assert ov["accepted"] is False and "cannot be overridden" in ov["message"]
    assert ("10:40:00", "break_started") in _nudges(out)
    assert ("11:10:00", "break_ended") in _nudges(out)
    assert not any(o["type"] == "state" for o in out)  # a refused override costs nothing


def test_position_size_and_stop() -> None:
    out = _out("position_size.yaml")
    assert _verdicts(out) == [
        ("09:00:00", "allow", []),
        ("09:01:00", "hard_block", [("position_size", "hard_block")]),
        ("09:02:00", "hard_block", [("stop_loss_required", "hard_block")]),
        ("09:03:00", "hard_block", [("stop_loss_required", "hard_block")]),
    ]
    msg = [o for o in out if o["type"] == "verdict"][1]["rules"][0]["message"]
    assert "2.10%" in msg and "10 lots" in msg
    assert _violations(out) == [("position_size", 201)]


def test_partial_close_is_one_trade() -> None:
    out = _out("partial_close.yaml")
    assert [k for _, k in _nudges(out)].count("post_trade_prompt") == 1
    assert _verdicts(out) == [("10:00:00", "warn", [("max_trades", "warn")])]
    summary = next(o for o in out if o["type"] == "summary")
    assert (summary["trades"], summary["wins"], summary["net"]) == (1, 1, 100.0)


def test_reversal_opens_a_second_trade() -> None:
    out = _out("reversal.yaml")
    prompts = [o["text"] for o in out if o["type"] == "nudge" and o["kind"] == "post_trade_prompt"]
    assert prompts[0].startswith("EURUSD buy closed: -150.00")
    assert prompts[1].startswith("EURUSD sell closed: +200.00")
    assert _verdicts(out) == [("10:05:00", "warn", [("max_trades", "warn")])]  # 2 entries made


def test_ftmo_overnight_floating_loss_counts_from_balance_anchor() -> None:
    bal = _verdicts(_out("ftmo_overnight.yaml"))
    eq = _verdicts(_out("ftmo_equity_anchor.yaml"))
    assert [a for _, a, _ in bal] == ["allow", "warn", "hard_block"]
    assert [a for _, a, _ in eq] == ["allow", "allow", "allow"]


def test_trailing_drawdown() -> None:
    out = _out("trailing_drawdown.yaml")
    assert _verdicts(out) == [
        ("10:01:00", "allow", []),
        ("11:01:00", "warn", [("max_drawdown", "warn")]),
        ("12:01:00", "hard_block", [("max_drawdown", "hard_block")]),
    ]
    assert _violations(out) == [("max_drawdown", 201)]
    # drawdown nudges have their own kinds (not the daily-loss ones)
    assert ("11:00:00", "max_drawdown_warning") in _nudges(out)
    assert ("12:00:00", "max_drawdown_hit") in _nudges(out)
    assert not {"daily_loss_warning", "daily_loss_hit"} & {k for _, k in _nudges(out)}
    hit = next(o for o in out if o["type"] == "nudge" and o["kind"] == "max_drawdown_hit")
    assert hit["severity"] == "critical"


@pytest.mark.parametrize(
    ("name", "flag", "fired_at"),
    [
        ("flag_revenge.yaml", "revenge", ["10:40:00"]),
        ("flag_overconfidence.yaml", "overconfidence", ["11:00:00"]),
        ("flag_fatigue.yaml", "fatigue", ["22:00:00", "05:59:00"]),
        ("flag_overtrading.yaml", "overtrading", ["09:16:00"]),
        ("flag_tilt.yaml", "tilt", ["11:00:00"]),
    ],
)
def test_flag_fires_only_at_threshold(name: str, flag: str, fired_at: list[str]) -> None:
    out = _out(name)
    flags = ("revenge", "overconfidence", "fatigue", "overtrading", "tilt")
    fired = [(t, k) for t, k in _nudges(out) if k in flags]
    assert fired == [(t, flag) for t in fired_at]


def test_win_streak_text() -> None:
    texts = [o["text"] for o in _out("flag_overconfidence.yaml")
             if o["type"] == "nudge" and o["kind"] == "win_streak"]
    assert texts[0] == "Great win! Your 3rd today. Consider banking profits?"


def test_deposit_on_the_first_snapshots_day_is_not_a_loss() -> None:
    out = _out("deposit_same_day.yaml")
    v = _verdicts(out)
    assert v[0] == ("09:06:00", "allow", [])
    assert v[1] == ("10:20:00", "warn", [("daily_loss", "warn")])
    kinds = [k for _, k in _nudges(out)]
    assert "daily_loss_hit" not in kinds and _violations(out) == []
    assert ("10:00:00", "daily_loss_warning") in _nudges(out)  # 2,500 of 3% of 100,000


def test_self_imposed_break() -> None:
    out = _out("self_break.yaml")
    v = _verdicts(out)
    assert v == [
        ("14:08:00", "soft_block", [("cooling_period", "soft_block")]),
        ("14:13:00", "warn", [("cooling_period", "warn")]),
        ("14:25:00", "allow", []),
    ]
    first = next(o for o in out if o["type"] == "verdict")
    assert first["rules"][0]["message"] == (
        "You asked for a 20-minute break, until 14:20 — 12 minutes left.")
    assert [(o["accepted"]) for o in out if o["type"] == "override"] == [False, True]
    assert _violations(out) == [("cooling_period", 11)]
    assert _nudges(out) == [("14:00:00", "cooling_started"), ("14:10:00", "violation"),
                            ("14:20:00", "cooling_ended")]
    assert [o["score"] for o in out if o["type"] == "state"] == [90, 80]


def test_withdrawal_is_not_drawdown() -> None:
    out = _out("withdrawal_drawdown.yaml")
    assert _verdicts(out) == [("09:06:00", "allow", [])]
    assert _nudges(out) == []


def test_loss_after_withdrawal_still_breaches_the_moved_floor() -> None:
    out = _out("withdrawal_then_loss.yaml")
    assert _verdicts(out) == [
        ("10:01:00", "allow", []),
        ("11:50:00", "hard_block", [("max_drawdown", "hard_block")]),
    ]
    assert _nudges(out) == [("11:30:00", "max_drawdown_hit"), ("11:30:00", "cooling_started"),
                            ("11:45:00", "cooling_ended")]
    hit = next(o for o in out if o["type"] == "nudge" and o["kind"] == "max_drawdown_hit")
    assert "floor 80,000.00" in hit["text"]
    assert _violations(out) == []
