"""The whole process wired together: storage, service + feeds, outbox, scheduler, HTTP.

:class:`PulseProcess` hangs every part of Pulse on a :class:`bot.app.PulseBot` through
its lifecycle hooks, so ``pulse run`` is one asyncio process:

start-up (``setup_hook``: after login, before the gateway connects, before the cogs)
  1. ``open_storage``: open the database and run the migrations (``storage.open_database``);
  2. ``start_outbox``: the outbox worker delivering through the logged-in client
     (REST works before the gateway is up, so nothing waits for READY);
  3. ``start_service``: a background task starts the :class:`~bot.service.PulseService`
     over the traders' feeds (connects them, rebuilds each trader's day from storage and
     the feed's history), then runs its poll loop; every poll that queued a nudge wakes
     the outbox at once. In the background because a terminal that does not answer
     (MT5 busy, a bridge that accepts but hangs) must not hold ``setup_hook`` and with it
     the Discord connection: the bot logs in, syncs and answers (commands say the
     service is starting) while the feeds come up. ``bot.service`` is set once started;
     :meth:`PulseProcess.wait_service` waits for it;
  4. ``start_scheduler``: APScheduler summary jobs rebuilt from storage;
  5. ``start_http``: health, metrics and the JSON API (:mod:`bot.http`). A port already
     taken is logged as an error and the bot runs on without HTTP: Discord is the
     product, monitoring is not worth a crash loop (the Docker HEALTHCHECK then reports
     the container unhealthy, which is the right signal);
  6. ``freeze_heap``: :func:`freeze_heap` moves what start-up allocated (modules,
     discord.py, pandas, matplotlib: ~220k objects) out of the cyclic garbage collector's
     reach. A full collection scanned them all and, whichever thread triggered it, held
     the event loop for 70-100 ms (bench/bench_journal_cogs.py); after the freeze a
     collection only scans objects made since.

shutdown (the PulseBot phases, while Discord is still connected): ``close_feeds`` stops
the poll loop and the feeds (the service writes what it has), ``stop_scheduler``,
``flush_outbox`` delivers what is due, ``stop_http``, ``close_storage``.

The parts are attributes of the bot too (``bot.service``, ``bot.engine``,
``bot.scheduler``, ``bot.outbox``), which is where the cogs look for them.

Tests and the latency bench build the same process with injected feeds, a clock and
port 0; ``pulse run`` builds the feeds from config (:func:`build_feeds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery import Delivery, DiscordDelivery
from bot.feeds.base import Feed, FeedError
from bot.http import HttpServer
from bot.metrics import PulseMetrics, instrument_feed
from bot.outbox import Clock, OutboxPolicy, OutboxWorker, ProcessOutcome, utc_now
from bot.scheduler import SummaryScheduler
from bot.service import PulseService
from pulse.config import ConfigError, PulseConfig, Secrets
from pulse.kernel import NudgeOut, OutEvent
from storage import open_database
from storage.records import OutboxItem, TraderRecord

if TYPE_CHECKING:
    from bot.app import PulseBot

__all__ = ["MeteredOutbox", "PulseProcess", "build_feeds", "freeze_heap"]

log = logging.getLogger("pulse.process")

SERVICE_STOP_GRACE = 5.0


def build_feeds(config: PulseConfig, secrets: Secrets) -> dict[int, Feed]:
    """One live feed per configured trader, or :class:`ConfigError` naming the trader.

    ``pulse run`` serves live accounts: ``mt5`` (the MetaTrader5 package, Windows) or
    ``bridge`` (mt5linux). A ``replay`` trader is driven by ``pulse replay`` instead.
    The MetaTrader5 package holds one terminal connection per process, so one ``mt5``
    trader per process.
    """
    from bot.feeds.mt5 import MT5Feed

    problems: list[str] = []
    feeds: dict[int, Feed] = {}
    mt5_traders = [t for t in config.traders if t.feed == "mt5"]
    if len(mt5_traders) > 1:
        ids = ", ".join(str(t.discord_user_id) for t in mt5_traders)
        problems.append(f"traders ({ids}): the MetaTrader5 package holds one terminal per "
                        "process; run one Pulse per MT5 account, or use feed: bridge")
    for i, t in enumerate(config.traders):
        where = f"traders[{i}] ({t.discord_user_id})"
        if t.feed == "replay":
            problems.append(f"{where}.feed: 'replay' is for `pulse replay SCRIPT`; "
                            "`pulse run` needs a live feed: mt5 or bridge")
            continue
        feeds_cfg = config.feeds
        if t.feed == "bridge" and not feeds_cfg.bridge.enabled:
            feeds_cfg = feeds_cfg.model_copy(update={
                "bridge": feeds_cfg.bridge.model_copy(update={"enabled": True})})
        try:
            feeds[t.discord_user_id] = MT5Feed.from_config(feeds_cfg, secrets)
        except FeedError as exc:
            problems.append(f"{where}.feed: {exc}")
        # (an mt5linux bridge is reached at connect(), in the background: an unreachable
        # one is a feed that is down, reported by /pulse/health and a feed_down nudge)
    if problems:
        raise ConfigError(problems, source="config")
    return feeds


def freeze_heap() -> int:
    """Collect once, then freeze every surviving object (``gc.freeze``): long-lived
    start-up objects no longer make each full collection a 70-100 ms pause of the event
    loop. Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class MeteredOutbox(OutboxWorker):
    """The outbox worker, counting each row's outcome into :class:`PulseMetrics`."""

    def __init__(self, db: AsyncEngine, config: PulseConfig, delivery: Delivery, *,
                 metrics: PulseMetrics, clock: Clock = utc_now,
                 policy: OutboxPolicy | None = None) -> None:
        super().__init__(db, config, delivery, clock=clock, policy=policy)
        self.metrics = metrics

    async def process(
        self, item: OutboxItem, traders: dict[int, TraderRecord | None] | None = None
    ) -> ProcessOutcome:
        outcome = await super().process(item, traders)
        self.metrics.on_outcome(item.nudge.kind, item.nudge.dedupe_key, outcome.status,
                                outcome.to)
        return outcome


class PulseProcess:
    """Every long-lived part of Pulse, started and stopped by a :class:`PulseBot`.

    ``feeds`` (trader id -> feed) are required when ``config.traders`` is not empty
    (:func:`build_feeds` makes them for ``pulse run``). ``clock`` is the process's "now"
    for the outbox (due rows, quiet hours) and the summary jobs; the service reads each
    feed's own clock (real UTC for MT5, replay time for a replay feed). ``http_port``
    overrides ``monitoring.port`` (0: any free port, for tests).
    """

    def __init__(
        self,
        bot: PulseBot,
        *,
        feeds: Mapping[int, Feed] | None = None,
        clock: Clock | None = None,
        api_token: str | None = None,
        http_port: int | None = None,
        outbox_policy: OutboxPolicy | None = None,
        delivery: Delivery | None = None,
        service_options: Mapping[str, Any] | None = None,
        metrics: PulseMetrics | None = None,
    ) -> None:
        self.bot = bot
        self.config: PulseConfig = bot.config
        self.feeds = dict(feeds or {})
        self.clock: Clock = clock or utc_now
        self.api_token = api_token
        self.http_port = self.config.monitoring.port if http_port is None else http_port
        self.outbox_policy = outbox_policy or OutboxPolicy(
            poll_interval=max(0.05, min(1.0, self.config.feeds.poll_interval_seconds)))
        self.delivery = delivery
        self.service_options = dict(service_options or {})
        self.metrics = metrics or PulseMetrics()
        self.engine: AsyncEngine | None = None
        self.service: PulseService | None = None
        self._starting: PulseService | None = None
        self.outbox: MeteredOutbox | None = None
        self.scheduler: SummaryScheduler | None = None
        self.http: HttpServer | None = None
        self.http_error: str | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._service_started = asyncio.Event()
        self._gateway_up = False
        missing = [t.discord_user_id for t in self.config.traders
                   if t.discord_user_id not in self.feeds]
        if missing:
            raise ValueError(f"no feed for trader(s) {missing}: pass feeds= (build_feeds)")

    # -- wiring

    def install(self) -> PulseProcess:
        """Register the start-up callbacks and the shutdown phases on the bot."""
        bot = self.bot
        bot.process = self  # type: ignore[attr-defined]
        bot.on_startup("open storage + migrate", self.open_storage)
        bot.on_startup("outbox worker", self.start_outbox)
        bot.on_startup("service + feeds", self.start_service)
        bot.on_startup("summary scheduler", self.start_scheduler)
        bot.on_startup("http", self.start_http)
        bot.on_startup("freeze start-up heap", self.freeze_heap)
        grace = SERVICE_STOP_GRACE + self.config.feeds.poll_interval_seconds
        bot.on_shutdown("close_feeds", "service + feeds", self.stop_service, timeout=grace + 10)
        bot.on_shutdown("stop_scheduler", "summary scheduler", self.stop_scheduler)
        bot.on_shutdown("flush_outbox", "outbox", self.flush_outbox, timeout=15)
        bot.on_shutdown("stop_http", "http", self.stop_http)
        bot.on_shutdown("close_storage", "storage", self.close_storage)
        bot.add_listener(self._gateway_connected, "on_connect")
        bot.add_listener(self._gateway_connected, "on_ready")
        bot.add_listener(self._gateway_connected, "on_resumed")
        bot.add_listener(self._gateway_disconnected, "on_disconnect")
        return self

    async def _gateway_connected(self) -> None:
        self._gateway_up = True

    async def _gateway_disconnected(self) -> None:
        self._gateway_up = False

    @property
    def poll_loop_running(self) -> bool | None:
        """Is the service's poll loop alive (None when there is no service)?"""
        if self.service is None:
            return None
        return self._run_task is not None and not self._run_task.done()

    def discord_status(self) -> tuple[bool, str]:
        """For /pulse/health: is the gateway connected right now?"""
        bot = self.bot
        if bot.is_closed():
            return False, "the Discord client is closed"
        if not bot.is_ready():
            return False, "not connected yet (waiting for READY)"
        if not self._gateway_up:
            return False, "gateway disconnected; discord.py is reconnecting"
        latency = bot.latency
        if math.isfinite(latency):
            return True, f"connected, heartbeat latency {latency * 1000:.0f} ms"
        return True, "connected"

    # -- start-up

    async def open_storage(self) -> None:
        self.engine = await open_database(self.config.storage.url, echo=self.config.storage.echo)
        self.bot.engine = self.engine  # type: ignore[attr-defined]

    async def start_outbox(self) -> None:
        assert self.engine is not None
        delivery = self.delivery or DiscordDelivery(self.bot)
        self.outbox = MeteredOutbox(self.engine, self.config, delivery, metrics=self.metrics,
                                    clock=self.clock, policy=self.outbox_policy)
        self.outbox.start()
        self.bot.outbox = self.outbox  # type: ignore[attr-defined]

    async def start_service(self) -> None:
        if not self.config.traders:
            log.info("no traders configured: running without feeds (commands and summaries "
                     "only)")
            return
        assert self.engine is not None
        for tid, feed in self.feeds.items():
            instrument_feed(feed, tid, self.metrics)
        service = PulseService(self.config, feeds=self.feeds, engine=self.engine,
                               **self.service_options)
        service.on_out_events.append(self._on_out_events)
        self._starting = service
        self._run_task = asyncio.create_task(self._run_service(service), name="pulse-service")

    async def _run_service(self, service: PulseService) -> None:
        """Start the service (feeds may be slow to answer), publish it, then poll."""
        try:
            await service.start()
            self.service = service
            self.bot.service = service  # type: ignore[attr-defined]
            self._service_started.set()
            log.info("trading service started for %d trader(s)", len(service.sessions))
            await service.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the service stopped on an error; feeds are no longer polled")

    async def wait_service(self, timeout: float | None = None) -> PulseService:
        """The started service (waits for the background start); TimeoutError after
        ``timeout`` seconds, RuntimeError when there is none or it failed to start."""
        if not self.config.traders:
            raise RuntimeError("no traders configured: there is no trading service")
        started = asyncio.ensure_future(self._service_started.wait())
        waiting: set[asyncio.Future[Any]] = {started}
        if self._run_task is not None:
            waiting.add(self._run_task)
        try:
            await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()
        if self.service is not None:
            return self.service
        if self._run_task is not None and self._run_task.done():
            raise RuntimeError("the trading service failed to start (see the log)")
        raise TimeoutError(f"the trading service did not start within {timeout}s")

    def _on_out_events(self, trader_id: int, outs: list[OutEvent]) -> None:
        self.metrics.on_out_events(trader_id, outs)
        if self.outbox is not None and any(isinstance(o, NudgeOut) for o in outs):
            self.outbox.wake()

    async def start_scheduler(self) -> None:
        assert self.engine is not None and self.outbox is not None
        self.scheduler = SummaryScheduler(self.engine, self.config, self.outbox,
                                          clock=self.clock)
        count = await self.scheduler.start()
        self.bot.scheduler = self.scheduler  # type: ignore[attr-defined]
        log.info("summary jobs scheduled for %d trader(s)", count)

    async def start_http(self) -> None:
        mon = self.config.monitoring
        if not mon.enabled:
            log.info("monitoring.enabled is false: no health/metrics HTTP server")
            return
        server = HttpServer(self, mon.host, self.http_port)
        try:
            await server.start()
        except OSError as exc:
            self.http_error = f"{mon.host}:{self.http_port}: {exc.strerror or exc}"
            log.error("HTTP server not started (%s); set monitoring.port to a free port. "
                      "The bot runs on without health/metrics.", self.http_error)
            return
        self.http = server

    async def freeze_heap(self) -> None:
        freeze_heap()

    # -- shutdown

    async def stop_service(self) -> None:
        service, task = self.service, self._run_task
        if service is None:
            service = self._starting
            if service is None:
                return
            # still starting (a feed that does not answer): stop waiting for it
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await service.stop()
        if task is not None and not task.done():
            grace = SERVICE_STOP_GRACE + self.config.feeds.poll_interval_seconds
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=grace)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._run_task = None

    async def stop_scheduler(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()

    async def flush_outbox(self) -> None:
        if self.outbox is not None:
            done = await self.outbox.flush(timeout=10.0)
            sent = sum(1 for o in done if o.status == "sent")
            if done:
                log.info("outbox flushed at shutdown: %d sent of %d handled", sent, len(done))

    async def stop_http(self) -> None:
        if self.http is not None:
            await self.http.stop()

    async def close_storage(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
