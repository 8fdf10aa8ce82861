"""The trading cogs inside the real bot process (real discord.py) against the fake
Discord server, with a real PulseService behind them: what Discord receives is checked
as JSON (option parsing, embeds, components, the modal and the message update)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import PulseBot
from bot.feeds.mt5 import MT5Feed
from bot.service import PulseService
from pulse.config import PulseConfig, parse_config
from storage import repo_risk
from tests.e2e.conftest import BotFactory, fake, start_bot, sync_state  # noqa: F401
from tests.fakes.discord_server import ANN_ID, BOB_ID, GUILD_ID, FakeDiscord
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import LOGIN, Clock, no_sleep
from .test_status import lose

EPHEMERAL = 64


def e2e_config(db: Path) -> PulseConfig:
    return parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "feeds": {"mt5": {"enabled": True, "login": LOGIN, "server": "Broker-Demo"},
                  "watchlist": {"symbols": ["EURUSD"], "timeframes": ["H1"]}},
        "traders": [{"discord_user_id": ANN_ID, "name": "Ann", "account_login": LOGIN,
                     "feed": "mt5", "timezone": "Europe/Prague"}],
    }, env={})


@pytest.fixture
async def live_service(tmp_path: Path, clock: Clock,
                       fake_mt5: FakeMetaTrader5) -> AsyncIterator[PulseService]:
    cfg = e2e_config(tmp_path / "e2e.db")
    feed = MT5Feed(fake_mt5, feeds=cfg.feeds, password="s3cret", clock=clock)
    svc = PulseService(cfg, feeds={ANN_ID: feed}, sleep=no_sleep, bars_every=0)
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()


@pytest.fixture
def fake_mt5(clock: Clock) -> FakeMetaTrader5:
    return FakeMetaTrader5(server_offset_hours=2.0, clock=clock)


def opt(name: str, value: Any, type_: int = 3) -> dict[str, Any]:
    return {"name": name, "type": type_, "value": value}


async def test_risk_check_soft_block_override_round_trip(
    fake: FakeDiscord, start_bot: BotFactory, live_service: PulseService,  # noqa: F811
    fake_mt5: FakeMetaTrader5, clock: Clock,
) -> None:
    await lose(live_service, fake_mt5, clock, ann_id=ANN_ID)

    def wire(bot: PulseBot) -> None:
        bot.service = live_service  # type: ignore[attr-defined]

    async with start_bot(config=live_service.config, setup=wire):
        check = fake.slash_interaction("risk", [{
            "name": "check", "type": 1, "options": [
                opt("symbol", "EURUSD"), opt("side", "buy"), opt("volume", "0.1"),
                opt("price", "1.1000"), opt("stop", "1.0980")],
        }], user_id=ANN_ID, guild_id=GUILD_ID)
        cb = await fake.push_interaction(check)
        data = cb.json["data"]
        assert cb.json["type"] == 4 and data["flags"] == EPHEMERAL
        (embed,) = data["embeds"]
        assert embed["title"] == "⛔ Blocked: you may override with a reason"
        (row,) = data["components"]
        buttons = {b["label"]: b["custom_id"] for b in row["components"]}
        assert list(buttons) == ["Accept split", "Override"]
        message_id = int(cb.response["resource"]["message"]["id"])

        refused = await fake.push_interaction(fake.component_interaction(
            message_id, buttons["Override"], user_id=BOB_ID))
        assert refused.json["data"]["content"] == "Only the trader who asked can use these buttons."

        opened = await fake.push_interaction(fake.component_interaction(
            message_id, buttons["Override"], user_id=ANN_ID))
        assert opened.json["type"] == 9
        modal = opened.json["data"]
        submit = fake.modal_submit_interaction(modal["custom_id"],
                                               {"reason": "A+ setup on my plan"},
                                               user_id=ANN_ID, guild_id=GUILD_ID)
        submit["message"] = fake.messages[message_id]  # Discord names the button's message
        updated = await fake.push_interaction(submit)
        assert updated.json["type"] == 7
        (after,) = fake.messages[message_id]["embeds"]
        assert after["title"] == "⚠️ Allowed, with a warning"
        (rec,) = await repo_risk.list_overrides(live_service.db, ANN_ID)
        assert rec.reason == "A+ setup on my plan"


async def test_argument_error_and_status_through_discord(
    fake: FakeDiscord, start_bot: BotFactory, live_service: PulseService,  # noqa: F811
) -> None:
    def wire(bot: PulseBot) -> None:
        bot.service = live_service  # type: ignore[attr-defined]

    async with start_bot(config=live_service.config, setup=wire):
        bad = fake.slash_interaction("risk", [{
            "name": "check", "type": 1, "options": [
                opt("symbol", "EURUSD"), opt("side", "buy"), opt("volume", "lots"),
                opt("price", "1.1")],
        }], user_id=ANN_ID, guild_id=GUILD_ID)
        cb = await fake.push_interaction(bad)
        assert cb.json["data"]["flags"] == EPHEMERAL
        assert cb.json["data"]["content"] == ("**volume**: 'lots' is not a number. "
                                              "Type it like 0.5 (lots).")

        status = await fake.push_interaction(
            fake.slash_interaction("status", user_id=ANN_ID, guild_id=GUILD_ID))
        (embed,) = status.json["data"]["embeds"]
        assert embed["title"] == "🟢 Green · 100/100"
        assert status.json["data"]["flags"] == EPHEMERAL

        stranger = await fake.push_interaction(
            fake.slash_interaction("status", user_id=BOB_ID, guild_id=GUILD_ID))
        assert f"discord_user_id: {BOB_ID}" in stranger.json["data"]["content"]
