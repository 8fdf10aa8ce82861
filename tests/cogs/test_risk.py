"""/risk rules, /risk check (buttons and modal) and /split through their callbacks, on a
real service: verdicts, overrides and journal notes land in the tmp SQLite file."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from bot.app import PulseBot
from bot.service import PulseService
from pulse.models import JournalKind
from storage import repo_journal, repo_risk
from tests.fakes.discord_helpers import (
    FakeMember,
    dispatch,
    fill_modal,
    invoke,
    make_interaction,
    press,
)
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import ANN, Clock
from .helpers import component, field, modal_submit, only
from .test_status import ann, lose

BUY = {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "price": 1.1000, "stop": 1.0980}


def risk_cog(bot: PulseBot) -> Any:
    cog = bot.get_cog("Risk")
    assert cog is not None
    return cog


def labels(view: discord.ui.View | None) -> list[str]:
    return [] if view is None else [str(getattr(c, "label", "")) for c in view.children]


async def check(bot: PulseBot, **options: Any) -> Any:
    inter = make_interaction(client=bot, user=ann())
    await invoke(risk_cog(bot).check, inter, **{**BUY, **options})
    return only(inter)


async def test_allowed_request_with_a_split_suggestion(bot: PulseBot) -> None:
    msg = await check(bot)
    assert msg.ephemeral and msg.embed is not None
    assert msg.embed.title == "✅ Allowed"
    assert "BUY 0.1 EURUSD at 1.1, stop 1.098" in (msg.embed.description or "")
    assert "Risk: 0.02% of the balance" in (msg.embed.description or "")
    assert field(msg, "Rules") == "No rule objected."
    plan = field(msg, "Suggestion: split into 5 entries")
    assert "1. 0.02 lots · 0.00% · confluence ≥ 60" in plan
    assert "5. 0.02 lots · 0.00% · confluence ≥ 80" in plan
    assert labels(msg.view) == ["Accept split"]


@pytest.mark.parametrize("risk_overrides", [{"max_trades_per_day": 1}])
async def test_warn_on_the_last_allowed_entry(bot: PulseBot) -> None:
    msg = await check(bot)
    assert msg.embed.title == "⚠️ Allowed, with a warning"
    assert "⚠️ **Trades per day**:" in field(msg, "Rules")
    assert "Override" not in labels(msg.view)


async def test_hard_block_has_no_override_and_says_why(bot: PulseBot) -> None:
    msg = await check(bot, stop=None)
    assert msg.embed.title == "🛑 Blocked: this cannot be overridden"
    assert "🛑 **Stop loss**: No stop loss" in field(msg, "Rules")
    assert "cannot be overridden" in field(msg, "Why no override")
    assert msg.view is None  # no plan without a stop, and no override of a hard block


async def test_oversized_request_is_blocked_but_offered_a_plan_at_the_maximum(
    bot: PulseBot
) -> None:
    msg = await check(bot, volume=20.0)  # 20 lots x 200 pips-ish = 4% > 2%
    assert msg.embed.title == "🛑 Blocked: this cannot be overridden"
    assert "**Position size**" in field(msg, "Rules")
    plan = field(msg, "Suggestion: split into 5 entries")
    assert "Total 10 lots, 2.00% of 2% planned" in plan
    assert labels(msg.view) == ["Accept split"]


async def test_soft_block_override_modal_records_reason_and_rechecks(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    await lose(service, fake, clock)
    msg = await check(bot)
    assert msg.embed.title == "⛔ Blocked: you may override with a reason"
    assert "⛔ **Cooling period**" in field(msg, "Rules")
    assert labels(msg.view) == ["Accept split", "Override"]

    press_inter = component(bot, ann())
    assert await press(msg.view, "Override", press_inter)
    modal = press_inter.response.modal
    assert modal is not None and press_inter.response.sent is None
    fill_modal(modal, {"reason": "A+ setup on my plan"})
    submit = modal_submit(bot, ann())
    await modal.on_submit(submit)  # type: ignore[arg-type]

    edited = only(submit)
    assert edited.kind == "edit" and edited.embed is not None
    # re-evaluated after the override: allowed, the lifted block stays visible as a warning
    assert edited.embed.title == "⚠️ Allowed, with a warning"
    assert "⚠️ **Cooling period**: Cooling period overridden at" in field(edited, "Rules")
    assert "Cooling period overridden" in field(edited, "Note")
    assert labels(edited.view) == ["Accept split"]
    (rec,) = await repo_risk.list_overrides(service.db, ANN)
    assert rec.rule == "cooling_period" and rec.reason == "A+ setup on my plan"
    kinds = [e.kind for e in await repo_journal.list_journal_entries(service.db, ANN)]
    assert kinds == [JournalKind.OVERRIDE]


async def test_override_modal_with_a_blank_reason_is_refused(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    await lose(service, fake, clock)
    msg = await check(bot)
    press_inter = component(bot, ann())
    await press(msg.view, "Override", press_inter)
    modal = press_inter.response.modal
    assert modal is not None
    fill_modal(modal, {"reason": "   "})
    submit = modal_submit(bot, ann())
    await modal.on_submit(submit)  # type: ignore[arg-type]
    refusal = only(submit)
    assert refusal.ephemeral and (refusal.content or "").startswith("**reason**")
    assert await repo_risk.list_overrides(service.db, ANN) == []


async def test_accept_split_records_the_plan_and_closes_the_buttons(
    bot: PulseBot, service: PulseService
) -> None:
    msg = await check(bot)
    inter = component(bot, ann())
    assert await press(msg.view, "Accept split", inter)
    edited = only(inter)
    assert edited.kind == "edit" and edited.view is None and edited.embed is not None
    assert (edited.embed.title or "").startswith("✅ Plan accepted: Split")
    (note,) = await repo_journal.list_journal_entries(service.db, ANN)
    assert note.kind is JournalKind.NOTE and note.setup_tag == "split-plan"
    assert note.symbol == "EURUSD" and "Accepted a 5-entry split" in note.text


async def test_buttons_refuse_another_user(bot: PulseBot, service: PulseService) -> None:
    msg = await check(bot)
    bob = FakeMember(9999, "bob")
    inter = component(bot, bob)
    assert not await press(msg.view, "Accept split", inter)
    refusal = only(inter)
    assert refusal.ephemeral and refusal.content == (
        "Only the trader who asked can use these buttons.")
    assert await repo_journal.list_journal_entries(service.db, ANN) == []


async def test_argument_errors_name_the_argument_and_the_fix(bot: PulseBot) -> None:
    cases = [
        ({"volume": "abc"}, "**volume**: 'abc' is not a number. Type it like 0.5 (lots)."),
        ({"volume": "-1"}, "**volume**: must be greater than 0, got -1."),
        ({"stop": "1.1020"}, "**stop**: 1.102 is not below the buy price 1.1."),
        ({"side": "sell"}, "**stop**: 1.098 is not above the sell price 1.1."),
        ({"take_profit": "1.09"}, "**take_profit**: 1.09 is not above the buy price 1.1."),
        ({"symbol": "FOOBAR"}, "**symbol**: 'FOOBAR' is unknown to your feed"),
        ({"symbol": "EUR USD"}, "**symbol**: 'EUR USD' is not a symbol name."),
    ]
    raw = {"symbol": "EURUSD", "side": "buy", "volume": "0.1", "price": "1.1000",
           "stop": "1.0980"}
    for bad, expected in cases:
        inter = make_interaction(client=bot, user=ann())
        await dispatch(risk_cog(bot).check, inter, **{**raw, **bad})
        msg = only(inter)
        assert msg.ephemeral and msg.embed is None, bad
        assert (msg.content or "").startswith(expected), (bad, msg.content)


async def test_decimal_comma_and_lower_case_symbol_are_understood(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await dispatch(risk_cog(bot).check, inter, symbol="eurusd", side="buy", volume="0,1",
                   price="1,1000", stop="1.0980")
    msg = only(inter)
    assert msg.embed is not None and msg.embed.title == "✅ Allowed"
    assert "BUY 0.1 EURUSD" in (msg.embed.description or "")


async def test_unknown_user_check_is_not_linked(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=FakeMember(31337, "eve"))
    await invoke(risk_cog(bot).check, inter, **BUY)
    msg = only(inter)
    assert msg.ephemeral and "discord_user_id: 31337" in (msg.content or "")


async def test_rules_show_limits_and_usage(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    await lose(service, fake, clock, profit=-900.0)  # 0.9%: no cooling, 30% of the limit
    inter = make_interaction(client=bot, user=ann())
    await invoke(risk_cog(bot).rules, inter)
    msg = only(inter)
    assert msg.ephemeral and msg.embed is not None and msg.embed.title == "Your risk rules"
    daily = field(msg, "Daily loss")
    assert daily.startswith("3% of the day-start balance; warning at 80% used")
    assert "▰▰▰▱▱▱▱▱▱▱ 30% of 3,000.00 USD" in daily
    assert field(msg, "Trades per day") == "5 entries per day; 1 used"
    assert field(msg, "Max drawdown") == "off"
    assert field(msg, "Consecutive losses") == "3 losses in a row → 30 min break; 1 now"


async def test_rules_for_an_unlinked_user_show_the_rules_only(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=FakeMember(31337, "eve"))
    await invoke(risk_cog(bot).rules, inter)
    msg = only(inter)
    assert msg.embed is not None and "Not linked" in (msg.embed.description or "")
    assert field(msg, "Trades per day") == "5 entries per day"


async def test_split_explains_slices_below_the_minimum_volume(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    # 0.03% of 100k = 30 USD; a 100-pip stop costs 1000 USD a lot: 0.03 lots in all
    await invoke(risk_cog(bot).split, inter, symbol="EURUSD", side="buy", price=1.1000,
                 stop=1.0900, risk_percent=0.03)
    msg = only(inter)
    assert msg.ephemeral and msg.embed is not None
    assert msg.embed.title == "Split 0.03% on EURUSD into 3 entries"
    entries = field(msg, "Entries")
    assert "1. 0.01 lots · 0.01% · confluence ≥ 60" in entries
    assert "3. 0.01 lots · 0.01% · confluence ≥ 70" in entries
    assert ("5 slices of 0.006 lots would be below the 0.01-lot minimum; using 3 slices "
            "of 0.01 lots instead.") in entries


async def test_split_that_cannot_reach_one_minimum_lot_says_why(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await invoke(risk_cog(bot).split, inter, symbol="EURUSD", side="sell", price=1.1000,
                 stop=1.1100, risk_percent=0.005)
    msg = only(inter)
    assert msg.embed is not None and msg.embed.title == "No split possible on EURUSD"
    assert "below one minimum lot" in field(msg, "Why")


async def test_split_default_budget_and_live_score(bot: PulseBot, service: PulseService) -> None:
    await service.refresh_scores()
    inter = make_interaction(client=bot, user=ann())
    await invoke(risk_cog(bot).split, inter, symbol="EURUSD", side="buy", price=1.1000,
                 stop=1.0980)
    msg = only(inter)
    assert msg.embed is not None and msg.embed.title == "Split 2% on EURUSD into 5 entries"
    assert field(msg, "Confluence now").startswith("EURUSD H1: ")


async def test_split_argument_errors(bot: PulseBot) -> None:
    raw = {"symbol": "EURUSD", "side": "buy", "price": "1.1", "stop": "1.2"}
    inter = make_interaction(client=bot, user=ann())
    await dispatch(risk_cog(bot).split, inter, **raw)
    assert (only(inter).content or "").startswith("**stop**: 1.2 is not below the buy price")
    inter = make_interaction(client=bot, user=ann())
    await dispatch(risk_cog(bot).split, inter, **{**raw, "stop": "1.0"}, splits=40)
    assert (only(inter).content or "").startswith("**splits**: must be 1 to 20, got 40")


async def test_a_failing_button_answers_instead_of_failing_silently(
    bot: PulseBot, service: PulseService
) -> None:
    msg = await check(bot)
    await service.stop()  # storage closed under the view: recording the plan fails
    inter = component(bot, ann())
    button = next(c for c in msg.view.children if getattr(c, "label", "") == "Accept split")
    await msg.view._scheduled_task(button, inter)  # discord.py's own button dispatch
    failure = only(inter)
    assert failure.ephemeral and "went wrong on Pulse's side" in (failure.content or "")


async def test_symbol_and_timeframe_autocomplete(bot: PulseBot) -> None:
    from cogs.common import SymbolTransformer, TimeframeTransformer

    inter = make_interaction(client=bot, user=ann(), type=discord.InteractionType.autocomplete)
    symbols = await SymbolTransformer().autocomplete(inter, "usd")  # type: ignore[arg-type]
    assert [c.value for c in symbols][:2] == ["EURUSD", "GBPUSD"]
    tfs = await TimeframeTransformer().autocomplete(inter, "h")  # type: ignore[arg-type]
    assert [c.value for c in tfs][:3] == ["H1", "H2", "H3"]


async def test_a_side_outside_the_choices_is_an_argument_error(bot: PulseBot) -> None:
    inter = make_interaction(client=bot, user=ann())
    await dispatch(risk_cog(bot).check, inter, symbol="EURUSD", side="hold", volume="0.1",
                   price="1.1")
    assert only(inter).content == "**side**: 'hold' is not a side. Choose buy or sell."


async def test_break_after_consecutive_losses_is_a_hard_block(
    bot: PulseBot, service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    for i in range(3):  # three small losses (under the 1% cooling trigger)
        clock.advance(minutes=1)
        fake.add_deal(10 + 2 * i, clock.now, type=0, entry=0, position_id=200 + i, volume=0.1)
        await service.poll_once()
        clock.advance(minutes=1)
        account: dict[str, Any] = fake.account
        account["balance"] = account["equity"] = float(account["balance"]) - 100.0
        fake.add_deal(11 + 2 * i, clock.now, type=1, entry=1, position_id=200 + i,
                      volume=0.1, price=1.099, profit=-100.0)
        await service.poll_once()
    clock.advance(minutes=4)
    msg = await check(bot)
    assert msg.embed.title == "🛑 Blocked: this cannot be overridden"
    assert "🛑 **Consecutive losses**" in field(msg, "Rules")
    assert msg.view is None
    status: Any = bot.get_cog("Status")
    inter = make_interaction(client=bot, user=ann())
    await invoke(status.status, inter)
    lockouts = field(only(inter), "Lockouts")
    assert "🛑 **Consecutive losses**: 26 min left" in lockouts
    assert "cannot be overridden" in lockouts


async def test_verdict_shows_the_live_score_and_unlocked_entries(
    bot: PulseBot, service: PulseService
) -> None:
    scores = await service.refresh_scores()
    r = scores[("EURUSD", "H1")]
    long_score = r.score if r.direction == "long" else r.opposite.score
    msg = await check(bot)
    line = field(msg, "Confluence now")
    assert line.startswith(f"EURUSD H1: {long_score:.0f}/100 long")
    plan = field(msg, "Suggestion: split into 5 entries")
    gates = [60, 65, 70, 75, 80]
    for k, gate in enumerate(gates, 1):
        ready = f"{k}. 0.02 lots · 0.00% · confluence ≥ {gate} ✅ ready" in plan
        assert ready == (long_score >= gate), (k, long_score, plan)
