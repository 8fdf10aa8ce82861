"""The nudge outbox worker: every nudge is written to storage first, then delivered.

:meth:`OutboxWorker.enqueue` is the only way to send: it writes the row (and its coach
mirrors, :mod:`bot.coach`) in one transaction and wakes the worker loop. The loop
wakes on that event or on a timer (the poll interval, or sooner when a row comes due),
and hands due rows, at most ``batch`` per pass, one at a time to :meth:`process`.

Per row, in this order (all decisions are recorded on the row, nothing is dropped
silently):

1. A row still carrying an in-flight claim was being sent when the process stopped.
   Discord may or may not have accepted it, so it is marked ``failed`` with
   "delivery uncertain" and **not** resent: Pulse prefers a missing nudge to a
   duplicate DM (documented in docs/delivery.md). A row past its ``data["expires_at"]``
   (if the producer set one) is ``suppressed``.
2. A coach mirror whose consent was withdrawn is ``suppressed``.
3. For the trader's own DMs: a muted kind, or DM nudges turned off (summaries
   excepted), is ``suppressed``; inside quiet hours (the trader's timezone) a
   non-critical row is **deferred** to the end of the quiet hours (``next_attempt_at``).
4. Rate limit per (trader, kind, destination): if the same kind went to the same place
   within ``nudge_rate_limit_seconds``, the row is ``suppressed`` ("rate limited");
   summaries and post-trade prompts (one per trade, with its button) are exempt.
5. Claim (one attempt, a lease, an in-flight marker), send, then record the outcome:
   ``sent`` with where it went; DMs closed -> the trader's coach channel or
   ``fallback_channel_id`` (recorded with ``dm_closed``); transient errors retried
   with exponential backoff until ``outbox_max_attempts``; permanent ones ``failed``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

import discord
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.coach import consent_active, dm_fallback_channel, mirror_nudges, should_mirror
from bot.delivery import (
    Delivery,
    DMsClosed,
    OutgoingMessage,
    PermanentDeliveryError,
    TransientDeliveryError,
    reflection_view,
)
from bot.journal_service import trader_timezone
from pulse.config import PulseConfig, hhmm_to_time
from pulse.models import Nudge, Severity
from storage.engine import DB, transaction
from storage.records import OutboxItem, TraderRecord, TraderSettings
from storage.repo_delivery import (
    claim_attempt,
    defer,
    finish_failed,
    finish_retry,
    finish_sent,
    next_due_at,
    recent_sent,
    suppress,
)
from storage.repo_outbox import due_nudges, enqueue_nudge
from storage.repo_traders import get_trader

__all__ = [
    "DM_PREFERENCE_EXEMPT",
    "RATE_LIMIT_EXEMPT",
    "Clock",
    "OutboxPolicy",
    "OutboxWorker",
    "ProcessOutcome",
    "backoff_delay",
    "enqueue_with_mirrors",
    "quiet_hours_end",
    "render_nudge",
    "utc_now",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

RATE_LIMIT_EXEMPT = frozenset({"daily_summary", "weekly_summary", "post_trade_prompt"})
DM_PREFERENCE_EXEMPT = frozenset({"daily_summary", "weekly_summary"})


def utc_now() -> datetime:
    """The real clock (the default; tests inject their own)."""
    return datetime.now(UTC)


# --------------------------------------------------------------------------- pure rules


def quiet_hours_end(now: datetime, tz: tzinfo, start: time, end: time) -> datetime | None:
    """If ``now`` falls in the quiet hours ``start``-``end`` (local time in ``tz``, the
    window may cross midnight), the instant they end (UTC); else None.

    ``start == end`` means no quiet hours. A local end time that does not exist on a
    DST change day resolves like :class:`zoneinfo.ZoneInfo` does (fold 0).
    """
    if start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= t < end
        end_day = local.date()
    else:  # crosses midnight, e.g. 22:30-07:00
        inside = t >= start or t < end
        end_day = local.date() if t < end else local.date() + timedelta(days=1)
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=tz).astimezone(UTC)


def backoff_delay(attempt: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff after the ``attempt``-th failed attempt (1-based)."""
    factor = 2 ** max(0, attempt - 1)
    return min(cap, base * factor)


_TITLES: dict[str, str] = {
    "daily_loss_warning": "Daily loss limit close",
    "daily_loss_hit": "Daily loss limit hit",
    "max_drawdown_warning": "Drawdown limit close",
    "max_drawdown_hit": "Drawdown limit hit",
    "last_trade": "Last trade of the day",
    "max_trades_hit": "Trade limit reached",
    "cooling_started": "Cooling period",
    "cooling_ended": "Cooling period over",
    "break_started": "Break",
    "break_ended": "Break over",
    "revenge": "Revenge trading?",
    "overconfidence": "Overconfidence?",
    "fatigue": "Fatigue",
    "overtrading": "Overtrading",
    "tilt": "Tilt",
    "win_streak": "Win streak",
    "post_trade_prompt": "How did that trade go?",
    "setup_memory": "Setup memory",
    "violation": "Rule violation",
    "feed_down": "Feed down",
    "feed_restored": "Feed restored",
    "daily_summary": "Daily summary",
    "weekly_summary": "Weekly summary",
    "state_red": "Red state",
}
_SELF_IMPOSED_TITLES: dict[str, str] = {
    "cooling_started": "Your break",
    "cooling_ended": "Your break is over",
}
"""A /break the trader asked for reuses the cooling kinds (``data.self_imposed``)."""
_COLORS = {
    Severity.INFO: discord.Colour.blurple(),
    Severity.WARNING: discord.Colour.orange(),
    Severity.CRITICAL: discord.Colour.red(),
}

Audience = Literal["trader", "fallback", "coach"]


def _attachment(data: dict[str, Any]) -> tuple[str, bytes] | None:
    att = data.get("attachment")
    if not isinstance(att, dict) or "png_b64" not in att:
        return None
    try:
        return str(att.get("filename") or "chart.png"), base64.b64decode(att["png_b64"])
    except (binascii.Error, TypeError, ValueError):
        return None


def render_nudge(
    nudge: Nudge, audience: Audience, *, trader_name: str = ""
) -> OutgoingMessage:
    """The Discord message for a nudge: an embed (title by kind, colour by severity),
    the chart PNG if one is attached, and the reflection button on a post-trade prompt.

    ``fallback``: posted in a channel because the trader's DMs are closed, so it
    mentions the trader. ``coach``: a mirror, titled with the trader's name, no button.
    """
    titles = _SELF_IMPOSED_TITLES if nudge.data.get("self_imposed") is True else {}
    title = str(nudge.data.get("title") or "") or titles.get(nudge.kind) or _TITLES.get(
        nudge.kind, nudge.kind.replace("_", " ").capitalize()
    )
    if audience == "coach":
        who = trader_name or (f"<@{nudge.trader_id}>" if nudge.trader_id else "A trader")
        title = f"{who}: {title}"
    embed = discord.Embed(
        title=title[:256],
        description=nudge.text[:4096],
        colour=_COLORS.get(nudge.severity, discord.Colour.blurple()),
        timestamp=nudge.at,
    )
    embed.set_footer(text=f"Pulse · {nudge.kind}")
    file = _attachment(nudge.data)
    if file is not None:
        embed.set_image(url=f"attachment://{file[0]}")
    content = None
    mention = None
    if audience == "fallback" and nudge.trader_id is not None:
        mention = nudge.trader_id
        content = f"<@{nudge.trader_id}> your DMs are closed, so Pulse posts this here."
    view = None
    trade_id = nudge.data.get("trade_id")
    if nudge.kind == "post_trade_prompt" and trade_id and audience != "coach":
        view = reflection_view(str(trade_id))
    return OutgoingMessage(
        content=content,
        embed=embed,
        file_name=file[0] if file else None,
        file_bytes=file[1] if file else None,
        view=view,
        mention_user_id=mention,
    )


def _expiry(data: dict[str, Any]) -> datetime | None:
    """``data["expires_at"]`` (ISO 8601, aware): after it the nudge is no longer worth
    sending (e.g. "cooling ends in 10 min" deferred past quiet hours)."""
    raw = data.get("expires_at")
    if not isinstance(raw, str):
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _destination(data: dict[str, Any]) -> str:
    """The rate-limit destination key of a row: the trader, a coach, or a channel."""
    mirror = data.get("mirror")
    if isinstance(mirror, dict):
        return f"coach:{mirror.get('coach_user_id')}"
    to = data.get("to")
    if isinstance(to, dict):
        return f"channel:{to.get('channel_id')}"
    return "trader"


# --------------------------------------------------------------------------- writing


async def enqueue_with_mirrors(
    db: DB, config: PulseConfig, nudge: Nudge, *, not_before: datetime | None = None
) -> int | None:
    """Write a nudge and its coach mirrors in one transaction (the caller's, when ``db``
    is a connection: the kernel service can call this inside its poll transaction).

    Returns the row id, or None when the dedupe key was already queued. Call
    :meth:`OutboxWorker.wake` after the commit for prompt delivery.
    """
    async with transaction(db) as conn:
        item_id = await enqueue_nudge(conn, nudge, not_before=not_before)
        if item_id is not None:
            for copy in await mirror_nudges(conn, config, nudge):
                await enqueue_nudge(conn, copy, not_before=not_before)
    return item_id


# --------------------------------------------------------------------------- worker


@dataclass(frozen=True)
class OutboxPolicy:
    """Timing knobs of the worker (the limits themselves come from the config)."""

    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)  # longer than DiscordDelivery.timeout
    batch: int = 50
    # after a 403/50007, DMs to that trader are not tried again for this long (each
    # refused request counts toward Discord's invalid-request limit)
    dm_closed_memory: timedelta = timedelta(minutes=30)
    poll_interval: float = 1.0  # a safety net: enqueue() and wake() wake the loop at once


@dataclass(frozen=True)
class ProcessOutcome:
    """What happened to one row in one pass."""

    item_id: int
    status: Literal["sent", "retry", "failed", "deferred", "suppressed", "skipped"]
    detail: str = ""
    to: str = ""
    channel_id: int | None = None


class OutboxWorker:
    """Writes nudges to the outbox and delivers them (see the module docstring)."""

    def __init__(
        self,
        db: AsyncEngine,
        config: PulseConfig,
        delivery: Delivery,
        *,
        clock: Clock = utc_now,
        policy: OutboxPolicy | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.delivery = delivery
        self.clock = clock
        self.policy = policy or OutboxPolicy()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._tz_cache: dict[tuple[int, str | None, datetime | None], tzinfo] = {}
        self._dms_closed: dict[int, datetime] = {}  # trader -> do not try DMs before

    # -- writing

    async def enqueue(self, nudge: Nudge, *, not_before: datetime | None = None) -> int | None:
        """Queue a nudge (and its coach mirrors) and wake the worker.

        Returns the row id, or None when the dedupe key was already queued (then
        nothing more is written: enqueueing twice sends once).
        """
        item_id = await enqueue_with_mirrors(self.db, self.config, nudge, not_before=not_before)
        if item_id is not None:
            self._wake.set()
        return item_id

    def wake(self) -> None:
        """Look at the outbox now (for producers that wrote rows some other way)."""
        self._wake.set()

    # -- the loop

    def start(self) -> None:
        """Start the loop in the running event loop (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="outbox")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                outcomes = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying after the poll interval")
                outcomes = []
            if self._stopping:
                break
            if len(outcomes) >= self.policy.batch:
                continue  # more may be due right now
            delay = self.policy.poll_interval
            with contextlib.suppress(Exception):
                due = await next_due_at(self.db)
                if due is not None:
                    delay = min(delay, (due - self.clock()).total_seconds())
            delay = max(delay, 0.05)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def stop(self) -> None:
        """Stop the loop after the row being sent (never interrupting a send)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def flush(self, timeout: float = 10.0) -> list[ProcessOutcome]:
        """Graceful shutdown: stop the loop, then deliver what is due now, for at most
        ``timeout`` seconds. Rows not yet due (retries, quiet hours) stay queued."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        done: list[ProcessOutcome] = []

        async def drain() -> None:
            await self.stop()
            while True:
                batch = await self.run_once()
                done.extend(batch)
                if not any(o.status in ("sent", "failed", "suppressed") for o in batch):
                    return

        try:
            await asyncio.wait_for(drain(), timeout=max(0.0, deadline - loop.time()))
        except TimeoutError:
            log.warning("outbox flush: still delivering after %.1fs; the rest stays queued",
                        timeout)
        return done

    async def run_once(self) -> list[ProcessOutcome]:
        """One pass over the due rows (at most ``policy.batch``)."""
        async with self._lock:
            now = self.clock()
            items = await due_nudges(self.db, now, limit=self.policy.batch)
            traders: dict[int, TraderRecord | None] = {}
            out: list[ProcessOutcome] = []
            for item in items:
                out.append(await self.process(item, traders))
            return out

    # -- one row

    async def process(
        self, item: OutboxItem, traders: dict[int, TraderRecord | None] | None = None
    ) -> ProcessOutcome:
        """Decide and act on one due row (see the module docstring for the order)."""
        cache = traders if traders is not None else {}
        nudge = item.nudge
        data = nudge.data
        now = self.clock()
        delivery_meta = data.get("delivery") or {}
        if isinstance(delivery_meta, dict) and "claimed_at" in delivery_meta:
            reason = (
                "delivery uncertain: the process stopped while sending (claimed at "
                f"{delivery_meta['claimed_at']}); not resent to avoid a duplicate"
            )
            await finish_failed(self.db, item.id, reason)
            return ProcessOutcome(item.id, "failed", reason)

        expires = _expiry(data)
        if expires is not None and now >= expires:
            return await self._suppress(item, f"expired at {expires.isoformat()} before sending")

        trader: TraderRecord | None = None
        if nudge.trader_id is not None:
            if nudge.trader_id not in cache:
                cache[nudge.trader_id] = await get_trader(self.db, nudge.trader_id)
            trader = cache[nudge.trader_id]

        mirror = data.get("mirror")
        if isinstance(mirror, dict) and nudge.trader_id is not None:
            coach = int(mirror.get("coach_user_id", 0))
            if not await consent_active(self.db, nudge.trader_id, coach):
                return await self._suppress(item, "coach consent withdrawn")

        to = data.get("to")
        channel_id = int(to["channel_id"]) if isinstance(to, dict) and "channel_id" in to else None
        to_trader = channel_id is None and not isinstance(mirror, dict)
        if to_trader:
            if nudge.trader_id is None:
                return await self._fail(item, "no trader and no channel to send to")
            if should_mirror(nudge):
                await self._fan_out(nudge)
            settings = trader.settings if trader is not None else TraderSettings()
            if nudge.kind in settings.muted_kinds:
                return await self._suppress(item, f"{nudge.kind} muted by the trader")
            dm_on = (
                settings.dm_nudges if settings.dm_nudges is not None
                else self.config.discord.dm_nudges
            )
            if not dm_on and nudge.kind not in DM_PREFERENCE_EXEMPT:
                return await self._suppress(item, "DM nudges turned off")
            if nudge.severity is not Severity.CRITICAL:
                until = await self._quiet_until(nudge.trader_id, trader, now)
                if until is not None:
                    reason = f"deferred: quiet hours until {until.isoformat()}"
                    await defer(self.db, item.id, until, reason)
                    return ProcessOutcome(item.id, "deferred", reason)

        window = self.config.discord.nudge_rate_limit_seconds
        if window > 0 and nudge.kind not in RATE_LIMIT_EXEMPT:
            dest = _destination(data)
            recent = await recent_sent(
                self.db, nudge.trader_id, nudge.kind, now - timedelta(seconds=window)
            )
            same = [r for r in recent if _destination(r.nudge.data) == dest and r.id != item.id]
            if same:
                last = same[-1].sent_at
                return await self._suppress(
                    item,
                    f"rate limited: {nudge.kind} already sent to {dest} at "
                    f"{last.isoformat() if last else '?'} (limit {window}s)",
                )

        claimed = await claim_attempt(self.db, item.id, now, now + self.policy.lease)
        if claimed is None:
            return ProcessOutcome(item.id, "skipped", "claimed elsewhere or no longer due")
        return await self._send(claimed, trader, channel_id, isinstance(mirror, dict))

    async def _fan_out(self, nudge: Nudge) -> None:
        """Write the coach mirrors of a trader row that was queued without them (by a
        producer writing to storage directly); idempotent through the dedupe keys."""
        copies = await mirror_nudges(self.db, self.config, nudge)  # a read: no write lock
        if not copies:
            return
        wrote = False
        async with transaction(self.db) as conn:
            for copy in copies:
                wrote = (await enqueue_nudge(conn, copy)) is not None or wrote
        if wrote:
            self._wake.set()

    async def _send(
        self,
        item: OutboxItem,
        trader: TraderRecord | None,
        channel_id: int | None,
        is_mirror: bool,
    ) -> ProcessOutcome:
        nudge = item.nudge
        name = trader.name if trader is not None else ""
        where: dict[str, Any] = {}
        try:
            if channel_id is not None:
                audience: Audience = "coach" if is_mirror else "fallback"
                label = "coach_channel" if is_mirror else "channel"
                msg = render_nudge(nudge, audience, trader_name=name)
                where = {"to": label, "channel_id": channel_id}
                where["message_id"] = await self.delivery.send_channel(channel_id, msg)
            else:
                assert nudge.trader_id is not None
                where = {}
                try:
                    closed_until = self._dms_closed.get(nudge.trader_id)
                    if closed_until is not None and self.clock() < closed_until:
                        raise DMsClosed("DMs refused recently (cached); not asked again")
                    where = {"to": "dm", "user_id": nudge.trader_id}
                    where["message_id"] = await self.delivery.send_dm(
                        nudge.trader_id, render_nudge(nudge, "trader", trader_name=name)
                    )
                    self._dms_closed.pop(nudge.trader_id, None)
                except DMsClosed:
                    if "user_id" in where:  # Discord refused just now (not the cache)
                        self._dms_closed[nudge.trader_id] = (
                            self.clock() + self.policy.dm_closed_memory
                        )
                    fallback = await dm_fallback_channel(self.db, self.config, nudge.trader_id)
                    if fallback is None:
                        return await self._fail(
                            item,
                            "DMs closed (403, 50007) and no coach or fallback channel",
                            {"dm_closed": True},
                        )
                    label, fb_channel = fallback
                    where = {"to": label, "channel_id": fb_channel, "dm_closed": True}
                    msg = render_nudge(nudge, "fallback", trader_name=name)
                    where["message_id"] = await self.delivery.send_channel(fb_channel, msg)
        except TransientDeliveryError as exc:
            return await self._retry_or_give_up(item, str(exc), exc.retry_after, where)
        except (PermanentDeliveryError, DMsClosed) as exc:
            return await self._fail(item, f"refused: {exc}", where)
        except Exception as exc:  # a bug (rendering, an unmapped error): record, no retry
            log.exception("outbox row %d: unexpected error while sending", item.id)
            return await self._fail(item, f"unexpected error: {type(exc).__name__}: {exc}", where)
        await finish_sent(self.db, item.id, self.clock(), where)
        return ProcessOutcome(
            item.id, "sent", to=str(where.get("to", "")), channel_id=where.get("channel_id")
        )

    async def _retry_or_give_up(
        self, item: OutboxItem, error: str, retry_after: float | None, where: dict[str, Any]
    ) -> ProcessOutcome:
        max_attempts = self.config.discord.outbox_max_attempts
        if item.attempts >= max_attempts:
            return await self._fail(
                item, f"gave up after {item.attempts} attempts: {error}", where
            )
        delay = backoff_delay(item.attempts, self.policy.backoff_base, self.policy.backoff_max)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        retry_at = self.clock() + delay
        where = {k: v for k, v in where.items() if k != "message_id"}
        await finish_retry(self.db, item.id, error, retry_at, where)
        return ProcessOutcome(item.id, "retry", f"{error}; retry at {retry_at.isoformat()}")

    async def _suppress(self, item: OutboxItem, reason: str) -> ProcessOutcome:
        await suppress(self.db, item.id, reason)
        return ProcessOutcome(item.id, "suppressed", reason)

    async def _fail(
        self, item: OutboxItem, reason: str, where: dict[str, Any] | None = None
    ) -> ProcessOutcome:
        await finish_failed(self.db, item.id, reason, where)
        log.warning("outbox row %d failed: %s", item.id, reason)
        return ProcessOutcome(item.id, "failed", reason)

    async def _timezone(self, trader_id: int, record: TraderRecord | None) -> tzinfo:
        """The trader's timezone (``trader_timezone``), cached per stored trader row
        (timezone and ``updated_at``: choosing UTC keeps the name but marks it chosen)."""
        key = (trader_id, record.timezone if record is not None else None,
               record.updated_at if record is not None else None)
        tz = self._tz_cache.get(key)
        if tz is None:
            tz = await trader_timezone(self.db, self.config, trader_id)
            self._tz_cache[key] = tz
        return tz

    async def _quiet_until(
        self, trader_id: int, record: TraderRecord | None, now: datetime
    ) -> datetime | None:
        settings = record.settings if record is not None else TraderSettings()
        cfg = self.config.discord.quiet_hours
        if settings.quiet_hours_enabled is False:
            return None
        if settings.quiet_hours_enabled is None and cfg is None:
            return None
        start = settings.quiet_hours_start or (cfg.start if cfg is not None else None)
        end = settings.quiet_hours_end or (cfg.end if cfg is not None else None)
        if start is None or end is None:
            return None
        tz = await self._timezone(trader_id, record)
        return quiet_hours_end(now, tz, hhmm_to_time(start), hhmm_to_time(end))
