"""Health, metrics and a small JSON API over HTTP, in the bot's own process (aiohttp).

Bound to ``monitoring.host:monitoring.port`` (default 127.0.0.1:9090: not reachable from
outside the host or container unless the operator publishes it).

Open (monitoring): ``GET /pulse/health`` (200 when every check passes, else 503; JSON
with one entry per check: database, discord, feeds, scheduler, outbox), ``GET /metrics``
(Prometheus text format, :mod:`bot.metrics`), ``GET /openapi.json`` (this API described
as OpenAPI 3.0; a test checks every route is in it).

Token-protected (``Authorization: Bearer $PULSE_API_TOKEN``; 401 without or with a
wrong one, 503 "API disabled" when no token is configured, so a forgotten variable
never means an open API): ``GET /pulse/score``, ``POST /pulse/risk``,
``GET /pulse/journal``, ``GET /signals/top``. The token is an operator's key: it sees
every configured trader (the per-user permission model lives in Discord).

Handlers only parse, call the service or a repository, and serialise: no rule here.
Bad input is a 400 with ``{"error", "problems": [one line per field]}``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import datetime
from typing import Any, Protocol

import pandas as pd
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.feeds.base import FeedError, FeedHealth, check_symbol_syntax
from bot.metrics import CONTENT_TYPE_LATEST, PulseMetrics
from bot.outbox import OutboxWorker
from bot.scheduler import SummaryScheduler
from bot.service import PulseService, ServiceError
from pulse.analysis.confluence import ConfluenceResult
from pulse.config import TIMEFRAMES, PulseConfig, validation_problems
from pulse.models import JournalKind, Side, TradeRequest
from pulse.requests import side_problems
from storage.repo_journal import list_journal_entries
from storage.repo_outbox import count_by_status

__all__ = [
    "DB_CHECK_TIMEOUT",
    "HttpServer",
    "ProcessView",
    "build_app",
    "health_report",
    "openapi_document",
]

log = logging.getLogger("pulse.http")

DB_CHECK_TIMEOUT = 2.0
MIN_SCORE_BARS = 50
MAX_JOURNAL = 500
MAX_SIGNALS = 50
_FEED_FAILING = frozenset({FeedHealth.DOWN, FeedHealth.CLOSED})


class ProcessView(Protocol):
    """What the HTTP layer reads of the running process (bot.wiring.PulseProcess)."""

    @property
    def config(self) -> PulseConfig: ...
    @property
    def metrics(self) -> PulseMetrics: ...
    @property
    def api_token(self) -> str | None: ...
    @property
    def engine(self) -> AsyncEngine | None: ...
    @property
    def service(self) -> PulseService | None: ...
    @property
    def scheduler(self) -> SummaryScheduler | None: ...
    @property
    def outbox(self) -> OutboxWorker | None: ...
    @property
    def poll_loop_running(self) -> bool | None:
        """Is the service's poll loop alive (None: no service)?"""
        ...

    def discord_status(self) -> tuple[bool, str]:
        """(connected, one line saying why or why not)."""
        ...


# --------------------------------------------------------------------------- health


async def _database_check(engine: AsyncEngine | None) -> dict[str, Any]:
    if engine is None:
        return {"ok": False, "detail": "storage is not open"}
    try:
        counts = await asyncio.wait_for(count_by_status(engine), timeout=DB_CHECK_TIMEOUT)
    except TimeoutError:
        return {"ok": False, "detail": f"no answer within {DB_CHECK_TIMEOUT:g}s"}
    except Exception as exc:  # whatever the driver raises: the database is not usable
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        return {"ok": False, "detail": f"{type(exc).__name__}: {text}"}
    return {"ok": True, "detail": "answering", "outbox": counts}


def _feeds_check(service: PulseService | None, config: PulseConfig,
                 loop_running: bool | None) -> dict[str, Any]:
    if service is None:
        if config.traders:
            return {"ok": False, "detail": "the trading service is not running", "feeds": []}
        return {"ok": True, "detail": "no traders configured", "feeds": []}
    feeds: list[dict[str, Any]] = []
    for tid, s in sorted(service.sessions.items()):
        st = s.feed.status()
        feeds.append({
            "trader_id": tid, "feed": st.name, "health": st.health.value,
            "since": st.since.isoformat() if st.since else None,
            "last_error": st.last_error, "retry_at": st.retry_at.isoformat()
            if st.retry_at else None, "account_known": s.ready,
        })
    if loop_running is False:
        return {"ok": False, "detail": "the poll loop stopped: feeds are no longer polled "
                "(see the log for why)", "feeds": feeds}
    down = [f for f in feeds if FeedHealth(f["health"]) in _FEED_FAILING]
    detail = "all feeds up" if not down else ", ".join(
        f"trader {f['trader_id']}: {f['feed']} {f['health']}"
        + (f" ({f['last_error']})" if f["last_error"] else "") for f in down)
    return {"ok": not down, "detail": detail, "feeds": feeds}


def _scheduler_check(scheduler: SummaryScheduler | None) -> dict[str, Any]:
    if scheduler is None:
        return {"ok": False, "detail": "the summary scheduler is not started"}
    st = scheduler.status()
    return {"ok": bool(st["running"]), "detail": "running" if st["running"] else "stopped",
            "jobs": st["jobs"], "next_run": st["next_run"]}


def _outbox_check(outbox: OutboxWorker | None, db: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, int] = db.get("outbox", {})
    out: dict[str, Any] = {"pending": counts.get("pending", 0), "failed": counts.get("failed", 0),
                           "sent": counts.get("sent", 0)}
    if outbox is None:
        return {"ok": False, "detail": "the outbox worker is not started", **out}
    return {"ok": outbox.running, "detail": "running" if outbox.running else "stopped", **out}


async def health_report(view: ProcessView) -> dict[str, Any]:
    """Every check, and the overall verdict (``status``: ``ok`` or ``unhealthy``)."""
    db = await _database_check(view.engine)
    connected, why = view.discord_status()
    checks: dict[str, dict[str, Any]] = {
        "database": {k: v for k, v in db.items() if k != "outbox"},
        "discord": {"ok": connected, "detail": why},
        "feeds": _feeds_check(view.service, view.config, view.poll_loop_running),
        "scheduler": _scheduler_check(view.scheduler),
        "outbox": _outbox_check(view.outbox, db),
    }
    failing = [name for name, c in checks.items() if not c["ok"]]
    if db["ok"]:
        view.metrics.outbox_pending.set(checks["outbox"]["pending"])
    return {"status": "ok" if not failing else "unhealthy", "failing": failing,
            "checks": checks}


# --------------------------------------------------------------------------- API models


class RiskBody(BaseModel):
    """``POST /pulse/risk``: a pre-trade request for one configured trader."""

    model_config = ConfigDict(extra="forbid")
    trader_id: int = Field(ge=1)
    symbol: str
    side: Side
    volume: float = Field(gt=0)
    price: float = Field(gt=0)
    sl: float | None = None
    tp: float | None = None
    time: datetime | None = None


def _json(status: int, body: Any) -> web.Response:
    return web.json_response(body, status=status)


def _problem(status: int, error: str, problems: list[str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": error}
    if problems:
        body["problems"] = problems
    return _json(status, body)


def _score_json(symbol: str, timeframe: str, r: ConfluenceResult, source: str) -> dict[str, Any]:
    return {"symbol": symbol, "timeframe": timeframe, "source": source,
            "summary": r.summary, **r.to_json()}


# --------------------------------------------------------------------------- the app

VIEW_KEY = web.AppKey("pulse_view", object)


def _view(request: web.Request) -> ProcessView:
    view: Any = request.app[VIEW_KEY]
    return view


@web.middleware
async def _auth(request: web.Request, handler: Any) -> web.StreamResponse:
    """Bearer token on the /pulse/* API and /signals/* (not on health/metrics/openapi)."""
    route = request.match_info.route.resource
    path = route.canonical if route is not None else request.path
    if path in OPEN_PATHS or path not in PROTECTED_PATHS:
        return await handler(request)
    token = _view(request).api_token
    if not token:
        return _problem(503, "API disabled: set PULSE_API_TOKEN in the environment to "
                        "enable the JSON API (health and metrics need no token)")
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(),
                                                             token.encode()):
        resp = _problem(401, "missing or wrong token: send 'Authorization: Bearer "
                        "<PULSE_API_TOKEN>'")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="pulse"'
        return resp
    return await handler(request)


async def handle_health(request: web.Request) -> web.Response:
    report = await health_report(_view(request))
    return _json(200 if report["status"] == "ok" else 503, report)


async def handle_metrics(request: web.Request) -> web.Response:
    view = _view(request)
    metrics = view.metrics
    if view.engine is not None:
        try:
            counts = await asyncio.wait_for(count_by_status(view.engine), DB_CHECK_TIMEOUT)
            metrics.outbox_pending.set(counts.get("pending", 0))
        except Exception as exc:  # scraping must not fail because the database is down
            log.debug("metrics: outbox count unavailable: %s", exc)
    svc = view.service
    if svc is not None:
        for tid, s in svc.sessions.items():
            st = s.feed.status()
            metrics.feed_up.labels(str(tid), st.name).set(
                1.0 if st.health is FeedHealth.UP else 0.0)
    resp = web.Response(body=metrics.render())
    resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return resp


def _service(view: ProcessView) -> PulseService:
    if view.service is None:
        raise web.HTTPServiceUnavailable(
            text='{"error": "the trading service is not running (no traders configured, '
                 'or still starting)"}', content_type="application/json")
    return view.service


async def handle_score(request: web.Request) -> web.Response:
    view = _view(request)
    svc = _service(view)
    problems: list[str] = []
    raw_symbol = request.query.get("symbol", "").strip()
    symbol = ""
    try:
        symbol = check_symbol_syntax(raw_symbol)
    except (FeedError, ValueError):
        problems.append(f"symbol: {raw_symbol!r} is not a symbol name; use e.g. EURUSD"
                        if raw_symbol else "symbol: required, e.g. ?symbol=EURUSD")
    tf = request.query.get("timeframe", "").strip().upper() or \
        svc.config.feeds.watchlist.timeframes[0]
    if tf not in TIMEFRAMES:
        problems.append(f"timeframe: {tf!r} is not a timeframe; use one of "
                        f"{', '.join(TIMEFRAMES)}")
    if problems:
        return _problem(400, "bad query", problems)
    cached = svc.latest_scores().get((symbol, tf))
    if cached is not None:
        return _json(200, _score_json(symbol, tf, cached, "watchlist"))
    session = next((s for s in svc.sessions.values() if s.ready), None)
    if session is None:
        return _problem(503, "no market feed is connected yet: no bars to score")
    try:
        frame: pd.DataFrame = await session.feed.bars(symbol, tf, svc.config.feeds.bars_count)
    except (FeedError, ValueError) as exc:
        return _problem(404, f"no {tf} bars of {symbol}: {exc}")
    if len(frame) < MIN_SCORE_BARS:
        return _problem(422, f"only {len(frame)} closed {tf} bars of {symbol}; scoring needs "
                        f"at least {MIN_SCORE_BARS}")
    result = await asyncio.to_thread(svc.scorer.score, frame, symbol)
    return _json(200, _score_json(symbol, tf, result, "computed"))


async def handle_risk(request: web.Request) -> web.Response:
    svc = _service(_view(request))
    try:
        data = await request.json()
    except ValueError:
        return _problem(400, "the body must be a JSON object (Content-Type: application/json)")
    if not isinstance(data, dict):
        return _problem(400, "the body must be a JSON object")
    try:
        body = RiskBody.model_validate(data)
    except ValidationError as exc:
        return _problem(400, "bad request body", validation_problems(exc, RiskBody))
    problems = _request_problems(body)
    if problems:
        return _problem(400, "bad request body", problems)
    session = svc.sessions.get(body.trader_id)
    if session is None:
        return _problem(404, f"trader_id: {body.trader_id} is not a configured trader")
    try:
        req = TradeRequest(time=body.time or session.clock(), symbol=body.symbol,
                           side=body.side, volume=body.volume, price=body.price,
                           sl=body.sl, tp=body.tp)
    except ValidationError as exc:
        return _problem(400, "bad request body", validation_problems(exc, TradeRequest))
    try:
        verdict = await svc.check(body.trader_id, req)
    except ServiceError as exc:
        return _problem(409, str(exc))
    return _json(200, verdict.model_dump(mode="json"))


def _request_problems(body: RiskBody) -> list[str]:
    """Typos, not verdicts: a bad symbol name, a naive time, a stop or target on the
    wrong side of the price (the same refusals ``/risk check`` gives)."""
    problems: list[str] = []
    try:
        check_symbol_syntax(body.symbol)
    except (FeedError, ValueError):
        problems.append(f"symbol: {body.symbol!r} is not a symbol name; use the name as MT5 "
                        "shows it, e.g. EURUSD")
    if body.time is not None and body.time.tzinfo is None:
        problems.append("time: needs a timezone, e.g. 2026-03-02T09:00:00+01:00")
    for problem in side_problems(body.side, body.price, body.sl, body.tp):
        name = "sl" if problem.level == "stop" else "tp"
        problems.append(f"{name}: {problem.detail}; {problem.hint}")
    return problems


async def handle_journal(request: web.Request) -> web.Response:
    view = _view(request)
    problems: list[str] = []
    raw = request.query.get("trader_id", "")
    trader_id = 0
    try:
        trader_id = int(raw)
        if trader_id < 1:
            raise ValueError
    except ValueError:
        problems.append(f"trader_id: must be a Discord user id (a positive integer), got {raw!r}"
                        if raw else "trader_id: required, e.g. ?trader_id=123456789")
    limit = 100
    if "limit" in request.query:
        try:
            limit = int(request.query["limit"])
            if not 1 <= limit <= MAX_JOURNAL:
                raise ValueError
        except ValueError:
            problems.append(f"limit: must be 1 to {MAX_JOURNAL}, got {request.query['limit']!r}")
    kind: JournalKind | None = None
    if request.query.get("kind"):
        try:
            kind = JournalKind(request.query["kind"])
        except ValueError:
            problems.append(f"kind: one of {', '.join(k.value for k in JournalKind)}, "
                            f"got {request.query['kind']!r}")
    if problems:
        return _problem(400, "bad query", problems)
    if view.engine is None:
        return _problem(503, "storage is not open")
    entries = await list_journal_entries(view.engine, trader_id, kind=kind)
    newest = entries[-limit:][::-1]
    return _json(200, {"trader_id": trader_id, "count": len(newest),
                       "entries": [e.model_dump(mode="json") for e in newest]})


async def handle_signals(request: web.Request) -> web.Response:
    svc = _service(_view(request))
    limit = 10
    if "limit" in request.query:
        try:
            limit = int(request.query["limit"])
            if not 1 <= limit <= MAX_SIGNALS:
                raise ValueError
        except ValueError:
            return _problem(400, "bad query", [f"limit: must be 1 to {MAX_SIGNALS}, "
                                               f"got {request.query['limit']!r}"])
    rows = sorted(svc.latest_scores().items(), key=lambda kv: (-kv[1].score, kv[0]))
    return _json(200, {
        "signals": [_score_json(sym, tf, r, "watchlist") for (sym, tf), r in rows[:limit]],
        "errors": [{"symbol": sym, "timeframe": tf, "error": why}
                   for (sym, tf), why in sorted(svc.score_errors().items())],
    })


async def handle_openapi(request: web.Request) -> web.Response:
    return _json(200, openapi_document())


ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/pulse/health", handle_health),
    ("GET", "/metrics", handle_metrics),
    ("GET", "/openapi.json", handle_openapi),
    ("GET", "/pulse/score", handle_score),
    ("POST", "/pulse/risk", handle_risk),
    ("GET", "/pulse/journal", handle_journal),
    ("GET", "/signals/top", handle_signals),
)
OPEN_PATHS = frozenset({"/pulse/health", "/metrics", "/openapi.json"})
PROTECTED_PATHS = frozenset(p for _, p, _ in ROUTES) - OPEN_PATHS


def build_app(view: ProcessView) -> web.Application:
    """The aiohttp application over a running process."""
    app = web.Application(middlewares=[_auth], client_max_size=64 * 1024)
    app[VIEW_KEY] = view
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


class HttpServer:
    """Start/stop the app on ``host:port`` (port 0: any free port, see :attr:`port`)."""

    def __init__(self, view: ProcessView, host: str, port: int) -> None:
        self.view = view
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(build_app(self.view), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        server: Any = site._server
        if self.port == 0 and server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        self._runner = runner
        log.info("HTTP on %s (health /pulse/health, metrics /metrics)", self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# --------------------------------------------------------------------------- OpenAPI

_ERROR = {"$ref": "#/components/schemas/Error"}


def _resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def _q(name: str, description: str, schema: dict[str, Any], required: bool = False
       ) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema}


_PROTECTED_ERRORS = {
    "400": _resp("Bad input: one line per problem, naming the field", _ERROR),
    "401": _resp("Missing or wrong bearer token", _ERROR),
    "503": _resp("API disabled (no PULSE_API_TOKEN) or the service is not running", _ERROR),
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 description of every route of :func:`build_app`."""
    obj = {"type": "object", "additionalProperties": True}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Zanalytics Pulse", "version": "1",
                 "description": "Health, metrics and the token-protected JSON API of the "
                                "Pulse bot process."},
        "servers": [{"url": "http://127.0.0.1:9090"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "PULSE_API_TOKEN"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "string"},
                    "problems": {"type": "array", "items": {"type": "string"}}}},
                "Health": {"type": "object", "required": ["status", "failing", "checks"],
                           "properties": {
                               "status": {"type": "string", "enum": ["ok", "unhealthy"]},
                               "failing": {"type": "array", "items": {"type": "string"}},
                               "checks": {"type": "object", "properties": {
                                   n: {"type": "object", "required": ["ok", "detail"],
                                       "properties": {"ok": {"type": "boolean"},
                                                      "detail": {"type": "string"}}}
                                   for n in ("database", "discord", "feeds", "scheduler",
                                             "outbox")}}}},
                "Score": {"type": "object", "required": ["symbol", "timeframe", "score",
                                                          "direction", "grade", "reasons"],
                          "properties": {
                              "symbol": {"type": "string"}, "timeframe": {"type": "string"},
                              "source": {"type": "string", "enum": ["watchlist", "computed"]},
                              "summary": {"type": "string"},
                              "time": {"type": "string", "format": "date-time"},
                              "direction": {"type": "string", "enum": ["long", "short"]},
                              "score": {"type": "number", "minimum": 0, "maximum": 100},
                              "grade": {"type": "string"},
                              "components": {"type": "object",
                                             "additionalProperties": {"type": "number"}},
                              "reasons": {"type": "array", "items": {"type": "string"}},
                              "opposite": obj}},
                "RiskRequest": {"type": "object", "additionalProperties": False,
                                "required": ["trader_id", "symbol", "side", "volume", "price"],
                                "properties": {
                                    "trader_id": {"type": "integer", "minimum": 1},
                                    "symbol": {"type": "string", "example": "EURUSD"},
                                    "side": {"type": "string", "enum": ["buy", "sell"]},
                                    "volume": {"type": "number", "exclusiveMinimum": True,
                                               "minimum": 0},
                                    "price": {"type": "number", "exclusiveMinimum": True,
                                              "minimum": 0},
                                    "sl": {"type": "number", "nullable": True},
                                    "tp": {"type": "number", "nullable": True},
                                    "time": {"type": "string", "format": "date-time",
                                             "description": "default: the trader's clock"}}},
                "Verdict": {"type": "object", "required": ["at", "allowed", "action", "rules"],
                            "properties": {
                                "at": {"type": "string", "format": "date-time"},
                                "allowed": {"type": "boolean"},
                                "action": {"type": "string", "enum": [
                                    "allow", "warn", "soft_block", "hard_block"]},
                                "rules": {"type": "array", "items": {
                                    "type": "object", "properties": {
                                        "rule": {"type": "string"},
                                        "action": {"type": "string"},
                                        "message": {"type": "string"}}}},
                                "request": obj,
                                "risk_percent": {"type": "number", "nullable": True}}},
                "Journal": {"type": "object", "required": ["trader_id", "count", "entries"],
                            "properties": {"trader_id": {"type": "integer"},
                                           "count": {"type": "integer"},
                                           "entries": {"type": "array", "items": obj}}},
                "Signals": {"type": "object", "required": ["signals", "errors"],
                            "properties": {
                                "signals": {"type": "array",
                                            "items": {"$ref": "#/components/schemas/Score"}},
                                "errors": {"type": "array", "items": obj}}},
            },
        },
        "paths": {
            "/pulse/health": {"get": {
                "summary": "Liveness and readiness: database, Discord, feeds, scheduler, "
                           "outbox", "operationId": "health",
                "responses": {"200": _resp("Every check passes",
                                           {"$ref": "#/components/schemas/Health"}),
                              "503": _resp("At least one check fails (listed in 'failing')",
                                           {"$ref": "#/components/schemas/Health"})}}},
            "/metrics": {"get": {
                "summary": "Prometheus metrics (text exposition format)",
                "operationId": "metrics",
                "responses": {"200": {"description": "Prometheus text format 0.0.4",
                                      "content": {"text/plain": {"schema": {
                                          "type": "string"}}}}}}},
            "/openapi.json": {"get": {
                "summary": "This document", "operationId": "openapi",
                "responses": {"200": _resp("OpenAPI 3.0 document", obj)}}},
            "/pulse/score": {"get": {
                "summary": "Confluence score of a symbol (the watchlist's latest, or computed "
                           "from the feed's bars)", "operationId": "score",
                "security": [{"bearer": []}],
                "parameters": [
                    _q("symbol", "Symbol as MT5 names it", {"type": "string"}, True),
                    _q("timeframe", "Bar timeframe (default: the watchlist's first)",
                       {"type": "string", "enum": list(TIMEFRAMES)})],
                "responses": {"200": _resp("The score with its reasons",
                                           {"$ref": "#/components/schemas/Score"}),
                              "404": _resp("The feed has no such bars", _ERROR),
                              "422": _resp("Too few bars to score", _ERROR),
                              **_PROTECTED_ERRORS}}},
            "/pulse/risk": {"post": {
                "summary": "Pre-trade verdict for a trade request (recorded like /risk check)",
                "operationId": "risk", "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RiskRequest"}}}},
                "responses": {"200": _resp("The verdict, one entry per rule that spoke",
                                           {"$ref": "#/components/schemas/Verdict"}),
                              "404": _resp("Unknown trader", _ERROR),
                              "409": _resp("The trader's account is not known yet", _ERROR),
                              **_PROTECTED_ERRORS}}},
            "/pulse/journal": {"get": {
                "summary": "A trader's journal entries, newest first",
                "operationId": "journal", "security": [{"bearer": []}],
                "parameters": [
                    _q("trader_id", "Discord user id of the trader", {"type": "integer"}, True),
                    _q("limit", f"At most this many (1 to {MAX_JOURNAL}, default 100)",
                       {"type": "integer", "minimum": 1, "maximum": MAX_JOURNAL}),
                    _q("kind", "Only entries of this kind",
                       {"type": "string", "enum": [k.value for k in JournalKind]})],
                "responses": {"200": _resp("The entries",
                                           {"$ref": "#/components/schemas/Journal"}),
                              **_PROTECTED_ERRORS}}},
            "/signals/top": {"get": {
                "summary": "The watchlist's best setups, highest confluence first",
                "operationId": "signals", "security": [{"bearer": []}],
                "parameters": [_q("limit", f"How many (1 to {MAX_SIGNALS}, default 10)",
                                  {"type": "integer", "minimum": 1, "maximum": MAX_SIGNALS})],
                "responses": {"200": _resp("Scores and per-symbol errors",
                                           {"$ref": "#/components/schemas/Signals"}),
                              **_PROTECTED_ERRORS}}},
        },
    }
