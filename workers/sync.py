"""Mirror sync jobs: ``sync_mirror(site_id)`` for one site and ``sync_mirrors`` for all (cron).

The logic lives in ``gateway.sync`` (shared with embedded mode's background task). The vault
(to open the sync account's credential) and the per-site, SSRF-guarded JIRA clients are the
worker's own, shared with the export jobs (``workers.context.export_runtime``).
"""

from __future__ import annotations

from typing import Any

from gateway.sync import open_source, sync_all, sync_site
from workers.context import export_runtime

SYNC_JOB = "sync_mirror"
SYNC_ALL_JOB = "sync_mirrors"


async def sync_mirror(ctx: dict[str, Any], site_id: str) -> int:
    """Sync one site's mirror; returns the number of rows changed. Idempotent."""
    runtime = export_runtime(ctx)
    source = await open_source(runtime.sessionmaker, runtime.vault, runtime.sites, site_id)
    if source is None:
        return 0
    report = await sync_site(runtime.sessionmaker, source)
    return len(report.changed)


async def sync_mirrors(ctx: dict[str, Any]) -> int:
    """Sync every connected site (the arq cron); returns how many sites were synced."""
    runtime = export_runtime(ctx)
    return len(await sync_all(runtime.sessionmaker, runtime.vault, runtime.sites))


__all__ = ["SYNC_ALL_JOB", "SYNC_JOB", "sync_mirror", "sync_mirrors"]
