"""One run of an export job, and the sweeper and retention passes (called by ``workers``).

A run *claims* the row with one conditional UPDATE (PENDING, or RUNNING with a heartbeat older
than the lease) and a fresh ``lease_token``; every later write is conditional on that token and
on status RUNNING, so a cancelled export or a run superseded by the sweeper notices at its next
heartbeat and stops. Progress is written as ``max(stored, new)``: a rerun that starts over never
moves it backwards. Output: staging file -> ``storage.publish`` (atomic) -> row DONE. A run
killed at any point leaves the row RUNNING with a stale heartbeat; the sweeper re-enqueues it,
the next run discards the dead run's staging files and renders again to the same final name.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.vault import Vault
from gateway.config import Settings
from gateway.db.models import Export, SiteAccount
from gateway.errors import GatewayError, expected_error
from gateway.exports import (
    EXPORT_JOB,
    MAX_ISSUES,
    ExportConfig,
    ExportStatus,
    file_name_of,
    file_name_of_parts,
)
from gateway.exports_data import keys_for_jql, load_site_call, spool_issues
from gateway.exports_render import RenderCancelled, RenderPool, RenderTask, SpoolWriter
from gateway.exports_render import read_progress as read_render_progress
from gateway.exports_storage import ExportStorage, LocalExportStorage
from gateway.jira.errors import JiraAuthError, JiraBadRequest
from gateway.jobs import JobQueue
from gateway.sites import SiteClients

log = logging.getLogger(__name__)

POLL_S = 0.5
# Permanent failures: retrying cannot help.
_PERMANENT = (GatewayError, JiraAuthError, JiraBadRequest)


@dataclass(slots=True)
class ExportRuntime:
    """What export jobs need in a worker (or, embedded, borrowed from the gateway)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    vault: Vault
    sites: SiteClients
    storage: ExportStorage
    config: ExportConfig
    pool: RenderPool

    async def aclose(self) -> None:
        self.pool.shutdown()


class _Lost(Exception):
    """The run no longer holds the export (cancelled, or superseded by a newer run)."""


def _now() -> datetime:
    return datetime.now(UTC)


async def _update(rt: ExportRuntime, export_id: str, token: str, **values: Any) -> bool:
    """Write ``values`` if this run still holds the export; False otherwise."""
    async with rt.sessionmaker() as db, db.begin():
        result = await db.execute(
            update(Export)
            .where(
                Export.id == export_id,
                Export.lease_token == token,
                Export.status == ExportStatus.RUNNING.value,
            )
            .values(**values)
        )
    return bool(getattr(result, "rowcount", 0))


async def heartbeat(rt: ExportRuntime, export_id: str, token: str, done: int | None) -> None:
    """Renew the lease and raise progress to ``done`` (never lower); ``_Lost`` when gone."""
    values: dict[str, Any] = {"heartbeat_at": _now()}
    if done is not None:
        values["progress_done"] = case(
            (Export.progress_done < done, done), else_=Export.progress_done
        )
    if not await _update(rt, export_id, token, **values):
        raise _Lost(export_id)


async def claim(rt: ExportRuntime, export_id: str) -> str | None:
    """Take the export for a new run; its lease token, or None when it is not ours to run."""
    token = str(uuid.uuid4())
    now = _now()
    stale = now - timedelta(seconds=rt.config.lease_s)
    async with rt.sessionmaker() as db, db.begin():
        result = await db.execute(
            update(Export)
            .where(
                Export.id == export_id,
                or_(
                    Export.status == ExportStatus.PENDING.value,
                    (Export.status == ExportStatus.RUNNING.value)
                    & or_(Export.heartbeat_at.is_(None), Export.heartbeat_at < stale),
                ),
            )
            .values(
                status=ExportStatus.RUNNING.value,
                lease_token=token,
                heartbeat_at=now,
                attempts=Export.attempts + 1,
                started_at=case((Export.started_at.is_(None), now), else_=Export.started_at),
            )
        )
    return token if getattr(result, "rowcount", 0) else None


async def run_export(rt: ExportRuntime, export_id: str, *, job_try: int, max_tries: int) -> str:
    """One idempotent run of export ``export_id``; returns the status it leaves.

    Transient failures (JIRA down, a render child killed) release the export and raise, so the
    job queue retries; on the last try, and for permanent failures, the export ends FAILED.
    """
    token = await claim(rt, export_id)
    if token is None:
        async with rt.sessionmaker() as db:
            status = await db.scalar(select(Export.status).where(Export.id == export_id))
        return str(status or "missing")
    rt.storage.discard_staging(export_id)  # dead runs' leftovers: we hold the lease now
    try:
        await _produce(rt, export_id, token)
    except (_Lost, RenderCancelled):
        async with rt.sessionmaker() as db:
            status = await db.scalar(select(Export.status).where(Export.id == export_id))
        log.info("export %s run %s stopped: now %s", export_id, token, status)
        return str(status)
    except Exception as exc:
        permanent = isinstance(exc, _PERMANENT)
        if permanent or job_try >= max_tries:
            code, message, _extra = expected_error(exc) or ("INTERNAL", "The export failed.", {})
            if not permanent:
                log.exception("export %s failed for good", export_id)
            await _update(
                rt,
                export_id,
                token,
                status=ExportStatus.FAILED.value,
                error_code=code,
                error_message=message[:500],
                finished_at=_now(),
                lease_token=None,
            )
            return ExportStatus.FAILED.value
        # Hand the export back so the retry (or the sweeper) can claim it at once.
        await _update(rt, export_id, token, status=ExportStatus.PENDING.value, lease_token=None)
        raise
    finally:
        rt.storage.discard_staging(export_id)
    return ExportStatus.DONE.value


async def _produce(rt: ExportRuntime, export_id: str, token: str) -> None:
    async with rt.sessionmaker() as db:
        row = await db.get(Export, export_id)
    if row is None:
        raise _Lost(export_id)
    call = await load_site_call(rt.sessionmaker, rt.vault, rt.sites, row.principal_id, row.site_id)
    keys = row.issue_keys
    if keys is None:  # a JQL export: resolved once, kept for every later run
        keys = await keys_for_jql(call, str(row.source.get("jql", "")), MAX_ISSUES)
        if not await _update(rt, export_id, token, issue_keys=keys, progress_total=len(keys)):
            raise _Lost(export_id)
    target = rt.storage.staging_path(export_id, token)
    spool = rt.storage.staging_path(export_id, f"{token}-spool")
    writer = SpoolWriter(spool)
    log.info("export %s: fetching %d issues", export_id, len(keys))
    try:
        skipped = await spool_issues(
            call, keys, writer.write, lambda _n: heartbeat(rt, export_id, token, None)
        )
    finally:
        writer.close()
    if not await _update(rt, export_id, token, skipped=skipped):
        raise _Lost(export_id)
    task = RenderTask(
        layout=row.layout,
        spool=spool,
        target=target,
        title=row.title,
        requested_by=await _owner_name(rt, call.account_id, call.jira_account_id),
        generated_at=_now(),
        options=dict(row.options),
        skipped=tuple(skipped),
    )
    log.info("export %s: rendering %d issues", export_id, writer.count)
    stats = await _render(rt, export_id, token, task, len(skipped))
    log.info("export %s: rendered %d pages", export_id, stats.page_count)
    size = await rt.storage.publish(target, file_name_of(row))
    now = _now()
    done = await _update(
        rt,
        export_id,
        token,
        status=ExportStatus.DONE.value,
        progress_done=len(keys),
        file_name=file_name_of(row),
        size_bytes=size,
        page_count=stats.page_count,
        finished_at=now,
        expires_at=now + timedelta(seconds=rt.config.retention_s),
        lease_token=None,
    )
    if not done:
        async with rt.sessionmaker() as db:
            status = await db.scalar(select(Export.status).where(Export.id == export_id))
        if status == ExportStatus.CANCELLED:
            await rt.storage.delete(file_name_of(row))
        raise _Lost(export_id)


async def _owner_name(rt: ExportRuntime, account_id: str, fallback: str) -> str:
    async with rt.sessionmaker() as db:
        name = await db.scalar(select(SiteAccount.display_name).where(SiteAccount.id == account_id))
    return str(name or fallback)


async def _render(
    rt: ExportRuntime, export_id: str, token: str, task: RenderTask, skipped: int
) -> Any:
    """Render in the pool while this coroutine mirrors the child's progress into the row."""
    future = asyncio.ensure_future(rt.pool.run(task))
    lost = False
    while True:
        finished, _ = await asyncio.wait({future}, timeout=POLL_S)
        if finished:
            break
        if lost:
            continue
        try:
            await heartbeat(rt, export_id, token, skipped + read_render_progress(task))
        except _Lost:
            lost = True
            task.cancel_path.touch()  # the child stops after its current issue
    try:
        return future.result()
    finally:
        task.cancel_path.unlink(missing_ok=True)


# --- sweeper and retention ---------------------------------------------------------------------


async def sweep(rt: ExportRuntime, jobs: JobQueue) -> list[str]:
    """Re-enqueue exports whose run died (RUNNING, stale heartbeat) or whose job was lost
    (PENDING for longer than the lease). The job id carries a suffix: arq keeps the dead job's
    id reserved until its own in-progress key expires (the job timeout), and the claim makes a
    second concurrent run of one export impossible anyway."""
    stale = _now() - timedelta(seconds=rt.config.lease_s)
    async with rt.sessionmaker() as db:
        rows = await db.execute(
            select(Export.id, Export.attempts).where(
                or_(
                    (Export.status == ExportStatus.RUNNING.value)
                    & or_(Export.heartbeat_at.is_(None), Export.heartbeat_at < stale),
                    (Export.status == ExportStatus.PENDING.value) & (Export.created_at < stale),
                )
            )
        )
        stuck = [(r.id, r.attempts) for r in rows]
    requeued = []
    for export_id, attempts in stuck:
        if await jobs.enqueue(EXPORT_JOB, f"{export_id}:sweep{attempts}", export_id):
            requeued.append(export_id)
    if requeued:
        log.warning("re-enqueued %d stuck exports: %s", len(requeued), requeued)
    return requeued


async def purge(rt: ExportRuntime) -> int:
    """Delete files of exports past ``expires_at`` and files no row names; returns the count."""
    now = _now()
    deleted = 0
    async with rt.sessionmaker() as db, db.begin():
        expired = (
            await db.scalars(
                select(Export).where(Export.file_name.is_not(None), Export.expires_at < now)
            )
        ).all()
        for row in expired:
            if row.file_name and await rt.storage.delete(row.file_name):
                deleted += 1
            row.file_name = None
        names = await rt.storage.names()
        # A running export's file may be published before its row says so: keep those too.
        live = await db.execute(
            select(Export.id, Export.layout, Export.file_name, Export.status).where(
                or_(Export.file_name.is_not(None), Export.status == ExportStatus.RUNNING.value)
            )
        )
        known = {r.file_name or file_name_of_parts(r.id, r.layout) for r in live}
    for name in names:
        if name not in known and await rt.storage.delete(name):
            deleted += 1
    rt.storage.purge_staging(older_than_s=max(rt.config.job_timeout_s, rt.config.lease_s) * 2)
    return deleted


# --- building the runtime ----------------------------------------------------------------------


def build_export_runtime(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    vault: Vault,
    sites: SiteClients,
) -> ExportRuntime:
    """The export runtime of a process, over the vault and (SSRF-guarded) site clients it
    already has: the gateway's when embedded, the worker's own (``workers.context``)."""
    config = ExportConfig()
    return ExportRuntime(
        sessionmaker=sessionmaker,
        vault=vault,
        sites=sites,
        storage=LocalExportStorage(config.directory(settings.var_dir)),
        config=config,
        pool=RenderPool(config.render_processes),
    )


__all__ = [
    "ExportRuntime",
    "build_export_runtime",
    "claim",
    "heartbeat",
    "purge",
    "run_export",
    "sweep",
]
