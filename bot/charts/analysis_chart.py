"""Annotated candlestick PNG for ``/score`` and ``pulse score --chart`` (mplfinance, Agg).

What is drawn, for the last ``last_n`` bars (default 120) on a dark background sized for a
Discord embed (1200 x 700 px):

- candlesticks, with volume in a small lower panel when the bars have volume;
- order blocks and fair value gaps as shaded zones from their defining bar to their
  mitigation (or the right edge): green bullish, red bearish; the most recent
  ``MAX_ZONES`` of each kind that are visible, so the chart stays legible;
- BOS / CHoCH as a line at the broken level, from the broken swing to the breaking bar,
  labelled; the latest unbroken swing high and low as dashed levels to the right edge with
  their prices; swing points as small markers;
- Wyckoff events as labels at their defining bar and level (accumulation side green below,
  distribution side red above), and the latest trading range as a dashed box;
- the title, e.g. ``EURUSD H1 — 82/100 long (high)`` (see :func:`score_title`), and an
  optional subtitle (current Wyckoff phase, top reasons).

The drawing core, :func:`render_chart`, takes plain inputs (bars and the section 6 events
DataFrames), so it does not depend on the analysis object's type;
:func:`render_analysis_chart` is the thin adapter for the confluence result.
Rendering holds a lock: pyplot's figure registry is not thread-safe, and the bot renders
in worker threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mplfinance as mpf
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

__all__ = [
    "FIGSIZE",
    "MAX_ZONES",
    "ChartInputs",
    "chart_inputs",
    "render_analysis_chart",
    "render_chart",
    "score_title",
]

FIGSIZE = (12.0, 7.0)  # inches at DPI -> 1200 x 700 px
DPI = 100
MAX_ZONES = 6  # per zone kind (order blocks, fair value gaps)
MAX_BREAKS = 8
MAX_WYCKOFF_LABELS = 14
MAX_RANGES = 3

BG = "#131722"
GRID = "#2a2e39"
TEXT = "#d1d4dc"
BULL = "#26a69a"
BEAR = "#ef5350"
BULL_ZONE = "#2e7d32"
BEAR_ZONE = "#c62828"
NEUTRAL = "#9598a1"

_LOCK = threading.Lock()
_STYLE: dict[str, Any] | None = None


def score_title(
    symbol: str,
    timeframe: str | None,
    score: float,
    direction: str,
    grade: str | None = None,
) -> str:
    """``EURUSD H1 — 82/100 long (high)``."""
    head = f"{symbol} {timeframe}" if timeframe else symbol
    tail = f" ({grade})" if grade else ""
    return f"{head} — {round(score):d}/100 {direction}{tail}"


def _style() -> dict[str, Any]:
    global _STYLE
    if _STYLE is None:
        mc = mpf.make_marketcolors(
            up=BULL, down=BEAR, edge="inherit", wick="inherit", volume="inherit"
        )
        _STYLE = mpf.make_mpf_style(
            base_mpf_style="nightclouds",
            marketcolors=mc,
            facecolor=BG,
            figcolor=BG,
            edgecolor=GRID,
            gridcolor=GRID,
            gridstyle="-",
            rc={
                "axes.labelcolor": TEXT,
                "xtick.color": TEXT,
                "ytick.color": TEXT,
                "font.size": 11,
                "axes.titlesize": 15,
            },
        )
    return _STYLE


def _window(bars: pd.DataFrame, last_n: int) -> pd.DataFrame:
    missing = [c for c in ("open", "high", "low", "close") if c not in bars]
    if missing:
        raise ValueError(f"bars: missing column(s) {', '.join(missing)}")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise ValueError("bars: the index must be a DatetimeIndex")
    if last_n < 2:
        raise ValueError(f"last_n must be at least 2 (got {last_n})")
    cols = ["open", "high", "low", "close"]
    good = bars.dropna(subset=cols)
    if good.empty:
        raise ValueError("bars: no bar with prices to chart")
    win = good.iloc[-last_n:]
    out = pd.DataFrame(
        {
            "Open": win["open"].astype(float),
            "High": win["high"].astype(float),
            "Low": win["low"].astype(float),
            "Close": win["close"].astype(float),
        },
        index=win.index,
    )
    if "volume" in win:
        vol = win["volume"].astype(float).fillna(0.0)
        if float(vol.abs().sum()) > 0:
            out["Volume"] = vol
    idx = pd.DatetimeIndex(out.index)
    if idx.tz is not None:
        out.index = idx.tz_convert("UTC").tz_localize(None)  # mplfinance wants naive
    return out


def _positions(index: pd.DatetimeIndex, times: pd.Series) -> np.ndarray:
    """Bar position of each time in the window (float; -1 before it, ``len(index)``
    after it, NaN for NaT).

    Times between bars (a skipped row) take the bar at or before them.
    """
    t = pd.DatetimeIndex(times)
    if t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    pos = index.searchsorted(t, side="right").astype(float) - 1.0
    if len(index):
        pos[np.asarray(t > index[-1])] = float(len(index))  # after the window: beyond it
    pos[np.asarray(t.isna())] = np.nan
    return pos


def _clean_events(events: pd.DataFrame | None) -> pd.DataFrame:
    if events is None or len(events) == 0:
        return pd.DataFrame(columns=["time", "kind", "direction", "origin", "top", "bottom"])
    ev = events.copy()
    if "mitigated_at" not in ev:
        ev["mitigated_at"] = pd.NaT
    return ev


def _draw_zones(ax: Axes, ev: pd.DataFrame, index: pd.DatetimeIndex, kind: str) -> int:
    """Shaded zones of ``kind`` visible in the window; returns how many were drawn."""
    z = ev[ev["kind"] == kind]
    if z.empty:
        return 0
    n = len(index)
    start = _positions(index, z["origin"])
    known = _positions(index, z["time"])
    end = _positions(index, z["mitigated_at"])
    end = np.where(np.isnan(end), n - 0.5, np.minimum(end + 0.5, n - 0.5))
    visible = (known <= n - 1) & (end >= 0) & np.isfinite(start)
    idx = np.flatnonzero(visible)[-MAX_ZONES:]
    for i in idx:
        row = z.iloc[i]
        x0 = max(start[i], 0.0) - 0.4
        top, bottom = float(row["top"]), float(row["bottom"])
        if not (np.isfinite(top) and np.isfinite(bottom)):
            continue
        color = BULL_ZONE if int(row["direction"]) > 0 else BEAR_ZONE
        alpha = 0.28 if kind == "order_block" else 0.16
        ax.add_patch(
            Rectangle(
                (x0, min(bottom, top)),
                max(end[i] - x0, 0.8),
                abs(top - bottom),
                facecolor=color,
                edgecolor=color,
                alpha=alpha,
                lw=0.8,
                zorder=0.5,
            )
        )
        label = "OB" if kind == "order_block" else "FVG"
        ax.text(
            x0 + 0.3,
            max(top, bottom),
            label,
            color=color,
            fontsize=8,
            va="bottom",
            ha="left",
            alpha=0.95,
            zorder=3,
        )
    return len(idx)


def _draw_breaks(ax: Axes, ev: pd.DataFrame, index: pd.DatetimeIndex) -> None:
    b = ev[ev["kind"].isin(["bos", "choch"])]
    if b.empty:
        return
    n = len(index)
    x1 = _positions(index, b["time"])
    x0 = _positions(index, b["origin"])
    vis = np.flatnonzero((x1 >= 0) & (x1 <= n - 1))[-MAX_BREAKS:]
    for i in vis:
        row = b.iloc[i]
        level = float(row["top"])
        color = BULL if int(row["direction"]) > 0 else BEAR
        start = max(x0[i], 0.0) if np.isfinite(x0[i]) else max(x1[i] - 5, 0.0)
        ax.hlines(level, start, x1[i], colors=color, linewidth=1.3, zorder=2)
        name = "BOS" if row["kind"] == "bos" else "CHoCH"
        ax.text(
            (start + x1[i]) / 2,
            level,
            name,
            color=color,
            fontsize=8.5,
            ha="center",
            va="bottom" if int(row["direction"]) > 0 else "top",
            fontweight="bold",
            zorder=3,
        )


def _draw_swings(ax: Axes, ev: pd.DataFrame, index: pd.DatetimeIndex, span: float) -> None:
    n = len(index)
    for kind, marker, color, sign in (
        ("swing_high", "v", BEAR, 1.0),
        ("swing_low", "^", BULL, -1.0),
    ):
        s = ev[ev["kind"] == kind]
        if s.empty:
            continue
        x = _positions(index, s["origin"])
        known = _positions(index, s["time"])
        vis = (x >= 0) & (known <= n - 1)
        levels = s["top"].to_numpy(dtype=float)
        ax.scatter(
            x[vis],
            levels[vis] + sign * 0.012 * span,
            marker=marker,
            s=22,
            color=color,
            alpha=0.8,
            zorder=3,
        )
        # the latest swing still unbroken at the window's end, as a level to the right edge
        mit = _positions(index, s["mitigated_at"])
        open_ = (np.isnan(mit) | (mit > n - 1)) & (known <= n - 1)
        if open_.any():
            j = int(np.flatnonzero(open_)[-1])
            level = float(levels[j])
            xs = max(float(x[j]), 0.0) if np.isfinite(x[j]) else 0.0
            ax.hlines(level, xs, n - 0.5, colors=color, linestyles="--", linewidth=1.0)
            ax.text(
                n - 0.5,
                level,
                f" {level:.5g}",
                color=color,
                fontsize=8.5,
                va="center",
                ha="left",
                clip_on=False,
            )


def _in_range_phase(phase: str, side: int) -> bool:
    """Phases A-C: price is still inside the trading range of that side's structure."""
    prefix = "accumulation_" if side > 0 else "distribution_"
    return phase in (prefix + "A", prefix + "B", prefix + "C")


def _ranges(
    ev: pd.DataFrame, index: pd.DatetimeIndex, phase: str | pd.Series | None
) -> list[tuple[pd.Series, float]]:
    """Trading ranges to box, with the x where each box ends.

    Boxed: ranges known inside the window (the last ``MAX_RANGES``), and the latest one
    known before it while the phase at the window's end is still inside that structure.
    A box ends where its structure leaves the range (per-bar ``phase`` Series), else at
    the first sign of strength/weakness of its side, else at the window's right edge.
    """
    ranges = ev[ev["kind"] == "TR"]
    if ranges.empty:
        return []
    n = len(index)
    known = _positions(index, ranges["time"])
    sides = ranges["direction"].to_numpy(dtype=int)
    chosen = list(np.flatnonzero((known >= 0) & (known <= n - 1))[-MAX_RANGES:])
    last = phase.iloc[-1] if isinstance(phase, pd.Series) and len(phase) else phase
    if isinstance(last, str):
        for side in (1, -1):
            if _in_range_phase(last, side):
                earlier = np.flatnonzero((known < 0) & (sides == side))
                if earlier.size and int(earlier[-1]) not in chosen:
                    chosen.insert(0, int(earlier[-1]))
    out: list[tuple[pd.Series, float]] = []
    breaks = ev[ev["kind"].isin(["SOS", "SOW"])]
    for i in chosen:
        row = ranges.iloc[i]
        side = int(row["direction"])
        end = n - 0.5
        if isinstance(phase, pd.Series) and len(phase):
            after = phase[phase.index >= row["time"]]
            left = np.flatnonzero(~after.map(lambda ph, s=side: _in_range_phase(ph, s)))
            if left.size:
                end = min(end, _positions(index, pd.Series([after.index[left[0]]]))[0] + 0.5)
        else:
            own = breaks[(breaks["direction"] == side) & (breaks["time"] > row["time"])]
            if len(own):
                end = min(end, _positions(index, own["time"].iloc[:1])[0] + 0.5)
        out.append((row, float(end)))
    return out


def _label_above(kind: str, direction: int) -> bool:
    """Events at highs are labelled above the bar, events at lows below."""
    at_high = kind in ("AR", "SOS", "SOW")  # AR/SOS of accumulation are highs, SOW a low
    if direction > 0:
        return at_high and kind != "SOW"
    return not at_high or kind == "SOS"


def _draw_wyckoff(
    ax: Axes,
    ev: pd.DataFrame,
    window: pd.DataFrame,
    span: float,
    phase: str | pd.Series | None,
) -> tuple[float, float]:
    """Range box and event labels; returns the lowest and highest label position."""
    index = pd.DatetimeIndex(window.index)
    n = len(index)
    ylo = yhi = float(window["Close"].iloc[-1])
    if ev.empty:
        return ylo, yhi
    for row, end in _ranges(ev, index, phase):
        color = BULL if int(row["direction"]) > 0 else BEAR
        x0 = _positions(index, pd.Series([row["origin"]]))[0]
        xs = max(float(x0), 0.0) - 0.4
        if end <= xs:
            continue
        ax.add_patch(
            Rectangle(
                (xs, float(row["bottom"])),
                end - xs,
                float(row["top"]) - float(row["bottom"]),
                fill=False,
                edgecolor=color,
                linestyle="--",
                linewidth=1.0,
                alpha=0.7,
                zorder=1,
            )
        )
        ax.text(xs + 0.3, float(row["top"]), "TR", color=color, fontsize=8, va="bottom")
    labels = ev[ev["kind"] != "TR"]
    x = _positions(index, labels["origin"])
    known = _positions(index, labels["time"])
    vis = np.flatnonzero((x >= 0) & (known <= n - 1))[-MAX_WYCKOFF_LABELS:]
    highs = window["High"].to_numpy()
    lows = window["Low"].to_numpy()
    placed: list[tuple[int, bool]] = []
    for i in vis:
        row = labels.iloc[i]
        xi = int(x[i])
        color = BULL if int(row["direction"]) > 0 else BEAR
        above = _label_above(str(row["kind"]), int(row["direction"]))
        tier = sum(1 for px, pa in placed if pa == above and abs(px - xi) <= 4)
        placed.append((xi, above))
        anchor = highs[xi] if above else lows[xi]
        offset = (0.06 + 0.065 * tier) * span
        ytext = anchor + offset if above else anchor - offset
        ylo, yhi = min(ylo, ytext - 0.05 * span), max(yhi, ytext + 0.05 * span)
        ax.annotate(
            str(row["kind"]),
            xy=(xi, anchor),
            xytext=(xi, ytext),
            color="white",
            fontsize=9,
            fontweight="bold",
            ha="center",
            va="bottom" if above else "top",
            bbox={"boxstyle": "round,pad=0.2", "fc": color, "ec": color, "alpha": 0.85},
            arrowprops={"arrowstyle": "-", "color": color, "lw": 1.0},
            zorder=4,
        )
    return ylo, yhi


def render_chart(
    bars: pd.DataFrame,
    out: str | Path | BinaryIO,
    *,
    smc_events: pd.DataFrame | None = None,
    wyckoff_events: pd.DataFrame | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    wyckoff_phase: str | pd.Series | None = None,
    last_n: int = 120,
) -> None:
    """Write the annotated PNG of the last ``last_n`` bars to ``out`` (path or binary file).

    ``bars``: lowercase OHLC(V) columns, DatetimeIndex (rows without prices are skipped).
    Events: DESIGN.md section 6 frames (SMC kinds of ``pulse.analysis.smc``, Wyckoff kinds
    of ``pulse.analysis.wyckoff``); either may be None. ``wyckoff_phase`` (the per-bar phase
    Series, or just the phase at the last bar) ends each trading-range box where its
    structure left the range, and keeps an older range boxed while it is still live.
    Raises ValueError on unusable bars.
    """
    window = _window(bars, last_n)
    smc = _clean_events(smc_events)
    wy = _clean_events(wyckoff_events)
    span = float(window["High"].max() - window["Low"].min()) or 1.0
    phase = wyckoff_phase
    if isinstance(phase, pd.Series) and len(phase):
        pidx = pd.DatetimeIndex(phase.index)
        if pidx.tz is not None:
            pidx = pidx.tz_convert("UTC").tz_localize(None)
        phase = phase[np.asarray(pidx <= window.index[-1])]  # nothing after the last bar
    with _LOCK:
        has_volume = "Volume" in window
        extra: dict[str, Any] = {"panel_ratios": (5, 1)} if has_volume else {}
        fig, axes = mpf.plot(
            window,
            type="candle",
            style=_style(),
            volume=has_volume,
            **extra,
            figsize=FIGSIZE,
            returnfig=True,
            datetime_format="%d %b %H:%M",
            xrotation=0,
            tight_layout=False,
            scale_padding={"left": 0.3, "right": 1.1, "top": 0.9, "bottom": 0.6},
            ylabel="",
            ylabel_lower="",
            warn_too_much_data=10_000,
        )
        try:
            ax: Axes = axes[0]
            index = pd.DatetimeIndex(window.index)
            _draw_zones(ax, smc, index, "order_block")
            _draw_zones(ax, smc, index, "fvg")
            _draw_breaks(ax, smc, index)
            _draw_swings(ax, smc, index, span)
            label_lo, label_hi = _draw_wyckoff(ax, wy, window, span, phase)
            lo = min(float(window["Low"].min()) - 0.06 * span, label_lo)
            hi = max(float(window["High"].max()) + 0.06 * span, label_hi)
            ax.set_ylim(lo, hi)
            ax.set_xlim(-1, len(window) + 0.5)
            if title:
                fig.suptitle(title, color=TEXT, fontsize=16, fontweight="bold", y=0.975)
            if subtitle:
                fig.text(0.5, 0.925, subtitle, color=NEUTRAL, fontsize=10.5, ha="center")
            fig.savefig(out, format="png", dpi=DPI, facecolor=BG)
        finally:
            plt.close(fig)


def _get(obj: Any, *names: str) -> Any:
    """First attribute (or mapping key) of ``obj`` among ``names`` that is not None."""
    for name in names:
        val = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if val is not None:
            return val
    return None


def _events_of(part: Any) -> pd.DataFrame | None:
    if part is None:
        return None
    if isinstance(part, pd.DataFrame):
        return part
    ev = _get(part, "events")
    return ev if isinstance(ev, pd.DataFrame) else None


def _score_of(analysis: Any, bars: pd.DataFrame) -> Any:
    """The explained score at the chart's last bar: ``score_at`` of that bar when the
    analysis offers it (pulse.analysis.confluence.AnalysisResult), else ``latest``,
    else the analysis itself (already a score-like object)."""
    score_at = getattr(analysis, "score_at", None)
    a_bars = getattr(analysis, "bars", None)
    good = bars.dropna(subset=["close"]) if "close" in bars else bars
    if callable(score_at) and isinstance(a_bars, pd.DataFrame) and len(good):
        pos = int(a_bars.index.searchsorted(good.index[-1], side="right")) - 1
        if pos >= 0:
            return score_at(pos)
    latest = getattr(analysis, "latest", None)
    if callable(latest):
        return latest()
    return analysis if latest is None else latest  # ``latest`` may be a property


@dataclass(frozen=True)
class ChartInputs:
    """The plain inputs of :func:`render_chart` taken from an analysis object."""

    smc_events: pd.DataFrame | None
    wyckoff_events: pd.DataFrame | None
    title: str | None
    subtitle: str | None
    wyckoff_phase: pd.Series | None  # per bar, up to the chart's last bar
    phase_now: str | None  # at the chart's last bar


def chart_inputs(
    analysis: Any,
    bars: pd.DataFrame,
    *,
    title: str | None = None,
    timeframe: str | None = None,
) -> ChartInputs:
    """Read events, score title, phase and reasons from ``analysis`` (see
    :func:`render_analysis_chart`), for the chart whose last bar is ``bars``' last."""
    smc = _events_of(_get(analysis, "smc_events", "smc"))
    wy_part = _get(analysis, "wyckoff_events", "wyckoff")
    wy = _events_of(wy_part)
    scored = _score_of(analysis, bars)
    symbol = _get(scored, "symbol") or _get(analysis, "symbol") or ""
    if title is None:
        score = _get(scored, "score")
        if isinstance(score, int | float):
            title = score_title(
                str(symbol),
                timeframe or _get(analysis, "timeframe"),
                float(score),
                str(_get(scored, "direction") or ""),
                _get(scored, "grade"),
            )
        elif symbol:
            title = f"{symbol} {timeframe}" if timeframe else str(symbol)
    bits: list[str] = []
    phase = _get(wy_part, "phase") if wy_part is not None else None
    last_phase: str | None = None
    upto: pd.Series | None = None
    if isinstance(phase, pd.Series) and len(phase):
        upto = phase[phase.index <= bars.index[-1]] if len(bars) else phase
        last_phase = str(upto.iloc[-1]) if len(upto) else None
    if last_phase:
        bits.append(f"Wyckoff: {last_phase.replace('_', ' ')}")
    reasons = _get(scored, "reasons")
    if isinstance(reasons, list | tuple) and reasons:
        bits.append(" + ".join(str(r) for r in list(reasons)[:3]))
    return ChartInputs(smc, wy, title, "  ·  ".join(bits) or None, upto, last_phase)


def render_analysis_chart(
    analysis: Any,
    bars: pd.DataFrame,
    out: str | Path | BinaryIO,
    *,
    title: str | None = None,
    last_n: int = 120,
    timeframe: str | None = None,
) -> None:
    """Chart a confluence analysis (thin adapter over :func:`render_chart`).

    ``analysis`` is a ``pulse.analysis.confluence.AnalysisResult`` (``smc.events``,
    ``wyckoff.events``/``.phase``, ``score_at``/``latest`` giving symbol, score, direction,
    grade, reasons); any object with those attributes (or ``smc_events``/
    ``wyckoff_events`` frames and ``score``/``direction``/``grade``/``reasons``) works.
    Events known after the chart's last bar are not drawn. Without ``title`` the score
    title is built (``EURUSD H1 — 82/100 long (high)``, ``timeframe`` optional).
    """
    x = chart_inputs(analysis, bars, title=title, timeframe=timeframe)
    render_chart(
        bars,
        out,
        smc_events=x.smc_events,
        wyckoff_events=x.wyckoff_events,
        title=x.title,
        subtitle=x.subtitle,
        wyckoff_phase=x.wyckoff_phase,
        last_n=last_n,
    )
