"""Repository round trips: rows <-> models, time zones preserved as instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from pulse.models import (
    Action,
    Bar,
    Driver,
    JournalEntry,
    JournalKind,
    RuleResult,
    Side,
    TradeRequest,
    Verdict,
)
from storage.records import AccountRecord, Lockout, OverrideRecord, TraderSettings, Violation
from storage.repo_bars import load_bars, upsert_bars
from storage.repo_coach import active_consents, consents_for_coach, grant_consent, revoke_consent
from storage.repo_journal import (
    add_journal_entry,
    add_verdict,
    get_journal_entry,
    get_verdict,
    list_journal_entries,
    update_journal_entry,
)
from storage.repo_risk import (
    active_lockouts,
    add_lockout,
    add_override,
    add_violation,
    clear_lockouts,
    list_lockouts,
    list_overrides,
    list_violations,
    load_risk_state,
    save_risk_state,
)
from storage.repo_traders import (
    account_by_login,
    accounts_for_trader,
    ensure_account,
    get_account,
    get_trader,
    list_traders,
    update_settings,
    upsert_trader,
)

from .conftest import T0

PRAGUE = ZoneInfo("Europe/Prague")
NY = ZoneInfo("America/New_York")


async def test_trader_and_settings(engine: AsyncEngine) -> None:
    t = await upsert_trader(engine, 7, at=T0, name="Ana", timezone="Europe/Prague")
    assert (t.name, t.timezone, t.settings) == ("Ana", "Europe/Prague", TraderSettings())
    t = await update_settings(
        engine, 7, T0 + timedelta(days=1), daily_summary_time="20:30", muted_kinds=("fatigue",)
    )
    t = await upsert_trader(engine, 7, at=T0 + timedelta(days=2), name="Ana B.")  # keeps settings
    got = await get_trader(engine, 7)
    assert got == t
    assert got.name == "Ana B." and got.timezone == "Europe/Prague"
    assert got.settings.daily_summary_time == "20:30" and got.settings.muted_kinds == ("fatigue",)
    assert got.created_at == T0 and got.updated_at == T0 + timedelta(days=2)
    with pytest.raises(ValidationError):
        await update_settings(engine, 7, T0, quiet_hours_start="25:00")
    assert [x.id for x in await list_traders(engine)] == [7]
    assert await get_trader(engine, 8) is None


async def test_accounts(engine: AsyncEngine, account: AccountRecord) -> None:
    again = await ensure_account(engine, 5001, server="Demo-1", at=T0 + timedelta(days=1))
    assert again == account  # get-or-create keeps the first record
    assert account.trader_id == 42 and account.initial_balance == 100_000
    assert await get_account(engine, account.id) == account
    assert await account_by_login(engine, 5001, "Demo-1") == account
    assert await account_by_login(engine, 5001, "Live-2") is None
    assert await accounts_for_trader(engine, 42) == [account]


async def test_journal_entry_round_trip_keeps_instant(engine: AsyncEngine) -> None:
    at = datetime(2026, 3, 29, 1, 30, tzinfo=PRAGUE)  # the night Prague moves to CEST
    entry = JournalEntry(
        trader_id=42,
        kind=JournalKind.PRE_TRADE,
        at=at,
        text="EURUSD long at the OB",
        confidence=8,
        driver=Driver.STRATEGY,
        calendar_checked=True,
        setup_tag="ob-retest",
        symbol="EURUSD",
        side=Side.BUY,
        what_worked="patience",
        emotional_factors="calm",
        would_take_again=True,
        trade_id="1001.1",
        rule="cooling_period",
    )
    saved = await add_journal_entry(engine, entry)
    assert saved.id is not None
    got = await get_journal_entry(engine, saved.id)
    assert got is not None
    assert got == saved  # aware datetimes compare as instants
    assert got.at.utcoffset() == timedelta(0)  # stored and returned as UTC
    assert got.at.astimezone(PRAGUE) == at
    changed = got.model_copy(update={"text": "edited", "would_take_again": False})
    assert await update_journal_entry(engine, changed)
    assert await update_journal_entry(engine, changed.model_copy(update={"trader_id": 1})) is False
    listed = await list_journal_entries(engine, 42, kind=JournalKind.PRE_TRADE)
    assert listed == [changed]
    assert await list_journal_entries(engine, 42, since=at + timedelta(seconds=1)) == []


async def test_verdict_round_trip(engine: AsyncEngine) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=NY)
    v = Verdict(
        at=at,
        allowed=False,
        action=Action.SOFT_BLOCK,
        rules=(
            RuleResult(rule="cooling_period", action=Action.SOFT_BLOCK, message="12 min left"),
            RuleResult(rule="max_trades", action=Action.WARN, message="last trade today"),
        ),
        request=TradeRequest(
            time=at, symbol="EURUSD", side=Side.BUY, volume=1.0, price=1.085, sl=1.083
        ),
        risk_percent=0.2,
    )
    vid = await add_verdict(engine, v, trader_id=42)
    assert await get_verdict(engine, vid) == v
    assert await get_verdict(engine, vid + 1) is None


async def test_lockouts_and_risk_state(engine: AsyncEngine, account: AccountRecord) -> None:
    cool = Lockout(
        account_id=account.id,
        kind="cooling",
        started_at=T0,
        until=T0 + timedelta(minutes=15),
        reason="loss of 1.2%",
    )
    stored = await add_lockout(engine, cool)
    assert stored.id is not None and stored.model_copy(update={"id": None}) == cool
    assert await add_lockout(engine, cool) == stored  # idempotent (a rebuild re-adds it)
    brk = Lockout(
        account_id=account.id,
        kind="break",
        started_at=T0 + timedelta(minutes=5),
        until=T0 + timedelta(minutes=35),
    )
    await add_lockout(engine, brk)
    at = T0 + timedelta(minutes=10)
    assert [x.kind for x in await active_lockouts(engine, account.id, at)] == ["cooling", "break"]
    assert [
        x.kind for x in await active_lockouts(engine, account.id, at + timedelta(minutes=6))
    ] == ["break"]
    assert await clear_lockouts(engine, account.id, at, kind="break") == 1
    assert [x.kind for x in await active_lockouts(engine, account.id, at)] == ["cooling"]
    (_, cleared) = await list_lockouts(engine, account.id)
    assert cleared.cleared_at == at and not cleared.active_at(at)

    assert await load_risk_state(engine, account.id) is None
    await save_risk_state(engine, account.id, {"day": "2026-03-02", "anchor": 100_000.0}, T0)
    await save_risk_state(engine, account.id, {"day": "2026-03-03", "anchor": 99_500.0}, at)
    assert await load_risk_state(engine, account.id) == (
        {"day": "2026-03-03", "anchor": 99_500.0},
        at,
    )


async def test_overrides_and_violations(engine: AsyncEngine, account: AccountRecord) -> None:
    o = await add_override(
        engine,
        OverrideRecord(trader_id=42, rule="cooling_period", reason="A+ setup", at=T0),
    )
    assert o.id is not None
    assert await list_overrides(engine, 42) == [o]
    v = Violation(account_id=account.id, rule="max_trades", ticket=991, at=T0, message="6th")
    vid = await add_violation(engine, v)
    assert vid is not None
    assert await add_violation(engine, v) is None  # the same deal is one violation
    assert await list_violations(engine, account.id) == [v.model_copy(update={"id": vid})]


async def test_coach_consents(engine: AsyncEngine) -> None:
    c1 = await grant_consent(engine, 42, 900, T0, channel_id=55)
    c2 = await grant_consent(engine, 42, 900, T0 + timedelta(hours=1))  # replaces c1
    await grant_consent(engine, 43, 900, T0)
    assert await active_consents(engine, 42) == [c2]
    assert {c.trader_id for c in await consents_for_coach(engine, 900)} == {42, 43}
    assert await revoke_consent(engine, 42, T0 + timedelta(days=1)) == 1
    assert await active_consents(engine, 42) == []
    assert c1.active


async def test_bars_cache_upserts(engine: AsyncEngine) -> None:
    bars = [
        Bar(time=T0 + timedelta(hours=i), open=1.0, high=1.1, low=0.9, close=1.05, tick_volume=i)
        for i in range(3)
    ]
    await upsert_bars(engine, "EURUSD", "H1", bars)
    grown = bars[-1].model_copy(update={"high": 1.2, "tick_volume": 99.0})
    await upsert_bars(engine, "EURUSD", "H1", [grown])
    assert await load_bars(engine, "EURUSD", "H1") == [*bars[:2], grown]
    assert await load_bars(engine, "EURUSD", "M5") == []


async def test_naive_datetime_refused(engine: AsyncEngine) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await save_risk_state(engine, 1, {}, datetime(2026, 3, 2, 8, 0))
    # other offsets are fine and compare as instants
    await upsert_trader(
        engine, 9, at=datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    )
    got = await get_trader(engine, 9)
    assert got is not None and got.created_at == T0


async def test_time_filters_include_since_and_exclude_until(
    engine: AsyncEngine, account: AccountRecord
) -> None:
    # one helper (storage._sql.between) serves every since/until query: pin its bounds
    import sqlalchemy as sa

    from storage._sql import between
    from storage.schema import violations

    for k in range(3):
        await add_violation(
            engine,
            Violation(account_id=account.id, rule="max_trades", ticket=100 + k,
                      at=T0 + timedelta(minutes=k)),
        )
    got = await list_violations(engine, account.id, since=T0 + timedelta(minutes=1),
                                until=T0 + timedelta(minutes=2))
    assert [v.ticket for v in got] == [101]
    q = between(sa.select(violations.c.ticket), violations.c.at, None, None)
    async with engine.connect() as conn:
        assert sorted((await conn.execute(q)).scalars()) == [100, 101, 102]
