"""Regenerate pulse/data/es_ticks.csv.gz and pulse/data/es_m1.csv from mlfinpy's tick file.

Usage: python bench/make_data.py [path/to/tick_data.csv]
(default: the tick_data.csv shipped inside the installed mlfinpy package).

The source has naive timestamps; they are CME Globex exchange time (America/Chicago):
the file opens at 17:00 on Sunday 2013-09-01 (the Globex weekly open), pauses on Labor Day
at 10:30 (early halt) until 17:00, and the volume jumps at 08:30 (the 09:30 New York cash
open) and at 09:00 (the 10:00 ET ISM release) on 2013-09-03.
"""

from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path

import pandas as pd

from pulse.data import ES_SESSION
from pulse.ticks import aggregate_ticks

SOURCE_TZ = "America/Chicago"
OUT = Path(__file__).resolve().parent.parent / "pulse" / "data"


def source_path() -> Path:
    """Locate the file without importing mlfinpy (its import pulls in scikit-learn)."""
    spec = importlib.util.find_spec("mlfinpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mlfinpy is not installed: pip install mlfinpy, or pass the CSV path")
    return Path(next(iter(spec.submodule_search_locations))) / "dataset" / "data" / "tick_data.csv"


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else source_path()
    raw = pd.read_csv(src)
    local = pd.to_datetime(raw["DateTime"], format="%Y-%m-%d %H:%M:%S.%f")
    utc = local.dt.tz_localize(SOURCE_TZ, ambiguous="raise", nonexistent="raise").dt.tz_convert(
        "UTC"
    )
    ticks = pd.DataFrame(
        {
            "time_msc": utc.astype("int64") // 1_000_000,
            "price": raw["Price"],
            "volume": raw["Volume"],
        }
    )
    body = ticks.to_csv(index=False, lineterminator="\n").encode()
    (OUT / "es_ticks.csv.gz").write_bytes(gzip.compress(body, compresslevel=9, mtime=0))

    bars = aggregate_ticks(
        ticks["time_msc"].to_numpy(), ticks["price"], ticks["volume"], "M1", ES_SESSION
    )
    bars["real_volume"] = bars["real_volume"].round().astype("int64")
    bars.index = bars.index.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    bars.to_csv(OUT / "es_m1.csv", lineterminator="\n", float_format="%.2f")
    gz = OUT / "es_ticks.csv.gz"
    print(f"{len(ticks)} ticks -> {gz} ({gz.stat().st_size} B)")
    print(f"{len(bars)} M1 bars {bars.index[0]} .. {bars.index[-1]} -> {OUT / 'es_m1.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
