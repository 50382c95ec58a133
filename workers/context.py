"""The typed worker context: what job functions get from arq's ``ctx`` dict.

arq passes jobs a plain dict; ``on_startup`` stores one ``WorkerContext`` under ``CTX_KEY`` and
jobs read it back with ``worker_context(ctx)``. The embedded runner builds the same dict around
the gateway process's own engine and broker, so job functions never know which mode runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.auth.guards import SiteGuard
from gateway.auth.safe_http import guarded_client
from gateway.auth.vault import Vault
from gateway.auth_config import build_auth_config
from gateway.cache import Cache
from gateway.config import Settings
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.exports_run import ExportRuntime, build_export_runtime
from gateway.jira.metrics import InMemoryRecorder
from gateway.jobs import ArqJobQueue, JobQueue
from gateway.pubsub import Broker, MemoryBroker
from gateway.pubsub_redis import RedisBroker
from gateway.sites import JIRA_TIMEOUT, SiteClients

CTX_KEY = "worker"
# A worker runs at most 8 jobs at once (``WorkerSettings.max_jobs``): 50 connections is ample.
JIRA_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=10)


class IssueInvalidator(Protocol):
    """Drops every cached entry of one issue, for every principal (``gateway.cache.Cache``)."""

    async def invalidate_issue(self, site_id: str, issue_key: str) -> object: ...


@dataclass(slots=True)
class WorkerContext:
    """Long-lived resources of a worker process (or, embedded, borrowed from the gateway).

    ``owned``: ``aclose()`` closes engine, Redis and HTTP client only when this context created
    them (the arq worker); embedded, the gateway's lifespan owns and closes them.
    """

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    broker: Broker
    http: httpx.AsyncClient
    """Outbound calls to JIRA sites: SSRF-guarded, like the gateway's (``guarded_client``)."""
    redis: Redis | None = None
    invalidator: IssueInvalidator | None = None
    owned: bool = False
    exports: ExportRuntime | None = None
    """The vault and per-site JIRA clients of every job, and the export jobs' storage and
    render pool (``gateway.exports_run``)."""
    jobs: JobQueue | None = None
    """Embedded only: the in-process queue, for jobs that enqueue jobs (arq: ``ctx["redis"]``)."""

    async def aclose(self) -> None:
        if not self.owned:
            return
        if self.exports is not None:
            await self.exports.aclose()
        await self.broker.aclose()
        await self.http.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


def worker_context(ctx: Mapping[str, Any]) -> WorkerContext:
    """The ``WorkerContext`` inside arq's (or the embedded runner's) ``ctx`` dict."""
    worker = ctx.get(CTX_KEY)
    if not isinstance(worker, WorkerContext):
        raise RuntimeError("no WorkerContext in ctx: the worker's on_startup did not run")
    return worker


def job_queue(ctx: Mapping[str, Any]) -> JobQueue:
    """The queue for jobs that enqueue jobs: embedded, the gateway's in-process queue; under
    arq, a ``JobQueue`` over the worker's own pool (``ctx["redis"]``, never closed here)."""
    worker = worker_context(ctx)
    if worker.jobs is not None:
        return worker.jobs
    return ArqJobQueue(ctx["redis"])


def export_runtime(ctx: Mapping[str, Any]) -> ExportRuntime:
    """The worker's ``ExportRuntime`` (vault, site clients, export storage and render pool)."""
    runtime = worker_context(ctx).exports
    if runtime is None:
        raise RuntimeError("this worker context has no export runtime")
    return runtime


def build_worker_context(settings: Settings) -> WorkerContext:
    """Everything a worker process needs, from settings (nothing connects until first use).

    Services mode gets its own decoding Redis client (arq's pool does not decode responses)
    for the broker and the cache; without Redis (tests, one-off runs) a local broker and cache.
    One SSRF-guarded HTTP pool serves every job's JIRA calls (sync and exports alike).
    """
    engine = create_engine(settings.database_url.get_secret_value())
    auth = build_auth_config(settings)
    http = guarded_client(
        SiteGuard(auth), timeout=JIRA_TIMEOUT, limits=JIRA_LIMITS, follow_redirects=False
    )
    sites = SiteClients(http, InMemoryRecorder())
    redis: Redis | None = None
    broker: Broker
    if settings.redis_url is not None:
        redis = Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
        broker = RedisBroker(redis)
        cache = Cache.on_redis(redis)
    else:
        broker = MemoryBroker()
        cache = Cache.in_process()
    sessionmaker = create_sessionmaker(engine)
    return WorkerContext(
        engine=engine,
        sessionmaker=sessionmaker,
        broker=broker,
        http=http,
        redis=redis,
        invalidator=cache,
        owned=True,
        exports=build_export_runtime(
            settings, sessionmaker, vault=Vault(auth.vault_keys), sites=sites
        ),
    )


__all__ = [
    "CTX_KEY",
    "IssueInvalidator",
    "WorkerContext",
    "build_worker_context",
    "export_runtime",
    "job_queue",
    "worker_context",
]
