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

Rows with a missing price are skipped (the analysis counts the remaining bars); they carry
the trend of the last good bar and are never an event's bar.

Implementation: numpy only, no per-bar Python loop. "First later bar where x crosses a
level" is answered for all events at once by binary lifting over sparse tables of
running maxima/minima, O((N + events) log N).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from pulse.analysis.indicators import atr
from pulse.config import SMCParams

__all__ = [
    "EVENT_COLUMNS",
    "SMC_KINDS",
    "EventArrays",
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
        depth = max(1, int(n).bit_length())  # levels k with 2**k <= n
        table = np.empty((depth, n))
        table[0] = values
        for k in range(1, depth):
            half = 1 << (k - 1)
            prev, cur = table[k - 1], table[k]
            op(prev[: n - half], prev[half:], out=cur[: n - half])
            cur[n - half:] = prev[n - half:]
        self.table = table
        self.n = n

    def window(self, start: int, count: int, length: int) -> FloatArray:
        """op over ``values[i : i + length]`` for ``i`` in ``start .. start + count - 1``."""
        k = int(length).bit_length() - 1
        row = self.table[k]
        a = row[start: start + count]
        b = row[start + length - (1 << k): start + length - (1 << k) + count]
        return np.maximum(a, b) if self.kind == "max" else np.minimum(a, b)

    def range(self, lo: IntArray, hi: IntArray) -> FloatArray:
        """op(values[lo..hi]) inclusive, element-wise for arrays with ``lo <= hi``."""
        length = hi - lo + 1
        k = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
        a = self.table[k, lo]
        b = self.table[k, hi - (1 << k) + 1]
        return np.maximum(a, b) if self.kind == "max" else np.minimum(a, b)

    def first_beyond(
        self, start: IntArray, threshold: FloatArray, end: IntArray | None = None
    ) -> IntArray:
        """Smallest ``j`` with ``start < j < end`` (default: the table's length) and
        ``values[j] > threshold`` (a max table) or ``values[j] < threshold`` (a min
        table), or -1; element-wise."""
        n = self.n
        p = np.asarray(start, dtype=np.int64) + 1
        thr = np.asarray(threshold, dtype=np.float64)
        stop = np.full(p.shape, n, dtype=np.int64) if end is None else np.asarray(end)
        if p.size == 0 or n == 0:
            return np.full(p.shape, -1, dtype=np.int64)
        is_max = self.kind == "max"
        last = n - 1
        for k in range(self.table.shape[0] - 1, -1, -1):
            size = 1 << k
            block = self.table[k, np.minimum(p, last)]
            skip = (block <= thr) if is_max else (block >= thr)
            skip &= p + size <= stop
            p += size * skip
        return np.where(p < stop, p, -1)

    def first_many(self, *queries: tuple[IntArray, FloatArray]) -> list[IntArray]:
        """:meth:`first_beyond` for several (start, threshold) batches in one pass."""
        sizes = [np.asarray(q[0]).size for q in queries]
        res = self.first_beyond(
            np.concatenate([np.asarray(q[0], dtype=np.int64) for q in queries]),
            np.concatenate([np.asarray(q[1], dtype=np.float64) for q in queries]),
        )
        return np.split(res, np.cumsum(sizes)[:-1])


@dataclass(frozen=True, eq=False)
class EventArrays:
    """Events as bar positions (sorted by time, kind, origin, direction); ``mitigated``
    is -1 while open. ``kind`` indexes :data:`SMC_KINDS`."""

    time: IntArray
    kind: IntArray
    direction: IntArray
    origin: IntArray
    top: FloatArray
    bottom: FloatArray
    mitigated: IntArray

    @staticmethod
    def empty() -> EventArrays:
        """No events (every array of length 0)."""
        e = np.empty(0, dtype=np.int64)
        return EventArrays(e, e, e, e, np.empty(0), np.empty(0), e)


@dataclass(frozen=True, eq=False)
class SMCResult:
    """SMC events (section 6 columns) and the structure trend per bar.

    ``arrays`` holds the events as bar positions (what the scorer reads); the ``events``
    frame and the trend Series are built from them on first use.
    """

    index: pd.DatetimeIndex
    arrays: EventArrays
    trend_values: IntArray
    major_trend_values: IntArray

    @cached_property
    def events(self) -> pd.DataFrame:
        """The events as DESIGN.md section 6's frame (built once, on first use)."""
        return _to_frame(self.arrays, self.index)

    @cached_property
    def trend(self) -> pd.Series:
        """+1 after a bullish break, -1 after a bearish one, 0 before any (internal)."""
        return pd.Series(self.trend_values, index=self.index, name="trend")

    @cached_property
    def major_trend(self) -> pd.Series:
        """The same for the swing structure (``structure_swing_length``)."""
        return pd.Series(self.major_trend_values, index=self.index, name="major_trend")


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


_HIGH, _CLOSE_UP, _LOW, _CLOSE_DN = range(4)


class _Tab:
    """One max sparse table over ``[high, close, -low, -close]`` end to end, so that every
    search of a stage (highs above, closes above, lows below, closes below) is one
    vectorised call. Queries take bar positions and thresholds in price terms."""

    def __init__(self, high: FloatArray, low: FloatArray, close: FloatArray) -> None:
        self.n = n = close.shape[0]
        self.high, self.low, self.close = high, low, close
        self.st = SparseTable(np.concatenate([high, close, -low, -close]), "max")
        self.off = np.arange(4, dtype=np.int64) * n
        self.sign = np.array([1.0, 1.0, -1.0, -1.0])

    def first(self, *queries: tuple[int, IntArray, FloatArray]) -> list[IntArray]:
        """For each (series, start, threshold) batch: the first bar after ``start`` where
        the series goes beyond the threshold (above for highs/closes-up, below for
        lows/closes-down), or -1."""
        sizes = [np.asarray(q[1]).size for q in queries]
        ser = np.concatenate([np.full(sz, q[0], dtype=np.int64)
                              for sz, q in zip(sizes, queries, strict=True)])
        start = np.concatenate([np.asarray(q[1], dtype=np.int64) for q in queries])
        thr = np.concatenate([np.asarray(q[2], dtype=np.float64) for q in queries])
        off = self.off[ser]
        res = self.st.first_beyond(start + off, thr * self.sign[ser], off + self.n)
        res = np.where(res >= 0, res - off, -1)
        return np.split(res, np.cumsum(sizes)[:-1])

    def ranges(self, *queries: tuple[int, IntArray, IntArray]) -> list[FloatArray]:
        """Max of highs (series _HIGH) or min of lows (_LOW) over inclusive bar ranges."""
        sizes = [np.asarray(q[1]).size for q in queries]
        ser = np.concatenate([np.full(sz, q[0], dtype=np.int64)
                              for sz, q in zip(sizes, queries, strict=True)])
        lo = np.concatenate([np.asarray(q[1], dtype=np.int64) for q in queries])
        hi = np.concatenate([np.asarray(q[2], dtype=np.int64) for q in queries])
        off = self.off[ser]
        res = self.st.range(lo + off, hi + off) * self.sign[ser]
        return np.split(res, np.cumsum(sizes)[:-1])


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


def _swings(tab: _Tab, lengths: tuple[int, ...]) -> list[tuple[IntArray, FloatArray]]:
    """Origins and levels of swing highs then lows for each fractal length."""
    size = tab.n
    out: list[tuple[IntArray, FloatArray]] = []
    for n in lengths:
        count = max(size - 2 * n, 0)
        c = np.arange(n, n + count, dtype=np.int64)
        if count == 0:
            out += [(c, np.empty(0)), (c, np.empty(0))]
            continue
        hi0, lo0 = int(tab.off[_HIGH]), int(tab.off[_LOW])
        left_h = tab.st.window(hi0, count, n)  # highs of c-n .. c-1
        right_h = tab.st.window(hi0 + n + 1, count, n)  # highs of c+1 .. c+n
        left_l = -tab.st.window(lo0, count, n)
        right_l = -tab.st.window(lo0 + n + 1, count, n)
        vh, vl = tab.high[c], tab.low[c]
        up = (vh > left_h) & (vh >= right_h)
        dn = (vl < left_l) & (vl <= right_l)
        out += [(c[up], vh[up]), (c[dn], vl[dn])]
    return out


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
        e = np.zeros(0, dtype=np.int64)
        return SMCResult(idx, EventArrays.empty(), e, e)
    finite = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
    if not finite.all():
        return _skip_missing(bars, params, finite)
    tab = _Tab(h, lo, c)
    atr_s = atr(h, lo, c, params.atr_period)
    atr_l = atr(h, lo, c, params.ob_atr_period)
    prev_atr = np.concatenate([[np.nan], atr_s[:-1]])
    prev_atr_l = np.concatenate([[np.nan], atr_l[:-1]])
    out = _Collector()
    n, big_n = params.swing_length, params.structure_swing_length

    # stage 1: swings of both lengths and each swing's first close beyond its level
    sh, sl, bh, bl = _swings(tab, (n, big_n))
    j_sh, j_bh, j_sl, j_bl = tab.first(
        (_CLOSE_UP, sh[0] + n, sh[1]), (_CLOSE_UP, bh[0] + big_n, bh[1]),
        (_CLOSE_DN, sl[0] + n, sl[1]), (_CLOSE_DN, bl[0] + big_n, bl[1]),
    )
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
    ph, pl = _pools(tab, sh, sl, n, prev_atr, params.equal_level_atr)

    # stage 2: mitigation of zones and the bar that takes each pool
    mit_ob_up, mit_ob_dn, fill_up, fill_dn, take_high, take_low = tab.first(
        (_CLOSE_DN, ob_t[ob_up], ob_bot[ob_up]),
        (_CLOSE_UP, ob_t[~ob_up], ob_top[~ob_up]),
        (_LOW, fvg_up, _up(h[fvg_up - 2])),  # filled: a low at or below the bottom
        (_HIGH, fvg_dn, _down(lo[fvg_dn - 2])),  # a high at or above the top
        (_HIGH, ph[0], ph[2]),
        (_LOW, pl[0], pl[3]),
    )
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
    mit_sw_h, mit_sw_l = tab.first((_CLOSE_UP, js_h, h[js_h]), (_CLOSE_DN, js_l, lo[js_l]))
    out.add("sweep", js_h, -1, js_h, h[js_h], lv_h, mit_sw_h)
    out.add("sweep", js_l, 1, js_l, lv_l, lo[js_l], mit_sw_l)

    # displacement
    body = c - o
    disp = np.flatnonzero(np.abs(body) >= params.displacement_atr * prev_atr)
    out.add("displacement", disp, np.sign(body[disp]).astype(np.int64), disp, h[disp], lo[disp],
            np.full(disp.size, -1))

    return SMCResult(idx, _collect(out), trend, major)


def _skip_missing(bars: pd.DataFrame, params: SMCParams, finite: np.ndarray) -> SMCResult:
    """Analyse the rows with four finite prices; a skipped row carries the trend of the
    last good bar before it (0 before any) and is never an event's bar."""
    keep = np.flatnonzero(finite)
    sub = analyze_smc(bars.iloc[keep], params)
    a = sub.arrays
    arrays = EventArrays(
        keep[a.time], a.kind, a.direction, keep[a.origin], a.top, a.bottom,
        np.where(a.mitigated >= 0, keep[np.maximum(a.mitigated, 0)], -1),
    )
    rank = np.cumsum(finite) - 1

    def spread(values: IntArray) -> IntArray:
        if values.size == 0:
            return np.zeros(finite.size, dtype=np.int64)
        out: IntArray = np.where(rank >= 0, values[np.maximum(rank, 0)], 0)
        return out

    return SMCResult(pd.DatetimeIndex(bars.index), arrays, spread(sub.trend_values),
                     spread(sub.major_trend_values))


Pool = tuple[IntArray, IntArray, FloatArray, FloatArray]


def _pools(
    tab: _Tab, highs: tuple[IntArray, FloatArray], lows: tuple[IntArray, FloatArray], n: int,
    prev_atr: FloatArray, equal_atr: float,
) -> tuple[Pool, Pool]:
    """Equal highs / equal lows from consecutive swings: (known bar, origin, top, bottom)."""
    parts = []
    qs: list[tuple[int, IntArray, IntArray]] = []
    for ser, (org, lvl) in ((_HIGH, highs), (_LOW, lows)):
        a, b = org[:-1], org[1:]
        la, lb = lvl[:-1], lvl[1:]
        parts.append((a, b, la, lb))
        qs.append((ser, a + 1, np.maximum(b - 1, a + 1)))
    between_h, between_l = tab.ranges(*qs)
    out: list[Pool] = []
    for (a, b, la, lb), between, highs_side in zip(
        parts, (between_h, between_l), (True, False), strict=True
    ):
        known = b + n
        tol = equal_atr * prev_atr[known]
        top, bot = np.maximum(la, lb), np.minimum(la, lb)
        empty = b - a < 2
        intact = empty | ((between <= top) if highs_side else (between >= bot))
        m = (np.abs(la - lb) <= tol) & intact
        out.append((known[m], b[m], top[m], bot[m]))
    return out[0], out[1]


def _collect(out: _Collector) -> EventArrays:
    """Concatenate the collected kinds and sort by (time, kind, origin, direction)."""
    if not out.parts:
        return EventArrays.empty()
    kinds = np.concatenate([np.full(p[1].size, _KIND_RANK[p[0]]) for p in out.parts])
    t, d, org, top, bot, mit = (np.concatenate([p[i] for p in out.parts]) for i in range(1, 7))
    order = np.lexsort((d, org, kinds, t))
    return EventArrays(t[order], kinds[order], d[order], org[order], top[order], bot[order],
                       mit[order])


def _to_frame(ev: EventArrays, idx: pd.DatetimeIndex) -> pd.DataFrame:
    """Positions -> the section 6 events frame."""
    if ev.time.size == 0:
        return empty_events()
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    names = np.array(SMC_KINDS, dtype=object)
    return pd.DataFrame(
        {
            "time": idx.take(ev.time),
            "kind": names[ev.kind],
            "direction": ev.direction,
            "origin": idx.take(ev.origin),
            "top": ev.top,
            "bottom": ev.bottom,
            "mitigated_at": idx.take(
                ev.mitigated, allow_fill=True, fill_value=pd.NaT  # type: ignore[arg-type]
            ),
        }
    )
