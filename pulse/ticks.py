"""Tick -> bar aggregation for M1..D1, batch (vectorised) and streaming, session-aware.

Why sessions: a daily bar of a futures contract or an FX broker does not start at UTC
midnight. :class:`SessionSpec` names the local time at which the trading day starts
(``day_start``, e.g. 17:00 America/Chicago for CME Globex, 00:00 in the broker's zone for
most FX servers). Every bar is aligned to the start of its session, in that zone, with DST
handled: intraday bars are ``session_start + k * timeframe`` and never straddle a session
boundary (on a 23- or 25-hour DST day the last bar of the session is shortened, and the
next session starts a fresh grid). A D1 bar is one whole session. Empty intervals (nights,
weekends, halts) produce no bar, like MT5.

Conventions (MT5's): a bar is labelled by its open time (UTC-aware here); ``tick_volume``
is the number of ticks, ``real_volume`` the sum of traded volume, ``spread`` 0 (ticks
without quotes carry no spread). Prices are whatever the caller passes (``last`` for
exchange instruments, ``bid`` for FX, as MT5 builds its charts).

Times are integer milliseconds since the epoch, UTC, on the hot paths (that is MT5's
``time_msc``); :func:`to_epoch_ms` converts datetimes and pandas indexes.

Pure and clock-free: bars close when a later tick arrives, or when the caller says what
time it is (:meth:`TickAggregator.advance`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from pulse.models import Bar

__all__ = [
    "BAR_COLUMNS",
    "TIMEFRAME_MS",
    "AggBar",
    "SessionSpec",
    "TickAggregator",
    "aggregate_ticks",
    "bars_frame",
    "frame_to_bars",
    "frames_from_stream",
    "resample_bars",
    "session_bounds",
    "to_epoch_ms",
]

_MIN = 60_000
#: Bar length in milliseconds of each supported timeframe (all divide a 24-hour day).
TIMEFRAME_MS: dict[str, int] = {
    "M1": _MIN,
    "M2": 2 * _MIN,
    "M3": 3 * _MIN,
    "M4": 4 * _MIN,
    "M5": 5 * _MIN,
    "M6": 6 * _MIN,
    "M10": 10 * _MIN,
    "M12": 12 * _MIN,
    "M15": 15 * _MIN,
    "M20": 20 * _MIN,
    "M30": 30 * _MIN,
    "H1": 60 * _MIN,
    "H2": 120 * _MIN,
    "H3": 180 * _MIN,
    "H4": 240 * _MIN,
    "H6": 360 * _MIN,
    "H8": 480 * _MIN,
    "H12": 720 * _MIN,
    "D1": 1440 * _MIN,
}
DEFAULT_TIMEFRAMES: tuple[str, ...] = ("M1", "M5", "M15", "M30", "H1", "H4", "D1")
#: Columns of every bar frame (MT5 ``copy_rates_*`` names); the index is ``time`` (UTC).
BAR_COLUMNS = ["open", "high", "low", "close", "tick_volume", "spread", "real_volume"]


@dataclass(frozen=True)
class SessionSpec:
    """When the trading day starts: ``day_start`` (HH:MM) in the IANA zone ``timezone``."""

    day_start: str = "00:00"
    timezone: str = "UTC"
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _start: dtime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            hours, minutes = (int(p) for p in self.day_start.split(":"))
            start = dtime(hours, minutes)
        except ValueError:
            raise ValueError(f"day_start must be HH:MM, got {self.day_start!r}") from None
        object.__setattr__(self, "_tz", ZoneInfo(self.timezone))
        object.__setattr__(self, "_start", start)

    def start_of(self, day: date) -> int:
        """Epoch ms of the session that starts on local calendar ``day``."""
        local = datetime.combine(day, self._start, tzinfo=self._tz)
        return int(local.astimezone(UTC).timestamp() * 1000)

    def bounds(self, t_ms: int) -> tuple[int, int]:
        """``(start, end)`` in epoch ms of the session containing ``t_ms``."""
        local_day = datetime.fromtimestamp(t_ms / 1000, tz=self._tz).date()
        start = self.start_of(local_day)
        if start > t_ms:
            local_day -= timedelta(days=1)
            start = self.start_of(local_day)
        end = self.start_of(local_day + timedelta(days=1))
        if end <= t_ms:  # only when the zone skips a day; move on
            return self.bounds(end)
        return start, end


def session_bounds(session: SessionSpec, t0_ms: int, t1_ms: int) -> npt.NDArray[np.int64]:
    """Sorted session starts covering ``[t0_ms, t1_ms]`` plus the following one."""
    first, _ = session.bounds(t0_ms)
    _, last_end = session.bounds(t1_ms)
    out = [first]
    while out[-1] < last_end:
        out.append(session.bounds(out[-1])[1])
    return np.asarray(out, dtype=np.int64)


def to_epoch_ms(times: Any) -> npt.NDArray[np.int64]:
    """Epoch milliseconds from a tz-aware DatetimeIndex/Series/array of datetimes or ints."""
    if isinstance(times, np.ndarray) and times.dtype.kind in "iu":
        return times.astype(np.int64, copy=False)
    idx = pd.DatetimeIndex(times)
    if idx.tz is None:
        raise ValueError("tick times must be timezone-aware (or epoch milliseconds, UTC)")
    return np.asarray(idx.tz_convert("UTC").asi8 // 1_000_000, dtype=np.int64)


def _bar_starts(
    t_ms: npt.NDArray[np.int64], tf_ms: int, session: SessionSpec
) -> npt.NDArray[np.int64]:
    """Open time of the bar that holds each tick (vectorised)."""
    bounds = session_bounds(session, int(t_ms[0]), int(t_ms[-1]))
    sess_start = bounds[np.searchsorted(bounds, t_ms, side="right") - 1]
    if tf_ms >= TIMEFRAME_MS["D1"]:
        return sess_start
    result: npt.NDArray[np.int64] = sess_start + ((t_ms - sess_start) // tf_ms) * tf_ms
    return result


def bars_frame(
    starts: npt.NDArray[np.int64],
    o: npt.ArrayLike,
    h: npt.ArrayLike,
    lo: npt.ArrayLike,
    c: npt.ArrayLike,
    ticks: npt.ArrayLike,
    volume: npt.ArrayLike,
) -> pd.DataFrame:
    """A bar DataFrame in the feed's shape: UTC ``time`` index, MT5 column names."""
    index = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(starts, dtype=np.int64), unit="ms", utc=True)
    )
    index.name = "time"
    n = len(index)
    return pd.DataFrame(
        {
            "open": np.asarray(o, dtype=np.float64),
            "high": np.asarray(h, dtype=np.float64),
            "low": np.asarray(lo, dtype=np.float64),
            "close": np.asarray(c, dtype=np.float64),
            "tick_volume": np.asarray(ticks, dtype=np.int64),
            "spread": np.zeros(n, dtype=np.int32),
            "real_volume": np.asarray(volume, dtype=np.float64),
        },
        index=index,
    )


def aggregate_ticks(
    times: Any,
    prices: npt.ArrayLike,
    volumes: npt.ArrayLike | None = None,
    timeframe: str = "M1",
    session: SessionSpec | None = None,
) -> pd.DataFrame:
    """Batch path: every bar of ``timeframe`` from ticks (sorted stably by time first).

    ``times`` are epoch ms (UTC) or tz-aware datetimes; NaN prices are refused, because a
    bar built from a hole would lie about its range.
    """
    tf_ms = _tf_ms(timeframe)
    t = to_epoch_ms(times)
    p = np.asarray(prices, dtype=np.float64)
    v = np.zeros(len(p)) if volumes is None else np.asarray(volumes, dtype=np.float64)
    if not (len(t) == len(p) == len(v)):
        raise ValueError(
            f"times, prices and volumes differ in length ({len(t)}, {len(p)}, {len(v)})"
        )
    if len(t) == 0:
        return bars_frame(np.empty(0, np.int64), [], [], [], [], [], [])
    if np.isnan(p).any():
        raise ValueError(f"prices contain NaN at index {int(np.flatnonzero(np.isnan(p))[0])}")
    if (np.diff(t) < 0).any():
        order = np.argsort(t, kind="stable")
        t, p, v = t[order], p[order], v[order]
    starts = _bar_starts(t, tf_ms, session or SessionSpec())
    firsts = np.flatnonzero(np.concatenate(([True], starts[1:] != starts[:-1])))
    lasts = np.concatenate((firsts[1:] - 1, [len(t) - 1]))
    return bars_frame(
        starts[firsts],
        p[firsts],
        np.maximum.reduceat(p, firsts),
        np.minimum.reduceat(p, firsts),
        p[lasts],
        np.diff(np.concatenate((firsts, [len(t)]))),
        np.add.reduceat(v, firsts),
    )


def resample_bars(
    bars: pd.DataFrame, timeframe: str, session: SessionSpec | None = None
) -> pd.DataFrame:
    """Higher-timeframe bars from lower ones (M1 -> H1 ...), with the same session alignment.

    ``bars`` has a tz-aware index of bar open times and MT5 column names; it must be in
    time order without NaN prices (the row is named otherwise).
    """
    tf_ms = _tf_ms(timeframe)
    if bars.empty:
        return bars_frame(np.empty(0, np.int64), [], [], [], [], [], [])
    missing = [c for c in ("open", "high", "low", "close") if c not in bars.columns]
    if missing:
        raise ValueError(f"bars lack column(s) {', '.join(missing)}")
    t = to_epoch_ms(bars.index)
    if (np.diff(t) <= 0).any():
        i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise ValueError(
            f"bars must be in strictly increasing time order (row {i}: {bars.index[i]})"
        )
    ohlc = bars[["open", "high", "low", "close"]].to_numpy(dtype=np.float64)
    if np.isnan(ohlc).any():
        i = int(np.flatnonzero(np.isnan(ohlc).any(axis=1))[0])
        raise ValueError(f"bars have NaN prices at row {i} ({bars.index[i]})")
    starts = _bar_starts(t, tf_ms, session or SessionSpec())
    firsts = np.flatnonzero(np.concatenate(([True], starts[1:] != starts[:-1])))
    lasts = np.concatenate((firsts[1:] - 1, [len(t) - 1]))
    ticks = (
        bars["tick_volume"].to_numpy(dtype=np.int64)
        if "tick_volume" in bars
        else np.zeros(len(t), np.int64)
    )
    vol = (
        bars["real_volume"].to_numpy(dtype=np.float64)
        if "real_volume" in bars
        else np.zeros(len(t))
    )
    out = bars_frame(
        starts[firsts],
        ohlc[firsts, 0],
        np.maximum.reduceat(ohlc[:, 1], firsts),
        np.minimum.reduceat(ohlc[:, 2], firsts),
        ohlc[lasts, 3],
        np.add.reduceat(ticks, firsts),
        np.add.reduceat(vol, firsts),
    )
    if "spread" in bars:
        out["spread"] = np.minimum.reduceat(bars["spread"].to_numpy(dtype=np.int32), firsts)
    return out


def frame_to_bars(bars: pd.DataFrame) -> list[Bar]:
    """A bar frame (feed / aggregation shape) as :class:`pulse.models.Bar` objects."""
    t = to_epoch_ms(bars.index)
    cols = [
        bars[c].to_numpy(dtype=np.float64).tolist() if c in bars else [0.0] * len(bars)
        for c in ("open", "high", "low", "close", "tick_volume", "spread", "real_volume")
    ]
    return [
        Bar(
            time=datetime.fromtimestamp(ti / 1000, tz=UTC),
            open=o,
            high=h,
            low=lo,
            close=c,
            tick_volume=tv,
            spread=int(sp),
            real_volume=rv,
        )
        for ti, o, h, lo, c, tv, sp, rv in zip(t.tolist(), *cols, strict=True)
    ]


def _tf_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValueError(
            f"timeframe must be one of {', '.join(TIMEFRAME_MS)}, got {timeframe!r}"
        ) from None


# --------------------------------------------------------------------------- streaming


class AggBar(NamedTuple):
    """A closed (or, from :meth:`TickAggregator.current`, forming) bar; times in epoch ms."""

    timeframe: str
    time_ms: int
    open: float
    high: float
    low: float
    close: float
    tick_volume: int
    real_volume: float
    end_ms: int

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_ms / 1000, tz=UTC)

    def to_bar(self) -> Bar:
        """As the shared :class:`pulse.models.Bar`."""
        return Bar(
            time=self.time,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            tick_volume=float(self.tick_volume),
            real_volume=self.real_volume,
        )


class _Open:
    """A forming bar (mutable, slotted for speed)."""

    __slots__ = ("c", "end", "h", "lo", "n", "o", "start", "v")

    def __init__(
        self, start: int, end: int, o: float, h: float, lo: float, c: float, n: int, v: float
    ) -> None:
        self.start, self.end = start, end
        self.o, self.h, self.lo, self.c, self.n, self.v = o, h, lo, c, n, v


class TickAggregator:
    """Streaming path: push ticks in time order, get back the bars they close.

    Ticks build M1 bars; every higher timeframe is built from closed M1 bars (an M1 bar
    always lies inside one bar of any timeframe here, because all are aligned to the
    session start and divide the day). A bar of timeframe T closes when a tick opens an M1
    bar at or after its end, or when :meth:`advance` is told a time at or after its end.
    Closed bars come out in time order of their close, shorter timeframes first.

    A tick older than the forming M1 bar cannot reopen closed bars: it is dropped and
    counted in ``late_ticks`` (MT5 delivers ticks in order; the batch path sorts).
    """

    def __init__(
        self,
        timeframes: Sequence[str] = DEFAULT_TIMEFRAMES,
        session: SessionSpec | None = None,
    ) -> None:
        for tf in timeframes:
            _tf_ms(tf)
        self.timeframes = tuple(sorted(set(timeframes), key=TIMEFRAME_MS.__getitem__))
        self.session = session or SessionSpec()
        self._emit_m1 = "M1" in self.timeframes
        self._higher = [(tf, TIMEFRAME_MS[tf]) for tf in self.timeframes if tf != "M1"]
        self._open: dict[str, _Open] = {}
        self._m1: _Open | None = None
        self._m1_end = -(2**62)
        self._m1_start = -(2**62)
        self._sess = (0, 0)
        self.late_ticks = 0
        self.ticks = 0

    # -- hot path ---------------------------------------------------------------

    def push(self, t_ms: int, price: float, volume: float = 0.0) -> list[AggBar]:
        """Add one tick (epoch ms UTC); returns the bars it closed (usually none)."""
        m1 = self._m1
        if m1 is not None and self._m1_start <= t_ms < self._m1_end:
            if price > m1.h:
                m1.h = price
            elif price < m1.lo:
                m1.lo = price
            m1.c = price
            m1.n += 1
            m1.v += volume
            self.ticks += 1
            return []
        if t_ms < self._m1_start:
            self.late_ticks += 1
            return []
        self.ticks += 1
        return self._roll(t_ms, price, volume)

    def push_many(
        self, times: Any, prices: npt.ArrayLike, volumes: npt.ArrayLike | None = None
    ) -> list[AggBar]:
        """Add a chunk of ticks (what a feed poll returns): vectorised, same result as push."""
        t = to_epoch_ms(times)
        p = np.asarray(prices, dtype=np.float64)
        v = np.zeros(len(p)) if volumes is None else np.asarray(volumes, dtype=np.float64)
        if len(t) == 0:
            return []
        if (np.diff(t) < 0).any():  # out of order: the per-tick rules decide what is late
            out_of_order: list[AggBar] = []
            for ti, pi, vi in zip(t.tolist(), p.tolist(), v.tolist(), strict=True):
                out_of_order.extend(self.push(ti, pi, vi))
            return out_of_order
        if t[0] < self._m1_start:
            late = t < self._m1_start
            self.late_ticks += int(late.sum())
            t, p, v = t[~late], p[~late], v[~late]
            if len(t) == 0:
                return []
        out: list[AggBar] = []
        # Ticks that still belong to the forming M1 bar.
        k = int(np.searchsorted(t, self._m1_end, side="left")) if self._m1 is not None else 0
        if k:
            m1 = self._m1
            assert m1 is not None
            m1.h = max(m1.h, float(p[:k].max()))
            m1.lo = min(m1.lo, float(p[:k].min()))
            m1.c = float(p[k - 1])
            m1.n += k
            m1.v += float(v[:k].sum())
            self.ticks += k
        if k == len(t):
            return out
        t, p, v = t[k:], p[k:], v[k:]
        starts = _bar_starts(t, TIMEFRAME_MS["M1"], self.session)
        firsts = np.flatnonzero(np.concatenate(([True], starts[1:] != starts[:-1])))
        highs = np.maximum.reduceat(p, firsts)
        lows = np.minimum.reduceat(p, firsts)
        vols = np.add.reduceat(v, firsts)
        counts = np.diff(np.concatenate((firsts, [len(t)])))
        lasts = np.concatenate((firsts[1:] - 1, [len(t) - 1]))
        for i in range(len(firsts)):
            f = int(firsts[i])
            out.extend(self._roll(int(t[f]), float(p[f]), float(v[f])))
            m1 = self._m1
            assert m1 is not None
            m1.h, m1.lo, m1.c = float(highs[i]), float(lows[i]), float(p[lasts[i]])
            m1.n, m1.v = int(counts[i]), float(vols[i])
        self.ticks += len(t)
        return out

    # -- bar rolling ----------------------------------------------------------------

    def _session_of(self, t_ms: int) -> tuple[int, int]:
        s, e = self._sess
        if not (s <= t_ms < e):
            self._sess = s, e = self.session.bounds(t_ms)
        return s, e

    def _roll(self, t_ms: int, price: float, volume: float) -> list[AggBar]:
        """A tick outside the forming M1 bar: close what ended, open the new M1 bar."""
        out = self._close_m1()
        s, e = self._session_of(t_ms)
        start = s + ((t_ms - s) // _MIN) * _MIN
        end = min(start + _MIN, e)
        self._m1 = _Open(start, end, price, price, price, price, 1, volume)
        self._m1_start, self._m1_end = start, end
        self._close_higher(start, out)
        return out

    def _close_m1(self) -> list[AggBar]:
        m1 = self._m1
        if m1 is None:
            return []
        self._m1 = None
        out: list[AggBar] = []
        if self._emit_m1:
            out.append(AggBar("M1", m1.start, m1.o, m1.h, m1.lo, m1.c, m1.n, m1.v, m1.end))
        if self._higher:
            s, e = self._session_of(m1.start)
            for tf, tf_ms in self._higher:
                bar = self._open.get(tf)
                if bar is None:
                    start = (
                        s if tf_ms >= TIMEFRAME_MS["D1"] else s + ((m1.start - s) // tf_ms) * tf_ms
                    )
                    end = e if tf_ms >= TIMEFRAME_MS["D1"] else min(start + tf_ms, e)
                    self._open[tf] = _Open(start, end, m1.o, m1.h, m1.lo, m1.c, m1.n, m1.v)
                else:
                    bar.h = max(bar.h, m1.h)
                    bar.lo = min(bar.lo, m1.lo)
                    bar.c = m1.c
                    bar.n += m1.n
                    bar.v += m1.v
        return out

    def _close_higher(self, now_ms: int, out: list[AggBar]) -> None:
        for tf, _ in self._higher:
            bar = self._open.get(tf)
            if bar is not None and bar.end <= now_ms:
                del self._open[tf]
                out.append(
                    AggBar(tf, bar.start, bar.o, bar.h, bar.lo, bar.c, bar.n, bar.v, bar.end)
                )

    # -- control ---------------------------------------------------------------------

    def advance(self, now_ms: int) -> list[AggBar]:
        """Close every bar that ended at or before ``now_ms`` (no tick needed)."""
        out: list[AggBar] = []
        if self._m1 is not None and self._m1_end <= now_ms:
            out = self._close_m1()
        self._close_higher(now_ms, out)
        return out

    def flush(self) -> list[AggBar]:
        """Close every forming bar now (end of data)."""
        out = self._close_m1()
        self._close_higher(2**62, out)
        return out

    def current(self, timeframe: str) -> AggBar | None:
        """The forming bar of ``timeframe``, including the forming M1 bar's ticks."""
        m1 = self._m1
        if timeframe == "M1":
            if m1 is None:
                return None
            return AggBar("M1", m1.start, m1.o, m1.h, m1.lo, m1.c, m1.n, m1.v, m1.end)
        bar = self._open.get(timeframe)
        if bar is None and m1 is None:
            return None
        if bar is None:
            assert m1 is not None
            s, e = self._session_of(m1.start)
            tf_ms = _tf_ms(timeframe)
            start = s if tf_ms >= TIMEFRAME_MS["D1"] else s + ((m1.start - s) // tf_ms) * tf_ms
            end = e if tf_ms >= TIMEFRAME_MS["D1"] else min(start + tf_ms, e)
            return AggBar(timeframe, start, m1.o, m1.h, m1.lo, m1.c, m1.n, m1.v, end)
        if m1 is None or m1.start >= bar.end:
            return AggBar(timeframe, bar.start, bar.o, bar.h, bar.lo, bar.c, bar.n, bar.v, bar.end)
        return AggBar(
            timeframe,
            bar.start,
            bar.o,
            max(bar.h, m1.h),
            min(bar.lo, m1.lo),
            m1.c,
            bar.n + m1.n,
            bar.v + m1.v,
            bar.end,
        )


def frames_from_stream(bars: Iterable[AggBar]) -> dict[str, pd.DataFrame]:
    """Group streamed bars by timeframe into bar frames (same shape as the batch path)."""
    groups: dict[str, list[AggBar]] = {}
    for b in bars:
        groups.setdefault(b.timeframe, []).append(b)
    out: dict[str, pd.DataFrame] = {}
    for tf, rows in groups.items():
        rows.sort(key=lambda b: b.time_ms)
        out[tf] = bars_frame(
            np.array([b.time_ms for b in rows], dtype=np.int64),
            [b.open for b in rows],
            [b.high for b in rows],
            [b.low for b in rows],
            [b.close for b in rows],
            [b.tick_volume for b in rows],
            [b.real_volume for b in rows],
        )
    return out
