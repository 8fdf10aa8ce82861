"""``pulse score`` and ``pulse calibrate``: confluence from an OHLCV CSV.

``pulse score --csv FILE [--symbol S] [--at TIME] [--json] [--chart OUT.png]`` scores the
last bar (or the last bar at or before TIME, using no later bar) from the
``analysis.window_bars`` bars ending there, as the live bot does.
``pulse calibrate --csv FILE [--horizon N] [--thin]`` scores every bar causally and reports
per grade how the market moved next. Bad files and arguments exit 2 with one line per problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from bot.commands.config_cmd import config_of
from pulse.analysis.bars import BarsError, load_bars_csv
from pulse.analysis.calibrate import calibrate
from pulse.analysis.confluence import ConfluenceScorer, analyze
from pulse.config import TIMEFRAMES, PulseConfig

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
MIN_BARS_ADVISED = 100
SYMBOL_HELP = "symbol for per-symbol weights (default: file name less any _H1-style suffix)"
CONFIG_HELP = "config file (default: $PULSE_CONFIG, else ./config.yaml, else the defaults)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("score", help="confluence score of the last bar of an OHLCV CSV")
    p.add_argument("--csv", required=True, type=Path, help="OHLCV CSV (time, open, high, ...)")
    p.add_argument("--symbol", help=SYMBOL_HELP)
    p.add_argument("--at", help="score the last bar at or before this time (without an "
                   "offset: in --tz, like the file's times)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--chart", type=Path, metavar="OUT.png", help="also render a chart PNG")
    p.add_argument("--config", type=Path, help=CONFIG_HELP)
    p.add_argument("--tz", default="UTC", help="timezone of naive times in the CSV")
    p.set_defaults(func=run_score)

    c = sub.add_parser("calibrate", help="how each confluence grade did on an OHLCV CSV")
    c.add_argument("--csv", required=True, type=Path, help="OHLCV CSV")
    c.add_argument("--horizon", type=int, default=10, help="bars ahead to measure (10)")
    c.add_argument("--symbol", help=SYMBOL_HELP)
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--thin", action="store_true",
                   help="count each grade once per horizon (non-overlapping forward windows)")
    c.add_argument("--config", type=Path, help=CONFIG_HELP)
    c.add_argument("--tz", default="UTC", help="timezone of naive times in the CSV")
    c.set_defaults(func=run_calibrate)


def symbol_of(path: Path) -> str:
    """The symbol a bars file is named after: ``EURUSD_H1.csv`` -> ``EURUSD`` (a trailing
    MT5 timeframe after ``_``, ``-`` or a space is dropped), else the file's stem."""
    stem = path.stem
    head, sep, tail = stem.replace("-", "_").replace(" ", "_").rpartition("_")
    if sep and head and tail.upper() in TIMEFRAMES:
        return stem[: len(head)]
    return stem


def _problems(source: str, problems: list[str]) -> int:
    for line in problems:
        print(f"{source}: {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _load(args: argparse.Namespace) -> tuple[PulseConfig, pd.DataFrame] | int:
    cfg = config_of(args)
    try:
        bars = load_bars_csv(args.csv, assume_tz=args.tz)
    except BarsError as exc:
        return _problems(exc.source, exc.problems)
    repairs = bars.attrs.get("repairs") or {}
    if repairs:
        note = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in repairs.items())
        print(f"{args.csv}: note: {note}", file=sys.stderr)
    if bars.attrs.get("volume_missing"):
        print(f"{args.csv}: note: no volume column; volume-based rules stay silent",
              file=sys.stderr)
    if len(bars) < MIN_BARS_ADVISED:
        print(f"{args.csv}: note: only {len(bars)} bars; indicators and structure need "
              f"about {MIN_BARS_ADVISED}+ to warm up", file=sys.stderr)
    return cfg, bars


def run_score(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    cfg, bars = loaded
    symbol = args.symbol or symbol_of(args.csv)
    at = None
    if args.at is not None:
        try:
            at = pd.Timestamp(args.at)
        except (ValueError, TypeError):
            at = None
        if at is None or pd.isna(at):
            return _problems("--at", [f"{args.at!r} is not a time; use e.g. 2024-01-31T13:00"])
        if at.tzinfo is None:
            # a time without an offset is read like the file's own naive times (--tz)
            try:
                at = at.tz_localize(args.tz)
            except Exception as exc:  # unknown zone, or a local time DST skips/repeats
                return _problems("--at", [f"cannot read {args.at!r} as {args.tz} time ({exc});"
                                          " give an offset, e.g. 2024-01-31T13:00+01:00"])
    chart: Path | None = args.chart
    if chart is not None and (chart.is_dir() or not chart.parent.is_dir()):
        # checked before scoring, so nothing is printed for a run that then fails
        what = "is a directory" if chart.is_dir() else "its directory does not exist"
        return _problems("--chart", [f"cannot write {chart}: {what} (give a file path in an "
                                     "existing directory)"])
    scorer = ConfluenceScorer(cfg)
    try:
        result = scorer.analyze(bars, symbol, at)
    except ValueError as exc:
        return _problems("--at", [f"{exc}; the file starts at {bars.index[0].isoformat()}"])
    res = result.latest
    if args.json:
        print(json.dumps(res.to_json()))
    else:
        print(f"{symbol} {res.time.isoformat()}  {res.summary}")
        comps = ", ".join(f"{k} {v:g}" for k, v in res.components.items())
        print(f"  grade {res.grade}; components {comps}")
        print(f"  {res.opposite.direction} side: {res.opposite.score:g}/100")
    if args.chart is not None:
        try:
            from bot.charts import render_analysis_chart
        except ImportError:
            print("--chart: charts are not available in this build", file=sys.stderr)
            return EXIT_FAILURE
        try:
            render_analysis_chart(result, result.bars, args.chart)
        except OSError as exc:
            return _problems("--chart", [f"cannot write {args.chart}: {exc.strerror or exc}"
                                         " (give a file path in an existing directory)"])
        if not args.json:
            print(f"  chart written to {args.chart}")
    return EXIT_OK


def run_calibrate(args: argparse.Namespace) -> int:
    if args.horizon < 1:
        return _problems("--horizon", [f"must be at least 1 bar, got {args.horizon}"])
    loaded = _load(args)
    if isinstance(loaded, int):
        return loaded
    cfg, bars = loaded
    if len(bars) <= args.horizon:
        return _problems(str(args.csv), [f"{len(bars)} bars: need more than the horizon "
                                         f"({args.horizon}) to measure forward moves"])
    result = analyze(bars, cfg, args.symbol or symbol_of(args.csv))
    report = calibrate(result, args.horizon, thin=args.thin)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print("\n".join(report.lines()))
    return EXIT_OK
