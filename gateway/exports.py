"""PDF exports (issue 8): requests, cancellation, reads, saved templates, download links.

Life cycle of an ``exports`` row::

    exportIssuesPdf ─ validate options and size ─ INSERT (PENDING) + audit, COMMIT ─ enqueue
        job "export_pdf"(export id), the export id being the job id
    worker: claim (RUNNING, new lease) ─ resolve keys once ─ fetch as the user -> spool
        ─ render in a process pool -> staging file ─ publish (rename) ─ DONE (size, pages)
    cancelExport: PENDING/RUNNING -> CANCELLED; a running render sees it at its next heartbeat
    sweeper: PENDING or RUNNING rows whose heartbeat is older than the lease -> enqueued again
    retention: DONE rows past ``expires_at`` lose their file (the row stays, status DONE,
        downloadUrl null); files without a row are deleted

Downloads: ``/exports/{token}``, where the token is a signed purpose token (``typ: export``)
naming the export and its owner, valid ``download_ttl_s`` (1 h). The signed URL IS the
capability: a browser follows it without an ``Authorization`` header, so requiring the bearer
token too would break plain links. It is minted only for the owner (``exportJob`` is owner-only),
is short-lived, and the route still checks that the export belongs to the principal the token
names. A bad, expired or foreign token, or a deleted file, answers the same 404.

Errors (``gateway.errors`` codes): ``LIMIT_EXCEEDED`` above ``MAX_ISSUES``, ``INVALID_OPTION``
naming the option (``extensions.field``), ``BAD_USER_INPUT``, ``NOT_FOUND`` for an export of
someone else (the same answer as for a missing one).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth import audit
from gateway.auth.audit import AuditEventType
from gateway.auth.errors import AuthError
from gateway.auth.tokens import TokenService
from gateway.db.models import Export, ExportTemplate
from gateway.errors import InvalidInput, LimitExceeded, NotFound
from gateway.jobs import JobQueue
from gateway.reports.model import InvalidReportOption, ReportOptions

EXPORT_JOB: Final = "export_pdf"
SWEEP_JOB: Final = "sweep_exports"
PURGE_JOB: Final = "purge_exports"
TOKEN_PURPOSE: Final = "export"  # noqa: S105 (a token type, not a secret)
MAX_ISSUES: Final = 5000
MAX_TEMPLATES: Final = 50
# GraphQL names of the options, for errors that name the option the client sent.
OPTION_NAMES: Final = {
    "template": "template",
    "sections": "sections",
    "fields": "fields",
    "page_size": "pageSize",
    "orientation": "orientation",
    "header_text": "headerText",
    "footer_text": "footerText",
    "time_zone": "timeZone",
    "locale": "locale",
}


class ExportStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL: Final = frozenset({ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.CANCELLED})


class ExportLayout(enum.StrEnum):
    MERGED = "MERGED"
    ZIP = "ZIP"


class ExportConfig(BaseSettings):
    """Export settings, ``JGW_EXPORT_*`` environment variables (e.g. ``JGW_EXPORT_LEASE_S``)."""

    model_config = SettingsConfigDict(env_prefix="JGW_EXPORT_", extra="ignore", frozen=True)

    dir: Path | None = Field(default=None, description="Export files; default <var_dir>/exports.")
    download_ttl_s: int = Field(default=3600, ge=60, le=86400, description="Link lifetime.")
    retention_s: int = Field(default=86400, ge=60, description="How long files are kept.")
    lease_s: float = Field(
        default=60, gt=0, description="A run silent this long is dead: the sweeper requeues it."
    )
    job_timeout_s: float = Field(default=1800, gt=0, description="Upper bound of one run.")
    render_processes: int = Field(default=1, ge=1, le=32, description="Render pool size.")

    def directory(self, var_dir: Path) -> Path:
        return self.dir if self.dir is not None else var_dir / "exports"


class InvalidExportOption(InvalidInput):
    """A template option the renderer cannot honour; ``field`` is its GraphQL name."""

    code = "INVALID_OPTION"


def validate_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Raw options (snake_case names) -> the JSON stored on the row; typed error naming one."""
    try:
        options = ReportOptions.create(**raw)
    except InvalidReportOption as exc:
        name = OPTION_NAMES.get(exc.option_name, exc.option_name)
        raise InvalidExportOption(f"Export option '{name}': {exc.message}", field=name) from None
    stored = dataclasses.asdict(options)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in stored.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class ExportRequest:
    """What an export mutation asks for, after the resolver turned its input into keys or JQL."""

    principal_id: str
    site_id: str
    layout: ExportLayout
    options: Mapping[str, Any]
    title: str
    keys: Sequence[str] | None = None
    jql: str | None = None
    ip: str | None = None


def clean_keys(keys: Sequence[str]) -> list[str]:
    """Upper-cased, de-duplicated keys in the given order; limit and emptiness checked."""
    cleaned = list(dict.fromkeys(k.strip().upper() for k in keys if k and k.strip()))
    if not cleaned:
        raise InvalidInput("Name at least one issue to export.", field="keys")
    check_count(len(cleaned))
    return cleaned


def check_count(count: int) -> None:
    if count > MAX_ISSUES:
        raise LimitExceeded(
            f"An export holds at most {MAX_ISSUES} issues; this one would hold {count}. "
            "Narrow the selection or split it into several exports.",
            field="input",
        )


async def create_export(
    sessionmaker: async_sessionmaker[AsyncSession], jobs: JobQueue, request: ExportRequest
) -> Export:
    """Write the PENDING row and its audit event, commit, THEN enqueue the job (id = row id)."""
    options = validate_options(request.options)
    if (request.keys is None) == (request.jql is None):
        raise InvalidInput("Give either issue keys or a JQL query.", field="input")
    source: dict[str, Any] = (
        {"keys": clean_keys(request.keys)} if request.keys is not None else {"jql": request.jql}
    )
    row = Export(
        principal_id=request.principal_id,
        site_id=request.site_id,
        status=ExportStatus.PENDING.value,
        layout=request.layout.value,
        title=request.title.strip()[:200] or "JIRA issues",
        source=source,
        options=options,
        issue_keys=source.get("keys"),
        progress_total=len(source.get("keys", ())),
    )
    async with sessionmaker() as db, db.begin():
        db.add(row)
        await db.flush()
        audit.record(
            db,
            AuditEventType.EXPORT_REQUESTED,
            principal_id=request.principal_id,
            site_id=request.site_id,
            ip=request.ip,
            detail={"export_id": row.id, "layout": row.layout, "issues": row.progress_total},
        )
    await jobs.enqueue(EXPORT_JOB, row.id, row.id)
    return row


async def get_export(
    sessionmaker: async_sessionmaker[AsyncSession], principal_id: str, export_id: str
) -> Export:
    """The principal's export; ``NotFound`` for a missing one or someone else's alike."""
    async with sessionmaker() as db:
        row = await db.get(Export, export_id)
    if row is None or row.principal_id != principal_id:
        raise NotFound("No such export.", field="id")
    return row


async def cancel_export(
    sessionmaker: async_sessionmaker[AsyncSession], principal_id: str, export_id: str
) -> Export:
    """PENDING or RUNNING -> CANCELLED (a finished export is returned unchanged)."""
    await get_export(sessionmaker, principal_id, export_id)
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(Export)
            .where(
                Export.id == export_id,
                Export.status.in_([ExportStatus.PENDING.value, ExportStatus.RUNNING.value]),
            )
            .values(status=ExportStatus.CANCELLED.value, finished_at=datetime.now(UTC))
        )
    return await get_export(sessionmaker, principal_id, export_id)


# --- saved templates ---------------------------------------------------------------------------


async def save_template(
    sessionmaker: async_sessionmaker[AsyncSession],
    principal_id: str,
    name: str,
    options: Mapping[str, Any],
) -> ExportTemplate:
    """Create or replace the principal's template ``name`` (options validated first)."""
    clean = name.strip()
    if not clean or len(clean) > 100:
        raise InvalidInput("A template name has 1 to 100 characters.", field="name")
    stored = validate_options(options)
    async with sessionmaker() as db, db.begin():
        row = await db.scalar(
            select(ExportTemplate).where(
                ExportTemplate.principal_id == principal_id, ExportTemplate.name == clean
            )
        )
        if row is None:
            count = len(
                (
                    await db.scalars(
                        select(ExportTemplate.id).where(ExportTemplate.principal_id == principal_id)
                    )
                ).all()
            )
            if count >= MAX_TEMPLATES:
                raise LimitExceeded(f"At most {MAX_TEMPLATES} saved templates.", field="name")
            row = ExportTemplate(principal_id=principal_id, name=clean, options=stored)
            db.add(row)
        else:
            row.options = stored
        await db.flush()
    return row


async def list_templates(
    sessionmaker: async_sessionmaker[AsyncSession], principal_id: str
) -> list[ExportTemplate]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(ExportTemplate)
            .where(ExportTemplate.principal_id == principal_id)
            .order_by(ExportTemplate.name)
        )
        return list(rows.all())


async def template_options(
    sessionmaker: async_sessionmaker[AsyncSession], principal_id: str, name: str
) -> dict[str, Any]:
    async with sessionmaker() as db:
        row = await db.scalar(
            select(ExportTemplate).where(
                ExportTemplate.principal_id == principal_id, ExportTemplate.name == name.strip()
            )
        )
    if row is None:
        raise NotFound(f"You have no saved export template named {name!r}.", field="savedTemplate")
    return dict(row.options)


async def delete_template(
    sessionmaker: async_sessionmaker[AsyncSession], principal_id: str, name: str
) -> bool:
    async with sessionmaker() as db, db.begin():
        result = await db.execute(
            delete(ExportTemplate).where(
                ExportTemplate.principal_id == principal_id, ExportTemplate.name == name.strip()
            )
        )
    return bool(getattr(result, "rowcount", 0))


# --- download links ----------------------------------------------------------------------------


def file_name_of(row: Export) -> str:
    return file_name_of_parts(row.id, row.layout)


def file_name_of_parts(export_id: str, layout: str) -> str:
    """The one storage name of an export's file: ``<id>.pdf`` or ``<id>.zip``."""
    return f"{export_id}.{'zip' if layout == ExportLayout.ZIP else 'pdf'}"


def download_token(
    tokens: TokenService, row: Export, ttl: timedelta, *, now: datetime | None = None
) -> tuple[str, datetime] | None:
    """A signed link token for a DONE export (never past the file's expiry), or None."""
    if row.status != ExportStatus.DONE or row.file_name is None:
        return None
    now = now or datetime.now(UTC)
    if row.expires_at is not None:
        ttl = min(ttl, row.expires_at - now)
    if ttl.total_seconds() < 1:
        return None
    token = tokens.issue_purpose_token(
        TOKEN_PURPOSE, row.principal_id, ttl=ttl, extra={"eid": row.id}
    )
    return token, now + ttl


def verify_download(tokens: TokenService, token: str) -> tuple[str, str] | None:
    """(principal id, export id) of a valid link token, None for anything else."""
    try:
        claims = tokens.verify_purpose_token(token, TOKEN_PURPOSE)
    except AuthError:
        return None
    export_id = claims.get("eid")
    if not isinstance(export_id, str):
        return None
    return str(claims["sub"]), export_id


__all__ = [
    "EXPORT_JOB",
    "MAX_ISSUES",
    "PURGE_JOB",
    "SWEEP_JOB",
    "TERMINAL",
    "ExportConfig",
    "ExportLayout",
    "ExportRequest",
    "ExportStatus",
    "InvalidExportOption",
    "cancel_export",
    "check_count",
    "clean_keys",
    "create_export",
    "delete_template",
    "download_token",
    "file_name_of",
    "file_name_of_parts",
    "get_export",
    "list_templates",
    "save_template",
    "template_options",
    "verify_download",
]
