"""The HTTP app over a real service: auth, the four JSON endpoints, OpenAPI coverage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.http import OPEN_PATHS, PROTECTED_PATHS, build_app, openapi_document
from pulse.models import JournalEntry, JournalKind
from storage.repo_journal import add_journal_entry
from tests.http.conftest import TOKEN, TRADER, View, at, auth

Client = TestClient[web.Request, web.Application]


# --------------------------------------------------------------------------- OpenAPI


def test_every_route_is_described_in_the_openapi_document(view: View) -> None:
    doc = openapi_document()
    assert doc["openapi"].startswith("3.")
    app = build_app(view)
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.resource is not None and r.method != "HEAD"}
    described = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == described
    for path in PROTECTED_PATHS:
        for op in doc["paths"][path].values():
            assert op["security"] == [{"bearer": []}], path
            assert {"401", "503"} <= set(op["responses"]), path
    for path in OPEN_PATHS:
        assert all("security" not in op for op in doc["paths"][path].values())
    # every $ref points at a schema that exists
    schemas = doc["components"]["schemas"]

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [
                r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def test_openapi_is_served_without_a_token(client: Client) -> None:
    r = await client.get("/openapi.json")
    assert r.status == 200
    assert (await r.json())["paths"].keys() == openapi_document()["paths"].keys()


# --------------------------------------------------------------------------- auth


async def test_protected_routes_need_the_bearer_token(client: Client) -> None:
    for method, path in (("GET", "/pulse/score?symbol=EURUSD"), ("POST", "/pulse/risk"),
                         ("GET", f"/pulse/journal?trader_id={TRADER}"),
                         ("GET", "/signals/top")):
        r = await client.request(method, path)
        assert r.status == 401, path
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Bearer" in (await r.json())["error"]
        r = await client.request(method, path, headers={"Authorization": "Bearer nope"})
        assert r.status == 401, path
        r = await client.request(method, path, headers={"Authorization": f"Basic {TOKEN}"})
        assert r.status == 401, path


async def test_no_token_configured_means_api_disabled_not_open(view: View,
                                                               client: Client) -> None:
    view.api_token = None
    r = await client.get("/signals/top", headers=auth())
    assert r.status == 503
    assert (await r.json())["error"].startswith("API disabled")
    assert (await client.get("/pulse/health")).status == 200  # monitoring still open
    assert (await client.get("/metrics")).status == 200


# --------------------------------------------------------------------------- risk


async def test_risk_returns_the_kernels_verdict(view: View, client: Client) -> None:
    body = {"trader_id": TRADER, "symbol": "EURUSD", "side": "buy", "volume": 0.5,
            "price": 1.0850}
    r = await client.post("/pulse/risk", json=body, headers=auth())
    assert r.status == 200, await r.text()
    verdict = await r.json()
    assert verdict["allowed"] is False and verdict["action"] == "hard_block"
    assert "stop_loss_required" in [x["rule"] for x in verdict["rules"]]

    r = await client.post("/pulse/risk", json={**body, "sl": 1.0845}, headers=auth())
    ok = await r.json()
    assert r.status == 200 and ok["allowed"] is True
    assert ok["risk_percent"] is not None and ok["risk_percent"] > 0
    assert ok["request"]["symbol"] == "EURUSD"


async def test_risk_bad_input_names_the_field(client: Client) -> None:
    r = await client.post("/pulse/risk", json={"trader_id": TRADER, "symbol": "EURUSD",
                                               "side": "long", "volume": -1, "price": 1.1},
                          headers=auth())
    assert r.status == 400
    problems = (await r.json())["problems"]
    assert any(p.startswith("side") for p in problems)
    assert any(p.startswith("volume") for p in problems)
    r = await client.post("/pulse/risk", data=b"not json", headers=auth())
    assert r.status == 400 and "JSON" in (await r.json())["error"]
    r = await client.post("/pulse/risk", json={"trader_id": 42, "symbol": "EURUSD",
                                               "side": "buy", "volume": 1, "price": 1.1},
                          headers=auth())
    assert r.status == 404 and "trader_id" in (await r.json())["error"]
    r = await client.post("/pulse/risk", json={"trader_id": TRADER, "symbol": "EURUSD",
                                               "side": "buy", "volume": 1, "price": 1.1,
                                               "time": "2026-03-02T09:00:00"},
                          headers=auth())
    assert r.status == 400 and (await r.json())["problems"][0].startswith("time")
    # typos are refused before the kernel sees them (nothing is recorded)
    r = await client.post("/pulse/risk", json={"trader_id": TRADER, "symbol": "EUR'USD",
                                               "side": "buy", "volume": 1, "price": 1.1,
                                               "sl": 1.2, "tp": 1.0}, headers=auth())
    problems = (await r.json())["problems"]
    assert r.status == 400 and [p.split(":")[0] for p in problems] == ["symbol", "sl", "tp"]
    assert "is not below the buy price" in problems[1]
    r = await client.post("/pulse/risk", json={"trader_id": TRADER, "symbol": "EURUSD",
                                               "side": "sell", "volume": 1, "price": 1.1,
                                               "sl": 1.05}, headers=auth())
    assert r.status == 400 and "is not above the sell price" in (await r.json())["problems"][0]


# --------------------------------------------------------------------------- score, signals


async def test_score_computed_from_the_feeds_bars_then_from_the_watchlist(
    view: View, client: Client
) -> None:
    r = await client.get("/pulse/score", params={"symbol": "EURUSD", "timeframe": "h1"},
                         headers=auth())
    assert r.status == 200, await r.text()
    computed = await r.json()
    assert computed["source"] == "computed" and computed["timeframe"] == "H1"
    assert 0 <= computed["score"] <= 100 and computed["direction"] in ("long", "short")
    assert computed["summary"].startswith(f"{computed['score']:.0f}/100")
    # the scored bar is the last one the feed has released, never a later one
    assert datetime.fromisoformat(computed["time"]) == view.bars.index[-1].to_pydatetime()

    assert view.service is not None
    await view.service.refresh_scores()
    r = await client.get("/pulse/score", params={"symbol": "EURUSD"}, headers=auth())
    cached = await r.json()
    assert cached["source"] == "watchlist" and cached["score"] == computed["score"]

    r = await client.get("/signals/top", params={"limit": "3"}, headers=auth())
    top = await r.json()
    assert r.status == 200 and [s["symbol"] for s in top["signals"]] == ["EURUSD"]
    assert top["signals"][0]["score"] == computed["score"] and top["errors"] == []


async def test_score_and_signals_bad_input(client: Client) -> None:
    r = await client.get("/pulse/score", headers=auth())
    assert r.status == 400 and (await r.json())["problems"][0].startswith("symbol: required")
    r = await client.get("/pulse/score", params={"symbol": "EUR'USD", "timeframe": "H7"},
                         headers=auth())
    problems = (await r.json())["problems"]
    assert r.status == 400 and [p.split(":")[0] for p in problems] == ["symbol", "timeframe"]
    r = await client.get("/pulse/score", params={"symbol": "GBPUSD"}, headers=auth())
    assert r.status == 404 and "GBPUSD" in (await r.json())["error"]
    r = await client.get("/signals/top", params={"limit": "0"}, headers=auth())
    assert r.status == 400 and (await r.json())["problems"][0].startswith("limit")


# --------------------------------------------------------------------------- journal


async def test_journal_lists_the_traders_entries_newest_first(view: View,
                                                              client: Client) -> None:
    assert view.engine is not None
    for i, text in enumerate(["planned breakout", "chased it", "waited for the retest"]):
        await add_journal_entry(view.engine, JournalEntry(
            trader_id=TRADER, kind=JournalKind.NOTE, at=at(f"2026-03-02T09:0{i}:00+00:00"),
            text=text))
    await add_journal_entry(view.engine, JournalEntry(
        trader_id=99, kind=JournalKind.NOTE, at=at("2026-03-02T09:05:00+00:00"),
        text="someone else"))
    r = await client.get("/pulse/journal", params={"trader_id": str(TRADER), "limit": "2"},
                         headers=auth())
    body = await r.json()
    assert r.status == 200 and body["count"] == 2
    assert [e["text"] for e in body["entries"]] == ["waited for the retest", "chased it"]
    r = await client.get("/pulse/journal", params={"trader_id": "ann"}, headers=auth())
    assert r.status == 400 and (await r.json())["problems"][0].startswith("trader_id")
    r = await client.get("/pulse/journal", params={"trader_id": str(TRADER), "kind": "x"},
                         headers=auth())
    assert r.status == 400 and (await r.json())["problems"][0].startswith("kind")
