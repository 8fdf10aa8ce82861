"""Domain models shared by every layer.

Pydantic models with timezone-aware datetimes only (naive times are refused at the
boundary, so no layer ever guesses a timezone). Field names of the MT5-shaped models
mirror the MetaTrader5 package (``TradeDeal``, ``TradePosition``, ``AccountInfo``,
``SymbolInfo``) so feeds convert by name, not by position.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AccountSnapshot",
    "Action",
    "Bar",
    "BehaviorState",
    "Deal",
    "DealEntry",
    "DealType",
    "Driver",
    "JournalEntry",
    "JournalKind",
    "Nudge",
    "NudgeKind",
    "Position",
    "RuleId",
    "RuleResult",
    "Severity",
    "Side",
    "SymbolSpec",
    "Tick",
    "Trade",
    "TradeRequest",
    "Verdict",
]


def to_utc(at: datetime) -> datetime:
    """``at`` in UTC (the same instant). Domain times are kept in UTC: comparing two
    datetimes of one tzinfo is a field compare, while mixed zones cost two UTC-offset
    lookups per comparison; local time is for display only."""
    return at if at.tzinfo is UTC else at.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(to_utc)]
"""An aware datetime, converted to UTC on validation."""


class _Model(BaseModel):
    """Base: frozen value objects, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- enums


class DealType(IntEnum):
    """MT5 ``DEAL_TYPE_*`` constants (values are MT5's)."""

    BUY = 0
    SELL = 1
    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6
    COMMISSION = 7
    COMMISSION_DAILY = 8
    COMMISSION_MONTHLY = 9
    COMMISSION_AGENT_DAILY = 10
    COMMISSION_AGENT_MONTHLY = 11
    INTEREST = 12
    BUY_CANCELED = 13
    SELL_CANCELED = 14
    DIVIDEND = 15
    DIVIDEND_FRANKED = 16
    TAX = 17

    @property
    def is_trade(self) -> bool:
        """Only buy and sell deals move positions; the rest are cash movements."""
        return self is DealType.BUY or self is DealType.SELL


class DealEntry(IntEnum):
    """MT5 ``DEAL_ENTRY_*`` constants."""

    IN = 0
    OUT = 1
    INOUT = 2
    OUT_BY = 3


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @classmethod
    def from_deal_type(cls, deal_type: DealType) -> Side:
        if deal_type is DealType.BUY:
            return cls.BUY
        if deal_type is DealType.SELL:
            return cls.SELL
        raise ValueError(f"deal type {deal_type.name} has no side")


class Action(StrEnum):
    """What a rule asks for, ordered allow < warn < soft_block < hard_block."""

    ALLOW = "allow"
    WARN = "warn"
    SOFT_BLOCK = "soft_block"
    HARD_BLOCK = "hard_block"

    @property
    def rank(self) -> int:
        return _ACTION_RANK[self]

    @property
    def blocks(self) -> bool:
        return self in (Action.SOFT_BLOCK, Action.HARD_BLOCK)

    @staticmethod
    def strongest(actions: list[Action]) -> Action:
        return max(actions, key=lambda a: a.rank, default=Action.ALLOW)


_ACTION_RANK = {Action.ALLOW: 0, Action.WARN: 1, Action.SOFT_BLOCK: 2, Action.HARD_BLOCK: 3}


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class BehaviorState(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


RuleId = Literal[
    "daily_loss",
    "max_drawdown",
    "max_trades",
    "cooling_period",
    "position_size",
    "stop_loss_required",
    "consecutive_losses",
]

FlagId = Literal["revenge", "overconfidence", "fatigue", "overtrading", "tilt"]

NudgeKind = Literal[
    "daily_loss_warning",
    "daily_loss_hit",
    "max_drawdown_warning",
    "max_drawdown_hit",
    "last_trade",
    "max_trades_hit",
    "cooling_started",
    "cooling_ended",
    "break_started",
    "break_ended",
    "revenge",
    "overconfidence",
    "fatigue",
    "overtrading",
    "tilt",
    "win_streak",
    "post_trade_prompt",
    "setup_memory",
    "violation",
    "feed_down",
    "feed_restored",
    "daily_summary",
    "weekly_summary",
    "state_red",
]


class Driver(StrEnum):
    """Why a trade was taken, as the trader says in the pre-trade prompt."""

    STRATEGY = "strategy"
    EMOTION = "emotion"


class JournalKind(StrEnum):
    PRE_TRADE = "pre_trade"
    POST_TRADE = "post_trade"
    NOTE = "note"
    OVERRIDE = "override"


# --------------------------------------------------------------------------- MT5-shaped


class Deal(_Model):
    """One execution, as MT5's ``TradeDeal``; ``time`` is UTC-aware (feeds convert)."""

    ticket: int
    order: int = 0
    time: UtcDatetime
    time_msc: int = 0
    type: DealType
    entry: DealEntry = DealEntry.IN
    magic: int = 0
    position_id: int = 0
    reason: int = 0
    volume: float = Field(default=0.0, ge=0)
    price: float = Field(default=0.0, ge=0)
    commission: float = 0.0
    swap: float = 0.0
    profit: float = 0.0
    fee: float = 0.0
    symbol: str = ""
    comment: str = ""
    external_id: str = ""

    @property
    def net(self) -> float:
        """Profit + commission + swap + fee: this deal's contribution to P&L."""
        return self.profit + self.commission + self.swap + self.fee

    @property
    def is_trade(self) -> bool:
        return self.type.is_trade

    @property
    def sort_key(self) -> tuple[datetime, int, int]:
        """Deterministic order: time, then MT5 millisecond time, then ticket."""
        return (self.time, self.time_msc, self.ticket)


class Position(_Model):
    """An open position, as MT5's ``TradePosition`` (type 0 = buy, 1 = sell)."""

    ticket: int
    time: AwareDatetime
    type: Side
    magic: int = 0
    identifier: int
    volume: float = Field(ge=0)
    price_open: float
    sl: float | None = None
    tp: float | None = None
    price_current: float = 0.0
    swap: float = 0.0
    profit: float = 0.0
    symbol: str
    comment: str = ""

    @field_validator("sl", "tp", mode="before")
    @classmethod
    def _zero_is_none(cls, v: Any) -> Any:
        """MT5 reports an unset stop or target as 0.0."""
        return None if v in (0, 0.0) else v


class AccountSnapshot(_Model):
    """Balance and equity at a moment (subset of MT5's ``AccountInfo``)."""

    time: AwareDatetime
    login: int = 0
    balance: float
    equity: float
    credit: float = 0.0
    profit: float = 0.0
    margin: float = 0.0
    margin_free: float = 0.0
    currency: str = "USD"
    server: str = ""


class Bar(_Model):
    """One OHLCV bar; ``time`` is the bar's open time (UTC-aware)."""

    time: AwareDatetime
    open: float
    high: float
    low: float
    close: float
    tick_volume: float = 0.0
    spread: int = 0
    real_volume: float = 0.0


class Tick(_Model):
    """One tick, as MT5's ``copy_ticks_*`` record."""

    time: AwareDatetime
    bid: float = 0.0
    ask: float = 0.0
    last: float = 0.0
    volume: float = 0.0
    flags: int = 0
    volume_real: float = 0.0


class SymbolSpec(_Model):
    """What sizing needs of a symbol (MT5 ``SymbolInfo`` subset).

    ``tick_value`` is the account-currency value of one ``tick_size`` move for one lot.
    """

    name: str
    tick_size: float = Field(gt=0)
    tick_value: float = Field(gt=0)
    contract_size: float = Field(default=100_000.0, gt=0)
    volume_step: float = Field(default=0.01, gt=0)
    volume_min: float = Field(default=0.01, gt=0)
    volume_max: float = Field(default=100.0, gt=0)
    digits: int = Field(default=5, ge=0)
    currency_profit: str = "USD"


# --------------------------------------------------------------------------- Pulse


class Trade(_Model):
    """One position's round trip, reconstructed from its deals.

    ``trade_id`` is ``"<position_id>"``, or ``"<position_id>.<n>"`` for the n-th leg after
    a netting reversal. Volumes: ``volume`` is the most that was open at once (scale-ins
    add up), ``closed_volume`` what has been closed so far.
    """

    trade_id: str
    position_id: int
    symbol: str
    side: Side
    open_time: UtcDatetime
    close_time: UtcDatetime | None = None
    entry_volume: float = Field(ge=0, description="volume of the opening deal")
    volume: float = Field(ge=0, description="largest open volume (scale-ins included)")
    closed_volume: float = Field(default=0.0, ge=0)
    entry_price: float = Field(description="volume-weighted price of the opening deals")
    exit_price: float | None = Field(default=None, description="volume-weighted exit price")
    profit: float = 0.0
    commission: float = 0.0
    swap: float = 0.0
    fee: float = 0.0
    deal_tickets: tuple[int, ...] = ()
    stop_loss: float | None = None

    @property
    def net_pnl(self) -> float:
        return self.profit + self.commission + self.swap + self.fee

    @property
    def is_open(self) -> bool:
        return self.close_time is None

    @property
    def is_loss(self) -> bool:
        return not self.is_open and self.net_pnl < 0

    @property
    def is_win(self) -> bool:
        return not self.is_open and self.net_pnl > 0

    @property
    def initial_risk(self) -> float | None:
        """Price distance to the stop times volume (in price units), or None without a stop."""
        if self.stop_loss is None:
            return None
        return abs(self.entry_price - self.stop_loss) * self.entry_volume


class TradeRequest(_Model):
    """A trade the trader is about to place, checked before it happens."""

    time: UtcDatetime
    symbol: str
    side: Side
    volume: float = Field(gt=0)
    price: float = Field(gt=0)
    sl: float | None = None
    tp: float | None = None

    @field_validator("sl", "tp", mode="before")
    @classmethod
    def _zero_is_none(cls, v: Any) -> Any:
        return None if v in (0, 0.0) else v


class RuleResult(_Model):
    """What one rule said about a request or a moment."""

    rule: RuleId
    action: Action
    message: str


class Verdict(_Model):
    """The RiskEnforcer's answer: strongest action and every rule that spoke."""

    at: AwareDatetime
    allowed: bool
    action: Action
    rules: tuple[RuleResult, ...] = ()
    request: TradeRequest | None = None
    risk_percent: float | None = None

    @property
    def overridable(self) -> bool:
        """True when the only blocks are soft ones."""
        return self.action is Action.SOFT_BLOCK


class Nudge(_Model):
    """A message Pulse wants the trader to see; ``dedupe_key`` makes delivery idempotent."""

    at: AwareDatetime
    kind: NudgeKind
    severity: Severity = Severity.INFO
    text: str
    dedupe_key: str
    trader_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class JournalEntry(_Model):
    """A journal record: pre-trade prompt, post-trade reflection, free note or override."""

    id: int | None = None
    trader_id: int
    kind: JournalKind
    at: AwareDatetime
    text: str = ""
    confidence: int | None = Field(default=None, ge=1, le=10)
    driver: Driver | None = None
    calendar_checked: bool | None = None
    setup_tag: str | None = None
    symbol: str | None = None
    side: Side | None = None
    what_worked: str | None = None
    emotional_factors: str | None = None
    would_take_again: bool | None = None
    trade_id: str | None = None
    verdict_id: int | None = None
    rule: RuleId | None = None


# --------------------------------------------------------------------------- trusted values

_M = TypeVar("_M", bound=BaseModel)


def trusted_builder(model: type[_M], sample: dict[str, Any]) -> Callable[..., _M]:
    """A builder of frozen ``model`` values from fields that are already valid.

    The kernel builds a Trade per deal and a Verdict per check from values that passed
    validation upstream; validating them again (~5-14 us) or ``model_construct`` (slower
    still) dominated its per-event budget. The fast builder sets pydantic v2's instance
    slots directly (~1-3 us), every field given. It is used only if, for ``sample`` (every
    field), it yields exactly what validation yields (a guard against a pydantic upgrade
    changing its internals); otherwise the builder validates.
    """
    fields = frozenset(model.model_fields)
    all_set: set[str] = set(fields)  # shared: the model is frozen, pydantic copies on change

    def fast(**values: Any) -> _M:
        m = object.__new__(model)
        object.__setattr__(m, "__dict__", values)
        object.__setattr__(m, "__pydantic_fields_set__", all_set)
        object.__setattr__(m, "__pydantic_extra__", None)
        object.__setattr__(m, "__pydantic_private__", None)
        return m

    def validated(**values: Any) -> _M:
        return model.model_validate(values)

    try:
        a, b = fast(**sample), validated(**sample)
        first = next(iter(fields))
        ok = (
            model.model_config.get("frozen") is True
            and set(sample) == fields
            and a == b
            and a.model_dump() == b.model_dump()
            and a.model_copy(update={first: sample[first]}) == b
            and all_set == fields  # the shared set was copied, not changed
        )
    except Exception:
        ok = False
    return fast if ok else validated
