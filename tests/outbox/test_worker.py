"""The outbox worker over real storage (SQLite in tmp_path) and a fake delivery."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import (
    REFLECT_CUSTOM_ID_PREFIX,
    OutgoingMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.outbox import OutboxPolicy, OutboxWorker, backoff_delay, quiet_hours_end
from pulse.config import PulseConfig
from pulse.models import Nudge, Severity
from storage.repo_coach import grant_consent
from storage.repo_outbox import get_outbox_item, list_outbox
from storage.repo_traders import update_settings, upsert_trader
from tests.outbox.conftest import T0, Clock, make_config
from tests.outbox.fake_delivery import FakeDelivery

ANN = 1001
BOB = 1002
COACH = 2001


def nudge(
    key: str,
    *,
    kind: str = "revenge",
    trader: int = ANN,
    at: datetime = T0,
    severity: Severity = Severity.WARNING,
    **data: object,
) -> Nudge:
    return Nudge(at=at, kind=kind, severity=severity, text=f"{kind} for {trader}",
                 dedupe_key=key, trader_id=trader, data=dict(data))


def worker(engine: AsyncEngine, config: PulseConfig, delivery: object, clock: Clock,
           **policy: object) -> OutboxWorker:
    return OutboxWorker(engine, config, delivery, clock=clock,  # type: ignore[arg-type]
                        policy=OutboxPolicy(**policy))  # type: ignore[arg-type]


async def test_row_is_written_and_claimed_before_discord_is_called(
    engine: AsyncEngine, config: PulseConfig, clock: Clock
) -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    class CheckingDelivery(FakeDelivery):
        async def send_dm(self, user_id: int, message: OutgoingMessage) -> int:
            rows = await list_outbox(engine, trader_id=user_id)
            seen.extend((r.status, dict(r.nudge.data.get("delivery") or {})) for r in rows)
            return await super().send_dm(user_id, message)

    d = CheckingDelivery()
    w = worker(engine, config, d, clock)
    item_id = await w.enqueue(nudge("k1"))
    assert item_id is not None and d.sent == []  # enqueue alone sends nothing
    row = await get_outbox_item(engine, item_id)
    assert row is not None and row.status == "pending"
    outcomes = await w.run_once()
    assert [o.status for o in outcomes] == ["sent"]
    # at send time the row existed, pending, with the in-flight claim recorded
    assert seen and seen[0][0] == "pending" and "claimed_at" in seen[0][1]
    row = await get_outbox_item(engine, item_id)
    assert row is not None and row.status == "sent" and row.attempts == 1
    where = row.nudge.data["delivery"]
    assert where["to"] == "dm" and where["message_id"] == d.sent[0].message_id
    assert "claimed_at" not in where


async def test_enqueue_twice_sends_one_dm(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    w = worker(engine, config, delivery, clock)
    assert await w.enqueue(nudge("same")) is not None
    assert await w.enqueue(nudge("same")) is None
    await w.run_once()
    assert await w.enqueue(nudge("same")) is None  # also after it was sent
    await w.run_once()
    assert len(delivery.dms(ANN)) == 1
    assert len(await list_outbox(engine)) == 1


async def test_rate_limit_per_trader_and_kind_suppresses_and_records(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    w = worker(engine, config, delivery, clock)
    await w.enqueue(nudge("r1"))
    await w.enqueue(nudge("r2"))  # same trader and kind, within 300 s
    await w.enqueue(nudge("o1", kind="overtrading"))  # another kind: not limited
    await w.enqueue(nudge("b1", trader=BOB))  # another trader: not limited
    await w.enqueue(nudge("p1", kind="post_trade_prompt", trade_id="7"))
    await w.enqueue(nudge("p2", kind="post_trade_prompt", trade_id="8"))  # exempt
    outcomes = {o.item_id: o for o in await w.run_once()}
    statuses = sorted(o.status for o in outcomes.values())
    assert statuses == ["sent"] * 5 + ["suppressed"]
    r2 = next(r for r in await list_outbox(engine) if r.nudge.dedupe_key == "r2")
    assert r2.status == "suppressed" and r2.last_error is not None
    assert r2.last_error.startswith("rate limited: revenge")
    # after the window, the same kind goes again
    clock.advance(seconds=301)
    await w.enqueue(nudge("r3", at=clock.now))
    assert [o.status for o in await w.run_once()] == ["sent"]
    assert len(delivery.dms(ANN)) == 5


async def test_quiet_hours_defer_to_their_end_in_the_trader_timezone(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery
) -> None:
    # 22:00 UTC = 23:00 in Prague (quiet, 22:30-07:00), 17:00 in New York (not quiet)
    clock = Clock(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))
    await upsert_trader(engine, ANN, at=clock.now, timezone="Europe/Prague")
    await upsert_trader(engine, BOB, at=clock.now, timezone="America/New_York")
    w = worker(engine, config, delivery, clock)
    ann = await w.enqueue(nudge("a", at=clock.now))
    crit = await w.enqueue(nudge("c", kind="daily_loss_hit", at=clock.now,
                                 severity=Severity.CRITICAL))
    bob = await w.enqueue(nudge("b", trader=BOB, at=clock.now))
    out = {o.item_id: o.status for o in await w.run_once()}
    assert out == {ann: "deferred", crit: "sent", bob: "sent"}
    row = await get_outbox_item(engine, ann)  # type: ignore[arg-type]
    assert row is not None and row.status == "pending" and row.attempts == 0
    # across midnight: the end is 07:00 Prague the next day = 06:00 UTC (CET)
    assert row.next_attempt_at == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    clock.now = datetime(2026, 3, 3, 5, 59, tzinfo=UTC)
    assert await w.run_once() == []
    clock.now = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert [o.status for o in await w.run_once()] == ["sent"]
    assert len(delivery.dms(ANN)) == 2


async def test_trader_settings_override_quiet_hours(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery
) -> None:
    clock = Clock(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))
    await upsert_trader(engine, ANN, at=clock.now, timezone="Europe/Prague")
    await update_settings(engine, ANN, clock.now, quiet_hours_enabled=False)
    await upsert_trader(engine, BOB, at=clock.now, timezone="America/New_York")
    await update_settings(engine, BOB, clock.now, quiet_hours_start="16:00",
                          quiet_hours_end="18:30")
    w = worker(engine, config, delivery, clock)
    a = await w.enqueue(nudge("a", at=clock.now))
    b = await w.enqueue(nudge("b", trader=BOB, at=clock.now))
    out = {o.item_id: o.status for o in await w.run_once()}
    assert out == {a: "sent", b: "deferred"}
    row = await get_outbox_item(engine, b)  # type: ignore[arg-type]
    assert row is not None and row.next_attempt_at == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


def test_quiet_hours_end_pure_cases() -> None:
    prague = ZoneInfo("Europe/Prague")
    start, end = time(22, 30), time(7, 0)
    # after midnight, local 01:00 -> same day 07:00
    assert quiet_hours_end(datetime(2026, 3, 3, 0, 0, tzinfo=UTC), prague, start, end) == \
        datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    # outside
    assert quiet_hours_end(datetime(2026, 3, 3, 12, 0, tzinfo=UTC), prague, start, end) is None
    # start is inclusive, end exclusive
    assert quiet_hours_end(datetime(2026, 3, 2, 21, 30, tzinfo=UTC), prague, start, end) == \
        datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert quiet_hours_end(datetime(2026, 3, 3, 6, 0, tzinfo=UTC), prague, start, end) is None
    # the night clocks go forward (29 March 2026): 07:00 CEST = 05:00 UTC
    assert quiet_hours_end(datetime(2026, 3, 28, 22, 0, tzinfo=UTC), prague, start, end) == \
        datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    # a window inside one day
    assert quiet_hours_end(datetime(2026, 3, 3, 12, 0, tzinfo=UTC), prague,
                           time(12, 0), time(14, 0)) == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    assert quiet_hours_end(datetime(2026, 3, 3, 12, 0, tzinfo=UTC), prague,
                           time(9, 0), time(9, 0)) is None


async def test_retry_with_backoff_then_success(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    delivery.failures = [TransientDeliveryError("HTTP 503"), TransientDeliveryError("HTTP 502")]
    w = worker(engine, config, delivery, clock)
    item = await w.enqueue(nudge("x"))
    assert item is not None
    assert [o.status for o in await w.run_once()] == ["retry"]
    row = await get_outbox_item(engine, item)
    assert row is not None and row.attempts == 1 and row.last_error == "HTTP 503"
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    clock.advance(seconds=29)
    assert await w.run_once() == []
    clock.advance(seconds=1)
    assert [o.status for o in await w.run_once()] == ["retry"]
    row = await get_outbox_item(engine, item)
    assert row is not None and row.next_attempt_at == clock.now + timedelta(seconds=60)
    clock.advance(seconds=60)
    assert [o.status for o in await w.run_once()] == ["sent"]
    row = await get_outbox_item(engine, item)
    assert row is not None and row.status == "sent" and row.attempts == 3
    assert len(delivery.dms(ANN)) == 1


async def test_retry_after_from_discord_is_respected(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    delivery.failures = [TransientDeliveryError("rate limited", retry_after=120.0)]
    w = worker(engine, config, delivery, clock)
    item = await w.enqueue(nudge("x"))
    await w.run_once()
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and row.next_attempt_at == T0 + timedelta(seconds=120)


async def test_gives_up_after_max_attempts(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    delivery.failures = [TransientDeliveryError(f"HTTP 500 #{i}") for i in range(10)]
    w = worker(engine, config, delivery, clock)  # outbox_max_attempts = 3
    item = await w.enqueue(nudge("x"))
    statuses = []
    for _ in range(5):
        statuses += [o.status for o in await w.run_once()]
        clock.advance(hours=1)
    assert statuses == ["retry", "retry", "failed"]
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and row.status == "failed" and row.attempts == 3
    assert row.last_error is not None and row.last_error.startswith("gave up after 3 attempts")
    assert delivery.calls == 3


async def test_permanent_refusal_fails_at_once(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    delivery.failures = [PermanentDeliveryError("HTTP 400 50035: Invalid Form Body")]
    w = worker(engine, config, delivery, clock)
    item = await w.enqueue(nudge("x"))
    assert [o.status for o in await w.run_once()] == ["failed"]
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and row.attempts == 1 and "50035" in (row.last_error or "")


def test_backoff_grows_and_is_capped() -> None:
    base, cap = timedelta(seconds=30), timedelta(minutes=10)
    assert [backoff_delay(a, base, cap).total_seconds() for a in range(1, 7)] == \
        [30, 60, 120, 240, 480, 600]


async def test_no_duplicate_after_restart(
    engine: AsyncEngine, config: PulseConfig, clock: Clock
) -> None:
    first = FakeDelivery()
    w1 = worker(engine, config, first, clock)
    await w1.enqueue(nudge("x"))
    await w1.run_once()
    assert len(first.dms(ANN)) == 1
    # a new worker (a restarted process) on the same database sends nothing again
    second = FakeDelivery()
    w2 = worker(engine, config, second, clock)
    clock.advance(days=1)
    assert await w2.run_once() == []
    assert await w2.enqueue(nudge("x")) is None
    await w2.run_once()
    assert second.sent == []


class Crash(BaseException):
    """The process dies (not an error the worker handles)."""


async def test_crash_between_discord_and_mark_sent_is_not_resent(
    engine: AsyncEngine, config: PulseConfig, clock: Clock
) -> None:
    class AcceptThenDie(FakeDelivery):
        async def send_dm(self, user_id: int, message: OutgoingMessage) -> int:
            await super().send_dm(user_id, message)  # Discord accepted it ...
            raise Crash  # ... and the process died before recording it

    dying = AcceptThenDie()
    w1 = worker(engine, config, dying, clock)
    item = await w1.enqueue(nudge("x"))
    with pytest.raises(Crash):
        await w1.run_once()
    assert len(dying.dms(ANN)) == 1
    restarted = FakeDelivery()
    w2 = worker(engine, config, restarted, clock)
    assert await w2.run_once() == []  # still leased
    clock.advance(minutes=6)  # the lease (5 min) ran out
    out = await w2.run_once()
    assert [o.status for o in out] == ["failed"]
    assert restarted.sent == []
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and row.status == "failed"
    assert (row.last_error or "").startswith("delivery uncertain")


async def test_dms_closed_falls_back_to_the_consenting_coach_channel(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    delivery.closed_dms.add(ANN)
    await grant_consent(engine, ANN, COACH, clock.now, channel_id=555)
    w = worker(engine, config, delivery, clock)
    item = await w.enqueue(nudge("x"))
    out = await w.run_once()
    assert [(o.status, o.to, o.channel_id) for o in out] == [("sent", "coach_channel", 555)]
    sent = delivery.to_channel(555)
    assert len(sent) == 1 and sent[0].message.mention_user_id == ANN
    assert f"<@{ANN}>" in (sent[0].message.content or "")
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None
    assert row.nudge.data["delivery"] == {
        "to": "coach_channel", "channel_id": 555, "dm_closed": True,
        "message_id": sent[0].message_id,
    }


async def test_dms_closed_without_coach_goes_to_the_fallback_channel(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    delivery.closed_dms.add(ANN)
    w = worker(engine, config, delivery, clock)
    item = await w.enqueue(nudge("x"))
    out = await w.run_once()
    assert [(o.status, o.to, o.channel_id) for o in out] == [("sent", "fallback_channel", 777)]
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and row.nudge.data["delivery"]["to"] == "fallback_channel"


async def test_dms_closed_and_nowhere_to_go_is_a_recorded_failure(
    engine: AsyncEngine, delivery: FakeDelivery, clock: Clock
) -> None:
    delivery.closed_dms.add(ANN)
    w = worker(engine, make_config(), delivery, clock)
    item = await w.enqueue(nudge("x"))
    assert [o.status for o in await w.run_once()] == ["failed"]
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and row.nudge.data["delivery"] == {"dm_closed": True}
    assert "no coach or fallback channel" in (row.last_error or "")


async def test_muted_kind_and_dm_preference_are_recorded_suppressions(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    await update_settings(engine, ANN, clock.now, muted_kinds=("fatigue",))
    await update_settings(engine, BOB, clock.now, dm_nudges=False)
    w = worker(engine, config, delivery, clock)
    await w.enqueue(nudge("f", kind="fatigue"))
    await w.enqueue(nudge("b", trader=BOB))
    await w.enqueue(nudge("s", trader=BOB, kind="daily_summary"))  # summaries still go
    rows = {r.nudge.dedupe_key: r for r in await list_outbox(engine)}
    await w.run_once()
    rows = {r.nudge.dedupe_key: r for r in await list_outbox(engine)}
    assert rows["f"].status == "suppressed" and "muted" in (rows["f"].last_error or "")
    assert rows["b"].status == "suppressed" and rows["b"].last_error == "DM nudges turned off"
    assert rows["s"].status == "sent"


async def test_post_trade_prompt_carries_the_reflection_button(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    w = worker(engine, config, delivery, clock)
    await w.enqueue(nudge("p", kind="post_trade_prompt", trade_id="5001-77"))
    await w.run_once()
    view = delivery.dms(ANN)[0].message.view
    assert view is not None and view.timeout is None
    ids = [getattr(c, "custom_id", None) for c in view.children]
    assert ids == [f"{REFLECT_CUSTOM_ID_PREFIX}5001-77"]


async def test_loop_wakes_on_enqueue_and_flush_delivers_the_rest(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    w = worker(engine, config, delivery, clock, poll_interval=60.0)
    w.start()
    try:
        await w.enqueue(nudge("a", kind="tilt"))
        async with asyncio.timeout(5):
            while not delivery.sent:
                await asyncio.sleep(0.01)  # the event woke the loop long before 60 s
    finally:
        await w.stop()
    assert not w.running
    # with the loop stopped, queued rows wait; flush delivers what is due
    await w.enqueue(nudge("b", kind="fatigue"))
    await w.enqueue(nudge("c", kind="revenge"))
    delivery.failures = [TransientDeliveryError("HTTP 503")]  # "b" will wait for a retry
    out = await w.flush(timeout=5)
    assert sorted(o.status for o in out) == ["retry", "sent"]
    assert len(delivery.dms(ANN)) == 2
    pending = await list_outbox(engine, status="pending")
    assert [r.nudge.dedupe_key for r in pending] == ["b"]


async def test_a_nudge_past_its_expiry_is_suppressed_not_sent(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery
) -> None:
    clock = Clock(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))  # 23:00 Prague: quiet hours
    await upsert_trader(engine, ANN, at=clock.now, timezone="Europe/Prague")
    w = worker(engine, config, delivery, clock)
    until = (clock.now + timedelta(minutes=15)).isoformat()
    item = await w.enqueue(nudge("cool", kind="cooling_started", at=clock.now,
                                 expires_at=until))
    assert [o.status for o in await w.run_once()] == ["deferred"]
    clock.now = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert [o.status for o in await w.run_once()] == ["suppressed"]
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and (row.last_error or "").startswith("expired at")
    assert delivery.sent == []


async def test_refused_dms_are_not_retried_for_a_while(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    """Each 403 counts toward Discord's invalid-request limit: after one refusal the
    worker goes straight to the fallback for ``dm_closed_memory``, then asks again."""
    delivery.closed_dms.add(ANN)
    w = worker(engine, config, delivery, clock, dm_closed_memory=timedelta(minutes=30))
    await w.enqueue(nudge("a", kind="tilt"))
    await w.enqueue(nudge("b", kind="fatigue"))
    await w.run_once()
    assert delivery.calls == 3  # one refused DM, two fallback posts
    assert len(delivery.to_channel(777)) == 2
    clock.advance(minutes=31)
    delivery.closed_dms.clear()  # the trader opened their DMs again
    await w.enqueue(nudge("c", kind="revenge", at=clock.now))
    await w.run_once()
    assert len(delivery.dms(ANN)) == 1


async def test_an_unexpected_error_is_recorded_not_retried(
    engine: AsyncEngine, config: PulseConfig, clock: Clock
) -> None:
    class Buggy(FakeDelivery):
        async def send_dm(self, user_id: int, message: OutgoingMessage) -> int:
            raise KeyError("oops")

    w = worker(engine, config, Buggy(), clock)
    item = await w.enqueue(nudge("x"))
    assert [o.status for o in await w.run_once()] == ["failed"]
    row = await get_outbox_item(engine, item)  # type: ignore[arg-type]
    assert row is not None and (row.last_error or "").startswith("unexpected error: KeyError")
    assert "claimed_at" not in row.nudge.data["delivery"]


async def test_two_workers_on_one_database_send_each_row_once(
    engine: AsyncEngine, config: PulseConfig, clock: Clock
) -> None:
    """The claim (a lease moving next_attempt_at) lets only one worker send a row, even
    with two engines (two processes) on the same SQLite file."""
    from storage import open_database

    other_engine = await open_database(str(engine.url))
    try:
        d1, d2 = FakeDelivery(), FakeDelivery()
        w1 = worker(engine, config, d1, clock)
        w2 = worker(other_engine, config, d2, clock)
        for i in range(10):
            await w1.enqueue(nudge(f"k{i}", kind="post_trade_prompt", trade_id=str(i)))
        await asyncio.gather(w1.run_once(), w2.run_once())
        sent = [s.message.view.children[0].custom_id  # type: ignore[union-attr]
                for s in d1.sent + d2.sent]
        assert sorted(sent) == sorted(f"pulse:reflect:{i}" for i in range(10))
        assert len(await list_outbox(engine, status="sent")) == 10
    finally:
        await other_engine.dispose()
