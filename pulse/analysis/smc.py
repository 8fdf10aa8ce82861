"""Smart-money concepts as causal events (DESIGN.md section 6).

Every event appears on the bar at which it became knowable from bars up to that bar, so
analysing ``bars[:m]`` gives exactly the events of the full run with ``time`` before
``bars.index[m]`` (``mitigated_at`` aside, which is tracked forward and may still be open
in the shorter run). Thresholds use running ATRs (TA-Lib, seeded at the first bar) and
never the range of the whole data set.

Rules (``n`` = ``SMCParams.swing_length``; "ATR" is the ATR of the bar *before* the one
being judged, so a bar is measured against what was normal before it):

- ``swing_high`` at bar ``c``: ``high[c]`` is strictly above the ``n`` highs before it and
  at least each of the ``n`` highs after it; known at ``c + n``. ``swing_low`` mirrors it.
  direction -1 for highs (supply), +1 for lows (demand); ``top == bottom`` = the level;
  mitigated at the first later close through the level.
- ``bos`` / ``choch``: the first close above the latest swing high (strictly, and while
  that swing is the latest confirmed one) is a bullish break (+1); a close below the
  latest swing low a bearish one. It is a ``choch`` when it goes against the direction of
  the previous break, otherwise a ``bos`` (the very first break is a ``bos``). origin =
  the broken swing, level in top/bottom.
- ``order_block``: on each break, among the bars from the broken swing to the bar before
  the break, skipping bars whose range >= ``ob_max_range_atr`` x ATR(``ob_atr_period``),
  the bar with the lowest low (bullish break) or highest high (bearish); ties take the
  later bar. Zone = that bar's high..low; known on the break; mitigated at the first
  later close through the far side (below the bottom of a bullish block).
- ``fvg``: three candles with ``low[i] > high[i-2]`` and a bullish middle candle
  (bullish gap, zone ``high[i-2]..low[i]``), or the mirror; known at ``i``, origin the
  middle candle; mitigated when filled (a later low at or below the bottom of a bullish
  gap, a later high at or above the top of a bearish one).
- ``liquidity_pool``: two consecutive swing highs (lows) within ``equal_level_atr`` x
  ATR(``atr_period``) of each other, with no high above (low below) the pair between
  them; known when the second is confirmed; direction +1 buy-side (equal highs, resting
  above price), -1 sell-side (equal lows). Zone spans the two levels; mitigated at the
  first later bar that trades beyond it.
- ``sweep``: that first bar, when it wicks beyond the pool and closes back inside
  (below the top of equal highs / above the bottom of equal lows). A sweep of buy-side
  liquidity is bearish (-1), of sell-side bullish (+1). Zone = wick extreme..pool level;
  mitigated at a later close beyond the wick extreme.
- ``displacement``: a body >= ``displacement_atr`` x ATR(``atr_period``); direction of
  the body; zone = the bar's high..low; never mitigated.

Structure trend (+1/-1, 0 before the first break) is returned per bar for the internal
swings (``swing_length``) and for the swing structure (``structure_swing_length``).

Implementation: numpy only, no per-bar Python loop. "First later bar where x crosses a
level" is answered for all events at once by binary lifting over sparse tables of
running maxima/minima, O((N + events) log N).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from pulse.analysis.indicators import atr
from pulse.config import SMCParams

__all__ = [
    "EVENT_COLUMNS",
    "SMC_KINDS",
    "SMCResult",
    "SparseTable",
    "analyze_smc",
    "empty_events",
]

EVENT_COLUMNS: tuple[str, ...] = (
    "time", "kind", "direction", "origin", "top", "bottom", "mitigated_at",
)
SMC_KINDS: tuple[str, ...] = (
    "swing_high", "swing_low", "bos", "choch", "order_block", "fvg",
    "liquidity_pool", "sweep", "displacement",
)
_KIND_RANK = {k: i for i, k in enumerate(SMC_KINDS)}

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class SparseTable:
    """Running max (or min) over power-of-two blocks: O(1) range queries and
    vectorised "first index after ``start`` where value crosses ``threshold``"."""

    def __init__(self, values: FloatArray, kind: Literal["max", "min"]) -> None:
        self.values = values
        self.kind = kind
        op = np.maximum if kind == "max" else np.minimum
        n = values.shape[0]
        levels = [values]
        half = 1
        while 2 * half <= n:
            prev = levels[-1]
            cur = prev.copy()
            op(prev[: n - half], prev[half:], out=cur[: n - half])
            levels.append(cur)
            half *= 2
        self.table = np.stack(levels) if n else np.empty((1, 0))
        self.n = n

    def range(self, lo: IntArray, hi: IntArray) -> FloatArray:
        """op(values[lo..hi]) inclusive, element-wise for arrays with ``lo <= hi``."""
        length = hi - lo + 1
        k = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
        a = self.table[k, lo]
        b = self.table[k, hi - (1 << k) + 1]
        return np.maximum(a, b) if self.kind == "max" else np.minimum(a, b)

    def first_beyond(self, start: IntArray, threshold: FloatArray) -> IntArray:
        """Smallest ``j > start`` with ``values[j] > threshold`` (a max table) or
        ``values[j] < threshold`` (a min table), or -1; element-wise."""
        n = self.n
        p = np.asarray(start, dtype=np.int64) + 1
        thr = np.asarray(threshold, dtype=np.float64)
        if p.size == 0 or n == 0:
            return np.full(p.shape, -1, dtype=np.int64)
        is_max = self.kind == "max"
        last = n - 1
        for k in range(self.table.shape[0] - 1, -1, -1):
            size = 1 << k
            block = self.table[k, np.minimum(p, last)]
            skip = (block <= thr) if is_max else (block >= thr)
            skip &= p + size <= n
            p += size * skip
        return np.where(p < n, p, -1)

    def first_many(self, *queries: tuple[IntArray, FloatArray]) -> list[IntArray]:
        """:meth:`first_beyond` for several (start, threshold) batches in one pass."""
        sizes = [np.asarray(q[0]).size for q in queries]
        res = self.first_beyond(
            np.concatenate([np.asarray(q[0], dtype=np.int64) for q in queries]),
            np.concatenate([np.asarray(q[1], dtype=np.float64) for q in queries]),
        )
        return np.split(res, np.cumsum(sizes)[:-1])


@dataclass(frozen=True)
class SMCResult:
    """SMC events (section 6 columns) and the structure trend per bar."""

    events: pd.DataFrame
    trend: pd.Series
    major_trend: pd.Series


def empty_events() -> pd.DataFrame:
    """An events frame with the section 6 columns and no rows."""
    return pd.DataFrame(
        {
            "time": pd.Series([], dtype="datetime64[ns, UTC]"),
            "kind": pd.Series([], dtype=object),
            "direction": pd.Series([], dtype=np.int64),
            "origin": pd.Series([], dtype="datetime64[ns, UTC]"),
            "top": pd.Series([], dtype=float),
            "bottom": pd.Series([], dtype=float),
            "mitigated_at": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )


@dataclass
class _Tables:
    high_max: SparseTable
    low_min: SparseTable
    close_max: SparseTable
    close_min: SparseTable


class _Collector:
    """Accumulates event arrays (positions, not times) kind by kind."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, IntArray, IntArray, IntArray, FloatArray, FloatArray,
                               IntArray]] = []

    def add(
        self, kind: str, time: Any, direction: Any, origin: Any, top: Any, bottom: Any,
        mitigated: Any,
    ) -> None:
        t = np.asarray(time, dtype=np.int64)
        if t.size == 0:
            return
        d = np.broadcast_to(np.asarray(direction, dtype=np.int64), t.shape)
        self.parts.append(
            (kind, t, d, np.asarray(origin, dtype=np.int64), np.asarray(top, dtype=float),
             np.asarray(bottom, dtype=float), np.asarray(mitigated, dtype=np.int64))
        )


def _swings(tab: _Tables, n: int, up: bool) -> tuple[IntArray, FloatArray]:
    """Origins and levels of swing highs (``up``) or lows of fractal length ``n``."""
    size = tab.high_max.n
    if size < 2 * n + 1:
        return np.empty(0, dtype=np.int64), np.empty(0)
    c = np.arange(n, size - n, dtype=np.int64)
    if up:
        v = tab.high_max.values[c]
        left = tab.high_max.range(c - n, c - 1)
        right = tab.high_max.range(c + 1, c + n)
        ok = (v > left) & (v >= right)
    else:
        v = tab.low_min.values[c]
        left = tab.low_min.range(c - n, c - 1)
        right = tab.low_min.range(c + 1, c + n)
        ok = (v < left) & (v <= right)
    return c[ok], v[ok]


def _merge_breaks(
    size: int, known_h: IntArray, org_h: IntArray, lvl_h: FloatArray, j_h: IntArray,
    known_l: IntArray, org_l: IntArray, lvl_l: FloatArray, j_l: IntArray,
) -> tuple[IntArray, IntArray, IntArray, FloatArray, IntArray]:
    """Breaks of swings that were still the latest of their side, in time order.

    ``j_*`` is each swing's first close beyond its level; it counts as a break only up to
    the bar on which the next swing of the same side is confirmed (that bar included:
    a break is checked before a newly confirmed swing replaces the level).
    Returns (bar, origin, direction, level, trend per bar).
    """
    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray]] = []
    Side = tuple[IntArray, IntArray, FloatArray, IntArray, int]
    sides: tuple[Side, Side] = ((known_h, org_h, lvl_h, j_h, 1), (known_l, org_l, lvl_l, j_l, -1))
    for known, org, lvl, j, sgn in sides:
        end = np.append(known[1:], size - 1)
        ok = (j >= 0) & (j <= end)
        parts.append((j[ok], org[ok], np.full(int(ok.sum()), sgn, dtype=np.int64), lvl[ok]))
    t = np.concatenate([p[0] for p in parts])
    o = np.concatenate([p[1] for p in parts])
    d = np.concatenate([p[2] for p in parts])
    lv = np.concatenate([p[3] for p in parts])
    order = np.lexsort((-d, t))
    t, o, d, lv = t[order], o[order], d[order], lv[order]
    trend = np.zeros(size, dtype=np.int64)
    if t.size:
        last = np.full(size, -1, dtype=np.int64)
        last[t] = np.arange(t.size)  # of two breaks on one bar the later in order wins
        last = np.maximum.accumulate(last)
        trend = np.where(last >= 0, d[np.maximum(last, 0)], 0)
    return t, o, d, lv, trend


def _order_blocks(
    brk_t: IntArray, brk_o: IntArray, brk_d: IntArray, rng_ok: np.ndarray,
    high: FloatArray, low: FloatArray,
) -> IntArray:
    """For each break, the order-block bar (or -1): extreme opposite bar in [origin, t)."""
    if brk_t.size == 0:
        return np.empty(0, dtype=np.int64)
    lengths = brk_t - brk_o
    seg = np.repeat(np.arange(brk_t.size), lengths)
    starts = np.cumsum(lengths) - lengths
    flat = brk_o[seg] + (np.arange(seg.size) - starts[seg])
    # value to minimise: low for bullish breaks, -high for bearish ones
    val = np.where(brk_d[seg] > 0, low[flat], -high[flat])
    val = np.where(rng_ok[flat], val, np.inf)
    segmin = np.minimum.reduceat(val, starts)
    hit = (val == segmin[seg]) & np.isfinite(val)
    pick: IntArray = np.maximum.reduceat(np.where(hit, flat, -1), starts)
    return pick


def _up(x: FloatArray) -> FloatArray:
    """Next float above: ``v >= x`` is ``v > _down(x)``; ``v <= x`` is ``v < _up(x)``."""
    return np.nextafter(x, np.inf)


def _down(x: FloatArray) -> FloatArray:
    return np.nextafter(x, -np.inf)


def analyze_smc(bars: pd.DataFrame, params: SMCParams) -> SMCResult:
    """All SMC events for ``bars`` (normalised OHLCV) and the structure trends."""
    o = bars["open"].to_numpy(dtype=float)
    h = bars["high"].to_numpy(dtype=float)
    lo = bars["low"].to_numpy(dtype=float)
    c = bars["close"].to_numpy(dtype=float)
    size = c.shape[0]
    idx = pd.DatetimeIndex(bars.index)
    if size == 0:
        z = pd.Series(np.zeros(0, dtype=np.int64), index=idx)
        return SMCResult(empty_events(), z, z)
    tab = _Tables(SparseTable(h, "max"), SparseTable(lo, "min"),
                  SparseTable(c, "max"), SparseTable(c, "min"))
    atr_s = atr(h, lo, c, params.atr_period)
    atr_l = atr(h, lo, c, params.ob_atr_period)
    prev_atr = np.concatenate([[np.nan], atr_s[:-1]])
    prev_atr_l = np.concatenate([[np.nan], atr_l[:-1]])
    out = _Collector()
    n, big_n = params.swing_length, params.structure_swing_length

    # stage 1: swings of both lengths and each swing's first close beyond its level
    sh, sl = _swings(tab, n, up=True), _swings(tab, n, up=False)
    bh, bl = _swings(tab, big_n, up=True), _swings(tab, big_n, up=False)
    j_sh, j_bh = tab.close_max.first_many((sh[0] + n, sh[1]), (bh[0] + big_n, bh[1]))
    j_sl, j_bl = tab.close_min.first_many((sl[0] + n, sl[1]), (bl[0] + big_n, bl[1]))
    out.add("swing_high", sh[0] + n, -1, sh[0], sh[1], sh[1], j_sh)
    out.add("swing_low", sl[0] + n, 1, sl[0], sl[1], sl[1], j_sl)
    bt, bo, bd, blv, trend = _merge_breaks(
        size, sh[0] + n, sh[0], sh[1], j_sh, sl[0] + n, sl[0], sl[1], j_sl)
    major = _merge_breaks(
        size, bh[0] + big_n, bh[0], bh[1], j_bh, bl[0] + big_n, bl[0], bl[1], j_bl)[4]
    if bt.size:
        prev_d = np.concatenate([[0], bd[:-1]])
        is_choch = prev_d == -bd
        none = np.full(bt.size, -1)
        for kind, m in (("bos", ~is_choch), ("choch", is_choch)):
            out.add(kind, bt[m], bd[m], bo[m], blv[m], blv[m], none[m])

    # order blocks (zones), fair value gaps, liquidity pools
    rng_ok = ~((h - lo) >= params.ob_max_range_atr * prev_atr_l)
    ob_bar = _order_blocks(bt, bo, bd, rng_ok, h, lo)
    ok = ob_bar >= 0
    ob_t, ob_d, ob_bar = bt[ok], bd[ok], ob_bar[ok]
    ob_top, ob_bot = h[ob_bar], lo[ob_bar]
    ob_up = ob_d > 0
    if size >= 3:
        i = np.arange(2, size, dtype=np.int64)
        fvg_up = i[(lo[i] > h[i - 2]) & (c[i - 1] > o[i - 1])]
        fvg_dn = i[(h[i] < lo[i - 2]) & (c[i - 1] < o[i - 1])]
    else:
        fvg_up = fvg_dn = np.empty(0, dtype=np.int64)
    pools = {side: _pools(tab, org, lvl, n, prev_atr, params.equal_level_atr, side == "high")
             for side, (org, lvl) in (("high", sh), ("low", sl))}
    ph, pl = pools["high"], pools["low"]

    # stage 2: mitigation of zones and the bar that takes each pool
    mit_ob_up, = tab.close_min.first_many((ob_t[ob_up], ob_bot[ob_up]))
    mit_ob_dn, = tab.close_max.first_many((ob_t[~ob_up], ob_top[~ob_up]))
    fill_up, take_low = tab.low_min.first_many(
        (fvg_up, _up(h[fvg_up - 2])), (pl[0], pl[3]))
    fill_dn, take_high = tab.high_max.first_many(
        (fvg_dn, _down(lo[fvg_dn - 2])), (ph[0], ph[2]))
    ob_mit = np.empty(ob_t.size, dtype=np.int64)
    ob_mit[ob_up], ob_mit[~ob_up] = mit_ob_up, mit_ob_dn
    out.add("order_block", ob_t, ob_d, ob_bar, ob_top, ob_bot, ob_mit)
    out.add("fvg", fvg_up, 1, fvg_up - 1, lo[fvg_up], h[fvg_up - 2], fill_up)
    out.add("fvg", fvg_dn, -1, fvg_dn - 1, lo[fvg_dn - 2], h[fvg_dn], fill_dn)
    out.add("liquidity_pool", ph[0], 1, ph[1], ph[2], ph[3], take_high)
    out.add("liquidity_pool", pl[0], -1, pl[1], pl[2], pl[3], take_low)

    # stage 3: sweeps (the taking bar closed back inside) and their invalidation
    sw_h = (take_high >= 0) & (c[np.maximum(take_high, 0)] < ph[2])
    sw_l = (take_low >= 0) & (c[np.maximum(take_low, 0)] > pl[3])
    js_h, lv_h = take_high[sw_h], ph[2][sw_h]
    js_l, lv_l = take_low[sw_l], pl[3][sw_l]
    mit_sw_h, = tab.close_max.first_many((js_h, h[js_h]))
    mit_sw_l, = tab.close_min.first_many((js_l, lo[js_l]))
    out.add("sweep", js_h, -1, js_h, h[js_h], lv_h, mit_sw_h)
    out.add("sweep", js_l, 1, js_l, lv_l, lo[js_l], mit_sw_l)

    # displacement
    body = c - o
    disp = np.flatnonzero(np.abs(body) >= params.displacement_atr * prev_atr)
    out.add("displacement", disp, np.sign(body[disp]).astype(np.int64), disp, h[disp], lo[disp],
            np.full(disp.size, -1))

    events = _to_frame(out, idx)
    return SMCResult(
        events,
        pd.Series(trend, index=idx, name="trend"),
        pd.Series(major, index=idx, name="major_trend"),
    )


def _pools(
    tab: _Tables, org: IntArray, lvl: FloatArray, n: int, prev_atr: FloatArray,
    equal_atr: float, highs: bool,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Equal highs/lows from consecutive swings: (known bar, origin, top, bottom)."""
    if org.size < 2:
        e = np.empty(0, dtype=np.int64)
        return e, e, np.empty(0), np.empty(0)
    a, b = org[:-1], org[1:]
    la, lb = lvl[:-1], lvl[1:]
    known = b + n
    tol = equal_atr * prev_atr[known]
    top, bot = np.maximum(la, lb), np.minimum(la, lb)
    has_between = b - a >= 2
    lo_i, hi_i = a + 1, np.maximum(b - 1, a + 1)
    if highs:
        intact = ~has_between | (tab.high_max.range(lo_i, hi_i) <= top)
    else:
        intact = ~has_between | (tab.low_min.range(lo_i, hi_i) >= bot)
    m = (np.abs(la - lb) <= tol) & intact
    return known[m], b[m], top[m], bot[m]


def _to_frame(out: _Collector, idx: pd.DatetimeIndex) -> pd.DataFrame:
    """Positions -> the section 6 events frame, sorted by (time, kind, origin, direction)."""
    if not out.parts:
        return empty_events()
    kinds = np.concatenate([np.full(p[1].size, _KIND_RANK[p[0]]) for p in out.parts])
    t, d, org, top, bot, mit = (np.concatenate([p[i] for p in out.parts]) for i in range(1, 7))
    order = np.lexsort((d, org, kinds, t))
    kinds, t, d, org, top, bot, mit = (x[order] for x in (kinds, t, d, org, top, bot, mit))
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    names = np.array(SMC_KINDS, dtype=object)
    return pd.DataFrame(
        {
            "time": idx.take(t),
            "kind": names[kinds],
            "direction": d,
            "origin": idx.take(org),
            "top": top,
            "bottom": bot,
            "mitigated_at": idx.take(
                mit, allow_fill=True, fill_value=pd.NaT  # type: ignore[arg-type]
            ),
        }
    )
