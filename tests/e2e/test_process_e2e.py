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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import PulseBot, serve
from bot.feeds.replay import ReplayFeed
from bot.scheduler import daily_job_id
from bot.wiring import PulseProcess
from pulse.config import PulseConfig, parse_config
from storage.repo_coach import grant_consent
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


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    ann = ReplayFeed.from_script(script([
        *losing_round_trip(DAY, "09:00:05", "09:40:00", 11, 1200.0),
        {"at": f"{DAY}T21:00:30+01:00", "type": "clock"},
    ]))
    bob = ReplayFeed.from_script(script([
        *losing_round_trip(DAY, "09:10:00", "09:50:00", 21, 1500.0),
    ]))

    def clock() -> datetime:  # the process clock: the later of the two replays
        return max(ann.clock(), bob.clock())

    fake = FlakyDiscord(heartbeat_interval_ms=200)
    await fake.start()
    cfg = e2e_config(tmp_path)
    bot = PulseBot(cfg, sync_state_path=tmp_path / "sync.json", guild_ready_timeout=0.05)
    process = PulseProcess(bot, feeds={ANN_ID: ann, BOB_ID: bob}, clock=clock,
                           api_token=API_TOKEN, http_port=0,
                           service_options={"bars_every": 0}).install()
    with fake.redirect_discord():
        task = asyncio.create_task(serve(bot, fake.token, signals=()))
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait({task, ready}, timeout=WAIT,
                                         return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
                raise AssertionError("the bot stopped before READY")
            assert ready in done, "bot not READY in time"
            async with aiohttp.ClientSession() as http:
                yield Running(fake, bot, process, ann, bob, http)
        finally:
            ready.cancel()
            if not task.done():
                await bot.close()
                await asyncio.wait_for(task, timeout=WAIT + 20)
            await fake.stop()


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
    await grant_consent(process.engine, ANN_ID, CORA_ID, process.clock())
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
    assert "pulse_deals_ingested_total 4.0" in text
    assert 'pulse_nudges_sent_total{kind="cooling_started",to="dm"} 1.0' in text
    assert 'pulse_nudges_sent_total{kind="cooling_started",to="fallback_channel"} 1.0' in text
    assert "pulse_deal_to_nudge_seconds_count" in text

    # -- the API is there, token-protected
    async with running.http.get(f"{running.base}/signals/top") as r:
        assert r.status == 401
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with running.http.get(f"{running.base}/pulse/journal",
                                params={"trader_id": str(ANN_ID)}, headers=headers) as r:
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
