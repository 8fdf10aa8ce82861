"""The feed interface the bot uses, whatever sits behind it (MT5, mt5linux bridge, replay).

A feed is async, read-only and converts everything to :mod:`pulse.models` with UTC-aware
times. It owns its health: when the source stops answering it reports one ``feed_down``
nudge, backs off, and reports one ``feed_restored`` when a call succeeds again. Listeners
(the outbox, the kernel wiring) subscribe with :meth:`Feed.subscribe` or drain
:meth:`Feed.take_events`.
"""

from __future__ import annotations

import abc
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pandas as pd

from pulse.config import TIMEFRAMES
from pulse.models import AccountSnapshot, Deal, Nudge, Position, Severity, SymbolSpec

__all__ = [
    "SYMBOL_RE",
    "Clock",
    "DealDeduper",
    "Feed",
    "FeedError",
    "FeedHealth",
    "FeedStatus",
    "FeedUnavailable",
    "NudgeListener",
    "SymbolRefused",
    "check_symbol_syntax",
    "check_timeframe",
    "utc_now",
]

Clock = Callable[[], datetime]
NudgeListener = Callable[[Nudge], Awaitable[None] | None]

#: What a symbol name may contain before it goes anywhere near a terminal (the mt5linux
#: bridge evaluates strings in a remote Python, so quotes, parentheses, spaces and
#: semicolons must never pass). Same alphabet as the config's watchlist validator.
SYMBOL_RE = re.compile(r"[A-Za-z0-9._#+\-]{1,32}")


def utc_now() -> datetime:
    """The default clock of bot/ (pulse/ never reads the clock; tests inject their own)."""
    return datetime.now(UTC)


class FeedError(Exception):
    """A feed call that failed; ``code`` is MT5's ``last_error()`` code when there is one."""

    def __init__(self, message: str, *, code: int | None = None, op: str = "") -> None:
        self.code = code
        self.op = op
        super().__init__(message)


class FeedUnavailable(FeedError):
    """The source is not reachable (disconnected, IPC timeout, backing off)."""


class SymbolRefused(FeedError, ValueError):
    """A symbol that fails the syntax check or is unknown to the terminal; nothing was called."""


def check_symbol_syntax(symbol: object) -> str:
    """Return ``symbol`` if it is a plain symbol name, else raise :class:`SymbolRefused`."""
    if not isinstance(symbol, str) or not SYMBOL_RE.fullmatch(symbol):
        raise SymbolRefused(
            f"symbol {symbol!r} refused: names are 1-32 letters, digits and ._#+- only",
            op="symbol",
        )
    return symbol


def check_timeframe(timeframe: str) -> str:
    if timeframe not in TIMEFRAMES:
        raise FeedError(
            f"timeframe {timeframe!r} unknown; use one of {', '.join(TIMEFRAMES)}", op="bars"
        )
    return timeframe


class FeedHealth(StrEnum):
    NEW = "new"
    UP = "up"
    DOWN = "down"
    CLOSED = "closed"


@dataclass(frozen=True)
class FeedStatus:
    """What /status and the health endpoint show about a feed."""

    name: str
    health: FeedHealth
    since: datetime | None
    last_error: str | None
    failures: int
    retry_at: datetime | None
    server_utc_offset_hours: float | None = None
    offset_source: str = ""


class DealDeduper:
    """Overlapping-window polling without double counting: remembers tickets it returned.

    Each poll asks the source for ``[cursor - overlap, far future]`` so a deal that shows
    up late (the terminal syncing history after a reconnect) is still caught; tickets
    already returned are dropped. Tickets older than ``cursor - 2 * overlap`` are forgotten
    (they can no longer reappear in a window).
    """

    def __init__(self, overlap: timedelta, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.overlap = overlap
        self.cursor = start
        self._seen: dict[int, datetime] = {}

    def window(self) -> tuple[datetime, datetime]:
        """The UTC window to ask for: from ``cursor - overlap``; the end is open (+1 day)."""
        return self.cursor - self.overlap, self.cursor + timedelta(days=1)

    def accept(self, deals: Iterable[Deal], now: datetime) -> list[Deal]:
        """New deals (first time seen), sorted; advances the cursor to ``now``."""
        fresh: dict[int, Deal] = {}
        for d in deals:
            if d.ticket in self._seen or d.ticket in fresh:
                continue
            fresh[d.ticket] = d
        for d in fresh.values():
            self._seen[d.ticket] = d.time
        self.cursor = max(self.cursor, now)
        horizon = self.cursor - 2 * self.overlap
        if len(self._seen) > 256:
            self._seen = {t: at for t, at in self._seen.items() if at >= horizon}
        return sorted(fresh.values(), key=lambda d: d.sort_key)

    def seen(self, ticket: int) -> bool:
        return ticket in self._seen


class Feed(abc.ABC):
    """Async read-only market/account source. Times in and out are UTC-aware."""

    name = "feed"

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self.clock = clock
        self.health = FeedHealth.NEW
        self.health_since: datetime | None = None
        self.last_error: str | None = None
        self.failures = 0
        self.retry_at: datetime | None = None
        self._listeners: list[NudgeListener] = []
        self._events: list[Nudge] = []

    # -- lifecycle -------------------------------------------------------------

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the source (log in); raises :class:`FeedError` with a clear message."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the source; safe to call twice."""

    async def __aenter__(self) -> Feed:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- data ------------------------------------------------------------------

    @abc.abstractmethod
    async def account(self) -> AccountSnapshot:
        """Balance, equity and friends, stamped with the feed's clock."""

    @abc.abstractmethod
    async def positions(self, symbol: str | None = None) -> list[Position]:
        """Open positions (optionally of one symbol)."""

    @abc.abstractmethod
    async def history_deals(self, start: datetime, end: datetime) -> list[Deal]:
        """Every deal with ``start <= time <= end`` (UTC), deduplicated by ticket, sorted."""

    @abc.abstractmethod
    async def poll_deals(self) -> list[Deal]:
        """Deals not returned before (overlapping window, dedupe by ticket), sorted."""

    @abc.abstractmethod
    async def symbol_spec(self, symbol: str) -> SymbolSpec:
        """What sizing needs of ``symbol``."""

    @abc.abstractmethod
    async def bars(self, symbol: str, timeframe: str, count: int) -> pd.DataFrame:
        """The latest ``count`` bars: UTC ``time`` index, MT5 column names, oldest first."""

    @abc.abstractmethod
    async def ticks(self, symbol: str, start: datetime, end: datetime) -> pd.DataFrame:
        """Ticks in ``[start, end]``: UTC ``time`` index; bid, ask, last, volume, flags,
        volume_real and ``time_msc`` (epoch ms, UTC)."""

    # -- health and events -----------------------------------------------------------

    def status(self) -> FeedStatus:
        return FeedStatus(
            self.name, self.health, self.health_since, self.last_error, self.failures, self.retry_at
        )

    def subscribe(self, listener: NudgeListener) -> None:
        """Call ``listener(nudge)`` (sync or async) for every feed_down/feed_restored."""
        self._listeners.append(listener)

    def take_events(self) -> list[Nudge]:
        """Nudges emitted since the last call (for wiring that polls instead of subscribing)."""
        out, self._events = self._events, []
        return out

    async def _emit(self, nudge: Nudge) -> None:
        self._events.append(nudge)
        for listener in self._listeners:
            result = listener(nudge)
            if inspect.isawaitable(result):
                await result

    async def _mark_up(self) -> None:
        """A call succeeded: restored if we were down (one nudge per outage)."""
        was_down = self.health is FeedHealth.DOWN
        down_since = self.health_since
        now = self.clock()
        if self.health is not FeedHealth.UP:
            self.health, self.health_since = FeedHealth.UP, now
        self.failures = 0
        self.retry_at = None
        if was_down:
            await self._emit(
                Nudge(
                    at=now,
                    kind="feed_restored",
                    severity=Severity.INFO,
                    text=f"{self.name} is back: account data is live again.",
                    dedupe_key=f"feed_restored:{self.name}:{_key_time(down_since)}",
                    data={"feed": self.name},
                )
            )

    async def _mark_down(self, message: str, retry_in: timedelta) -> None:
        """A transport failure: one feed_down per outage, then only the retry time moves."""
        now = self.clock()
        self.failures += 1
        self.last_error = message
        self.retry_at = now + retry_in
        if self.health is FeedHealth.DOWN:
            return
        self.health, self.health_since = FeedHealth.DOWN, now
        await self._emit(
            Nudge(
                at=now,
                kind="feed_down",
                severity=Severity.WARNING,
                text=(
                    f"{self.name} is not answering ({message}). Pulse cannot see new fills "
                    "until it is back; rules still apply to what it already knows. "
                    f"Retrying in {retry_in.total_seconds():.0f} s."
                ),
                dedupe_key=f"feed_down:{self.name}:{_key_time(now)}",
                data={"feed": self.name, "error": message},
            )
        )


def _key_time(t: datetime | None) -> str:
    """Outage identity for dedupe keys: stable across restarts, distinct per outage."""
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ") if t else "-"
