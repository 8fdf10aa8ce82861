"""PulseService: the kernel wired to the feeds and to storage (DESIGN.md section 8).

One service per process; one :class:`TraderSession` per configured trader, each with its
feed and its :class:`~pulse.kernel.PulseKernel`. The service

- **starts** (:meth:`PulseService.start`): opens storage (migrating it), then for every
  trader rebuilds the trading day: the kernel's saved state (or, without one, the stored
  deals) silently, then stored deals the state does not know yet, then the feed's history
  since the start of the day minus the overlap window, deduplicated by ticket. Lockouts
  in force before a restart are in force after it; nothing already emitted is emitted
  again (the kernel's emitted keys and the outbox's dedupe keys both guard this);
- **polls** (:meth:`PulseService.poll_once`, :meth:`PulseService.run`): new deals and the
  account snapshot go through the kernel; every deal, trade, verdict, nudge (outbox only,
  never sent here), violation, override and lockout is written in ONE transaction per
  poll, so a crash leaves all of a poll or none of it; the kernel's state is saved after
  it, on its own (a state older than the stored deals is safe, see :meth:`_save_state`).
  A failed write is kept and retried on the next poll; a feed failure never stops the
  loop (the feed itself reports ``feed_down`` / ``feed_restored``, which are enqueued for
  the trader);
- **scores** the watchlist every ``bars_every`` polls (:meth:`latest_scores`) and computes
  MAE/MFE of closed trades from the bars it has (kept in memory: storage has no column);
- answers the cogs and the HTTP API through a small typed facade: :meth:`check`,
  :meth:`override`, :meth:`status`, :meth:`trades`, :meth:`latest_scores`.

Subscribers (the demo printer, the coach mirror) register in :attr:`on_out_events`:
``callback(trader_id, out_events)``, sync or async, called after the poll is persisted.

Time: each session reads its feed's clock (UTC for MT5, replay time for a replay feed)
unless a ``clock`` is injected; ``sleep`` is injectable so tests never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.coach import mirror_red_state
from bot.feeds.base import Clock, Feed, FeedError, FeedStatus
from bot.outbox import enqueue_with_mirrors
from pulse.analysis.confluence import ConfluenceResult, ConfluenceScorer
from pulse.config import PulseConfig, Secrets, TraderConfig
from pulse.journal.stats import Excursion, excursion
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
    VerdictOut,
    ViolationOut,
)
from pulse.models import (
    Bar,
    BehaviorState,
    Deal,
    DealEntry,
    JournalEntry,
    JournalKind,
    Nudge,
    SymbolSpec,
    Trade,
    TradeRequest,
    Verdict,
)
from pulse.risk.day import TradingCalendar
from pulse.risk.state import Lockout as KernelLockout
from pulse.risk.state import OverrideRecord as KernelOverride
from pulse.ticks import frame_to_bars
from storage import open_database, repo_deals, repo_journal, repo_outbox, repo_risk, repo_traders
from storage.records import AccountRecord, Lockout, LockoutKind, OverrideRecord, Violation
from storage.repo_excursions import load_excursions, save_excursions

__all__ = [
    "FeedFactory",
    "LockoutStatus",
    "OutListener",
    "PulseService",
    "ServiceError",
    "TraderSession",
    "TraderStatus",
    "mt5_feed_factory",
]

log = logging.getLogger("pulse.service")

OutListener = Callable[[int, list[OutEvent]], Awaitable[None] | None]
"""``callback(trader_id, out_events)``; sync or async."""

FeedFactory = Callable[[TraderConfig], Feed]
Sleep = Callable[[float], Awaitable[Any]]

STATE_VERSION = 1
LOOKBACK = timedelta(days=8)
"""Stored deals loaded when there is no saved kernel state: this week (setup memory)
and the baseline's recent entries."""
MAX_CATCHUP = timedelta(days=7)
SPEC_RETRY = timedelta(minutes=5)
STOP_GRACE_SECONDS = 10.0
"""How far back the feed's history is asked for after a long stop."""

_LOCKOUT_KINDS: tuple[tuple[str, LockoutKind], ...] = (
    ("cooling", "cooling"), ("brk", "break"), ("daily_block", "daily_block"),
    ("pause", "cooling"),
)
"""RiskState slot -> lockouts table kind. The table allows cooling/break/daily_block only,
so a self-imposed break (``pause``, /break) is stored as kind "cooling" with the reason
"self-imposed: ..." (no migration); the session tracks it under the key "pause"."""


def _slot_key(attr: str, kind: LockoutKind) -> str:
    """The session's key for a lockout slot: its table kind, "pause" for /break."""
    return "pause" if attr == "pause" else kind


class ServiceError(Exception):
    """A request the service cannot answer (unknown trader, not started); one clear line."""


def mt5_feed_factory(config: PulseConfig, secrets: Secrets | None = None,
                     *, module: Any = None) -> FeedFactory:
    """Feeds for ``pulse run``: one MT5 feed (MetaTrader5 module, or the mt5linux bridge
    when ``feeds.bridge.enabled``) shared by the process, since a terminal serves one
    connection per process; a replay trader needs its ReplayFeed passed in ``feeds=``."""
    from bot.feeds.mt5 import MT5Feed

    shared: list[Feed] = []

    def make(trader: TraderConfig) -> Feed:
        if trader.feed == "replay":
            raise ServiceError(
                f"traders[{trader.discord_user_id}].feed is 'replay': a replay feed plays a "
                "script, pass it as PulseService(feeds={id: ReplayFeed(...)}), or set "
                "feed: mt5 / bridge"
            )
        if not shared:
            shared.append(MT5Feed.from_config(config.feeds, secrets, module=module))
        return shared[0]

    return make


# --------------------------------------------------------------------------- plain data out


@dataclass(frozen=True)
class LockoutStatus:
    """A lockout as /status shows it."""

    rule: str
    start: datetime
    until: datetime
    minutes_left: int
    overridden: bool
    overridable: bool
    self_imposed: bool = False  # the trader's own /break (shown under cooling_period)


@dataclass(frozen=True)
class TraderStatus:
    """Everything ``/status`` shows, as plain data (cogs render, never compute)."""

    trader_id: int
    at: datetime
    day: date | None
    state: str
    score: int
    flags: tuple[str, ...]
    deductions: tuple[str, ...]
    currency: str
    balance: float | None
    equity: float | None
    day_pnl: float | None
    daily_loss_limit: float | None
    daily_loss_used_percent: float | None
    trades_today: int
    max_trades: int
    consecutive_losses: int
    open_trades: int
    lockouts: tuple[LockoutStatus, ...]
    feed: FeedStatus

    @property
    def blocked(self) -> bool:
        return any(not lk.overridden for lk in self.lockouts)

    def lockout(self, rule: str) -> LockoutStatus | None:
        return next((lk for lk in self.lockouts if lk.rule == rule), None)


# --------------------------------------------------------------------------- sessions


@dataclass
class _Pending:
    """What a poll produced and storage has not confirmed yet."""

    deals: list[Deal] = field(default_factory=list)
    outs: list[OutEvent] = field(default_factory=list)
    feed_nudges: list[Nudge] = field(default_factory=list)

    def extend(self, other: _Pending) -> None:
        self.deals.extend(other.deals)
        self.outs.extend(other.outs)
        self.feed_nudges.extend(other.feed_nudges)

    def __bool__(self) -> bool:
        return bool(self.deals or self.outs or self.feed_nudges)


@dataclass
class TraderSession:
    """One trader: the feed, the kernel, the account row and what is persisted."""

    trader: TraderConfig
    feed: Feed
    clock: Clock
    kernel: PulseKernel | None = None
    account: AccountRecord | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    polls: int = 0
    needs_catchup: bool = True
    catchup_last: datetime | None = None
    written_trades: dict[str, Trade] = field(default_factory=dict)
    resync_trades: bool = False
    lockouts: dict[str, tuple[datetime, datetime | None]] = field(default_factory=dict)
    unsaved: _Pending = field(default_factory=_Pending)
    feed_nudges: list[Nudge] = field(default_factory=list)
    last_balance: float | None = None
    timezone: str | None = None
    last_deal_at: datetime | None = None
    last_equity: float | None = None
    last_verdict_id: int | None = None
    excursions: dict[str, Excursion] = field(default_factory=dict)
    dirty: bool = False
    state_saved_at: datetime | None = None
    book: object | None = None
    awaiting_excursion: dict[str, Trade] = field(default_factory=dict)
    unsaved_excursions: dict[str, Excursion] = field(default_factory=dict)
    behavior_state: str | None = None  # the last StateOut's state (coach red mirrors)

    @property
    def trader_id(self) -> int:
        return self.trader.discord_user_id

    @property
    def ready(self) -> bool:
        return self.kernel is not None and self.account is not None


# --------------------------------------------------------------------------- the service


class PulseService:
    """The live loop for every configured trader (see the module docstring)."""

    def __init__(
        self,
        config: PulseConfig,
        *,
        feeds: Mapping[int, Feed] | None = None,
        feed_factory: FeedFactory | None = None,
        engine: AsyncEngine | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        bars_every: int | None = None,
        symbols: Mapping[str, SymbolSpec] | None = None,
        traders: Sequence[TraderConfig] | None = None,
        state_every_seconds: float = 30.0,
    ) -> None:
        """``feeds`` maps a trader's Discord id to its feed (else ``feed_factory`` builds
        one from the trader's config); ``engine`` is an open storage engine (else one is
        opened from ``config.storage.url`` at :meth:`start` and disposed at :meth:`stop`);
        ``bars_every`` overrides ``feeds.bars_every_polls`` (polls between watchlist bar
        fetches; unset in both: about once a minute); ``symbols`` are known specs (others
        are asked of the feed);
        ``state_every_seconds`` spaces out saves of the kernel's state (overrides are
        saved at once; deals never wait for it, see :meth:`_save_state`)."""
        self.config = config
        self.traders = list(traders if traders is not None else config.traders)
        if not self.traders:
            raise ServiceError("config.traders is empty: add a trader (discord_user_id, feed)")
        self._feeds = dict(feeds or {})
        self._feed_factory = feed_factory
        self.engine: AsyncEngine | None = engine
        self._own_engine = engine is None
        self._clock = clock
        self._sleep = sleep
        self.state_every = timedelta(seconds=state_every_seconds)
        interval = config.feeds.poll_interval_seconds
        if bars_every is None:  # an explicit argument (tests, demo, bench) wins over config
            bars_every = config.feeds.bars_every_polls
        self.bars_every = bars_every if bars_every is not None else max(1, round(60 / interval))
        self.symbols: dict[str, SymbolSpec] = dict(symbols or {})
        self.on_out_events: list[OutListener] = []
        self.sessions: dict[int, TraderSession] = {}
        self.calendar = TradingCalendar.from_limits(config.risk_limits)
        self.scorer = ConfluenceScorer(config)
        self._scores: dict[tuple[str, str], ConfluenceResult] = {}
        self._bars: dict[tuple[str, str], list[Bar]] = {}
        self._score_errors: dict[tuple[str, str], str] = {}
        self._stopping = asyncio.Event()
        self._started = False
        self._no_spec: dict[str, datetime] = {}
        self._running = 0
        self._idle = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    @property
    def db(self) -> AsyncEngine:
        if self.engine is None:
            raise ServiceError("the service is not started: await service.start() first")
        return self.engine

    def _feed_for(self, trader: TraderConfig) -> Feed:
        feed = self._feeds.get(trader.discord_user_id)
        if feed is not None:
            return feed
        if self._feed_factory is None:
            raise ServiceError(
                f"traders[{trader.discord_user_id}]: no feed given for this trader "
                f"(feed: {trader.feed}); pass feeds={{id: feed}} or a feed_factory"
            )
        return self._feed_factory(trader)

    async def start(self) -> None:
        """Open storage and rebuild every trader's day (a trader whose feed and storage
        cannot identify the account yet is retried by the poll loop)."""
        if self._started:
            return
        if self.engine is None:
            self.engine = await open_database(self.config.storage.url,
                                              echo=self.config.storage.echo)
        for trader in self.traders:
            feed = self._feed_for(trader)
            s = TraderSession(trader, feed, self._clock or feed.clock)
            s.feed.subscribe(self._feed_listener(s))
            self.sessions[s.trader_id] = s
            try:
                await s.feed.connect()
            except FeedError as e:
                log.warning("trader %s: feed did not connect at start: %s", s.trader_id, e)
            await self._open_session(s)
        self._started = True

    async def stop(self) -> None:
        """Stop the loops (waiting for a poll in progress), write what is unsaved, save
        the kernel states, close the feeds (and our engine)."""
        self._stopping.set()
        if self._running and not self._idle.is_set():
            # Bounded: a poll stuck in a feed call must not hold the shutdown forever.
            grace = STOP_GRACE_SECONDS + self.config.feeds.poll_interval_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=grace)
        for s in self.sessions.values():
            if s.ready:
                async with s.lock:
                    if s.unsaved or s.feed_nudges:
                        await self._persist(s, _Pending())
                    await self._save_state(s, force=True)
            try:
                await s.feed.close()
            except FeedError as e:  # pragma: no cover - closing is best effort
                log.warning("trader %s: feed close: %s", s.trader_id, e)
        if self._own_engine and self.engine is not None:
            await self.engine.dispose()
            self.engine = None
        self._started = False

    async def __aenter__(self) -> PulseService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _feed_listener(self, s: TraderSession) -> Callable[[Nudge], None]:
        def listen(n: Nudge) -> None:
            # The feed knows no trader: make the nudge the trader's (and its key unique
            # per trader, as the outbox's dedupe key is global).
            s.feed_nudges.append(n.model_copy(update={
                "trader_id": s.trader_id, "dedupe_key": f"{s.trader_id}:{n.dedupe_key}",
            }))
        return listen

    # ------------------------------------------------------------------ restart: rebuild

    async def _identify_account(self, s: TraderSession) -> AccountRecord | None:
        t = s.trader
        now = s.clock()
        known_trader = await repo_traders.get_trader(self.db, t.discord_user_id)
        if known_trader is None:
            # Only a new trader takes the config's name and timezone: /settings owns them
            # afterwards, and a restart must not undo the trader's choice.
            await repo_traders.upsert_trader(self.db, t.discord_user_id, at=now,
                                             name=t.name or None, timezone=t.timezone)
            s.timezone = t.timezone
        else:
            s.timezone = known_trader.timezone
        try:
            snap = await s.feed.account()
        except FeedError as e:
            log.warning("trader %s: account unknown at start: %s", s.trader_id, e)
            snap = None
        if snap is not None:
            login = t.account_login or snap.login or t.discord_user_id
            server = snap.server or t.feed
            return await repo_traders.ensure_account(
                self.db, login, at=now, server=server, trader_id=t.discord_user_id,
                currency=snap.currency, initial_balance=snap.balance,
            )
        known = await repo_traders.accounts_for_trader(self.db, t.discord_user_id)
        if t.account_login is not None:
            known = [a for a in known if a.login == t.account_login] or known
        return known[0] if known else None

    def _kernel_kwargs(self, s: TraderSession, account: AccountRecord) -> dict[str, Any]:
        initial = self.config.risk_limits.initial_balance or account.initial_balance or None
        return {
            "symbols": dict(self.symbols),
            "initial_balance": initial,
            "trader_tz": s.timezone or s.trader.timezone,
            "currency": account.currency,
            "trader_id": s.trader_id,
        }

    async def _open_session(self, s: TraderSession) -> bool:
        """Identify the account and rebuild the kernel; False if not possible yet."""
        account = await self._identify_account(s)
        if account is None:
            return False
        await self._learn_symbols(s, self.config.feeds.watchlist.symbols)
        kw = self._kernel_kwargs(s, account)
        saved = await repo_risk.load_risk_state(self.db, account.id)
        kernel: PulseKernel | None = None
        if saved is not None and saved[0].get("version") == STATE_VERSION:
            try:
                kernel = PulseKernel.restore(saved[0]["kernel"], self.config, **kw)
                s.lockouts = {k: (datetime.fromisoformat(a), datetime.fromisoformat(c)
                                  if c else None)
                              for k, (a, c) in saved[0].get("lockouts", {}).items()}
            except (KeyError, ValueError, TypeError) as e:
                log.warning("trader %s: saved kernel state unusable (%s); rebuilding from "
                            "stored deals", s.trader_id, e)
                kernel = None
        now = s.clock()
        stored = await repo_deals.load_deals(self.db, account.id, since=now - LOOKBACK)
        # Whole positions: a trade opened before the lookback still gets its opening deal.
        pids = {d.position_id for d in stored if d.is_trade}
        if pids:
            whole = await repo_deals.load_deals(self.db, account.id, position_ids=pids)
            stored = sorted({d.ticket: d for d in [*stored, *whole]}.values(),
                            key=lambda d: d.sort_key)
        pending = _Pending()
        if kernel is None:
            # Stored deals were persisted with their nudges (one transaction): replay
            # them silently.
            kernel = PulseKernel.rebuild(stored, self.config, **kw)
        else:
            # Stored deals the saved state does not know (written by an import, since
            # ours go in the same transaction as the state): learn them silently, they
            # are history, not news.
            kernel.ingest_deals(stored)
        s.kernel = kernel
        s.account = account
        kernel.book.take_changes()  # what is stored already is in sync
        s.behavior_state = kernel.report().state.value  # a restart is no new turn to red
        await self._restore_excursions(s, account.id, now)
        # Time moves on to now: lockouts that ended while we were down end now (nudged).
        pending.outs.extend(kernel.process(ClockEvent(now)))
        last = max((d.time for d in stored), default=None)
        s.book = kernel.book
        s.catchup_last = last
        async with s.lock:
            await self._catch_up(s, pending, now, last)
            await self._persist(s, pending, now)
            await self._save_state(s, force=True)
        return True

    async def _catch_up(self, s: TraderSession, pending: _Pending, now: datetime,
                        last_stored: datetime | None) -> None:
        """Fetch the feed's history since the start of the day (minus the overlap, or
        since the last stored deal when that is earlier) and ingest it once."""
        assert s.kernel is not None
        overlap = timedelta(minutes=self.config.feeds.history_overlap_minutes)
        _, day_start, _ = self.calendar.bounds(now)
        since = day_start - overlap
        if last_stored is not None:
            since = min(since, last_stored - overlap)
        since = max(since, now - MAX_CATCHUP)
        try:
            history = await s.feed.history_deals(since, now + timedelta(days=1))
        except FeedError as e:
            log.warning("trader %s: history catch-up failed, retrying next poll: %s",
                        s.trader_id, e)
            s.needs_catchup = True
            return
        s.needs_catchup = False
        await self._ingest(s, history, pending)
        reset = getattr(s.feed, "reset_cursor", None)
        if callable(reset):
            reset(now)

    # ------------------------------------------------------------------ the poll

    async def _learn_symbols(self, s: TraderSession, names: Iterable[str]) -> None:
        """Ask the feed for specs the kernels lack (sizing needs them); a symbol the feed
        refused is asked again only after :data:`SPEC_RETRY`."""
        now = s.clock()
        for name in names:
            if name in self.symbols:
                continue
            refused = self._no_spec.get(name)
            if refused is not None and now - refused < SPEC_RETRY:
                continue
            try:
                self.symbols[name] = await s.feed.symbol_spec(name)
            except (FeedError, ValueError) as e:
                log.info("trader %s: no spec for %s: %s", s.trader_id, name, e)
                self._no_spec[name] = now
                continue
            self._no_spec.pop(name, None)
            for other in self.sessions.values():
                if other.kernel is not None:
                    _add_symbol(other.kernel, self.symbols[name])

    async def _stops_for(self, s: TraderSession, deals: Sequence[Deal]) -> dict[int, float]:
        """Stops of the positions new entries opened (only the position knows its stop)."""
        if not any(d.is_trade and d.entry in (DealEntry.IN, DealEntry.INOUT) for d in deals):
            return {}
        try:
            positions = await s.feed.positions()
        except FeedError:
            return {}
        return {p.identifier: p.sl for p in positions if p.sl is not None}

    async def _ingest(self, s: TraderSession, deals: Sequence[Deal], pending: _Pending) -> None:
        """Deals through the kernel (duplicates count once) and into ``pending``."""
        assert s.kernel is not None
        if not deals:
            return
        fresh = [d for d in deals if d.ticket not in s.kernel.book]
        if not fresh:
            return
        await self._learn_symbols(s, {d.symbol for d in fresh if d.symbol})
        stops = await self._stops_for(s, fresh)
        events: list[InEvent] = [
            DealEvent(d.time, d, stops.get(d.position_id)
                      if d.entry in (DealEntry.IN, DealEntry.INOUT) else None)
            for d in fresh
        ]
        pending.deals.extend(fresh)
        pending.outs.extend(s.kernel.process_many(events))
        s.dirty = True
        newest = max(d.time for d in fresh)
        if s.last_deal_at is None or newest > s.last_deal_at:
            s.last_deal_at = newest

    def _equity_event(self, s: TraderSession, balance: float, equity: float,
                      at: datetime) -> EquityEvent | None:
        """A snapshot worth logging: the balance moved, equity moved by >= 0.05% of it,
        or the kernel's balance disagrees with the terminal's.

        Every kernel event is kept in its log (and saved state), so a snapshot per poll
        would grow it by 86,400 a day; small floating moves change no rule. The kernel
        takes a deal at or before a snapshot as already in its balance (a fill reported a
        poll late is not counted twice). A snapshot is therefore never stamped before a
        deal already ingested: it was taken after that deal was listed, so it holds its
        money, whatever a broker clock a few seconds ahead of ours stamped on the deal;
        and a disagreement (a fill the terminal listed after the snapshot that already
        held it) is re-anchored by logging the next snapshot."""
        assert s.kernel is not None
        step = 0.0005 * max(abs(balance), 1.0)
        believed = s.kernel.risk_state.balance
        if (s.last_balance is not None and s.last_equity is not None
                and abs(balance - s.last_balance) < 0.005
                and abs(equity - s.last_equity) < step
                and (believed is None or abs(believed - balance) < 0.005)):
            return None
        s.last_balance, s.last_equity = balance, equity
        if s.last_deal_at is not None and at < s.last_deal_at:
            at = s.last_deal_at
        return EquityEvent(at, balance, equity)

    async def poll_once(self, trader_id: int | None = None) -> list[OutEvent]:
        """One poll of one trader (or of every trader): deals and account through the
        kernel, everything persisted, subscribers told. Never raises for feed trouble."""
        if trader_id is None:
            out: list[OutEvent] = []
            for tid in list(self.sessions):
                out.extend(await self.poll_once(tid))
            return out
        s = self._session(trader_id)
        if not s.ready and not await self._open_session(s):
            await self._flush_feed_only(s)
            return []
        assert s.kernel is not None
        s.polls += 1
        try:
            deals = await s.feed.poll_deals()
        except FeedError as e:
            log.info("trader %s: poll_deals: %s", s.trader_id, e)
            deals = []
        try:
            snap = await s.feed.account()
        except FeedError as e:
            log.info("trader %s: account: %s", s.trader_id, e)
            snap = None
        now = s.clock()
        pending = _Pending()
        async with s.lock:
            if s.needs_catchup:
                await self._catch_up(s, pending, now, s.catchup_last)
            await self._ingest(s, deals, pending)
            if snap is not None:
                ev = self._equity_event(s, snap.balance, snap.equity, snap.time)
                if ev is not None:
                    pending.outs.extend(s.kernel.process(ev))
                    s.dirty = True
            pending.outs.extend(s.kernel.process(ClockEvent(now)))
            # Feed health nudges go to subscribers too (the outbox worker is woken by them).
            outs = list(pending.outs) + [_nudge_out(n) for n in s.feed_nudges]
            await self._persist(s, pending, now)
        await self._notify(s.trader_id, outs)
        async with s.lock:
            await self._save_state(s)
        if self.bars_every and (s.polls - 1) % self.bars_every == 0 \
                and s is self._market_session():
            await self.refresh_scores()
        return outs

    async def run(self, *, max_polls: int | None = None) -> None:
        """Poll every trader every ``feeds.poll_interval_seconds`` until :meth:`stop`
        (or ``max_polls`` polls each); one trader's trouble never stops another's loop."""
        await self.start()
        self._stopping.clear()
        self._running += 1
        self._idle.clear()
        try:
            await asyncio.gather(*(self._loop(s, max_polls) for s in self.sessions.values()))
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def _pause(self, seconds: float) -> None:
        """The poll interval; with the default sleep, :meth:`stop` cuts it short."""
        if self._sleep is not asyncio.sleep:
            await self._sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _loop(self, s: TraderSession, max_polls: int | None) -> None:
        n = 0
        interval = self.config.feeds.poll_interval_seconds
        while not self._stopping.is_set() and (max_polls is None or n < max_polls):
            try:
                await self.poll_once(s.trader_id)
            except Exception:  # the loop must survive anything a poll can throw
                log.exception("trader %s: poll failed; continuing", s.trader_id)
            n += 1
            if max_polls is not None and n >= max_polls:
                break
            await self._pause(interval)

    # ------------------------------------------------------------------ persistence

    async def _flush_feed_only(self, s: TraderSession) -> None:
        """Feed nudges of a trader whose account is not known yet still reach the outbox."""
        nudges, s.feed_nudges = s.feed_nudges, []
        done: list[OutEvent] = []
        for n in nudges:
            try:
                await repo_outbox.enqueue_nudge(self.db, n)
            except Exception:
                s.feed_nudges.append(n)
                log.exception("trader %s: could not enqueue %s", s.trader_id, n.kind)
            else:
                done.append(_nudge_out(n))
        await self._notify(s.trader_id, done)

    async def _persist(self, s: TraderSession, pending: _Pending,
                       at: datetime | None = None) -> bool:
        """Write a poll's results (and any earlier unsaved ones) in one transaction."""
        assert s.kernel is not None and s.account is not None
        work = _Pending()
        work.extend(s.unsaved)
        work.extend(pending)
        work.feed_nudges.extend(s.feed_nudges)
        s.feed_nudges = []
        at = at or s.clock()
        changed, removed = s.kernel.book.take_changes()
        if s.resync_trades:
            changed = s.kernel.book.trades()
        swapped = s.book is not s.kernel.book  # the kernel replayed its log: a new book
        if not (work or changed or removed or swapped or _lockouts_moved(s)):
            return True  # an idle poll writes nothing
        try:
            async with self.db.begin() as conn:
                rows, gone = await self._write(conn, s, work, changed, removed, at)
        except Exception:
            log.exception("trader %s: storage write failed; kept for the next poll",
                          s.trader_id)
            s.unsaved = work
            s.resync_trades = True  # the changes taken above were not written
            return False
        s.unsaved = _Pending()
        s.resync_trades = False
        s.book = s.kernel.book
        for t in rows:
            s.written_trades[t.trade_id] = t
            if t.close_time is not None and t.trade_id not in s.excursions:
                s.awaiting_excursion[t.trade_id] = t
        for g in gone:
            s.written_trades.pop(g, None)
            s.awaiting_excursion.pop(g, None)
        return True

    async def _write(self, conn: AsyncConnection, s: TraderSession, work: _Pending,
                     changed: list[Trade], removed: list[str],
                     at: datetime) -> tuple[list[Trade], set[str]]:
        """The poll's rows; returns the trades upserted and the trade ids deleted."""
        assert s.kernel is not None and s.account is not None
        acct, tid = s.account.id, s.trader_id
        if work.deals:
            await repo_deals.insert_deals(conn, acct, work.deals)
        rows: list[Trade] = []
        if changed:
            # The kernel's copy carries the stop it learned from the position; a trade
            # equal to what this process last wrote is skipped (a kernel replay
            # reports every trade as changed).
            current = {t.trade_id: t for t in s.kernel.trades()}
            rows = [r for r in (current.get(t.trade_id, t) for t in changed)
                    if s.written_trades.get(r.trade_id) != r]
            if rows:
                await repo_deals.upsert_trades(conn, acct, rows)
        # Ids a late deal renumbered away (also across a kernel rebuild, which starts a
        # new book): only ids this process wrote, never imported history it never knew.
        gone = set(removed)
        if s.book is not s.kernel.book:
            live = {t.trade_id for t in s.kernel.book.trades()}
            gone |= {t for t in s.written_trades if t not in live}
        if gone:
            await repo_deals.delete_trades(conn, acct, gone)
        for o in work.outs:
            if isinstance(o, NudgeOut):
                # with its coach mirrors, in this transaction (the worker need not guess)
                await enqueue_with_mirrors(conn, self.config, o.nudge)
            elif isinstance(o, StateOut):
                await self._mirror_state(conn, s, o)
            elif isinstance(o, ViolationOut):
                await repo_risk.add_violation(conn, Violation(
                    account_id=acct, rule=o.rule, ticket=o.ticket,
                    at=o.at, message=o.message))
            elif isinstance(o, VerdictOut):
                s.last_verdict_id = await repo_journal.add_verdict(
                    conn, o.verdict, trader_id=tid, account_id=acct)
            elif isinstance(o, OverrideOut) and o.record.accepted:
                await self._write_override(conn, s, o.record)
                s.state_saved_at = None  # not recoverable from deals: save the state now
        for n in work.feed_nudges:
            await enqueue_with_mirrors(conn, self.config, n)
        await self._write_lockouts(conn, s)
        return rows, gone

    async def _mirror_state(self, conn: AsyncConnection, s: TraderSession,
                            o: StateOut) -> None:
        """A trader turning red is mirrored to their consenting coaches (the trader got
        the nudges that made them red); only the turn, not every score change while red."""
        was, s.behavior_state = s.behavior_state, o.state
        if o.state == BehaviorState.RED and was != BehaviorState.RED:
            await mirror_red_state(conn, self.config, s.trader_id, o.at, o.score,
                                   o.flags, o.deductions)

    async def _save_state(self, s: TraderSession, *, force: bool = False) -> None:
        """Save the kernel's state (its event log, clock and emitted keys) on its own.

        Not in the poll's transaction: exporting the log costs time that grows with it,
        and a deal's nudge must not wait for that. A state older than the stored deals is
        safe: at restart the deals it lacks are replayed silently (their nudges went to
        the outbox with them). Overrides are not deals, so one forces a save at once.
        Saved at most every ``state_every_seconds`` of the session's clock otherwise."""
        assert s.kernel is not None and s.account is not None
        now = s.clock()
        due = s.state_saved_at is None or now - s.state_saved_at >= self.state_every
        if not (force or (s.dirty and due)):
            return
        data = {
            "version": STATE_VERSION,
            "kernel": s.kernel.export_state(),
            "risk": s.kernel.risk_state.model_dump(mode="json"),
            "lockouts": {k: [a.isoformat(), c.isoformat() if c else None]
                         for k, (a, c) in s.lockouts.items()},
        }
        try:
            await repo_risk.save_risk_state(self.db, s.account.id, data, now)
        except Exception:
            log.exception("trader %s: saving the kernel state failed; retried later",
                          s.trader_id)
            return
        s.dirty = False
        s.state_saved_at = now

    async def _write_override(self, conn: AsyncConnection, s: TraderSession,
                              rec: KernelOverride) -> None:
        assert s.account is not None
        rule = rec.rule if rec.rule in _RULES else "cooling_period"
        await repo_risk.add_override(conn, OverrideRecord(
            trader_id=s.trader_id, account_id=s.account.id, rule=rule,
            reason=rec.reason, at=rec.at, verdict_id=s.last_verdict_id))
        await repo_journal.add_journal_entry(conn, JournalEntry(
            trader_id=s.trader_id, kind=JournalKind.OVERRIDE, at=rec.at, text=rec.reason,
            rule=rule, verdict_id=s.last_verdict_id))

    async def _write_lockouts(self, conn: AsyncConnection, s: TraderSession) -> None:
        """Mirror the kernel's lockouts into the lockouts table (new, and overridden)."""
        assert s.kernel is not None and s.account is not None
        st = s.kernel.risk_state
        for attr, kind in _LOCKOUT_KINDS:
            lk: KernelLockout | None = getattr(st, attr)
            if lk is None:
                continue
            key = _slot_key(attr, kind)
            known = s.lockouts.get(key)
            if known is None or known[0] != lk.start:
                await repo_risk.add_lockout(conn, Lockout(
                    account_id=s.account.id, kind=kind, started_at=lk.start, until=lk.until,
                    reason=_lockout_reason(lk)))
                known = (lk.start, None)
            if lk.overridden_at is not None and known[1] is None:
                await repo_risk.clear_lockouts(conn, s.account.id, lk.overridden_at, kind=kind)
                known = (lk.start, lk.overridden_at)
            s.lockouts[key] = known

    async def _notify(self, trader_id: int, outs: list[OutEvent]) -> None:
        if not outs:
            return
        for listener in list(self.on_out_events):
            try:
                result = listener(trader_id, outs)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("out-event subscriber %r failed", listener)

    # ------------------------------------------------------------------ bars and scores

    def _market_session(self) -> TraderSession | None:
        """The session whose feed supplies watchlist bars (the first ready one)."""
        return next((s for s in self.sessions.values() if s.ready), None)

    async def refresh_scores(self) -> dict[tuple[str, str], ConfluenceResult]:
        """Fetch the watchlist's bars, score them, and update MAE/MFE of closed trades."""
        s = self._market_session()
        if s is None:
            return dict(self._scores)
        wl = self.config.feeds.watchlist
        for symbol in wl.symbols:
            for tf in wl.timeframes:
                try:
                    frame = await s.feed.bars(symbol, tf, self.config.feeds.bars_count)
                except (FeedError, ValueError) as e:
                    self._score_errors[(symbol, tf)] = str(e)
                    continue
                if frame.empty:
                    continue
                try:
                    result = await asyncio.to_thread(self.scorer.score, frame, symbol)
                except Exception as e:  # bad bars must not stop the loop
                    self._score_errors[(symbol, tf)] = f"{type(e).__name__}: {e}"
                    log.warning("score %s %s failed: %s", symbol, tf, e)
                    continue
                self._scores[(symbol, tf)] = result
                self._score_errors.pop((symbol, tf), None)
                self._bars[(symbol, tf)] = _bars_of(frame)
        for sess in self.sessions.values():
            self._update_excursions(sess)
            await self._save_excursions(sess)
        return dict(self._scores)

    def latest_scores(self) -> dict[tuple[str, str], ConfluenceResult]:
        """The latest confluence score per (symbol, timeframe) of the watchlist."""
        return dict(self._scores)

    def score_errors(self) -> dict[tuple[str, str], str]:
        """Why a watchlist (symbol, timeframe) has no fresh score."""
        return dict(self._score_errors)

    def _update_excursions(self, s: TraderSession) -> None:
        order = sorted(self.config.feeds.watchlist.timeframes, key=_tf_minutes)
        for trade_id, trade in list(s.awaiting_excursion.items()):
            for tf in order:
                bars = self._bars.get((trade.symbol, tf))
                if not bars:
                    continue
                ex = excursion(trade, bars)
                if ex is not None:
                    s.excursions[trade_id] = ex
                    s.unsaved_excursions[trade_id] = ex
                    del s.awaiting_excursion[trade_id]
                    break
            else:
                # Bars no longer reach back to the trade: nothing more will come.
                first = min((b[0].time for (sym, _), b in self._bars.items()
                             if sym == trade.symbol and b), default=None)
                if first is not None and first > trade.open_time:
                    del s.awaiting_excursion[trade_id]

    def excursions(self, trader_id: int) -> dict[str, Excursion]:
        """MAE/MFE of the trader's closed trades (stored with the trade, restored at start)."""
        return dict(self._session(trader_id).excursions)

    async def _restore_excursions(self, s: TraderSession, account_id: int,
                                  now: datetime) -> None:
        """Stored MAE/MFE back in memory; the lookback's closed trades without one wait
        for bars again (they closed while we were down or before the bars covered them)."""
        s.excursions.update(await load_excursions(self.db, account_id))
        for t in await repo_deals.load_trades(self.db, account_id,
                                              closed_since=now - LOOKBACK):
            if t.close_time is not None and t.trade_id not in s.excursions:
                s.awaiting_excursion[t.trade_id] = t

    async def _save_excursions(self, s: TraderSession) -> None:
        """Write the excursions measured since the last save (kept for the next on error)."""
        if not s.unsaved_excursions or s.account is None:
            return
        todo, s.unsaved_excursions = s.unsaved_excursions, {}
        try:
            await save_excursions(self.db, s.account.id, todo)
        except Exception:
            log.exception("trader %s: saving MAE/MFE failed; kept for the next bars",
                          s.trader_id)
            s.unsaved_excursions = {**todo, **s.unsaved_excursions}

    # ------------------------------------------------------------------ facade

    def _session(self, trader_id: int) -> TraderSession:
        s = self.sessions.get(trader_id)
        if s is None:
            known = ", ".join(str(t) for t in self.sessions) or "none"
            raise ServiceError(f"trader {trader_id} is not configured (traders: {known})")
        return s

    def _ready(self, trader_id: int) -> TraderSession:
        s = self._session(trader_id)
        if not s.ready:
            raise ServiceError(
                f"trader {trader_id}: the account is not known yet (feed down at start "
                "and nothing stored); try again when the feed is back"
            )
        return s

    async def _apply(self, s: TraderSession, event: InEvent) -> list[OutEvent]:
        assert s.kernel is not None
        async with s.lock:
            outs = s.kernel.process(event)
            s.dirty = True
            await self._persist(s, _Pending(outs=list(outs)), event.at)
            await self._save_state(s)
        await self._notify(s.trader_id, outs)
        return outs

    async def check(self, trader_id: int, request: TradeRequest) -> Verdict:
        """A pre-trade verdict for ``request`` (persisted with the trader's account)."""
        s = self._ready(trader_id)
        await self._learn_symbols(s, [request.symbol])
        for o in await self._apply(s, CheckEvent(request.time, request)):
            if isinstance(o, VerdictOut):
                return o.verdict
        raise ServiceError("the kernel gave no verdict")  # pragma: no cover

    async def override(self, trader_id: int, rule: str, reason: str,
                       at: datetime | None = None) -> KernelOverride:
        """Override a soft block with a reason; accepted ones are stored (and journaled)."""
        s = self._ready(trader_id)
        for o in await self._apply(s, OverrideEvent(at or s.clock(), rule, reason)):
            if isinstance(o, OverrideOut):
                return o.record
        raise ServiceError("the kernel gave no override answer")  # pragma: no cover

    async def take_break(self, trader_id: int, minutes: int, at: datetime | None = None,
                         reason: str = "") -> list[OutEvent]:
        """Start the trader's own break (/break MINUTES): a soft block under
        ``cooling_period`` until ``at + minutes``, overridable with a reason; a new break
        replaces a running one. The lockout row, the cooling_started nudge and the
        kernel state (the only record of a break: it is no deal) are persisted at once."""
        s = self._ready(trader_id)
        try:
            event = BreakEvent(at or s.clock(), minutes, reason)
        except ValueError as e:
            raise ServiceError(f"break: {e}") from None
        s.state_saved_at = None  # not recoverable from deals: save the state now
        try:
            return await self._apply(s, event)
        except ValueError as e:
            raise ServiceError(f"break: {e}") from None

    def status(self, trader_id: int, at: datetime | None = None) -> TraderStatus:
        """The trader's state right now (plain data for /status and the HTTP API)."""
        s = self._ready(trader_id)
        k = s.kernel
        assert k is not None
        now = at or s.clock()
        rep = k.report()
        st = k.risk_state
        dl = k.risk.daily_loss()
        lockouts: list[LockoutStatus] = []
        for lk in (st.daily_block, st.cooling, st.brk, st.pause):
            if lk is None or not lk.active(now):
                continue
            lockouts.append(LockoutStatus(
                rule=lk.rule, start=lk.start, until=lk.until,
                minutes_left=max(0, -(-int((lk.until - now).total_seconds()) // 60)),
                overridden=lk.overridden, overridable=lk.rule == "cooling_period",
                self_imposed=lk.self_imposed,
            ))
        return TraderStatus(
            trader_id=trader_id, at=now, day=st.day, state=rep.state.value, score=rep.score,
            flags=tuple(sorted({f.id for f in rep.flags})),
            deductions=tuple(f"-{d.points} {d.reason}: {d.detail}" for d in rep.deductions),
            currency=k.currency, balance=st.balance, equity=k.risk.equity,
            day_pnl=dl.pnl if dl else None, daily_loss_limit=dl.limit if dl else None,
            daily_loss_used_percent=dl.used_percent if dl else None,
            trades_today=st.entries_today, max_trades=self.config.risk_limits.max_trades_per_day,
            consecutive_losses=st.consecutive_losses,
            open_trades=sum(1 for t in k.trades() if t.close_time is None),
            lockouts=tuple(lockouts), feed=s.feed.status(),
        )

    async def trades(self, trader_id: int, since: datetime | None = None) -> list[Trade]:
        """The trader's stored trades opened at or after ``since`` (all when None)."""
        s = self._ready(trader_id)
        assert s.account is not None
        return await repo_deals.load_trades(self.db, s.account.id, opened_since=since)

    def kernel(self, trader_id: int) -> PulseKernel:
        """The trader's kernel (read-only use: journal, summaries, the demo)."""
        k = self._ready(trader_id).kernel
        assert k is not None
        return k


# --------------------------------------------------------------------------- helpers

_RULES = frozenset({
    "daily_loss", "max_drawdown", "max_trades", "cooling_period", "position_size",
    "stop_loss_required", "consecutive_losses",
})


def _lockouts_moved(s: TraderSession) -> bool:
    """A lockout started or was overridden since the lockouts table was last written."""
    assert s.kernel is not None
    st = s.kernel.risk_state
    for attr, kind in _LOCKOUT_KINDS:
        lk: KernelLockout | None = getattr(st, attr)
        if lk is None:
            continue
        known = s.lockouts.get(_slot_key(attr, kind))
        if known is None or known[0] != lk.start or (
                lk.overridden_at is not None and known[1] is None):
            return True
    return False


def _nudge_out(n: Nudge) -> NudgeOut:
    return NudgeOut(at=n.at, kind=n.kind, severity=n.severity, text=n.text,
                    dedupe_key=n.dedupe_key, trader_id=n.trader_id, data=dict(n.data))


def _lockout_reason(lk: KernelLockout) -> str:
    if lk.self_imposed:
        return f"self-imposed: {lk.reason or 'no reason given'}"
    if lk.rule == "cooling_period":
        return f"loss {lk.loss:.2f} ({lk.loss_percent:.2f}%) on {lk.trade_id or '-'}"
    if lk.rule == "consecutive_losses":
        return f"{lk.streak} losses in a row"
    return lk.rule


def _add_symbol(kernel: PulseKernel, spec: SymbolSpec) -> None:
    """Teach a running kernel a symbol spec (its enforcer keeps its own copy)."""
    kernel.symbols[spec.name] = spec
    kernel.risk.symbols[spec.name] = spec


def _bars_of(frame: pd.DataFrame) -> list[Bar]:
    try:
        return frame_to_bars(frame)
    except (KeyError, ValueError, TypeError):
        return []


def _tf_minutes(tf: str) -> int:
    unit, n = tf[0], int(tf[1:] or 1)
    return n * {"M": 1, "H": 60, "D": 1440, "W": 10080}.get(unit, 43200)
