"""Wyckoff analyzer: exact events on hand-built bars, mirror symmetry, causality, bad rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.analysis.wyckoff import MIRROR_KIND, PHASES, WyckoffResult, analyze_wyckoff
from pulse.config import WyckoffParams

P = WyckoffParams()
IMMUTABLE = ["time", "kind", "direction", "origin", "top", "bottom"]
MIRROR_C = 200.0  # hand-built prices are mirrored as 200 - p

Row = tuple[float, float, float, float]


def _warmup(n: int = 60, start: float = 100.0, step: float = -0.1) -> list[Row]:
    """A steady decline: every bar a new low on ordinary volume (no climax)."""
    rows: list[Row] = []
    for k in range(n):
        o = start + step * k
        c = o + step
        rows.append((o, max(o, c) + 0.05, min(o, c) - 0.05, c))
    return rows


def _accumulation(early_test: bool = False) -> tuple[list[Row], list[float]]:
    """Bars 0-59 decline; SC 60, AR peak 65 confirmed 66, ST 71, spring 78->79, SOS 85,
    LPS low 88 confirmed 89, markup from 90. With ``early_test`` bar 71 breaks the SC low
    and closes back inside (an ST that undercuts, an UT in the mirror image)."""
    rows = _warmup()
    rows += [(94.0, 94.05, 92.0, 92.3)]  # 60 SC: wide, new low, close low, volume 1000
    rows += [
        (92.3, 93.0, 92.2, 92.9),
        (92.9, 93.7, 92.8, 93.6),
        (93.6, 94.4, 93.5, 94.3),
        (94.3, 95.1, 94.2, 95.0),
        (95.0, 95.5, 94.9, 95.4),  # 65 rally high: retrace 3.5 / 7.05 = 50 %
    ]
    rows += [(95.4, 95.45, 94.7, 94.8)]  # 66 closes below bar 65's low: AR confirmed
    rows += [
        (94.8, 94.9, 94.1, 94.2),
        (94.2, 94.3, 93.5, 93.6),
        (93.6, 93.7, 92.9, 93.0),
        (93.0, 93.1, 92.7, 92.8),
    ]
    if early_test:
        rows += [(92.8, 92.9, 91.6, 92.5)]  # 71 under the SC low, closes back inside
    else:
        rows += [(92.8, 92.9, 92.1, 92.5)]  # 71 ST: near the SC low on low volume
    rows += [
        (92.5, 93.1, 92.4, 93.0),
        (93.0, 93.6, 92.9, 93.5),  # stays under the midpoint: the ST does not re-arm
        (93.5, 93.6, 93.1, 93.2),
        (93.2, 93.3, 92.8, 92.9),
        (92.9, 93.0, 92.6, 92.7),
        (92.7, 92.8, 92.5, 92.6),
    ]
    rows += [(92.6, 92.7, 91.5, 91.7)]  # 78 breaks the range bottom
    rows += [(91.7, 92.4, 91.6, 92.3)]  # 79 closes back inside: spring
    rows += [
        (92.3, 93.0, 92.2, 92.9),
        (92.9, 93.6, 92.8, 93.5),
        (93.5, 94.2, 93.4, 94.1),
        (94.1, 94.8, 94.0, 94.7),
        (94.7, 95.4, 94.6, 95.3),
    ]
    rows += [(95.3, 96.1, 95.2, 96.0)]  # 85 SOS: close above 95.5 on volume 800
    rows += [
        (96.0, 96.5, 95.9, 96.4),  # 86 high after the SOS
        (96.4, 96.45, 95.9, 96.0),
        (96.0, 96.1, 95.6, 95.8),  # 88 pullback low (a higher low)
    ]
    rows += [(95.8, 96.4, 95.7, 96.3)]  # 89 closes above bar 88's high: LPS
    rows += [(96.3, 96.8, 96.2, 96.7), (96.7, 97.2, 96.6, 97.1), (97.1, 97.6, 97.0, 97.5)]
    vol = [100.0 + 10.0 * (k % 2) for k in range(len(rows))]
    vol[60] = 1000.0
    vol[85] = 800.0
    return rows, vol


def _frame(rows: list[Row], vol: list[float]) -> pd.DataFrame:
    idx = pd.date_range("2026-01-05", periods=len(rows), freq="h", tz="UTC")
    a = np.array(rows, dtype=float)
    return pd.DataFrame(
        {"open": a[:, 0], "high": a[:, 1], "low": a[:, 2], "close": a[:, 3], "volume": vol},
        index=idx,
    )


def _mirror(bars: pd.DataFrame, c: float) -> pd.DataFrame:
    """Prices reflected about c/2: rallies become declines, highs become lows."""
    return pd.DataFrame(
        {
            "open": c - bars["open"],
            "high": c - bars["low"],
            "low": c - bars["high"],
            "close": c - bars["close"],
            "volume": bars["volume"],
        },
        index=bars.index,
    )


def _eurusd() -> pd.DataFrame:
    from backtesting.test import EURUSD

    df = EURUSD.rename(columns=str.lower).astype(float)
    df.index = df.index.tz_localize("UTC")
    return df


def _table(res: WyckoffResult, bars: pd.DataFrame) -> list[tuple[int, str, int, int, float, float]]:
    ev = res.events
    t = bars.index.get_indexer(ev["time"])
    o = bars.index.get_indexer(ev["origin"])
    return [
        (int(ti), str(k), int(d), int(oi), round(float(tp), 6), round(float(bt), 6))
        for ti, k, d, oi, tp, bt in zip(
            t, ev["kind"], ev["direction"], o, ev["top"], ev["bottom"], strict=True
        )
    ]


def _phase_runs(phase: pd.Series, first: int = 58) -> list[tuple[int, str]]:
    vals = phase.tolist()
    return [(i, vals[i]) for i in range(first, len(vals)) if i == first or vals[i] != vals[i - 1]]


ACC_EXPECTED = [
    (60, "SC", 1, 60, 92.0, 92.0),
    (66, "AR", 1, 65, 95.5, 95.5),
    (66, "TR", 1, 60, 95.5, 92.0),
    (71, "ST", 1, 71, 92.1, 92.1),
    (79, "spring", 1, 78, 91.5, 91.5),
    (85, "SOS", 1, 85, 95.5, 95.5),
    (89, "LPS", 1, 88, 95.6, 95.6),
]
ACC_PHASES = [
    (58, "none"),
    (60, "accumulation_A"),
    (71, "accumulation_B"),
    (79, "accumulation_C"),
    (85, "accumulation_D"),
    (89, "accumulation_E"),
    (90, "markup"),
]


def test_accumulation_events_and_phases_exact() -> None:
    bars = _frame(*_accumulation())
    res = analyze_wyckoff(bars, P)
    assert _table(res, bars) == ACC_EXPECTED
    assert _phase_runs(res.phase) == ACC_PHASES
    assert res.phase.index.equals(bars.index)
    assert res.events["mitigated_at"].isna().all()
    assert list(res.events.columns) == [*IMMUTABLE, "mitigated_at"]


def test_distribution_is_the_mirror_image() -> None:
    bars = _mirror(_frame(*_accumulation()), MIRROR_C)
    res = analyze_wyckoff(bars, P)
    names = {"SC": "BC", "ST": "ST", "spring": "UTAD", "SOS": "SOW", "LPS": "LPSY"}
    expected = [
        (t, names.get(k, k), -1, o, round(MIRROR_C - bt, 6), round(MIRROR_C - tp, 6))
        for t, k, _, o, tp, bt in ACC_EXPECTED
    ]
    assert _table(res, bars) == expected
    flip = {"markup": "markdown", "none": "none"}
    assert _phase_runs(res.phase) == [
        (i, flip.get(ph, ph.replace("accumulation", "distribution"))) for i, ph in ACC_PHASES
    ]


def test_upthrust_before_any_st_is_ut_then_utad() -> None:
    acc_bars = _frame(*_accumulation(early_test=True))
    acc = _table(analyze_wyckoff(acc_bars, P), acc_bars)
    # accumulation: the undercut at 71 is the secondary test (phase B)
    assert (71, "ST", 1, 71, 91.6, 91.6) in acc
    dist_bars = _mirror(acc_bars, MIRROR_C)
    res = analyze_wyckoff(dist_bars, P)
    kinds = [(t, k) for t, k, *_ in _table(res, dist_bars)]
    assert kinds == [
        (60, "BC"),
        (66, "AR"),
        (66, "TR"),
        (71, "UT"),
        (79, "UTAD"),
        (85, "SOW"),
        (89, "LPSY"),
    ]
    assert res.phase.iloc[71] == "distribution_B"
    assert res.phase.iloc[79] == "distribution_C"
    assert res.phase.iloc[-1] == "markdown"


def test_failed_spring_ends_the_range() -> None:
    rows, vol = _accumulation()
    # bar 79 and the next bars stay under the bottom (92.0): no close back inside in time
    for k in range(79, 79 + P.spring_confirm_bars):
        rows[k] = (91.7, 91.9, 91.4, 91.6)
    bars = _frame(rows, vol)
    res = analyze_wyckoff(bars, P)
    kinds = [k for _, k, *_ in _table(res, bars)]
    assert "spring" not in kinds and "SOS" not in kinds and "LPS" not in kinds
    fail_bar = 78 + P.spring_confirm_bars
    assert res.phase.iloc[fail_bar - 1] == "accumulation_B"
    assert res.phase.iloc[fail_bar] == "none"


def test_v_reversal_is_not_an_automatic_rally() -> None:
    rows, vol = _accumulation()
    rows[65] = (95.0, 97.5, 94.9, 97.4)  # the rally retraces 78 % of the climax leg
    bars = _frame(rows, vol)
    res = analyze_wyckoff(bars, P)
    assert [k for _, k, *_ in _table(res, bars)] == ["SC"]
    assert res.phase.iloc[64] == "accumulation_A"
    assert res.phase.iloc[65] == "none"


def test_climax_needs_volume_and_a_wide_bar() -> None:
    rows, vol = _accumulation()
    vol[60] = 115.0
    bars = _frame(rows, vol)
    assert analyze_wyckoff(bars, P).events.empty
    rows, vol = _accumulation()
    rows[60] = (94.0, 94.05, 93.8, 93.82)  # new low on volume, but range 0.25 < 1.5 x 0.2
    bars = _frame(rows, vol)
    assert "SC" not in set(analyze_wyckoff(bars, P).events["kind"])


def test_hand_built_sequence_is_causal_at_every_cut() -> None:
    for bars in (_frame(*_accumulation()), _mirror(_frame(*_accumulation(True)), MIRROR_C)):
        full = analyze_wyckoff(bars, P)
        for m in range(1, len(bars)):
            _assert_prefix(bars, full, m)


def _assert_prefix(bars: pd.DataFrame, full: WyckoffResult, m: int) -> None:
    part = analyze_wyckoff(bars.iloc[:m], P)
    expected = full.events.loc[full.events["time"] < bars.index[m], IMMUTABLE]
    pd.testing.assert_frame_equal(
        part.events[IMMUTABLE].reset_index(drop=True), expected.reset_index(drop=True)
    )
    pd.testing.assert_series_equal(part.phase, full.phase.iloc[:m])


def _es_m1() -> pd.DataFrame:
    """Real E-mini S&P 500 one-minute bars bundled in pulse/data (exchange volume)."""
    from pulse.data import es_m1_path

    raw = pd.read_csv(es_m1_path())
    idx = pd.DatetimeIndex(pd.to_datetime(raw["time"], utc=True))
    cols = {"open": "open", "high": "high", "low": "low", "close": "close"}
    df = raw[list(cols)].astype(float).set_index(idx)
    df["volume"] = raw["real_volume"].astype(float).to_numpy()
    return df


@pytest.mark.parametrize("load", [_eurusd, _es_m1], ids=["EURUSD_H1", "ES_M1"])
def test_causality_on_real_bars(load: object) -> None:
    assert callable(load)
    bars: pd.DataFrame = load()
    full = analyze_wyckoff(bars, P)
    kinds = set(full.events["kind"])
    # the contract is exercised on a real event history of both sides
    assert len(full.events) > 30
    assert {"SC", "BC", "AR", "TR", "SOS", "SOW", "LPS", "LPSY", "spring"} <= kinds
    cuts = [*range(40, len(bars), max(7, len(bars) // 120)), len(bars) - 1]
    for m in cuts:
        _assert_prefix(bars, full, m)


def test_mirror_symmetry_on_real_bars() -> None:
    bars = _eurusd()
    c = 3.0
    a = analyze_wyckoff(bars, P)
    b = analyze_wyckoff(_mirror(bars, c), P)
    assert len(a.events) == len(b.events) > 0
    ea = a.events.sort_values(["time", "direction"], ascending=[True, False], kind="stable")
    eb = b.events.sort_values(["time", "direction"], ascending=[True, True], kind="stable")
    for ra, rb in zip(ea.itertuples(), eb.itertuples(), strict=True):
        assert (ra.time, ra.origin, ra.direction) == (rb.time, rb.origin, -rb.direction)
        assert ra.top == pytest.approx(c - rb.bottom, abs=1e-9)
        assert ra.bottom == pytest.approx(c - rb.top, abs=1e-9)
        acc_kind, dist_kind = (ra.kind, rb.kind) if ra.direction == 1 else (rb.kind, ra.kind)
        assert dist_kind in MIRROR_KIND[acc_kind]
    flip = {
        ph: ph.replace("accumulation", "X")
        .replace("distribution", "accumulation")
        .replace("X", "distribution")
        for ph in PHASES
    }
    flip.update({"markup": "markdown", "markdown": "markup"})
    assert a.phase.map(flip).equals(b.phase)


def test_nan_rows_and_gaps_are_skipped_without_crashing() -> None:
    clean = _frame(*_accumulation())
    res_clean = analyze_wyckoff(clean, P)
    # insert missing rows (NaN prices) between real bars, and drop a few hours (a gap)
    nan_times = clean.index[[10, 61, 80]] + pd.Timedelta(minutes=30)
    holes = pd.DataFrame(np.nan, index=nan_times, columns=clean.columns)
    holes.loc[nan_times[1], "volume"] = 5000.0  # a volume without prices is still no bar
    dirty = pd.concat([clean, holes]).sort_index()
    res = analyze_wyckoff(dirty, P)
    pd.testing.assert_frame_equal(
        res.events[IMMUTABLE].reset_index(drop=True),
        res_clean.events[IMMUTABLE].reset_index(drop=True),
    )
    assert res.phase.index.equals(dirty.index)
    for t in nan_times:
        before = clean.index[clean.index < t][-1]
        assert res.phase[t] == res_clean.phase[before]
    # time gaps change nothing: the analysis counts bars
    gapped = clean.copy()
    gapped.index = clean.index + pd.to_timedelta(np.arange(len(clean)) // 7 * 48, unit="h")
    assert _table(analyze_wyckoff(gapped, P), gapped) == ACC_EXPECTED


def test_degenerate_inputs() -> None:
    clean = _frame(*_accumulation())
    empty = analyze_wyckoff(clean.iloc[:0], P)
    assert empty.events.empty and list(empty.events.columns) == [*IMMUTABLE, "mitigated_at"]
    assert empty.phase.empty
    all_nan = clean.copy()
    all_nan[:] = np.nan
    res = analyze_wyckoff(all_nan, P)
    assert res.events.empty and (res.phase == "none").all()
    no_volume = clean.assign(volume=0.0)
    res = analyze_wyckoff(no_volume, P)
    assert res.events.empty and (res.phase == "none").all()
    nan_volume = clean.assign(volume=np.nan)
    assert analyze_wyckoff(nan_volume, P).events.empty
    one = analyze_wyckoff(clean.iloc[:1], P)
    assert one.events.empty and one.phase.tolist() == ["none"]


def test_bad_frames_raise_clear_errors() -> None:
    clean = _frame(*_accumulation())
    with pytest.raises(ValueError, match=r"missing column.*volume"):
        analyze_wyckoff(clean.drop(columns="volume"), P)
    with pytest.raises(ValueError, match="timezone-aware"):
        analyze_wyckoff(clean.tz_localize(None), P)
    with pytest.raises(ValueError, match="sorted"):
        analyze_wyckoff(clean.iloc[::-1], P)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cut=st.floats(0.05, 0.95),
    nan_rate=st.sampled_from([0.0, 0.02]),
)
def test_causality_on_random_walks(seed: int, cut: float, nan_rate: float) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    close = 100 + np.cumsum(rng.normal(0, 0.3, n) * np.where(rng.random(n) < 0.05, 5, 1))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 0.2, n))
    vol = rng.lognormal(5, 0.5, n) * np.where(rng.random(n) < 0.04, 8, 1)
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": vol,
        },
        index=pd.date_range("2026-01-01", periods=n, freq="15min", tz="UTC"),
    )
    bars.loc[rng.random(n) < nan_rate, ["open", "close"]] = np.nan
    params = WyckoffParams(range_window=20, volume_z_window=10, climax_volume_z=2.0)
    full = analyze_wyckoff(bars, params)
    m = max(1, int(cut * n))
    part = analyze_wyckoff(bars.iloc[:m], params)
    expected = full.events.loc[full.events["time"] < bars.index[m], IMMUTABLE]
    pd.testing.assert_frame_equal(
        part.events[IMMUTABLE].reset_index(drop=True), expected.reset_index(drop=True)
    )
    pd.testing.assert_series_equal(part.phase, full.phase.iloc[:m])
