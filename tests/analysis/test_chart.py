"""Annotated analysis chart: a valid Discord-sized PNG from real bars and events."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bot.charts import render_analysis_chart, render_chart, score_title
from bot.charts.analysis_chart import chart_inputs
from pulse.analysis.smc import analyze_smc
from pulse.analysis.wyckoff import analyze_wyckoff
from pulse.config import PulseConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CFG = PulseConfig()


@pytest.fixture(scope="module")
def eurusd() -> pd.DataFrame:
    from backtesting.test import EURUSD

    df = EURUSD.rename(columns=str.lower).astype(float)
    df.index = df.index.tz_localize("UTC")
    return df.iloc[:4300]


def _png(buf: bytes) -> Image.Image:
    assert buf[:8] == PNG_MAGIC
    img = Image.open(io.BytesIO(buf))
    img.load()
    return img


def _render(bars: pd.DataFrame, **kw: object) -> Image.Image:
    buf = io.BytesIO()
    render_chart(bars, buf, **kw)  # type: ignore[arg-type]
    return _png(buf.getvalue())


def test_score_title_format() -> None:
    assert score_title("EURUSD", "H1", 82.4, "long", "high") == "EURUSD H1 — 82/100 long (high)"
    assert score_title("XAUUSD", None, 41.6, "short") == "XAUUSD — 42/100 short"


def test_real_bars_with_events_make_an_embed_sized_png(eurusd: pd.DataFrame) -> None:
    smc = analyze_smc(eurusd, CFG.analysis.smc).events
    wy = analyze_wyckoff(eurusd, CFG.analysis.wyckoff)
    last = eurusd.index[-120]
    # the window really holds events of every drawn family
    assert {"order_block", "fvg", "bos"} <= set(smc.loc[smc["time"] >= last, "kind"])
    assert {"SOS", "LPS"} <= set(wy.events.loc[wy.events["time"] >= last, "kind"])
    img = _render(
        eurusd,
        smc_events=smc,
        wyckoff_events=wy.events,
        title=score_title("EURUSD", "H1", 82, "long", "high"),
        wyckoff_phase=wy.phase,
    )
    assert img.format == "PNG"
    assert img.size == (1200, 700)
    px = np.asarray(img.convert("RGB"), dtype=np.int16)
    # dark background: the corner pixel is the theme colour
    assert tuple(px[5, 5]) == (0x13, 0x17, 0x22)
    # annotations change the picture: compare with the bare candles
    bare = np.asarray(_render(eurusd).convert("RGB"), dtype=np.int16)
    changed = np.abs(px - bare).sum(axis=2) > 30
    assert changed.mean() > 0.02
    # green (bullish zone/label) and red (bearish) are both present
    greenish = (px[..., 1] > px[..., 0] + 40) & (px[..., 1] > 90)
    reddish = (px[..., 0] > px[..., 1] + 60) & (px[..., 0] > 150)
    assert greenish.sum() > 500 and reddish.sum() > 500


def test_chart_never_shows_what_was_not_known_at_its_last_bar(eurusd: pd.DataFrame) -> None:
    """Drawing bars[:m] with the full run's events equals drawing it with the events a
    run on bars[:m] would have had (later mitigations are invisible too)."""
    full_smc = analyze_smc(eurusd, CFG.analysis.smc).events
    full_wy = analyze_wyckoff(eurusd, CFG.analysis.wyckoff).events
    m = 4000
    part = eurusd.iloc[:m]
    end = part.index[-1]
    smc_m = full_smc[full_smc["time"] <= end].copy()
    smc_m.loc[smc_m["mitigated_at"] > end, "mitigated_at"] = pd.NaT
    wy_m = full_wy[full_wy["time"] <= end]
    a = np.asarray(_render(part, smc_events=full_smc, wyckoff_events=full_wy))
    b = np.asarray(_render(part, smc_events=smc_m, wyckoff_events=wy_m))
    assert np.array_equal(a, b)


def test_adapter_renders_a_confluence_analysis_to_a_file(
    eurusd: pd.DataFrame, tmp_path: Path
) -> None:
    from pulse.analysis.confluence import analyze

    analysis = analyze(eurusd, CFG, "EURUSD")
    x = chart_inputs(analysis, eurusd, timeframe="H1")
    latest = analysis.score_at(-1)
    assert x.title == score_title("EURUSD", "H1", latest.score, latest.direction, latest.grade)
    assert x.phase_now == analysis.wyckoff.phase.iloc[-1]
    assert x.wyckoff_phase is not None and x.wyckoff_phase.index[-1] == eurusd.index[-1]
    assert x.subtitle is not None and latest.reasons[0] in x.subtitle
    assert x.smc_events is analysis.smc.events
    out = tmp_path / "score.png"
    render_analysis_chart(analysis, eurusd, out, timeframe="H1")
    data = out.read_bytes()
    assert _png(data).size == (1200, 700)
    # charting an earlier bar scores that bar, not the last one
    earlier = eurusd.iloc[:4200]
    x_early = chart_inputs(analysis, earlier, timeframe="H1")
    s = analysis.score_at(4199)
    assert x_early.title == score_title("EURUSD", "H1", s.score, s.direction, s.grade)
    assert x_early.wyckoff_phase is not None
    assert x_early.wyckoff_phase.index[-1] == earlier.index[-1]


def test_gaps_nan_rows_no_volume_and_short_series(eurusd: pd.DataFrame) -> None:
    bars = eurusd.iloc[-300:].copy()
    bars.iloc[[10, 150, 299], :4] = np.nan  # missing bars, the last one included
    wy = analyze_wyckoff(bars, CFG.analysis.wyckoff).events
    assert _render(bars, wyckoff_events=wy, last_n=120).size == (1200, 700)
    assert _render(bars.drop(columns="volume"), title="no volume").size == (1200, 700)
    assert _render(bars.iloc[:5], last_n=120).size == (1200, 700)  # fewer bars than last_n
    assert _render(bars.assign(volume=0.0)).size == (1200, 700)


def test_unusable_bars_raise_value_error(eurusd: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="missing column"):
        render_chart(eurusd.drop(columns="close"), io.BytesIO())
    with pytest.raises(ValueError, match="no bar with prices"):
        render_chart(eurusd.iloc[:3] * np.nan, io.BytesIO())
    with pytest.raises(ValueError, match="last_n"):
        render_chart(eurusd, io.BytesIO(), last_n=1)


def test_concurrent_renders_from_worker_threads(eurusd: pd.DataFrame) -> None:
    """The bot renders in worker threads: concurrent charts come out whole and identical."""
    from concurrent.futures import ThreadPoolExecutor

    wy = analyze_wyckoff(eurusd, CFG.analysis.wyckoff).events

    def draw(_: int) -> bytes:
        buf = io.BytesIO()
        render_chart(eurusd, buf, wyckoff_events=wy, title="EURUSD H1", last_n=80)
        return buf.getvalue()

    with ThreadPoolExecutor(max_workers=3) as pool:
        outs = list(pool.map(draw, range(3)))
    images = [np.asarray(_png(b)) for b in outs]
    assert all(img.shape == (700, 1200, 4) for img in images)
    assert np.array_equal(images[0], images[1]) and np.array_equal(images[1], images[2])
