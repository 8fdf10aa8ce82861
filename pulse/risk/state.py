"""Serialisable risk state: the day's anchors, counters and lockouts.

Everything the RiskEnforcer remembers between events lives in :class:`RiskState`, a
plain pydantic model, so it can be saved (``model_dump(mode="json")``), restored
(``RiskState.model_validate``) or rebuilt by replaying stored deals through a fresh
enforcer; the three give the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, TypeAdapter

from pulse.models import RuleId

__all__ = ["Lockout", "OverrideRecord", "RiskState"]


class Lockout(BaseModel):
    """A timed block: cooling period, consecutive-loss break or the day's loss block."""

    model_config = ConfigDict(extra="forbid")

    rule: RuleId
    start: AwareDatetime
    until: AwareDatetime
    trade_id: str | None = None
    loss: float = 0.0
    loss_percent: float = 0.0
    streak: int = 0
    overridden_at: AwareDatetime | None = None
    override_reason: str | None = None
    self_imposed: bool = False  # a break the trader asked for (/break), not a rule's
    reason: str = ""  # why the trader asked for it (self-imposed breaks only)

    def active(self, at: datetime) -> bool:
        return self.start <= at < self.until

    @property
    def overridden(self) -> bool:
        return self.overridden_at is not None


class OverrideRecord(BaseModel):
    """An override request and the answer it got (accepted ones cost behaviour score)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: AwareDatetime
    rule: str
    reason: str
    accepted: bool
    message: str


@dataclass(slots=True)
class RiskState:
    """The enforcer's memory (see the module docstring).

    A plain dataclass, not a pydantic model: it is written on every fill and snapshot, and
    pydantic's attribute hook would cost more than the rules. Validation and JSON go
    through a pydantic ``TypeAdapter`` (``model_dump`` / ``model_validate`` below).

    Day anchors exclude cash: ``deposits_today`` (deposits, withdrawals, credit, bonus) and
    ``booked_today`` (realised trade net, commissions, charges) count every such deal of
    the day, also one a snapshot already held. ``balance_confirmed``: a snapshot has been
    seen, so ``balance`` is the broker's, not a guess. ``anchor_confirmed``: the day's
    anchors rest on such a balance; until then the day's first snapshot re-derives them
    (``anchor_at`` = that snapshot's time, so a later-arriving deal it held moves them).
    The drawdown floor's reference excludes cash the same way: ``cash_total`` shifts the
    static reference, and each cash deal shifts ``peak_balance`` / ``peak_equity``.
    """

    day: date | None = None
    day_start: AwareDatetime | None = None
    day_end: AwareDatetime | None = None
    initial_balance: float | None = None
    balance: float | None = None
    floating: float = 0.0
    snapshot_at: AwareDatetime | None = None
    first_snapshot_at: AwareDatetime | None = None  # when a snapshot first showed the balance
    traded: bool = False  # a trade deal has been seen (cash before it funds the account)
    snapshot_positions: list[int] = field(default_factory=list)
    day_start_balance: float | None = None
    day_start_equity: float | None = None
    deposits_today: float = 0.0
    booked_today: float = 0.0
    balance_confirmed: bool = False
    anchor_confirmed: bool = False
    anchor_at: AwareDatetime | None = None
    peak_balance: float | None = None
    peak_equity: float | None = None
    cash_total: float = 0.0  # net deposits/withdrawals/credit/bonus since the initial balance
    entries_today: int = 0
    consecutive_losses: int = 0
    daily_warned: bool = False
    drawdown_warned: bool = False
    drawdown_hit: bool = False
    cooling: Lockout | None = None
    brk: Lockout | None = None
    pause: Lockout | None = None  # the trader's own break (/break), a cooling_period
    daily_block: Lockout | None = None
    overrides_today: list[OverrideRecord] = field(default_factory=list)

    def model_dump(self, mode: Literal["json", "python"] = "json") -> dict[str, Any]:
        """JSON-safe (``mode="json"``) or Python dict of the state."""
        out: dict[str, Any] = _ADAPTER.dump_python(self, mode=mode)
        return out

    @classmethod
    def model_validate(cls, data: Any) -> RiskState:
        """Validate a dict (as from ``model_dump``) back into a state."""
        return _ADAPTER.validate_python(data)


_ADAPTER: TypeAdapter[RiskState] = TypeAdapter(RiskState)
