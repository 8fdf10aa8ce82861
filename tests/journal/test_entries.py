from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulse.journal.entries import (
    JournalAccessError,
    JournalInputError,
    edit_entry,
    new_note,
    new_override,
    new_post_trade,
    new_pre_trade,
    own_entries,
    parse_confidence,
    post_trade_nudge,
)
from pulse.journal.linking import link_entries
from pulse.models import Action, Driver, JournalKind, Side, TradeRequest, Verdict
from tests.journal.helpers import DealMaker, trades_of

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def verdict():
    req = TradeRequest(time=AT, symbol="EURUSD", side=Side.BUY, volume=1, price=1.1, sl=1.098)
    return Verdict(at=AT, allowed=True, action=Action.ALLOW, request=req)


def test_pre_trade_from_answers_takes_symbol_from_verdict():
    e = new_pre_trade(
        7,
        AT,
        {"confidence": "8/10", "driver": "S", "calendar_checked": "yes",
         "setup_tag": " london  bo "},
        verdict_id=12,
        verdict=verdict(),
    )
    assert (e.kind, e.confidence, e.driver, e.calendar_checked) == (
        JournalKind.PRE_TRADE, 8, Driver.STRATEGY, True)
    assert (e.setup_tag, e.symbol, e.side, e.verdict_id) == ("london bo", "EURUSD", Side.BUY, 12)


def test_bad_answers_are_all_reported():
    with pytest.raises(JournalInputError) as exc:
        new_pre_trade(7, AT, {"confidence": "11", "driver": "gut", "calendar_checked": "maybe"})
    assert [p.split(":")[0] for p in exc.value.problems] == [
        "confidence", "driver", "calendar_checked"]
    with pytest.raises(JournalInputError, match="whole number"):
        parse_confidence("high")
    with pytest.raises(JournalInputError):
        new_note(7, AT, "   ")
    with pytest.raises(JournalInputError):
        new_override(7, AT, "cooling_period", "")


def test_only_the_owner_edits_and_lists():
    mine = new_note(7, AT, "stay patient").model_copy(update={"id": 1})
    theirs = new_note(8, AT, "secret").model_copy(update={"id": 2})
    assert own_entries([theirs, mine], 7) == [mine]
    edited = edit_entry(mine, 7, {"text": "stay patient today"})
    assert edited.text == "stay patient today" and edited.id == 1 and edited.at == AT
    with pytest.raises(JournalAccessError) as exc:
        edit_entry(theirs, 7, {"text": "x"})
    assert "secret" not in str(exc.value)
    with pytest.raises(JournalInputError, match="trader_id: cannot be edited"):
        edit_entry(mine, 7, {"trader_id": 8})
    with pytest.raises(JournalInputError):
        edit_entry(mine, 7, {"confidence": 0})


def test_post_trade_entry_and_prompt_link_to_the_trade():
    m = DealMaker()
    trade = trades_of(m.round_trip(5, AT, 30, Side.SELL, -40.0))[0]
    e = new_post_trade(7, AT + timedelta(hours=1), trade,
                       {"what_worked": "entry", "would_take_again": "no"})
    assert (e.trade_id, e.would_take_again, e.symbol) == ("5", False, "EURUSD")
    nudge = post_trade_nudge(trade, 7, AT + timedelta(minutes=31), currency="USD", r=-0.8)
    assert nudge.kind == "post_trade_prompt"
    assert nudge.text.startswith("EURUSD sell closed -40.00 USD (-0.8R).")
    assert "Would you take this trade again?" in nudge.text
    assert nudge.dedupe_key == "post_trade_prompt:7:5"


def test_implicit_links_respect_window_symbol_side_and_first_come():
    m = DealMaker()
    deals = m.round_trip(1, AT, 10, Side.BUY, 5.0) + m.round_trip(
        2, AT + timedelta(minutes=5), 10, Side.BUY, 5.0
    ) + m.round_trip(3, AT + timedelta(hours=2), 10, Side.SELL, 5.0)
    trades = trades_of(deals)
    first = new_pre_trade(7, AT - timedelta(minutes=1), {"confidence": 5})
    second = new_pre_trade(7, AT + timedelta(minutes=1), {"confidence": 6})
    stale = new_pre_trade(7, AT + timedelta(minutes=30), {"confidence": 2, "side": "sell"})
    links = link_entries([first, second, stale], trades)
    assert links["1"].pre == first and links["2"].pre == second
    assert links["3"].pre is None  # 90 min later: not its prompt
