"""``pulse demo``: one scripted trader day, replayed through the live service, offline.

The day (``pulse/data/demo_day.yaml``) is a replay script on real E-mini S&P 500 minute
bars (``pulse/data/es_m1.csv``). It runs through the same path as the live bot:

    ReplayFeed (bars released at their close, deals, equity snapshots)
      -> PulseService (poll_once / check / override: kernel + storage in one transaction
         per step, nudges into the outbox, lockouts, verdicts, overrides)
      -> on_out_events subscriber -> this module's :class:`Conversation` (the printer)

and the confluence scores shown at each check are the service's own watchlist scores
(:meth:`PulseService.refresh_scores`: the real analyzers on the bars the feed has released
so far, so nothing after the check's moment is seen). Journal entries go through
``storage.repo_journal``; the daily summary is ``bot.journal_service.daily_summary`` read
back from storage, with its chart drawn by ``bot.charts.summary_chart``.

The demo polls the service at every script event and, once the ``session`` event has
passed, at every bar close (the live loop polls every second; a minute is enough for the
lockout-end nudges, whose times come from the lockouts themselves). Watchlist scores are
refreshed at each check (``bars_every=0``) instead of once a minute, the only difference
from the live loop's settings. Output is deterministic: the same script and database path
give byte-identical output (no wall-clock time is printed; the CLI reports the run time on
stderr).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError, field_validator

import pulse.data
from pulse.config import PulseConfig, TraderConfig, validation_problems
from pulse.kernel import (
    BreakEvent,
    CheckEvent,
    ClockEvent,
    DealEvent,
    EquityEvent,
    NudgeOut,
    OutEvent,
    OverrideEvent,
    OverrideOut,
    StateOut,
    SummaryOut,
    VerdictOut,
    ViolationOut,
)
from pulse.models import Deal, DealEntry, JournalEntry, JournalKind, Side, Verdict
from pulse.replay import ReplayScript, ScriptError, parse_script, to_json
from pulse.ticks import SessionSpec

if TYPE_CHECKING:  # heavy modules: imported when the demo runs, not with the CLI
    from bot.feeds.replay import ReplayFeed
    from bot.service import PulseService
    from pulse.analysis.confluence import ConfluenceResult
    from pulse.journal.summary import DailySummary

__all__ = [
    "DEFAULT_DB",
    "DEMO_BARS",
    "DEMO_SCRIPT",
    "DEMO_SESSION",
    "DEMO_TRADER_ID",
    "Conversation",
    "DemoDay",
    "DemoError",
    "DemoOptions",
    "DemoResult",
    "JournalStep",
    "SessionStep",
    "SummaryStep",
    "load_demo_day",
    "parse_speed",
    "run_demo",
]

DATA_DIR = Path(pulse.data.__file__).resolve().parent
DEMO_SCRIPT = DATA_DIR / "demo_day.yaml"
DEMO_BARS = DATA_DIR / "es_m1.csv"
DEMO_SYMBOL = "ES"
DEMO_BAR_TIMEFRAME = "M1"
#: CME Globex: the ES trading day starts at 17:00 Chicago time (M5 bars are built from M1
#: within it, so no bar straddles the daily reopen).
DEMO_SESSION = SessionSpec("17:00", "America/Chicago")
DEMO_TRADER_ID = 4242
DEMO_TRADER_NAME = "Demo trader"
DEMO_ACCOUNT_LOGIN = 5_100_042
DEFAULT_DB = Path("pulse-demo.db")

Sleep = Callable[[float], Awaitable[Any]]


class DemoError(Exception):
    """The demo cannot run (bad script, a database that is not the demo's); one line each."""

    def __init__(self, problems: list[str], source: str = "demo") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))


# --------------------------------------------------------------------------- the script


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SessionIn(_M):
    at: AwareDatetime
    type: Literal["session"]
    text: str = ""


class _JournalIn(_M):
    at: AwareDatetime
    type: Literal["journal"]
    kind: Literal["pre_trade", "post_trade"]
    confidence: int | None = None
    driver: str | None = None
    calendar_checked: bool | None = None
    setup_tag: str | None = None
    text: str = ""
    position: int | None = None
    what_worked: str | None = None
    emotional_factors: str | None = None
    would_take_again: bool | None = None

    @field_validator("position")
    @classmethod
    def _position(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("must be the MT5 position id (>= 1)")
        return v


class _SummaryIn(_M):
    at: AwareDatetime
    type: Literal["summary"]


@dataclass(frozen=True)
class SessionStep:
    """The trader sits down: from here the demo polls at every bar close."""

    at: datetime
    text: str


@dataclass(frozen=True)
class JournalStep:
    """A journal entry the trader writes: pre-trade (linked to the last verdict) or
    post-trade (linked to the trade of ``position``)."""

    at: datetime
    kind: Literal["pre_trade", "post_trade"]
    answers: Mapping[str, Any]
    position: int | None = None


@dataclass(frozen=True)
class SummaryStep:
    """The scheduled daily summary (built from storage, with its chart)."""

    at: datetime


Step = CheckEvent | ClockEvent | DealEvent | EquityEvent | OverrideEvent | BreakEvent | \
    SessionStep | JournalStep | SummaryStep
_DEMO_TYPES: dict[str, type[_M]] = {
    "session": _SessionIn, "journal": _JournalIn, "summary": _SummaryIn,
}


@dataclass(frozen=True)
class DemoDay:
    """A validated demo script: the replay script (config, account, symbols) and every
    step in script order (kernel events and demo steps)."""

    script: ReplayScript
    steps: tuple[Step, ...]
    source: str

    @property
    def config(self) -> PulseConfig:
        return self.script.config

    @property
    def tz(self) -> tzinfo:
        return self.script.tz


def _demo_step(i: int, raw: Mapping[str, Any]) -> tuple[Step | None, list[str]]:
    model = _DEMO_TYPES[str(raw["type"])]
    try:
        ev = model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = [p.removeprefix("(top level): ") for p in validation_problems(exc, model)]
        return None, [f"events[{i}] ({raw['type']}): {p}" for p in problems]
    if isinstance(ev, _SessionIn):
        return SessionStep(ev.at, ev.text), []
    if isinstance(ev, _SummaryIn):
        return SummaryStep(ev.at), []
    assert isinstance(ev, _JournalIn)
    if ev.kind == "post_trade" and ev.position is None:
        return None, [f"events[{i}] (journal): position: a post_trade entry needs the MT5 "
                      "position id of the trade it reflects on"]
    answers = ev.model_dump(exclude={"at", "type", "kind", "position"}, exclude_none=True)
    return JournalStep(ev.at, ev.kind, answers, ev.position), []


def load_demo_day(path: Path | None = None,
                  base: PulseConfig | Mapping[str, Any] | None = None) -> DemoDay:
    """Read and validate a demo script (default: the bundled day) on ``base`` config
    (default: the built-in defaults). Raises :class:`DemoError` listing every problem."""
    path = path or DEMO_SCRIPT
    src = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DemoError([f"file not found: {path}"], src) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DemoError([f"cannot read {path}: {exc}"], src) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DemoError([f"not valid YAML{where}: {getattr(exc, 'problem', exc)}"], src) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("events"), list):
        raise DemoError(["(top level): must be a replay script mapping with an events: list"],
                        src)
    events: list[Any] = data["events"]
    kernel_raw: list[Any] = []
    slots: list[tuple[int, Step | None]] = []  # (index into kernel events or -1, demo step)
    problems: list[str] = []
    for i, raw in enumerate(events):
        kind = raw.get("type") if isinstance(raw, Mapping) else None
        if isinstance(kind, str) and kind in _DEMO_TYPES:
            step, errs = _demo_step(i, raw)
            problems.extend(errs)
            slots.append((-1, step))
        else:
            slots.append((len(kernel_raw), None))
            kernel_raw.append(raw)
    try:
        script = parse_script({**data, "events": kernel_raw}, base or PulseConfig(), source=src)
    except ScriptError as exc:
        # Event indexes in the replay parser's messages count kernel events only: map back.
        index = [i for i, (k, _) in enumerate(slots) if k >= 0]
        for p in exc.problems:
            problems.append(_renumber(p, index))
        raise DemoError(sorted(problems, key=_event_index), src) from None
    if problems:
        raise DemoError(problems, src)
    kernel_events = list(script.events)
    steps: list[Step] = []
    for k, step in slots:
        if k >= 0:
            steps.append(kernel_events[k])
        elif step is not None:
            steps.append(step)
    if DEMO_SYMBOL not in script.symbols:
        raise DemoError([f"symbols: the demo plays {DEMO_SYMBOL} bars; add its spec"], src)
    return DemoDay(script, tuple(steps), src)


def _event_index(problem: str) -> int:
    """The event index a problem names (-1 for top-level ones), for script order."""
    head, sep, _ = problem.partition("]")
    if sep and head.startswith("events["):
        try:
            return int(head.removeprefix("events["))
        except ValueError:
            pass
    return -1


def _renumber(problem: str, index: Sequence[int]) -> str:
    """``events[3] ...`` of the kernel-only list -> the index in the whole script."""
    if problem.startswith("events[") and "]" in problem:
        head, _, tail = problem.partition("]")
        try:
            k = int(head.removeprefix("events["))
        except ValueError:
            return problem
        if 0 <= k < len(index):
            return f"events[{index[k]}]{tail}"
    return problem


def parse_speed(text: str) -> float | None:
    """``full`` -> None (no waiting); ``1`` real time; ``N`` N times faster."""
    t = text.strip().lower()
    if t in ("full", "max"):
        return None
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"--speed: must be full, 1 (real time) or a factor N > 0, "
                         f"got {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise ValueError(f"--speed: must be full or a factor > 0, got {text!r}")
    return v


# --------------------------------------------------------------------------- rendering

LIGHT: dict[str, str] = {"green": "🟢", "yellow": "🟡", "red": "🔴"}
ACTION_ICON: dict[str, str] = {
    "allow": "✅", "warn": "⚠️ ", "soft_block": "⛔", "hard_block": "🛑",
}
SEVERITY_ICON: dict[str, str] = {"info": "💬", "warning": "⚠️ ", "critical": "🚨"}
_WHO_WIDTH = 6
_INDENT = " " * (10 + _WHO_WIDTH + 1)


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _signed(x: float) -> str:
    return f"{x:+,.2f}"


def _price(x: float) -> str:
    return f"{x:.2f}"


class Conversation:
    """Prints the demo as the bot would talk: one block per message, in time order.

    Text mode: ``HH:MM:SS  who   message`` with ``who`` one of ``you`` (the trader's
    commands and journal), ``mt5`` (what the terminal reports: fills, equity) and
    ``pulse`` (the bot: scores, verdicts, nudges, state). ``--json`` mode: one object per
    line; kernel out-events use :func:`pulse.replay.to_json`, demo lines add a ``type``.
    """

    def __init__(self, out: TextIO, tz: tzinfo, *, as_json: bool = False,
                 currency: str = "USD") -> None:
        self.out = out
        self.tz = tz
        self.as_json = as_json
        self.currency = currency
        self._day: str | None = None
        self.counts: dict[str, int] = {}
        #: The moment the demo is at (the feed's clock): a bot message is shown when it
        #: is sent, which is never before the poll that produced it.
        self.now: datetime | None = None

    # -- plumbing ------------------------------------------------------------------

    def _count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _at(self, at: datetime) -> str:
        return at.astimezone(self.tz).isoformat()

    def emit(self, obj: Mapping[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()  # at --speed 1 a pipe reader sees each message when it happens

    def sent(self, at: datetime) -> datetime:
        """When the bot sends a message about ``at``: not before the current moment (a
        lockout's end is told at the first poll after it; the service stamps equity
        snapshots a few seconds behind the feed clock)."""
        return at if self.now is None or at >= self.now else self.now

    def line(self, at: datetime, who: str, text: str, more: Sequence[str] = ()) -> None:
        local = at.astimezone(self.tz)
        day = f"{local:%a %d %b %Y}"
        if day != self._day:
            self._day = day
            self.out.write(f"\n── {day} " + "─" * 40 + "\n")
        self.out.write(f"{local:%H:%M:%S}  {who:<{_WHO_WIDTH}} {text}\n")
        for m in more:
            self.out.write(f"{_INDENT}{m}\n")
        self.out.flush()

    def text(self, s: str = "") -> None:
        if not self.as_json:
            self.out.write(s + "\n")

    # -- the demo's own lines ------------------------------------------------------

    def intro(self, day: DemoDay, db: Path, at: datetime) -> None:
        cfg, acct = day.config, day.script.account
        lim = cfg.risk_limits
        spec = day.script.symbols[DEMO_SYMBOL]
        if self.as_json:
            self.emit({
                "at": self._at(at), "type": "demo", "script": day.source, "db": str(db),
                "trader": {"id": DEMO_TRADER_ID, "name": DEMO_TRADER_NAME,
                           "timezone": acct.timezone},
                "account": {"currency": acct.currency,
                            "initial_balance": acct.initial_balance},
                "symbol": spec.model_dump(mode="json"),
                "watchlist": {"symbols": list(cfg.feeds.watchlist.symbols),
                              "timeframes": list(cfg.feeds.watchlist.timeframes)},
            })
            return
        self.text("Zanalytics Pulse demo: a scripted trader day through the live service, "
                  "offline")
        self.text(f"  market   {DEMO_SYMBOL} E-mini S&P 500 futures (CME), real one-minute "
                  f"bars (tick {spec.tick_size:g} = {spec.tick_value:g} {acct.currency})")
        self.text(f"  trader   {DEMO_TRADER_NAME}, times in {acct.timezone}; account "
                  f"{_money(acct.initial_balance)} {acct.currency}")
        self.text(f"  rules    daily loss {lim.daily_loss_percent:g}% (warning at "
                  f"{lim.daily_loss_warn_percent:g}% of it), {lim.max_trades_per_day} trades "
                  f"a day, {lim.cooling_period_minutes}-min cooling after a "
                  f"{lim.cooling_trigger_loss_percent:g}% loss, "
                  f"{lim.max_consecutive_losses} losses in a row -> "
                  f"{lim.consecutive_loss_break_minutes}-min break")
        self.text(f"  scores   confluence of {', '.join(cfg.feeds.watchlist.timeframes)} bars "
                  "released so far (no look-ahead), at every check")
        self.text(f"  storage  {db} (created fresh)")
        self.text("  who      you = the trader's commands and journal, mt5 = the terminal's "
                  "fills and equity, pulse = the bot")

    def session(self, step: SessionStep) -> None:
        self._count("session")
        if self.as_json:
            self.emit({"at": self._at(step.at), "type": "session", "text": step.text})
        else:
            self.line(step.at, "", f"── {step.text} ──")

    def deal(self, d: Deal) -> None:
        self._count("deal")
        if not d.is_trade:
            if self.as_json:
                self.emit({"at": self._at(d.time), "type": "deal", "ticket": d.ticket,
                           "cash": d.type.name.lower(), "amount": d.net,
                           "comment": d.comment})
            else:
                label = "deposit" if d.net > 0 else "withdrawal"
                self.line(d.time, "mt5", f"💰 balance {_signed(d.net)} {self.currency} "
                                         f"({d.comment or label})")
            return
        side = Side.from_deal_type(d.type)
        entry = {DealEntry.IN: "in", DealEntry.OUT: "out", DealEntry.INOUT: "inout",
                 DealEntry.OUT_BY: "out_by"}[d.entry]
        if self.as_json:
            self.emit({"at": self._at(d.time), "type": "deal", "ticket": d.ticket,
                       "position": d.position_id, "symbol": d.symbol, "side": side.value,
                       "entry": entry, "volume": d.volume, "price": d.price,
                       "profit": d.profit, "commission": d.commission, "net": d.net,
                       "comment": d.comment})
            return
        what = f"{side.value} {d.volume:g} {d.symbol} @ {_price(d.price)}"
        if d.entry is DealEntry.IN:
            self.line(d.time, "mt5", f"💼 fill #{d.ticket}: {what}, opens position "
                                     f"{d.position_id}")
        else:
            why = f" ({d.comment})" if d.comment else ""
            self.line(d.time, "mt5", f"💼 fill #{d.ticket}: {what} closes position "
                                     f"{d.position_id}{why}: profit {_signed(d.profit)}, "
                                     f"commission {_signed(d.commission)} {self.currency}")

    def equity(self, ev: EquityEvent) -> None:
        self._count("equity")
        if self.as_json:
            self.emit({"at": self._at(ev.at), "type": "equity", "balance": ev.balance,
                       "equity": ev.equity})
            return
        self.line(ev.at, "mt5", f"📉 equity {_money(ev.equity)} {self.currency} (balance "
                                f"{_money(ev.balance)}, floating "
                                f"{_signed(ev.equity - ev.balance)})")

    def check_request(self, ev: CheckEvent) -> None:
        self._count("check")
        r = ev.request
        if self.as_json:
            self.emit({"at": self._at(ev.at), "type": "check", "symbol": r.symbol,
                       "side": r.side.value, "volume": r.volume, "price": r.price,
                       "sl": r.sl, "tp": r.tp})
            return
        stop = f" sl {_price(r.sl)}" if r.sl is not None else " (no stop)"
        tp = f" tp {_price(r.tp)}" if r.tp is not None else ""
        self.line(ev.at, "you", f"/risk check {r.side.value} {r.volume:g} {r.symbol} @ "
                                f"{_price(r.price)}{stop}{tp}")

    def override_request(self, ev: OverrideEvent) -> None:
        self._count("override_request")
        if self.as_json:
            self.emit({"at": self._at(ev.at), "type": "override_request", "rule": ev.rule,
                       "reason": ev.reason})
            return
        self.line(ev.at, "you", f"/override {ev.rule} reason: “{ev.reason}”")

    def score(self, at: datetime, timeframe: str, result: ConfluenceResult | None,
              error: str | None) -> None:
        """A watchlist score of the demo symbol (or why there is none)."""
        self._count("score")
        if self.as_json:
            obj: dict[str, Any] = {"at": self._at(at), "type": "score", "timeframe": timeframe}
            if result is None:
                obj.update({"symbol": DEMO_SYMBOL, "error": error or "no bars yet"})
            else:
                obj.update(result.to_json())
                obj["time"] = self._at(result.time)
            self.emit(obj)
            return
        if result is None:
            self.line(at, "pulse", f"📈 {DEMO_SYMBOL} {timeframe}: no score "
                                   f"({error or 'no bars yet'})")
            return
        bar = result.time.astimezone(self.tz)
        self.line(at, "pulse",
                  f"📈 {DEMO_SYMBOL} {timeframe} {result.summary_text(3)} [{result.grade}]; "
                  f"{result.opposite.direction} {result.opposite.score:.0f} "
                  f"(bar {bar:%H:%M})")

    def journal(self, entry: JournalEntry) -> None:
        self._count("journal")
        if self.as_json:
            self.emit({"at": self._at(entry.at), "type": "journal",
                       **entry.model_dump(mode="json", exclude={"at"}, exclude_none=True)})
            return
        if entry.kind is JournalKind.PRE_TRADE:
            parts = []
            if entry.confidence is not None:
                parts.append(f"confidence {entry.confidence}/10")
            if entry.driver is not None:
                parts.append(entry.driver.value)
            if entry.calendar_checked is not None:
                parts.append("calendar checked" if entry.calendar_checked
                             else "calendar not checked")
            if entry.setup_tag:
                parts.append(f"setup {entry.setup_tag}")
            more = [f"“{entry.text}”"] if entry.text else []
            self.line(entry.at, "you", f"📝 pre-trade journal #{entry.id}: "
                                       + ", ".join(parts), more)
            return
        again = {True: "yes", False: "no", None: "-"}[entry.would_take_again]
        more = []
        if entry.what_worked:
            more.append(f"what worked: “{entry.what_worked}”")
        if entry.emotional_factors:
            more.append(f"feelings: “{entry.emotional_factors}”")
        more.append(f"would take it again: {again}")
        self.line(entry.at, "you", f"📝 post-trade journal #{entry.id} on trade "
                                   f"{entry.trade_id}", more)

    def daily_summary(self, at: datetime, summary: DailySummary, chart: Path) -> None:
        """The scheduled summary, as stored data says it, and where its chart went."""
        self._count("daily_summary")
        if self.as_json:
            self.emit({
                "at": self._at(at), "type": "daily_summary", "day": summary.day.isoformat(),
                "trades": summary.trades, "wins": summary.wins, "losses": summary.losses,
                "net": round(summary.net_pnl, 2),
                "net_percent": None if summary.net_pnl_pct is None
                else round(summary.net_pnl_pct, 2),
                "score": summary.score, "deductions": list(summary.deductions),
                "rule_hits": list(summary.rule_hits), "text": summary.text,
                "chart": str(chart),
            })
            return
        lines = summary.text.splitlines() or [""]
        self.line(at, "pulse", f"📊 daily summary: {lines[0]}",
                  [*lines[1:], f"chart: {chart}"])

    def outro(self, at: datetime, db: Path, stored: Mapping[str, int]) -> None:
        if self.as_json:
            self.emit({"at": self._at(at), "type": "demo_end", "db": str(db),
                       "stored": dict(stored)})
            return
        url = _sqlite_url(db)
        self.text()
        self.text(f"Stored in {db}: " + ", ".join(f"{n} {k}" for k, n in stored.items()))
        self.text("Look inside (docs/demo.md walks through the day):")
        self.text(f"  pulse journal list  --trader {DEMO_TRADER_ID} --url {url}")
        self.text(f"  pulse journal stats --trader {DEMO_TRADER_ID} --url {url}")

    # -- kernel out-events (the service's on_out_events subscriber) ----------------

    def on_out_events(self, trader_id: int, outs: list[OutEvent]) -> None:
        for o in outs:
            self.out_event(o)

    def out_event(self, o: OutEvent) -> None:
        if isinstance(o, SummaryOut):
            # The kernel's day-end record; the bot sends the scheduled summary instead
            # (the `summary` step), so the conversation does not show it.
            self._count("kernel_summary")
            return
        kind = type(o).__name__
        if isinstance(o, NudgeOut):
            kind = f"nudge:{o.kind}"
        self._count(kind)
        if self.as_json:
            self.emit(to_json(o, self.tz))
            return
        if isinstance(o, VerdictOut):
            self._verdict(o)
        elif isinstance(o, NudgeOut):
            icon = SEVERITY_ICON.get(o.severity.value, "💬")
            self.line(self.sent(o.at), "pulse", f"{icon} {o.kind}: {o.text}")
        elif isinstance(o, StateOut):
            light = LIGHT.get(o.state, "⚪")
            flags = ", ".join(o.flags) if o.flags else "no flags"
            self.line(self.sent(o.at), "pulse",
                      f"{light} behaviour {o.state} {o.score}/100 ({flags})", list(o.deductions))
        elif isinstance(o, OverrideOut):
            r = o.record
            verdict = "accepted" if r.accepted else "refused"
            self.line(self.sent(o.at), "pulse", f"🔓 override of {r.rule} {verdict}: {r.message}")
        elif isinstance(o, ViolationOut):
            self.line(self.sent(o.at), "pulse", f"🚨 violation of {o.rule} by deal #{o.ticket}: "
                                     f"{o.message}")

    def _verdict(self, o: VerdictOut) -> None:
        v: Verdict = o.verdict
        head = "ALLOWED" if v.allowed else "BLOCKED"
        icon = ACTION_ICON.get(v.action.value, "")
        risk = f" · risk {v.risk_percent:.2f}% of balance" if v.risk_percent is not None else ""
        light = LIGHT.get(o.state, "⚪")
        more = [f"{ACTION_ICON.get(r.action.value, '·')} {r.rule} [{r.action.value}]: "
                f"{r.message}" for r in v.rules]
        if not v.rules:
            more.append("no rule objected")
        if v.action.value == "soft_block":
            more.append("(a soft block can be overridden with a reason: /override)")
        self.line(self.sent(o.at), "pulse", f"{icon} {head} ({v.action.value}){risk} · behaviour "
                                 f"{light} {o.state} {o.score}/100", more)


# --------------------------------------------------------------------------- running


@dataclass
class DemoOptions:
    """What ``pulse demo`` was asked for."""

    db: Path = DEFAULT_DB
    as_json: bool = False
    speed: float | None = None
    out_dir: Path | None = None
    config: PulseConfig | None = None
    script: Path | None = None
    sleep: Sleep | None = None


@dataclass
class DemoResult:
    """Where things went and what was stored (for the CLI and the tests)."""

    db: Path
    charts: list[Path] = field(default_factory=list)
    stored: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)


def _demo_feed(day: DemoDay, sleep: Sleep) -> ReplayFeed:
    """A :class:`~bot.feeds.replay.ReplayFeed` on the demo bars; its open positions carry
    the stop the script placed them with (as MT5's ``positions_get`` does), so trades get
    their initial risk and R."""
    from bot.feeds.replay import ReplayFeed, load_bars_csv

    return ReplayFeed(
        day.steps, bars={(DEMO_SYMBOL, DEMO_BAR_TIMEFRAME): load_bars_csv(DEMO_BARS)},
        symbols=day.script.symbols, initial_balance=0.0, currency=day.script.account.currency,
        speed=None, sleep=sleep, session=DEMO_SESSION,
    )


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _prepare_db(path: Path) -> None:
    """A fresh database at ``path``: a previous demo database is replaced; anything else
    (a real Pulse database, another file) is refused, never deleted."""
    if path.is_dir():
        raise DemoError([f"--db: {path} is a directory; give a file path like "
                         f"{path / DEFAULT_DB.name}"])
    if path.exists() and path.stat().st_size > 0:
        from storage import make_engine, repo_traders

        engine = make_engine(_sqlite_url(path))
        try:
            traders = await repo_traders.list_traders(engine)
        except Exception:
            traders = None
        finally:
            await engine.dispose()
        if not traders or any(t.id != DEMO_TRADER_ID for t in traders):
            raise DemoError([f"--db: {path} exists and is not a pulse demo database; "
                             "refusing to overwrite it (give another path with --db)"])
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            p.unlink()


async def run_demo(opts: DemoOptions, out: TextIO) -> DemoResult:
    """Play the demo day through the live service into ``opts.db``, printing to ``out``."""
    import asyncio

    from bot.charts.summary_chart import render_summary_chart
    from bot.journal_service import daily_summary
    from bot.service import PulseService
    from pulse.journal.entries import JournalInputError, new_post_trade, new_pre_trade
    from storage import open_database, repo_deals, repo_journal, repo_outbox, repo_risk

    day = load_demo_day(opts.script, opts.config)
    acct = day.script.account
    trader = TraderConfig(discord_user_id=DEMO_TRADER_ID, name=DEMO_TRADER_NAME,
                          account_login=DEMO_ACCOUNT_LOGIN, feed="replay",
                          timezone=acct.timezone)
    cfg = day.config.model_copy(update={"traders": [trader]})
    db = opts.db
    await _prepare_db(db)
    out_dir = opts.out_dir or db.parent
    out_dir.mkdir(parents=True, exist_ok=True)

    feed = _demo_feed(day, opts.sleep or asyncio.sleep)
    conv = Conversation(out, day.tz, as_json=opts.as_json, currency=acct.currency)
    result = DemoResult(db)
    engine = await open_database(_sqlite_url(db))
    service = PulseService(cfg, feeds={DEMO_TRADER_ID: feed}, engine=engine,
                           symbols=day.script.symbols, bars_every=0, traders=[trader])
    service.on_out_events.append(conv.on_out_events)
    tid = DEMO_TRADER_ID
    conv.intro(day, db, feed.clock())
    try:
        await service.start()
        await service.poll_once(tid)  # the account as the terminal shows it before anything
        watching = False
        last_verdict: Verdict | None = None
        async for item in feed.play():
            if item.kind == "bar":
                conv.now = item.at
                if watching:
                    await service.poll_once(tid)
                continue
            if item.kind != "event":
                continue
            ev = item.data
            conv.now = item.at
            if isinstance(ev, DealEvent):
                conv.deal(ev.deal)
                await service.poll_once(tid)
            elif isinstance(ev, EquityEvent):
                conv.equity(ev)
                await service.poll_once(tid)
            elif isinstance(ev, ClockEvent):
                await service.poll_once(tid)
            elif isinstance(ev, CheckEvent):
                await service.poll_once(tid)
                conv.check_request(ev)
                await _show_scores(service, conv, ev.at, cfg)
                last_verdict = await service.check(tid, ev.request)
                result.verdicts.append(last_verdict)
            elif isinstance(ev, OverrideEvent):
                conv.override_request(ev)
                await service.override(tid, ev.rule, ev.reason, ev.at)
            elif isinstance(ev, BreakEvent):
                await service.take_break(tid, ev.minutes, ev.at, ev.reason)
            elif isinstance(ev, SessionStep):
                if opts.speed is not None:
                    feed.speed = opts.speed  # from here on, play at the asked pace
                conv.session(ev)
                watching = True
                await service.poll_once(tid)
            elif isinstance(ev, JournalStep):
                await service.poll_once(tid)
                try:
                    if ev.kind == "pre_trade":
                        entry = new_pre_trade(
                            tid, ev.at, ev.answers, verdict=last_verdict,
                            verdict_id=service.sessions[tid].last_verdict_id)
                    else:
                        trade = next((t for t in service.kernel(tid).trades()
                                      if t.position_id == ev.position), None)
                        if trade is None:
                            raise DemoError([f"journal at {ev.at.isoformat()}: no trade with "
                                             f"position {ev.position} has been seen yet"],
                                            day.source)
                        entry = new_post_trade(tid, ev.at, trade, ev.answers)
                except JournalInputError as exc:
                    raise DemoError([f"journal at {ev.at.isoformat()}: {p}"
                                     for p in exc.problems], day.source) from None
                conv.journal(await repo_journal.add_journal_entry(service.db, entry))
            elif isinstance(ev, SummaryStep):
                await service.poll_once(tid)
                await service.refresh_scores()  # MAE/MFE of the day's trades
                summary = await daily_summary(service.db, cfg, tid, ev.at)
                png = await asyncio.to_thread(render_summary_chart, summary.chart)
                chart = out_dir / f"{db.stem}-summary-{summary.day.isoformat()}.png"
                chart.write_bytes(png)
                result.charts.append(chart)
                conv.daily_summary(ev.at, summary, chart)
        end = feed.clock()
        acct_rec = service.sessions[tid].account
        assert acct_rec is not None
        result.stored = {
            "deals": await repo_deals.count_deals(service.db, acct_rec.id),
            "trades": len(await repo_deals.load_trades(service.db, acct_rec.id)),
            "verdicts": len(result.verdicts),
            "journal entries": len(await repo_journal.list_journal_entries(service.db, tid)),
            "overrides": len(await repo_risk.list_overrides(service.db, tid)),
            "lockouts": len(await repo_risk.list_lockouts(service.db, acct_rec.id)),
            "outbox nudges": len(await repo_outbox.list_outbox(service.db, trader_id=tid)),
        }
        conv.outro(end, db, result.stored)
    finally:
        await service.stop()
        await engine.dispose()
    result.counts = dict(conv.counts)
    return result


async def _show_scores(service: PulseService, conv: Conversation, at: datetime,
                       cfg: PulseConfig) -> None:
    """The service's watchlist scores of the demo symbol, as of ``at``."""
    await service.refresh_scores()
    scores = service.latest_scores()
    errors = service.score_errors()
    for tf in cfg.feeds.watchlist.timeframes:
        key = (DEMO_SYMBOL, tf)
        conv.score(at, tf, scores.get(key), errors.get(key))
