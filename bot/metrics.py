"""Prometheus metrics of the Pulse process (prometheus-client, one registry per process).

A private :class:`~prometheus_client.CollectorRegistry` (not the library's global one):
two processes in one test run, or a restarted wiring, never collide on metric names,
and ``/metrics`` shows Pulse's series only.

Where the numbers come from (no business code imports this module; the wiring hooks it):

- ``pulse_deals_ingested_total``: deals a feed returned to the service (the feeds
  deduplicate by ticket, so each deal counts once), via :func:`instrument_feed`;
- ``pulse_feed_poll_seconds``: how long one ``poll_deals`` call to the feed took;
- ``pulse_nudges_enqueued_total{kind}`` and ``pulse_verdicts_total{action}``: the
  service's out events (:meth:`PulseMetrics.on_out_events`);
- ``pulse_nudges_sent_total{kind,to}`` / ``pulse_nudges_failed_total{kind}``: outbox
  outcomes (:meth:`PulseMetrics.on_outcome`);
- ``pulse_deal_to_nudge_seconds``: from the poll that returned a deal to the Discord
  send of a nudge that deal caused (same poll), measured in the process;
- ``pulse_outbox_pending`` and ``pulse_feed_up{trader,feed}``: gauges refreshed when
  ``/metrics`` is scraped (a database count, the feeds' health), so the hot path pays
  nothing for them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.feeds.base import Feed
from pulse.kernel import NudgeOut, OutEvent, VerdictOut
from pulse.models import Deal

__all__ = ["CONTENT_TYPE_LATEST", "PulseMetrics", "instrument_feed"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
POLL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
_MAX_PENDING = 10_000  # deal->nudge timings waiting for their send (bounded memory)


class PulseMetrics:
    """The process's counters, gauges and histograms (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.deals_ingested = Counter(
            "pulse_deals_ingested", "Deals the feeds returned to the service", registry=r)
        self.nudges_enqueued = Counter(
            "pulse_nudges_enqueued", "Nudges the kernel wrote to the outbox", ["kind"],
            registry=r)
        self.nudges_sent = Counter(
            "pulse_nudges_sent", "Outbox rows delivered to Discord", ["kind", "to"], registry=r)
        self.nudges_failed = Counter(
            "pulse_nudges_failed", "Outbox rows given up on", ["kind"], registry=r)
        self.verdicts = Counter(
            "pulse_verdicts", "Pre-trade verdicts by action", ["action"], registry=r)
        self.outbox_pending = Gauge(
            "pulse_outbox_pending", "Outbox rows waiting to be sent", registry=r)
        self.feed_up = Gauge(
            "pulse_feed_up", "1 when the trader's feed answers, else 0", ["trader", "feed"],
            registry=r)
        self.poll_latency = Histogram(
            "pulse_feed_poll_seconds", "Duration of one poll_deals call to a feed",
            buckets=POLL_BUCKETS, registry=r)
        self.deal_to_nudge = Histogram(
            "pulse_deal_to_nudge_seconds",
            "From the poll that returned a deal to the Discord send of its nudge",
            buckets=LATENCY_BUCKETS, registry=r)
        self._deals_at: dict[int, float] = {}  # trader -> when their last poll returned deals
        self._pending: OrderedDict[str, float] = OrderedDict()  # dedupe key -> deal time

    # -- producers

    def deals_returned(self, trader_id: int, deals: list[Deal], started: float) -> None:
        """A poll returned ``deals`` (``started``: perf_counter before the call)."""
        now = time.perf_counter()
        self.poll_latency.observe(now - started)
        if deals:
            self.deals_ingested.inc(len(deals))
            self._deals_at[trader_id] = now

    def on_out_events(self, trader_id: int, outs: list[OutEvent]) -> None:
        """The service's subscriber: count nudges and verdicts, remember which nudges a
        fresh deal caused (for the deal->nudge histogram)."""
        deal_at = self._deals_at.pop(trader_id, None)
        for o in outs:
            if isinstance(o, NudgeOut):
                self.nudges_enqueued.labels(o.kind).inc()
                if deal_at is not None:
                    self._pending[o.dedupe_key] = deal_at
                    while len(self._pending) > _MAX_PENDING:
                        self._pending.popitem(last=False)
            elif isinstance(o, VerdictOut):
                self.verdicts.labels(o.verdict.action.value).inc()

    def on_outcome(self, kind: str, dedupe_key: str, status: str, to: str = "") -> float | None:
        """An outbox row's outcome; returns the deal->nudge latency when one was timed."""
        if status == "sent":
            self.nudges_sent.labels(kind, to or "dm").inc()
            started = self._pending.pop(dedupe_key, None)
            if started is not None:
                latency = time.perf_counter() - started
                self.deal_to_nudge.observe(latency)
                return latency
        elif status == "failed":
            self.nudges_failed.labels(kind).inc()
            self._pending.pop(dedupe_key, None)
        return None

    # -- exposition

    def render(self) -> bytes:
        """The Prometheus text exposition of every series."""
        return generate_latest(self.registry)


def instrument_feed(feed: Feed, trader_id: int, metrics: PulseMetrics) -> Feed:
    """Time and count ``feed.poll_deals`` in place (the feed object stays the same, so
    whoever holds it, the service, a replay driver, a cog, sees one feed)."""
    inner: Callable[[], Awaitable[list[Deal]]] = feed.poll_deals
    if getattr(inner, "__pulse_metered__", False):
        return feed

    async def poll_deals() -> list[Deal]:
        started = time.perf_counter()
        deals = await inner()
        metrics.deals_returned(trader_id, deals, started)
        return deals

    marker: Any = poll_deals
    marker.__pulse_metered__ = True
    feed.poll_deals = poll_deals  # type: ignore[method-assign]
    return feed
