"""Export jobs: ``export_pdf`` (one export), ``sweep_exports`` and ``purge_exports``.

The logic lives in ``gateway.exports_run`` (shared with nothing else, but ``gateway`` is where
services live); these functions only unpack the worker context. Arguments are ids only.
"""

from __future__ import annotations

from typing import Any

from gateway.exports_run import purge, run_export, sweep
from workers.context import export_runtime, job_queue

# One run fetches up to 5,000 issues and renders them (~10 issues/s on one core for the
# detailed template): 30 min bounds the largest export with room for a slow JIRA.
EXPORT_TIMEOUT_S = 1800.0
EXPORT_TRIES = 3


async def export_pdf(ctx: dict[str, Any], export_id: str) -> str:
    """Run export ``export_id`` once (idempotent: a finished or busy export is left alone)."""
    return await run_export(
        export_runtime(ctx),
        export_id,
        job_try=int(ctx.get("job_try", 1)),
        max_tries=EXPORT_TRIES,
    )


async def sweep_exports(ctx: dict[str, Any]) -> int:
    """Re-enqueue exports whose run died or whose job was lost; returns how many."""
    return len(await sweep(export_runtime(ctx), job_queue(ctx)))


async def purge_exports(ctx: dict[str, Any]) -> int:
    """Delete export files past their retention (and orphans); returns how many."""
    return await purge(export_runtime(ctx))


__all__ = ["EXPORT_TIMEOUT_S", "EXPORT_TRIES", "export_pdf", "purge_exports", "sweep_exports"]
