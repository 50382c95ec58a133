"""The composition root: ``create_app()`` builds the ASGI application.

Clients and pools are created in the lifespan, kept on ``app.state.gateway`` (an ``AppState``)
and closed on exit; nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from arq import create_pool
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from gateway.attachments_web import attachment_route
from gateway.auth.safe_http import guarded_client
from gateway.auth.settings import AuthConfig
from gateway.auth_config import build_auth_config, build_auth_services
from gateway.cache import Cache, CacheConfig, CachePolicy
from gateway.config import Mode, Profile, Settings, SettingsError, load_settings
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.exports_run import build_export_runtime
from gateway.exports_web import export_route
from gateway.graphql import GRAPHIQL_DIR, GatewayGraphQL, build_schema
from gateway.health import healthz, metrics, readyz
from gateway.jira.metrics import InMemoryRecorder
from gateway.jobs import ArqJobQueue, JobQueue
from gateway.logs import configure_logging
from gateway.maintenance import Periodic, embedded_schedule, maintenance_loop
from gateway.middleware import BodyLimitMiddleware, RequestIdMiddleware, SecurityHeadersMiddleware
from gateway.oauth import routes as oauth_routes
from gateway.oauth_tokens import build_oauth_refresher
from gateway.polling import run_event_sources
from gateway.pubsub import Broker, MemoryBroker
from gateway.pubsub_redis import RedisBroker
from gateway.response_cache import ResponseCache
from gateway.sites import JIRA_TIMEOUT, SiteClients
from gateway.state import AppState
from gateway.sync import mirror_loop
from gateway.validation import Limits
from gateway.webhooks import WebhookIntake, WebhookSecrets, webhook_route
from workers.context import WorkerContext
from workers.embedded import build_job_queue
from workers.settings import redis_settings

log = logging.getLogger("gateway")

JIRA_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def _database_kind(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def cache_config(settings: Settings) -> CacheConfig:
    return CacheConfig(
        issues=CachePolicy(ttl=settings.cache_issue_ttl_s),
        searches=CachePolicy(ttl=settings.cache_search_ttl_s),
        metadata=CachePolicy(ttl=settings.cache_meta_ttl_s),
    )


async def open_state(settings: Settings, auth_config: AuthConfig) -> AppState:
    """Create every client this process needs and start the broker and the job queue."""
    database_url = settings.database_url.get_secret_value()
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    redis = text_redis = None
    if settings.redis_url is not None:
        redis = Redis.from_url(settings.redis_url.get_secret_value())
        text_redis = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    auth = build_auth_services(auth_config, sessionmaker, redis)
    # Every call to a JIRA site goes through the SSRF guard, checked when the socket opens.
    http = guarded_client(
        auth.guard, timeout=JIRA_TIMEOUT, limits=JIRA_LIMITS, follow_redirects=False
    )
    config = cache_config(settings)
    cache = Cache.on_redis(redis, config=config) if redis else Cache.in_process(config=config)
    broker: Broker = RedisBroker(text_redis) if text_redis else MemoryBroker()
    await broker.start()
    metrics = InMemoryRecorder()
    sites = SiteClients(http, metrics)
    jobs: JobQueue
    if settings.redis_url is not None:
        jobs = ArqJobQueue(await create_pool(redis_settings(settings)))
    else:
        exports = build_export_runtime(settings, sessionmaker, vault=auth.vault, sites=sites)
        worker = WorkerContext(
            engine=engine,
            sessionmaker=sessionmaker,
            broker=broker,
            http=http,
            invalidator=cache,
            exports=exports,
        )
        # No arq cron in-process: the lifespan's maintenance loop enqueues the sweeps and the
        # purge, the first time at startup (what a previous run of this process left behind).
        jobs = build_job_queue(worker)
    return AppState(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        redis=redis,
        http=http,
        auth=auth,
        cache=cache,
        response_cache=ResponseCache(cache),
        sites=sites,
        jira_metrics=metrics,
        broker=broker,
        jobs=jobs,
        webhooks=WebhookIntake(
            sessionmaker=sessionmaker, secrets=WebhookSecrets(sessionmaker, auth.vault), jobs=jobs
        ),
        text_redis=text_redis,
        oauth=build_oauth_refresher(settings, sessionmaker, auth.vault, redis, http),
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
        # Level 6: about 90% of level 9's ratio for a third of the CPU on 10-50 KB JSON bodies.
        Middleware(GZipMiddleware, minimum_size=1024, compresslevel=6),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
    ]


def create_app(
    settings: Settings | None = None, *, maintenance: Sequence[Periodic] | None = None
) -> Starlette:
    """The gateway ASGI app; settings from the environment unless given.

    ``maintenance``: embedded mode's periodic jobs (default ``embedded_schedule()``; tests
    inject shorter periods). Services mode runs them as arq cron jobs in the worker instead.
    """
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    try:
        auth_config = build_auth_config(settings)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    dev = settings.profile is Profile.DEV
    limits = Limits.from_settings(settings)
    graphql = GatewayGraphQL(build_schema(limits), graphiql=dev, deadline_s=limits.deadline_s)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = await open_state(settings, auth_config)
        app.state.gateway = state
        log.info("starting: %s profile=%s", describe_mode(settings), settings.profile.value)
        # Polling fallback and Cloud webhook refresh (issue 7).
        background = [asyncio.create_task(run_event_sources(state), name="jgw-event-sources")]
        if settings.mode is Mode.EMBEDDED:
            # Services mode syncs the mirror from an arq cron job in the worker (issue 6).
            background.append(
                asyncio.create_task(
                    mirror_loop(state.sessionmaker, state.auth.vault, state.sites),
                    name="jgw-mirror-sync",
                )
            )
            # Export sweep, retention purge and webhook-delivery sweep: arq cron in services.
            schedule = embedded_schedule() if maintenance is None else maintenance
            background.append(
                asyncio.create_task(maintenance_loop(state.jobs, schedule), name="jgw-maintenance")
            )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.aclose()
            log.info("stopped")

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        webhook_route(lambda request: request.app.state.gateway.webhooks),
        *oauth_routes(),
        export_route(),
        attachment_route(),
    ]
    if dev:
        routes.append(Mount("/graphiql/static", StaticFiles(directory=GRAPHIQL_DIR)))
    return Starlette(
        routes=routes,
        middleware=build_middleware(settings),
        lifespan=lifespan,
    )
