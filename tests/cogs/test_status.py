"""/status, /break and /override through their callbacks, on a real service."""

from __future__ import annotations

from typing import Any

import discord

from bot.app import PulseBot
from bot.service import PulseService
from storage import repo_journal, repo_risk
from tests.fakes.discord_helpers import FakeMember, dispatch, invoke, make_interaction
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import ANN, Clock
from .helpers import field, only


def status_cog(bot: PulseBot) -> Any:
    cog = bot.get_cog("Status")
    assert cog is not None
    return cog


def ann() -> FakeMember:
    return FakeMember(ANN, "ann")


async def lose(service: PulseService, fake: FakeMetaTrader5, clock: Clock,
               profit: float = -1500.0, ann_id: int = ANN) -> None:
    """A buy opened and closed at a loss (1.5% of 100k: a cooling period starts)."""
    clock.advance(minutes=1)
    fake.add_deal(1, clock.now, type=0, entry=0, position_id=100, volume=1.0, price=1.1)
    await service.poll_once(ann_id)
    clock.advance(minutes=5)
    account: dict[str, Any] = fake.account
    account["balance"] = 100_000.0 + profit
    account["equity"] = account["balance"]
    fake.add_deal(2, clock.now, type=1, entry=1, position_id=100, volume=1.0, price=1.0985,
                  profit=profit)
    await service.poll_once(ann_id)


async def test_status_green_trader(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await invoke(status_cog(bot).status, inter)
    msg = only(inter)
    assert msg.ephemeral and msg.embed is not None
    assert msg.embed.title == "🟢 Green · 100/100"
    assert msg.embed.description == "No deductions today."
    assert msg.embed.colour == discord.Colour.green()
    assert field(msg, "Day P&L") == "+0.00 USD\n▱▱▱▱▱▱▱▱▱▱ 0% of 3,000.00 USD"
    assert field(msg, "Trades").startswith("0/5 today")
    assert field(msg, "Account") == "Balance 100,000.00 USD\nEquity 100,000.00 USD"
    assert field(msg, "Lockouts") == "None: you are free to trade."
    assert "feed up" in (msg.embed.footer.text or "")


async def test_status_in_cooling_shows_time_left_and_the_loss(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    await lose(service, fake, clock)
    clock.advance(minutes=3)
    inter = make_interaction(client=bot, user=ann())
    await invoke(status_cog(bot).status, inter)
    msg = only(inter)
    assert msg.ephemeral and msg.embed is not None
    lockouts = field(msg, "Lockouts")
    assert "**Cooling period**: 12 min left" in lockouts
    assert "`/override` with a reason lifts it" in lockouts
    until = service.status(ANN).lockouts[0].until
    assert f"<t:{int(until.timestamp())}:t>" in lockouts
    assert field(msg, "Day P&L") == "-1,500.00 USD\n▰▰▰▰▰▱▱▱▱▱ 50% of 3,000.00 USD"
    assert field(msg, "Trades").startswith("1/5 today")


async def test_unknown_user_is_told_how_to_link(bot: PulseBot) -> None:
    stranger = FakeMember(777, "zed")
    inter = make_interaction(client=bot, user=stranger)
    await invoke(status_cog(bot).status, inter)
    msg = only(inter)
    assert msg.ephemeral and msg.embed is None
    assert msg.content is not None
    assert "not linked" in msg.content and "discord_user_id: 777" in msg.content


async def test_break_with_negative_minutes_names_the_argument(bot: PulseBot) -> None:
    for raw in (-5, 0, 5000):
        inter = make_interaction(client=bot, user=ann())
        await dispatch(status_cog(bot).take_break, inter, minutes=raw)
        msg = only(inter)
        assert msg.ephemeral
        assert msg.content == (f"**minutes**: must be between 1 and 480, got {raw}. "
                               "Type how long you want to pause, e.g. 30.")


async def test_override_without_a_reason_is_refused_and_nothing_recorded(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    await lose(service, fake, clock)
    inter = make_interaction(client=bot, user=ann())
    await dispatch(status_cog(bot).override, inter, reason="  ")
    msg = only(inter)
    assert msg.ephemeral and msg.content is not None
    assert msg.content.startswith("**reason**: an override needs a reason of a few words")
    cooling = service.status(ANN).lockout("cooling_period")
    assert cooling is not None and not cooling.overridden
    assert await repo_risk.list_overrides(service.db, ANN) == []


async def test_override_with_a_reason_lifts_the_cooling_and_is_journaled(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    await lose(service, fake, clock)
    clock.advance(minutes=2)
    inter = make_interaction(client=bot, user=ann())
    await invoke(status_cog(bot).override, inter, reason="A+ setup, half size")
    msg = only(inter)
    assert msg.ephemeral and msg.embed is not None
    assert (msg.embed.title or "").startswith("Override recorded")
    assert "Cooling period overridden with 13 minutes left" in field(msg, "Override")
    assert ", overridden" in field(msg, "Lockouts")
    (rec,) = await repo_risk.list_overrides(service.db, ANN)
    assert rec.rule == "cooling_period" and rec.reason == "A+ setup, half size"
    entries = await repo_journal.list_journal_entries(service.db, ANN)
    assert [e.kind.value for e in entries] == ["override"]


async def test_override_with_nothing_to_override_is_refused_by_the_service(
    bot: PulseBot
) -> None:
    inter = make_interaction(client=bot, user=ann())
    await invoke(status_cog(bot).override, inter, reason="just because")
    msg = only(inter)
    assert msg.ephemeral
    assert msg.content == ("⛔ Override refused: No cooling period is active: nothing to "
                           "override.")


async def test_override_of_a_hard_rule_is_refused(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await invoke(status_cog(bot).override, inter, reason="I know better", rule="daily_loss")
    msg = only(inter)
    assert msg.content is not None and msg.content.startswith("⛔ Override refused: Refused: "
                                                              "daily_loss is a hard block")


async def test_deductions_are_listed_after_an_override(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    await lose(service, fake, clock)
    await service.override(ANN, "cooling_period", "planned setup")
    inter = make_interaction(client=bot, user=ann())
    await invoke(status_cog(bot).status, inter)
    msg = only(inter)
    assert msg.embed is not None
    expected = service.status(ANN)
    assert msg.embed.title == f"{'🟢' if expected.state == 'green' else '🟡'} " \
                              f"{expected.state.capitalize()} · {expected.score}/100"
    assert expected.deductions and all(d in (msg.embed.description or "")
                                       for d in expected.deductions)
    assert "-10 override" in (msg.embed.description or "")


async def test_commands_without_a_running_service_say_so(config: Any, tmp_path: Any) -> None:
    bare = PulseBot(config, extensions=(), sync_state_path=tmp_path / "s.json")
    await bare.load_extension("cogs.status")
    try:
        inter = make_interaction(client=bare, user=ann())
        await invoke(status_cog(bare).status, inter)
        msg = only(inter)
        assert msg.ephemeral and "service is not running yet" in (msg.content or "")
    finally:
        await bare.close()
