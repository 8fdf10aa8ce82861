"""/journal add|list|stats|export and the reflection button, through the real callbacks
with the faithful fakes and real storage (temporary SQLite)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import discord
import pytest
from discord import app_commands
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import PulseBot
from bot.delivery import reflection_view
from pulse.models import Driver, JournalEntry, JournalKind, Side
from storage.repo_journal import add_journal_entry, list_journal_entries
from tests.cogs import journal_fixtures as fx
from tests.cogs.journal_fixtures import (
    ANN,
    BOB,
    DAY,
    cog,
    desk,
    seed_trades,
)
from tests.fakes.discord_helpers import fill_modal, find_button, invoke

bot = fx.bot  # fixtures
engine = fx.engine


def journal(bot: PulseBot) -> Any:
    return cog(bot, "Journal")


async def test_add_opens_pre_trade_modal_and_persists_the_answers(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    d = desk()
    inter = d.interaction(bot)
    await invoke(journal(bot).add, inter, symbol="eurusd", side="buy")
    modal = inter.response.modal
    assert modal is not None and modal.title == "Pre-trade check EURUSD buy"
    assert inter.response.type is discord.InteractionResponseType.modal

    fill_modal(modal, {"Confidence (1-10)": "7", "Strategy or emotion?": "strategy",
                       "Economic calendar checked?": "yes", "Setup": "london-breakout",
                       "Notes": "clean retest"})
    submit = d.submit(bot)
    await modal.on_submit(submit)
    sent = submit.response.sent
    assert sent is not None and sent.ephemeral and sent.embed is not None
    assert sent.embed.title is not None and sent.embed.title.startswith("Pre-trade entry #")

    (entry,) = await list_journal_entries(engine, ANN)
    assert entry.kind is JournalKind.PRE_TRADE
    assert (entry.symbol, entry.side, entry.confidence, entry.driver) == (
        "EURUSD", Side.BUY, 7, Driver.STRATEGY)
    assert entry.calendar_checked is True and entry.setup_tag == "london-breakout"
    assert entry.text == "clean retest" and entry.at == submit.created_at
    assert await list_journal_entries(engine, BOB) == []


async def test_bad_confidence_is_refused_with_a_fix_button_that_reopens_prefilled(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    d = desk()
    inter = d.interaction(bot)
    await invoke(journal(bot).add, inter)
    modal = inter.response.modal
    assert modal is not None
    fill_modal(modal, {"confidence": "12", "driver": "maybe", "setup_tag": "orb"})
    submit = d.submit(bot)
    await modal.on_submit(submit)
    sent = submit.response.sent
    assert sent is not None and sent.ephemeral and sent.view is not None
    assert "confidence: must be between 1 and 10, got 12" in (sent.content or "")
    assert "driver: must be strategy or emotion, got 'maybe'" in (sent.content or "")
    assert await list_journal_entries(engine, ANN) == []

    # someone else cannot press the trader's button
    intruder = d.component(bot, d.bob)
    assert await sent.view.interaction_check(intruder) is False
    assert intruder.response.sent is not None and intruder.response.sent.ephemeral

    press = d.component(bot)
    assert await sent.view.interaction_check(press) is True
    await find_button(sent.view, "Fix my answers").callback(press)
    again = press.response.modal
    assert again is not None
    values = {c.component.custom_id: c.component.default
              for c in again.children}
    assert values["confidence"] == "12" and values["setup_tag"] == "orb"
    fill_modal(again, {"confidence": "8/10", "driver": "e"})
    ok = d.submit(bot)
    await again.on_submit(ok)
    (entry,) = await list_journal_entries(engine, ANN)
    assert entry.confidence == 8 and entry.driver is Driver.EMOTION and entry.setup_tag == "orb"


async def test_add_refuses_a_bad_symbol_naming_the_option(bot: PulseBot) -> None:
    d = desk()
    inter = d.interaction(bot)
    await invoke(journal(bot).add, inter, symbol="EUR USD;drop")
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral and inter.response.modal is None
    assert sent.content is not None and sent.content.startswith("symbol: 'EUR USD;drop'")


async def test_list_shows_only_own_entries(bot: PulseBot, engine: AsyncEngine) -> None:
    await add_journal_entry(engine, JournalEntry(trader_id=ANN, kind=JournalKind.NOTE, at=DAY,
                                                 text="ann's note"))
    await add_journal_entry(engine, JournalEntry(trader_id=BOB, kind=JournalKind.NOTE, at=DAY,
                                                 text="bob's secret"))
    d = desk()
    inter = d.interaction(bot)
    await invoke(journal(bot).list_entries, inter)
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral
    assert "ann's note" in sent.text() and "bob's secret" not in sent.text()
    assert "2026-03-04 09:00 CET note" in sent.text()  # in the trader's timezone

    empty = d.interaction(bot, d.cora)
    await invoke(journal(bot).list_entries, empty, kind="pre_trade")
    assert empty.response.sent is not None
    assert "No journal entries yet" in empty.response.sent.text()


async def test_stats_count_own_trades_and_filters(bot: PulseBot, engine: AsyncEngine) -> None:
    await seed_trades(engine, ANN, 111, [-150.0, 270.0, 90.0])
    await seed_trades(engine, BOB, 222, [999.0], first_ticket=5000, first_pos=50)
    d = desk()
    inter = d.interaction(bot)
    await invoke(journal(bot).stats, inter, since="2026-03-01", symbol="eurusd")
    assert inter.response.deferred_ephemeral
    (sent,) = inter.followup.sent
    assert sent.ephemeral and sent.embed is not None
    text = sent.text()
    assert "trades 3 (wins 2, losses 1" in text and "net P&L +210.00" in text
    assert "EURUSD" in text and "999" not in text

    bad = d.interaction(bot)
    await invoke(journal(bot).stats, bad, since="01/03/2026")
    assert bad.response.sent is not None and bad.response.sent.ephemeral
    assert bad.response.sent.content == (
        "since: '01/03/2026' is not a date; use YYYY-MM-DD, e.g. 2026-03-02")

    backwards = d.interaction(bot)
    await invoke(journal(bot).stats, backwards, since="2026-03-05", until="2026-03-01")
    (msg,) = backwards.followup.sent
    assert msg.content == "until: must be after since"


async def test_export_sends_own_journal_as_a_file(bot: PulseBot, engine: AsyncEngine) -> None:
    await seed_trades(engine, ANN, 111, [50.0])
    await add_journal_entry(engine, JournalEntry(trader_id=ANN, kind=JournalKind.PRE_TRADE,
                                                 at=DAY, confidence=6, setup_tag="orb",
                                                 symbol="EURUSD"))
    await add_journal_entry(engine, JournalEntry(trader_id=BOB, kind=JournalKind.NOTE, at=DAY,
                                                 text="bob only"))
    d = desk()
    inter = d.interaction(bot)
    await invoke(journal(bot).export, inter)
    (sent,) = inter.followup.sent
    assert sent.ephemeral
    (file,) = sent.files
    assert file.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(file.fp.read().decode("utf-8"))))
    assert len(rows) == 1 and rows[0]["setup_tag"] == "orb" and rows[0]["confidence"] == "6"

    as_json = d.interaction(bot)
    await invoke(journal(bot).export, as_json, format="json")
    (jfile,) = as_json.followup.sent[0].files
    doc = json.loads(jfile.fp.read())
    assert doc["trader_id"] == ANN and len(doc["entries"]) == 1
    assert [t["trade_id"] for t in doc["trades"]] == ["1"]
    assert "bob only" not in json.dumps(doc)


async def test_reflection_button_from_the_nudge_persists_linked_to_the_trade(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    await seed_trades(engine, ANN, 111, [-150.0, 270.0])
    # The DM the outbox sends carries this view; the cog registered the handler for its
    # custom id when it loaded (a DynamicItem: survives restarts, no message state).
    button = reflection_view("2").children[0]
    assert isinstance(button, discord.ui.Button) and button.custom_id == "pulse:reflect:2"
    store = bot._connection._view_store  # where discord.py dispatches component clicks
    (factory, match), = [(f, m) for p, f in store._dynamic_items.items()
                         if (m := p.fullmatch(button.custom_id)) is not None]
    d = desk()
    press = d.component(bot)
    item = await factory.from_custom_id(press, button, match)
    await item.callback(press)
    modal = press.response.modal
    assert modal is not None and modal.title == "Reflect: EURUSD buy +270.00 USD"

    fill_modal(modal, {"What worked, and what didn't?": "waited for the retest",
                       "What were you feeling?": "calm", "Would you take it again?": "yes"})
    submit = d.submit(bot)
    await modal.on_submit(submit)
    sent = submit.response.sent
    assert sent is not None and sent.ephemeral and sent.embed is not None
    (entry,) = await list_journal_entries(engine, ANN, kind=JournalKind.POST_TRADE)
    assert entry.trade_id == "2" and entry.symbol == "EURUSD" and entry.side is Side.BUY
    assert entry.what_worked == "waited for the retest" and entry.would_take_again is True

    # pressing again revises the same reflection (prefilled), never a second one
    again = d.component(bot)
    await (await factory.from_custom_id(again, button, match)).callback(again)
    modal2 = again.response.modal
    assert modal2 is not None
    fill_modal(modal2, {"emotional_factors": "a bit greedy"})
    await modal2.on_submit(d.submit(bot))
    (revised,) = await list_journal_entries(engine, ANN, kind=JournalKind.POST_TRADE)
    assert revised.id == entry.id and revised.emotional_factors == "a bit greedy"
    assert revised.what_worked == "waited for the retest"


async def test_only_the_trader_can_reflect_on_their_trade(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    await seed_trades(engine, ANN, 111, [-150.0])
    d = desk()
    button = reflection_view("1").children[0]
    from cogs.journal import ReflectButton

    bob_press = d.component(bot, d.bob)
    item = ReflectButton("1")
    assert item.custom_id == button.custom_id  # type: ignore[attr-defined]
    await item.callback(bob_press)
    sent = bob_press.response.sent
    assert sent is not None and sent.ephemeral and bob_press.response.modal is None
    assert "not one of your trades" in (sent.content or "")

    # /journal add trade:<id> opens the same reflection for the owner
    inter = d.interaction(bot)
    await invoke(journal(bot).add, inter, trade="1")
    assert inter.response.modal is not None
    assert inter.response.modal.title == "Reflect: EURUSD buy -150.00 USD"


async def test_trade_autocomplete_lists_own_closed_trades(
    bot: PulseBot, engine: AsyncEngine
) -> None:
    await seed_trades(engine, ANN, 111, [-150.0, 270.0])
    await seed_trades(engine, BOB, 222, [999.0], first_ticket=5000, first_pos=50)
    d = desk()
    inter = d.interaction(bot, type=discord.InteractionType.autocomplete)
    choices = await journal(bot)._trade_autocomplete(inter, "")
    assert [c.value for c in choices] == ["2", "1"]  # newest first, bob's not offered
    assert choices[0].name.startswith("2 · EURUSD buy +270.00 · closed 2026-03-04 09:50")


async def test_storage_not_ready_answers_clearly(bot: PulseBot) -> None:
    del bot.engine  # type: ignore[attr-defined]
    d = desk()
    inter = d.interaction(bot)
    with pytest.raises(Exception) as info:
        await invoke(journal(bot).list_entries, inter)
    await journal(bot).cog_app_command_error(inter, info.value)
    assert inter.response.sent is not None and inter.response.sent.ephemeral
    assert "still starting" in (inter.response.sent.content or "")


async def test_an_option_that_fails_to_parse_is_named(bot: PulseBot) -> None:
    d = desk()
    stats = journal(bot).stats
    inter = d.interaction(bot, command=stats, namespace={"hour": 99})
    err = app_commands.TransformerError(99, discord.AppCommandOptionType.integer,
                                        app_commands.transformers.IdentityTransformer(
                                            discord.AppCommandOptionType.integer))
    await journal(bot).cog_app_command_error(inter, err)
    sent = inter.response.sent
    assert sent is not None and sent.ephemeral
    assert sent.content == "hour: 99 is not valid here; `/help` shows what each option expects."
