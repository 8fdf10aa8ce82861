"""Confluence: one explained 0-100 score per direction from SMC, Wyckoff and indicators.

:func:`analyze` runs the indicators, SMC and Wyckoff analyzers once over a bar frame and
scores every bar causally (the score at bar t uses only what the analyzers knew at t:
events with ``time <= t``, zones not yet mitigated by bar t, indicator values at t). The
result serves ``pulse score`` (its last bar), ``pulse calibrate`` (the whole series) and
the charts. :class:`ConfluenceScorer` wraps it for one-off scoring of a live window.

Each component (smc, wyckoff, technical) scores long and short separately, 0-100, from
the sum of the points of the factors below that hold at the bar (negative points count
against), through ``100 x (1 - exp(-points / 22))``: diminishing returns, so one strong
signal is worth about 80 and more confirmation adds less and less. Everything is
direction-aware (a bearish block never raises a long score) and every factor is a
specific event or state, never a condition that holds most of the time. "Fading" factors
are worth their points on the event's bar and lose them linearly over ``recency_bars``
(events), half of it (structure breaks, which come every couple of dozen bars), a third
of it (displacement, the most frequent event) or ``technical.signal_bars`` (indicator
crosses). On the EURUSD H1 sample no factor is active on more than a third of the bars.

SMC (long; short mirrors it)
  - latest structure break bullish: CHoCH 35, BOS 25 (fading); a fresh bearish break
    counts against: CHoCH -25, BOS -15 (fading)
  - bullish order block retest: 35 while the bar's low reaches an unmitigated bullish
    block (within ``zone_touch_atr`` x ATR, block younger than ``zone_max_age_bars``)
  - bullish fair value gap retest: 20 (same rule)
  - sell-side liquidity sweep: 30 (fading); bullish displacement: 15 (fading)
  - that latest bullish break agrees with the swing-structure trend
    (``structure_swing_length``): 10 (fading)
Wyckoff (events with direction +1 for long, -1 for short; fading; an event does not
count while the phase belongs to the other side's structure)
  - spring / UTAD 40; SOS / SOW, LPS / LPSY 35; ST (and UT, its distribution twin) 20;
    SC / BC 20; AR 15
  - phase: accumulation C 25, D 30, E 20, markup 15 (distribution/markdown for short)
Technical (long)
  - RSI below ``rsi_oversold`` 35 (short: above ``rsi_overbought``); no RSI signal at
    all before the first change of close (TA-Lib reports 0 there)
  - RSI crossing back up through ``rsi_oversold`` 25 (fading)
  - MACD crossing above its signal 25 (fading)
  - close at or below the lower Bollinger band 20 (not while the bands are collapsed)
  - pullback to the fast EMA in an uptrend (fast EMA above slow, low at or below the fast
    EMA, close above it) 20
  - volume above ``volume_spike`` x its SMA on a bullish bar 15

Total = weighted sum with ``confluence_weights.for_symbol(symbol)``; the best side is
reported (long on a tie) with its grade (``grade_high``/``medium``/``low``, else minimal)
and its reasons, strongest contribution first, plus the other side's score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict

from pulse.analysis.bars import OHLCV, normalize_bars
from pulse.analysis.indicators import compute_indicators
from pulse.analysis.smc import SMC_KINDS, SMCResult, analyze_smc, empty_events
from pulse.config import AnalysisConfig, ConfluenceWeights, PulseConfig

__all__ = [
    "COMPONENTS",
    "SATURATION_POINTS",
    "AnalysisResult",
    "ConfluenceResult",
    "ConfluenceScorer",
    "Factor",
    "OppositeSide",
    "ScoreSeries",
    "analyze",
    "grade_of",
]

COMPONENTS: tuple[str, str, str] = ("smc", "wyckoff", "technical")
#: component = 100 x (1 - exp(-points / SATURATION_POINTS)): diminishing returns, so the
#: strongest single signal of a component (35-40 points) is worth about 80 and two good
#: signals about 95; the canonical "bullish order block + Wyckoff spring + RSI oversold"
#: lands just above 80 (high).
SATURATION_POINTS = 22.0
Direction = Literal["long", "short"]
Grade = Literal["high", "medium", "low", "minimal"]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

_WYCKOFF_EVENT_POINTS: dict[str, float] = {
    "spring": 40, "UTAD": 40, "SOS": 35, "SOW": 35, "LPS": 35, "LPSY": 35,
    # an upthrust before any ST is the distribution side's secondary test (the analyzer's
    # mirror of an accumulation ST that undercut the bottom), so it scores as an ST
    "UT": 20, "ST": 20, "SC": 20, "BC": 20, "AR": 15,
}
_WYCKOFF_EVENT_LABEL: dict[str, str] = {
    "spring": "Wyckoff spring", "UTAD": "Wyckoff UTAD", "SOS": "Wyckoff sign of strength",
    "SOW": "Wyckoff sign of weakness", "LPS": "Wyckoff last point of support",
    "LPSY": "Wyckoff last point of supply", "UT": "Wyckoff upthrust",
    "ST": "Wyckoff secondary test", "SC": "Wyckoff selling climax",
    "BC": "Wyckoff buying climax", "AR": "Wyckoff automatic rally",
}
#: phase -> (side, points)
_PHASE_POINTS: dict[str, tuple[int, float]] = {
    "accumulation_C": (1, 25), "accumulation_D": (1, 30), "accumulation_E": (1, 20),
    "markup": (1, 15),
    "distribution_C": (-1, 25), "distribution_D": (-1, 30), "distribution_E": (-1, 20),
    "markdown": (-1, 15),
}


class WyckoffLike(Protocol):
    """What the scorer needs from the Wyckoff analyzer."""

    @property
    def events(self) -> pd.DataFrame: ...

    @property
    def phase(self) -> pd.Series: ...


@dataclass(frozen=True, eq=False)
class _NoWyckoff:
    events: pd.DataFrame
    phase: pd.Series


class OppositeSide(BaseModel):
    """The side not chosen, and its score."""

    model_config = ConfigDict(frozen=True)
    direction: Direction
    score: float


class ConfluenceResult(BaseModel):
    """The score of one bar: best side, grade, components and reasons (strongest first)."""

    model_config = ConfigDict(frozen=True)
    symbol: str | None
    time: AwareDatetime
    direction: Direction
    score: float
    grade: Grade
    components: dict[str, float]
    reasons: list[str]
    opposite: OppositeSide

    def summary_text(self, max_reasons: int = 4) -> str:
        """``"82/100 long: bullish order block retest + Wyckoff spring + RSI oversold"``,
        the strongest ``max_reasons`` reasons and how many more there are."""
        head = f"{self.score:.0f}/100 {self.direction}"
        pro = [r for r in self.reasons if not r.startswith("against ")]
        if not pro:
            return f"{head}: no confluence"
        more = len(pro) - max_reasons
        text = " + ".join(pro[:max_reasons])
        return f"{head}: {text}" + (f" (+{more} more)" if more > 0 else "")

    @property
    def summary(self) -> str:
        """One line: score, direction and the strongest four reasons."""
        return self.summary_text()

    def to_json(self) -> dict[str, Any]:
        """The ``pulse score --json`` object."""
        return self.model_dump(mode="json")


@dataclass(frozen=True, eq=False)
class Factor:
    """One scored condition: per-bar points for one side of one component."""

    component: str
    side: int
    label: str
    points: FloatArray


@dataclass(frozen=True, eq=False)
class ScoreSeries:
    """Causal scores of every bar, both sides, with the factors that made them."""

    index: pd.DatetimeIndex
    long: FloatArray
    short: FloatArray
    components: dict[tuple[str, int], FloatArray]
    factors: list[Factor]
    weights: tuple[float, float, float]
    grades: tuple[float, float, float]

    @property
    def direction(self) -> IntArray:
        """+1 where long is the better side (ties included), else -1."""
        return np.where(self.long >= self.short, 1, -1)

    @property
    def best(self) -> FloatArray:
        """Per bar: the better side's score."""
        return np.maximum(self.long, self.short)

    def grade_codes(self) -> IntArray:
        """3 high, 2 medium, 1 low, 0 minimal, per bar (of the best side)."""
        hi, med, lo = self.grades
        s = self.best
        return np.select([s >= hi, s >= med, s >= lo], [3, 2, 1], 0)

    def frame(self) -> pd.DataFrame:
        """long, short, direction (+1/-1), score, grade per bar."""
        names = np.array(["minimal", "low", "medium", "high"], dtype=object)
        return pd.DataFrame(
            {"long": self.long, "short": self.short, "direction": self.direction,
             "score": self.best, "grade": names[self.grade_codes()]},
            index=self.index,
        )


def grade_of(score: float, cfg: AnalysisConfig) -> Grade:
    """high >= grade_high, medium >= grade_medium, low >= grade_low, else minimal."""
    if score >= cfg.grade_high:
        return "high"
    if score >= cfg.grade_medium:
        return "medium"
    if score >= cfg.grade_low:
        return "low"
    return "minimal"


# --------------------------------------------------------------------------- helpers


def _positions(index_ns: IntArray, times: pd.Series) -> IntArray:
    """Bar positions of event times (every event time is a bar of the index)."""
    if str(times.dtype) == "datetime64[ns, UTC]":
        ns = times.to_numpy(dtype="datetime64[ns]").view(np.int64)
    else:
        t = pd.DatetimeIndex(times)
        t = t.tz_localize("UTC") if t.tz is None else t
        ns = t.as_unit("ns").asi8
    pos: IntArray = np.searchsorted(index_ns, ns)
    return pos


def _fade(pos: IntArray, n: int, horizon: int) -> tuple[FloatArray, IntArray]:
    """Per bar: 1 on the latest event's bar fading to 0 at ``horizon`` bars; and which event
    (index into ``pos``, -1 before the first). ``pos`` must be sorted."""
    marks = np.full(n, -1, dtype=np.int64)
    if pos.size:
        marks[pos] = np.arange(pos.size)  # the last of several events on one bar wins
    last = np.maximum.accumulate(marks)
    at = np.where(last >= 0, pos[np.maximum(last, 0)] if pos.size else 0, 0)
    age = np.arange(n) - at
    fade = np.where(last >= 0, np.clip(1.0 - age / float(horizon), 0.0, 1.0), 0.0)
    return fade, last


def _recent(pos: IntArray, n: int, horizon: int) -> FloatArray:
    """Per bar: 1 on the bar of the latest event at or before it, fading to 0 at
    ``horizon`` bars (0 before any event)."""
    if pos.size == 0:
        return np.zeros(n)
    marks = np.full(n, -(horizon + 1), dtype=np.int64)
    marks[pos] = pos
    age = np.arange(n) - np.maximum.accumulate(marks)
    out: FloatArray = np.clip(1.0 - age / float(horizon), 0.0, None)
    return out


def _touches(
    pos: IntArray, mit: IntArray, top: FloatArray, bottom: FloatArray, side: int,
    max_age: int, tol: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
) -> np.ndarray:
    """Bars on which price retests a live zone of ``side`` (bool per bar)."""
    n = high.shape[0]
    out = np.zeros(n, dtype=bool)
    if pos.size == 0:
        return out
    end = np.minimum(np.where(mit >= 0, mit, n), np.minimum(pos + max_age + 1, n))
    start = pos + 1
    lengths = np.maximum(end - start, 0)
    total = int(lengths.sum())
    if total == 0:
        return out
    z = np.repeat(np.arange(pos.size), lengths)
    offs = np.cumsum(lengths) - lengths
    b = start[z] + (np.arange(total) - offs[z])
    if side > 0:
        hit = (low[b] <= top[z] + tol[b]) & (close[b] >= bottom[z])
    else:
        hit = (high[b] >= bottom[z] - tol[b]) & (close[b] <= top[z])
    out[b[hit]] = True
    return out


def _cross_up(a: FloatArray, b: FloatArray | float) -> np.ndarray:
    """a crosses above b at t: a[t-1] <= b[t-1] and a[t] > b[t]."""
    bb = np.broadcast_to(np.asarray(b, dtype=float), a.shape)
    out = np.zeros(a.shape, dtype=bool)
    out[1:] = (a[:-1] <= bb[:-1]) & (a[1:] > bb[1:])
    return out


def _cross_down(a: FloatArray, b: FloatArray | float) -> np.ndarray:
    bb = np.broadcast_to(np.asarray(b, dtype=float), a.shape)
    out = np.zeros(a.shape, dtype=bool)
    out[1:] = (a[:-1] >= bb[:-1]) & (a[1:] < bb[1:])
    return out


# --------------------------------------------------------------------------- factors


@dataclass
class _Inputs:
    n: int
    index_ns: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    ind: dict[str, FloatArray]
    factors: list[Factor] = field(default_factory=list)

    def add(self, component: str, side: int, label: str, points: Any) -> None:
        arr = np.asarray(points, dtype=float)
        if not arr.any():
            return
        if arr.shape != (self.n,):
            arr = np.broadcast_to(arr, (self.n,)).astype(float)
        self.factors.append(Factor(component, side, label, arr))


def _smc_factors(x: _Inputs, smc: SMCResult, cfg: AnalysisConfig) -> None:
    n, rec, p = x.n, cfg.recency_bars, cfg.smc
    ev = smc.arrays
    pos, d, mit, top, bot = ev.time, ev.direction, ev.mitigated, ev.top, ev.bottom
    kind = ev.kind  # integer codes into SMC_KINDS
    code = {k: i for i, k in enumerate(SMC_KINDS)}

    # structure: only the latest break counts
    brk = (kind == code["bos"]) | (kind == code["choch"])
    major = smc.major_trend_values
    fade, last = _fade(pos[brk], n, max(1, rec // 2))
    if brk.any():
        bd = d[brk][np.maximum(last, 0)] * (last >= 0)
        bchoch = (kind[brk] == code["choch"])[np.maximum(last, 0)] & (last >= 0)
        for side, name, other in ((1, "bullish", "bearish"), (-1, "bearish", "bullish")):
            x.add("smc", side, f"{name} CHoCH", 35 * fade * ((bd == side) & bchoch))
            x.add("smc", side, f"{name} BOS", 25 * fade * ((bd == side) & ~bchoch))
            x.add("smc", side, f"against {other} CHoCH", -25 * fade * ((bd == -side) & bchoch))
            x.add("smc", side, f"against {other} BOS", -15 * fade * ((bd == -side) & ~bchoch))
            x.add("smc", side, f"with the {name} swing structure",
                  10 * fade * ((bd == side) & (major == side)))

    tol = np.nan_to_num(p.zone_touch_atr * x.ind["atr"], nan=0.0)
    for k, pts, what in (("order_block", 35, "order block retest"), ("fvg", 20, "FVG retest")):
        for side, name in ((1, "bullish"), (-1, "bearish")):
            m = (kind == code[k]) & (d == side)
            hit = _touches(pos[m], mit[m], top[m], bot[m], side, p.zone_max_age_bars, tol,
                           x.high, x.low, x.close)
            x.add("smc", side, f"{name} {what}", pts * hit)
    for side, label in ((1, "sell-side liquidity sweep"), (-1, "buy-side liquidity sweep")):
        x.add("smc", side, label, 30 * _recent(pos[(kind == code["sweep"]) & (d == side)], n, rec))
    for side, name in ((1, "bullish"), (-1, "bearish")):
        m = (kind == code["displacement"]) & (d == side)
        x.add("smc", side, f"{name} displacement", 15 * _recent(pos[m], n, max(1, rec // 3)))


def _wyckoff_factors(x: _Inputs, wy: WyckoffLike, cfg: AnalysisConfig) -> None:
    ev = wy.events
    n, rec = x.n, cfg.recency_bars
    phase = wy.phase
    # side of the structure the phase belongs to: +1 accumulation/markup, -1 distribution/
    # markdown, 0 none; events of the other side are stale and do not count
    phase_side = np.zeros(n, dtype=np.int64)
    phase_masks: dict[str, np.ndarray] = {}
    if len(phase) == n and n:
        arr = phase.to_numpy(dtype=object)
        for name in pd.unique(arr):
            if isinstance(name, str) and name != "none":
                mask = arr == name
                phase_side[mask] = -1 if name.startswith(("distribution", "markdown")) else 1
                if name in _PHASE_POINTS:
                    phase_masks[name] = mask
    if len(ev):
        pos = _positions(x.index_ns, ev["time"])
        kind = ev["kind"].to_numpy()
        d = ev["direction"].to_numpy()
        for k in pd.unique(kind):
            pts = _WYCKOFF_EVENT_POINTS.get(str(k))
            if pts is None:
                continue
            for side in (1, -1):
                m = (kind == k) & (d == side)
                if m.any():
                    label = _WYCKOFF_EVENT_LABEL[str(k)]
                    if k == "AR" and side < 0:
                        label = "Wyckoff automatic reaction"
                    live = phase_side != -side
                    x.add("wyckoff", side, label, pts * _recent(pos[m], n, rec) * live)
    for name, mask in phase_masks.items():
        side, pts = _PHASE_POINTS[name]
        label = f"Wyckoff {name.replace('_', ' phase ')}" if "_" in name else f"Wyckoff {name}"
        x.add("wyckoff", side, label, pts * mask)


def _technical_factors(x: _Inputs, cfg: AnalysisConfig) -> None:
    t = cfg.technical
    ind = x.ind
    rsi, macd, sig = ind["rsi"], ind["macd"], ind["macd_signal"]
    sb = t.signal_bars

    def recent(mask: np.ndarray) -> FloatArray:
        return _recent(np.flatnonzero(mask), x.n, sb)

    # until a close changes RSI is undefined: TA-Lib reports 0, which would read as
    # "oversold" (and its jump to 100 as a cross up) and favour longs out of nothing
    moved = np.zeros(x.n, dtype=bool)
    moved[1:] = np.logical_or.accumulate(x.close[1:] != x.close[:-1])
    if not moved.all():
        rsi = np.where(moved, rsi, np.nan)
    # collapsed bands (no variation over the period) are touched by every close
    bands = ind["bb_upper"] > ind["bb_lower"]
    with np.errstate(invalid="ignore"):
        x.add("technical", 1, "RSI oversold", 35 * (rsi < t.rsi_oversold))
        x.add("technical", -1, "RSI overbought", 35 * (rsi > t.rsi_overbought))
        x.add("technical", 1, "RSI turning up from oversold",
              25 * recent(_cross_up(rsi, t.rsi_oversold)))
        x.add("technical", -1, "RSI turning down from overbought",
              25 * recent(_cross_down(rsi, t.rsi_overbought)))
        x.add("technical", 1, "MACD bullish cross", 25 * recent(_cross_up(macd, sig)))
        x.add("technical", -1, "MACD bearish cross", 25 * recent(_cross_down(macd, sig)))
        x.add("technical", 1, "close at lower Bollinger band",
              20 * ((x.close <= ind["bb_lower"]) & bands))
        x.add("technical", -1, "close at upper Bollinger band",
              20 * ((x.close >= ind["bb_upper"]) & bands))
        ef, es = ind["ema_fast"], ind["ema_slow"]
        x.add("technical", 1, f"pullback to EMA{t.ema_fast} in uptrend",
              20 * ((ef > es) & (x.low <= ef) & (x.close > ef)))
        x.add("technical", -1, f"pullback to EMA{t.ema_fast} in downtrend",
              20 * ((ef < es) & (x.high >= ef) & (x.close < ef)))
        spike = x.volume > t.volume_spike * ind["volume_sma"]
        x.add("technical", 1, "high-volume bullish bar", 15 * (spike & (x.close > x.open)))
        x.add("technical", -1, "high-volume bearish bar", 15 * (spike & (x.close < x.open)))


def score_series(
    bars: pd.DataFrame, indicators: pd.DataFrame, smc: SMCResult, wyckoff: WyckoffLike,
    cfg: AnalysisConfig, weights: tuple[float, float, float],
) -> ScoreSeries:
    """Score every bar of ``bars`` for both sides (causal, vectorised)."""
    idx = pd.DatetimeIndex(bars.index)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    x = _Inputs(
        n=len(bars),
        index_ns=idx.as_unit("ns").asi8,
        open=bars["open"].to_numpy(dtype=float),
        high=bars["high"].to_numpy(dtype=float),
        low=bars["low"].to_numpy(dtype=float),
        close=bars["close"].to_numpy(dtype=float),
        volume=bars["volume"].to_numpy(dtype=float),
        ind=dict(zip(indicators.columns, indicators.to_numpy(dtype=float).T, strict=True)),
    )
    _smc_factors(x, smc, cfg)
    _wyckoff_factors(x, wyckoff, cfg)
    _technical_factors(x, cfg)
    comps: dict[tuple[str, int], FloatArray] = {}
    totals = {1: np.zeros(x.n), -1: np.zeros(x.n)}
    for ci, comp in enumerate(COMPONENTS):
        for side in (1, -1):
            raw = np.zeros(x.n)
            for f in x.factors:
                if f.component == comp and f.side == side:
                    raw += f.points
            val = 100.0 * (1.0 - np.exp(-np.clip(raw, 0.0, None) / SATURATION_POINTS))
            comps[(comp, side)] = val
            totals[side] += weights[ci] * val
    return ScoreSeries(
        index=idx, long=totals[1], short=totals[-1], components=comps, factors=x.factors,
        weights=weights, grades=(cfg.grade_high, cfg.grade_medium, cfg.grade_low),
    )


# --------------------------------------------------------------------------- entry point


def _run_wyckoff(bars: pd.DataFrame, cfg: AnalysisConfig) -> WyckoffLike:
    """Run the Wyckoff analyzer; an empty result while it is not installed."""
    try:
        from pulse.analysis.wyckoff import analyze_wyckoff
    except ImportError:
        return _NoWyckoff(empty_events(), pd.Series("none", index=bars.index, dtype=object))
    res: WyckoffLike = analyze_wyckoff(bars, cfg.wyckoff)
    return res


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """Everything one analysis of a bar frame produced; reused by score, calibrate, charts."""

    symbol: str | None
    bars: pd.DataFrame
    indicators: pd.DataFrame
    smc: SMCResult
    wyckoff: WyckoffLike
    scores: ScoreSeries
    config: AnalysisConfig

    @property
    def events(self) -> pd.DataFrame:
        """SMC and Wyckoff events together, in time order, with a ``source`` column."""
        parts = [self.smc.events.assign(source="smc")]
        if len(self.wyckoff.events):
            parts.append(self.wyckoff.events.assign(source="wyckoff"))
        ev = pd.concat(parts, ignore_index=True)
        return ev.sort_values("time", kind="stable").reset_index(drop=True)

    def score_at(self, i: int = -1) -> ConfluenceResult:
        """The explained score of bar ``i`` (position; default the last bar)."""
        s = self.scores
        n = len(s.long)
        if n == 0:
            raise IndexError("no bars to score")
        i = i % n if -n <= i < n else i
        if not 0 <= i < n:
            raise IndexError(f"bar {i} out of range 0..{n - 1}")
        side = 1 if s.long[i] >= s.short[i] else -1
        w = dict(zip(COMPONENTS, s.weights, strict=True))
        contrib: list[tuple[float, str]] = []
        against: list[tuple[float, str]] = []
        for comp in COMPONENTS:
            fs = [f for f in s.factors if f.component == comp and f.side == side]
            # each positive factor's share of the component's value
            pos_sum = sum(float(f.points[i]) for f in fs if f.points[i] > 0)
            value = float(s.components[(comp, side)][i])
            scale = value / pos_sum if pos_sum > 0 else 0.0
            for f in fs:
                v = float(f.points[i])
                if v > 0:
                    contrib.append((w[comp] * v * scale, f.label))
                elif v < 0:
                    against.append((w[comp] * v, f.label))
        contrib.sort(key=lambda t: -t[0])
        against.sort(key=lambda t: t[0])
        score = float(s.long[i] if side > 0 else s.short[i])
        other = float(s.short[i] if side > 0 else s.long[i])
        ts = s.index[i]
        return ConfluenceResult(
            symbol=self.symbol,
            time=ts.to_pydatetime(),
            direction="long" if side > 0 else "short",
            score=round(score, 1),
            grade=grade_of(score, self.config),
            components={c: round(float(s.components[(c, side)][i]), 1) for c in COMPONENTS},
            reasons=[label for _, label in contrib] + [label for _, label in against],
            opposite=OppositeSide(direction="short" if side > 0 else "long",
                                  score=round(other, 1)),
        )

    @property
    def latest(self) -> ConfluenceResult:
        """The explained score of the last bar."""
        return self.score_at(-1)


def _configs(
    cfg: PulseConfig | AnalysisConfig | None, weights: ConfluenceWeights | None
) -> tuple[AnalysisConfig, ConfluenceWeights]:
    if isinstance(cfg, PulseConfig):
        return cfg.analysis, weights or cfg.confluence_weights
    return cfg or AnalysisConfig(), weights or ConfluenceWeights()


def _is_normalised(bars: pd.DataFrame) -> bool:
    """Already in :func:`normalize_bars` shape (then normalising again is skipped)."""
    if not (
        tuple(bars.columns) == OHLCV
        and isinstance(bars.index, pd.DatetimeIndex)
        and str(bars.index.tz) == "UTC"
    ):
        return False
    values = bars.to_numpy()
    if values.dtype != np.float64:
        return False
    prices = values[:, :4]
    ns = bars.index.asi8
    return bool(
        (ns[1:] > ns[:-1]).all()  # strictly increasing: sorted and unique
        and np.isfinite(values).all()
        and (prices > 0).all()
        and (values[:, 1] >= prices.max(axis=1)).all()
        and (values[:, 2] <= prices.min(axis=1)).all()
    )


def analyze(
    bars: pd.DataFrame,
    cfg: PulseConfig | AnalysisConfig | None = None,
    symbol: str | None = None,
    *,
    weights: ConfluenceWeights | None = None,
    checked: bool = False,
) -> AnalysisResult:
    """Indicators, SMC, Wyckoff and the causal score series for ``bars``, run once.

    ``bars`` in any spelling :func:`normalize_bars` accepts (already normalised frames
    are used as they are; ``checked=True`` says the caller has verified that)."""
    acfg, wcfg = _configs(cfg, weights)
    if not checked and not _is_normalised(bars):
        bars = normalize_bars(bars)
    if bars.attrs:
        # pandas deep-copies ``attrs`` into every column it hands out; the analyzers read
        # columns many times, so work on a shallow copy without them
        bars = bars.copy(deep=False)
        bars.attrs = {}
    ind = compute_indicators(bars, acfg.technical)
    smc = analyze_smc(bars, acfg.smc)
    wy = _run_wyckoff(bars, acfg)
    scores = score_series(bars, ind, smc, wy, acfg, wcfg.for_symbol(symbol))
    return AnalysisResult(symbol, bars, ind, smc, wy, scores, acfg)


class ConfluenceScorer:
    """Scores a symbol's latest bar (or the bar at a time) from a window of bars."""

    def __init__(
        self, cfg: PulseConfig | AnalysisConfig | None = None,
        weights: ConfluenceWeights | None = None,
    ) -> None:
        self.config, self.weights = _configs(cfg, weights)

    def window(self, bars: pd.DataFrame, at: datetime | pd.Timestamp | None = None) -> pd.DataFrame:
        """The last ``window_bars`` bars up to and including ``at`` (default: all)."""
        if at is not None:
            ts = pd.Timestamp(at)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            end = int(bars.index.searchsorted(ts, side="right"))
            if end == 0:
                raise ValueError(f"no bar at or before {ts.isoformat()}")
            bars = bars.iloc[:end]
        return bars.iloc[-self.config.window_bars:]

    def analyze(
        self, bars: pd.DataFrame, symbol: str | None = None,
        at: datetime | pd.Timestamp | None = None,
    ) -> AnalysisResult:
        """:func:`analyze` of the scoring window."""
        if not _is_normalised(bars):
            bars = normalize_bars(bars)
        window = self.window(bars, at)
        return analyze(window, self.config, symbol, weights=self.weights, checked=True)

    def score(
        self, bars: pd.DataFrame, symbol: str | None = None,
        at: datetime | pd.Timestamp | None = None,
    ) -> ConfluenceResult:
        """The explained score of the last bar of the window."""
        return self.analyze(bars, symbol, at).latest

    def series(self, bars: pd.DataFrame, symbol: str | None = None) -> ScoreSeries:
        """Causal scores of every bar, from one pass over all of ``bars``."""
        return analyze(bars, self.config, symbol, weights=self.weights).scores
