"""Summary chart PNG: equity curve, P&L by weekday and by entry hour (matplotlib, Agg).

Drawn from :class:`pulse.journal.summary.ChartData` (plain data, built by the pure
summary builders) on a dark background sized for a Discord embed (1000 x 700 px by
default). Uses an explicit :class:`~matplotlib.figure.Figure` with an Agg canvas, never
pyplot's global figure registry, so it is safe to call from worker threads.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from pulse.journal.summary import ChartData

__all__ = ["render_summary_chart"]

_BG = "#1e1f22"
_FG = "#dbdee1"
_GRID = "#3a3c41"
_UP = "#2ecc71"
_DOWN = "#e74c3c"
_LINE = "#5865f2"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _bar_colors(values: list[float]) -> list[str]:
    return [_UP if v >= 0 else _DOWN for v in values]


def render_summary_chart(data: ChartData, *, width: int = 1000, height: int = 700) -> bytes:
    """The PNG bytes of the summary chart for ``data``."""
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor=_BG)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 2), hspace=0.38, wspace=0.18)
    eq = fig.add_subplot(grid[0, :])
    wd = fig.add_subplot(grid[1, 0])
    hr = fig.add_subplot(grid[1, 1])
    cur = f" ({data.currency})" if data.currency else ""
    for ax in (eq, wd, hr):
        ax.set_facecolor(_BG)
        ax.tick_params(colors=_FG, labelsize=8)
        for spine in ax.spines.values():
            spine.set_color(_GRID)
        ax.grid(True, color=_GRID, linewidth=0.5, alpha=0.7)
        ax.set_axisbelow(True)

    times = date2num([t for t, _ in data.equity])
    values = [v for _, v in data.equity]
    if len(times) >= 2:
        eq.step(times, values, where="post", color=_LINE, linewidth=1.8)
        eq.fill_between(times, values, min(values), step="post", color=_LINE, alpha=0.15)
        locator = AutoDateLocator(tz=data.tz)
        eq.xaxis.set_major_locator(locator)
        eq.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=data.tz))
    else:
        eq.text(
            0.5,
            0.5,
            "no closed trades",
            color=_FG,
            ha="center",
            va="center",
            transform=eq.transAxes,
        )
    eq.set_title(f"Equity{cur}", color=_FG, fontsize=10, loc="left")

    wd.bar(_DAYS, data.pnl_by_weekday, color=_bar_colors(data.pnl_by_weekday))
    wd.axhline(0, color=_FG, linewidth=0.6)
    wd.set_title(f"P&L by weekday of entry{cur}", color=_FG, fontsize=10, loc="left")

    hours = list(range(24))
    hr.bar(hours, data.pnl_by_hour, color=_bar_colors(data.pnl_by_hour), width=0.8)
    hr.axhline(0, color=_FG, linewidth=0.6)
    hr.set_xticks(range(0, 24, 3))
    hr.set_xlim(-0.7, 23.7)
    hr.set_title(f"P&L by entry hour (local){cur}", color=_FG, fontsize=10, loc="left")

    fig.suptitle(data.title, color=_FG, fontsize=12, x=0.02, ha="left")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor=_BG)
    return buf.getvalue()
