"""PulseService.take_break (/break MINUTES): the kernel's self-imposed break, persisted
(lockout row as kind "cooling", nudge in the outbox, kernel state) and told to subscribers."""

from __future__ import annotations

from typing import Any

import pytest

from bot.service import PulseService, ServiceError
from pulse.config import PulseConfig
from pulse.kernel import NudgeOut
from pulse.models import Action
from storage import repo_outbox, repo_risk
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import TRADER, Clock, make_service
from .helpers import account_id, close_buy, open_buy, request


def _cooling(v: Any) -> Any:
    return next((r for r in v.rules if r.rule == "cooling_period"), None)


async def test_take_break_blocks_softly_stores_the_lockout_and_queues_the_nudge(
    service: PulseService, clock: Clock
) -> None:
    told: list[tuple[int, list[Any]]] = []
    service.on_out_events.append(lambda tid, outs: told.append((tid, outs)))
    outs = await service.take_break(TRADER, 20, reason="tired")
    nudges = [o for o in outs if isinstance(o, NudgeOut)]
    assert [n.kind for n in nudges] == ["cooling_started"]
    assert nudges[0].data["self_imposed"] is True and nudges[0].data["minutes"] == 20
    assert told and told[0][0] == TRADER and told[0][1] == outs

    queued = await repo_outbox.list_outbox(service.db)
    assert [i.nudge.kind for i in queued] == ["cooling_started"]
    rows = await repo_risk.list_lockouts(service.db, await account_id(service))
    assert [(r.kind, r.reason) for r in rows] == [("cooling", "self-imposed: tired")]
    assert rows[0].started_at == clock.now
    assert int((rows[0].until - rows[0].started_at).total_seconds()) == 20 * 60

    clock.advance(minutes=5)
    lk = service.status(TRADER).lockout("cooling_period")
    assert lk is not None and lk.self_imposed and lk.overridable and lk.minutes_left == 15
    v = await service.check(TRADER, request(clock))
    rule = _cooling(v)
    assert not v.allowed and rule is not None and rule.action is Action.SOFT_BLOCK
    assert "break" in rule.message


async def test_override_lifts_the_break_and_clears_its_row(
    service: PulseService, clock: Clock
) -> None:
    await service.take_break(TRADER, 30)
    clock.advance(minutes=2)
    rec = await service.override(TRADER, "cooling_period", "planned A setup")
    assert rec.accepted
    assert (await service.check(TRADER, request(clock))).allowed
    acct = await account_id(service)
    assert await repo_risk.active_lockouts(service.db, acct, clock.now) == []
    rows = await repo_risk.list_lockouts(service.db, acct)
    assert len(rows) == 1 and rows[0].cleared_at is not None


async def test_break_survives_a_restart_and_ends_with_one_nudge(
    config: PulseConfig, fake: FakeMetaTrader5, clock: Clock
) -> None:
    first = make_service(config, fake, clock)
    await first.start()
    await first.take_break(TRADER, 30, reason="walk")
    await first.stop()

    clock.advance(minutes=10)
    second = make_service(config, fake, clock)
    await second.start()
    try:
        lk = second.status(TRADER).lockout("cooling_period")
        assert lk is not None and lk.self_imposed and lk.minutes_left == 20
        assert not (await second.check(TRADER, request(clock))).allowed
        rows = await repo_risk.list_lockouts(second.db, await account_id(second))
        assert len(rows) == 1  # no second row for the same break after the restart
        clock.advance(minutes=21)
        await second.poll_once()
        kinds = [i.nudge.kind for i in await repo_outbox.list_outbox(second.db)]
        assert kinds.count("cooling_started") == 1 and kinds.count("cooling_ended") == 1
        assert second.status(TRADER).lockouts == ()
    finally:
        await second.stop()


async def test_a_loss_cooling_and_a_break_are_both_kept(
    service: PulseService, fake: FakeMetaTrader5, clock: Clock
) -> None:
    clock.advance(minutes=1)
    open_buy(fake, clock, 1, 100)
    await service.poll_once()
    clock.advance(minutes=4)
    close_buy(fake, clock, 2, 100, profit=-1500.0)  # a 15-minute loss cooling
    await service.poll_once()
    clock.advance(minutes=1)
    await service.take_break(TRADER, 60)
    st = service.status(TRADER)
    assert sorted(lk.self_imposed for lk in st.lockouts) == [False, True]
    rows = await repo_risk.list_lockouts(service.db, await account_id(service))
    assert sorted(r.reason.startswith("self-imposed") for r in rows) == [False, True]
    assert {r.kind for r in rows} == {"cooling"}


@pytest.mark.parametrize("minutes", [0, -5])
async def test_bad_minutes_become_a_service_error(service: PulseService, minutes: int) -> None:
    with pytest.raises(ServiceError, match="minutes: must be > 0"):
        await service.take_break(TRADER, minutes)
    assert await repo_outbox.list_outbox(service.db) == []
