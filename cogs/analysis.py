"""``/score SYMBOL [timeframe]`` and ``/signals``: confluence, explained and charted.

``/score`` fetches the bars from a feed (the trader's own when linked), scores the last
bar with the service's :class:`~pulse.analysis.confluence.ConfluenceScorer` and renders
the annotated chart (:func:`bot.charts.render_analysis_chart`) to an in-memory PNG; the
analysis and the drawing run in a worker thread so the event loop keeps serving others.
``/signals`` lists the watchlist's latest scores (kept fresh by the service's poll),
highest first. Market analysis is not private, so both answer in the channel.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
import pandas as pd
from discord import app_commands
from discord.ext import commands

from bot.charts import render_analysis_chart
from bot.feeds.base import FeedError
from bot.render import score_embed, signals_embed
from bot.service import PulseService
from cogs.common import ArgumentProblem, SymbolTransformer, TimeframeTransformer, TradingCog
from pulse.analysis.confluence import AnalysisResult, ConfluenceResult

__all__ = ["AnalysisCog", "chart_png", "setup"]

Symbol = app_commands.Transform[str, SymbolTransformer]
Timeframe = app_commands.Transform[str, TimeframeTransformer]
MIN_BARS = 50
MAX_SIGNALS = 10


def chart_png(result: AnalysisResult, timeframe: str) -> bytes:
    """The annotated chart as PNG bytes (blocking: call in a worker thread)."""
    buf = io.BytesIO()
    render_analysis_chart(result, result.bars, buf, timeframe=timeframe)
    return buf.getvalue()


def rank_signals(scores: dict[tuple[str, str], ConfluenceResult],
                 limit: int) -> list[tuple[str, ConfluenceResult]]:
    """Highest score first; ties by symbol then timeframe, so the order is stable."""
    rows = sorted(scores.items(), key=lambda kv: (-kv[1].score, kv[0][0], kv[0][1]))
    return [(tf, r) for (_, tf), r in rows[:limit]]


class AnalysisCog(TradingCog, name="Analysis"):
    """/score and /signals."""

    def __init__(self, bot: commands.Bot, service: PulseService | None = None) -> None:
        super().__init__(bot, service)

    @app_commands.command(name="score", description="Confluence score of a symbol with its "
                                                    "reasons and an annotated chart")
    @app_commands.describe(symbol="the symbol as MT5 names it, e.g. EURUSD",
                           timeframe="bar timeframe, e.g. H1 (default: the watchlist's first)")
    async def score(self, interaction: discord.Interaction, symbol: Symbol,
                    timeframe: Timeframe | None = None) -> None:
        svc = await self.require_service(interaction)
        if svc is None:
            return
        tf = timeframe or svc.config.feeds.watchlist.timeframes[0]
        session = self.market_session(svc, interaction.user.id)
        if session is None:
            await interaction.response.send_message(
                "No market feed is connected yet, so there are no bars to score. Try again "
                "when `/status` shows the feed up.", ephemeral=True)
            return
        # Unknown symbols are refused before deferring, so the refusal can be ephemeral.
        name, _spec = await self.symbol_spec(session, symbol)
        await interaction.response.defer(thinking=True)
        frame = await self._bars(session.feed, name, tf, svc.config.feeds.bars_count)
        if len(frame) < MIN_BARS:
            await interaction.followup.send(
                f"Only {len(frame)} closed {tf} bars of {name} so far; scoring needs at least "
                f"{MIN_BARS}. Try a shorter timeframe or later.", ephemeral=True)
            return
        result: AnalysisResult = await asyncio.to_thread(svc.scorer.analyze, frame, name)
        png = await asyncio.to_thread(chart_png, result, tf)
        filename = f"{name}_{tf}.png".replace("#", "_")
        embed = score_embed(result.latest, timeframe=tf, bars=len(result.bars), image=filename)
        await interaction.followup.send(embed=embed,
                                        file=discord.File(io.BytesIO(png), filename=filename))

    async def _bars(self, feed: Any, symbol: str, tf: str, count: int) -> pd.DataFrame:
        """Bars of a known symbol; feed trouble becomes a clear message."""
        try:
            frame: pd.DataFrame = await feed.bars(symbol, tf, count)
        except (FeedError, ValueError) as exc:
            raise ArgumentProblem("timeframe", f"no {tf} bars of {symbol} from the feed ({exc})",
                                  "Try another timeframe, e.g. H1.") from None
        return frame

    @app_commands.command(name="signals", description="The watchlist's best setups right now, "
                                                      "highest confluence first")
    @app_commands.describe(count="how many to show, 1 to 10 (default 5)")
    async def signals(self, interaction: discord.Interaction,
                      count: app_commands.Range[int, 1, MAX_SIGNALS] = 5) -> None:
        svc = await self.require_service(interaction)
        if svc is None:
            return
        if not 1 <= count <= MAX_SIGNALS:
            raise ArgumentProblem("count", f"must be 1 to {MAX_SIGNALS}, got {count}",
                                  "Leave it out for the top 5.")
        rows = rank_signals(svc.latest_scores(), count)
        errors = [f"{sym} {tf}: {why}" for (sym, tf), why in sorted(svc.score_errors().items())]
        await interaction.response.send_message(embed=signals_embed(rows, errors))


async def setup(bot: commands.Bot) -> None:
    """Extension entry point (``bot.load_extension('cogs.analysis')``)."""
    await bot.add_cog(AnalysisCog(bot))
