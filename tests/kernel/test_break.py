"""The trader's own /break: a self-imposed cooling period in the kernel (state, restart,
late facts, nudge data)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pulse.config import PulseConfig
from pulse.kernel import (
    BreakEvent,
    CheckEvent,
    ClockEvent,
    DealEvent,
    NudgeOut,
    OverrideEvent,
    PulseKernel,
    ViolationOut,
)
from pulse.models import Deal, DealEntry, DealType, Side, SymbolSpec, TradeRequest

PRG = ZoneInfo("Europe/Prague")
EURUSD = SymbolSpec(name="EURUSD", tick_size=0.00001, tick_value=1.0)
KW = {"symbols": {"EURUSD": EURUSD}, "initial_balance": 100_000.0, "trader_tz": "Europe/Prague",
      "trader_id": 7}


def t(h: int, m: int = 0) -> datetime:
    return datetime(2026, 3, 2, h, m, tzinfo=PRG)


def kernel() -> PulseKernel:
    return PulseKernel(PulseConfig(), **KW)  # type: ignore[arg-type]


def req(at: datetime) -> TradeRequest:
    return TradeRequest(time=at, symbol="EURUSD", side=Side.BUY, volume=1.0, price=1.085,
                        sl=1.083)


def entry(ticket: int, at: datetime) -> DealEvent:
    return DealEvent(at, Deal(ticket=ticket, time=at, type=DealType.BUY, entry=DealEntry.IN,
                              position_id=ticket, volume=1.0, price=1.085, symbol="EURUSD"))


def test_break_nudges_carry_self_imposed_and_a_stable_key() -> None:
    k = kernel()
    out = k.process(BreakEvent(t(14), 20, "tired"))
    n = [o for o in out if isinstance(o, NudgeOut)]
    assert [x.kind for x in n] == ["cooling_started"]
    assert n[0].data["self_imposed"] is True and n[0].data["minutes"] == 20
    assert n[0].dedupe_key == "7:cooling_started:self:20260302T130000"
    assert n[0].nudge.kind == "cooling_started"  # a valid pulse.models.Nudge
    ended = [o for o in k.process(ClockEvent(t(14, 30))) if isinstance(o, NudgeOut)]
    assert [(x.kind, x.at, x.data["self_imposed"]) for x in ended] == [
        ("cooling_ended", t(14, 20), True)]


def test_break_survives_export_restore_but_not_rebuild_from_deals() -> None:
    k = kernel()
    k.process(BreakEvent(t(14), 20))
    blob = k.export_state()
    # Event times are kept in UTC (the same instant as the Prague t(14)).
    assert {"type": "break", "at": t(14), "minutes": 20, "reason": ""} in [
        {kk: datetime.fromisoformat(e[kk]) if kk == "at" else e[kk]
         for kk in ("type", "at", "minutes", "reason")}
        for e in blob["events"] if e["type"] == "break"]
    k2 = PulseKernel.restore(blob, PulseConfig(), **KW)
    assert k2.check(req(t(14, 5))).action.value == "soft_block"
    assert k2.risk_state.pause is not None and k2.risk_state.pause.self_imposed
    # nothing re-emitted on restore; the end is still nudged once
    ends = [o for o in k2.process(ClockEvent(t(14, 21))) if isinstance(o, NudgeOut)]
    assert [o.kind for o in ends] == ["cooling_ended"]
    # deals alone cannot know it: the service must persist the exported log
    k3 = PulseKernel.rebuild([], PulseConfig(), now=t(14, 5), **KW)  # type: ignore[arg-type]
    assert k3.check(req(t(14, 5))).allowed


def test_late_deal_inside_the_break_is_a_violation_after_replay() -> None:
    k = kernel()
    k.process(BreakEvent(t(14), 20))
    k.process(ClockEvent(t(14, 30)))  # the break ended before the deal was seen
    out = k.process(entry(11, t(14, 10)))
    assert [(o.rule, o.ticket) for o in out if isinstance(o, ViolationOut)] == [
        ("cooling_period", 11)]
    assert k.replays == 1


def test_one_override_lifts_a_loss_cooling_and_the_break_together() -> None:
    k = kernel()
    k.process_many([
        entry(11, t(9)),
        DealEvent(t(9, 5), Deal(ticket=12, time=t(9, 5), type=DealType.SELL,
                                entry=DealEntry.OUT, position_id=11, volume=1.0, price=1.07,
                                profit=-1500, symbol="EURUSD")),
        BreakEvent(t(9, 6), 30),
    ])
    v = k.check(req(t(9, 10)))
    assert [(r.rule, r.action.value) for r in v.rules] == [("cooling_period", "soft_block")]
    assert v.rules[0].message.startswith("You asked for a 30-minute break")  # ends last
    k.process(OverrideEvent(t(9, 11), "cooling_period", "planned"))
    v = k.check(req(t(9, 12)))
    assert v.allowed and [r.action.value for r in v.rules] == ["warn"]


def test_break_minutes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="minutes"):
        BreakEvent(t(14), 0)


def test_late_break_request_is_answered_as_of_the_clock() -> None:
    k = kernel()
    k.process(CheckEvent(t(15), req(t(15))))
    out = k.process(BreakEvent(t(14), 10))
    n = next(o for o in out if isinstance(o, NudgeOut))
    assert n.at == t(15) and datetime.fromisoformat(n.data["until"]) == t(15, 10)
    assert k.replays == 0


def test_restored_times_share_one_tzinfo_per_offset_and_keep_their_text() -> None:
    # Restore used to get pydantic TzInfo objects (one per value): every time comparison
    # then looked offsets up on both sides, which made restore several times slower.
    k = kernel()
    k.process_many([entry(11, t(9)), entry(12, t(10)), BreakEvent(t(11), 5)])
    blob = k.export_state()
    k2 = PulseKernel.restore(blob, PulseConfig(), **KW)
    times = [tr.open_time for tr in k2.trades()]
    assert times == [t(9), t(10)]
    assert times[0].tzinfo is times[1].tzinfo
    assert [e["at"] for e in k2.export_state()["events"]] == [e["at"] for e in blob["events"]]
    assert k2.snapshot() == k.snapshot()
