"""arq ``WorkerSettings`` for ``jira-gateway worker`` (services mode).

Run it as ``arq.run_worker(WorkerSettings, redis_settings=redis_settings(settings))``; the
Redis URL is not read at import time. Each job comes from ``workers.registry.JOBS`` with its own
``max_tries`` and ``timeout`` and ``keep_result=0`` (arq refuses to re-enqueue a ``_job_id``
whose result is still stored). arq retries only on ``Retry``; ``_retrying`` turns any failure
into a ``Retry`` with a growing delay until ``max_tries``, the same policy as the embedded
runner.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from arq import Retry
from arq.connections import RedisSettings
from arq.cron import CronJob, cron
from arq.worker import Function, func

from gateway.config import Settings, load_settings
from gateway.jobs import JobFunction, JobSpec
from workers.context import CTX_KEY, build_worker_context, worker_context
from workers.exports import purge_exports, sweep_exports
from workers.registry import JOBS
from workers.sync import sync_mirrors
from workers.webhooks import sweep_webhook_deliveries


def _retrying(spec: JobSpec) -> JobFunction:
    @functools.wraps(spec.function)
    async def run(ctx: dict[str, Any], *args: Any) -> Any:
        try:
            return await spec.function(ctx, *args)
        except Exception as exc:
            job_try = int(ctx.get("job_try", 1))
            if job_try >= spec.max_tries:
                raise
            raise Retry(defer=spec.retry_delay_s * job_try) from exc

    return run


def arq_function(spec: JobSpec) -> Function:
    return func(
        _retrying(spec),  # type: ignore[arg-type]
        name=spec.name,
        max_tries=spec.max_tries,
        timeout=spec.timeout_s,
        keep_result=0,
    )


def redis_settings(settings: Settings) -> RedisSettings:
    if settings.redis_url is None:
        raise ValueError("the arq worker needs JGW_REDIS_URL (services mode)")
    return RedisSettings.from_dsn(settings.redis_url.get_secret_value())


async def startup(ctx: dict[str, Any]) -> None:
    """Build the typed worker context (engine, sessionmaker, Redis, broker, HTTP, cache)."""
    ctx[CTX_KEY] = build_worker_context(load_settings())


async def shutdown(ctx: dict[str, Any]) -> None:
    if CTX_KEY in ctx:
        await worker_context(ctx).aclose()


class WorkerSettings:
    """Picked up by ``arq.run_worker``; see the module docstring."""

    functions: ClassVar[list[Function]] = [arq_function(spec) for spec in JOBS]
    # Exports: the sweeper also runs at startup, so a restarted worker takes over at once what
    # a killed one left RUNNING (once its heartbeat is older than JGW_EXPORT_LEASE_S).
    cron_jobs: ClassVar[list[CronJob]] = [
        cron(sweep_exports, second={0, 30}, run_at_startup=True, timeout=60, max_tries=1),
        cron(purge_exports, minute={7}, second=0, timeout=300, max_tries=1),
        # Webhook deliveries whose job was lost (a killed worker's job is otherwise retried only
        # when its in-progress key expires: the longest job timeout, 30 min for exports).
        cron(sweep_webhook_deliveries, second=15, timeout=60, max_tries=1),
        # Mirror sync every 5 minutes; arq's cron job id keeps two runs from overlapping.
        cron(sync_mirrors, minute=set(range(0, 60, 5)), second=20, timeout=3600, max_tries=1),
    ]
    on_startup = startup
    on_shutdown = shutdown
    # Jobs hold a DB connection each: stay below the PostgreSQL pool (5 + 5 overflow).
    max_jobs = 8


__all__ = ["WorkerSettings", "arq_function", "redis_settings", "shutdown", "startup"]
