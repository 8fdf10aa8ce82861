"""Serialisable risk state: the day's anchors, counters and lockouts.

Everything the RiskEnforcer remembers between events lives in :class:`RiskState`, a
plain pydantic model, so it can be saved (``model_dump(mode="json")``), restored
(``RiskState.model_validate``) or rebuilt by replaying stored deals through a fresh
enforcer; the three give the same state.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict

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


class RiskState(BaseModel):
    """The enforcer's memory (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    day: date | None = None
    day_start: AwareDatetime | None = None
    day_end: AwareDatetime | None = None
    initial_balance: float | None = None
    balance: float | None = None
    floating: float = 0.0
    snapshot_at: AwareDatetime | None = None
    snapshot_positions: list[int] = []
    day_start_balance: float | None = None
    day_start_equity: float | None = None
    deposits_today: float = 0.0
    peak_balance: float | None = None
    peak_equity: float | None = None
    entries_today: int = 0
    consecutive_losses: int = 0
    daily_warned: bool = False
    drawdown_warned: bool = False
    drawdown_hit: bool = False
    cooling: Lockout | None = None
    brk: Lockout | None = None
    daily_block: Lockout | None = None
    overrides_today: list[OverrideRecord] = []
