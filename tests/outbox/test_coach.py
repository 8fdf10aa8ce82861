"""Coach mirroring and the coach permission check, over real storage."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.coach import coach_can_view, mirror_nudges, should_mirror
from bot.outbox import OutboxPolicy, OutboxWorker
from pulse.config import PulseConfig
from pulse.models import Nudge, Severity
from storage.repo_coach import grant_consent, revoke_consent
from storage.repo_outbox import list_outbox
from storage.repo_traders import upsert_trader
from tests.outbox.conftest import T0, Clock, make_config
from tests.outbox.fake_delivery import FakeDelivery

ANN = 1001
BOB = 1002
CORA = 2001  # a coach
DAN = 2002  # another coach
CORA_CHANNEL = 555
SERVER_COACH_CHANNEL = 556


def nudge(key: str, kind: str, trader: int = ANN, **data: object) -> Nudge:
    return Nudge(at=T0, kind=kind, severity=Severity.WARNING, text=f"{kind} text",
                 dedupe_key=key, trader_id=trader, data=dict(data))


def make_worker(engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery,
                clock: Clock) -> OutboxWorker:
    return OutboxWorker(engine, config, delivery, clock=clock, policy=OutboxPolicy())


def test_what_is_mirrored() -> None:
    assert should_mirror(nudge("a", "daily_summary"))
    assert should_mirror(nudge("b", "violation"))
    assert should_mirror(nudge("c", "tilt"))
    assert should_mirror(nudge("d", "daily_loss_hit"))
    assert should_mirror(nudge("e", "revenge", state="red"))
    assert not should_mirror(nudge("f", "revenge", state="yellow"))
    assert not should_mirror(nudge("g", "weekly_summary"))
    assert not should_mirror(nudge("h", "post_trade_prompt", trade_id="1"))


async def test_consenting_traders_summary_goes_to_each_coach_channel(
    engine: AsyncEngine, delivery: FakeDelivery, clock: Clock
) -> None:
    config = make_config(coach_channel_id=SERVER_COACH_CHANNEL)
    await upsert_trader(engine, ANN, at=T0, name="Ann")
    await grant_consent(engine, ANN, CORA, T0, channel_id=CORA_CHANNEL)
    await grant_consent(engine, ANN, DAN, T0)  # no own channel: the server's coach channel
    w = make_worker(engine, config, delivery, clock)
    await w.enqueue(nudge("sum:ann:2026-03-02", "daily_summary"))
    await w.enqueue(nudge("rev:1", "revenge"))  # not mirrored
    await w.enqueue(nudge("sum:bob:2026-03-02", "daily_summary", trader=BOB))  # no consent
    keys = sorted(r.nudge.dedupe_key for r in await list_outbox(engine))
    assert keys == sorted([
        "sum:ann:2026-03-02", f"sum:ann:2026-03-02|coach:{CORA}",
        f"sum:ann:2026-03-02|coach:{DAN}", "rev:1", "sum:bob:2026-03-02",
    ])
    await w.run_once()
    assert len(delivery.dms(ANN)) == 2 and len(delivery.dms(BOB)) == 1
    cora = delivery.to_channel(CORA_CHANNEL)
    dan = delivery.to_channel(SERVER_COACH_CHANNEL)
    assert len(cora) == 1 and len(dan) == 1
    embed = cora[0].message.embed
    assert embed is not None and embed.title == "Ann: Daily summary"
    assert cora[0].message.mention_user_id is None  # a mirror pings nobody
    rows = {r.nudge.dedupe_key: r for r in await list_outbox(engine)}
    mirror = rows[f"sum:ann:2026-03-02|coach:{CORA}"]
    assert mirror.status == "sent"
    assert mirror.nudge.data["delivery"]["to"] == "coach_channel"
    assert mirror.nudge.data["delivery"]["channel_id"] == CORA_CHANNEL


async def test_unshare_stops_queued_mirrors_at_send_time(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    await grant_consent(engine, ANN, CORA, T0, channel_id=CORA_CHANNEL)
    w = make_worker(engine, config, delivery, clock)
    await w.enqueue(nudge("v:1", "violation"))  # mirror queued while consent was active
    await revoke_consent(engine, ANN, clock.advance(seconds=1), coach_user_id=CORA)
    out = await w.run_once()
    assert sorted(o.status for o in out) == ["sent", "suppressed"]
    assert delivery.to_channel(CORA_CHANNEL) == []
    assert len(delivery.dms(ANN)) == 1
    rows = {r.nudge.dedupe_key: r for r in await list_outbox(engine)}
    assert rows[f"v:1|coach:{CORA}"].last_error == "coach consent withdrawn"
    # and nothing new is mirrored after the unshare
    await w.enqueue(nudge("v:2", "violation"))
    assert f"v:2|coach:{CORA}" not in {r.nudge.dedupe_key for r in await list_outbox(engine)}


async def test_mirror_rate_limit_is_separate_from_the_traders(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    await grant_consent(engine, ANN, CORA, T0, channel_id=CORA_CHANNEL)
    w = make_worker(engine, config, delivery, clock)
    await w.enqueue(nudge("t:1", "tilt"))
    await w.run_once()
    await w.enqueue(nudge("t:2", "tilt"))
    out = await w.run_once()
    assert [o.status for o in out] == ["suppressed", "suppressed"]
    assert len(delivery.dms(ANN)) == 1 and len(delivery.to_channel(CORA_CHANNEL)) == 1


async def test_mirrors_without_any_channel_are_not_written(
    engine: AsyncEngine, config: PulseConfig
) -> None:
    await grant_consent(engine, ANN, CORA, T0)  # no channel, and no server coach channel
    assert await mirror_nudges(engine, config, nudge("s", "daily_summary")) == []


async def test_coach_can_view_only_with_active_consent(
    engine: AsyncEngine, clock: Clock
) -> None:
    assert await coach_can_view(engine, ANN, ANN)  # oneself
    assert not await coach_can_view(engine, CORA, ANN)
    await grant_consent(engine, ANN, CORA, T0)
    assert await coach_can_view(engine, CORA, ANN)
    assert not await coach_can_view(engine, DAN, ANN)  # another coach
    assert not await coach_can_view(engine, CORA, BOB)  # another trader
    await revoke_consent(engine, ANN, clock.advance(seconds=1), coach_user_id=CORA)
    assert not await coach_can_view(engine, CORA, ANN)


async def test_rows_written_straight_to_storage_are_mirrored_by_the_worker(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    """The kernel service writes nudges in its own poll transaction (repo_outbox); the
    worker fans out the coach copies when it first handles such a row."""
    from storage.repo_outbox import enqueue_nudge

    await grant_consent(engine, ANN, CORA, T0, channel_id=CORA_CHANNEL)
    await enqueue_nudge(engine, nudge("v:9", "violation"))
    w = make_worker(engine, config, delivery, clock)
    assert [o.status for o in await w.run_once()] == ["sent"]
    assert [o.status for o in await w.run_once()] == ["sent"]  # the mirror, next pass
    assert len(delivery.to_channel(CORA_CHANNEL)) == 1
    assert await w.run_once() == []  # nothing twice
    await w.run_once()
    assert len(delivery.to_channel(CORA_CHANNEL)) == 1 and len(delivery.dms(ANN)) == 1


async def test_red_state_goes_to_coaches_only(
    engine: AsyncEngine, config: PulseConfig, delivery: FakeDelivery, clock: Clock
) -> None:
    from bot.coach import mirror_red_state

    assert await mirror_red_state(engine, config, ANN, T0, 45, ["revenge"]) == []  # no consent
    await upsert_trader(engine, ANN, at=T0, name="Ann")
    await grant_consent(engine, ANN, CORA, T0, channel_id=CORA_CHANNEL)
    ids = await mirror_red_state(engine, config, ANN, T0, 45, ["revenge", "tilt"],
                                 ["-30 revenge", "-25 tilt"])
    assert len(ids) == 1
    w = make_worker(engine, config, delivery, clock)
    assert [o.status for o in await w.run_once()] == ["sent"]
    (sent,) = delivery.to_channel(CORA_CHANNEL)
    assert delivery.dms(ANN) == []
    assert sent.message.embed is not None
    assert sent.message.embed.title == "Ann: Behaviour state red"
    assert sent.message.embed.description == (
        "Behaviour score 45/100: red.\nDeductions: -30 revenge, -25 tilt\nFlags: revenge, tilt")
