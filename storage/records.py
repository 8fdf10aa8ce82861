"""Value objects for stored things that have no model in ``pulse.models``.

Deals, trades, journal entries, verdicts and nudges round-trip as the pulse models
themselves; the records here carry what only storage knows (row ids, delivery status,
consent dates) or per-trader settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pulse.models import Nudge, RuleId

__all__ = [
    "AccountRecord",
    "CoachConsent",
    "Lockout",
    "LockoutKind",
    "OutboxItem",
    "OutboxStatus",
    "OverrideRecord",
    "TraderRecord",
    "TraderSettings",
    "Violation",
]

_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"

OutboxStatus = Literal["pending", "sent", "failed", "suppressed"]
LockoutKind = Literal["cooling", "break", "daily_block"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TraderSettings(BaseModel):
    """A trader's own choices (``/settings``); ``None`` means "the config's default".

    Stored as JSON; unknown keys are ignored when read so an older build can read a newer
    row.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    daily_summary: bool = True
    daily_summary_time: str | None = Field(default=None, pattern=_HHMM)
    weekly_summary: bool = True
    weekly_summary_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None
    weekly_summary_time: str | None = Field(default=None, pattern=_HHMM)
    dm_nudges: bool | None = None
    muted_kinds: tuple[str, ...] = ()
    quiet_hours_enabled: bool | None = None
    quiet_hours_start: str | None = Field(default=None, pattern=_HHMM)
    quiet_hours_end: str | None = Field(default=None, pattern=_HHMM)


class TraderRecord(_Record):
    """A Discord user Pulse coaches; ``id`` is the Discord user id."""

    id: int
    name: str = ""
    timezone: str = "UTC"
    settings: TraderSettings = TraderSettings()
    created_at: AwareDatetime
    updated_at: AwareDatetime


class AccountRecord(_Record):
    """An MT5 account (``login`` on ``server``) and the trader it belongs to."""

    id: int
    login: int
    server: str = ""
    trader_id: int | None = None
    currency: str = "USD"
    initial_balance: float = 0.0
    created_at: AwareDatetime


class OutboxItem(_Record):
    """A nudge in the outbox with its delivery state."""

    id: int
    nudge: Nudge
    status: OutboxStatus
    attempts: int
    next_attempt_at: AwareDatetime
    sent_at: AwareDatetime | None = None
    last_error: str | None = None


class Lockout(_Record):
    """A cooling period, a break, or the day's block; active from ``started_at`` to
    ``until`` unless cleared earlier."""

    id: int | None = None
    account_id: int
    kind: LockoutKind
    started_at: AwareDatetime
    until: AwareDatetime
    reason: str = ""
    cleared_at: AwareDatetime | None = None

    def active_at(self, t: datetime) -> bool:
        """Whether the lockout blocks at ``t`` (started and not yet over or cleared)."""
        end = self.until if self.cleared_at is None else min(self.until, self.cleared_at)
        return self.started_at <= t < end


class OverrideRecord(_Record):
    """A soft block the trader overrode, with their reason."""

    id: int | None = None
    trader_id: int
    account_id: int | None = None
    rule: RuleId
    reason: str
    at: AwareDatetime
    verdict_id: int | None = None


class Violation(_Record):
    """A deal that arrived while the trader was blocked (one per account, rule, deal)."""

    id: int | None = None
    account_id: int
    rule: RuleId
    ticket: int
    at: AwareDatetime
    message: str = ""


class CoachConsent(_Record):
    """A trader's consent to share with a coach (active while ``revoked_at`` is None)."""

    id: int | None = None
    trader_id: int
    coach_user_id: int
    channel_id: int | None = None
    granted_at: AwareDatetime
    revoked_at: AwareDatetime | None = None

    @property
    def active(self) -> bool:
        """Whether the consent still holds (not revoked)."""
        return self.revoked_at is None
