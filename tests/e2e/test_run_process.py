"""``pulse run`` as a real OS process against the fake Discord, stopped by a signal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from tests.e2e.test_bot_e2e import EXPECTED_COMMANDS
from tests.fakes.discord_server import ANN_ID, GUILD_ID, FakeDiscord

REPO = Path(__file__).resolve().parents[2]
TOKEN = "e2e.SECRET-token.value-7f3a"


async def test_pulse_run_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    # SIGINT takes the same handler; it is covered in-process (test_bot_e2e.py)
    sig = signal.SIGTERM
    async with FakeDiscord(token=TOKEN) as fake:
        env = {
            **os.environ,
            "DISCORD_TOKEN": TOKEN,
            "PULSE_DISCORD_API_BASE": fake.api_base,
            "PULSE_DISCORD_GATEWAY": fake.gateway_url,
            "PYTHONPATH": str(REPO),
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for_frame(2, timeout=30)  # IDENTIFY: logged in, synced, connected
            callback = await fake.push_interaction(
                fake.slash_interaction("help", user_id=ANN_ID, guild_id=GUILD_ID))
            assert callback.json["type"] == 4 and callback.json["data"]["flags"] == 64
            proc.send_signal(sig)
            out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = err.decode()
    assert proc.returncode == 0, log
    assert f"received {sig.name}, shutting down" in log
    assert TOKEN not in log and TOKEN not in out.decode()
    assert "Traceback" not in log
    state = json.loads((tmp_path / "pulse-command-sync.json").read_text())
    assert state["synced"][f"{fake.application_id}:global"]["commands"] == sorted(EXPECTED_COMMANDS)
    assert len(fake.find("PUT", r"/applications/\d+/commands")) == 1

