"""SMC events: exact events on hand-built bars, causality on real bars, mirror symmetry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.analysis.bars import mirror_bars
from pulse.analysis.smc import EVENT_COLUMNS, SMC_KINDS, SparseTable, analyze_smc
from pulse.config import SMCParams
from tests.analysis.helpers import eurusd, make_bars

# small lengths so hand-built sequences stay short; zone filters and displacement off
P = SMCParams(swing_length=2, structure_swing_length=2, atr_period=2, ob_atr_period=2,
              ob_max_range_atr=100.0, equal_level_atr=0.1, displacement_atr=100.0)
IMMUTABLE = ["time", "kind", "direction", "origin", "top", "bottom"]

# A swing high at 2 (12.0), a swing low at 4 (9.8), a bullish break of 12.0 at bar 6,
# a swing high at 7 (12.8), then a close under 9.8 at bar 10: a bearish CHoCH.
SEQ_A = [
    (10.0, 10.5, 9.5, 10.2),
    (10.2, 11.0, 10.0, 10.8),
    (10.8, 12.0, 10.6, 11.5),
    (11.5, 11.6, 10.4, 10.6),
    (10.6, 10.8, 9.8, 10.0),
    (10.0, 10.6, 9.9, 10.5),
    (10.5, 12.6, 10.4, 12.4),
    (12.4, 12.8, 12.2, 12.5),
    (12.5, 12.6, 11.8, 11.9),
    (11.9, 12.0, 11.0, 11.2),
    (11.2, 11.4, 9.5, 9.6),
]


def rows(events: pd.DataFrame, kind: str, bars: pd.DataFrame) -> list[tuple]:
    """(time pos, direction, origin pos, top, bottom, mitigated pos or None) of one kind."""
    e = events[events["kind"] == kind]
    idx = bars.index
    out = []
    for r in e.itertuples():
        mit = None if pd.isna(r.mitigated_at) else idx.get_loc(r.mitigated_at)
        out.append((idx.get_loc(r.time), int(r.direction), idx.get_loc(r.origin),
                    round(float(r.top), 6), round(float(r.bottom), 6), mit))
    return out


def test_events_have_the_contract_columns_and_utc_times() -> None:
    ev = analyze_smc(make_bars(SEQ_A), P).events
    assert tuple(ev.columns) == EVENT_COLUMNS
    assert str(ev["time"].dt.tz) == "UTC" and str(ev["mitigated_at"].dt.tz) == "UTC"
    assert set(ev["kind"]) <= set(SMC_KINDS)
    assert ev["time"].is_monotonic_increasing


def test_swings_are_known_n_bars_after_the_pivot() -> None:
    b = make_bars(SEQ_A)
    ev = analyze_smc(b, P).events
    assert rows(ev, "swing_high", b) == [(4, -1, 2, 12.0, 12.0, 6), (9, -1, 7, 12.8, 12.8, None)]
    assert rows(ev, "swing_low", b) == [(6, 1, 4, 9.8, 9.8, 10)]


def test_bos_then_choch() -> None:
    b = make_bars(SEQ_A)
    res = analyze_smc(b, P)
    assert rows(res.events, "bos", b) == [(6, 1, 2, 12.0, 12.0, None)]
    assert rows(res.events, "choch", b) == [(10, -1, 4, 9.8, 9.8, None)]
    assert res.trend.tolist() == [0] * 6 + [1] * 4 + [-1]


def test_order_blocks_on_each_break_with_forward_mitigation() -> None:
    b = make_bars(SEQ_A)
    ev = analyze_smc(b, P).events
    # bullish break at 6: lowest low of bars 2..5 is bar 4 -> zone 10.8..9.8, broken by
    # the close at 10; bearish break at 10: highest high of bars 4..9 is bar 7
    assert rows(ev, "order_block", b) == [(6, 1, 4, 10.8, 9.8, 10), (10, -1, 7, 12.8, 12.2, None)]


def test_order_block_skips_wide_bars() -> None:
    b = make_bars(SEQ_A[:7])
    p = P.model_copy(update={"ob_max_range_atr": 0.8})
    ev = analyze_smc(b, p).events
    # bars 3 (range 1.2) and 4 (range 1.0) are >= 0.8 x the previous bar's ATR(2)
    # (1.2 and 1.2); bar 2 has no ATR yet; bar 5 (low 9.9) is the lowest remaining
    assert rows(ev, "order_block", b) == [(6, 1, 5, 10.6, 9.9, None)]


def test_fair_value_gap_known_on_third_candle_and_filled() -> None:
    b = make_bars([
        (10.0, 10.5, 9.8, 10.4),
        (10.4, 11.5, 10.3, 11.4),
        (11.4, 11.8, 10.9, 11.6),
        (11.6, 11.7, 10.6, 10.7),
        (10.7, 10.95, 10.4, 10.6),
    ])
    ev = analyze_smc(b, P).events
    assert rows(ev, "fvg", b) == [(2, 1, 1, 10.9, 10.5, 4)]
    m = mirror_bars(b)
    k = 2 * 11.8
    assert rows(analyze_smc(m, P).events, "fvg", m) == [
        (2, -1, 1, round(k - 10.5, 6), round(k - 10.9, 6), 4)]


def test_no_gap_without_an_impulsive_middle_candle() -> None:
    b = make_bars([(10.0, 10.5, 9.8, 10.4), (11.4, 11.5, 10.3, 10.4), (11.4, 11.8, 10.9, 11.6)])
    assert rows(analyze_smc(b, P).events, "fvg", b) == []


SEQ_POOL = [
    (10.0, 10.2, 9.8, 10.0),
    (10.0, 10.5, 9.9, 10.4),
    (10.4, 11.0, 10.3, 10.6),
    (10.6, 10.7, 10.1, 10.2),
    (10.2, 10.4, 9.9, 10.0),
    (10.0, 10.6, 9.95, 10.5),
    (10.5, 11.0, 10.4, 10.7),
    (10.7, 10.8, 10.2, 10.3),
    (10.3, 10.5, 10.0, 10.1),
    (10.1, 11.3, 10.0, 10.8),
]


def test_equal_highs_pool_then_sweep() -> None:
    b = make_bars(SEQ_POOL)
    ev = analyze_smc(b, P).events
    assert rows(ev, "liquidity_pool", b) == [(8, 1, 6, 11.0, 11.0, 9)]
    assert rows(ev, "sweep", b) == [(9, -1, 9, 11.3, 11.0, None)]
    assert rows(ev, "bos", b) == [] and rows(ev, "choch", b) == []


def test_pool_taken_by_a_close_beyond_is_not_a_sweep() -> None:
    seq = [*SEQ_POOL[:-1], (10.1, 11.3, 10.0, 11.2)]
    b = make_bars(seq)
    ev = analyze_smc(b, P).events
    assert rows(ev, "liquidity_pool", b) == [(8, 1, 6, 11.0, 11.0, 9)]
    assert rows(ev, "sweep", b) == []


def test_unequal_highs_make_no_pool() -> None:
    seq = list(SEQ_POOL)
    seq[6] = (10.5, 11.6, 10.4, 10.7)  # 0.6 apart, far beyond 0.1 x ATR
    assert rows(analyze_smc(make_bars(seq), P).events, "liquidity_pool", make_bars(seq)) == []


def test_equal_lows_mirror_to_sell_side_pool_and_bullish_sweep() -> None:
    m = mirror_bars(make_bars(SEQ_POOL))
    k = 2 * 11.3
    ev = analyze_smc(m, P).events
    assert rows(ev, "liquidity_pool", m) == [(8, -1, 6, round(k - 11.0, 6), round(k - 11.0, 6), 9)]
    assert rows(ev, "sweep", m) == [(9, 1, 9, round(k - 11.0, 6), round(k - 11.3, 6), None)]


def test_displacement_body_against_previous_atr() -> None:
    seq = [(10.0, 10.15, 9.95, 10.1)] * 6 + [(10.1, 10.85, 10.05, 10.8), (10.8, 10.9, 10.7, 10.75)]
    b = make_bars(seq)
    ev = analyze_smc(b, P.model_copy(update={"displacement_atr": 1.5})).events
    assert rows(ev, "displacement", b) == [(6, 1, 6, 10.85, 10.05, None)]


def test_causal_on_real_bars_at_many_cut_points() -> None:
    bars = eurusd()
    params = SMCParams()
    full = analyze_smc(bars, params).events
    cuts = sorted({*range(1, 120, 7), *range(120, len(bars), 173), len(bars) - 1})
    for m in cuts:
        part = analyze_smc(bars.iloc[:m], params).events[IMMUTABLE].reset_index(drop=True)
        want = full[full["time"] < bars.index[m]][IMMUTABLE].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, want, check_dtype=False, obj=f"cut {m}")
    # mitigation is forward-only: a mitigation seen in the prefix is the full run's too
    m = 2500
    part = analyze_smc(bars.iloc[:m], params).events
    seen = part["mitigated_at"].notna()
    want = full[full["time"] < bars.index[m]].reset_index(drop=True)
    assert (part.loc[seen, "mitigated_at"].values == want.loc[seen, "mitigated_at"].values).all()
    assert len(full) > 1000 and set(full["kind"]) == set(SMC_KINDS)


def test_mirroring_prices_swaps_every_direction() -> None:
    bars = eurusd().iloc[:2000]
    a = analyze_smc(bars, SMCParams())
    b = analyze_smc(mirror_bars(bars), SMCParams())
    swap = {"swing_high": "swing_low", "swing_low": "swing_high"}
    ea = a.events[["time", "kind", "direction", "origin"]]
    eb = b.events[["time", "kind", "direction", "origin"]].assign(
        kind=lambda d: d["kind"].map(lambda k: swap.get(k, k)), direction=lambda d: -d["direction"])
    key = ["time", "kind", "direction", "origin"]
    pd.testing.assert_frame_equal(ea.sort_values(key).reset_index(drop=True),
                                  eb.sort_values(key).reset_index(drop=True))
    assert (a.trend.to_numpy() == -b.trend.to_numpy()).all()


def test_gaps_in_time_and_tiny_inputs() -> None:
    b = make_bars(SEQ_A)
    b.index = b.index[:5].append(b.index[5:] + pd.Timedelta(days=3))  # weekend gap
    assert rows(analyze_smc(b, P).events, "bos", b) == [(6, 1, 2, 12.0, 12.0, None)]
    for n in (0, 1, 2, 3):
        res = analyze_smc(make_bars(SEQ_A[:n]), SMCParams())
        assert len(res.trend) == n
        assert tuple(res.events.columns) == EVENT_COLUMNS


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=80),
       st.integers(0, 79), st.floats(-5, 5, allow_nan=False))
def test_sparse_table_searches_match_brute_force(vals: list[float], start: int, thr: float) -> None:
    v = np.round(np.array(vals), 1)
    start = min(start, len(v) - 1)
    mx, mn = SparseTable(v, "max"), SparseTable(v, "min")
    after = np.flatnonzero(v[start + 1:] > thr)
    want = start + 1 + after[0] if after.size else -1
    assert mx.first_beyond(np.array([start]), np.array([thr]))[0] == want
    after = np.flatnonzero(v[start + 1:] < thr)
    want = start + 1 + after[0] if after.size else -1
    assert mn.first_beyond(np.array([start]), np.array([thr]))[0] == want
    lo = np.arange(len(v))
    hi = np.minimum(lo + start, len(v) - 1)
    assert np.array_equal(mx.range(lo, hi), [v[a:b + 1].max() for a, b in zip(lo, hi, strict=True)])


def test_smartmoneyconcepts_rewrites_the_past_and_we_do_not() -> None:
    smc_pkg = pytest.importorskip("smartmoneyconcepts")
    bars = eurusd().iloc[:600]
    ohlc = bars.rename(columns=str.lower)
    full = smc_pkg.smc.swing_highs_lows(ohlc, swing_length=5)["HighLow"].to_numpy()
    part = smc_pkg.smc.swing_highs_lows(ohlc.iloc[:300], swing_length=5)["HighLow"].to_numpy()
    # theirs: a swing marked on a bar in the prefix differs once later bars arrive
    assert not np.array_equal(np.nan_to_num(part), np.nan_to_num(full[:300]))
    ours_full = analyze_smc(bars, SMCParams()).events
    ours_part = analyze_smc(bars.iloc[:300], SMCParams()).events
    want = ours_full[ours_full["time"] < bars.index[300]]
    assert len(ours_part) == len(want)


def test_rows_with_missing_prices_are_skipped() -> None:
    clean = make_bars(SEQ_A)
    holed = make_bars([*SEQ_A[:5], (np.nan, np.nan, np.nan, np.nan), *SEQ_A[5:]])
    a, b = analyze_smc(clean, P), analyze_smc(holed, P)
    ea, eb = a.events, b.events
    assert len(ea) == len(eb) > 0
    # same events, each on the same bar of the sequence (one hour later after the hole)
    for col in ("kind", "direction", "top", "bottom"):
        assert ea[col].tolist() == eb[col].tolist()
    later = ea["time"] >= clean.index[5]
    shifted = ea["time"].where(~later, ea["time"] + pd.Timedelta(hours=1))
    assert eb["time"].tolist() == shifted.tolist()
    assert b.trend.iloc[5] == b.trend.iloc[4] and len(b.trend) == len(holed)
