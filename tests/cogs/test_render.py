"""bot.render: the shared formatting, as pure functions of plain data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.render import (
    duration,
    rule_label,
    rule_line,
    state_light,
    truncate,
    usage_bar,
    verdict_headline,
)


@pytest.mark.parametrize(("pct", "bar"), [
    (0, "▱▱▱▱▱▱▱▱▱▱ 0% of 3,000.00"),
    (0.4, "▰▱▱▱▱▱▱▱▱▱ 0.4% of 3,000.00"),  # any loss shows
    (31, "▰▰▰▱▱▱▱▱▱▱ 31% of 3,000.00"),
    (99, "▰▰▰▰▰▰▰▰▰▱ 99% of 3,000.00"),  # not full while something is left
    (100, "▰▰▰▰▰▰▰▰▰▰ 100% of 3,000.00"),
    (112, "▰▰▰▰▰▰▰▰▰▰ 112% of 3,000.00"),
])
def test_usage_bar(pct: float, bar: str) -> None:
    assert usage_bar(pct, 3000) == bar


def test_usage_bar_without_a_limit() -> None:
    assert usage_bar(10, 0) == "▱▱▱▱▱▱▱▱▱▱ no limit"


def test_duration_rounds_minutes_up() -> None:
    assert duration(timedelta(seconds=30)) == "under a minute"
    assert duration(timedelta(minutes=11, seconds=1)) == "12 min"
    assert duration(75) == "1 h 15 min"
    assert duration(0) == "none"


def test_labels_lights_and_headlines() -> None:
    assert state_light("green") == "🟢" and state_light("RED") == "🔴"
    assert state_light("purple") == "⚪"
    assert rule_label("cooling_period") == "Cooling period"
    assert rule_label("new_rule") == "New rule"
    assert rule_line("daily_loss", "warn", "80% used") == "⚠️ **Daily loss**: 80% used"
    assert verdict_headline("soft_block") == "⛔ Blocked: you may override with a reason"
    assert verdict_headline("hard_block") == "🛑 Blocked: this cannot be overridden"


def test_truncate() -> None:
    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"
