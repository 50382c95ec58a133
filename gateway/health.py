"""``/healthz`` (the process answers) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from gateway.db.engine import ping
from gateway.state import AppState

CHECK_TIMEOUT_S = 3.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _timed(check: Awaitable[None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure makes the dependency not ready
        return {"ok": False, "error": _describe(exc)}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def _describe(exc: BaseException) -> str:
    # Only the class and a short text: connection errors may embed URLs, never credentials here,
    # because database and Redis URLs are not part of the exception messages we surface.
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_S:g} s"
    return type(exc).__name__


async def _redis_ok(state: AppState) -> None:
    assert state.redis is not None
    await state.redis.ping()


async def _site_ok(http: httpx.AsyncClient, base_url: str) -> None:
    response = await http.get(f"{base_url}/rest/api/2/serverInfo", timeout=CHECK_TIMEOUT_S)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict) or "version" not in body:
        raise ValueError("not a JIRA serverInfo answer")


async def readyz(request: Request) -> JSONResponse:
    """200 when the database, Redis (services mode) and every configured JIRA site answer."""
    state: AppState = request.app.state.gateway
    names: list[str] = ["database"]
    checks: list[Awaitable[dict[str, Any]]] = [_timed(ping(state.engine))]
    if state.redis is not None:
        names.append("redis")
        checks.append(_timed(_redis_ok(state)))
    for url in state.settings.site_urls:
        names.append(f"site {url}")
        checks.append(_timed(_site_ok(state.http, url)))
    results = dict(zip(names, await asyncio.gather(*checks), strict=True))
    ready = all(result["ok"] for result in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format: every JIRA call by site, endpoint template, status and retries.

    It names site ids and endpoint templates, never keys, URLs with data, or credentials; expose
    it to your monitoring network only (it takes no token).
    """
    state: AppState = request.app.state.gateway
    return PlainTextResponse(
        state.jira_metrics.render_prometheus(), media_type="text/plain; version=0.0.4"
    )
