"""Chart rendering (matplotlib/mplfinance, Agg backend) for Discord embeds and the CLI."""

from bot.charts.analysis_chart import render_analysis_chart, render_chart, score_title

__all__ = ["render_analysis_chart", "render_chart", "score_title"]
