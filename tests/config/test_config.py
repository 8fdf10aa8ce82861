"""Typed config: defaults, config.yaml in sync, env expansion, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli import main
from pulse.config import ConfigError, PulseConfig, Secrets, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG_YAML = ROOT / "config.yaml"


def test_config_yaml_matches_embedded_defaults() -> None:
    """The shipped config.yaml and the embedded defaults are the same configuration."""
    assert load_config(CONFIG_YAML, env={}) == PulseConfig()


def test_design_defaults() -> None:
    cfg = PulseConfig()
    r = cfg.risk_limits
    assert (r.daily_loss_percent, r.max_trades_per_day, r.cooling_period_minutes) == (3.0, 5, 15)
    assert (r.cooling_trigger_loss_percent, r.max_position_size) == (1.0, 2.0)
    assert (r.max_consecutive_losses, r.consecutive_loss_break_minutes) == (3, 30)
    assert r.require_stop_loss is True
    assert (r.day_reset, r.day_reset_timezone) == ("00:00", "Europe/Prague")
    b = cfg.behavioral
    assert (b.revenge_trade_window, b.revenge_trade_threshold, b.fatigue_hour) == (30, 3, 22)
    d = b.deductions
    assert (d.revenge, d.tilt, d.overconfidence, d.fatigue, d.override, d.violation) == (
        30,
        25,
        20,
        15,
        10,
        10,
    )
    assert (b.green_threshold, b.yellow_threshold) == (80, 50)
    p = cfg.position_breakdown
    assert (p.default_splits, p.min_confluence_per_entry, p.scale_in_increment) == (5, 60, 5)
    assert cfg.confluence_weights.for_symbol("EURUSD") == pytest.approx((0.4, 0.3, 0.3))
    assert cfg.storage.url.startswith("sqlite+aiosqlite://")
    assert (cfg.monitoring.host, cfg.monitoring.port) == ("127.0.0.1", 9090)


def test_per_symbol_weights_are_normalised() -> None:
    cfg = parse_config(
        {"confluence_weights": {"per_symbol": {"XAUUSD": {"smc": 2, "wyckoff": 1, "technical": 1}}}}
    )
    assert cfg.confluence_weights.for_symbol("XAUUSD") == pytest.approx((0.5, 0.25, 0.25))
    assert cfg.confluence_weights.for_symbol("EURUSD") == pytest.approx((0.4, 0.3, 0.3))


def test_env_expansion_whole_value_and_fallback() -> None:
    env = {"PULSE_DB": "sqlite+aiosqlite:///x.db", "PORT": "9191"}
    cfg = parse_config(
        {
            "storage": {"url": "${PULSE_DB}"},
            "monitoring": {"port": "${PORT}", "host": "${HOST:-0.0.0.0}"},
        },
        env=env,
    )
    assert cfg.storage.url == "sqlite+aiosqlite:///x.db"
    assert cfg.monitoring.port == 9191
    assert cfg.monitoring.host == "0.0.0.0"


def test_missing_env_var_names_the_key() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({"storage": {"url": "${NOPE_NOT_SET}"}}, env={})
    assert any(
        p.startswith("storage.url: environment variable NOPE_NOT_SET is not set")
        for p in exc.value.problems
    )


def test_secrets_only_from_environment() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({"discord": {"token": "abc"}, "feeds": {"mt5": {"password": "pw"}}})
    joined = "\n".join(exc.value.problems)
    assert "discord.token: secrets are not read from the config file" in joined
    assert "feeds.mt5.password: secrets are not read from the config file" in joined
    s = Secrets.from_env({"DISCORD_TOKEN": "tok", "MT5_PASSWORD": "pw"})
    assert (s.discord_token, s.mt5_password, s.api_token) == ("tok", "pw", None)
    assert "tok" not in repr(s) and "pw" not in repr(s)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"risk_limits": {"max_trades_per_day": 0}},
            "risk_limits.max_trades_per_day: must be >= 1, got 0",
        ),
        ({"risk_limit": {}}, "risk_limit: unknown key; did you mean `risk_limits`?"),
        (
            {"risk_limits": {"max_trade_per_day": 3}},
            "risk_limits.max_trade_per_day: unknown key; did you mean `max_trades_per_day`?",
        ),
        (
            {"risk_limits": {"daily_loss_anchor": "peak"}},
            "risk_limits.daily_loss_anchor: must be one of 'balance', 'equity' or 'max', "
            "got 'peak'",
        ),
        (
            {"risk_limits": {"max_trades_per_day": "lots"}},
            "risk_limits.max_trades_per_day: must be an integer, got 'lots'",
        ),
        (
            {"risk_limits": {"day_reset_timezone": "Mars/Base"}},
            "risk_limits.day_reset_timezone: must be an IANA timezone such as Europe/Prague, "
            "got 'Mars/Base'",
        ),
        ({"traders": [{"name": "Ann"}]}, "traders[0].discord_user_id: is required"),
        (
            {"feeds": {"watchlist": {"timeframes": ["H7"]}}},
            "feeds.watchlist.timeframes: timeframe must be one of",
        ),
        ({"storage": {"url": "mysql://x"}}, "storage.url: must be an async SQLAlchemy URL"),
        (
            {"behavioral": {"green_threshold": 40}},
            "behavioral: yellow_threshold (50) must be <= green_threshold (40)",
        ),
    ],
)
def test_validation_errors_name_key_value_and_allowed(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems


def test_yaml_sexagesimal_times_are_understood(tmp_path: Path) -> None:
    """YAML 1.1 reads unquoted 21:30 as 1290; the loader turns it back into "21:30"."""
    f = tmp_path / "c.yaml"
    f.write_text("discord:\n  daily_summary_time: 21:30\nrisk_limits:\n  day_reset: 25:00\n")
    with pytest.raises(ConfigError) as exc:
        load_config(f)
    assert exc.value.problems == [
        "risk_limits.day_reset: must be a time HH:MM (00:00-23:59), got '25:00'"
    ]
    f.write_text("discord:\n  daily_summary_time: 21:30\n")
    assert load_config(f).discord.daily_summary_time == "21:30"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_check_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "config", "check", str(CONFIG_YAML))
    assert code == 0 and err == ""
    assert "OK" in out and "max 5 trades/day" in out


def test_cli_check_reports_every_problem_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CONFIG_YAML.read_text().replace("max_trades_per_day: 5", "max_trades_per_day: 0")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("\nrisk_limits:", "\nrisk_limit:"))
    code, out, err = _run(capsys, "config", "check", str(bad))
    assert code == 2 and out == ""
    assert "risk_limit: unknown key; did you mean `risk_limits`?" in err
    assert "Traceback" not in err

    bad.write_text(text)
    code, _, err = _run(capsys, "config", "check", str(bad))
    assert code == 2
    assert err.strip() == f"{bad}: risk_limits.max_trades_per_day: must be >= 1, got 0"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "file not found"),
        ("risk_limits: [1, 2\n", "not valid YAML at line"),
        ("- just\n- a list\n", "(top level): must be a mapping of sections"),
        (b"\x80\x81bad", "not UTF-8 text"),
        (b"\xff\xfe\x00ba", "not UTF-8 text"),  # a UTF-16 BOM with an odd byte count
        ("risk_limits: 5\n", "risk_limits: must be a mapping of keys to values, got 5"),
    ],
)
def test_cli_check_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, expected: str
) -> None:
    f = tmp_path / "c.yaml"
    if isinstance(content, bytes):
        f.write_bytes(content)
    elif content is not None:
        f.write_text(content)
    code, _, err = _run(capsys, "config", "check", str(f))
    assert code == 2
    assert expected in err and "Traceback" not in err


def test_yaml_roundtrip_of_defaults_is_valid(tmp_path: Path) -> None:
    f = tmp_path / "dump.yaml"
    f.write_text(yaml.safe_dump(PulseConfig().model_dump(mode="json")))
    assert load_config(f) == PulseConfig()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"analysis": {"grade_high": 50}},
            "analysis: grades must be ordered grade_high (50) >= grade_medium (60) >= "
            "grade_low (40)",
        ),
        (
            {"analysis": {"technical": {"rsi_oversold": 75}}},
            "analysis.technical: rsi_oversold (75) must be below rsi_overbought (70)",
        ),
        (
            {"analysis": {"technical": {"macd_fast": 30}}},
            "analysis.technical: macd_fast (30) must be below macd_slow (26)",
        ),
        (
            {"analysis": {"technical": {"ema_fast": 60}}},
            "analysis.technical: ema_fast (60) must be below ema_slow (50)",
        ),
        (
            {"analysis": {"wyckoff": {"ar_min_retrace": 0.8}}},
            "analysis.wyckoff: ar_min_retrace (0.8) must be below ar_max_retrace (0.7)",
        ),
    ],
)
def test_analysis_thresholds_must_be_ordered(data: dict, expected: str) -> None:
    # inverted pairs silently broke the scorer (e.g. high grade below medium made every
    # "medium" bar grade high); they are config errors now
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert expected in exc.value.problems, exc.value.problems


def test_unset_env_var_is_reported_once() -> None:
    # the unset variable used to add a second, misleading "must be a string, got None"
    with pytest.raises(ConfigError) as exc:
        parse_config({"storage": {"url": "${NOPE_NOT_SET}"}}, env={})
    assert [p for p in exc.value.problems if p.startswith("storage.url:")] == [
        "storage.url: environment variable NOPE_NOT_SET is not set (value '${NOPE_NOT_SET}')"
    ]


def test_utf16_config_from_windows_notepad_is_read(tmp_path: Path) -> None:
    # Notepad's "Unicode" encoding is UTF-16 LE with a BOM; it used to be "not UTF-8 text"
    p = tmp_path / "config.yaml"
    p.write_text("risk_limits:\n  max_trades_per_day: 0\n", encoding="utf-16")
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert exc.value.problems == ["risk_limits.max_trades_per_day: must be >= 1, got 0"]


def test_per_symbol_weights_match_the_symbol_in_any_case() -> None:
    # "xauusd:" in config.yaml used to be silently ignored for the XAUUSD feed
    cfg = parse_config(
        {"confluence_weights": {"per_symbol": {"xauusd": {"smc": 2, "wyckoff": 1, "technical": 1}}}}
    )
    assert cfg.confluence_weights.for_symbol("XAUUSD") == pytest.approx((0.5, 0.25, 0.25))


def test_per_symbol_weights_listed_twice_in_different_case_are_an_error() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({"confluence_weights": {"per_symbol": {"XAUUSD": {"smc": 1},
                                                            "xauusd": {"smc": 2}}}})
    assert any("confluence_weights.per_symbol" in p and "XAUUSD" in p
               for p in exc.value.problems), exc.value.problems
