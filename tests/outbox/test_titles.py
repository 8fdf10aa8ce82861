"""Every nudge kind has a human title; a self-imposed break is titled as the trader's own;
a drawdown breach is a red state for the coaches."""

from __future__ import annotations

import typing

import pytest

from bot.coach import RED_KINDS, should_mirror
from bot.outbox import _TITLES, render_nudge
from pulse.models import Nudge, NudgeKind, Severity
from tests.outbox.conftest import T0

KINDS: tuple[str, ...] = typing.get_args(NudgeKind)


def _nudge(kind: str, **data: object) -> Nudge:
    return Nudge(at=T0, kind=kind, severity=Severity.WARNING,
                 text=f"{kind} text", dedupe_key=f"{kind}:1", trader_id=4242, data=data)


def _title(nudge: Nudge) -> str | None:
    embed = render_nudge(nudge, "trader").embed
    assert embed is not None
    return embed.title


def test_every_nudge_kind_has_a_title() -> None:
    assert KINDS, "NudgeKind lists no kinds"
    missing = [k for k in KINDS if k not in _TITLES]
    assert missing == []
    assert set(_TITLES) <= set(KINDS)  # no title for a kind that does not exist


@pytest.mark.parametrize("kind", KINDS)
def test_rendered_title_is_the_human_one(kind: str) -> None:
    assert _title(_nudge(kind)) == _TITLES[kind]


def test_drawdown_and_red_state_titles() -> None:
    assert _title(_nudge("max_drawdown_hit")) == "Drawdown limit hit"
    assert _title(_nudge("max_drawdown_warning")) == \
        "Drawdown limit close"
    assert _title(_nudge("state_red")) == "Red state"


def test_a_self_imposed_break_is_titled_as_the_traders_own() -> None:
    started = _nudge("cooling_started", self_imposed=True, minutes=30)
    ended = _nudge("cooling_ended", self_imposed=True)
    loss = _nudge("cooling_started", self_imposed=False)
    assert _title(started) == "Your break"
    assert _title(ended) == "Your break is over"
    assert _title(loss) == "Cooling period"


def test_max_drawdown_hit_is_a_red_kind_mirrored_to_coaches() -> None:
    assert "max_drawdown_hit" in RED_KINDS
    assert should_mirror(_nudge("max_drawdown_hit"))
    assert not should_mirror(_nudge("max_drawdown_warning"))
    assert set(RED_KINDS) <= set(KINDS)
