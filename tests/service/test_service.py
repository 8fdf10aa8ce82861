"""PulseService on the fake MetaTrader5 module and a real SQLite file: persistence,
idempotent ingest, feed outages, the facade."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.feeds.base import FeedHealth
from bot.service import PulseService, ServiceError
from pulse.kernel import NudgeOut, OutEvent, ViolationOut
from pulse.models import Action
from storage import repo_journal, repo_risk
from storage.schema import nudge_outbox, verdicts
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import TRADER, Clock, make_service
from .helpers import (
    account_id,
    close_buy,
    count,
    open_buy,
    outbox_keys,
    outbox_kinds,
    request,
    round_trip,
    stored,
    stored_tickets,
)


async def test_deals_from_the_feed_are_persisted_and_nudges_queued(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    await service.poll_once()
    clock.advance(minutes=5)
    close_buy(fake, clock, 2, 100, profit=-1500.0)  # 1.5% of 100k: cooling period
    outs = await service.poll_once()

    kinds = [o.kind for o in outs if isinstance(o, NudgeOut)]
    assert "cooling_started" in kinds and "post_trade_prompt" in kinds
    assert await stored(service) == {"deals": 2, "trades": 1, "lockouts": 1}
    assert await outbox_kinds(service) == {"cooling_started": 1, "post_trade_prompt": 1}
    (trade,) = await service.trades(TRADER)
    assert trade.trade_id == "100" and trade.net_pnl == -1500.0 and trade.close_time == clock.now
    acct = await account_id(service)
    (lk,) = await repo_risk.list_lockouts(service.db, acct)
    assert lk.kind == "cooling" and lk.until - lk.started_at == timedelta(minutes=15)
    saved = await repo_risk.load_risk_state(service.db, acct)
    assert saved is not None and saved[0]["risk"]["entries_today"] == 1

    st = service.status(TRADER)
    assert st.trades_today == 1 and st.max_trades == 5 and st.day_pnl == -1500.0
    assert st.daily_loss_limit == pytest.approx(3000.0)
    cooling = st.lockout("cooling_period")
    assert cooling is not None and cooling.minutes_left == 15 and cooling.overridable
    assert st.blocked and st.feed.health is FeedHealth.UP


async def test_overlapping_duplicate_and_reordered_deals_count_once(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    clock.advance(minutes=1)
    t_open = clock.now
    clock.advance(minutes=2)
    # The terminal lists the close before the open (history sync after a reconnect).
    close_buy(fake, clock, 2, 100, profit=-100.0)
    fake.add_deal(1, t_open, type=0, entry=0, position_id=100, volume=1.0, price=1.1)
    await service.poll_once()
    for _ in range(3):  # overlapping windows return both deals again
        clock.advance(seconds=1)
        await service.poll_once()
    # The feed forgets its cursor: a fresh window re-reads the whole hour.
    service.sessions[TRADER].feed.reset_cursor(t_open - timedelta(minutes=30))  # type: ignore[attr-defined]
    await service.poll_once()
    # A late deal older than everything known (another position) arrives last.
    fake.add_deal(3, t_open - timedelta(seconds=30), type=0, entry=0, position_id=101,
                  volume=0.5, price=1.1)
    clock.advance(seconds=1)
    await service.poll_once()

    assert sorted(await stored_tickets(service)) == [1, 2, 3]
    assert (await stored(service))["trades"] == 2
    assert service.status(TRADER).trades_today == 2
    keys = await outbox_keys(service)
    assert len(keys) == len(set(keys))
    assert (await outbox_kinds(service))["post_trade_prompt"] == 1


async def test_feed_ipc_timeout_then_recovery_enqueues_down_and_restored_once(
    config: Any, fake: FakeMetaTrader5, clock: Clock
) -> None:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    svc = make_service(config, fake, clock)
    svc._sleep = sleep  # the loop's sleep moves the test clock
    await svc.start()
    try:
        fake.fail_next(1, -10005)  # IPC timeout on the next call
        await svc.run(max_polls=2)
        fake.disconnect()
        clock.advance(seconds=1)
        open_buy(fake, clock, 7, 700)  # happens while the terminal is away
        await svc.run(max_polls=4)  # backing off: the loop keeps going, nothing raises
        assert svc.sessions[TRADER].feed.health is FeedHealth.DOWN
        fake.reconnect()
        await svc.run(max_polls=12)
        assert svc.sessions[TRADER].feed.health is FeedHealth.UP
        kinds = await outbox_kinds(svc)
        assert kinds["feed_down"] == 2 and kinds["feed_restored"] == 2  # two outages
        assert 7 in await stored_tickets(svc)  # the deal made during the outage arrived
        items = [i for i in await _outbox(svc) if i.nudge.kind.startswith("feed_")]
        assert all(i.nudge.trader_id == TRADER for i in items)
        assert all(i.nudge.dedupe_key.startswith(f"{TRADER}:feed_") for i in items)
    finally:
        await svc.stop()


async def _outbox(svc: PulseService) -> list[Any]:
    from storage import repo_outbox

    return await repo_outbox.list_outbox(svc.db)


async def test_one_outage_gives_exactly_one_feed_down_and_one_feed_restored(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    told: list[str] = []
    service.on_out_events.append(
        lambda _tid, outs: told.extend(o.kind for o in outs if isinstance(o, NudgeOut)))
    fake.fail_next(1, -10005)
    await service.poll_once()
    for _ in range(5):  # still backing off: no further feed_down
        clock.advance(seconds=0.1)
        await service.poll_once()
    clock.advance(seconds=30)
    await service.poll_once()
    await service.poll_once()
    assert await outbox_kinds(service) == {"feed_down": 1, "feed_restored": 1}
    assert told == ["feed_down", "feed_restored"]  # subscribers (outbox wake-up) told too


async def test_check_is_persisted_and_override_is_stored_journaled_and_clears_lockout(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    round_trip(fake, clock, profit=-1200.0)
    await service.poll_once()
    clock.advance(minutes=2)
    v = await service.check(TRADER, request(clock))
    assert not v.allowed and v.action is Action.SOFT_BLOCK
    assert [r.rule for r in v.rules if r.action is not Action.ALLOW] == ["cooling_period"]
    assert await count(service.db, verdicts) == 1

    refused = await service.override(TRADER, "cooling_period", "   ")
    assert not refused.accepted
    rec = await service.override(TRADER, "cooling_period", "A+ setup at support")
    assert rec.accepted
    acct = await account_id(service)
    (ov,) = await repo_risk.list_overrides(service.db, TRADER)
    assert ov.reason == "A+ setup at support" and ov.account_id == acct and ov.verdict_id
    (entry,) = await repo_journal.list_journal_entries(service.db, TRADER)
    assert entry.kind.value == "override" and entry.rule == "cooling_period"
    later = clock.now + timedelta(seconds=1)
    assert await repo_risk.active_lockouts(service.db, acct, later) == []
    v2 = await service.check(TRADER, request(clock))
    assert v2.allowed
    assert service.status(TRADER).deductions  # the override costs behaviour points


async def test_a_deal_while_blocked_is_a_stored_violation_with_a_nudge(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    round_trip(fake, clock, profit=-1500.0)
    await service.poll_once()
    clock.advance(minutes=3)
    open_buy(fake, clock, 3, 101)  # inside the cooling period
    outs = await service.poll_once()
    assert any(isinstance(o, ViolationOut) and o.ticket == 3 for o in outs)
    (viol,) = await repo_risk.list_violations(service.db, await account_id(service))
    assert viol.ticket == 3 and viol.rule == "cooling_period"
    assert (await outbox_kinds(service))["violation"] == 1


async def test_subscribers_get_out_events_and_a_failing_one_breaks_nothing(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    seen: list[tuple[int, list[OutEvent]]] = []

    def boom(_tid: int, _outs: list[OutEvent]) -> None:
        raise RuntimeError("subscriber bug")

    async def record(tid: int, outs: list[OutEvent]) -> None:
        seen.append((tid, outs))

    service.on_out_events.extend([boom, record])
    round_trip(fake, clock, profit=50.0)
    await service.poll_once()
    assert seen and seen[0][0] == TRADER
    assert any(isinstance(o, NudgeOut) and o.kind == "post_trade_prompt" for o in seen[0][1])
    assert await count(service.db, nudge_outbox) == 1


async def test_unknown_trader_is_a_clear_error(service: PulseService, clock: Clock) -> None:
    with pytest.raises(ServiceError, match="trader 7 is not configured"):
        await service.check(7, request(clock))
    with pytest.raises(ServiceError, match="not configured"):
        service.status(7)


async def test_a_storage_failure_keeps_the_poll_for_the_next_one(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import repo_deals

    real = repo_deals.insert_deals
    calls = {"n": 0}

    async def flaky(*a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        return await real(*a, **kw)

    monkeypatch.setattr(repo_deals, "insert_deals", flaky)
    round_trip(fake, clock, profit=30.0)
    await service.poll_once()  # the write fails: nothing half-written
    assert await stored(service) == {"deals": 0, "trades": 0, "lockouts": 0}
    assert await count(service.db, nudge_outbox) == 0
    clock.advance(seconds=1)
    await service.poll_once()  # retried with the next poll
    assert await stored(service) == {"deals": 2, "trades": 1, "lockouts": 0}
    assert await outbox_kinds(service) == {"post_trade_prompt": 1}


async def test_feed_down_at_start_then_the_session_opens_when_it_returns(
    config: Any, fake: FakeMetaTrader5, clock: Clock
) -> None:
    fake.disconnect()
    svc = make_service(config, fake, clock)
    await svc.start()  # no account known anywhere yet: not fatal
    try:
        assert not svc.sessions[TRADER].ready
        with pytest.raises(ServiceError, match="account is not known yet"):
            await svc.check(TRADER, request(clock))
        clock.advance(minutes=1)
        open_buy(fake, clock, 1, 100)
        await svc.poll_once()
        fake.reconnect()
        clock.advance(minutes=1)
        await svc.poll_once()
        assert svc.sessions[TRADER].ready
        assert await stored_tickets(svc) == [1]  # caught up from the history
        kinds = await outbox_kinds(svc)
        assert kinds["feed_down"] == 1 and kinds["feed_restored"] == 1
        assert (await svc.check(TRADER, request(clock))).action is not Action.HARD_BLOCK
    finally:
        await svc.stop()


async def test_two_traders_are_kept_apart(
    tmp_path: Any, clock: Clock
) -> None:
    from bot.feeds.mt5 import MT5Feed
    from pulse.config import parse_config

    from .conftest import no_sleep

    fakes = {1: FakeMetaTrader5(clock=clock, login=111), 2: FakeMetaTrader5(clock=clock, login=222)}
    cfg = parse_config({
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'two.db'}"},
        "feeds": {"mt5": {"enabled": True, "server": "Broker-Demo"},
                  "watchlist": {"symbols": ["EURUSD"], "timeframes": ["M15"]}},
        "traders": [{"discord_user_id": 1, "account_login": 111, "feed": "mt5"},
                    {"discord_user_id": 2, "account_login": 222, "feed": "mt5"}],
    }, env={})
    def feeds_for(login: int) -> Any:  # each trader's terminal logs into its own account
        return cfg.feeds.model_copy(update={"mt5": cfg.feeds.mt5.model_copy(
            update={"login": login})})

    feeds = {tid: MT5Feed(f, feeds=feeds_for(f.expected_login), password="s3cret", clock=clock)
             for tid, f in fakes.items()}
    svc = PulseService(cfg, feeds=feeds, sleep=no_sleep, bars_every=0)
    await svc.start()
    try:
        clock.advance(minutes=1)
        for f in fakes.values():  # the same tickets on two accounts are two deals
            open_buy(f, clock, 1, 100)
        clock.advance(minutes=1)
        close_buy(fakes[1], clock, 2, 100, profit=-1500.0)
        close_buy(fakes[2], clock, 2, 100, profit=200.0)
        await svc.poll_once()
        assert svc.status(1).lockout("cooling_period") is not None
        assert svc.status(2).lockout("cooling_period") is None
        assert not (await svc.check(1, request(clock))).allowed
        assert (await svc.check(2, request(clock))).allowed
        keys = await outbox_keys(svc)
        assert "1:post_trade_prompt:100" in keys and "2:post_trade_prompt:100" in keys
        assert len(await svc.trades(1)) == len(await svc.trades(2)) == 1
    finally:
        await svc.stop()


async def test_mt5_feed_factory_shares_one_terminal_and_refuses_replay_traders(
    config: Any, fake: FakeMetaTrader5, clock: Clock
) -> None:
    from bot.service import mt5_feed_factory
    from pulse.config import Secrets

    make = mt5_feed_factory(config, Secrets(mt5_password="s3cret"), module=fake)
    mt5_trader = config.traders[0]
    assert make(mt5_trader) is make(mt5_trader)
    with pytest.raises(ServiceError, match="feed is 'replay'"):
        make(mt5_trader.model_copy(update={"feed": "replay"}))
    svc = PulseService(config, feed_factory=make, bars_every=0)
    await svc.start()
    try:
        assert svc.sessions[TRADER].ready
        assert svc.status(TRADER).feed.name == "MT5"
    finally:
        await svc.stop()


async def test_stop_ends_a_running_loop_and_saves_the_state(
    config: Any, fake: FakeMetaTrader5, clock: Clock
) -> None:
    import asyncio

    from bot.feeds.mt5 import MT5Feed

    feed = MT5Feed(fake, feeds=config.feeds, password="s3cret", clock=clock)
    config = config.model_copy(update={"feeds": config.feeds.model_copy(
        update={"poll_interval_seconds": 0.01})})
    svc = PulseService(config, feeds={TRADER: feed}, bars_every=0)  # the real sleep
    async def until(cond: Any) -> None:  # bounded: a broken loop fails, never hangs
        async def wait() -> None:
            while not cond():
                await asyncio.sleep(0.01)
        await asyncio.wait_for(wait(), 10)

    def seen() -> bool:
        k = svc.sessions[TRADER].kernel
        return k is not None and 1 in k.book

    task = asyncio.create_task(svc.run())
    await until(lambda: TRADER in svc.sessions and svc.sessions[TRADER].polls >= 2)
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    await until(seen)
    await svc.stop()
    await asyncio.wait_for(task, 5)
    assert task.done() and task.exception() is None
    assert feed.health is FeedHealth.CLOSED
    again = make_service(config, fake, clock)
    await again.start()
    try:
        assert again.status(TRADER).trades_today == 1 and await stored_tickets(again) == [1]
    finally:
        await again.stop()


async def test_a_fill_reported_a_poll_after_the_balance_that_holds_it_counts_once(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    await service.poll_once()
    clock.advance(minutes=1)
    closed_at = clock.now
    account: dict[str, Any] = fake.account
    account.update(balance=98_500.0, equity=98_500.0)  # the terminal's balance moved...
    clock.advance(seconds=1)
    await service.poll_once()  # ...but its history did not list the deal yet
    fake.add_deal(2, closed_at, type=1, entry=1, position_id=100, volume=1.0, price=1.0985,
                  profit=-1500.0)
    clock.advance(seconds=1)
    await service.poll_once()
    st = service.status(TRADER)
    assert st.day_pnl == pytest.approx(-1500.0) and st.balance == pytest.approx(98_500.0)
    kinds = await outbox_kinds(service)
    assert kinds["cooling_started"] == 1 and "daily_loss_warning" not in kinds


async def test_a_fill_stamped_by_a_broker_clock_ahead_of_ours_counts_once(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    await service.poll_once()
    clock.advance(minutes=1)
    # The broker's clock runs 3 s ahead: the close is stamped after our snapshot's time,
    # yet the snapshot (taken after the deal was listed) already holds its money.
    fake.add_deal(2, clock.now + timedelta(seconds=3), type=1, entry=1, position_id=100,
                  volume=1.0, price=1.0985, profit=-1500.0)
    account: dict[str, Any] = fake.account
    account.update(balance=98_500.0, equity=98_500.0)
    await service.poll_once()
    for _ in range(2):
        clock.advance(seconds=1)
        await service.poll_once()
    st = service.status(TRADER)
    assert st.balance == pytest.approx(98_500.0) and st.day_pnl == pytest.approx(-1500.0)
    kinds = await outbox_kinds(service)
    assert "daily_loss_hit" not in kinds and "daily_loss_warning" not in kinds


async def test_the_day_end_summary_reaches_subscribers_and_the_count_resets(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    from pulse.kernel import SummaryOut

    summaries: list[SummaryOut] = []
    service.on_out_events.append(
        lambda _tid, outs: summaries.extend(o for o in outs if isinstance(o, SummaryOut)))
    round_trip(fake, clock, profit=250.0)
    await service.poll_once()
    assert service.status(TRADER).trades_today == 1
    clock.now = clock.now.replace(hour=23, minute=0, second=5)  # just after midnight, Prague
    await service.poll_once()
    (summary,) = summaries
    assert summary.trades == 1 and summary.wins == 1 and summary.net == pytest.approx(250.0)
    assert service.status(TRADER).trades_today == 0
