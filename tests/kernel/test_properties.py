"""Property tests of the kernel (hypothesis): the daily limit, determinism, max trades."""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulse.config import RiskLimits, parse_config
from pulse.kernel import CheckEvent, DealEvent, InEvent, PulseKernel, VerdictOut, ViolationOut
from pulse.models import Deal, Side, TradeRequest
from pulse.risk import TradingCalendar
from tests.kernel._streams import PRG, SYMBOLS, t0, trade_deals

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
SYMS = ("EURUSD", "GBPUSD", "USDJPY")

trade_spec = st.tuples(
    st.integers(1, 180),          # minutes since the previous entry
    st.integers(1, 90),           # duration
    st.integers(-2500, 1200),     # net P&L
    st.integers(0, 2),            # symbol
    st.sampled_from((0.5, 1.0, 2.0)),
)


def build(specs: list[tuple[int, int, int, int, float]]) -> list[Deal]:
    deals: list[Deal] = []
    at = t0()
    for i, (gap, dur, net, sym, vol) in enumerate(specs):
        at += timedelta(minutes=gap)
        deals += trade_deals(i + 1, SYMS[sym], at, dur, float(net), vol, buy=i % 2 == 0)
    return deals


def kernel(cfg=None) -> PulseKernel:  # type: ignore[no-untyped-def]
    return PulseKernel(cfg, symbols=SYMBOLS, initial_balance=100_000, trader_tz=PRG)


@SETTINGS
@given(st.lists(trade_spec, min_size=1, max_size=25), st.lists(st.integers(0, 3000), max_size=25))
def test_no_verdict_allows_at_or_beyond_the_daily_limit(specs, check_offsets) -> None:  # type: ignore[no-untyped-def]
    deals = build(specs)
    checks = [
        CheckEvent(t0() + timedelta(minutes=m), TradeRequest(
            time=t0() + timedelta(minutes=m), symbol="EURUSD", side=Side.BUY, volume=0.1,
            price=1.1, sl=1.099))
        for m in check_offsets
    ]
    events: list[InEvent] = [DealEvent(d.time, d) for d in deals]
    events.extend(checks)
    out = kernel().process_many(events)
    cal = TradingCalendar.from_limits(RiskLimits())
    for o in out:
        if not isinstance(o, VerdictOut):
            continue
        _, start, _ = cal.bounds(o.at)
        start_balance = 100_000 + sum(d.net for d in deals if d.time < start)
        realized = sum(d.net for d in deals if start <= d.time <= o.at)
        if -realized >= 0.03 * start_balance:  # independent oracle: at or beyond the limit
            assert not o.verdict.allowed, (o.at, realized, start_balance)
            assert any(r.rule == "daily_loss" for r in o.verdict.rules)


@SETTINGS
@given(st.lists(trade_spec, min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_same_deals_twice_or_shuffled_give_the_same_state_and_outputs(  # type: ignore[no-untyped-def]
    specs, rnd: random.Random
) -> None:
    deals = build(specs)
    ref = kernel()
    ref_out = ref.ingest_deals(deals)
    shuffled = deals + deals[: len(deals) // 2]
    rnd.shuffle(shuffled)
    batch = kernel()
    assert batch.ingest_deals(shuffled) == ref_out
    assert batch.snapshot() == ref.snapshot()
    # One by one, in a shuffled order, with duplicates: the same final state (violations
    # included), and every violation of the ordered run reported. (An emission made while
    # a deal was still missing cannot be taken back, so reported may be a superset.)
    one = kernel()
    seen = []
    for d in shuffled:
        seen += one.process(DealEvent(d.time, d))
    assert one.snapshot() == ref.snapshot()
    reported = {(o.ticket, o.rule) for o in seen if isinstance(o, ViolationOut)}
    assert reported >= {(o.ticket, o.rule) for o in ref_out if isinstance(o, ViolationOut)}


@SETTINGS
@given(st.integers(1, 6), st.lists(st.tuples(st.integers(1, 40), st.integers(-300, 300)),
                                   min_size=1, max_size=14))
def test_entries_beyond_the_daily_maximum_are_always_violations(mx: int, entries) -> None:  # type: ignore[no-untyped-def]
    cfg = parse_config({"risk_limits": {"max_trades_per_day": mx}})
    deals: list[Deal] = []
    at = t0() + timedelta(hours=1)  # 09:00 Prague; at most 14 x 40 min: same trading day
    for i, (gap, net) in enumerate(entries):
        at += timedelta(minutes=gap)
        deals += trade_deals(i + 1, SYMS[i % 3], at, 0.5, float(net))
    out = kernel(cfg).ingest_deals(deals)
    flagged = sorted(
        o.ticket for o in out if isinstance(o, ViolationOut) and o.rule == "max_trades")
    expected = [2 * (i + 1) for i in range(mx, len(entries))]  # entry tickets beyond the max
    assert flagged == expected
