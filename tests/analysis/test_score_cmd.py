"""``pulse score`` and ``pulse calibrate`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bot.cli import main
from tests.analysis.helpers import eurusd


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("bars") / "EURUSD.csv"
    b = eurusd().iloc[:1200].rename(columns=str.capitalize)
    b.index = b.index.tz_localize(None)
    b.to_csv(p)  # the backtesting spelling: unnamed time index, Open/High/.../Volume
    return p


def test_score_json(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--csv", str(csv_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"symbol", "time", "direction", "score", "grade", "components",
                         "reasons", "opposite"}
    assert data["symbol"] == "EURUSD"
    assert data["time"] == eurusd().index[1199].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert data["direction"] in ("long", "short") and 0 <= data["score"] <= 100
    assert data["opposite"]["direction"] != data["direction"]


def test_score_at_uses_only_earlier_bars(csv_file: Path, capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    bar = eurusd().index[900]
    at = (bar + pd.Timedelta(minutes=30)).isoformat()
    assert main(["score", "--csv", str(csv_file), "--json", "--at", at, "--symbol", "X"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["time"] == bar.strftime("%Y-%m-%dT%H:%M:%SZ") and first["symbol"] == "X"
    cut = tmp_path / "cut.csv"
    lines = csv_file.read_text().splitlines()
    keep = [ln for ln in lines[1:] if ln[:19] <= bar.strftime("%Y-%m-%d %H:%M:%S")]
    cut.write_text("\n".join([lines[0], *keep]) + "\n")
    assert main(["score", "--csv", str(cut), "--json", "--symbol", "X"]) == 0
    assert json.loads(capsys.readouterr().out) == first


def test_score_text(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--csv", str(csv_file)]) == 0
    out = capsys.readouterr().out
    assert "/100" in out and "grade" in out and "side:" in out


def test_score_chart(csv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bot.charts")
    out = tmp_path / "chart.png"
    assert main(["score", "--csv", str(csv_file), "--chart", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "file not found"),
        ("time,open,high\n2024-01-01,1,2\n", "missing column 'low'"),
        ("", "empty file"),
    ],
)
def test_bad_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          content: str | None, needle: str) -> None:
    p = tmp_path / "bad.csv"
    if content is not None:
        p.write_text(content)
    for cmd in ("score", "calibrate"):
        assert main([cmd, "--csv", str(p)]) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err and str(p) in err


def test_bad_at_and_horizon(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--csv", str(csv_file), "--at", "soon"]) == 2
    assert "--at" in capsys.readouterr().err
    assert main(["score", "--csv", str(csv_file), "--at", "1999-01-01"]) == 2
    assert "no bar at or before" in capsys.readouterr().err
    assert main(["calibrate", "--csv", str(csv_file), "--horizon", "0"]) == 2
    assert "--horizon" in capsys.readouterr().err


def test_calibrate_report(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "--csv", str(csv_file), "--horizon", "8"]) == 0
    out = capsys.readouterr().out
    for grade in ("high", "medium", "low", "minimal", "rest"):
        assert f"\n{grade}" in out
    assert "horizon 8 bars" in out and "seed" in out
    assert main(["calibrate", "--csv", str(csv_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["horizon"] == 10 and [g["grade"] for g in data["grades"]] == [
        "high", "medium", "low", "minimal"]
    assert data["verdict"]


def test_naive_at_is_read_in_the_files_timezone(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # a CSV in broker/local time (--tz) and an --at without an offset: both are that zone
    p = tmp_path / "PRAGUE.csv"
    b = eurusd().iloc[:400].rename(columns=str.capitalize)
    b.index = b.index.tz_convert("Europe/Prague").tz_localize(None)
    b.to_csv(p)
    local = b.index[300]
    args = ["score", "--csv", str(p), "--tz", "Europe/Prague", "--json"]
    assert main([*args, "--at", local.isoformat()]) == 0
    got = json.loads(capsys.readouterr().out)["time"]
    assert got == eurusd().index[300].strftime("%Y-%m-%dT%H:%M:%SZ")
    # an explicit offset still wins
    assert main([*args, "--at", eurusd().index[300].isoformat()]) == 0
    assert json.loads(capsys.readouterr().out)["time"] == got


def test_config_from_pulse_config_env(csv_file: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    # score/calibrate find the config like import, journal and db do: --config, then
    # $PULSE_CONFIG, then ./config.yaml
    cfg = tmp_path / "pulse.yaml"
    cfg.write_text("analysis: {grade_high: 30, grade_medium: 20, grade_low: 10}\n")
    monkeypatch.setenv("PULSE_CONFIG", str(cfg))
    assert main(["score", "--csv", str(csv_file), "--json"]) == 0
    graded = json.loads(capsys.readouterr().out)
    assert graded["grade"] == ("high" if graded["score"] >= 30 else
                               "medium" if graded["score"] >= 20 else "low")
    cfg.write_text("analysis: {grade_hgh: 30}\n")
    assert main(["score", "--csv", str(csv_file)]) == 2
    assert "did you mean `grade_high`" in capsys.readouterr().err


def test_chart_to_an_unwritable_path_exits_2(csv_file: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bot.charts")
    for bad in (tmp_path / "missing-dir" / "c.png", tmp_path):
        assert main(["score", "--csv", str(csv_file), "--chart", str(bad)]) == 2
        cap = capsys.readouterr()
        assert cap.err.startswith(f"--chart: cannot write {bad}") and "Traceback" not in cap.err
        assert cap.out == ""  # refused before scoring: no score printed for a failed run


def test_symbol_from_a_file_name_with_a_timeframe(csv_file: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # "EURUSD_H1.csv" (MT5's own export name is "EURUSD_H1.csv" too) is EURUSD, so its
    # per-symbol weights apply
    p = tmp_path / "EURUSD_H1.csv"
    p.write_bytes(csv_file.read_bytes())
    cfg = tmp_path / "c.yaml"
    cfg.write_text("confluence_weights:\n  per_symbol:\n"
                   "    EURUSD: {smc: 1, wyckoff: 0, technical: 0}\n")
    for cmd in (["score", "--json"], ["calibrate", "--json", "--horizon", "5"]):
        assert main([*cmd, "--csv", str(p), "--config", str(cfg)]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["symbol"] == "EURUSD"
    assert main(["score", "--json", "--csv", str(p), "--config", str(cfg)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["score"] == res["components"]["smc"]
