"""Typed configuration: the one source of truth for every rule and threshold.

``config.yaml`` mirrors :class:`PulseConfig`'s defaults; a missing file means the embedded
defaults. ``${VAR}`` (or ``${VAR:-fallback}``) in a string expands from the environment.
Secrets (Discord token, MT5 password) are never read from the file: :class:`Secrets`
takes them from the environment only. Problems are reported as :class:`ConfigError`
with one line per problem naming the key path, the value and what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Mapping
from datetime import time as dtime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "AnalysisConfig",
    "BehavioralConfig",
    "ConfigError",
    "ConfluenceWeights",
    "DiscordConfig",
    "FeedsConfig",
    "JournalConfig",
    "MonitoringConfig",
    "PositionBreakdownConfig",
    "PulseConfig",
    "RiskLimits",
    "Secrets",
    "StorageConfig",
    "SystemConfig",
    "TraderConfig",
    "deep_merge",
    "load_config",
    "parse_config",
]

SECRET_KEYS = frozenset({"token", "discord_token", "password", "mt5_password", "api_token"})
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ConfigError(Exception):
    """A config (file or mapping) that cannot be used; ``problems`` has one line each."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _check_hhmm(v: str) -> str:
    if not _HHMM.match(v):
        raise ValueError(f"must be a time HH:MM (00:00-23:59), got {v!r}")
    return v


def _check_tz(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA timezone such as Europe/Prague, got {v!r}") from None
    return v


def _from_sexagesimal(v: Any) -> Any:
    """YAML 1.1 reads an unquoted ``21:30`` as the integer 1290; turn it back into text."""
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return f"{v // 60:02d}:{v % 60:02d}"
    return v


HHMM = Annotated[str, BeforeValidator(_from_sexagesimal), AfterValidator(_check_hhmm)]
TZName = Annotated[str, AfterValidator(_check_tz)]


def hhmm_to_time(v: str) -> dtime:
    """``"21:30"`` -> ``time(21, 30)``; the string was validated when the config loaded."""
    hours, minutes = v.split(":")
    return dtime(int(hours), int(minutes))


# --------------------------------------------------------------------------- sections


class SystemConfig(_Section):
    name: str = "Zanalytics Pulse"
    environment: Literal["development", "production", "test"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    currency: str = "USD"


class RiskLimits(_Section):
    """DESIGN.md section 3: every risk rule with its default."""

    daily_loss_percent: float = Field(default=3.0, gt=0, le=100)
    daily_loss_limit: float | None = Field(default=None, gt=0)
    daily_loss_anchor: Literal["balance", "equity", "max"] = "balance"
    daily_loss_base: Literal["initial", "day_start"] = "day_start"
    daily_loss_warn_percent: float = Field(default=80.0, gt=0, lt=100)
    day_reset: HHMM = "00:00"
    day_reset_timezone: TZName = "Europe/Prague"
    initial_balance: float | None = Field(default=None, gt=0)
    max_drawdown_percent: float | None = Field(default=None, gt=0, le=100)
    max_drawdown_limit: float | None = Field(default=None, gt=0)
    max_drawdown_mode: Literal["static", "trailing_balance", "trailing_equity"] = "static"
    max_trades_per_day: int = Field(default=5, ge=1)
    cooling_period_minutes: int = Field(default=15, ge=0)
    cooling_trigger_loss_percent: float = Field(default=1.0, gt=0)
    max_position_size: float = Field(default=2.0, gt=0, le=100)
    require_stop_loss: bool = True
    max_consecutive_losses: int = Field(default=3, ge=1)
    consecutive_loss_break_minutes: int = Field(default=30, ge=0)


class BehaviorDeductions(_Section):
    revenge: int = Field(default=30, ge=0, le=100)
    tilt: int = Field(default=25, ge=0, le=100)
    overconfidence: int = Field(default=20, ge=0, le=100)
    fatigue: int = Field(default=15, ge=0, le=100)
    overtrading: int = Field(default=0, ge=0, le=100)
    override: int = Field(default=10, ge=0, le=100)
    violation: int = Field(default=10, ge=0, le=100)


class BehavioralConfig(_Section):
    """DESIGN.md section 4: behaviour flags, score deductions and state thresholds."""

    revenge_trade_window: int = Field(default=30, ge=1, description="minutes after a loss")
    revenge_trade_threshold: int = Field(default=3, ge=2)
    revenge_size_multiplier: float = Field(default=1.25, gt=1)
    overconfidence_size_multiplier: float = Field(default=1.4, gt=1)
    overconfidence_win_streak: int = Field(default=3, ge=1)
    fatigue_hour: int = Field(default=22, ge=0, le=23)
    fatigue_morning_hour: int = Field(default=6, ge=0, le=23)
    optimal_hours: list[str] | None = Field(
        default=None, description='local windows like "08:00-12:00"; entries outside = fatigue'
    )
    overtrading_max_entries: int = Field(default=4, ge=1)
    overtrading_window_minutes: int = Field(default=15, ge=1)
    tilt_min_signals: int = Field(default=2, ge=1, le=4)
    tilt_consecutive_losses: int = Field(default=2, ge=1)
    tilt_revenge_lookback_minutes: int = Field(default=60, ge=1)
    tilt_rising_size_entries: int = Field(default=3, ge=2)
    tilt_daily_loss_used_percent: float = Field(default=50.0, gt=0, le=100)
    baseline_entries: int = Field(default=20, ge=1)
    baseline_min_entries: int = Field(default=3, ge=1)
    win_streak_nudge: int = Field(default=3, ge=2)
    deductions: BehaviorDeductions = BehaviorDeductions()
    green_threshold: int = Field(default=80, ge=0, le=100)
    yellow_threshold: int = Field(default=50, ge=0, le=100)

    @field_validator("optimal_hours")
    @classmethod
    def _windows(cls, v: list[str] | None) -> list[str] | None:
        for w in v or []:
            parts = w.split("-")
            if len(parts) != 2 or not all(_HHMM.match(p.strip()) for p in parts):
                raise ValueError(f'each window must look like "08:00-12:00", got {w!r}')
        return v

    @model_validator(mode="after")
    def _thresholds(self) -> BehavioralConfig:
        if self.yellow_threshold > self.green_threshold:
            raise ValueError(
                f"yellow_threshold ({self.yellow_threshold}) must be <= green_threshold "
                f"({self.green_threshold})"
            )
        return self


class PositionBreakdownConfig(_Section):
    """DESIGN.md section 5: micro-entries gated by rising confluence."""

    enabled: bool = True
    default_splits: int = Field(default=5, ge=1, le=20)
    min_confluence_per_entry: float = Field(default=60.0, ge=0, le=100)
    scale_in_increment: float = Field(default=5.0, ge=0, le=40)


class Weights(_Section):
    smc: float = Field(default=0.4, ge=0)
    wyckoff: float = Field(default=0.3, ge=0)
    technical: float = Field(default=0.3, ge=0)

    @model_validator(mode="after")
    def _positive(self) -> Weights:
        if self.smc + self.wyckoff + self.technical <= 0:
            raise ValueError("weights must not all be 0 (they are normalised to sum to 1)")
        return self


class ConfluenceWeights(Weights):
    """Component weights (normalised to sum 1), overridable per symbol."""

    per_symbol: dict[str, Weights] = Field(default_factory=dict)

    @field_validator("per_symbol")
    @classmethod
    def _one_entry_per_symbol(cls, v: dict[str, Weights]) -> dict[str, Weights]:
        seen: dict[str, str] = {}
        for name in v:
            other = seen.setdefault(name.upper(), name)
            if other != name:
                raise ValueError(f"{other!r} and {name!r} name the same symbol; keep one")
        return v

    def for_symbol(self, symbol: str | None) -> tuple[float, float, float]:
        """Normalised (smc, wyckoff, technical) weights for ``symbol`` (any case)."""
        w: Weights = self
        if symbol and self.per_symbol:
            key = symbol.upper()
            w = next((x for k, x in self.per_symbol.items() if k.upper() == key), self)
        total = w.smc + w.wyckoff + w.technical
        return (w.smc / total, w.wyckoff / total, w.technical / total)


def _check_below(section: BaseModel, *pairs: tuple[str, str]) -> None:
    """Raise one error listing every (low, high) field pair where low is not below high."""
    bad = [
        f"{lo} ({getattr(section, lo):g}) must be below {hi} ({getattr(section, hi):g})"
        for lo, hi in pairs
        if not getattr(section, lo) < getattr(section, hi)
    ]
    if bad:
        raise ValueError("; ".join(bad))


class SMCParams(_Section):
    swing_length: int = Field(default=5, ge=1, description="internal structure fractal")
    structure_swing_length: int = Field(default=50, ge=2)
    atr_period: int = Field(default=14, ge=2)
    ob_atr_period: int = Field(default=200, ge=2)
    ob_max_range_atr: float = Field(default=2.0, gt=0)
    equal_level_atr: float = Field(default=0.1, gt=0)
    displacement_atr: float = Field(default=1.5, gt=0)
    zone_touch_atr: float = Field(default=0.25, ge=0, description="retest tolerance")
    zone_max_age_bars: int = Field(default=100, ge=1, description="zones older are ignored")


class WyckoffParams(_Section):
    volume_z_window: int = Field(default=20, ge=5)
    range_window: int = Field(default=50, ge=10)
    climax_volume_z: float = Field(default=2.5, gt=0)
    sos_volume_z: float = Field(default=1.5, gt=0)
    st_volume_ratio: float = Field(default=0.7, gt=0, le=1)
    ar_min_retrace: float = Field(default=0.4, gt=0, lt=1)
    ar_max_retrace: float = Field(default=0.7, gt=0, le=1)
    ar_max_bars: int = Field(default=15, ge=2)
    spring_confirm_bars: int = Field(default=3, ge=1)
    atr_period: int = Field(default=14, ge=2)
    climax_range_atr: float = Field(default=1.5, gt=0, description="wide climax bar")
    climax_close_position: float = Field(default=0.35, gt=0, lt=1)
    test_tolerance_atr: float = Field(default=0.5, ge=0, description="ST / break band")
    max_range_bars: int = Field(default=200, ge=10, description="range expires unbroken")

    @model_validator(mode="after")
    def _ordered(self) -> WyckoffParams:
        _check_below(self, ("ar_min_retrace", "ar_max_retrace"))
        return self


class TechnicalParams(_Section):
    rsi_period: int = Field(default=14, ge=2)
    rsi_oversold: float = Field(default=30.0, gt=0, lt=100)
    rsi_overbought: float = Field(default=70.0, gt=0, lt=100)
    macd_fast: int = Field(default=12, ge=2)
    macd_slow: int = Field(default=26, ge=3)
    macd_signal: int = Field(default=9, ge=2)
    bb_period: int = Field(default=20, ge=2)
    bb_std: float = Field(default=2.0, gt=0)
    ema_fast: int = Field(default=20, ge=2)
    ema_slow: int = Field(default=50, ge=3)
    atr_period: int = Field(default=14, ge=2)
    volume_sma: int = Field(default=20, ge=2)
    signal_bars: int = Field(default=5, ge=1, description="a cross counts this many bars")
    volume_spike: float = Field(default=1.5, gt=1, description="x volume SMA")

    @model_validator(mode="after")
    def _ordered(self) -> TechnicalParams:
        _check_below(
            self, ("rsi_oversold", "rsi_overbought"), ("macd_fast", "macd_slow"),
            ("ema_fast", "ema_slow"),
        )
        return self


class AnalysisConfig(_Section):
    """DESIGN.md section 6 parameters (starting points of section 11)."""

    smc: SMCParams = SMCParams()
    wyckoff: WyckoffParams = WyckoffParams()
    technical: TechnicalParams = TechnicalParams()
    recency_bars: int = Field(default=30, ge=1, description="events older than this fade out")
    window_bars: int = Field(default=500, ge=50, description="bars scored per symbol")
    grade_high: float = Field(default=80.0, ge=0, le=100)
    grade_medium: float = Field(default=60.0, ge=0, le=100)
    grade_low: float = Field(default=40.0, ge=0, le=100)

    @model_validator(mode="after")
    def _grades(self) -> AnalysisConfig:
        if not self.grade_high >= self.grade_medium >= self.grade_low:
            raise ValueError(
                f"grades must be ordered grade_high ({self.grade_high:g}) >= grade_medium "
                f"({self.grade_medium:g}) >= grade_low ({self.grade_low:g})"
            )
        return self


class JournalConfig(_Section):
    pre_trade_prompt: bool = True
    post_trade_prompt: bool = True
    insight_min_trades: int = Field(default=5, ge=1)
    setup_memory_min_tries: int = Field(default=2, ge=1)
    post_loss_window_minutes: int = Field(default=30, ge=1)
    high_confidence: int = Field(default=7, ge=1, le=10)
    entry_link_minutes: int = Field(
        default=15, ge=1, description="a pre-trade entry belongs to a trade opened this soon after"
    )
    insight_lookback_days: int = Field(
        default=90, ge=7, description="history the weekly summary's insights are drawn from"
    )


class QuietHours(_Section):
    start: HHMM = "22:30"
    end: HHMM = "07:00"


class DiscordConfig(_Section):
    dev_guild_id: int | None = Field(
        default=None, description="sync commands here while developing"
    )
    coach_channel_id: int | None = None
    fallback_channel_id: int | None = Field(
        default=None, description="when a trader's DMs are closed"
    )
    dm_nudges: bool = True
    nudge_rate_limit_seconds: int = Field(default=300, ge=0, description="per trader and kind")
    quiet_hours: QuietHours | None = QuietHours()
    daily_summary_time: HHMM = "21:00"
    weekly_summary_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "sun"
    weekly_summary_time: HHMM = "18:00"
    outbox_max_attempts: int = Field(default=8, ge=1)


class StorageConfig(_Section):
    url: str = "sqlite+aiosqlite:///pulse.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be an async SQLAlchemy URL: sqlite+aiosqlite:///path.db or "
                f"postgresql+asyncpg://user@host/db, got {v!r}"
            )
        return v


TIMEFRAMES = (
    "M1",
    "M2",
    "M3",
    "M4",
    "M5",
    "M6",
    "M10",
    "M12",
    "M15",
    "M20",
    "M30",
    "H1",
    "H2",
    "H3",
    "H4",
    "H6",
    "H8",
    "H12",
    "D1",
    "W1",
    "MN1",
)


class MT5Config(_Section):
    enabled: bool = False
    path: str | None = Field(default=None, description="terminal64.exe; None = the default one")
    login: int | None = None
    server: str | None = None
    timeout_ms: int = Field(default=60_000, ge=1000)
    server_utc_offset_hours: float | None = Field(
        default=None, ge=-12, le=14, description="None = detect from the terminal's tick times"
    )


class BridgeConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=18812, ge=1, le=65535)


class WatchlistConfig(_Section):
    symbols: list[str] = Field(default_factory=lambda: ["EURUSD", "GBPUSD", "XAUUSD"])
    timeframes: list[str] = Field(default_factory=lambda: ["M15", "H1"])

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        for s in v:
            if not re.fullmatch(r"[A-Za-z0-9._#+\-]{1,32}", s):
                raise ValueError(f"symbol names are letters, digits and ._#+- only, got {s!r}")
        return v

    @field_validator("timeframes")
    @classmethod
    def _timeframes(cls, v: list[str]) -> list[str]:
        for tf in v:
            if tf not in TIMEFRAMES:
                raise ValueError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {tf!r}")
        return v


class FeedsConfig(_Section):
    mt5: MT5Config = MT5Config()
    bridge: BridgeConfig = BridgeConfig()
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=3600)
    history_overlap_minutes: int = Field(default=60, ge=1)
    backoff_initial_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=60.0, gt=0)
    bars_count: int = Field(default=500, ge=50, le=100_000)
    # polls between watchlist bar fetches (scores, MAE/MFE); 0 = never; None = ~once a minute
    bars_every_polls: int | None = Field(default=None, ge=0)
    watchlist: WatchlistConfig = WatchlistConfig()


class TraderConfig(_Section):
    discord_user_id: int = Field(ge=1)
    name: str = ""
    account_login: int | None = None
    feed: Literal["mt5", "bridge", "replay"] = "replay"
    timezone: TZName = "Europe/Prague"


class MonitoringConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9090, ge=0, le=65535)


class PulseConfig(_Section):
    """The whole config.yaml."""

    system: SystemConfig = SystemConfig()
    risk_limits: RiskLimits = RiskLimits()
    behavioral: BehavioralConfig = BehavioralConfig()
    position_breakdown: PositionBreakdownConfig = PositionBreakdownConfig()
    confluence_weights: ConfluenceWeights = ConfluenceWeights()
    analysis: AnalysisConfig = AnalysisConfig()
    journal: JournalConfig = JournalConfig()
    discord: DiscordConfig = DiscordConfig()
    storage: StorageConfig = StorageConfig()
    feeds: FeedsConfig = FeedsConfig()
    traders: list[TraderConfig] = Field(default_factory=list)
    monitoring: MonitoringConfig = MonitoringConfig()

    @model_validator(mode="after")
    def _unique_traders(self) -> PulseConfig:
        ids = [t.discord_user_id for t in self.traders]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"traders: discord_user_id listed twice: {dupes}")
        return self

    def trader(self, discord_user_id: int) -> TraderConfig | None:
        return next((t for t in self.traders if t.discord_user_id == discord_user_id), None)


class Secrets(BaseModel):
    """Secrets, from the environment only (never config.yaml, never logged)."""

    model_config = ConfigDict(frozen=True)

    discord_token: str | None = Field(default=None, repr=False)
    mt5_password: str | None = Field(default=None, repr=False)
    api_token: str | None = Field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if env is None else env
        return cls(
            discord_token=env.get("DISCORD_TOKEN") or None,
            mt5_password=env.get("MT5_PASSWORD") or None,
            api_token=env.get("PULSE_API_TOKEN") or None,
        )


# --------------------------------------------------------------------------- loading

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(node: Any, env: Mapping[str, str], path: str, problems: list[str]) -> Any:
    """Expand ``${VAR}`` in strings; refuse secrets written into the file."""
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for k, v in node.items():
            sub = f"{path}.{k}" if path else str(k)
            if str(k).lower() in SECRET_KEYS:
                problems.append(
                    f"{sub}: secrets are not read from the config file; set the environment "
                    "variable instead (DISCORD_TOKEN, MT5_PASSWORD, PULSE_API_TOKEN)"
                )
                continue
            out[k] = _expand(v, env, sub, problems)
        return out
    if isinstance(node, list):
        return [_expand(v, env, f"{path}[{i}]", problems) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:

        def repl(m: re.Match[str]) -> str:
            name, fallback = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if fallback is not None:
                return fallback
            problems.append(f"{path}: environment variable {name} is not set (value {node!r})")
            return ""

        expanded = _VAR.sub(repl, node)
        # A whole-value reference becomes a YAML scalar so "${PORT}" can be an int.
        if _VAR.fullmatch(node.strip()):
            try:
                return yaml.safe_load(expanded) if expanded else None
            except yaml.YAMLError:
                return expanded
        return expanded
    return node


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (mappings merge, rest replaces)."""
    out = copy.deepcopy(dict(base))
    for k, v in override.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the keys at ``loc`` (for did-you-mean)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _unwrap(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """The model class inside ``X | None``, ``list[X]`` or ``dict[str, X]``."""
    origin = get_origin(tp)
    if origin is None:
        return tp
    for arg in reversed(get_args(tp)):
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return tp


def _fmt_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(err: Any, root: type[BaseModel]) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    etype = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    where = _fmt_loc(loc)
    if etype == "extra_forbidden":
        key = str(loc[-1])
        parent = _model_at(root, loc[:-1])
        names = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        allowed = f" (allowed: {', '.join(names)})" if names and not close else ""
        return f"{where}: unknown key{hint}{allowed}"
    if etype == "missing":
        return f"{where}: is required"
    bounds = {
        "greater_than_equal": ">= {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "<= {le}",
        "less_than": "< {lt}",
    }
    if etype in bounds:
        return f"{where}: must be {bounds[etype].format(**ctx)}, got {value!r}"
    if etype == "literal_error":
        return f"{where}: must be one of {ctx.get('expected')}, got {value!r}"
    kinds = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "a whole number",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "dict_type": "a mapping of keys to values",
        "model_type": "a mapping of keys to values",
        "model_attributes_type": "a mapping of keys to values",
    }
    if etype in kinds:
        return f"{where}: must be {kinds[etype]}, got {value!r}"
    msg = str(err.get("msg", etype)).removeprefix("Value error, ")
    return f"{where}: {msg}"


def validation_problems(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One readable line per pydantic error (shared by config and replay-script loaders)."""
    return [_describe(e, root) for e in exc.errors()]


def parse_config(
    data: Mapping[str, Any] | None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    source: str = "config",
) -> PulseConfig:
    """Validate a config mapping (as read from YAML), with env expansion and overrides."""
    problems: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            [f"(top level): must be a mapping of sections, got {type(data).__name__}"], source
        )
    expanded = _expand(dict(data), os.environ if env is None else env, "", problems)
    if overrides:
        expanded = deep_merge(
            expanded, _expand(dict(overrides), os.environ if env is None else env, "", problems)
        )
    try:
        cfg = PulseConfig.model_validate(expanded)
    except ValidationError as exc:
        # a key whose ${VAR} was unset is already reported; its empty value's type error
        # would only mislead
        unset = {p.split(": ", 1)[0] for p in problems}
        problems.extend(
            p for p in validation_problems(exc, PulseConfig) if p.split(": ", 1)[0] not in unset
        )
        raise ConfigError(problems, source) from None
    if problems:
        raise ConfigError(problems, source)
    return cfg


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> PulseConfig:
    """Load ``path`` (YAML); ``None`` means the embedded defaults."""
    if path is None:
        return parse_config({}, env=env, overrides=overrides, source="defaults")
    p = Path(path)
    src = str(p)
    try:
        raw = p.read_bytes()
        # Notepad's "Unicode" is UTF-16 with a BOM; everything else must be UTF-8
        bom16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        text = raw.decode("utf-16") if bom16 else raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"file not found: {p} (create it, or omit the path to use defaults)"], src
        ) from None
    except IsADirectoryError:
        raise ConfigError([f"{p} is a directory, not a YAML file"], src) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"not UTF-8 text ({exc.reason} at byte {exc.start})"], src) from None
    except OSError as exc:
        raise ConfigError([f"cannot read {p}: {exc.strerror}"], src) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"not valid YAML{where}: {problem}"], src) from None
    return parse_config(data, env=env, overrides=overrides, source=src)
