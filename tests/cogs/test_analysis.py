"""/score and /signals through their callbacks: real bars (backtesting's EURUSD H1 sample)
served by the fake MT5 terminal, scored by the service's ConfluenceScorer, charted."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import discord

from bot.app import PulseBot
from bot.service import PulseService
from cogs.analysis import rank_signals
from pulse.analysis.confluence import ConfluenceResult, OppositeSide
from tests.fakes.discord_helpers import FakeMember, dispatch, invoke, make_interaction
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import eurusd_rows
from .helpers import field, only
from .test_status import ann


def analysis_cog(bot: PulseBot) -> Any:
    cog = bot.get_cog("Analysis")
    assert cog is not None
    return cog


def result(symbol: str, score: float, direction: str = "long") -> ConfluenceResult:
    return ConfluenceResult(
        symbol=symbol, time=datetime(2026, 3, 2, 12, tzinfo=UTC), direction=direction,
        score=score, grade="medium", components={"smc": score}, reasons=[f"{symbol} reason"],
        opposite=OppositeSide(direction="short" if direction == "long" else "long", score=5.0),
    )


async def test_score_answers_with_embed_and_png_chart(bot: PulseBot,
                                                      service: PulseService) -> None:
    inter = make_interaction(client=bot, user=ann())
    await invoke(analysis_cog(bot).score, inter, symbol="EURUSD", timeframe="H1")
    assert inter.response.type is discord.InteractionResponseType.deferred_channel_message
    (msg,) = inter.followup.sent
    assert not msg.ephemeral and msg.embed is not None
    frame = await service.sessions[ann().id].feed.bars("EURUSD", "H1", 400)
    expected = service.scorer.score(frame, "EURUSD")
    assert msg.embed.title == (f"{'📈' if expected.direction == 'long' else '📉'} EURUSD H1 — "
                               f"{expected.score:.0f}/100 {expected.direction} "
                               f"({expected.grade})")
    for reason in expected.reasons[:3]:
        assert reason in (msg.embed.description or "")
    assert msg.embed.image.url == "attachment://EURUSD_H1.png"
    assert field(msg, "Bar").endswith("· 400 bars")
    (png,) = msg.files
    assert png.filename == "EURUSD_H1.png"
    data = png.fp.read() if isinstance(png.fp, io.IOBase) else b""
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


async def test_score_default_timeframe_and_lower_case_symbol(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await dispatch(analysis_cog(bot).score, inter, symbol="eurusd")
    (msg,) = inter.followup.sent
    assert msg.embed is not None and "EURUSD H1 —" in (msg.embed.title or "")


async def test_score_works_for_an_unlinked_member_too(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=FakeMember(555, "zed"))
    await invoke(analysis_cog(bot).score, inter, symbol="EURUSD")
    (msg,) = inter.followup.sent
    assert msg.embed is not None and msg.files


async def test_score_argument_errors(bot: PulseBot) -> None:
    cases = [
        ({"symbol": "EURUSD", "timeframe": "H7"}, "**timeframe**: 'H7' is not a timeframe. "
                                                  "Use one of M1, M2"),
        ({"symbol": "NOPE"}, "**symbol**: 'NOPE' is unknown to your feed"),
        ({"symbol": "EUR/USD"}, "**symbol**: 'EUR/USD' is not a symbol name"),
    ]
    for raw, expected in cases:
        inter = make_interaction(client=bot, user=ann())
        await dispatch(analysis_cog(bot).score, inter, **raw)
        msg = only(inter)
        assert msg.kind == "response" and msg.ephemeral, raw
        assert (msg.content or "").startswith(expected), (raw, msg.content)


async def test_score_with_too_few_bars_says_so(bot: PulseBot, fake: FakeMetaTrader5) -> None:
    fake.set_rates("GBPUSD", fake.TIMEFRAME_H1, eurusd_rows(20))
    inter = make_interaction(client=bot, user=ann())
    await invoke(analysis_cog(bot).score, inter, symbol="GBPUSD", timeframe="H1")
    (msg,) = inter.followup.sent
    assert msg.content == ("Only 20 closed H1 bars of GBPUSD so far; scoring needs at least "
                           "50. Try a shorter timeframe or later.")


async def test_signals_lists_the_watchlist_highest_first(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5
) -> None:
    fake.set_rates("GBPUSD", fake.TIMEFRAME_H1, eurusd_rows(300, scale=1.17))
    scores = await service.refresh_scores()
    assert set(scores) == {("EURUSD", "H1"), ("GBPUSD", "H1")}
    inter = make_interaction(client=bot, user=ann())
    await invoke(analysis_cog(bot).signals, inter)
    msg = only(inter)
    assert msg.embed is not None and msg.embed.title == "Top watchlist setups"
    lines = (msg.embed.description or "").splitlines()
    ranked = sorted(scores.items(), key=lambda kv: -kv[1].score)
    assert len(lines) == 2
    for i, ((sym, tf), r) in enumerate(ranked):
        assert lines[i].startswith(f"**{i + 1}. {sym} {tf}**")
        assert f"{r.score:.0f}/100 {r.direction}" in lines[i]


async def test_signals_before_any_score_and_with_errors(
    bot: PulseBot, service: PulseService
) -> None:
    await service.refresh_scores()  # GBPUSD has no H1 rates in the terminal
    inter = make_interaction(client=bot, user=ann())
    await invoke(analysis_cog(bot).signals, inter, count=1)
    msg = only(inter)
    assert msg.embed is not None
    assert (msg.embed.description or "").startswith("**1. EURUSD H1**")
    assert field(msg, "Not scored").startswith("GBPUSD H1: ")


async def test_signals_empty(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await invoke(analysis_cog(bot).signals, inter)
    msg = only(inter)
    assert msg.embed is not None and (msg.embed.description or "").startswith("No scores yet")


async def test_signals_count_out_of_range(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await dispatch(analysis_cog(bot).signals, inter, count=50)
    assert only(inter).content == "**count**: must be 1 to 10, got 50. Leave it out for the top 5."


def test_rank_signals_orders_by_score_then_name() -> None:
    scores = {("GBPUSD", "H1"): result("GBPUSD", 70), ("EURUSD", "M15"): result("EURUSD", 70),
              ("XAUUSD", "H1"): result("XAUUSD", 91, "short"),
              ("EURUSD", "H1"): result("EURUSD", 12)}
    ranked = rank_signals(scores, 3)
    assert [(r.symbol, tf) for tf, r in ranked] == [
        ("XAUUSD", "H1"), ("EURUSD", "M15"), ("GBPUSD", "H1")]
