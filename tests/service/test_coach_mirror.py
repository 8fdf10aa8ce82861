"""Coach mirrors written by the service itself: a nudge that qualifies gets its coach
copies in the poll's transaction, and a trader turning red is mirrored once (not every
score change while red); the outbox worker then delivers both to the coach's channel."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.coach import RED_STATE_KIND
from bot.outbox import OutboxPolicy, OutboxWorker
from pulse.config import PulseConfig
from storage import repo_outbox
from storage.repo_coach import grant_consent
from tests.fakes.fake_mt5 import FakeMetaTrader5
from tests.outbox.fake_delivery import FakeDelivery

from .conftest import T0, TRADER, Clock, make_config, make_service
from .helpers import close_buy, open_buy

COACH, CHANNEL = 77, 5550


def red_fast(db: Path) -> PulseConfig:
    """Any deduction makes the trader red (thresholds at 100)."""
    return make_config(db, behavioral={"green_threshold": 100, "yellow_threshold": 100},
                       discord={"quiet_hours": None, "nudge_rate_limit_seconds": 0})


async def test_red_state_and_violations_reach_the_coach_without_the_worker_guessing(
    tmp_path: Path, fake: FakeMetaTrader5, clock: Clock
) -> None:
    config = red_fast(tmp_path / "pulse.db")
    svc = make_service(config, fake, clock)
    await svc.start()
    try:
        await grant_consent(svc.db, TRADER, COACH, T0, channel_id=CHANNEL)
        ticket = 1
        for i in range(4):  # losses in a row, re-entering at once: flags, deductions
            open_buy(fake, clock, ticket, 100 + i)
            clock.advance(seconds=30)
            await svc.poll_once()
            close_buy(fake, clock, ticket + 1, 100 + i, profit=-400.0)
            clock.advance(seconds=30)
            await svc.poll_once()
            ticket += 2
        rows = await repo_outbox.list_outbox(svc.db)
        mirrors = [r.nudge for r in rows if "mirror" in r.nudge.data]
        red = [n for n in mirrors if n.kind == RED_STATE_KIND]
        assert len(red) == 1, [n.kind for n in mirrors]  # one turn to red, one mirror
        assert red[0].data["to"] == {"channel_id": CHANNEL}
        assert red[0].data["mirror"]["coach_user_id"] == COACH
        assert red[0].text.startswith("Behaviour score ") and ": red." in red[0].text
        # every trader row that qualifies already has its coach copy, written by the service
        qualifying = [r.nudge for r in rows if "mirror" not in r.nudge.data
                      and r.nudge.kind in ("violation", "tilt", "daily_loss_hit")]
        mirrored_keys = {n.data["mirror"]["source_key"] for n in mirrors}
        assert qualifying and {n.dedupe_key for n in qualifying} <= mirrored_keys

        before = Counter(r.nudge.kind for r in rows)
        delivery = FakeDelivery()
        worker = OutboxWorker(svc.db, config, delivery, clock=clock, policy=OutboxPolicy())
        await worker.run_once()
        coach_sent = delivery.to_channel(CHANNEL)
        assert any("red" in (m.message.embed.description or "") + str(m.message.embed.title)
                   for m in coach_sent if m.message.embed is not None)
        after = Counter(r.nudge.kind for r in await repo_outbox.list_outbox(svc.db))
        assert after == before  # the worker had nothing left to fan out
    finally:
        await svc.stop()
