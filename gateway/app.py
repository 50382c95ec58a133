"""The composition root: ``create_app()`` builds the ASGI application.

Clients and pools are created in the lifespan, kept on ``app.state.gateway`` (an ``AppState``)
and closed on exit; nothing connects at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from gateway.config import Mode, Profile, Settings, load_settings
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.graphql import GRAPHIQL_DIR, GatewayGraphQL, build_schema
from gateway.health import healthz, readyz
from gateway.logs import configure_logging
from gateway.middleware import BodyLimitMiddleware, RequestIdMiddleware, SecurityHeadersMiddleware
from gateway.state import AppState

log = logging.getLogger("gateway")

# Timeouts for calls to JIRA (issue 3): connect 3 s, read 10 s.
JIRA_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)
JIRA_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def _database_kind(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def build_state(settings: Settings) -> AppState:
    """Create (but do not yet use) every client this process needs."""
    database_url = settings.database_url.get_secret_value()
    engine = create_engine(database_url)
    redis = (
        Redis.from_url(settings.redis_url.get_secret_value())
        if settings.redis_url is not None
        else None
    )
    http = httpx.AsyncClient(timeout=JIRA_TIMEOUT, limits=JIRA_LIMITS, follow_redirects=False)
    return AppState(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        redis=redis,
        http=http,
    )


def describe_mode(settings: Settings) -> str:
    database = _database_kind(settings.database_url.get_secret_value())
    if settings.mode is Mode.SERVICES:
        return f"mode=services database={database} cache=Redis pubsub=Redis jobs=arq"
    return f"mode=embedded database={database} cache=in-process pubsub=in-process jobs=in-process"


def build_middleware(settings: Settings) -> list[Middleware]:
    return [
        Middleware(RequestIdMiddleware),
        Middleware(SecurityHeadersMiddleware, hsts=settings.profile is Profile.PROD),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id", "etag"],
            max_age=600,
        ),
        Middleware(GZipMiddleware, minimum_size=1024),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    """The gateway ASGI app; settings from the environment unless given."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    dev = settings.profile is Profile.DEV
    graphql = GatewayGraphQL(build_schema(), graphiql=dev)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = build_state(settings)
        app.state.gateway = state
        log.info("starting: %s profile=%s", describe_mode(settings), settings.profile.value)
        try:
            yield
        finally:
            await state.aclose()
            log.info("stopped")

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    if dev:
        routes.append(Mount("/graphiql/static", StaticFiles(directory=GRAPHIQL_DIR)))
    return Starlette(
        routes=routes,
        middleware=build_middleware(settings),
        lifespan=lifespan,
    )
