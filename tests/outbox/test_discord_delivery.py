"""DiscordDelivery through the real discord.py client against the fake Discord server,
and the worker end to end over it (DM, DMs closed -> coach channel, chart, button)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace

import discord
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import (
    DiscordDelivery,
    DMsClosed,
    OutgoingMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
    _classify,
)
from bot.outbox import OutboxPolicy, OutboxWorker
from pulse.models import Nudge, Severity
from storage.repo_coach import grant_consent
from storage.repo_outbox import list_outbox
from tests.fakes.discord_server import (
    ANN_ID,
    BOB_ID,
    COACH_CHANNEL_ID,
    CORA_ID,
    TRADING_CHANNEL_ID,
    FakeDiscord,
)
from tests.outbox.conftest import T0, Clock, make_config

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    c = discord.Client(intents=discord.Intents(guilds=True))
    await c.login(fake.token)  # REST only: sending needs no gateway
    try:
        yield c
    finally:
        await c.close()


def message(text: str = "hello") -> OutgoingMessage:
    return OutgoingMessage(embed=discord.Embed(title="Pulse", description=text))


async def test_dm_is_sent_as_an_embed(fake: FakeDiscord, client: discord.Client) -> None:
    mid = await DiscordDelivery(client).send_dm(ANN_ID, message("cooling 15 min"))
    opened = fake.find("POST", "/users/@me/channels")
    assert opened and opened[0].json == {"recipient_id": ANN_ID}
    dm = fake.dm_channels[ANN_ID]
    posted = fake.find("POST", f"/channels/{dm}/messages")
    assert len(posted) == 1 and posted[0].status == 200
    assert posted[0].json["embeds"][0]["description"] == "cooling 15 min"
    assert posted[0].json["allowed_mentions"]["parse"] == []
    assert mid == int(posted[0].response["id"])


async def test_closed_dms_raise_dms_closed(fake: FakeDiscord, client: discord.Client) -> None:
    fake.close_dms(BOB_ID)
    with pytest.raises(DMsClosed):
        await DiscordDelivery(client).send_dm(BOB_ID, message())


async def test_server_error_is_transient(fake: FakeDiscord, client: discord.Client) -> None:
    fake.fail_next("POST", rf"/channels/{TRADING_CHANNEL_ID}/messages", 503,
                   {"message": "Service Unavailable", "code": 0})
    with pytest.raises(TransientDeliveryError):
        await DiscordDelivery(client).send_channel(TRADING_CHANNEL_ID, message())
    # the next try goes through
    assert await DiscordDelivery(client).send_channel(TRADING_CHANNEL_ID, message()) > 0


async def test_unknown_channel_and_missing_access_are_permanent(
    fake: FakeDiscord, client: discord.Client
) -> None:
    with pytest.raises(PermanentDeliveryError):
        await DiscordDelivery(client).send_channel(42, message())  # 404 10003
    fake.fail_next("POST", rf"/channels/{TRADING_CHANNEL_ID}/messages", 403,
                   {"message": "Missing Access", "code": 50001})
    with pytest.raises(PermanentDeliveryError):
        await DiscordDelivery(client).send_channel(TRADING_CHANNEL_ID, message())


def _http_error(cls: type[discord.HTTPException], status: int, code: int) -> BaseException:
    response = SimpleNamespace(status=status, reason="x")
    return cls(response, {"message": "m", "code": code})


def test_error_mapping() -> None:
    assert isinstance(_classify(_http_error(discord.Forbidden, 403, 50007)), DMsClosed)
    assert isinstance(_classify(_http_error(discord.Forbidden, 403, 50013)),
                      PermanentDeliveryError)
    assert isinstance(_classify(_http_error(discord.HTTPException, 429, 0)),
                      TransientDeliveryError)
    assert isinstance(_classify(_http_error(discord.DiscordServerError, 502, 0)),
                      TransientDeliveryError)
    assert isinstance(_classify(_http_error(discord.NotFound, 404, 10003)),
                      PermanentDeliveryError)
    limited = _classify(discord.RateLimited(42.0))
    assert isinstance(limited, TransientDeliveryError) and limited.retry_after == 42.0
    assert isinstance(_classify(TimeoutError()), TransientDeliveryError)
    assert _classify(ValueError("a bug")) is None


async def test_worker_end_to_end_over_discord(
    fake: FakeDiscord, client: discord.Client, engine: AsyncEngine
) -> None:
    """Chart and reflection button in a DM; closed DMs land in the coach's channel."""
    clock = Clock(T0)
    fake.close_dms(BOB_ID)
    await grant_consent(engine, BOB_ID, CORA_ID, T0, channel_id=COACH_CHANNEL_ID)
    w = OutboxWorker(engine, make_config(), DiscordDelivery(client), clock=clock,
                     policy=OutboxPolicy())
    await w.enqueue(Nudge(
        at=T0, kind="post_trade_prompt", text="EURUSD closed -207 USD. Reflect?",
        dedupe_key="ptp:7", trader_id=ANN_ID, data={"trade_id": "5001-7"},
    ))
    await w.enqueue(Nudge(
        at=T0, kind="daily_summary", text="3 trades, 2 wins, +1.2%",
        dedupe_key="daily:ann:2026-03-02", trader_id=ANN_ID,
        data={"attachment": {"filename": "daily.png",
                             "png_b64": base64.b64encode(PNG).decode()}},
    ))
    await w.enqueue(Nudge(
        at=T0, kind="cooling_started", severity=Severity.WARNING, text="Cooling 15 min",
        dedupe_key="cool:bob:1", trader_id=BOB_ID,
    ))
    out = await w.run_once()
    assert sorted((o.status, o.to) for o in out) == [
        ("sent", "coach_channel"), ("sent", "dm"), ("sent", "dm")]
    dm = fake.dm_channels[ANN_ID]
    posts = fake.find("POST", f"/channels/{dm}/messages")
    assert len(posts) == 2
    button = posts[0].json["components"][0]["components"][0]
    assert button["custom_id"] == "pulse:reflect:5001-7"
    # the DynamicItem of the journal cog answers the click: no per-message view is kept
    assert client._connection._view_store.persistent_views == []
    assert posts[1].files == ["daily.png"]
    assert posts[1].json["embeds"][0]["image"]["url"] == "attachment://daily.png"
    refused = fake.find("POST", f"/channels/{fake.dm_channels[BOB_ID]}/messages")
    assert [r.status for r in refused] == [403]
    coach = fake.find("POST", f"/channels/{COACH_CHANNEL_ID}/messages")
    assert len(coach) == 1 and f"<@{BOB_ID}>" in coach[0].json["content"]
    assert coach[0].json["allowed_mentions"]["users"] == [BOB_ID]
    rows = {r.nudge.dedupe_key: r for r in await list_outbox(engine)}
    assert rows["cool:bob:1"].nudge.data["delivery"]["dm_closed"] is True
    # the chart bytes are not kept once the message is sent
    att = rows["daily:ann:2026-03-02"].nudge.data["attachment"]
    assert "png_b64" not in att and att["filename"] == "daily.png"



async def test_a_429_discord_py_does_not_absorb_is_transient(
    fake: FakeDiscord, client: discord.Client
) -> None:
    """discord.py waits out an API 429 itself; one it does not (here: without Discord's
    ``Via`` header, which it reads as a Cloudflare ban) surfaces and is retried later."""
    fake.fail_next("POST", rf"/channels/{TRADING_CHANNEL_ID}/messages", 429,
                   {"message": "You are being rate limited.", "retry_after": 30.0,
                    "global": False, "code": 0}, cloudflare=True)
    with pytest.raises(TransientDeliveryError, match="HTTP 429"):
        await DiscordDelivery(client).send_channel(TRADING_CHANNEL_ID, message())


async def test_a_send_longer_than_the_timeout_is_transient(client: discord.Client) -> None:
    """A send stuck in discord.py's own rate-limit wait is cut at ``timeout`` so the worker
    is not held; the row is retried later (the lease is longer than the timeout)."""
    async def stuck() -> int:
        await asyncio.sleep(30)
        return 1

    with pytest.raises(TransientDeliveryError, match="TimeoutError"):
        await DiscordDelivery(client, timeout=0.05)._guard(stuck())


async def test_discord_py_waits_out_a_short_429_itself(
    fake: FakeDiscord, client: discord.Client
) -> None:
    """A 429 as Discord sends it (``Via`` header, ``retry_after`` in the body) is retried by
    discord.py after ``retry_after``: the send succeeds on the second request."""
    path = rf"/channels/{TRADING_CHANNEL_ID}/messages"
    fake.fail_next("POST", path, 429, {"message": "You are being rate limited.",
                                       "retry_after": 0.05, "global": False, "code": 0})
    mid = await DiscordDelivery(client).send_channel(TRADING_CHANNEL_ID, message("late"))
    posts = fake.find("POST", path)
    assert [r.status for r in posts] == [429, 200]
    assert mid == int(posts[1].response["id"])


async def test_outbox_retries_a_long_429_after_retry_after(
    fake: FakeDiscord, engine: AsyncEngine
) -> None:
    """A 429 longer than the client will wait (discord.py raises ``RateLimited``) makes the
    worker keep the row and try again no earlier than ``retry_after``, then deliver it."""
    c = discord.Client(intents=discord.Intents(guilds=True), max_ratelimit_timeout=30.0)
    await c.login(fake.token)
    try:
        clock = Clock(T0)
        w = OutboxWorker(engine, make_config(), DiscordDelivery(c), clock=clock,
                         policy=OutboxPolicy())
        await w.enqueue(Nudge(at=T0, kind="cooling_started", severity=Severity.WARNING,
                              text="Cooling 15 min", dedupe_key="cool:ann:429",
                              trader_id=ANN_ID))
        await c.create_dm(discord.Object(ANN_ID))  # open the DM channel before the fault
        dm_path = rf"/channels/{fake.dm_channels[ANN_ID]}/messages"
        fake.fail_next("POST", dm_path, 429, {"message": "You are being rate limited.",
                                              "retry_after": 120.0, "global": False,
                                              "code": 0})
        (first,) = await w.run_once()
        assert first.status == "retry" and "rate limited for 120.0s" in first.detail
        (row,) = await list_outbox(engine)
        assert row.status == "pending" and row.attempts == 1
        assert row.next_attempt_at >= T0 + timedelta(seconds=120)
        clock.advance(seconds=60)
        assert await w.run_once() == []  # not before retry_after
        clock.advance(seconds=61)
        (second,) = await w.run_once()
        assert second.status == "sent" and second.to == "dm"
        assert [r.status for r in fake.find("POST", dm_path)] == [429, 200]
    finally:
        await c.close()
