"""``pulse replay``: JSON-lines contract, readable default, exit 2 on bad scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.scenarios._golden import HERE

HEAD = """account: {currency: USD, initial_balance: 100000, timezone: Europe/Prague}
symbols:
  EURUSD: {tick_size: 0.00001, tick_value: 1.0}
"""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["replay", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lines_match_the_golden_file(capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no config.yaml here: built-in defaults
    code, out, err = run_cli(capsys, str(HERE / "cooling.yaml"), "--json")
    assert code == 0 and err == ""
    got = [json.loads(line) for line in out.splitlines()]
    want = [json.loads(line) for line in
            (HERE / "cooling.expected.jsonl").read_text().splitlines()]
    assert got == want
    verdict = next(o for o in got if o["type"] == "verdict")
    assert list(verdict) == ["at", "type", "allowed", "action", "rules", "behavior"]
    nudge = next(o for o in got if o["type"] == "nudge")
    assert list(nudge) == ["at", "type", "kind", "severity", "text"]
    viol = next(o for o in got if o["type"] == "violation")
    assert list(viol) == ["at", "type", "rule", "ticket"]
    state = next(o for o in got if o["type"] == "state")
    assert list(state) == ["at", "type", "state", "score", "flags"]


def test_default_output_is_readable(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, str(HERE / "design_example.json"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Mon 2026-03-02 09:00:00  CHECK     buy 1 EURUSD @ 1.085")
    assert "ALLOWED" in lines[0]
    assert any("OVERRIDE  cooling_period REFUSED" in line for line in lines)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ('  - {at: "2026-03-02T09:00:00+01:00", type: deal, ticket: 1, position: 1, '
         'symbol: EURUSD, side: buy, volume: -1, price: 1.1}',
         "events[0] (deal): volume: must be >= 0.0, got -1"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: chek}',
         "events[0].type: must be one of check, deal, equity, override, break, clock, "
         "got 'chek'"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: break}',
         "events[0] (break): minutes: is required"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: break, minutes: 0}',
         "events[0] (break): minutes: must be > 0, got 0"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: clock}\n'
         '  - {at: "2026-03-02T09:01:00+01:00", type: break, minutes: 2000}',
         "events[1] (break): minutes: must be <= 1440, got 2000"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: break, minutes: 20, why: tired}',
         "events[0] (break): why: unknown key"),
        ('  - {at: "2026-03-02T09:00:00", type: clock}',
         "events[0] (clock): at: needs a timezone offset"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: clock}\n'
         '  - {at: "2026-03-02T09:01:00+01:00", type: check, symbol: XAUUSD, side: buy, '
         'volume: 1, price: 2000, sl: 1990}',
         "events[1] (check): symbol: 'XAUUSD' is not in symbols"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: check, symbol: EURUSD, side: long, '
         'volume: 1, price: 1.1}',
         "events[0] (check): side: "),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: deal, ticket: 1, position: 1, '
         'symbol: EURUSD, volume: 1, price: 1.1}',
         "events[0] (deal): side: is required"),
        ('  - {at: "2026-03-02T09:00:00+01:00", type: equity, balance: 1}',
         "events[0] (equity): equity: is required"),
    ],
)
def test_bad_scripts_exit_2_naming_index_and_field(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    events: str, expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "bad.yaml"
    p.write_text(HEAD + "events:\n" + events + "\n")
    code, out, err = run_cli(capsys, str(p))
    assert code == 2 and out == ""
    assert expected in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + "config: {risk_limits: {max_trades_per_dy: 3}}\nevents: []\n",
         "config: risk_limits.max_trades_per_dy: unknown key; did you mean `max_trades_per_day`?"),
        (HEAD + "events: {}\n", "events: must be a list of events"),
        ("account: {initial_balance: 0}\nevents: []\n", "account.initial_balance: must be > 0"),
        ("events: [\n", "not valid YAML at line"),
        ("- 1\n- 2\n", "(top level): must be a mapping"),
    ],
)
def test_bad_script_structure_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    text: str, expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    code, _, err = run_cli(capsys, str(p))
    assert code == 2 and expected in err, err


def test_missing_file_and_bad_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, str(tmp_path / "nope.yaml"))
    assert code == 2 and "file not found" in err
    p = tmp_path / "bad.json"
    p.write_text('{"account": ')
    code, _, err = run_cli(capsys, str(p))
    assert code == 2 and "not valid JSON at line 1" in err
