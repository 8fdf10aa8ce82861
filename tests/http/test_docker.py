"""The container wiring: compose file shape, and the Dockerfile's HEALTHCHECK command
run for real against the health endpoint (exit 0 on 200, non-zero on 503)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import yaml

from bot.http import HttpServer
from tests.http.conftest import View

ROOT = Path(__file__).resolve().parents[2]


def healthcheck_argv() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    m = re.search(r"^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$", text, re.M)
    assert m, "Dockerfile has no exec-form HEALTHCHECK"
    argv: list[str] = json.loads(m.group(1))
    assert "/pulse/health" in argv[-1] and "urllib" in argv[-1]
    return argv


def test_compose_runs_one_service_with_a_data_volume_env_file_and_loopback_port() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    (svc,) = compose["services"].values()
    assert svc["env_file"] == [".env"]
    assert "pulse-data:/data" in svc["volumes"] and "pulse-data" in compose["volumes"]
    assert svc["ports"] == ["127.0.0.1:9090:9090"]
    env = svc["environment"]
    assert env["PULSE_DATABASE_URL"].endswith("/data/pulse.db")
    assert env["PULSE_HTTP_HOST"] == "0.0.0.0" and env["PULSE_HTTP_PORT"] == "9090"
    for secret in ("DISCORD_TOKEN", "PULSE_API_TOKEN", "MT5_PASSWORD"):
        assert secret not in env  # secrets only through env_file


async def run_check(port: int) -> int:
    argv = healthcheck_argv()
    assert argv[0] == "python"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *argv[1:], env={**os.environ, "PULSE_HTTP_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(proc.wait(), timeout=20)


async def test_healthcheck_command_follows_the_health_endpoint(view: View) -> None:
    server = HttpServer(view, "127.0.0.1", 0)
    await server.start()
    try:
        assert await run_check(server.port) == 0
        view.connected = False  # Discord gone -> 503 -> unhealthy
        assert await run_check(server.port) != 0
    finally:
        await server.stop()
