"""No deal lost or double counted across duplicates, reordering, feed drops and restarts
(DESIGN.md section 10), on seeded random schedules: deals reach the terminal's history
late and out of order, polls overlap, the IPC times out, the feed forgets its cursor and
the process restarts at random points. At the end, storage and the kernel must hold
exactly what one ordered run of the same deals gives, and the outbox every nudge that run
emits, each once."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from bot.service import PulseService
from pulse.kernel import ClockEvent, DealEvent, NudgeOut, PulseKernel
from pulse.models import Deal, DealEntry, DealType
from storage import repo_deals, repo_outbox, repo_risk
from tests.fakes.fake_mt5 import FakeMetaTrader5

from .conftest import T0, TRADER, Clock, make_config, make_service

# Kinds that depend on deals and time only (not on the equity snapshots a live run sees
# at its own poll times): daily-loss warnings and tilt (which reads the daily loss used)
# are left out of the comparison.
COMPARED = {
    "post_trade_prompt", "cooling_started", "cooling_ended", "break_started", "break_ended",
    "violation", "revenge", "win_streak", "setup_memory", "last_trade", "max_trades_hit",
    "overconfidence", "overtrading", "fatigue",
}


def _script(rnd: random.Random) -> list[Deal]:
    deals: list[Deal] = []
    t = T0 + timedelta(minutes=2)
    for k in range(10):
        pos = 500 + k
        profit = rnd.choice([-1500.0, -400.0, -250.0, 300.0, 900.0])
        volume = rnd.choice([0.5, 1.0, 1.0, 2.0])
        deals.append(Deal(ticket=1000 + 2 * k, time=t, time_msc=int(t.timestamp() * 1000),
                          type=DealType.BUY, entry=DealEntry.IN, position_id=pos,
                          volume=volume, price=1.1, symbol="EURUSD"))
        t_out = t + timedelta(minutes=rnd.randint(1, 4))
        deals.append(Deal(ticket=1001 + 2 * k, time=t_out,
                          time_msc=int(t_out.timestamp() * 1000), type=DealType.SELL,
                          entry=DealEntry.OUT, position_id=pos, volume=volume, price=1.1,
                          profit=profit, symbol="EURUSD"))
        t = t_out + timedelta(minutes=rnd.randint(1, 9))
    return deals


def _to_fake(fake: FakeMetaTrader5, d: Deal) -> None:
    fake.add_deal(d.ticket, d.time, type=int(d.type), entry=int(d.entry),
                  position_id=d.position_id, volume=d.volume, price=d.price, profit=d.profit,
                  symbol=d.symbol)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_random_delivery_and_restarts_match_one_ordered_run(
    tmp_path: Path, seed: int
) -> None:
    rnd = random.Random(seed)
    deals = _script(rnd)
    delay = {d.ticket: timedelta(minutes=rnd.choice([0, 0, 1, 2, 3])) for d in deals}
    clock = Clock(T0)
    fake = FakeMetaTrader5(server_offset_hours=2.0, clock=clock)
    # A loss limit out of reach: daily-loss blocks depend on the equity snapshots a live
    # run sees at its own poll times, which one ordered run of the deals cannot have.
    config = make_config(tmp_path / "chaos.db", risk_limits={"daily_loss_percent": 50})
    svc: PulseService = make_service(config, fake, clock)
    await svc.start()
    added: set[int] = set()
    try:
        end = max(d.time for d in deals) + timedelta(minutes=40)
        while clock.now < end:
            clock.advance(minutes=1)
            due = [d for d in deals if d.ticket not in added and d.time + delay[d.ticket]
                   <= clock.now]
            rnd.shuffle(due)  # the history lists them in any order
            for d in due:
                _to_fake(fake, d)
                added.add(d.ticket)
            roll = rnd.random()
            if roll < 0.1:
                fake.fail_next(rnd.randint(1, 3), -10005)
                clock.advance(seconds=10)  # the poll after the backoff
            elif roll < 0.2:
                await svc.stop()
                svc = make_service(config, fake, clock)
                await svc.start()
            elif roll < 0.3:
                svc.sessions[TRADER].feed.reset_cursor(  # type: ignore[attr-defined]
                    clock.now - timedelta(minutes=30))
            await svc.poll_once()
            if rnd.random() < 0.3:
                await svc.poll_once()  # a second overlapping poll in the same minute
        await svc.stop()  # and a last restart: the history catch-up sees everything
        svc = make_service(config, fake, clock)
        await svc.start()
        clock.advance(seconds=30)
        await svc.poll_once()

        ref = PulseKernel(config, initial_balance=100_000.0, trader_tz="Europe/Prague",
                          trader_id=TRADER)
        ref_outs = ref.process_many(DealEvent(d.time, d) for d in deals)
        ref_outs += ref.process(ClockEvent(clock.now))
        ref_keys = {o.dedupe_key for o in ref_outs if isinstance(o, NudgeOut)
                    and o.kind in COMPARED}

        acct = svc.sessions[TRADER].account
        assert acct is not None
        stored = await repo_deals.load_deals(svc.db, acct.id)
        assert sorted(d.ticket for d in stored) == sorted(d.ticket for d in deals)
        trades = {t.trade_id: t.net_pnl for t in await repo_deals.load_trades(svc.db, acct.id)}
        assert trades == {t.trade_id: t.net_pnl for t in ref.trades()}
        kernel = svc.kernel(TRADER)
        assert {t.trade_id: t.net_pnl for t in kernel.trades()} == trades
        assert kernel.violations() == ref.violations()
        stored_v = await repo_risk.list_violations(svc.db, acct.id)
        assert sorted((v.ticket, v.rule) for v in stored_v) == ref.violations()

        items = await repo_outbox.list_outbox(svc.db, trader_id=TRADER)
        keys = [i.nudge.dedupe_key for i in items]
        assert len(keys) == len(set(keys))
        live = {i.nudge.dedupe_key for i in items if i.nudge.kind in COMPARED}
        # Every nudge of the ordered run, once; more only where a live run had to speak
        # before a late deal arrived (an emission cannot be taken back).
        assert ref_keys <= live
        per_trade = [k for k in keys if ":post_trade_prompt:" in k]
        assert len(per_trade) == len(ref.trades())
    finally:
        await svc.stop()
