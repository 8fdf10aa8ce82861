"""OHLCV loading: usual spellings, MT5 exports, repairs, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pulse.analysis.bars import OHLCV, BarsError, load_bars_csv, mirror_bars, normalize_bars


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_capitalised_columns_and_unnamed_index(tmp_path: Path) -> None:
    p = write(tmp_path, ",Open,High,Low,Close,Volume\n"
                        "2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413\n"
                        "2017-04-19 10:00:00,1.07214,1.07296,1.07214,1.0726,1241\n")
    b = load_bars_csv(p)
    assert tuple(b.columns) == OHLCV
    assert str(b.index.tz) == "UTC"
    assert b.index[0] == pd.Timestamp("2017-04-19 09:00", tz="UTC")
    assert b["volume"].tolist() == [1413.0, 1241.0]


def test_mt5_copy_rates_spelling_prefers_real_volume_only_when_non_zero(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close,tick_volume,spread,real_volume\n"
                        "1700000000,1.1,1.2,1.0,1.15,55,2,0\n"
                        "1700003600,1.15,1.25,1.1,1.2,60,2,0\n")
    b = load_bars_csv(p)
    assert b.index[0] == pd.Timestamp(1700000000, unit="s", tz="UTC")
    assert b["volume"].tolist() == [55.0, 60.0]


def test_mt5_terminal_export_tab_separated_date_and_time(tmp_path: Path) -> None:
    header = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
    p = write(tmp_path, header +
                        "2024.01.02\t10:00:00\t1.1\t1.2\t1.0\t1.15\t10\t0\t1\n"
                        "2024.01.02\t11:00:00\t1.15\t1.3\t1.1\t1.2\t12\t0\t1\n")
    b = load_bars_csv(p)
    assert b.index.tolist() == [pd.Timestamp("2024-01-02 10:00", tz="UTC"),
                                pd.Timestamp("2024-01-02 11:00", tz="UTC")]
    assert b["volume"].tolist() == [10.0, 12.0]


def test_naive_times_in_a_given_timezone_become_utc(tmp_path: Path) -> None:
    p = write(tmp_path, "date,open,high,low,close\n2024-07-01 12:00,1,2,0.5,1.5\n")
    b = load_bars_csv(p, assume_tz="Europe/Prague")
    assert b.index[0] == pd.Timestamp("2024-07-01 10:00", tz="UTC")
    assert b.attrs["volume_missing"] is True and b["volume"].tolist() == [0.0]


def test_repairs_nan_rows_duplicates_order_and_inverted_wicks(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close,volume\n"
                        "2024-01-01 02:00,1,2,0.5,1.5,10\n"
                        "2024-01-01 00:00,1,2,0.5,1.5,10\n"
                        "2024-01-01 01:00,1,,0.5,1.5,10\n"
                        "2024-01-01 03:00,1,1.2,0.5,1.5,10\n"
                        "2024-01-01 03:00,1,1.7,0.5,1.6,11\n"
                        "2024-01-01 04:00,1,2,0.5,1.5,NaN\n")
    b = load_bars_csv(p)
    assert [t.hour for t in b.index] == [0, 2, 3, 4]
    assert b.loc["2024-01-01 03:00", "close"].item() == 1.6  # duplicate: last row wins
    assert b["volume"].tolist() == [10.0, 10.0, 11.0, 0.0]
    assert (b["high"] >= b[["open", "close"]].max(axis=1)).all()
    assert b.attrs["repairs"] == {"dropped_bad_price_rows": 1, "sorted": 1,
                                  "dropped_duplicate_times": 1}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty file"),
        ("time,open,high,close\n2024-01-01,1,2,1.5\n", "missing column 'low'"),
        ("time,open,high,low,close\nyesterday,1,2,0.5,1.5\n", "not times"),
        ("open,high,low,close\n1,2,0.5,1.5\n", "no time column"),
        ("time,open,high,low,close\n2024-01-01,x,y,z,w\n", "column 'open': no value is a number"),
        ("time,open,high,low,close\n2024-01-01,-1,-1,-1,-1\n", "four positive prices"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(BarsError) as exc:
        load_bars_csv(write(tmp_path, text))
    assert any(needle in line for line in exc.value.problems), exc.value.problems


def test_missing_file() -> None:
    with pytest.raises(BarsError, match="file not found"):
        load_bars_csv("/nonexistent/bars.csv")


def test_frame_with_datetime_index_and_mirror() -> None:
    idx = pd.date_range("2024-01-01", periods=3, freq="h")
    df = pd.DataFrame({"Open": [1.0, 2, 3], "High": [2.0, 3, 4], "Low": [0.5, 1, 2],
                       "Close": [1.5, 2.5, 3.5], "Volume": [1, 2, 3]}, index=idx)
    b = normalize_bars(df)
    m = mirror_bars(b)
    k = 2 * 4.0
    assert np.allclose(m["high"], k - b["low"]) and np.allclose(m["low"], k - b["high"])
    assert (m["high"] >= m["low"]).all() and (m[["open", "high", "low", "close"]] > 0).all().all()


def test_semicolon_and_decimal_comma_export(tmp_path: Path) -> None:
    # European MT5/Excel exports: ';' separated with a decimal comma (and a space or
    # no-break space as thousands separator in the volume)
    p = write(tmp_path, "time;Open;High;Low;Close;Volume\n"
                        "2024.01.02 10:00;1,0950;1,0962;1,0941;1,0958;1 413\n"
                        "2024.01.02 11:00;1,0958;1,0970;1,0950;1,0966;1\u00a0241\n")
    b = load_bars_csv(p)
    assert b["open"].tolist() == [1.095, 1.0958]
    assert b["close"].tolist() == [1.0958, 1.0966]
    assert b["volume"].tolist() == [1413.0, 1241.0]
    assert not b.attrs["repairs"]


def test_a_price_column_without_numbers_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close\n2024-01-02 10:00,1.O5,1.1,1.0,1.05\n"
                        "2024-01-02 11:00,1.O5,1.1,1.0,1.05\n")
    with pytest.raises(BarsError) as err:
        load_bars_csv(p)
    assert any("column 'open'" in line and "'1.O5'" in line for line in err.value.problems)


def test_local_times_across_dst_changes(tmp_path: Path) -> None:
    # a 24/7 symbol exported in local time repeats 02:00 when DST ends; the file used to
    # be refused ("Cannot infer dst time"); the order of the rows tells the two apart
    utc = pd.date_range("2017-10-28 20:00", periods=12, freq="h", tz="UTC")
    local = utc.tz_convert("Europe/Prague").tz_localize(None)
    assert local.duplicated().any()
    rows = [f"{t:%Y-%m-%d %H:%M},1.0,1.2,0.9,1.1,10" for t in local]
    p = write(tmp_path, "time,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    b = load_bars_csv(p, assume_tz="Europe/Prague")
    assert list(b.index) == list(utc) and not b.attrs["repairs"]


def test_time_problems_name_the_file(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close\n2024-01-02 10:00,1,2,0.5,1.5\n")
    with pytest.raises(BarsError) as err:
        load_bars_csv(p, assume_tz="Mars/Base")
    assert err.value.source == str(p)
    assert "unknown timezone 'Mars/Base'" in err.value.problems[0]


def test_a_local_time_that_does_not_exist_is_dropped_and_counted(tmp_path: Path) -> None:
    # 02:30 does not exist in Prague on 2017-03-26 (clocks jump from 02:00 to 03:00)
    rows = ["2017-03-26 01:30", "2017-03-26 02:30", "2017-03-26 03:30"]
    text = "time,open,high,low,close\n" + "".join(f"{t},1,2,0.5,1.5\n" for t in rows)
    b = load_bars_csv(write(tmp_path, text), assume_tz="Europe/Prague")
    assert [t.strftime("%H:%M") for t in b.index] == ["00:30", "01:30"]  # UTC
    assert b.attrs["repairs"] == {"dropped_unreadable_local_times": 1}
