"""The process skeleton: token handling, log redaction, shutdown ordering (bot/app.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import discord
import discord.gateway
import discord.http
import pytest

from bot.app import (
    SHUTDOWN_PHASES,
    PulseBot,
    RedactFilter,
    ShutdownSequence,
    apply_endpoint_overrides,
    require_token,
)
from bot.cli import main
from pulse.config import ConfigError, Secrets, load_config


def test_missing_token_is_one_clear_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no config.yaml here: defaults
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["run"]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("environment: DISCORD_TOKEN is not set")
    assert "Traceback" not in err and out == ""


def test_bad_endpoint_override_is_one_line_exit_2_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "x.y.z")
    monkeypatch.setenv("PULSE_DISCORD_API_BASE", "http://127.0.0.1:9/api/v10")
    monkeypatch.setenv("PULSE_DISCORD_GATEWAY", "gateway.example")
    before = discord.http.Route.BASE
    assert main(["run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "environment: PULSE_DISCORD_GATEWAY: must be a ws(s) URL like wss://gateway.discord.gg/, "
        "got 'gateway.example'"
    ]
    assert before == discord.http.Route.BASE


def test_endpoint_overrides_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    changed = apply_endpoint_overrides({"PULSE_DISCORD_API_BASE": "http://127.0.0.1:1/api/v10/",
                                        "PULSE_DISCORD_GATEWAY": "ws://127.0.0.1:1/gateway"})
    assert changed == ["REST http://127.0.0.1:1/api/v10", "gateway ws://127.0.0.1:1/gateway"]
    assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:1/api/v10/users/@me"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:1/gateway"
    assert apply_endpoint_overrides({}) == []


def test_blank_token_counts_as_missing() -> None:
    with pytest.raises(ConfigError) as exc:
        require_token(Secrets.from_env({"DISCORD_TOKEN": "   "}))
    assert exc.value.source == "environment"
    assert require_token(Secrets.from_env({"DISCORD_TOKEN": " abc.def "})) == "abc.def"


def test_bad_config_path_exits_2_before_the_token_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["run", "--config", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "DISCORD_TOKEN" not in err


def test_token_is_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    token = "MTIz.secret.token-value"
    logger = logging.getLogger("pulse-test-redact")
    flt = RedactFilter([token])
    handler = caplog.handler
    handler.addFilter(flt)
    try:
        logger.warning("identify with %s failed", token)
        try:
            raise ValueError(f"bad {token}")
        except ValueError:
            logger.exception("boom")
    finally:
        handler.removeFilter(flt)
    assert token not in caplog.text
    assert "identify with [REDACTED] failed" in caplog.text
    assert "bad [REDACTED]" in caplog.text


async def test_shutdown_runs_phases_in_order_and_survives_failures() -> None:
    seq = ShutdownSequence()
    ran: list[str] = []

    def cb(name: str, *, fail: bool = False, hang: bool = False):  # type: ignore[no-untyped-def]
        async def run() -> None:
            ran.append(name)
            if fail:
                raise RuntimeError("feed stuck")
            if hang:
                await asyncio.sleep(3600)
        return run

    seq.add("close_storage", "db", cb("db"))
    seq.add("flush_outbox", "outbox", cb("outbox"))
    seq.add("close_feeds", "mt5", cb("mt5", fail=True))
    seq.add("close_feeds", "replay", cb("replay", hang=True), timeout=0.05)
    seq.add("flush_outbox", "outbox-2", cb("outbox-2"))
    results = await seq.run()
    assert ran == ["mt5", "replay", "outbox", "outbox-2", "db"]
    assert [(r.name, r.outcome) for r in results] == [
        ("mt5", "error"), ("replay", "timeout"), ("outbox", "ok"), ("outbox-2", "ok"),
        ("db", "ok"),
    ]
    assert "feed stuck" in results[0].detail


def test_shutdown_rejects_unknown_phase() -> None:
    with pytest.raises(ValueError, match="unknown shutdown phase"):
        ShutdownSequence().add("flush", "x", lambda: asyncio.sleep(0))
    assert SHUTDOWN_PHASES.index("close_feeds") < SHUTDOWN_PHASES.index("flush_outbox")


async def test_bot_hook_points_and_close_runs_callbacks_once(tmp_path: Path) -> None:
    bot = PulseBot(load_config(None), sync_state_path=tmp_path / "s.json")
    calls: list[str] = []

    async def flush() -> None:
        calls.append("flush")

    async def feeds() -> None:
        calls.append("feeds")

    bot.on_shutdown("flush_outbox", "outbox", flush)
    bot.on_shutdown("close_feeds", "replay", feeds)
    assert [r.name for r in await bot.flush_outbox()] == ["outbox"]
    assert [r.name for r in await bot.close_feeds()] == ["replay"]
    calls.clear()
    await asyncio.gather(bot.close(), bot.close())  # idempotent, even concurrently
    await bot.close()
    assert calls == ["feeds", "flush"]
    assert bot.is_closed()


def test_default_sync_state_path_follows_storage(tmp_path: Path) -> None:
    cfg = load_config(None, overrides={"storage": {"url": f"sqlite+aiosqlite:///{tmp_path}/x.db"}})
    assert PulseBot(cfg).sync_state_path == tmp_path / "pulse-command-sync.json"
