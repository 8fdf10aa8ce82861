"""OHLCV loading and normalising: one frame shape for every analyzer.

Every analyzer takes a DataFrame with float columns ``open high low close volume`` and a
strictly increasing, timezone-aware UTC :class:`~pandas.DatetimeIndex`. This module turns
the usual spellings into that shape:

- time from a ``time``/``date``/``datetime``/``timestamp``/``index`` column, MT5's separate
  ``<DATE>``/``<TIME>`` columns, epoch seconds (MT5 ``copy_rates``), or the frame's index;
  naive times are taken as ``assume_tz`` (UTC unless told), aware ones converted to UTC;
- ``Open``/``open``/``<OPEN>`` (any case, MT5's angle brackets stripped);
- volume from ``volume``, else ``tick_volume``/``tickvol``, else ``real_volume``/``vol``
  (a real volume that is all zero, as on most FX brokers, falls back to tick volume);
  no volume column at all gives zeros and ``attrs["volume_missing"] = True``.

Gaps in time (weekends, missing hours) are kept as they are: analyzers count bars, not
clock time. Rows with a missing or non-positive price are dropped (a bar without prices
is not a bar), duplicate times keep the last row, and highs/lows are widened to contain
open and close. What was dropped or repaired is counted in ``attrs["repairs"]``.
Bad input raises :class:`BarsError` with one line per problem.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

__all__ = ["OHLCV", "BarsError", "load_bars_csv", "mirror_bars", "normalize_bars"]

OHLCV: tuple[str, ...] = ("open", "high", "low", "close", "volume")

_TIME_NAMES = ("time", "datetime", "timestamp", "date", "index", "date_time", "dt")
_ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "last", "price"),
}
_VOLUME_NAMES = ("volume", "tick_volume", "tickvol", "tick_vol", "real_volume", "vol", "v")


class BarsError(ValueError):
    """Bars that cannot be used; ``problems`` has one line each, naming the column/row."""

    def __init__(self, problems: list[str], source: str = "bars") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))


def _key(name: object) -> str:
    return str(name).strip().strip("<>").strip().lower().replace(" ", "_")


def _to_float(col: pd.Series) -> np.ndarray:
    """Numbers of a column as floats (NaN where unreadable); text columns may use a
    decimal comma (European exports) and spaces/apostrophes as thousands separators."""
    if col.dtype == object:
        text: Any = col.astype(str)
        text = text.str.replace(r"[\s\u00a0\u202f']", "", regex=True)
        both = text.str.contains(",", regex=False) & text.str.contains(".", regex=False)
        text = text.where(~both, text.str.replace(",", "", regex=False))
        text = text.str.replace(",", ".", regex=False)
        col = text
    return np.asarray(pd.to_numeric(col, errors="coerce"), dtype=float)


def _parse_times(values: Any, assume_tz: str, what: str) -> pd.DatetimeIndex:
    """Parse times (strings, datetimes or epoch seconds/ms) into a UTC DatetimeIndex."""
    idx: pd.DatetimeIndex
    if isinstance(values, pd.DatetimeIndex):
        idx = values
    else:
        s: Any = pd.Series(values)
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            num = pd.to_numeric(s, errors="coerce")
            # epoch seconds until 2286; larger values are milliseconds (MT5 time_msc)
            unit = "ms" if num.abs().max() > 1e10 else "s"
            idx = pd.DatetimeIndex(
                pd.to_datetime(num, unit=unit, utc=True, errors="coerce")  # type: ignore[call-overload]
            )
        else:
            text = s.astype(str).str.strip().str.replace(".", "-", n=2, regex=False)
            try:
                idx = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", format="mixed"))
            except (ValueError, TypeError):
                # mixed offsets: parse as UTC directly
                idx = pd.DatetimeIndex(pd.to_datetime(text, errors="coerce", utc=True))
    isna = np.asarray(idx.isna())
    bad = int(isna.sum())
    if bad:
        pos = int(np.flatnonzero(isna)[0])
        raise BarsError(
            [f"{what}: {bad} value(s) are not times (first at row {pos}: "
             f"{pd.Series(values).iloc[pos]!r}); use ISO times such as 2024-01-31 13:00"]
        )
    if idx.tz is None:
        try:
            zone = ZoneInfo(assume_tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise BarsError([f"{what}: unknown timezone {assume_tz!r} for naive times "
                             "(use an IANA name such as Europe/Prague)"]) from None
        try:
            # the hour repeated when DST ends is told apart by the rows' order
            idx = idx.tz_localize(zone, ambiguous="infer", nonexistent="NaT")
        except Exception:  # not inferable (e.g. unsorted rows): such times become NaT
            idx = idx.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    return idx.tz_convert("UTC")


def _index_of(df: pd.DataFrame, cols: dict[str, Any], assume_tz: str) -> pd.DatetimeIndex:
    """The bars' times: explicit column, MT5 ``<DATE>``+``<TIME>``, or the frame's index."""
    index: pd.DatetimeIndex
    if "date" in cols and "time" in cols:
        date_s: Any = df[cols["date"]].astype(str)
        combined = date_s + " " + df[cols["time"]].astype(str)
        index = _parse_times(combined, assume_tz, "columns date+time")
    else:
        tcol = next((cols[n] for n in _TIME_NAMES if n in cols), None)
        if tcol is not None:
            index = _parse_times(df[tcol], assume_tz, f"column {str(tcol)!r}")
        elif isinstance(df.index, pd.DatetimeIndex) or not isinstance(df.index, pd.RangeIndex):
            index = _parse_times(
                df.index if isinstance(df.index, pd.DatetimeIndex) else df.index.to_series(),
                assume_tz,
                "index",
            )
        else:
            raise BarsError(
                ["no time column: name one time, date, datetime or timestamp "
                 "(or give the frame a DatetimeIndex)"]
            )
    return index


def normalize_bars(
    df: pd.DataFrame, *, assume_tz: str = "UTC", source: str = "bars"
) -> pd.DataFrame:
    """Return ``df`` as float ``open high low close volume`` bars on a sorted UTC index."""
    if not isinstance(df, pd.DataFrame):
        raise BarsError([f"expected a DataFrame of bars, got {type(df).__name__}"], source)
    if df.empty:
        raise BarsError(["no rows: need at least one bar"], source)
    cols = {_key(c): c for c in df.columns}
    problems: list[str] = []
    picked: dict[str, str] = {}
    for field, names in _ALIASES.items():
        found = next((cols[n] for n in names if n in cols), None)
        if found is None:
            problems.append(
                f"missing column {field!r} (accepted spellings: "
                f"{', '.join(names)}, any case); columns are {list(map(str, df.columns))}"
            )
        else:
            picked[field] = found
    if problems:
        raise BarsError(problems, source)

    try:
        index = _index_of(df, cols, assume_tz)
    except BarsError as exc:
        raise BarsError(exc.problems, source) from None

    out = pd.DataFrame(index=index)
    for field, col in picked.items():
        vals = _to_float(df[col])
        if np.isnan(vals).all():
            problems.append(
                f"column {str(col)!r}: no value is a number (first: {df[col].iloc[0]!r}); "
                "prices must be numbers such as 1.0850 or 1,0850"
            )
        out[field] = vals
    if problems:
        raise BarsError(problems, source)
    vol_cols = [cols[n] for n in _VOLUME_NAMES if n in cols]
    volume_missing = not vol_cols
    volume = np.zeros(len(out))
    for col in vol_cols:
        v = _to_float(df[col])
        if np.nansum(np.abs(v)) > 0:
            volume = v
            break
    out["volume"] = np.where(np.isfinite(volume) & (volume >= 0), volume, 0.0)
    out.index.name = "time"

    repairs: dict[str, int] = {}
    prices = out[["open", "high", "low", "close"]].to_numpy()
    bad = ~np.isfinite(prices).all(axis=1) | (prices <= 0).any(axis=1)
    if bad.all():
        raise BarsError(["no row has four positive prices (open, high, low, close)"], source)
    if bad.any():
        repairs["dropped_bad_price_rows"] = int(bad.sum())
    no_time = np.asarray(out.index.isna()) & ~bad
    if no_time.any():
        # local times that do not exist (DST start) or stay ambiguous (DST end, unsorted)
        repairs["dropped_unreadable_local_times"] = int(no_time.sum())
    if bad.any() or no_time.any():
        out = out.loc[~(bad | no_time)]
        if out.empty:
            raise BarsError(["no row has a readable time and four positive prices"], source)
    if not out.index.is_monotonic_increasing:
        repairs["sorted"] = 1
        out = out.sort_index(kind="stable")
    dup = out.index.duplicated(keep="last")
    if dup.any():
        repairs["dropped_duplicate_times"] = int(dup.sum())
        out = out.loc[~dup]
    o, h, lo, c = (out[k].to_numpy() for k in ("open", "high", "low", "close"))
    hi2 = np.maximum.reduce([o, h, lo, c])
    lo2 = np.minimum.reduce([o, h, lo, c])
    fixed = int(((hi2 != h) | (lo2 != lo)).sum())
    if fixed:
        repairs["widened_high_low"] = fixed
    # one float block (fast column access and to_numpy for every analyzer)
    out = pd.DataFrame(
        np.column_stack([o, hi2, lo2, c, out["volume"].to_numpy()]),
        index=out.index, columns=list(OHLCV),
    )
    out.attrs["repairs"] = repairs
    out.attrs["volume_missing"] = volume_missing
    return out


def _sniff_delimiter(head: str) -> str:
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def load_bars_csv(path: str | Path, *, assume_tz: str = "UTC") -> pd.DataFrame:
    """Read an OHLCV CSV (comma, semicolon or tab separated; MT5 exports included)."""
    p = Path(path)
    source = str(p)
    if p.is_dir():
        raise BarsError(["is a directory, not a CSV file"], source)
    if not p.is_file():
        raise BarsError(["file not found (give the path of an OHLCV CSV)"], source)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise BarsError([f"cannot read: {exc.strerror}"], source) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BarsError(["not a text CSV (could not decode as UTF-8 or UTF-16)"],
                            source) from None
    if not text.strip():
        raise BarsError(["empty file: need a header row and at least one bar"], source)
    delim = _sniff_delimiter(text[:4096])
    try:
        df = pd.read_csv(io.StringIO(text), sep=delim)
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "parse error"
        raise BarsError([f"not a readable CSV: {first}"], source) from None
    if df.columns.size and _key(df.columns[0]).startswith("unnamed"):
        df = df.rename(columns={df.columns[0]: "time"})
    return normalize_bars(df, assume_tz=assume_tz, source=source)


def mirror_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars reflected in price (p -> k - p, highs and lows swapped), same volume.

    Used to check that analyzers are direction-symmetric: a long setup mirrored is a
    short setup. ``k`` is twice the largest high, so every mirrored price stays positive.
    """
    k = 2.0 * float(bars["high"].max())
    out = pd.DataFrame(
        {
            "open": k - bars["open"].to_numpy(),
            "high": k - bars["low"].to_numpy(),
            "low": k - bars["high"].to_numpy(),
            "close": k - bars["close"].to_numpy(),
            "volume": bars["volume"].to_numpy(),
        },
        index=bars.index,
    )
    return out
