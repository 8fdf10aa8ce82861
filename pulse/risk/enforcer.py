"""RiskEnforcer: the rules table of DESIGN.md section 3, with its state.

One class, one place per rule. The enforcer is fed, in time order, by the kernel:
``advance(at)`` (day rollover, lockout expiry), ``on_snapshot`` (balance/equity),
``on_cash`` (deposits, fees), ``entry_violations`` + ``on_entry`` (a new trade),
``on_fill`` (balance moves of a trade deal), ``on_trade_closed`` (cooling, streaks), and
answers ``check(request)`` with a :class:`~pulse.models.Verdict` and
``override(rule, reason, at)`` with an :class:`OverrideRecord`. State changes that deserve
a nudge come back as :class:`RiskChange` values; wording of nudges is the kernel's job,
wording of rule messages is here (they are part of the verdict).

Equity between snapshots: ``balance + floating`` where ``floating`` is the last
snapshot's ``equity − balance``, reduced by the profit of each closing deal of a position
the snapshot saw open (that floating became realised) and reset to 0 when no position is
open. Without any snapshot this is the realised P&L, as DESIGN.md asks.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pulse.config import RiskLimits
from pulse.models import (
    Action,
    Deal,
    DealEntry,
    DealType,
    RuleId,
    RuleResult,
    SymbolSpec,
    Trade,
    TradeRequest,
    Verdict,
    trusted_builder,
)
from pulse.risk.day import TradingCalendar
from pulse.risk.state import Lockout, OverrideRecord, RiskState
from pulse.sizing import lots_for_risk, risk_percent

__all__ = [
    "HARD_RULES",
    "SOFT_RULES",
    "DailyLoss",
    "Drawdown",
    "RiskChange",
    "RiskEnforcer",
]

SOFT_RULES: frozenset[str] = frozenset({"cooling_period"})
HARD_RULES: frozenset[str] = frozenset(
    {"daily_loss", "max_drawdown", "max_trades", "position_size", "stop_loss_required",
     "consecutive_losses"}
)
_DEPOSIT_TYPES = (DealType.BALANCE, DealType.CREDIT, DealType.BONUS)
_PCT_DECIMALS = 6  # risk % compared after rounding, so 2.0000000001% is 2%


def money(x: float) -> str:
    """``-1207.5`` -> ``"-1,207.50"``."""
    return f"{x:,.2f}"


def pnl(x: float) -> str:
    """Signed money for P&L: ``100`` -> ``"+100.00"``, ``-3.5`` -> ``"-3.50"``."""
    return f"{x:+,.2f}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def minutes_left(at: datetime, until: datetime) -> int:
    """Whole minutes remaining, rounded up (a 30 s remainder is "1 more minute")."""
    return max(0, math.ceil((until - at).total_seconds() / 60.0))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class RiskChange:
    """A state change worth telling the trader about; ``kind`` is a nudge kind."""

    kind: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DailyLoss:
    """Where the day stands against its loss limit (recomputed after every fill and
    snapshot, so a plain slotted class: a frozen dataclass's init costs 3x more)."""

    pnl: float
    anchor: float
    limit: float
    used_percent: float

    @property
    def used(self) -> float:
        return max(0.0, -self.pnl)


@dataclass(frozen=True)
class Drawdown:
    """Equity against the max-drawdown floor."""

    equity: float
    floor: float
    amount: float
    used_percent: float

    @property
    def breached(self) -> bool:
        return self.equity <= self.floor


class RiskEnforcer:
    """Stateful rules table for one trader (see the module docstring)."""

    def __init__(
        self,
        limits: RiskLimits,
        symbols: Mapping[str, SymbolSpec] | None = None,
        *,
        initial_balance: float | None = None,
        display_tz: ZoneInfo | None = None,
        currency: str = "USD",
        state: RiskState | None = None,
    ) -> None:
        self.limits = limits
        self.symbols: dict[str, SymbolSpec] = dict(symbols or {})
        self.calendar = TradingCalendar.from_limits(limits)
        self.display_tz = display_tz or self.calendar.tz
        self.currency = currency
        self.state = state if state is not None else RiskState()
        self._dl_terms_key: tuple[float | None, ...] | None = None
        self._dl_terms = (0.0, 0.0)
        if self.state.initial_balance is None:
            # 0 means unknown, like None (a balance of 0 gives no limit to measure against)
            self.state.initial_balance = limits.initial_balance or initial_balance or None
        if self.state.balance is None and self.state.initial_balance is not None:
            self.state.balance = initial_balance or self.state.initial_balance
            self._peaks()

    # ------------------------------------------------------------------ helpers

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.display_tz).strftime("%H:%M")

    def _reset_text(self) -> str:
        return f"{self.limits.day_reset} {self.limits.day_reset_timezone}"

    @property
    def equity(self) -> float | None:
        s = self.state
        return None if s.balance is None else s.balance + s.floating

    def _peaks(self) -> None:
        s = self.state
        if s.balance is not None:
            s.peak_balance = s.balance if s.peak_balance is None else max(s.peak_balance, s.balance)
            eq = s.balance + s.floating
            s.peak_equity = eq if s.peak_equity is None else max(s.peak_equity, eq)

    # ------------------------------------------------------------------ day and time

    def advance(self, at: datetime) -> list[RiskChange]:
        """Move the clock to ``at``: end expired lockouts, roll the trading day over."""
        s = self.state
        out: list[RiskChange] = []
        if s.cooling is not None and s.cooling.until <= at:
            out.append(RiskChange("cooling_ended", s.cooling.until, {"lockout": s.cooling}))
            s.cooling = None
        if s.brk is not None and s.brk.until <= at:
            out.append(RiskChange("break_ended", s.brk.until, {"lockout": s.brk}))
            s.brk = None
        if s.pause is not None and s.pause.until <= at:
            out.append(RiskChange("cooling_ended", s.pause.until, {"lockout": s.pause}))
            s.pause = None
        if s.day_end is None or at >= s.day_end:
            if s.day is not None and s.day_end is not None:
                out.append(RiskChange("day_end", s.day_end, {"day": s.day}))
            day, start, end = self.calendar.bounds(at)
            s.day, s.day_start, s.day_end = day, start, end
            s.day_start_balance = s.balance
            s.day_start_equity = self.equity
            s.deposits_today = 0.0
            s.booked_today = 0.0
            s.anchor_confirmed = s.balance_confirmed
            s.anchor_at = None
            s.entries_today = 0
            s.daily_warned = False
            s.daily_block = None
            s.overrides_today = []
        out.sort(key=lambda c: c.at)
        return out

    # ------------------------------------------------------------------ money in

    def on_snapshot(
        self, balance: float, equity: float, at: datetime, open_positions: Iterable[int] = ()
    ) -> list[RiskChange]:
        """An account snapshot: the authoritative balance and equity (``open_positions``:
        the position ids whose floating P&L the snapshot's equity includes)."""
        s = self.state
        if s.initial_balance is None:
            s.initial_balance = balance
        s.balance = balance
        s.floating = equity - balance
        s.snapshot_at = at
        if s.first_snapshot_at is None:
            s.first_snapshot_at = at
        s.snapshot_positions = sorted(open_positions)
        s.balance_confirmed = True
        if not s.anchor_confirmed:
            self._reanchor(balance, equity, at)
        self._peaks()
        return self._limits_crossed(at)

    def _reanchor(self, balance: float, equity: float, at: datetime) -> None:
        """The day's first snapshot when the anchors rest on a guess (no snapshot yet, or
        the constructor's ``initial_balance``, which a restarted service sets to the balance
        *now*): the day started at this balance less what the day booked and paid in.

        Both anchors move by the same amount, so a floating P&L assumed at the day's start
        stays; with no anchor at all the snapshot's floating is taken as the start's.
        """
        s = self.state
        start = balance - s.booked_today - s.deposits_today
        if s.day_start_balance is None:
            s.day_start_equity = start + (equity - balance)
        else:
            shift = start - s.day_start_balance
            base_eq = s.day_start_equity if s.day_start_equity is not None else s.day_start_balance
            s.day_start_equity = base_eq + shift
        s.day_start_balance = start
        s.anchor_confirmed = True
        s.anchor_at = at

    def _book(self, deal: Deal, deposit: bool) -> bool:
        """Count a balance-moving deal in the day's cash or booked P&L; True when the
        latest snapshot already holds it (its money must not be added again).

        A deal the anchoring snapshot held moves the anchors too: the snapshot's balance
        had it, but it belongs to the day, not to the day's start."""
        s = self.state
        net = deal.net
        if s.day_start is not None and deal.time >= s.day_start:
            if deposit:
                s.deposits_today += net
            else:
                s.booked_today += net
            if s.anchor_at is not None and deal.time <= s.anchor_at:
                self._lower_day_anchors(net)
        return s.snapshot_at is not None and deal.time <= s.snapshot_at

    def on_cash(self, deal: Deal) -> list[RiskChange]:
        """A balance/credit/fee deal: moves the balance; deposits don't count as P&L."""
        s = self.state
        deposit = deal.type in _DEPOSIT_TYPES
        held = self._book(deal, deposit)
        if deposit and deal.net > 0 and not s.traded and (
                s.first_snapshot_at is None or deal.time <= s.first_snapshot_at):
            return self._fund(deal, held)
        if deposit:
            self._shift_drawdown_reference(deal.net, held)
        if held:
            return self._limits_crossed(deal.time)  # already in the snapshot's balance
        s.balance = (s.balance or 0.0) + deal.net
        self._peaks()
        return self._limits_crossed(deal.time)

    def _fund(self, deal: Deal, held: bool) -> list[RiskChange]:
        """Cash paid in before the first trade and before any snapshot showed a balance
        without it: it makes up the initial balance the drawdown floor starts from (an
        account's history starts with its funding deposit; counting it as cash on top of
        the initial balance doubled the static floor's reference and hard-blocked a new
        account). It is still the day's cash for the daily loss (booked by the caller).

        With no balance known it builds the balance. A balance that is only the initial
        balance given at construction (the account's balance when Pulse met it) is taken
        to hold the deposit already: the balance stays, and the day's anchors, which came
        from that balance, move down by it, as for a deposit the anchoring snapshot held."""
        s = self.state
        if not held:
            if s.balance is None or s.initial_balance is None:
                s.balance = (s.balance or 0.0) + deal.net
                self._peaks()
            elif s.day_start is not None and deal.time >= s.day_start:
                self._lower_day_anchors(deal.net)
        return self._limits_crossed(deal.time)

    def _lower_day_anchors(self, net: float) -> None:
        """Take ``net`` (the day's cash or booked P&L that a balance already held) out of
        the day's start balance and equity, which came from that balance."""
        s = self.state
        if s.day_start_balance is not None:
            s.day_start_balance -= net
        if s.day_start_equity is not None:
            s.day_start_equity -= net

    def _shift_drawdown_reference(self, net: float, held: bool) -> None:
        """Move the drawdown floor's reference with cash (a withdrawal of X lowers it by X,
        a deposit raises it), so cash never counts as drawdown, like the daily loss.

        ``held``: the latest snapshot already holds the deal. A held deposit whose snapshot
        set the peak (peak == the snapshot's value) already lifted it: shifting again would
        count it twice, so that peak stays (at most the deposit too lenient)."""
        s = self.state
        s.cash_total += net
        lifted = held and net > 0  # a held deposit: its snapshot may have set the peak
        if s.peak_balance is not None and not (
            lifted and s.balance is not None and s.peak_balance <= s.balance
        ):
            s.peak_balance += net
        eq = self.equity
        if s.peak_equity is not None and not (lifted and eq is not None and s.peak_equity <= eq):
            s.peak_equity += net

    def on_fill(self, deal: Deal, open_positions: Collection[int]) -> list[RiskChange]:
        """A trade deal moved the balance by its net; floating shrinks by closed profit.

        ``open_positions``: the position ids open after the deal. A deal at or before the
        latest snapshot is already in its balance and equity; only the set of positions the
        snapshot saw is brought up to date (as if the deal had come first)."""
        s = self.state
        s.traded = True
        if self._book(deal, False):
            s.snapshot_positions = sorted(open_positions)
            return self._limits_crossed(deal.time)
        s.balance = (s.balance or 0.0) + deal.net
        if not open_positions:
            s.floating = 0.0
            s.snapshot_positions = []
        elif deal.entry is not DealEntry.IN and deal.position_id in s.snapshot_positions:
            # A close of a position the snapshot saw: that part of the floating is realised.
            # (A position opened after the snapshot had no floating in it: nothing moves.)
            s.floating -= deal.profit
        self._peaks()
        return self._limits_crossed(deal.time)

    # ------------------------------------------------------------------ measures

    def daily_loss(self) -> DailyLoss | None:
        """Day P&L against the limit; None when nothing is known of the balance."""
        s = self.state
        if s.balance is None or s.day_start_balance is None:
            return None
        terms_key = (s.day_start_balance, s.day_start_equity, s.deposits_today,
                     s.initial_balance)
        if self._dl_terms_key != terms_key:  # they move at day start and with cash only
            self._dl_terms_key, self._dl_terms = terms_key, self._anchor_and_limit()
        anchor, limit = self._dl_terms
        pnl = s.balance + s.floating - anchor - s.deposits_today
        used_pct = max(0.0, -pnl) / limit * 100.0 if limit > 0 else 0.0
        return DailyLoss(pnl, anchor, limit, round(used_pct, 6) if used_pct else 0.0)

    def _anchor_and_limit(self) -> tuple[float, float]:
        """The day's loss anchor and limit in money (needs ``day_start_balance``)."""
        s, lim = self.state, self.limits
        assert s.day_start_balance is not None
        start_eq = s.day_start_equity if s.day_start_equity is not None else s.day_start_balance
        mode = lim.daily_loss_anchor
        anchor = (s.day_start_balance if mode == "balance" else start_eq if mode == "equity"
                  else max(s.day_start_balance, start_eq))
        # The anchor excludes the day's cash, and so does a ``day_start`` base (a deposit
        # buys no extra loss room); an account funded today (nothing at its start) takes
        # what was paid in as its base, or the limit would be 0.
        if lim.daily_loss_base == "day_start":
            base = anchor if anchor > 0 else anchor + s.deposits_today
        else:
            base = s.initial_balance or anchor
        limit = base * lim.daily_loss_percent / 100.0
        if lim.daily_loss_limit is not None:
            limit = min(limit, lim.daily_loss_limit)
        return anchor, limit

    def daily_loss_used_percent(self) -> float:
        d = self.daily_loss()
        return 0.0 if d is None else d.used_percent

    def drawdown(self) -> Drawdown | None:
        """Equity against the drawdown floor; None when the rule is off or balance unknown."""
        s, lim = self.state, self.limits
        if lim.max_drawdown_percent is None and lim.max_drawdown_limit is None:
            return None
        eq = self.equity
        if eq is None or s.initial_balance is None:
            return None
        amounts = []
        if lim.max_drawdown_percent is not None:
            amounts.append(s.initial_balance * lim.max_drawdown_percent / 100.0)
        if lim.max_drawdown_limit is not None:
            amounts.append(lim.max_drawdown_limit)
        amount = min(amounts)
        base = {
            "static": s.initial_balance + s.cash_total,
            "trailing_balance": s.peak_balance if s.peak_balance is not None else s.initial_balance,
            "trailing_equity": s.peak_equity if s.peak_equity is not None else s.initial_balance,
        }[lim.max_drawdown_mode]
        floor = base - amount
        used = max(0.0, base - eq) / amount * 100.0
        return Drawdown(equity=eq, floor=floor, amount=amount, used_percent=round(used, 6))

    def _limits_crossed(self, at: datetime) -> list[RiskChange]:
        """Daily-loss warn/hit and drawdown transitions after money moved."""
        s, out = self.state, []
        d = self.daily_loss()
        if d is not None and s.day_end is not None:
            if d.used_percent >= 100.0 and s.daily_block is None:
                s.daily_block = Lockout(
                    rule="daily_loss", start=at, until=s.day_end, loss=-d.used,
                    loss_percent=d.used_percent,
                )
                s.daily_warned = True
                out.append(RiskChange("daily_loss_hit", at, {"daily": d}))
            elif d.used_percent >= self.limits.daily_loss_warn_percent and not s.daily_warned:
                s.daily_warned = True
                out.append(RiskChange("daily_loss_warning", at, {"daily": d}))
        dd = self.drawdown()
        if dd is not None:
            if dd.breached and not s.drawdown_hit:
                s.drawdown_hit = True
                out.append(RiskChange("drawdown_hit", at, {"drawdown": dd}))
            elif not dd.breached:
                s.drawdown_hit = False
                if dd.used_percent >= self.limits.daily_loss_warn_percent and not s.drawdown_warned:
                    s.drawdown_warned = True
                    out.append(RiskChange("drawdown_warning", at, {"drawdown": dd}))
        return out

    # ------------------------------------------------------------------ trades

    def entry_violations(
        self, at: datetime, *, new_trade: bool, symbol: str = "", volume: float = 0.0,
        price: float = 0.0, stop: float | None = None,
    ) -> list[RuleResult]:
        """Rules an entry deal broke at ``at`` (state before the entry is counted)."""
        out: list[RuleResult] = []
        s, lim = self.state, self.limits
        d = self.daily_loss()
        if s.daily_block is not None or (d is not None and d.used_percent >= 100.0):
            out.append(RuleResult(
                rule="daily_loss", action=Action.HARD_BLOCK,
                message="entered after the daily loss limit was reached",
            ))
        dd = self.drawdown()
        if dd is not None and dd.breached:
            out.append(RuleResult(
                rule="max_drawdown", action=Action.HARD_BLOCK,
                message=f"entered with equity {money(dd.equity)} at or below the "
                f"drawdown floor {money(dd.floor)}",
            ))
        if new_trade and s.entries_today >= lim.max_trades_per_day:
            out.append(RuleResult(
                rule="max_trades", action=Action.HARD_BLOCK,
                message=f"{ordinal(s.entries_today + 1)} entry today, the maximum is "
                f"{lim.max_trades_per_day}",
            ))
        if s.cooling is not None and s.cooling.active(at) and not s.cooling.overridden:
            out.append(RuleResult(
                rule="cooling_period", action=Action.SOFT_BLOCK,
                message=f"entered during the cooling period (until "
                f"{self._local(s.cooling.until)}) without an override",
            ))
        elif s.pause is not None and s.pause.active(at) and not s.pause.overridden:
            out.append(RuleResult(
                rule="cooling_period", action=Action.SOFT_BLOCK,
                message=f"entered during the {_break_minutes(s.pause)}-minute break you asked "
                f"for (until {self._local(s.pause.until)}) without an override",
            ))
        if s.brk is not None and s.brk.active(at):
            out.append(RuleResult(
                rule="consecutive_losses", action=Action.HARD_BLOCK,
                message=f"entered during the break after {s.brk.streak} losses in a row "
                f"(until {self._local(s.brk.until)})",
            ))
        spec, bal = self.symbols.get(symbol), s.balance
        if stop is not None and volume > 0 and spec is not None and bal is not None and bal > 0:
            pct = round(risk_percent(volume, price, stop, spec, bal), _PCT_DECIMALS)
            if pct > lim.max_position_size:
                out.append(RuleResult(
                    rule="position_size", action=Action.HARD_BLOCK,
                    message=f"risked {pct:.2f}% of balance, above the "
                    f"{lim.max_position_size:g}% maximum",
                ))
        return out

    def start_break(self, at: datetime, minutes: int, reason: str = "") -> list[RiskChange]:
        """The trader asks for a break of ``minutes`` from ``at`` (/break): a soft block
        under ``cooling_period`` until then. A new request replaces a running one."""
        if minutes <= 0:
            raise ValueError(f"minutes: must be > 0, got {minutes}")
        s = self.state
        s.pause = Lockout(
            rule="cooling_period", start=at, until=at + timedelta(minutes=minutes),
            self_imposed=True, reason=reason.strip(),
        )
        return [RiskChange("cooling_started", at, {"lockout": s.pause})]

    def on_entry(self, at: datetime) -> list[RiskChange]:
        """Count a new trade (opened or reversed) for the day."""
        s, lim = self.state, self.limits
        s.entries_today += 1
        n, mx = s.entries_today, lim.max_trades_per_day
        if n == mx - 1:
            return [RiskChange("last_trade", at, {"entries": n, "max": mx})]
        if n == mx:
            return [RiskChange("max_trades_hit", at, {"entries": n, "max": mx})]
        return []

    def on_trade_closed(self, trade: Trade) -> list[RiskChange]:
        """Streaks, cooling and break after a trade closed."""
        s, lim = self.state, self.limits
        at = trade.close_time
        assert at is not None
        out: list[RiskChange] = []
        net = trade.net_pnl
        if net < 0:
            s.consecutive_losses += 1
        else:
            s.consecutive_losses = 0
            return out
        base = s.day_start_balance or s.balance or 0.0
        loss_pct = -net / base * 100.0 if base > 0 else 0.0
        trigger = round(loss_pct, _PCT_DECIMALS) >= lim.cooling_trigger_loss_percent
        if lim.cooling_period_minutes > 0 and trigger:
            s.cooling = Lockout(
                rule="cooling_period", start=at,
                until=at + timedelta(minutes=lim.cooling_period_minutes),
                trade_id=trade.trade_id, loss=net, loss_percent=loss_pct,
            )
            out.append(RiskChange("cooling_started", at, {"lockout": s.cooling, "trade": trade}))
        streak_hit = s.consecutive_losses >= lim.max_consecutive_losses
        if streak_hit and lim.consecutive_loss_break_minutes > 0:
            s.brk = Lockout(
                rule="consecutive_losses", start=at,
                until=at + timedelta(minutes=lim.consecutive_loss_break_minutes),
                trade_id=trade.trade_id, loss=net, loss_percent=loss_pct,
                streak=s.consecutive_losses,
            )
            out.append(RiskChange("break_started", at, {"lockout": s.brk, "trade": trade}))
        return out

    # ------------------------------------------------------------------ the rules

    def _position_size(self, request: TradeRequest, risk: float | None) -> RuleResult | None:
        """The risk-per-trade rule for a request with a stop; ``risk`` is its
        :meth:`request_risk_percent` (None without a symbol spec or a known balance)."""
        spec = self.symbols.get(request.symbol)
        bal = self.state.balance
        if spec is None:
            return RuleResult(
                rule="position_size", action=Action.WARN,
                message=f"No symbol spec for {request.symbol}: risk per trade not checked.",
            )
        if risk is None or bal is None:
            return RuleResult(
                rule="position_size", action=Action.WARN,
                message="Balance unknown: risk per trade not checked.",
            )
        pct = round(risk, _PCT_DECIMALS)
        mx = self.limits.max_position_size
        if pct > mx:
            assert request.sl is not None  # a risk was computed
            lots = lots_for_risk(mx, request.price, request.sl, spec, bal)
            fix = (
                f" Reduce to {lots:g} lots or less." if lots >= spec.volume_min
                else " Even the minimum lot is too much with this stop: tighten it."
            )
            return RuleResult(
                rule="position_size", action=Action.HARD_BLOCK,
                message=f"This trade risks {pct:.2f}% of balance, above your {mx:g}% maximum.{fix}",
            )
        return None

    def request_risk_percent(self, request: TradeRequest) -> float | None:
        spec = self.symbols.get(request.symbol)
        bal = self.state.balance
        if spec is None or request.sl is None or bal is None or bal <= 0:
            return None
        return risk_percent(request.volume, request.price, request.sl, spec, bal)

    def rules_now(self, at: datetime) -> list[RuleResult]:
        """The rules that speak at ``at`` regardless of the request (lockouts, limits)."""
        s, lim = self.state, self.limits
        out: list[RuleResult] = []
        d = self.daily_loss()
        blk = s.daily_block
        if blk is not None or (d is not None and d.used_percent >= 100.0):
            used = d.used if d is not None else -blk.loss if blk is not None else 0.0
            lim_amt = d.limit if d is not None else 0.0
            if blk is not None and used < lim_amt:
                what = (f"Daily loss limit was reached at {self._local(blk.start)} "
                        f"({money(blk.loss)} {self.currency}); the day is at "
                        f"{money(-used)} now.")
            else:
                what = (f"Daily loss limit reached: -{money(used)} of {money(lim_amt)} "
                        f"{self.currency}.")
            out.append(RuleResult(
                rule="daily_loss", action=Action.HARD_BLOCK,
                message=f"{what} Trading is blocked until the day resets at "
                f"{self._reset_text()}.",
            ))
        elif d is not None and d.used_percent >= lim.daily_loss_warn_percent:
            left = d.limit - d.used
            out.append(RuleResult(
                rule="daily_loss", action=Action.WARN,
                message=f"Daily loss at {d.used_percent:.0f}% of your limit: -{money(d.used)} of "
                f"{money(d.limit)} {self.currency}; {money(left)} left before you're done "
                "for the day.",
            ))
        dd = self.drawdown()
        if dd is not None:
            if dd.breached:
                out.append(RuleResult(
                    rule="max_drawdown", action=Action.HARD_BLOCK,
                    message=f"Equity {money(dd.equity)} is at or below your max-drawdown floor "
                    f"{money(dd.floor)} ({lim.max_drawdown_mode.replace('_', ' ')}). "
                    "Trading is blocked.",
                ))
            elif dd.used_percent >= lim.daily_loss_warn_percent:
                out.append(RuleResult(
                    rule="max_drawdown", action=Action.WARN,
                    message=f"Equity {money(dd.equity)} is {money(dd.equity - dd.floor)} "
                    f"above your max-drawdown floor {money(dd.floor)} "
                    f"({dd.used_percent:.0f}% of the room used).",
                ))
        n, mx = s.entries_today, lim.max_trades_per_day
        if n >= mx:
            out.append(RuleResult(
                rule="max_trades", action=Action.HARD_BLOCK,
                message=f"You've made {n} of {mx} trades today. Trading is blocked until the day "
                f"resets at {self._reset_text()}.",
            ))
        elif n == mx - 1:
            out.append(RuleResult(
                rule="max_trades", action=Action.WARN,
                message=f"This would be your {ordinal(n + 1)} and last trade today "
                f"(max {mx}). Make it count.",
            ))
        c = self._cooling_now(at)
        if c is not None and c.self_imposed:
            mins = minutes_left(at, c.until)
            if c.overridden:
                out.append(RuleResult(
                    rule="cooling_period", action=Action.WARN,
                    message=f"Your break was overridden at {self._local(c.overridden_at or at)} "
                    f"(\"{c.override_reason}\"); it would have ended in {plural(mins, 'minute')}.",
                ))
            else:
                out.append(RuleResult(
                    rule="cooling_period", action=Action.SOFT_BLOCK,
                    message=f"You asked for a {_break_minutes(c)}-minute break, until "
                    f"{self._local(c.until)} — {plural(mins, 'minute')} left.",
                ))
        elif c is not None:
            mins = minutes_left(at, c.until)
            if c.overridden:
                out.append(RuleResult(
                    rule="cooling_period", action=Action.WARN,
                    message=f"Cooling period overridden at {self._local(c.overridden_at or at)} "
                    f"(\"{c.override_reason}\"); it would have ended in {plural(mins, 'minute')}.",
                ))
            else:
                out.append(RuleResult(
                    rule="cooling_period", action=Action.SOFT_BLOCK,
                    message=f"Cooling period active for {plural(mins, 'more minute')} "
                    f"after that -{c.loss_percent:.1f}% loss. Take a breath.",
                ))
        b = s.brk
        if b is not None and b.active(at):
            mins = minutes_left(at, b.until)
            out.append(RuleResult(
                rule="consecutive_losses", action=Action.HARD_BLOCK,
                message=f"{b.streak} losses in a row: break until {self._local(b.until)} "
                f"({plural(mins, 'minute')} left). This one cannot be overridden.",
            ))
        return out

    def check(self, request: TradeRequest) -> Verdict:
        """The pre-trade verdict for ``request`` at ``request.time`` (call ``advance`` first)."""
        rules = self.rules_now(request.time)
        risk = self.request_risk_percent(request)
        if request.sl is None:
            if self.limits.require_stop_loss:
                rules.append(RuleResult(
                    rule="stop_loss_required", action=Action.HARD_BLOCK,
                    message="No stop loss: every trade needs one. Set a stop, then check again.",
                ))
        else:
            pos = self._position_size(request, risk)
            if pos is not None:
                rules.append(pos)
        rules.sort(key=lambda r: _RULE_ORDER[r.rule])
        action = Action.strongest([r.action for r in rules])
        return _make_verdict(  # every value below is already valid
            at=request.time,
            allowed=not action.blocks,
            action=action,
            rules=tuple(rules),
            request=request,
            risk_percent=risk,
        )

    def override(self, rule: str, reason: str, at: datetime) -> OverrideRecord:
        """Lift a soft block with a reason; hard blocks and reasonless requests are refused."""
        s = self.state
        reason = reason.strip()

        def answer(accepted: bool, message: str) -> OverrideRecord:
            rec = OverrideRecord(
                at=at, rule=rule, reason=reason, accepted=accepted, message=message
            )
            s.overrides_today = [*s.overrides_today, rec]
            return rec

        if rule not in _RULE_ORDER:
            return answer(False, f"Unknown rule {rule!r}; rules are {', '.join(_RULE_ORDER)}.")
        if rule in HARD_RULES:
            why = next((r.message for r in self.rules_now(at) if r.rule == rule), "")
            if "cannot be overridden" in why:
                return answer(False, why)
            return answer(False, f"Refused: {rule} is a hard block and cannot be overridden."
                          + (f" {why}" if why else ""))
        c = self._cooling_now(at)
        if c is None:
            return answer(False, "No cooling period is active: nothing to override.")
        what = "your break" if c.self_imposed else "the cooling period"
        if c.overridden:
            when = self._local(c.overridden_at or at)
            return answer(False, f"{what[0].upper()}{what[1:]} was already overridden at {when}.")
        if not reason:
            return answer(
                False, f"An override needs a reason: say why this setup is worth cutting "
                f"{what} short.",
            )
        # One override lifts every cooling-type block that is active (a loss's cooling and
        # the trader's own break): both are the same rule.
        for slot in ("cooling", "pause"):
            lk = getattr(s, slot)
            if lk is not None and lk.active(at) and not lk.overridden:
                setattr(s, slot, lk.model_copy(
                    update={"overridden_at": at, "override_reason": reason}))
        mins = minutes_left(at, c.until)
        head = "Break" if c.self_imposed else "Cooling period"
        return answer(
            True, f"{head} overridden with {plural(mins, 'minute')} left (\"{reason}\"). "
            "Recorded in your journal; it costs behaviour points.",
        )

    def _cooling_now(self, at: datetime) -> Lockout | None:
        """The cooling-type lockout that speaks at ``at``: a loss's cooling or the trader's
        own break, the one not overridden first, then the one that ends last."""
        s = self.state
        live = [lk for lk in (s.cooling, s.pause) if lk is not None and lk.active(at)]
        if not live:
            return None
        if len(live) == 1:
            return live[0]
        return max(live, key=lambda lk: (not lk.overridden, lk.until))

    def active_lockouts(self, at: datetime) -> list[Lockout]:
        s = self.state
        return [lk for lk in (s.daily_block, s.cooling, s.brk, s.pause)
                if lk is not None and lk.active(at)]


def _break_minutes(lk: Lockout) -> int:
    """The length the trader asked for (whole minutes)."""
    return round((lk.until - lk.start).total_seconds() / 60)


_make_verdict = trusted_builder(Verdict, {
    "at": datetime(2026, 1, 1, tzinfo=UTC), "allowed": True, "action": Action.ALLOW,
    "rules": (RuleResult(rule="max_trades", action=Action.WARN, message="m"),),
    "request": TradeRequest(time=datetime(2026, 1, 1, tzinfo=UTC), symbol="X", side="buy",
                            volume=1.0, price=1.0),
    "risk_percent": None,
})  # fmt: skip

_RULE_ORDER: dict[str, int] = {
    r: i
    for i, r in enumerate((
        "daily_loss", "max_drawdown", "max_trades", "cooling_period", "position_size",
        "stop_loss_required", "consecutive_losses",
    ))
}
_ALL_RULES: tuple[RuleId, ...] = (
    "daily_loss", "max_drawdown", "max_trades", "cooling_period", "position_size",
    "stop_loss_required", "consecutive_losses",
)
