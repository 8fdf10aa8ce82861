"""The RiskEnforcer (DESIGN.md section 3): rules, lockouts, the trading day."""

from pulse.risk.day import TradingCalendar
from pulse.risk.enforcer import (
    HARD_RULES,
    SOFT_RULES,
    DailyLoss,
    Drawdown,
    RiskChange,
    RiskEnforcer,
)
from pulse.risk.state import Lockout, OverrideRecord, RiskState

__all__ = [
    "HARD_RULES",
    "SOFT_RULES",
    "DailyLoss",
    "Drawdown",
    "Lockout",
    "OverrideRecord",
    "RiskChange",
    "RiskEnforcer",
    "RiskState",
    "TradingCalendar",
]
