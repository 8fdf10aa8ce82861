"""Bundled real market data (see README.md here for source, licence and transformations).

``es_m1.csv``: one-minute E-mini S&P 500 bars (UTC). ``es_ticks.csv.gz``: the ticks they
were built from (epoch-ms UTC time, price, volume). Both regenerate with
``bench/make_data.py``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pandas as pd

from pulse.ticks import BAR_COLUMNS, SessionSpec

__all__ = ["ES_SESSION", "ES_SYMBOL", "es_m1_path", "es_ticks_path", "load_es_m1", "load_es_ticks"]

ES_SYMBOL = "ES"
#: CME Globex equity futures: the trading day starts at 17:00 Chicago time.
ES_SESSION = SessionSpec(day_start="17:00", timezone="America/Chicago")


def es_m1_path() -> Path:
    return Path(str(files("pulse.data").joinpath("es_m1.csv")))


def es_ticks_path() -> Path:
    return Path(str(files("pulse.data").joinpath("es_ticks.csv.gz")))


def load_es_m1() -> pd.DataFrame:
    """The bundled M1 bars: UTC ``time`` index, MT5 column names."""
    df = pd.read_csv(es_m1_path())
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("time"), utc=True), name="time")
    return df[BAR_COLUMNS]


def load_es_ticks() -> pd.DataFrame:
    """The bundled ticks: columns ``time_msc`` (int64 epoch ms, UTC), ``price``, ``volume``."""
    return pd.read_csv(
        es_ticks_path(), dtype={"time_msc": "int64", "price": "float64", "volume": "float64"}
    )
