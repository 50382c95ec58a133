"""Mirror sync jobs: ``sync_mirror(site_id)`` for one site and ``sync_mirrors`` for all (cron).

The logic lives in ``gateway.sync`` (shared with embedded mode's background task). A worker has
no app state, so the vault (to open the sync account's credential) and the per-site JIRA clients
are built on first use from the settings and kept in ``ctx``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.auth.vault import Vault
from gateway.auth_config import build_auth_config
from gateway.config import load_settings
from gateway.jira.metrics import InMemoryRecorder
from gateway.sites import SiteClients
from gateway.sync import open_source, sync_all, sync_site
from workers.context import worker_context

SYNC_JOB = "sync_mirror"
SYNC_ALL_JOB = "sync_mirrors"
_DEPS_KEY = "mirror_sync"


@dataclass(frozen=True, slots=True)
class _SyncDeps:
    vault: Vault
    sites: SiteClients


def _deps(ctx: dict[str, Any]) -> _SyncDeps:
    deps = ctx.get(_DEPS_KEY)
    if not isinstance(deps, _SyncDeps):
        worker = worker_context(ctx)
        config = build_auth_config(load_settings())
        deps = _SyncDeps(Vault(config.vault_keys), SiteClients(worker.http, InMemoryRecorder()))
        ctx[_DEPS_KEY] = deps
    return deps


async def sync_mirror(ctx: dict[str, Any], site_id: str) -> int:
    """Sync one site's mirror; returns the number of rows changed. Idempotent."""
    deps = _deps(ctx)
    worker = worker_context(ctx)
    source = await open_source(worker.sessionmaker, deps.vault, deps.sites, site_id)
    if source is None:
        return 0
    report = await sync_site(worker.sessionmaker, source)
    return len(report.changed)


async def sync_mirrors(ctx: dict[str, Any]) -> int:
    """Sync every connected site (the arq cron); returns how many sites were synced."""
    deps = _deps(ctx)
    return len(await sync_all(worker_context(ctx).sessionmaker, deps.vault, deps.sites))


__all__ = ["SYNC_ALL_JOB", "SYNC_JOB", "sync_mirror", "sync_mirrors"]
