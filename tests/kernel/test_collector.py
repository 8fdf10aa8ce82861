"""The kernel pauses the cyclic collector in batches, leaves no cycles behind and always
puts the collector back as it found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from pulse.collector import collector_paused
from pulse.kernel import ClockEvent, DealEvent, EquityEvent, InEvent, PulseKernel
from tests.kernel._streams import SYMBOLS, t0, trade_deals


def long_stream(n: int) -> list[InEvent]:
    """``n`` trades, five a day, alternating losses and wins, a snapshot after each deal."""
    events: list[InEvent] = []
    balance = 100_000.0
    for pos in range(1, n + 1):
        opened = t0() + timedelta(days=pos // 5, minutes=40 * (pos % 5))
        net = -400.0 if pos % 3 else 650.0
        for d in trade_deals(pos, list(SYMBOLS)[pos % 3], opened, 25, net):
            balance += d.net
            events += [DealEvent(d.time, d), EquityEvent(d.time, balance, balance)]
    return events


def kernel() -> PulseKernel:
    return PulseKernel(symbols=SYMBOLS, initial_balance=100_000, trader_tz="Europe/Prague")


@pytest.fixture()
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_pause_nests_and_restores(collector_on: None) -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_pause_leaves_a_disabled_collector_disabled(collector_on: None) -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_pause_is_restored_after_an_error(collector_on: None) -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_pause_is_shared_by_threads(collector_on: None) -> None:
    inside, leave = threading.Event(), threading.Event()

    def worker() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    th = threading.Thread(target=worker)
    th.start()
    inside.wait(5)
    with collector_paused():
        pass
    assert not gc.isenabled()  # the worker's pause outlives this one
    leave.set()
    th.join(5)
    assert gc.isenabled()


def test_batch_restores_the_collector_when_an_event_is_refused(collector_on: None) -> None:
    k = kernel()
    with pytest.raises(AttributeError):
        k.process_many([ClockEvent(t0()), object()])  # type: ignore[list-item]
    assert gc.isenabled()


def test_kernel_batches_build_no_reference_cycles(collector_on: None) -> None:
    """What makes the pause safe: a batch, an export and a restore leave nothing for the
    cyclic collector to find (reference counting frees it all)."""
    events = long_stream(150)
    kernel().process_many(events)  # warm module-level caches first
    gc.collect()
    gc.disable()
    try:
        k = kernel()
        out = k.process_many(events)
        k2 = PulseKernel.restore(k.export_state(), symbols=SYMBOLS,
                                 initial_balance=100_000, trader_tz="Europe/Prague")
        assert len(out) > 150 and k2.trades() == k.trades()
        del k, k2, out
        assert gc.collect() == 0
    finally:
        gc.enable()
