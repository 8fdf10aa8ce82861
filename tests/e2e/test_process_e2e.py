"""The whole process end to end: real discord.py PulseBot + storage + service + outbox +
scheduler + HTTP, against the fake Discord on 127.0.0.1, two traders on replay feeds.

One scenario, in order: login and sync (the full command list), /status answered, a
losing deal -> the cooling DM, a closed-DM trader's nudge -> the fallback channel, the
scheduled daily summary (APScheduler fires the job; the process clock says 21:00 local)
-> DM + coach channel mirror, /pulse/health 200, then 503 when Discord is gone and when
the database is gone. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import PulseBot, serve
from bot.app import run as run_bot
from bot.feeds.replay import ReplayFeed
from bot.scheduler import daily_job_id
from bot.wiring import PulseProcess, build_feeds
from pulse.config import ConfigError, PulseConfig, Secrets, parse_config
from storage import current_revision, open_database
from storage.repo_coach import active_consents, grant_consent
from storage.repo_outbox import list_outbox
from tests.e2e.test_bot_e2e import COMMANDS_PUT, EXPECTED_COMMANDS
from tests.fakes.discord_server import (
    ANN_ID,
    BOB_ID,
    COACH_CHANNEL_ID,
    CORA_ID,
    GUILD_ID,
    TRADING_CHANNEL_ID,
    FakeDiscord,
)

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0
EPHEMERAL = 64
API_TOKEN = "e2e-api-token"
EURUSD = {"tick_size": 0.00001, "tick_value": 1.0, "contract_size": 100000,
          "volume_step": 0.01, "volume_min": 0.01, "volume_max": 100}


class FlakyDiscord(FakeDiscord):
    """The fake Discord, with a switch that refuses gateway connections (an outage)."""

    refuse_gateway = False

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        if self.refuse_gateway:
            raise web.HTTPServiceUnavailable()
        return await super()._gateway(request)

    async def drop_gateway(self) -> None:
        self.refuse_gateway = True
        for s in list(self.sessions):
            await s.ws.close(code=1001)


def script(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"account": {"currency": "USD", "initial_balance": 100000,
                        "timezone": "Europe/Prague"},
            "symbols": {"EURUSD": EURUSD}, "events": events}


def losing_round_trip(day: str, t_in: str, t_out: str, ticket: int, loss: float
                      ) -> list[dict[str, Any]]:
    """Open and close 1 lot of EURUSD with a loss (>= 1% of 100k starts cooling)."""
    return [
        {"at": f"{day}T{t_in}+01:00", "type": "deal", "ticket": ticket, "position": ticket,
         "symbol": "EURUSD", "side": "buy", "entry": "in", "volume": 1.0, "price": 1.0850},
        {"at": f"{day}T{t_out}+01:00", "type": "deal", "ticket": ticket + 1,
         "position": ticket, "symbol": "EURUSD", "side": "sell", "entry": "out",
         "volume": 1.0, "price": 1.0850 - loss / 100000, "profit": -loss},
    ]


DAY = "2026-03-02"  # a Monday; Prague is UTC+1


def e2e_config(tmp_path: Path) -> PulseConfig:
    return parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"},
        "feeds": {"poll_interval_seconds": 0.05,
                  "watchlist": {"symbols": ["EURUSD"], "timeframes": ["M15"]}},
        "discord": {"fallback_channel_id": TRADING_CHANNEL_ID,
                    "coach_channel_id": COACH_CHANNEL_ID, "quiet_hours": None},
        "traders": [
            {"discord_user_id": ANN_ID, "name": "Ann", "feed": "replay",
             "timezone": "Europe/Prague"},
            {"discord_user_id": BOB_ID, "name": "Bob", "feed": "replay",
             "timezone": "Europe/Prague"},
        ],
        "monitoring": {"host": "127.0.0.1", "port": 0},
    }, env={})


@dataclass
class Running:
    fake: FlakyDiscord
    bot: PulseBot
    process: PulseProcess
    ann: ReplayFeed
    bob: ReplayFeed
    http: aiohttp.ClientSession

    @property
    def base(self) -> str:
        assert self.process.http is not None
        return self.process.http.base_url

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get(f"{self.base}/pulse/health") as r:
            return r.status, await r.json()

    async def wait_health(self, status: int, failing: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            code, body = await self.health()
            if code == status and failing in body["failing"]:
                return body
            if loop.time() > deadline:
                raise AssertionError(f"health never became {status} for {failing}: {body}")
            await asyncio.sleep(0.05)


async def play_until(feed: ReplayFeed, at: str) -> None:
    async for _ in feed.play(until=datetime.fromisoformat(at)):
        pass


def ann_script() -> list[dict[str, Any]]:
    """A 1.2% loss at 09:40 (cooling until 09:55), an entry at 09:50 while cooling (a
    violation), closed at 10:30 with a small win; the clock reaches 21:00:30."""
    return [*losing_round_trip(DAY, "09:00:05", "09:40:00", 11, 1200.0),
            {"at": f"{DAY}T09:50:00+01:00", "type": "deal", "ticket": 13, "position": 13,
             "symbol": "EURUSD", "side": "buy", "entry": "in", "volume": 0.5,
             "price": 1.0830},
            {"at": f"{DAY}T10:30:00+01:00", "type": "deal", "ticket": 14, "position": 13,
             "symbol": "EURUSD", "side": "sell", "entry": "out", "volume": 0.5,
             "price": 1.0836, "profit": 30.0},
            {"at": f"{DAY}T21:00:30+01:00", "type": "clock"}]


def bob_script() -> list[dict[str, Any]]:
    return losing_round_trip(DAY, "09:10:00", "09:50:00", 21, 1500.0)


@contextlib.asynccontextmanager
async def start_process(fake: FlakyDiscord, tmp_path: Path, ann: ReplayFeed, bob: ReplayFeed
                        ) -> AsyncIterator[tuple[PulseBot, PulseProcess, asyncio.Task[None]]]:
    """The real process (bot + wiring) until READY; closed (shutdown phases) on exit."""

    def clock() -> datetime:  # the process clock: the later of the two replays
        return max(ann.clock(), bob.clock())

    bot = PulseBot(e2e_config(tmp_path), sync_state_path=tmp_path / "sync.json",
                   guild_ready_timeout=0.05)
    process = PulseProcess(bot, feeds={ANN_ID: ann, BOB_ID: bob}, clock=clock,
                           api_token=API_TOKEN, http_port=0,
                           service_options={"bars_every": 0}).install()
    task = asyncio.create_task(serve(bot, fake.token, signals=()))
    ready = asyncio.create_task(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=WAIT,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
            raise AssertionError("the bot stopped before READY")
        assert ready in done, "bot not READY in time"
        await process.wait_service(timeout=WAIT)  # started in the background
        yield bot, process, task
    finally:
        ready.cancel()
        if not task.done():
            await bot.close()
            await asyncio.wait_for(task, timeout=WAIT + 20)


@pytest.fixture
async def flaky() -> AsyncIterator[FlakyDiscord]:
    fake = FlakyDiscord(heartbeat_interval_ms=200)
    await fake.start()
    try:
        with fake.redirect_discord():
            yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def running(flaky: FlakyDiscord, tmp_path: Path) -> AsyncIterator[Running]:
    ann = ReplayFeed.from_script(script(ann_script()))
    bob = ReplayFeed.from_script(script(bob_script()))
    async with start_process(flaky, tmp_path, ann, bob) as (bot, process, _), \
            aiohttp.ClientSession() as http:
        yield Running(flaky, bot, process, ann, bob, http)


def auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_TOKEN}"}


def embeds_of(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [e for r in fake.find("POST", rf"/channels/{channel_id}/messages")
            if r.status == 200 for e in (r.json or {}).get("embeds", [])]


async def wait_embed(fake: FakeDiscord, channel: Callable[[], int | None],
                     pred: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        cid = channel()
        if cid is not None:
            found = [e for e in embeds_of(fake, cid) if pred(e)]
            if found:
                return found[0]
        if loop.time() > deadline:
            seen = [f"{r.method} {r.path} {r.status}" for r in fake.requests[-20:]]
            raise AssertionError(f"timed out waiting for {what}; last requests: {seen}")
        await asyncio.sleep(0.02)


async def wait_until(pred: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await pred():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_the_whole_process(running: Running) -> None:
    fake, bot, process = running.fake, running.bot, running.process

    # -- login, sync with the full command list, everything started
    calls = [(r.method, r.path) for r in fake.requests[:2]]
    assert calls == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    (put,) = fake.find("PUT", COMMANDS_PUT)
    assert sorted(c["name"] for c in put.json) == sorted(EXPECTED_COMMANDS)
    assert process.engine is not None and process.service is not None
    assert process.outbox is not None and process.outbox.running
    assert process.scheduler is not None and process.scheduler.running
    assert bot.service is process.service  # type: ignore[attr-defined]
    assert sorted(process.scheduler.schedules) == sorted([ANN_ID, BOB_ID])

    # -- health while running: 200, every check named
    code, body = await running.health()
    assert code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "discord", "feeds", "scheduler", "outbox"}
    assert [f["trader_id"] for f in body["checks"]["feeds"]["feeds"]] == sorted([ANN_ID, BOB_ID])

    # -- Ann's losing deal, played by her replay feed -> the cooling DM
    await play_until(running.ann, f"{DAY}T09:40:00+01:00")
    ann_dm: Callable[[], int | None] = lambda: fake.dm_channels.get(ANN_ID)  # noqa: E731
    cooling = await wait_embed(fake, ann_dm, lambda e: e["title"] == "Cooling period",
                               "Ann's cooling DM")
    assert "cooling period" in cooling["description"]
    assert "1,200" in cooling["description"] or "1200" in cooling["description"]

    # -- /status answered ephemerally, showing the cooling lockout
    cb = await asyncio.wait_for(fake.push_interaction(
        fake.slash_interaction("status", user_id=ANN_ID, guild_id=GUILD_ID)), WAIT)
    assert cb.status == 200 and cb.json["type"] == 4
    assert cb.json["data"]["flags"] == EPHEMERAL
    (status,) = cb.json["data"]["embeds"]
    lockouts = next(f for f in status["fields"] if f["name"] == "Lockouts")
    assert "ooling" in lockouts["value"]

    # -- the post-trade prompt's button opens the reflection modal; the answer is journaled
    prompt = await wait_embed(fake, ann_dm, lambda e: e["title"] == "How did that trade go?",
                              "Ann's post-trade prompt")
    (msg,) = [r for r in fake.find("POST", rf"/channels/{ann_dm()}/messages")
              if prompt in r.json.get("embeds", [])]
    button = msg.json["components"][0]["components"][0]["custom_id"]
    assert button.startswith("pulse:reflect:")
    cb = await asyncio.wait_for(fake.push_interaction(fake.component_interaction(
        int(msg.response["id"]), button, user_id=ANN_ID)), WAIT)
    assert cb.json["type"] == 9, cb.json  # a modal
    modal = cb.json["data"]["custom_id"]
    cb = await asyncio.wait_for(fake.push_interaction(fake.modal_submit_interaction(
        modal, {"what_worked": "Entry on plan; I moved my stop.", "would_take_again": "no"},
        user_id=ANN_ID)), WAIT)
    assert cb.json["type"] == 4 and cb.json["data"]["flags"] == EPHEMERAL
    async with running.http.get(f"{running.base}/pulse/journal", headers=auth_headers(),
                                params={"trader_id": str(ANN_ID), "kind": "post_trade"}) as r:
        (entry,) = (await r.json())["entries"]
    assert entry["what_worked"] == "Entry on plan; I moved my stop."
    assert entry["would_take_again"] is False and entry["trade_id"] == button.split(":")[-1]

    # -- Bob closed his DMs: his cooling nudge goes to the fallback channel, mentioning him
    fake.close_dms(BOB_ID)
    await play_until(running.bob, f"{DAY}T09:50:00+01:00")
    fallback = await wait_embed(fake, lambda: TRADING_CHANNEL_ID,
                                lambda e: e["title"] == "Cooling period", "Bob's fallback")
    posts = [r for r in fake.find("POST", rf"/channels/{TRADING_CHANNEL_ID}/messages")
             if r.status == 200 and fallback in r.json.get("embeds", [])]
    assert posts and posts[0].json["content"].startswith(f"<@{BOB_ID}> your DMs are closed")
    refused = fake.find("POST", rf"/channels/{fake.dm_channels[BOB_ID]}/messages")
    assert refused and all(r.status == 403 for r in refused)
    assert process.service is not None
    db = process.service.db

    async def bob_row_sent() -> bool:  # the send is recorded just after the POST lands
        rows = await list_outbox(db, kind="cooling_started")
        return any(r.nudge.trader_id == BOB_ID and r.status == "sent" for r in rows)

    await wait_until(bob_row_sent, "Bob's cooling row marked sent")

    # -- Ann shares with coach Cora; the day ends; APScheduler fires her daily summary
    assert process.engine is not None
    if "coach" in EXPECTED_COMMANDS:  # through the real command
        share = fake.slash_interaction(
            "coach", [{"name": "share", "type": 1, "options": [
                {"name": "coach", "type": 6, "value": str(CORA_ID)}]}],
            user_id=ANN_ID, guild_id=GUILD_ID)
        share["data"]["resolved"] = {"users": {str(CORA_ID): fake.user(CORA_ID).payload()}}
        cb = await asyncio.wait_for(fake.push_interaction(share), WAIT)
        assert cb.status == 200 and cb.json["data"]["flags"] == EPHEMERAL
    else:
        await grant_consent(process.engine, ANN_ID, CORA_ID, process.clock())
    assert [c.coach_user_id for c in await active_consents(process.engine, ANN_ID)] == [CORA_ID]
    # an entry during her cooling period: a violation, mirrored to the coach's channel
    await play_until(running.ann, f"{DAY}T09:50:00+01:00")
    violation = await wait_embed(fake, lambda: COACH_CHANNEL_ID,
                                 lambda e: e["title"].endswith("Rule violation"),
                                 "the violation mirror")
    assert violation["title"].startswith("Ann") and "ooling" in violation["description"]
    await play_until(running.ann, f"{DAY}T21:00:30+01:00")
    assert process.scheduler is not None and process.scheduler.scheduler is not None
    job = process.scheduler.scheduler.get_job(daily_job_id(ANN_ID))
    assert job is not None
    job.modify(next_run_time=datetime.now(UTC))  # "time passes": the job is due now
    process.scheduler.scheduler.wakeup()
    summary = await wait_embed(fake, ann_dm, lambda e: e["title"] == "Daily summary",
                               "Ann's daily summary DM")
    assert "trade" in summary["description"]
    mirror = await wait_embed(fake, lambda: COACH_CHANNEL_ID,
                              lambda e: e["title"].endswith("Daily summary"),
                              "the coach channel mirror")
    assert mirror["title"].startswith("Ann")
    assert mirror["description"] == summary["description"]

    # -- metrics saw all of it
    async with running.http.get(f"{running.base}/metrics") as r:
        assert r.status == 200
        text = await r.text()
    assert "pulse_deals_ingested_total 6.0" in text
    assert 'pulse_nudges_sent_total{kind="cooling_started",to="dm"} 1.0' in text
    assert 'pulse_nudges_sent_total{kind="cooling_started",to="fallback_channel"} 1.0' in text
    assert "pulse_deal_to_nudge_seconds_count" in text

    # -- the API is there, token-protected
    async with running.http.get(f"{running.base}/signals/top") as r:
        assert r.status == 401
    async with running.http.get(f"{running.base}/pulse/journal",
                                params={"trader_id": str(ANN_ID)}, headers=auth_headers()) as r:
        assert r.status == 200 and (await r.json())["trader_id"] == ANN_ID

    # -- Discord goes away: 503 naming discord, while the rest stays healthy
    await fake.drop_gateway()
    body = await running.wait_health(503, "discord")
    assert body["failing"] == ["discord"]
    assert body["checks"]["discord"]["ok"] is False

    # -- the database goes away: 503 naming the database
    db_file = Path(process.config.storage.url.removeprefix("sqlite+aiosqlite:///"))
    await process.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db_file}{suffix}").unlink()
    body = await running.wait_health(503, "database")
    assert body["checks"]["database"]["ok"] is False


async def test_shutdown_flushes_the_outbox_while_connected_then_closes_everything(
    flaky: FlakyDiscord, tmp_path: Path
) -> None:
    ann = ReplayFeed.from_script(script(ann_script()))
    bob = ReplayFeed.from_script(script(bob_script()))
    async with start_process(flaky, tmp_path, ann, bob) as (bot, process, task):
        assert process.outbox is not None and process.http is not None
        port = process.http.port
        await process.outbox.stop()  # the worker is busy elsewhere: rows wait in the outbox
        await play_until(ann, f"{DAY}T09:40:00+01:00")
        assert process.service is not None
        db = process.service.db

        async def queued() -> bool:
            return any(r.status == "pending" for r in
                       await list_outbox(db, kind="cooling_started"))

        await wait_until(queued, "the cooling row queued")
        assert fake_dm_posts(flaky, ANN_ID) == []
        await bot.close()  # what SIGTERM does
        await asyncio.wait_for(task, timeout=WAIT + 20)
    # the flush delivered it before the gateway closed
    assert any(e["title"] == "Cooling period" for e in fake_dm_posts(flaky, ANN_ID))
    phases = [(r.phase, r.outcome) for r in bot.shutdown.results]
    assert phases == [("close_feeds", "ok"), ("stop_scheduler", "ok"), ("flush_outbox", "ok"),
                      ("stop_http", "ok"), ("close_storage", "ok")]
    assert ann.status().health.value == "closed" and bob.status().health.value == "closed"
    assert process.scheduler is not None and not process.scheduler.running
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{port}/pulse/health") as r:
            await r.read()


def fake_dm_posts(fake: FakeDiscord, user_id: int) -> list[dict[str, Any]]:
    dm = fake.dm_channels.get(user_id)
    return [] if dm is None else embeds_of(fake, dm)


async def test_restart_sends_no_duplicate_dm(flaky: FlakyDiscord, tmp_path: Path) -> None:
    ann = ReplayFeed.from_script(script(ann_script()))
    bob = ReplayFeed.from_script(script(bob_script()))
    async with start_process(flaky, tmp_path, ann, bob):
        await play_until(ann, f"{DAY}T09:40:00+01:00")
        await wait_embed(flaky, lambda: flaky.dm_channels.get(ANN_ID),
                         lambda e: e["title"] == "Cooling period", "the cooling DM")
    sent = len(flaky.find("POST", r"/channels/\d+/messages"))
    # same database, the terminal's history replayed up to the same instant (plus a bit)
    ann2 = ReplayFeed.from_script(script(ann_script()))
    bob2 = ReplayFeed.from_script(script(bob_script()))
    await play_until(ann2, f"{DAY}T09:41:00+01:00")
    async with start_process(flaky, tmp_path, ann2, bob2) as (_, process, _):
        assert process.service is not None
        status = process.service.status(ANN_ID)
        assert status.lockout("cooling_period") is not None  # the lockout survived
        await asyncio.sleep(0.3)  # several polls and outbox passes
        assert process.outbox is not None
        await process.outbox.run_once()
    cooling = [e for e in fake_dm_posts(flaky, ANN_ID) if e["title"] == "Cooling period"]
    assert len(cooling) == 1
    assert len(flaky.find("POST", r"/channels/\d+/messages")) == sent


def test_pulse_run_refuses_a_replay_trader_before_connecting(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("traders: [{discord_user_id: 42, feed: replay}]\n")
    with pytest.raises(ConfigError) as exc:
        run_bot(cfg, env={"DISCORD_TOKEN": "x"})
    (problem,) = exc.value.problems
    assert problem.startswith("traders[0] (42).feed: 'replay' is for `pulse replay")


def test_build_feeds_names_each_bad_trader() -> None:
    cfg = parse_config({"traders": [
        {"discord_user_id": 1, "feed": "mt5"}, {"discord_user_id": 2, "feed": "mt5"},
        {"discord_user_id": 3, "feed": "replay"}]}, env={})
    with pytest.raises(ConfigError) as exc:
        build_feeds(cfg, Secrets())
    text = "\n".join(exc.value.problems)
    assert "traders (1, 2): the MetaTrader5 package holds one terminal" in text
    assert "traders[2] (3).feed: 'replay'" in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_pulse_run_process_serves_health_and_metrics(tmp_path: Path) -> None:
    """`pulse run` as a real OS process: migrated database, HTTP up, SIGTERM exits 0."""
    token = "run-e2e.SECRET-token-42"
    port = free_port()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"storage: {{url: 'sqlite+aiosqlite:///{tmp_path / 'pulse.db'}'}}\n"
                   f"monitoring: {{host: 127.0.0.1, port: {port}}}\n")
    async with FakeDiscord(token=token) as fake:
        env = {**os.environ, "DISCORD_TOKEN": token, "PULSE_API_TOKEN": API_TOKEN,
               "PULSE_DISCORD_API_BASE": fake.api_base,
               "PULSE_DISCORD_GATEWAY": fake.gateway_url, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--config", str(cfg), cwd=tmp_path,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await fake.wait_for_frame(2, timeout=30)  # IDENTIFY: storage, HTTP, sync done
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + WAIT
                while True:  # READY lands just after IDENTIFY
                    async with http.get(f"{base}/pulse/health") as r:
                        code, body = r.status, await r.json()
                    if code == 200 or loop.time() > deadline:
                        break
                    await asyncio.sleep(0.05)
                assert code == 200, body
                assert body["checks"]["feeds"]["detail"] == "no traders configured"
                assert body["checks"]["scheduler"]["ok"] and body["checks"]["outbox"]["ok"]
                async with http.get(f"{base}/metrics") as r:
                    assert r.status == 200 and "pulse_outbox_pending 0.0" in await r.text()
                async with http.get(f"{base}/signals/top") as r:
                    assert r.status == 401
                async with http.get(f"{base}/signals/top", headers=auth_headers()) as r:
                    assert r.status == 503  # authorised, but no traders: no service
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), timeout=20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = err.decode()
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    for secret in (token, API_TOKEN):
        assert secret not in log and secret not in out.decode()
    url = f"sqlite+aiosqlite:///{tmp_path / 'pulse.db'}"
    engine = await open_database(url, migrate=False)
    try:
        assert await current_revision(url, engine=engine) is not None  # migrated
    finally:
        await engine.dispose()
