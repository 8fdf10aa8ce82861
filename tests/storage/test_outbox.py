"""The nudge outbox: dedupe key, due selection, retries, terminal states."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from pulse.models import Nudge, Severity
from storage.repo_outbox import (
    count_by_status,
    due_nudges,
    enqueue_nudge,
    get_outbox_item,
    list_outbox,
    mark_failed,
    mark_sent,
    mark_suppressed,
)
from storage.repo_traders import get_trader

from .conftest import T0


def nudge(key: str, minutes: int = 0, **kw: object) -> Nudge:
    return Nudge.model_validate(
        {
            "at": T0 + timedelta(minutes=minutes),
            "kind": "cooling_started",
            "severity": Severity.WARNING,
            "text": "Cooling period: 15 min",
            "dedupe_key": key,
            "trader_id": 42,
            "data": {"until": "2026-03-02T08:15:00+00:00", "rule": "cooling_period"},
            **kw,
        }
    )


async def test_dedupe_key_queues_once(engine: AsyncEngine) -> None:
    first = await enqueue_nudge(engine, nudge("cool:42:1"))
    assert first is not None
    assert await enqueue_nudge(engine, nudge("cool:42:1", minutes=1, text="again")) is None
    items = await list_outbox(engine, trader_id=42)
    assert len(items) == 1 and items[0].nudge == nudge("cool:42:1")
    assert items[0].nudge.at.tzinfo is not None
    # the trader row was created on the fly, so the nudge was not lost to a missing profile
    assert await get_trader(engine, 42) is not None


async def test_due_retry_and_terminal_states(engine: AsyncEngine) -> None:
    a = await enqueue_nudge(engine, nudge("a"))
    b = await enqueue_nudge(engine, nudge("b", minutes=1))
    c = await enqueue_nudge(engine, nudge("c", minutes=2), not_before=T0 + timedelta(hours=8))
    assert a and b and c
    now = T0 + timedelta(minutes=5)
    assert [i.id for i in await due_nudges(engine, now)] == [a, b]

    assert await mark_sent(engine, a, now)
    assert not await mark_sent(engine, a, now)  # already sent: not pending any more
    assert await mark_failed(engine, b, "HTTP 503", retry_at=now + timedelta(minutes=1))
    assert [i.id for i in await due_nudges(engine, now)] == []
    (item,) = await due_nudges(engine, now + timedelta(minutes=1))
    assert (item.id, item.attempts, item.last_error) == (b, 1, "HTTP 503")
    assert await mark_failed(engine, b, "403 50007", retry_at=None)
    assert await mark_suppressed(engine, c, "quiet hours: stale")

    sent = await get_outbox_item(engine, a)
    assert sent is not None and sent.status == "sent" and sent.sent_at == now
    assert await count_by_status(engine) == {"sent": 1, "failed": 1, "suppressed": 1}
    assert await due_nudges(engine, now + timedelta(days=1)) == []


async def test_nudge_without_trader(engine: AsyncEngine) -> None:
    i = await enqueue_nudge(engine, nudge("feed", kind="feed_down", trader_id=None))
    assert i is not None
    item = await get_outbox_item(engine, i)
    assert item is not None and item.nudge.trader_id is None and item.nudge.kind == "feed_down"
