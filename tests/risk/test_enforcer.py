"""RiskEnforcer units: prop-firm variants, drawdown modes, overrides, lockouts, state."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulse.config import RiskLimits
from pulse.models import Action, Deal, DealEntry, DealType, Side, SymbolSpec, Trade, TradeRequest
from pulse.risk import RiskEnforcer, RiskState

PRG = ZoneInfo("Europe/Prague")
EURUSD = SymbolSpec(name="EURUSD", tick_size=0.00001, tick_value=1.0)


def t(h: int, m: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, h, m, tzinfo=PRG)


def enforcer(**limits: object) -> RiskEnforcer:
    e = RiskEnforcer(RiskLimits(**limits), {"EURUSD": EURUSD}, initial_balance=100_000)
    e.advance(t(8))
    return e


def req(at: datetime, volume: float = 1.0, sl: float | None = 1.0830) -> TradeRequest:
    return TradeRequest(time=at, symbol="EURUSD", side=Side.BUY, volume=volume, price=1.0850, sl=sl)


def closed(tid: str, net: float, at: datetime) -> Trade:
    return Trade(trade_id=tid, position_id=int(tid), symbol="EURUSD", side=Side.BUY,
                 open_time=at - timedelta(minutes=5), close_time=at, entry_volume=1.0,
                 volume=1.0, closed_volume=1.0, entry_price=1.085, profit=net)


def rules(e: RiskEnforcer, at: datetime, **kw: object) -> dict[str, Action]:
    return {r.rule: r.action for r in e.check(req(at, **kw)).rules}  # type: ignore[arg-type]


def test_absolute_daily_limit_wins_when_smaller() -> None:
    e = enforcer(daily_loss_percent=3, daily_loss_limit=1000)
    e.on_snapshot(100_000, 99_000, t(9))
    d = e.daily_loss()
    assert d is not None and d.limit == 1000 and d.used_percent == 100
    assert rules(e, t(9, 1))["daily_loss"] is Action.HARD_BLOCK


def test_base_initial_versus_day_start() -> None:
    # day starts at 90,000 after earlier losses; initial balance 100,000
    for base, limit in (("initial", 3000.0), ("day_start", 2700.0)):
        e = RiskEnforcer(RiskLimits(daily_loss_base=base, initial_balance=100_000),
                         {"EURUSD": EURUSD}, initial_balance=90_000)
        e.advance(t(8))
        d = e.daily_loss()
        assert d is not None and d.limit == pytest.approx(limit)


def test_anchor_max_uses_the_higher_of_balance_and_equity_at_the_reset() -> None:
    e = RiskEnforcer(RiskLimits(daily_loss_anchor="max"), {}, initial_balance=100_000)
    e.advance(t(20, 0, day=1))
    e.on_snapshot(100_000, 101_000, t(23, 50, day=1))  # floating profit at the reset
    e.advance(t(0, 1))
    e.on_snapshot(100_000, 99_000, t(9))
    d = e.daily_loss()
    assert d is not None and d.anchor == 101_000 and d.pnl == pytest.approx(-2000)


def test_deposits_do_not_hide_a_loss() -> None:
    e = enforcer()
    e.on_fill(Deal(ticket=1, time=t(9), type=DealType.SELL, entry=DealEntry.OUT,
                   position_id=1, volume=1, price=1.08, profit=-2500, symbol="EURUSD"), set())
    e.on_cash(Deal(ticket=2, time=t(9, 5), type=DealType.BALANCE, profit=5000))
    d = e.daily_loss()
    assert d is not None and d.pnl == pytest.approx(-2500)
    assert rules(e, t(9, 6))["daily_loss"] is Action.WARN  # 83%


@pytest.mark.parametrize(
    ("mode", "floor"),
    [("static", 90_000.0), ("trailing_balance", 94_000.0), ("trailing_equity", 96_000.0)],
)
def test_drawdown_modes(mode: str, floor: float) -> None:
    e = enforcer(max_drawdown_percent=10, max_drawdown_mode=mode, daily_loss_percent=50)
    e.on_snapshot(104_000, 106_000, t(9))  # balance peak 104k, equity peak 106k
    e.on_snapshot(100_000, 100_000, t(10))
    dd = e.drawdown()
    assert dd is not None and dd.floor == floor


def test_drawdown_absolute_limit_and_breach() -> None:
    e = enforcer(max_drawdown_percent=10, max_drawdown_limit=5000, daily_loss_percent=50)
    changes = e.on_snapshot(100_000, 95_000, t(9))
    assert [c.kind for c in changes] == ["drawdown_hit"]
    assert rules(e, t(9, 1))["max_drawdown"] is Action.HARD_BLOCK
    assert e.entry_violations(t(9, 2), new_trade=True)[0].rule == "max_drawdown"


def test_overrides_need_a_reason_and_only_soft_blocks_yield() -> None:
    e = enforcer()
    e.on_trade_closed(closed("1", -1500, t(9)))
    e.on_trade_closed(closed("2", -100, t(9, 1)))
    e.on_trade_closed(closed("3", -100, t(9, 2)))  # 3rd loss: break as well
    assert e.override("cooling_period", "", t(9, 3)).accepted is False
    hard = e.override("consecutive_losses", "A+ setup", t(9, 3))
    assert not hard.accepted and "cannot be overridden" in hard.message
    assert e.override("nonsense", "x", t(9, 3)).accepted is False
    ok = e.override("cooling_period", "A+ setup", t(9, 4))
    assert ok.accepted and e.state.cooling is not None and e.state.cooling.overridden
    assert e.override("cooling_period", "again", t(9, 5)).accepted is False
    assert [r.accepted for r in e.state.overrides_today] == [False, False, False, True, False]
    # the break still blocks while the cooling speaks as a warning only
    r = rules(e, t(9, 6))
    assert r == {"cooling_period": Action.WARN, "consecutive_losses": Action.HARD_BLOCK}


def test_override_without_an_active_cooling_is_refused() -> None:
    rec = enforcer().override("cooling_period", "why not", t(9))
    assert not rec.accepted and "nothing to override" in rec.message


def test_streak_resets_on_breakeven_and_a_further_loss_restarts_the_break() -> None:
    e = enforcer(cooling_trigger_loss_percent=50)
    for i, net in enumerate((-10, -10, 0, -10, -10)):
        e.on_trade_closed(closed(str(i + 1), net, t(9, i)))
    assert e.state.consecutive_losses == 2 and e.state.brk is None
    e.on_trade_closed(closed("6", -10, t(9, 10)))
    assert e.state.brk is not None and e.state.brk.until == t(9, 40)
    e.on_trade_closed(closed("7", -10, t(9, 20)))  # a loss during the break (violation)
    assert e.state.brk.until == t(9, 50) and e.state.brk.streak == 4


def test_disabled_cooling_and_optional_stop() -> None:
    e = enforcer(cooling_period_minutes=0, require_stop_loss=False)
    assert e.on_trade_closed(closed("1", -5000, t(9))) == []
    assert "stop_loss_required" not in rules(e, t(9, 1), sl=None)


def test_unknown_symbol_and_unknown_balance_warn_instead_of_guessing() -> None:
    e = RiskEnforcer(RiskLimits(), {})
    e.advance(t(9))
    v = e.check(req(t(9)))
    assert [(r.rule, r.action) for r in v.rules] == [("position_size", Action.WARN)]
    assert v.allowed


def test_scale_in_is_not_a_new_trade_for_max_trades() -> None:
    e = enforcer(max_trades_per_day=1)
    e.on_entry(t(9))
    assert e.entry_violations(t(9, 5), new_trade=False) == []
    assert [r.rule for r in e.entry_violations(t(9, 5), new_trade=True)] == ["max_trades"]


def test_lockouts_expire_and_the_day_rolls_over() -> None:
    e = enforcer()
    e.on_trade_closed(closed("1", -1500, t(9)))
    assert [c.kind for c in e.advance(t(9, 14))] == []
    assert [c.kind for c in e.advance(t(9, 15))] == ["cooling_ended"]
    e.on_entry(t(10))
    kinds = [c.kind for c in e.advance(t(0, 0, day=3))]
    assert kinds == ["day_end"] and e.state.entries_today == 0


def test_state_round_trips_through_json() -> None:
    e = enforcer()
    e.on_snapshot(100_000, 98_000, t(9))
    e.on_trade_closed(closed("1", -1200, t(9, 30)))
    e.override("cooling_period", "A+ setup", t(9, 31))
    dumped = e.state.model_dump(mode="json")
    again = RiskEnforcer(RiskLimits(), {"EURUSD": EURUSD},
                         state=RiskState.model_validate(dumped))
    assert again.state == e.state
    assert again.check(req(t(9, 32))) == e.check(req(t(9, 32)))


def test_a_close_after_a_snapshot_only_realises_floating_the_snapshot_saw() -> None:
    e = enforcer()
    e.on_snapshot(100_000, 99_500, t(9), open_positions=[1])  # position 1: -500 floating
    # position 2 opened after the snapshot closes at -800: no floating of it in the snapshot
    e.on_fill(Deal(ticket=5, time=t(9, 10), type=DealType.SELL, entry=DealEntry.OUT,
                   position_id=2, volume=1, price=1.08, profit=-800, symbol="EURUSD"), {1})
    assert e.state.floating == -500 and e.equity == 98_700
    # position 1 closes at -600 and nothing is open: equity is the balance, 98,600
    e.on_fill(Deal(ticket=6, time=t(9, 20), type=DealType.SELL, entry=DealEntry.OUT,
                   position_id=1, volume=1, price=1.08, profit=-600, symbol="EURUSD"), set())
    assert e.state.floating == 0 and e.equity == 98_600


def _deposit(ticket: int, at: datetime, amount: float) -> Deal:
    return Deal(ticket=ticket, time=at, type=DealType.BALANCE, profit=amount)


@pytest.mark.parametrize("anchor", ["balance", "equity", "max"])
@pytest.mark.parametrize("base", ["initial", "day_start"])
@pytest.mark.parametrize("late", [False, True])
def test_same_day_deposit_is_cash_for_every_anchor_and_base(
    anchor: str, base: str, late: bool
) -> None:
    # The constructor's balance is the balance *now* (200k, deposit included), as after a
    # restart; the day's first snapshot says 200k. In time order or with the deposit deal
    # arriving after the snapshot, the day starts at 100k and the P&L is 0.
    e = RiskEnforcer(RiskLimits(daily_loss_anchor=anchor, daily_loss_base=base),
                     {"EURUSD": EURUSD}, initial_balance=200_000)
    e.advance(t(8))
    if not late:
        e.on_cash(_deposit(1, t(9), 100_000))
    changes = e.on_snapshot(200_000, 200_000, t(9, 5))
    if late:
        changes += e.on_cash(_deposit(1, t(9), 100_000))
    assert changes == []
    d = e.daily_loss()
    assert d is not None and d.pnl == pytest.approx(0) and d.anchor == pytest.approx(100_000)
    assert d.limit == pytest.approx(3000 if base == "day_start" else 6000)
    # a real loss after it still counts in full
    e.on_snapshot(200_000, 197_600, t(10))
    d = e.daily_loss()
    assert d is not None and d.pnl == pytest.approx(-2400)


def test_account_funded_today_without_a_known_balance() -> None:
    e = RiskEnforcer(RiskLimits(), {"EURUSD": EURUSD})
    e.advance(t(8))
    e.on_cash(_deposit(1, t(9), 50_000))
    e.on_snapshot(50_000, 50_000, t(9, 5))
    d = e.daily_loss()
    assert d is not None and d.pnl == pytest.approx(0)
    assert d.limit == pytest.approx(1500)  # 3% of what was paid in, not 0
    assert "daily_loss" not in rules(e, t(9, 6))


def test_late_trade_deal_held_by_the_anchoring_snapshot_is_the_days_loss() -> None:
    # Snapshot at 09:05 already holds a -2,500 close from 09:00 that arrives afterwards:
    # the re-derived day start must not swallow that loss.
    e = RiskEnforcer(RiskLimits(), {"EURUSD": EURUSD}, initial_balance=150_000)
    e.advance(t(8))
    e.on_snapshot(97_500, 97_500, t(9, 5))
    e.on_fill(Deal(ticket=1, time=t(9), type=DealType.SELL, entry=DealEntry.OUT,
                   position_id=1, volume=1, price=1.08, profit=-2500, symbol="EURUSD"), set())
    d = e.daily_loss()
    assert d is not None and d.anchor == pytest.approx(100_000)
    assert d.pnl == pytest.approx(-2500)


def test_a_snapshot_confirmed_balance_is_not_reanchored_next_day() -> None:
    e = enforcer()
    e.on_snapshot(100_000, 100_000, t(9))
    e.advance(t(8, 0, day=3))
    e.on_snapshot(98_000, 98_000, t(9, 0, day=3))  # a loss the kernel had not seen yet
    d = e.daily_loss()
    assert d is not None and d.anchor == 100_000 and d.pnl == pytest.approx(-2000)


MODES = ["static", "trailing_balance", "trailing_equity"]


def _dd_enforcer(mode: str) -> RiskEnforcer:
    """Peaks 104k balance / 106k equity, then a 20k withdrawal (see the tests below)."""
    e = enforcer(max_drawdown_percent=10, max_drawdown_mode=mode, daily_loss_percent=50)
    e.on_snapshot(104_000, 106_000, t(9))
    return e


@pytest.mark.parametrize(
    ("mode", "floor"),
    [("static", 70_000.0), ("trailing_balance", 74_000.0), ("trailing_equity", 76_000.0)],
)
def test_withdrawal_moves_the_drawdown_floor(mode: str, floor: float) -> None:
    # Old floors 90k / 94k / 96k: equity 86k after the withdrawal breached every one.
    e = _dd_enforcer(mode)
    changes = e.on_cash(_deposit(5, t(9, 30), -20_000))
    dd = e.drawdown()
    assert dd is not None and dd.equity == 86_000 and dd.floor == floor
    assert not dd.breached and "drawdown_hit" not in [c.kind for c in changes]
    assert "max_drawdown" not in rules(e, t(9, 31))
    # A real loss down to the moved floor still breaches.
    changes = e.on_snapshot(84_000, floor, t(10))
    assert [c.kind for c in changes] == ["drawdown_hit"]
    assert rules(e, t(10, 1))["max_drawdown"] is Action.HARD_BLOCK


@pytest.mark.parametrize("mode", MODES)
def test_deposit_raises_the_drawdown_floor(mode: str) -> None:
    # A deposit buys no drawdown room: the floor rises with it, so equity back at the
    # old floor plus the deposit is a breach.
    e = _dd_enforcer(mode)
    e.on_cash(_deposit(5, t(9, 30), 10_000))
    dd = e.drawdown()
    assert dd is not None
    old_floor = {"static": 90_000, "trailing_balance": 94_000, "trailing_equity": 96_000}[mode]
    assert dd.floor == old_floor + 10_000
    e.on_snapshot(114_000, old_floor + 10_000, t(10))
    assert rules(e, t(10, 1))["max_drawdown"] is Action.HARD_BLOCK


@pytest.mark.parametrize("mode", MODES)
def test_withdrawal_a_snapshot_already_held(mode: str) -> None:
    # The snapshot shows the withdrawal before its deal arrives: a transient hit, lifted
    # by the deal (which must not move the balance again).
    e = _dd_enforcer(mode)
    assert [c.kind for c in e.on_snapshot(84_000, 86_000, t(10))] == ["drawdown_hit"]
    e.on_cash(_deposit(5, t(9, 30), -20_000))
    dd = e.drawdown()
    assert dd is not None and dd.equity == 86_000 and not dd.breached
    assert dd.floor == {"static": 70_000, "trailing_balance": 74_000,
                        "trailing_equity": 76_000}[mode]
    assert "max_drawdown" not in rules(e, t(10, 1))


@pytest.mark.parametrize("mode", MODES)
def test_deposit_a_snapshot_already_held_is_not_counted_twice(mode: str) -> None:
    e = enforcer(max_drawdown_percent=10, max_drawdown_mode=mode, daily_loss_percent=50)
    e.on_snapshot(100_000, 100_000, t(9))
    e.on_snapshot(150_000, 150_000, t(10))  # the 50k deposit is in this balance
    e.on_cash(_deposit(5, t(9, 30), 50_000))
    dd = e.drawdown()
    assert dd is not None and dd.equity == 150_000 and dd.floor == 140_000


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("initial", [100_000, None, 0.0])  # 0 counts as unknown
@pytest.mark.parametrize("snapshot_first", [False, True])
def test_a_new_account_s_funding_deposit_is_its_initial_balance(
    mode: str, initial: float | None, snapshot_first: bool
) -> None:
    """An MT5 history starts with the deposit that funded the account. Replayed after a
    restart (the initial balance given or not; the first snapshot before or after the deal
    arrives) it is the initial balance, not cash on top of it: counting it twice put the
    static floor at 190k for a 100k account and hard-blocked its first trade."""
    e = RiskEnforcer(RiskLimits(max_drawdown_percent=10, max_drawdown_mode=mode),
                     {"EURUSD": EURUSD}, initial_balance=initial)
    e.advance(t(8))
    steps = [lambda: e.on_cash(_deposit(1, t(9), 100_000)),
             lambda: e.on_snapshot(100_000, 100_000, t(9, 1))]
    changes = [c for step in (steps[::-1] if snapshot_first else steps) for c in step()]
    assert changes == []
    dd = e.drawdown()
    assert dd is not None and dd.floor == 90_000 and not dd.breached
    d = e.daily_loss()
    assert d is not None and d.pnl == pytest.approx(0)  # the day's cash, not a profit
    assert rules(e, t(9, 2)) == {}
    # Trading has started: a real loss to the floor breaches; a later deposit is cash again.
    e.on_fill(Deal(ticket=2, time=t(9, 30), type=DealType.SELL, entry=DealEntry.OUT,
                   position_id=2, volume=1, price=1.08, profit=-10_000, symbol="EURUSD"), set())
    assert rules(e, t(9, 31))["max_drawdown"] is Action.HARD_BLOCK
    e.on_cash(_deposit(3, t(10), 20_000))
    dd = e.drawdown()
    assert dd is not None and dd.floor == 110_000  # the deposit raises the floor


def test_cash_total_survives_a_state_round_trip() -> None:
    e = _dd_enforcer("static")
    e.on_cash(_deposit(5, t(9, 30), -20_000))
    restored = RiskState.model_validate(e.state.model_dump())
    assert restored.cash_total == -20_000
    assert RiskState.model_validate({k: v for k, v in e.state.model_dump().items()
                                     if k != "cash_total"}).cash_total == 0.0
