"""Tick aggregation: session boundaries, DST, gaps, streaming == batch on the real ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.data import ES_SESSION, load_es_m1, load_es_ticks
from pulse.ticks import (
    TIMEFRAME_MS,
    SessionSpec,
    TickAggregator,
    aggregate_ticks,
    frame_to_bars,
    frames_from_stream,
    resample_bars,
    to_epoch_ms,
)

CHICAGO_17 = SessionSpec("17:00", "America/Chicago")


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def stream(ticks: list[tuple[int, float, float]], tfs: list[str], session: SessionSpec) -> dict:
    agg = TickAggregator(tfs, session)
    out = []
    for t, p, v in ticks:
        out.extend(agg.push(t, p, v))
    out.extend(agg.flush())
    return frames_from_stream(out)


def test_m1_ohlcv_from_hand_built_ticks() -> None:
    t0 = ms(2026, 3, 2, 9, 0)
    ticks = [
        (t0 + 1_000, 10.0, 1),
        (t0 + 20_000, 12.0, 2),
        (t0 + 40_000, 9.0, 3),
        (t0 + 59_999, 11.0, 4),
        (t0 + 60_000, 11.5, 5),
    ]
    t, p, v = zip(*ticks, strict=True)
    df = aggregate_ticks(np.array(t), p, v, "M1")
    assert df.index.tolist() == [
        pd.Timestamp(t0, unit="ms", tz="UTC"),
        pd.Timestamp(t0 + 60_000, unit="ms", tz="UTC"),
    ]
    assert df.iloc[0][["open", "high", "low", "close"]].tolist() == [10.0, 12.0, 9.0, 11.0]
    assert df["tick_volume"].tolist() == [4, 1]
    assert df["real_volume"].tolist() == [10.0, 5.0]
    pd.testing.assert_frame_equal(stream(ticks, ["M1"], SessionSpec())["M1"], df)


def test_d1_starts_at_the_configured_session_start() -> None:
    # 2026-03-04: Chicago is CST (UTC-6), so 17:00 local = 23:00 UTC.
    ticks = [
        (ms(2026, 3, 4, 22, 59, 59), 100.0, 1),
        (ms(2026, 3, 4, 23, 0, 0), 101.0, 1),
        (ms(2026, 3, 5, 22, 0), 102.0, 1),
    ]
    t, p, v = zip(*ticks, strict=True)
    d1 = aggregate_ticks(np.array(t), p, v, "D1", CHICAGO_17)
    assert [x.to_pydatetime() for x in d1.index] == [
        datetime(2026, 3, 3, 23, tzinfo=UTC),
        datetime(2026, 3, 4, 23, tzinfo=UTC),
    ]
    assert d1["close"].tolist() == [100.0, 102.0]
    utc_days = aggregate_ticks(np.array(t), p, v, "D1", SessionSpec())
    assert len(utc_days) == 2 and utc_days["tick_volume"].tolist() == [2, 1]
    pd.testing.assert_frame_equal(stream(ticks, ["D1"], CHICAGO_17)["D1"], d1)


def test_dst_day_session_is_23_hours_and_bars_never_straddle_it() -> None:
    # US DST starts 2026-03-08: the session opens 17:00 CST (23:00 UTC on the 7th) and the
    # next one 17:00 CDT (22:00 UTC on the 8th).
    ticks = [
        (ms(2026, 3, 7, 23, 0), 1.0, 1),
        (ms(2026, 3, 8, 21, 59), 2.0, 1),
        (ms(2026, 3, 8, 22, 0), 3.0, 1),
        (ms(2026, 3, 8, 22, 30), 4.0, 1),
    ]
    t, p, v = zip(*ticks, strict=True)
    h4 = aggregate_ticks(np.array(t), p, v, "H4", CHICAGO_17)
    # 23:00 + 5 * 4 h = 19:00 UTC: that bar is cut at 22:00, where the new session starts.
    assert [x.to_pydatetime() for x in h4.index] == [
        datetime(2026, 3, 7, 23, tzinfo=UTC),
        datetime(2026, 3, 8, 19, tzinfo=UTC),
        datetime(2026, 3, 8, 22, tzinfo=UTC),
    ]
    d1 = aggregate_ticks(np.array(t), p, v, "D1", CHICAGO_17)
    assert [x.to_pydatetime() for x in d1.index] == [
        datetime(2026, 3, 7, 23, tzinfo=UTC),
        datetime(2026, 3, 8, 22, tzinfo=UTC),
    ]
    s, e = CHICAGO_17.bounds(ms(2026, 3, 8, 12))
    assert e - s == 23 * 3600 * 1000
    frames = stream(ticks, ["H4", "D1"], CHICAGO_17)
    pd.testing.assert_frame_equal(frames["H4"], h4)
    pd.testing.assert_frame_equal(frames["D1"], d1)


def test_gaps_make_no_empty_bars_and_advance_closes_without_ticks() -> None:
    t0 = ms(2026, 3, 2, 10, 0)
    agg = TickAggregator(["M1", "M5"])
    assert agg.push(t0 + 5_000, 1.0, 1) == []
    closed = agg.push(t0 + 310_000, 2.0, 1)  # 10:05:10, five empty minutes later
    assert [(b.timeframe, b.time_ms) for b in closed] == [("M1", t0), ("M5", t0)]
    assert agg.current("M1") is not None and agg.current("M1").close == 2.0
    assert agg.current("M5").time_ms == t0 + 300_000
    assert agg.advance(t0 + 359_999) == []
    closed = agg.advance(t0 + 360_000)
    assert [(b.timeframe, b.time_ms) for b in closed] == [("M1", t0 + 300_000)]
    closed = agg.advance(t0 + 600_000)
    assert [(b.timeframe, b.time_ms, b.end_ms) for b in closed] == [
        ("M5", t0 + 300_000, t0 + 600_000)
    ]
    assert agg.flush() == []
    bar = closed[0].to_bar()
    assert bar.time == datetime(2026, 3, 2, 10, 5, tzinfo=UTC) and bar.tick_volume == 1


def test_current_merges_the_forming_minute() -> None:
    t0 = ms(2026, 3, 2, 10, 0)
    agg = TickAggregator(["M1", "H1"])
    for i, price in enumerate([5.0, 7.0, 4.0]):
        agg.push(t0 + i * 60_000, price, 1)
    h1 = agg.current("H1")
    assert h1 is not None
    assert (h1.open, h1.high, h1.low, h1.close, h1.tick_volume) == (5.0, 7.0, 4.0, 4.0, 3)


def test_late_tick_is_dropped_and_counted() -> None:
    t0 = ms(2026, 3, 2, 10, 0)
    agg = TickAggregator(["M1"])
    agg.push(t0 + 70_000, 1.0)
    assert agg.push(t0 + 10_000, 9.0) == []
    assert agg.late_ticks == 1
    assert agg.current("M1").high == 1.0


def test_batch_sorts_and_refuses_bad_input() -> None:
    t = np.array([ms(2026, 3, 2, 10, 1), ms(2026, 3, 2, 10, 0)])
    df = aggregate_ticks(t, [2.0, 1.0], None, "M1")
    assert df["open"].tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="NaN at index 1"):
        aggregate_ticks(t, [1.0, float("nan")], None, "M1")
    with pytest.raises(ValueError, match="timeframe must be one of"):
        aggregate_ticks(t, [1.0, 2.0], None, "M7")
    with pytest.raises(ValueError, match="timezone-aware"):
        to_epoch_ms(pd.DatetimeIndex(["2026-03-02 10:00"]))
    with pytest.raises(ValueError, match="day_start"):
        SessionSpec("25:00")
    assert aggregate_ticks(np.array([], dtype=np.int64), [], None, "M1").empty
    aware = pd.DatetimeIndex(["2026-03-02 11:00"]).tz_localize("Europe/Prague")
    assert to_epoch_ms(aware).tolist() == [ms(2026, 3, 2, 10, 0)]


# --------------------------------------------------------------------------- real ticks


@pytest.fixture(scope="module")
def es() -> pd.DataFrame:
    return load_es_ticks()


def test_streaming_equals_batch_on_the_real_ticks_for_every_timeframe(es: pd.DataFrame) -> None:
    t = es["time_msc"].to_numpy()
    p = es["price"].to_numpy()
    v = es["volume"].to_numpy()
    tfs = list(TIMEFRAME_MS)
    agg = TickAggregator(tfs, ES_SESSION)
    out = []
    push = agg.push
    for ti, pi, vi in zip(t.tolist(), p.tolist(), v.tolist(), strict=True):
        out.extend(push(ti, pi, vi))
    out.extend(agg.flush())
    streamed = frames_from_stream(out)

    chunked = TickAggregator(tfs, ES_SESSION)
    out2 = []
    rng = np.random.default_rng(7)
    cuts = np.sort(rng.choice(len(t), size=300, replace=False))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(t)], strict=True):
        out2.extend(chunked.push_many(t[lo:hi], p[lo:hi], v[lo:hi]))
    out2.extend(chunked.flush())
    streamed_chunks = frames_from_stream(out2)

    for tf in tfs:
        batch = aggregate_ticks(t, p, v, tf, ES_SESSION)
        pd.testing.assert_frame_equal(streamed[tf], batch, check_names=True)
        pd.testing.assert_frame_equal(streamed_chunks[tf], batch)
        assert batch["tick_volume"].sum() == len(t)
        assert batch["real_volume"].sum() == v.sum()
    assert agg.ticks == chunked.ticks == len(t) and agg.late_ticks == 0


def test_real_sessions_and_the_labor_day_halt(es: pd.DataFrame) -> None:
    t, p, v = es["time_msc"].to_numpy(), es["price"], es["volume"]
    d1 = aggregate_ticks(t, p, v, "D1", ES_SESSION)
    # Globex days open at 17:00 Chicago (CDT, UTC-5) = 22:00 UTC.
    assert [x.to_pydatetime() for x in d1.index] == [
        datetime(2013, 9, 1, 22, tzinfo=UTC),
        datetime(2013, 9, 2, 22, tzinfo=UTC),
    ]
    m1 = aggregate_ticks(t, p, v, "M1", ES_SESSION)
    gap = m1.index.to_series().diff().max()
    assert gap == timedelta(hours=6, minutes=31)  # 10:29 -> 17:00 CDT on Labor Day
    h1 = aggregate_ticks(t, p, v, "H1", ES_SESSION)
    assert not ((h1.index >= "2013-09-02 16:00Z") & (h1.index < "2013-09-02 22:00Z")).any()


def test_bundled_m1_csv_matches_the_bundled_ticks(es: pd.DataFrame) -> None:
    m1 = load_es_m1()
    built = aggregate_ticks(es["time_msc"].to_numpy(), es["price"], es["volume"], "M1", ES_SESSION)
    assert len(m1) == len(built) == 2264
    assert (m1.index == built.index).all()
    np.testing.assert_allclose(
        m1[["open", "high", "low", "close"]], built[["open", "high", "low", "close"]]
    )
    assert (m1["tick_volume"].to_numpy() == built["tick_volume"].to_numpy()).all()
    assert (m1["real_volume"].to_numpy() == built["real_volume"].to_numpy()).all()


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=6 * 3600 * 1000), min_size=1, max_size=80),
    prices=st.lists(
        st.floats(min_value=1, max_value=100, allow_nan=False), min_size=80, max_size=80
    ),
    day_start=st.sampled_from(["00:00", "17:00", "22:30"]),
    zone=st.sampled_from(["UTC", "America/Chicago", "Europe/Prague", "Asia/Kolkata"]),
)
def test_streaming_equals_batch_property(
    gaps: list[int], prices: list[float], day_start: str, zone: str
) -> None:
    session = SessionSpec(day_start, zone)
    t = ms(2026, 3, 6) + np.cumsum(gaps)  # crosses the US and EU DST switches sometimes
    p = np.array(prices[: len(t)])
    ticks = list(zip(t.tolist(), p.tolist(), [1.0] * len(t), strict=True))
    tfs = ["M1", "M5", "H1", "H4", "H12", "D1"]
    frames = stream(ticks, tfs, session)
    for tf in tfs:
        batch = aggregate_ticks(t, p, np.ones(len(t)), tf, session)
        pd.testing.assert_frame_equal(frames[tf], batch)


def test_resample_m1_bars_equals_aggregating_the_ticks(es: pd.DataFrame) -> None:
    m1 = load_es_m1()
    t, p, v = es["time_msc"].to_numpy(), es["price"], es["volume"]
    for tf in ("M5", "M15", "H1", "H4", "D1"):
        pd.testing.assert_frame_equal(
            resample_bars(m1, tf, ES_SESSION), aggregate_ticks(t, p, v, tf, ES_SESSION)
        )
    broken = m1.iloc[:5].copy()
    broken.iloc[3, broken.columns.get_loc("high")] = float("nan")
    with pytest.raises(ValueError, match="NaN prices at row 3"):
        resample_bars(broken, "M5")
    with pytest.raises(ValueError, match="increasing time order"):
        resample_bars(m1.iloc[[1, 0]], "M5")


def test_frame_to_bars_round_trip() -> None:
    m1 = load_es_m1().iloc[:3]
    bars = frame_to_bars(m1)
    assert [b.time for b in bars] == [t.to_pydatetime() for t in m1.index]
    assert bars[0].open == m1["open"].iloc[0] and bars[0].tick_volume == m1["tick_volume"].iloc[0]
    assert bars[2].real_volume == m1["real_volume"].iloc[2]
