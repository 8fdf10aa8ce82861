"""/pulse/health (200/503 per check) and /metrics (Prometheus text) over real parts."""

from __future__ import annotations

import contextlib
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.feeds.base import FeedHealth
from bot.http import HttpServer
from bot.metrics import PulseMetrics
from pulse.kernel import NudgeOut
from pulse.models import Severity
from tests.http.conftest import TRADER, View, at

Client = TestClient[web.Request, web.Application]


async def test_health_is_200_when_every_check_passes(client: Client) -> None:
    r = await client.get("/pulse/health")
    body = await r.json()
    assert r.status == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    checks = body["checks"]
    assert set(checks) == {"database", "discord", "feeds", "scheduler", "outbox"}
    assert all(c["ok"] and c["detail"] for c in checks.values())
    (feed,) = checks["feeds"]["feeds"]
    assert feed["trader_id"] == TRADER and feed["health"] == "up" and feed["account_known"]
    assert checks["scheduler"]["jobs"] == 2  # daily + weekly for the one trader
    assert checks["outbox"]["pending"] == 0


async def test_each_failing_check_makes_it_503_and_is_named(view: View,
                                                            client: Client) -> None:
    view.connected = False
    body = await (r := await client.get("/pulse/health")).json()
    assert r.status == 503 and body["status"] == "unhealthy" and body["failing"] == ["discord"]
    assert body["checks"]["discord"]["detail"] == "gateway disconnected"
    view.connected = True

    assert view.feed is not None
    view.feed.health = FeedHealth.DOWN
    view.feed.last_error = "IPC timeout (MT5 error -10005)"
    body = await (r := await client.get("/pulse/health")).json()
    assert r.status == 503 and body["failing"] == ["feeds"]
    assert "IPC timeout" in body["checks"]["feeds"]["detail"]
    view.feed.health = FeedHealth.UP

    view.poll_loop_running = False  # the service loop died: nothing is polled any more
    body = await (r := await client.get("/pulse/health")).json()
    assert r.status == 503 and body["failing"] == ["feeds"]
    assert body["checks"]["feeds"]["detail"].startswith("the poll loop stopped")
    view.poll_loop_running = True

    assert view.scheduler is not None and view.outbox is not None
    await view.scheduler.stop()
    await view.outbox.stop()
    body = await (r := await client.get("/pulse/health")).json()
    assert r.status == 503 and body["failing"] == ["scheduler", "outbox"]


async def test_database_gone_is_503(view: View, client: Client) -> None:
    assert view.engine is not None
    db_file = Path(view.config.storage.url.removeprefix("sqlite+aiosqlite:///"))
    await view.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db_file}{suffix}").unlink()
    body = await (r := await client.get("/pulse/health")).json()
    assert r.status == 503 and "database" in body["failing"]
    assert "no such table" in body["checks"]["database"]["detail"]
    view.engine = None
    body = await (r := await client.get("/pulse/health")).json()
    assert r.status == 503 and body["checks"]["database"]["detail"] == "storage is not open"


async def test_metrics_exposition(view: View, client: Client) -> None:
    assert view.feed is not None
    await view.feed.poll_deals()  # instrumented: one poll timed
    nudge = NudgeOut(at("2026-03-02T09:40:00+00:00"), "cooling_started", Severity.WARNING,
                     "cooling", "k1", TRADER)
    view.metrics.deals_returned(TRADER, [], 0.0)
    view.metrics._deals_at[TRADER] = 0.0  # a deal seen at perf_counter 0
    view.metrics.on_out_events(TRADER, [nudge])
    assert view.metrics.on_outcome("cooling_started", "k1", "sent", "dm") is not None
    view.metrics.on_outcome("revenge", "k2", "failed")

    r = await client.get("/metrics")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(await r.text())}
    assert {"pulse_deals_ingested", "pulse_nudges_enqueued", "pulse_nudges_sent",
            "pulse_nudges_failed", "pulse_verdicts", "pulse_outbox_pending", "pulse_feed_up",
            "pulse_feed_poll_seconds", "pulse_deal_to_nudge_seconds"} <= set(families)

    def value(name: str, sample: str, **labels: str) -> float:
        return next(s.value for s in families[name].samples
                    if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))

    assert value("pulse_nudges_enqueued", "pulse_nudges_enqueued_total",
                 kind="cooling_started") == 1
    assert value("pulse_nudges_sent", "pulse_nudges_sent_total", kind="cooling_started",
                 to="dm") == 1
    assert value("pulse_nudges_failed", "pulse_nudges_failed_total", kind="revenge") == 1
    assert value("pulse_feed_up", "pulse_feed_up", trader=str(TRADER), feed="replay") == 1
    assert value("pulse_outbox_pending", "pulse_outbox_pending") == 0
    assert value("pulse_feed_poll_seconds", "pulse_feed_poll_seconds_count") >= 1
    assert value("pulse_deal_to_nudge_seconds", "pulse_deal_to_nudge_seconds_count") == 1


async def test_verdicts_counted_by_action(view: View, client: Client) -> None:
    r = await client.post("/pulse/risk", json={"trader_id": TRADER, "symbol": "EURUSD",
                                               "side": "buy", "volume": 0.1, "price": 1.1},
                          headers={"Authorization": "Bearer http-test-token"})
    assert r.status == 200
    text = await (await client.get("/metrics")).text()
    assert 'pulse_verdicts_total{action="hard_block"} 1.0' in text


def test_two_metric_sets_do_not_collide() -> None:
    a, b = PulseMetrics(), PulseMetrics()
    a.deals_ingested.inc(3)
    assert b"pulse_deals_ingested_total 3.0" in a.render()
    assert b"pulse_deals_ingested_total 0.0" in b.render()


async def test_server_binds_port_zero_and_stops(view: View) -> None:
    server = HttpServer(view, "127.0.0.1", 0)
    await server.start()
    try:
        assert server.running and server.port > 0
        import aiohttp

        async with aiohttp.ClientSession() as s, s.get(f"{server.base_url}/pulse/health") as r:
            assert r.status == 200
    finally:
        await server.stop()
    assert not server.running
