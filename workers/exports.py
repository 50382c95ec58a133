"""Export jobs: ``export_pdf`` (one export), ``sweep_exports`` and ``purge_exports``.

The logic lives in ``gateway.exports_run`` (shared with nothing else, but ``gateway`` is where
services live); these functions only unpack the worker context. Arguments are ids only.
"""

from __future__ import annotations

from typing import Any

from gateway.exports_run import ExportRuntime, purge, run_export, sweep
from gateway.jobs import ArqJobQueue, JobQueue
from workers.context import worker_context

# One run fetches up to 5,000 issues and renders them (~10 issues/s on one core for the
# detailed template): 30 min bounds the largest export with room for a slow JIRA.
EXPORT_TIMEOUT_S = 1800.0
EXPORT_TRIES = 3


def _runtime(ctx: dict[str, Any]) -> ExportRuntime:
    runtime = worker_context(ctx).exports
    if runtime is None:
        raise RuntimeError("this worker context has no export runtime")
    return runtime


def _queue(ctx: dict[str, Any]) -> JobQueue:
    worker = worker_context(ctx)
    if worker.jobs is not None:  # embedded: the gateway's in-process queue
        return worker.jobs
    return ArqJobQueue(ctx["redis"])  # arq puts its own pool in ctx; do not close it


async def export_pdf(ctx: dict[str, Any], export_id: str) -> str:
    """Run export ``export_id`` once (idempotent: a finished or busy export is left alone)."""
    return await run_export(
        _runtime(ctx),
        export_id,
        job_try=int(ctx.get("job_try", 1)),
        max_tries=EXPORT_TRIES,
    )


async def sweep_exports(ctx: dict[str, Any]) -> int:
    """Re-enqueue exports whose run died or whose job was lost; returns how many."""
    return len(await sweep(_runtime(ctx), _queue(ctx)))


async def purge_exports(ctx: dict[str, Any]) -> int:
    """Delete export files past their retention (and orphans); returns how many."""
    return await purge(_runtime(ctx))


__all__ = ["EXPORT_TIMEOUT_S", "EXPORT_TRIES", "export_pdf", "purge_exports", "sweep_exports"]
