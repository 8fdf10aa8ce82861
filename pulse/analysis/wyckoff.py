"""Wyckoff accumulation/distribution: causal events and a per-bar phase.

What it answers: is the market building a trading range after a climax, where in the
Wyckoff schematic it stands (phases A-E), and which events (climax, automatic rally,
secondary test, spring/upthrust, sign of strength/weakness, last point of support/supply)
mark it. Everything is **causal** (DESIGN.md section 6): the result for bar t uses bars
<= t only, and every event carries the bar at which it became knowable in ``time``.
Analysing ``bars[:m]`` gives exactly the events of the full run with ``time`` before
``bars.index[m]`` and the same phases for the first m bars.

Inputs and features
-------------------
Rows with a missing price (any of open/high/low/close not finite) are skipped: the
analysis runs on the remaining bars (counting bars, not clock time) and a skipped row
carries the phase of the last good bar before it ("none" before any). All windows are
trailing and end at the previous bar, so a bar is judged against what came before it:

- ``vz``: volume z-score, ``(v - mean) / std`` over the previous ``volume_z_window`` bars
  (population std; undefined while the window is incomplete, contains a missing volume,
  or is constant, so no volume-based rule fires there: bars without volume yield no events).
- ``atr``: mean true range of the previous ``atr_period`` bars.
- ``range low/high``: lowest low / highest high of the previous ``range_window`` bars.
- ``close position``: where the close sits in the range_window range including the bar
  (0 = at the low, 1 = at the high).

Accumulation rules (each threshold is a ``WyckoffParams`` field)
----------------------------------------------------------------
1. **SC** (selling climax), known on its bar: ``vz >= climax_volume_z`` (2.5), the low
   breaks the range low (a new ``range_window``-bar low), close position
   ``<= climax_close_position`` (0.35) and bar range ``>= climax_range_atr`` (1.5) x atr.
   Phase ``accumulation_A`` starts. The climax leg runs from the previous range high to the
   SC low.
2. **AR** (automatic rally): the highest high after the SC, confirmed on the first bar
   that closes below that high bar's low, when the rally retraces between
   ``ar_min_retrace`` and ``ar_max_retrace`` (40-70 %) of the climax leg on lighter volume
   (mean volume of the rally bars below the SC's volume). A new low under the SC, a rally
   beyond ``ar_max_retrace`` (a V reversal, not a range) or no AR within ``ar_max_bars``
   (15) bars of the SC abandons the structure (phase back to "none"). On the AR a **TR**
   event records the trading range: bottom = SC low, top = AR high.
3. **ST** (secondary test), known on its bar: inside the range, a low within
   ``test_tolerance_atr`` (0.5) x atr of the range bottom on volume below
   ``st_volume_ratio`` (0.7) x the SC's volume, closing above the bottom. The first ST
   opens phase B; later STs need a rally to the range's midpoint in between. A break of the
   bottom that closes back inside before any ST (see 4) is also reported as an ST (the ST
   may undercut the SC low) and opens phase B.
4. **spring**: a low more than ``test_tolerance_atr`` x atr under the range bottom,
   followed by a close back above the bottom on the breaking bar or within
   ``spring_confirm_bars`` (3) bars after it; emitted on that closing bar, with origin and
   level at the lowest low of the break. After an ST it opens phase C. No close back inside
   in time: the range failed (phase "none").
5. **SOS** (sign of strength), known on its bar: a close above the range top on
   ``vz >= sos_volume_z`` (1.5); level = the range top. Opens phase D. A close above the
   top by more than the range's height without such volume, or no SOS within
   ``max_range_bars`` (200) bars of the AR, ends the structure.
6. **LPS** (last point of support): after the SOS, the lowest low of a pullback from the
   highest high since the SOS, confirmed by the first close above that low bar's high, if
   it is a higher low than the last test (ST/spring, or SC), the pullback is at least
   ``test_tolerance_atr`` x atr deep, and its bars' mean volume is below
   ``st_volume_ratio`` x the SOS bar's volume. Opens phase E. A close back below the range
   bottom fails the structure; no LPS within ``max_range_bars`` bars of the SOS ends it.
7. **markup**: in phase E, a close above the highest high since the SOS. A close under
   the LPS low in phase E (or no markup within ``max_range_bars``) ends the structure.
   Markup lasts until a close below the range low (previous ``range_window`` bars) or a new
   selling climax.

Distribution mirrors every rule exactly (the same code runs on the price-mirrored bars):
BC (buying climax), AR (automatic reaction), ST, UT (an upthrust before any ST, which
then serves as the secondary test), UTAD (upthrust after distribution, phase C), SOW, LPSY,
markdown. ``direction`` is +1 for accumulation-side events, -1 for distribution-side.

One structure per side at a time: a climax-like bar inside a live range is handled by
that range (as a break of its bottom: a spring if price closes back inside, else the range
failed), and a new structure can start from the bar on which the previous one ended.

The phase of a bar comes from whichever side's structure started (climax bar) most
recently among the sides that are active on that bar, so a buying climax during markup
starts ``distribution_A``. A bar cannot be both climaxes (its close cannot sit in both
the lower and the upper part of the range), so there is never a tie.

Performance: features are numpy sliding windows; a small state machine visits the bars
of active structures only and jumps over idle stretches and markup/markdown with
vectorised searches (see ``bench/bench_wyckoff.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from pulse.config import WyckoffParams

__all__ = [
    "EVENT_COLUMNS",
    "MIRROR_KIND",
    "PHASES",
    "WyckoffResult",
    "analyze_wyckoff",
]

EVENT_COLUMNS: tuple[str, ...] = (
    "time",
    "kind",
    "direction",
    "origin",
    "top",
    "bottom",
    "mitigated_at",
)

PHASES: tuple[str, ...] = (
    "none",
    "accumulation_A",
    "accumulation_B",
    "accumulation_C",
    "accumulation_D",
    "accumulation_E",
    "markup",
    "distribution_A",
    "distribution_B",
    "distribution_C",
    "distribution_D",
    "distribution_E",
    "markdown",
)

# event roles of the side-neutral state machine
_CLIMAX, _AR, _TR, _ST, _EARLY_TEST, _TEST, _BREAKOUT, _PULLBACK = range(8)
_ACC_NAMES = ("SC", "AR", "TR", "ST", "ST", "spring", "SOS", "LPS")
_DIST_NAMES = ("BC", "AR", "TR", "ST", "UT", "UTAD", "SOW", "LPSY")

#: accumulation kind -> the distribution kind its mirror image produces (ST -> ST, or UT
#: when the accumulation ST was a break of the bottom closing back inside).
MIRROR_KIND: dict[str, tuple[str, ...]] = {
    "SC": ("BC",),
    "AR": ("AR",),
    "TR": ("TR",),
    "ST": ("ST", "UT"),
    "spring": ("UTAD",),
    "SOS": ("SOW",),
    "LPS": ("LPSY",),
}

# per-side phase codes
_NONE, _PA, _PB, _PC, _PD, _PE, _TREND = range(7)
# state machine states
_IDLE, _AR_WAIT, _RANGE, _SOS, _LPS, _TRENDING = range(6)

_REARM_FRACTION = 0.5  # an ST re-arms once price rallies to the range midpoint


@dataclass(frozen=True)
class WyckoffResult:
    """Events (DESIGN.md section 6 columns) and the per-bar phase (values in ``PHASES``)."""

    events: pd.DataFrame
    phase: pd.Series


def _trailing(x: np.ndarray, window: int, how: str) -> np.ndarray:
    """Statistic of the ``window`` values before each position (NaN until complete)."""
    n = len(x)
    out = np.full(n, np.nan)
    if n <= window:
        return out
    win = sliding_window_view(x[:-1], window)  # win[k] = x[k : k + window] -> position k+window
    if how == "min":
        out[window:] = win.min(axis=1)
    elif how == "max":
        out[window:] = win.max(axis=1)
    elif how == "mean":
        out[window:] = win.mean(axis=1)
    else:  # population std
        out[window:] = win.std(axis=1)
    return out


@dataclass
class _Side:
    """Oriented arrays: accumulation sees the bars as they are, distribution mirrored."""

    hi: np.ndarray
    lo: np.ndarray
    cl: np.ndarray
    range_low: np.ndarray
    range_high: np.ndarray
    climax: np.ndarray  # bool


def _side(
    hi: np.ndarray,
    lo: np.ndarray,
    cl: np.ndarray,
    range_low: np.ndarray,
    range_high: np.ndarray,
    vz: np.ndarray,
    atr: np.ndarray,
    p: WyckoffParams,
) -> _Side:
    span_low = np.fmin(range_low, lo)
    span = np.fmax(range_high, hi) - span_low
    with np.errstate(invalid="ignore", divide="ignore"):
        close_pos = (cl - span_low) / span
        climax = (
            (vz >= p.climax_volume_z)
            & (lo < range_low)
            & (close_pos <= p.climax_close_position)
            & ((hi - lo) >= p.climax_range_atr * atr)
        )
    return _Side(hi, lo, cl, range_low, range_high, climax)


def _scan(
    s: _Side, vol: np.ndarray, vz: np.ndarray, atr: np.ndarray, p: WyckoffParams
) -> tuple[list[tuple[int, int, int, float, float]], list[tuple[int, int, int]]]:
    """Run the accumulation state machine on oriented arrays.

    Returns events ``(time_idx, role, origin_idx, top, bottom)`` in oriented prices and
    phase changes ``(bar_idx, code, structure_start_idx)`` in bar order.
    """
    n = len(s.cl)
    events: list[tuple[int, int, int, float, float]] = []
    changes: list[tuple[int, int, int]] = []
    if n == 0:
        return events, changes
    climax_idx = np.flatnonzero(s.climax)
    with np.errstate(invalid="ignore"):
        trend_end_idx = np.flatnonzero(s.climax | (s.cl < s.range_low))
    hi = s.hi.tolist()
    lo = s.lo.tolist()
    cl = s.cl.tolist()
    vl = vol.tolist()
    vzl = np.nan_to_num(vz, nan=-np.inf).tolist()
    tol_l = np.nan_to_num(p.test_tolerance_atr * atr, nan=0.0).tolist()
    leg_top_l = s.range_high

    sos_z = p.sos_volume_z
    st_ratio = p.st_volume_ratio
    ar_min, ar_max = p.ar_min_retrace, p.ar_max_retrace
    ar_bars, confirm_bars, max_bars = p.ar_max_bars, p.spring_confirm_bars, p.max_range_bars

    state = _IDLE
    code = _NONE
    start = -1
    # structure variables
    c = a = sb = brk = q = m = lps_at = -1
    sc_low = sc_vol = leg_top = peak = 0.0
    bottom = top = height = 0.0
    last_test = brk_min = 0.0
    brk_min_i = -1
    armed = False
    sub = _PA
    big_h = pull_low = sos_vol = 0.0

    def phase(i: int, new_code: int, new_start: int) -> None:
        nonlocal code, start
        if new_code != code or new_start != start:
            changes.append((i, new_code, new_start))
            code, start = new_code, new_start

    i = 0
    while i < n:
        if state == _IDLE:
            k = int(np.searchsorted(climax_idx, i))
            if k == len(climax_idx):
                break
            i = int(climax_idx[k])
            c = i
            sc_low, sc_vol, leg_top = lo[i], vl[i], float(leg_top_l[i])
            peak, m = -np.inf, -1
            events.append((i, _CLIMAX, i, sc_low, sc_low))
            phase(i, _PA, c)
            state = _AR_WAIT
            i += 1
            continue

        if state == _AR_WAIT:
            if lo[i] < sc_low or i - c > ar_bars:
                state = _IDLE
                phase(i, _NONE, -1)
                continue  # the same bar may start a new climax
            if hi[i] > peak:
                peak, m = hi[i], i
                if (peak - sc_low) > ar_max * (leg_top - sc_low):
                    state = _IDLE  # V reversal, not a range
                    phase(i, _NONE, -1)
                    continue
            elif (
                cl[i] < lo[m]
                and (peak - sc_low) >= ar_min * (leg_top - sc_low)
                and float(np.mean(vol[c + 1 : m + 1])) < sc_vol
            ):
                a = i
                bottom, top = sc_low, peak
                height = top - bottom
                events.append((i, _AR, m, peak, peak))
                events.append((i, _TR, c, top, bottom))
                last_test = sc_low
                armed, sub, brk = True, _PA, -1
                state = _RANGE
            i += 1
            continue

        if state == _RANGE:
            if i - a > max_bars and brk < 0:
                state = _IDLE
                phase(i, _NONE, -1)
                continue
            tol = tol_l[i]
            if brk < 0:
                if cl[i] > top:
                    if vzl[i] >= sos_z:
                        events.append((i, _BREAKOUT, i, top, top))
                        state, sb, sos_vol = _SOS, i, vl[i]
                        big_h, m, q = hi[i], i, -1
                        phase(i, _PD, c)
                        i += 1
                        continue
                    if cl[i] > top + height:
                        state = _IDLE  # left the range without strength
                        phase(i, _NONE, -1)
                        continue
                if lo[i] < bottom - tol:
                    brk, brk_min, brk_min_i = i, lo[i], i
                elif armed and lo[i] <= bottom + tol and cl[i] > bottom and sub <= _PB:
                    if vl[i] < st_ratio * sc_vol:
                        events.append((i, _ST, i, lo[i], lo[i]))
                        last_test, armed, sub = lo[i], False, _PB
                        phase(i, _PB, c)
                    i += 1
                    continue
                else:
                    if not armed and hi[i] >= bottom + _REARM_FRACTION * height:
                        armed = True
                    i += 1
                    continue
            # inside a break of the bottom
            if lo[i] < brk_min:
                brk_min, brk_min_i = lo[i], i
            if cl[i] > bottom:
                role = _TEST if sub >= _PB else _EARLY_TEST
                events.append((i, role, brk_min_i, brk_min, brk_min))
                last_test, armed, brk = brk_min, False, -1
                sub = _PC if role == _TEST else _PB
                phase(i, sub, c)
            elif i - brk >= confirm_bars:
                state, brk = _IDLE, -1
                phase(i, _NONE, -1)
                continue
            i += 1
            continue

        if state == _SOS:
            if cl[i] < bottom or i - sb > max_bars:
                state = _IDLE
                phase(i, _NONE, -1)
                continue
            if q >= 0 and cl[i] > hi[q]:
                if (
                    pull_low > last_test
                    and big_h - pull_low >= tol_l[i]
                    and float(np.mean(vol[m + 1 : q + 1])) < st_ratio * sos_vol
                ):
                    events.append((i, _PULLBACK, q, pull_low, pull_low))
                    state, lps_at = _LPS, i
                    phase(i, _PE, c)
                    i += 1
                    continue
                q = -1
            if hi[i] > big_h:
                big_h, m, q = hi[i], i, -1
            elif q < 0 or lo[i] < pull_low:
                q, pull_low = i, lo[i]
            i += 1
            continue

        if state == _LPS:
            if cl[i] < pull_low or i - lps_at > max_bars:
                state = _IDLE
                phase(i, _NONE, -1)
                continue
            if cl[i] > big_h:
                state = _TRENDING
                phase(i, _TREND, c)
                # the trend bar itself cannot end the trend (close above a recent high)
            i += 1
            continue

        # _TRENDING: jump to the first bar that ends it (a close under the range low or a
        # new climax on this side)
        k = int(np.searchsorted(trend_end_idx, i))
        if k == len(trend_end_idx):
            break
        i = int(trend_end_idx[k])
        state = _IDLE
        phase(i, _NONE, -1)
    return events, changes


def _fill(n: int, changes: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar phase code and structure start from the change list."""
    codes = np.zeros(n, dtype=np.int8)
    starts = np.full(n, -1, dtype=np.int64)
    if not changes:
        return codes, starts
    at = np.array([x[0] for x in changes], dtype=np.int64)
    cv = np.array([x[1] for x in changes], dtype=np.int8)
    sv = np.array([x[2] for x in changes], dtype=np.int64)
    # several changes on one bar: the last one holds
    keep = np.append(at[1:] != at[:-1], True)
    at, cv, sv = at[keep], cv[keep], sv[keep]
    pos = np.searchsorted(at, np.arange(n), side="right") - 1
    ok = pos >= 0
    codes[ok] = cv[pos[ok]]
    starts[ok] = sv[pos[ok]]
    return codes, starts


def _empty_events(index: pd.DatetimeIndex) -> pd.DataFrame:
    t = pd.Series(pd.DatetimeIndex([], dtype=index.dtype))
    return pd.DataFrame(
        {
            "time": t,
            "kind": pd.Series([], dtype=object),
            "direction": pd.Series([], dtype=np.int64),
            "origin": t.copy(),
            "top": pd.Series([], dtype=np.float64),
            "bottom": pd.Series([], dtype=np.float64),
            "mitigated_at": t.copy(),
        }
    )


def _check(bars: pd.DataFrame) -> pd.DatetimeIndex:
    missing = [col for col in ("open", "high", "low", "close", "volume") if col not in bars]
    if missing:
        raise ValueError(
            f"bars: missing column(s) {', '.join(missing)} (need open, high, low, close, volume)"
        )
    index = bars.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("bars: the index must be a timezone-aware DatetimeIndex (UTC)")
    if len(index) > 1 and not index.is_monotonic_increasing:
        raise ValueError("bars: the index must be sorted in increasing time")
    return index


def analyze_wyckoff(bars: pd.DataFrame, params: WyckoffParams) -> WyckoffResult:
    """Wyckoff events and per-bar phase of ``bars`` (causal; see the module docstring)."""
    index = _check(bars)
    n_all = len(bars)
    o = bars["open"].to_numpy(dtype=np.float64)
    h = bars["high"].to_numpy(dtype=np.float64)
    lo = bars["low"].to_numpy(dtype=np.float64)
    cl = bars["close"].to_numpy(dtype=np.float64)
    v = bars["volume"].to_numpy(dtype=np.float64)
    valid = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(cl)
    all_valid = bool(valid.all())
    if not all_valid:
        h, lo, cl, v = h[valid], lo[valid], cl[valid], v[valid]
    n = len(cl)

    # trailing features (windows end at the previous bar)
    prev_close = np.empty(n)
    if n:
        prev_close[0] = cl[0]
        prev_close[1:] = cl[:-1]
    tr = np.maximum(h, prev_close) - np.minimum(lo, prev_close)
    atr = _trailing(tr, params.atr_period, "mean")
    vmean = _trailing(v, params.volume_z_window, "mean")
    vstd = _trailing(v, params.volume_z_window, "std")
    with np.errstate(invalid="ignore", divide="ignore"):
        vz = np.where(vstd > 0, (v - vmean) / vstd, np.nan)
    range_low = _trailing(lo, params.range_window, "min")
    range_high = _trailing(h, params.range_window, "max")

    acc = _side(h, lo, cl, range_low, range_high, vz, atr, params)
    dist = _side(-lo, -h, -cl, -range_high, -range_low, vz, atr, params)
    ev_a, ch_a = _scan(acc, v, vz, atr, params)
    ev_d, ch_d = _scan(dist, v, vz, atr, params)

    # combined phase: the most recently started active structure wins
    code_a, start_a = _fill(n, ch_a)
    code_d, start_d = _fill(n, ch_d)
    use_d = (code_d > 0) & ((code_a == 0) | (start_d > start_a))
    label = np.where(use_d, code_d.astype(np.int64) + 6, code_a.astype(np.int64))
    if not all_valid:
        # a skipped row carries the phase of the last good bar before it
        good_pos = np.cumsum(valid) - 1
        full = np.zeros(n_all, dtype=np.int64)
        has = good_pos >= 0
        full[has] = label[good_pos[has]]
        label = full
    phase = pd.Series(np.asarray(PHASES, dtype=object)[label], index=index, name="phase")

    vidx = index if all_valid else index[valid]
    rows = [(t, _ACC_NAMES[r], 1, og, top, bot) for t, r, og, top, bot in ev_a]
    rows += [(t, _DIST_NAMES[r], -1, og, -bot, -top) for t, r, og, top, bot in ev_d]
    if not rows:
        return WyckoffResult(_empty_events(index), phase)
    # stable order: by time, accumulation before distribution, then emission order
    rows.sort(key=lambda x: (x[0], -x[2]))
    t_idx = np.array([x[0] for x in rows], dtype=np.int64)
    o_idx = np.array([x[3] for x in rows], dtype=np.int64)
    events = pd.DataFrame(
        {
            "time": vidx[t_idx],
            "kind": pd.Series([x[1] for x in rows], dtype=object),
            "direction": np.array([x[2] for x in rows], dtype=np.int64),
            "origin": vidx[o_idx],
            "top": np.array([x[4] for x in rows], dtype=np.float64),
            "bottom": np.array([x[5] for x in rows], dtype=np.float64),
            "mitigated_at": pd.Series(pd.NaT, index=range(len(rows)), dtype=index.dtype),
        }
    )
    return WyckoffResult(events, phase)
