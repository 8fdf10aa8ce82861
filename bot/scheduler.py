"""Scheduled daily and weekly summaries (APScheduler 3, AsyncIOScheduler).

One cron job per trader and summary kind, in the trader's own timezone
(``CronTrigger(..., timezone=ZoneInfo(tz))``, so 21:00 stays 21:00 local across DST
changes). Job ids are stable (``summary:daily:<trader>``, ``summary:weekly:<trader>``)
and added with ``replace_existing=True``; the job store is memory, so every job is
rebuilt from storage (the traders table plus ``config.traders``) at :meth:`start`, and
per trader by :meth:`SummaryScheduler.reschedule_trader` when ``/settings`` changes
times, days, the timezone or switches a summary off. A summary whose time passed while
the process was down runs at start if that was within the misfire grace time (the
memory job store cannot know it was missed). Job defaults: ``coalesce=True``
(a backlog of missed runs fires once), ``misfire_grace_time`` (a run up to an hour
late still happens; later than that it is skipped), ``max_instances=1``.

A job builds the summary from storage (:mod:`bot.journal_service`, pure builders of
``pulse.journal``), renders the chart (matplotlib, in a worker thread) and enqueues a
``daily_summary`` / ``weekly_summary`` nudge through the outbox. The dedupe key is per
trader and period (``daily_summary:<trader>:<trading day>``,
``weekly_summary:<trader>:<week start>``), so a double fire sends once. The PNG travels
inside the outbox row (``data["attachment"] = {"filename", "png_b64"}``) and is
dropped from the row once sent (see docs/delivery.md for why not a file path).

The period is anchored on the *scheduled* instant, not on when the job happened to run:
the most recent configured fire time at or before now, minus one second. So a 21:00
summary covers the trading day containing 21:00 even if it ran at 00:20 after a
restart, and a summary set at the day reset (00:00) covers the day that just ended.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Literal

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.charts.summary_chart import render_summary_chart
from bot.journal_service import daily_summary, trader_timezone, weekly_summary
from bot.outbox import Clock, OutboxWorker, utc_now
from pulse.config import PulseConfig, hhmm_to_time
from pulse.journal.summary import ChartData
from pulse.models import Nudge, Severity
from storage.records import TraderRecord, TraderSettings
from storage.repo_traders import get_trader, list_traders

__all__ = [
    "JOB_DEFAULTS",
    "MISFIRE_GRACE_SECONDS",
    "WEEKDAYS",
    "SummaryScheduler",
    "TraderSchedule",
    "daily_job_id",
    "last_fire_before",
    "schedule_for",
    "weekly_job_id",
]

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 3600
JOB_DEFAULTS: dict[str, Any] = {
    "coalesce": True,
    "misfire_grace_time": MISFIRE_GRACE_SECONDS,
    "max_instances": 1,
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ChartRenderer = Callable[[ChartData], bytes]


def daily_job_id(trader_id: int) -> str:
    return f"summary:daily:{trader_id}"


def weekly_job_id(trader_id: int) -> str:
    return f"summary:weekly:{trader_id}"


@dataclass(frozen=True)
class TraderSchedule:
    """When a trader's summaries go out (None: switched off), in ``tz``."""

    trader_id: int
    tz: tzinfo
    daily: time | None
    weekly: tuple[Weekday, time] | None

    def daily_trigger(self) -> CronTrigger | None:
        if self.daily is None:
            return None
        return CronTrigger(hour=self.daily.hour, minute=self.daily.minute, timezone=self.tz)

    def weekly_trigger(self) -> CronTrigger | None:
        if self.weekly is None:
            return None
        day, at = self.weekly
        return CronTrigger(day_of_week=day, hour=at.hour, minute=at.minute, timezone=self.tz)


def schedule_for(
    config: PulseConfig, trader_id: int, settings: TraderSettings, tz: tzinfo
) -> TraderSchedule:
    """The trader's settings over config.yaml's ``discord.*`` defaults."""
    d = config.discord
    daily = hhmm_to_time(settings.daily_summary_time or d.daily_summary_time)
    weekly_day: Weekday = settings.weekly_summary_day or d.weekly_summary_day
    weekly_at = hhmm_to_time(settings.weekly_summary_time or d.weekly_summary_time)
    return TraderSchedule(
        trader_id=trader_id,
        tz=tz,
        daily=daily if settings.daily_summary else None,
        weekly=(weekly_day, weekly_at) if settings.weekly_summary else None,
    )


def last_fire_before(
    now: datetime, tz: tzinfo, at: time, weekday: Weekday | None = None
) -> datetime:
    """The most recent local ``at`` (on ``weekday`` if given) at or before ``now``."""
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(8):
        candidate = datetime.combine(day, at, tzinfo=tz)
        if candidate <= now and (weekday is None or WEEKDAYS[day.weekday()] == weekday):
            return candidate
        day -= timedelta(days=1)
    raise AssertionError("unreachable: a weekday recurs within 8 days")


class SummaryScheduler:
    """Cron jobs for every trader's summaries; see the module docstring.

    ``clock`` is "now" for the jobs (which period to summarise); APScheduler itself
    fires on the wall clock. ``skip_empty``: a day (week) without trades, entries or
    rule hits sends nothing (logged), instead of a "0 trades" message every evening.
    """

    def __init__(
        self,
        db: AsyncEngine,
        config: PulseConfig,
        outbox: OutboxWorker,
        *,
        clock: Clock = utc_now,
        render_chart: ChartRenderer = render_summary_chart,
        skip_empty: bool = True,
    ) -> None:
        self.db = db
        self.config = config
        self.outbox = outbox
        self.clock = clock
        self.render_chart = render_chart
        self.skip_empty = skip_empty
        self.scheduler: AsyncIOScheduler | None = None
        self.schedules: dict[int, TraderSchedule] = {}

    # -- lifecycle

    async def start(self) -> int:
        """Start APScheduler in the running loop and build every trader's jobs;
        returns how many traders are scheduled."""
        if self.scheduler is None:
            self.scheduler = AsyncIOScheduler(
                timezone="UTC", job_defaults=dict(JOB_DEFAULTS),
                event_loop=asyncio.get_running_loop(),
            )
            self.scheduler.start()
        return await self.rebuild()

    async def stop(self) -> None:
        """Stop firing (a job already running finishes on its own)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None

    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    def status(self) -> dict[str, Any]:
        """For the health endpoint: running, job count, the next fire time."""
        jobs = self.scheduler.get_jobs() if self.scheduler is not None else []
        times = [j.next_run_time for j in jobs if j.next_run_time is not None]
        return {
            "running": self.running,
            "jobs": len(jobs),
            "next_run": min(times).isoformat() if times else None,
        }

    # -- jobs

    async def trader_ids(self) -> list[int]:
        """Traders in storage plus those only in config.yaml."""
        ids = {t.id for t in await list_traders(self.db)}
        ids |= {t.discord_user_id for t in self.config.traders}
        return sorted(ids)

    async def rebuild(self) -> int:
        """(Re)create every trader's jobs from storage; jobs of unknown traders go."""
        ids = await self.trader_ids()
        if self.scheduler is not None:
            keep = {daily_job_id(i) for i in ids} | {weekly_job_id(i) for i in ids}
            for job in self.scheduler.get_jobs():
                catch_up = job.id.startswith("summary:catchup:")
                if job.id.startswith("summary:") and not catch_up and job.id not in keep:
                    job.remove()
        for trader_id in ids:
            sched = await self.reschedule_trader(trader_id)
            self._catch_up(sched)
        return len(ids)

    def _catch_up(self, sched: TraderSchedule) -> None:
        """Run now a summary whose scheduled time passed while the process was down,
        if that was within the misfire grace time (APScheduler's memory store forgot it).
        The period's dedupe key makes this a no-op if it was sent before the restart."""
        if self.scheduler is None:
            return
        now = self.clock()
        grace = timedelta(seconds=MISFIRE_GRACE_SECONDS)
        plans: list[tuple[str, Callable[..., Any], datetime | None]] = []
        if sched.daily is not None:
            plans.append(("daily", self.run_daily,
                          last_fire_before(now, sched.tz, sched.daily)))
        if sched.weekly is not None:
            plans.append(("weekly", self.run_weekly,
                          last_fire_before(now, sched.tz, sched.weekly[1], sched.weekly[0])))
        for kind, func, fire in plans:
            if fire is not None and now - fire <= grace:
                job_id = f"summary:catchup:{kind}:{sched.trader_id}"
                log.info("trader %s: %s summary of %s missed while down; running it now",
                         sched.trader_id, kind, fire.isoformat())
                self.scheduler.add_job(func, "date", args=[sched.trader_id], id=job_id,
                                       name=job_id, replace_existing=True)

    async def schedule_of(self, trader_id: int) -> TraderSchedule:
        record: TraderRecord | None = await get_trader(self.db, trader_id)
        settings = record.settings if record is not None else TraderSettings()
        tz = await trader_timezone(self.db, self.config, trader_id)
        return schedule_for(self.config, trader_id, settings, tz)

    async def reschedule_trader(self, trader_id: int) -> TraderSchedule:
        """Re-read one trader's settings and replace (or remove) their two jobs."""
        sched = await self.schedule_of(trader_id)
        self.schedules[trader_id] = sched
        if self.scheduler is None:
            return sched
        for job_id, trigger, func in (
            (daily_job_id(trader_id), sched.daily_trigger(), self.run_daily),
            (weekly_job_id(trader_id), sched.weekly_trigger(), self.run_weekly),
        ):
            if trigger is None:
                if self.scheduler.get_job(job_id) is not None:
                    self.scheduler.remove_job(job_id)
                continue
            self.scheduler.add_job(
                func, trigger, args=[trader_id], id=job_id, name=job_id,
                replace_existing=True,
            )
        return sched

    async def run_daily(self, trader_id: int, at: datetime | None = None) -> int | None:
        """The daily summary job: build, chart, enqueue. Returns the outbox row id
        (None if already queued for this day, or skipped as empty)."""
        now = at or self.clock()
        sched = self.schedules.get(trader_id) or await self.schedule_of(trader_id)
        fire = now
        if sched.daily is not None and at is None:
            fire = last_fire_before(now, sched.tz, sched.daily)
        anchor = fire - timedelta(seconds=1)
        summary = await daily_summary(self.db, self.config, trader_id, anchor)
        if self.skip_empty and not (summary.trades or summary.entries or summary.rule_hits):
            log.info("trader %s: no daily summary for %s (nothing happened)",
                     trader_id, summary.day)
            return None
        key = f"daily_summary:{trader_id}:{summary.day.isoformat()}"
        data: dict[str, Any] = {
            "period": {"start": summary.start.isoformat(), "end": summary.end.isoformat()},
            "summary": {
                "trades": summary.trades, "wins": summary.wins, "losses": summary.losses,
                "net_pnl": summary.net_pnl, "net_pnl_pct": summary.net_pnl_pct,
                "score": summary.score,
            },
        }
        return await self._enqueue(
            trader_id, "daily_summary", key, summary.text, summary.chart,
            f"daily-{summary.day.isoformat()}.png", data, now,
        )

    async def run_weekly(self, trader_id: int, at: datetime | None = None) -> int | None:
        """The weekly summary job (see :meth:`run_daily`)."""
        now = at or self.clock()
        sched = self.schedules.get(trader_id) or await self.schedule_of(trader_id)
        fire = now
        if sched.weekly is not None and at is None:
            fire = last_fire_before(now, sched.tz, sched.weekly[1], sched.weekly[0])
        anchor = fire - timedelta(seconds=1)
        summary = await weekly_summary(self.db, self.config, trader_id, anchor)
        if self.skip_empty and summary.stats.count == 0:
            log.info("trader %s: no weekly summary for the week of %s (no trades)",
                     trader_id, summary.start.date())
            return None
        week = summary.start.astimezone(sched.tz).date().isoformat()
        key = f"weekly_summary:{trader_id}:{week}"
        data: dict[str, Any] = {
            "period": {"start": summary.start.isoformat(), "end": summary.end.isoformat()},
            "summary": {
                "trades": summary.stats.count, "win_rate": summary.stats.win_rate,
                "net_pnl": summary.stats.net_pnl, "profit_factor": summary.stats.profit_factor,
            },
        }
        return await self._enqueue(
            trader_id, "weekly_summary", key, summary.text, summary.chart,
            f"weekly-{week}.png", data, now,
        )

    async def _enqueue(
        self,
        trader_id: int,
        kind: Literal["daily_summary", "weekly_summary"],
        key: str,
        text: str,
        chart: ChartData,
        filename: str,
        data: dict[str, Any],
        now: datetime,
    ) -> int | None:
        try:
            png = await asyncio.to_thread(self.render_chart, chart)
        except Exception:  # a chart failure must not cost the summary itself
            log.exception("trader %s: %s chart failed; sending the text only", trader_id, kind)
        else:
            data["attachment"] = {
                "filename": filename, "png_b64": base64.b64encode(png).decode("ascii"),
            }
        nudge = Nudge(
            at=now, kind=kind, severity=Severity.INFO, text=text, dedupe_key=key,
            trader_id=trader_id, data=data,
        )
        item_id = await self.outbox.enqueue(nudge)
        if item_id is None:
            log.info("trader %s: %s %s already queued", trader_id, kind, key)
        return item_id

