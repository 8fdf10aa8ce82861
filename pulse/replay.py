"""Replay scripts (DESIGN.md section 8): parse, run through the kernel, render.

A script is a mapping with ``account``, ``symbols``, optional ``config`` (overrides merged
onto the base config) and ``events`` (check / deal / equity / override / break / clock,
each with an aware ``at``; ``break`` is the trader's /break MINUTES). :func:`parse_script`
validates it and raises :class:`ScriptError` with one line per problem naming the event
index and the field; :func:`run_script` drives a
fresh :class:`~pulse.kernel.PulseKernel`; :func:`to_json` renders an out-event as the
JSON-lines contract and :func:`to_text` as a terminal line. Pure: no file or clock access
(the CLI reads the file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pulse.config import ConfigError, PulseConfig, TZName, parse_config, validation_problems
from pulse.kernel import (
    BreakEvent,
    CheckEvent,
    ClockEvent,
    DealEvent,
    EquityEvent,
    InEvent,
    NudgeOut,
    OutEvent,
    OverrideEvent,
    OverrideOut,
    PulseKernel,
    StateOut,
    SummaryOut,
    VerdictOut,
    ViolationOut,
)
from pulse.models import Deal, DealEntry, DealType, Side, SymbolSpec, TradeRequest, to_utc

__all__ = [
    "ReplayScript",
    "ScriptError",
    "parse_script",
    "run_script",
    "to_json",
    "to_json_line",
    "to_text",
]


class ScriptError(Exception):
    """A replay script that cannot run; ``problems`` has one line each."""

    def __init__(self, problems: list[str], source: str = "script") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Account(_M):
    currency: str = "USD"
    initial_balance: float = Field(gt=0)
    timezone: TZName = "Europe/Prague"


class SymbolIn(_M):
    tick_size: float = Field(gt=0)
    tick_value: float = Field(gt=0)
    contract_size: float = Field(default=100_000.0, gt=0)
    volume_step: float = Field(default=0.01, gt=0)
    volume_min: float = Field(default=0.01, gt=0)
    volume_max: float = Field(default=100.0, gt=0)
    digits: int = Field(default=5, ge=0)


class _Ev(_M):
    at: AwareDatetime


class CheckIn(_Ev):
    type: Literal["check"]
    symbol: str
    side: Side
    volume: float = Field(gt=0)
    price: float = Field(gt=0)
    sl: float | None = Field(default=None, ge=0)
    tp: float | None = Field(default=None, ge=0)


_CASH = {"balance": DealType.BALANCE, "credit": DealType.CREDIT, "charge": DealType.CHARGE,
         "commission": DealType.COMMISSION, "bonus": DealType.BONUS}
_ENTRY = {"in": DealEntry.IN, "out": DealEntry.OUT, "inout": DealEntry.INOUT,
          "out_by": DealEntry.OUT_BY}


class DealIn(_Ev):
    type: Literal["deal"]
    ticket: int = Field(ge=1)
    position: int = Field(default=0, ge=0)
    order: int = Field(default=0, ge=0)
    symbol: str = ""
    side: Side | None = None
    cash: Literal["balance", "credit", "charge", "commission", "bonus"] | None = Field(
        default=None, description="a non-trade deal (deposit, fee ...) instead of side"
    )
    entry: Literal["in", "out", "inout", "out_by"] = "in"
    volume: float = Field(default=0.0, ge=0)
    price: float = Field(default=0.0, ge=0)
    profit: float = 0.0
    commission: float = 0.0
    swap: float = 0.0
    fee: float = 0.0
    sl: float | None = Field(default=None, ge=0)
    comment: str = ""

    @model_validator(mode="after")
    def _kind(self) -> DealIn:
        if self.cash is None:
            if self.side is None:
                raise ValueError("side: is required (buy or sell), or cash: for a balance deal")
            if not self.symbol:
                raise ValueError("symbol: is required for a buy/sell deal")
            if self.volume <= 0:
                raise ValueError(f"volume: must be > 0 for a buy/sell deal, got {self.volume}")
            if self.position < 1:
                raise ValueError("position: is required (the MT5 position id, >= 1)")
        elif self.side is not None:
            raise ValueError("give either side (a trade) or cash (a balance deal), not both")
        return self

    def to_deal(self) -> Deal:
        dtype = _CASH[self.cash] if self.cash else (
            DealType.BUY if self.side is Side.BUY else DealType.SELL)
        return Deal(
            ticket=self.ticket, order=self.order, time=self.at, type=dtype,
            entry=_ENTRY[self.entry], position_id=self.position, volume=self.volume,
            price=self.price, profit=self.profit, commission=self.commission, swap=self.swap,
            fee=self.fee, symbol=self.symbol, comment=self.comment,
        )


class EquityIn(_Ev):
    type: Literal["equity"]
    balance: float
    equity: float


class OverrideIn(_Ev):
    type: Literal["override"]
    rule: str
    reason: str = ""


class BreakIn(_Ev):
    type: Literal["break"]
    minutes: int = Field(gt=0, le=24 * 60, description="length of the break the trader asks for")
    reason: str = ""


class ClockIn(_Ev):
    type: Literal["clock"]


_EVENT_MODELS: dict[str, type[_Ev]] = {
    "check": CheckIn, "deal": DealIn, "equity": EquityIn, "override": OverrideIn,
    "break": BreakIn, "clock": ClockIn,
}


class _Top(_M):
    account: Account
    symbols: dict[str, SymbolIn] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]]

    @field_validator("events", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        if not isinstance(v, list):
            raise ValueError(f"must be a list of events, got {type(v).__name__}")
        return v


@dataclass(frozen=True)
class ReplayScript:
    """A validated script: the merged config, the trader's account and the kernel events."""

    config: PulseConfig
    account: Account
    symbols: dict[str, SymbolSpec]
    events: tuple[InEvent, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.account.timezone)

    def kernel(self) -> PulseKernel:
        return PulseKernel(
            self.config, symbols=self.symbols, initial_balance=self.account.initial_balance,
            trader_tz=self.tz, currency=self.account.currency,
        )


def _event_problems(i: int, etype: str, exc: ValidationError, model: type[BaseModel]) -> list[str]:
    out = []
    for line in validation_problems(exc, model):
        line = line.removeprefix("(top level): ")
        if line.startswith("at:") and "timezone" in line.lower():
            line = "at: needs a timezone offset, e.g. 2026-03-02T09:00:00+01:00"
        out.append(f"events[{i}] ({etype}): {line}")
    return out


def parse_script(data: Any, base: PulseConfig | Mapping[str, Any] | None = None,
                 source: str = "script") -> ReplayScript:
    """Validate a script mapping (as read from YAML/JSON) against a base config."""
    if not isinstance(data, Mapping):
        raise ScriptError([f"(top level): must be a mapping with account, symbols, events; "
                           f"got {type(data).__name__}"], source)
    try:
        top = _Top.model_validate(data)
    except ValidationError as exc:
        raise ScriptError(validation_problems(exc, _Top), source) from None
    problems: list[str] = []
    try:
        base_map = (base.model_dump(mode="json") if isinstance(base, PulseConfig)
                    else dict(base or {}))
        cfg = parse_config(base_map, overrides=top.config, env={}, source=source)
    except ConfigError as exc:
        raise ScriptError([f"config: {p}" for p in exc.problems], source) from None
    symbols: dict[str, SymbolSpec] = {
        name: SymbolSpec(name=name, **s.model_dump()) for name, s in top.symbols.items()
    }
    events: list[InEvent] = []
    fix = to_utc  # one tzinfo for every time: comparisons stay field compares
    for i, raw in enumerate(top.events):
        if not isinstance(raw, Mapping):
            problems.append(f"events[{i}]: must be a mapping like {{at: ..., type: check, ...}}, "
                            f"got {type(raw).__name__}")
            continue
        etype = raw.get("type")
        model = _EVENT_MODELS.get(str(etype)) if isinstance(etype, str) else None
        if model is None:
            problems.append(f"events[{i}].type: must be one of {', '.join(_EVENT_MODELS)}, "
                            f"got {etype!r}")
            continue
        try:
            ev = model.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_event_problems(i, str(etype), exc, model))
            continue
        ev = ev.model_copy(update={"at": fix(ev.at)})
        if isinstance(ev, CheckIn):
            if ev.symbol not in symbols:
                known = ", ".join(symbols) or "none"
                problems.append(f"events[{i}] (check): symbol: {ev.symbol!r} is not in symbols "
                                f"(known: {known}); add its spec under symbols:")
                continue
            events.append(CheckEvent(ev.at, TradeRequest(
                time=ev.at, symbol=ev.symbol, side=ev.side, volume=ev.volume, price=ev.price,
                sl=ev.sl, tp=ev.tp)))
        elif isinstance(ev, DealIn):
            events.append(DealEvent(ev.at, ev.to_deal(), ev.sl or None))
        elif isinstance(ev, EquityIn):
            events.append(EquityEvent(ev.at, ev.balance, ev.equity))
        elif isinstance(ev, OverrideIn):
            events.append(OverrideEvent(ev.at, ev.rule, ev.reason))
        elif isinstance(ev, BreakIn):
            events.append(BreakEvent(ev.at, ev.minutes, ev.reason))
        else:
            events.append(ClockEvent(ev.at))
    if problems:
        raise ScriptError(problems, source)
    return ReplayScript(cfg, top.account, symbols, tuple(events))


def run_script(script: ReplayScript) -> list[OutEvent]:
    """Every out-event of the script, in time order."""
    return script.kernel().process_many(script.events)


# --------------------------------------------------------------------------- rendering


def _at(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).isoformat()


def to_json(o: OutEvent, tz: tzinfo) -> dict[str, Any]:
    """The JSON-lines contract of DESIGN.md section 8 for one out-event."""
    if isinstance(o, VerdictOut):
        v = o.verdict
        return {"at": _at(o.at, tz), "type": "verdict", "allowed": v.allowed,
                "action": v.action.value,
                "rules": [{"rule": r.rule, "action": r.action.value, "message": r.message}
                          for r in v.rules],
                "behavior": {"state": o.state, "score": o.score}}
    if isinstance(o, NudgeOut):
        n = o
        return {"at": _at(n.at, tz), "type": "nudge", "kind": n.kind,
                "severity": n.severity.value, "text": n.text}
    if isinstance(o, ViolationOut):
        return {"at": _at(o.at, tz), "type": "violation", "rule": o.rule, "ticket": o.ticket}
    if isinstance(o, StateOut):
        return {"at": _at(o.at, tz), "type": "state", "state": o.state, "score": o.score,
                "flags": list(o.flags)}
    if isinstance(o, OverrideOut):
        r = o.record
        return {"at": _at(o.at, tz), "type": "override", "rule": r.rule, "accepted": r.accepted,
                "reason": r.reason, "message": r.message}
    return {"at": _at(o.at, tz), "type": "summary", "day": o.day.isoformat(),
            "trades": o.trades, "wins": o.wins, "losses": o.losses, "net": round(o.net, 2),
            "net_percent": None if o.net_percent is None else round(o.net_percent, 2),
            "score": o.score, "state": o.state, "rule_hits": dict(o.rule_hits), "text": o.text}


def to_json_line(o: OutEvent, tz: tzinfo) -> str:
    return json.dumps(to_json(o, tz), ensure_ascii=False)


def to_text(o: OutEvent, tz: tzinfo) -> str:
    """One readable terminal block for an out-event (rule lines indented)."""
    when = o.at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M:%S")
    if isinstance(o, VerdictOut):
        v = o.verdict
        req = v.request
        what = f"{req.side.value} {req.volume:g} {req.symbol} @ {req.price:g}" if req else ""
        risk = f", risk {v.risk_percent:.2f}%" if v.risk_percent is not None else ""
        head = (f"{when}  CHECK     {what}{risk} -> {'ALLOWED' if v.allowed else 'BLOCKED'} "
                f"({v.action.value}); behaviour {o.state} {o.score}/100")
        lines = [f"{' ' * 33}- {r.rule} [{r.action.value}] {r.message}" for r in v.rules]
        return "\n".join([head, *lines])
    if isinstance(o, NudgeOut):
        n = o
        return f"{when}  NUDGE     {n.kind} ({n.severity.value}): {n.text}"
    if isinstance(o, ViolationOut):
        return f"{when}  VIOLATION {o.rule} on deal #{o.ticket}: {o.message}"
    if isinstance(o, StateOut):
        flags = ", ".join(o.flags) if o.flags else "no flags"
        return f"{when}  STATE     behaviour {o.state} {o.score}/100 ({flags})"
    if isinstance(o, OverrideOut):
        r = o.record
        verdict = "ACCEPTED" if r.accepted else "REFUSED"
        return f"{when}  OVERRIDE  {r.rule} {verdict}: {r.message}"
    assert isinstance(o, SummaryOut)
    return f"{when}  SUMMARY   {o.text}"
