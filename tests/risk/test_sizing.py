"""Sizing: risk % of a request, lots for a target risk, the breakdown plan."""

from __future__ import annotations

import math

import pytest

from pulse.config import PositionBreakdownConfig
from pulse.models import SymbolSpec
from pulse.sizing import floor_to_step, lots_for_risk, plan_breakdown, risk_amount, risk_percent

EURUSD = SymbolSpec(name="EURUSD", tick_size=0.00001, tick_value=1.0)
XAUUSD = SymbolSpec(name="XAUUSD", tick_size=0.01, tick_value=1.0, contract_size=100,
                    volume_step=0.01, volume_min=0.01, digits=2)
CFG = PositionBreakdownConfig()


def test_risk_of_a_request() -> None:
    # 1 lot, 20 pips = 200 ticks of 0.00001 ... 0.0020 / 0.00001 = 200 ticks x 1.0 = 200 USD
    assert risk_amount(1.0, 1.0850, 1.0830, EURUSD) == pytest.approx(200.0)
    assert risk_percent(1.0, 1.0850, 1.0830, EURUSD, 100_000) == pytest.approx(0.2)
    # gold: 1 lot, 10 USD stop = 1000 ticks x 1.0 = 1,000 USD = 2% of 50,000
    assert risk_percent(1.0, 2000.0, 1990.0, XAUUSD, 50_000) == pytest.approx(2.0)
    assert risk_percent(1.0, 2000.0, 1990.0, XAUUSD, 0) == math.inf


def test_floor_to_step_is_tolerant_of_float_noise() -> None:
    assert floor_to_step(0.3, 0.1) == 0.3  # 0.3 / 0.1 = 2.9999999999999996
    assert floor_to_step(1.239, 0.01) == 1.23
    assert floor_to_step(-1.0, 0.01) == 0.0


def test_lots_for_risk_rounds_down_and_caps() -> None:
    assert lots_for_risk(2.0, 1.0850, 1.0830, EURUSD, 100_000) == 10.0
    assert lots_for_risk(1.0, 1.0850, 1.0833, EURUSD, 100_000) == 5.88  # 5.882...
    assert lots_for_risk(50.0, 1.0850, 1.0849, EURUSD, 100_000) == 100.0  # volume_max
    assert lots_for_risk(1.0, 1.0850, 1.0850, EURUSD, 100_000) == 0.0  # no stop distance
    # the rounded-down lots never risk more than asked
    lots = lots_for_risk(0.7, 1.0850, 1.0813, EURUSD, 12_345)
    assert risk_percent(lots, 1.0850, 1.0813, EURUSD, 12_345) <= 0.7


def test_breakdown_slices_and_their_confluence_gates() -> None:
    plan = plan_breakdown(1.0, 1.0850, 1.0830, EURUSD, 100_000, CFG)
    assert [s.lots for s in plan.slices] == [1.0] * 5
    assert [s.min_confluence for s in plan.slices] == [60, 65, 70, 75, 80]
    assert plan.total_risk_percent == pytest.approx(1.0)
    assert plan.notes == ()


def test_breakdown_uses_fewer_slices_below_the_minimum_volume_and_says_so() -> None:
    plan = plan_breakdown(0.05, 1.0850, 1.0830, EURUSD, 10_000, CFG)
    # 0.05% of 10,000 = 5 USD = 0.025 lots -> 0.02; 5 slices of 0.004 are below 0.01
    assert [s.lots for s in plan.slices] == [0.01, 0.01]
    assert "using 2 slices of 0.01 lots" in plan.notes[0]
    assert plan.feasible


def test_breakdown_infeasible_when_one_minimum_lot_is_too_much() -> None:
    plan = plan_breakdown(0.001, 1.0850, 1.0830, EURUSD, 10_000, CFG)
    assert not plan.feasible and plan.total_lots == 0
    assert "0.02%" in plan.notes[0]  # what one minimum lot would risk


def test_breakdown_reports_the_rounding_remainder() -> None:
    plan = plan_breakdown(1.0, 1.0850, 1.0830, EURUSD, 100_300, CFG, splits=4)
    # 1% of 100,300 = 1,003 USD = 5.015 lots -> 5.01; / 4 = 1.2525 -> 1.25 each, 0.01 unused
    assert [s.lots for s in plan.slices] == [1.25] * 4
    assert any("unused" in n for n in plan.notes)
    with pytest.raises(ValueError):
        plan_breakdown(1.0, 1.0850, 1.0830, EURUSD, 100_000, CFG, splits=0)
