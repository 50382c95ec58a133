"""Root fields of PDF exports: request, cancel, read, watch, and saved templates.

Thin (STYLE rule 5): arguments -> ``gateway.exports`` -> ``schema.exports`` types. The
selection, filter or JQL of a bulk export is turned into keys or JQL here; the job does the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.auth.scopes import Scope
from gateway.context import Context
from gateway.db.models import Export
from gateway.errors import InvalidInput
from gateway.exports import (
    MAX_ISSUES,
    TERMINAL,
    ExportConfig,
    ExportLayout,
    ExportRequest,
    ExportStatus,
    cancel_export,
    check_count,
    create_export,
    delete_template,
    download_token,
    get_export,
    list_templates,
    save_template,
    template_options,
)
from gateway.jql_builder import build_jql
from gateway.selections import SelectionService
from schema.common import decode_global_id, encode_global_id
from schema.exports import (
    BulkExportInput,
    ExportError,
    ExportJob,
    ExportOptions,
    ExportProgress,
    SavedExportTemplate,
    options_dict,
    saved_template,
)
from schema.filters import to_spec
from schema.permissions import CanExport

TYPE_NAME = "ExportJob"
# exportProgress polls the row: progress is written at most every 0.5 s by the job anyway.
POLL_S = 0.5


def export_job(row: Export, context: Context) -> ExportJob:
    """The API view of a row; a fresh signed download link for a DONE export."""
    url = expires = None
    link = download_token(
        context.state.auth.tokens, row, timedelta(seconds=ExportConfig().download_ttl_s)
    )
    if link is not None:
        token, expires = link
        url = f"{str(context.request.base_url).rstrip('/')}/exports/{token}"
    return ExportJob(
        id=strawberry.ID(encode_global_id(TYPE_NAME, row.site_id, row.id)),
        status=ExportStatus(row.status),
        layout=ExportLayout(row.layout),
        title=row.title,
        progress=ExportProgress(done=row.progress_done, total=row.progress_total),
        error=ExportError(code=row.error_code, message=row.error_message or "")
        if row.error_code
        else None,
        download_url=url,
        download_url_expires_at=expires,
        expires_at=row.expires_at if row.file_name else None,
        size_bytes=row.size_bytes,
        page_count=row.page_count,
        skipped=list(row.skipped or ()),
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def export_id_of(global_id: str) -> str:
    """The row id inside an ``ExportJob`` global id."""
    type_name, _site, local = decode_global_id(global_id)
    if type_name != TYPE_NAME:
        raise InvalidInput("This is not the id of an export.", field="id")
    return local


async def _options(context: Context, principal_id: str, options: ExportOptions | None) -> Any:
    merged: dict[str, Any] = {}
    if options is not None and options.saved_template:
        merged.update(
            await template_options(context.state.sessionmaker, principal_id, options.saved_template)
        )
    merged.update(options_dict(options))
    return merged


async def _request(context: Context, data: BulkExportInput) -> ExportRequest:
    principal = context.require(Scope.EXPORT)
    sources = [data.keys is not None, data.selection_id is not None]
    if sum(sources) + (data.filter is not None or data.jql is not None) != 1:
        raise InvalidInput(
            "Name the issues one way: keys, selectionId, or filter and/or jql.", field="input"
        )
    site: str | None = data.site
    keys: list[str] | None = data.keys
    if data.selection_id is not None:
        selections = SelectionService(context.state.sessionmaker)
        info = await selections.get(principal.principal_id, str(data.selection_id))
        check_count(info.size)
        page = await selections.keys(
            principal.principal_id, str(data.selection_id), limit=MAX_ISSUES
        )
        keys, site = page.keys, info.site_id
    call = await context.site_call(site, Scope.EXPORT)
    jql: str | None = None
    if keys is None:
        jql = build_jql(to_spec(data.filter), data.jql)
        check_count(await call.client.approximate_count(call.caller, jql))
    return ExportRequest(
        principal_id=principal.principal_id,
        site_id=call.site_id,
        layout=data.layout,
        options=await _options(context, principal.principal_id, data.options),
        title=data.title or "JIRA issues",
        keys=keys,
        jql=jql,
        ip=context.request.client.host if context.request.client else None,
    )


@strawberry.type
class ExportQuery:
    @strawberry.field(
        description="One of your exports (null fields until it is DONE). Needs EXPORT.",
        permission_classes=[CanExport],
    )
    async def export_job(self, info: Info[Context, None], id: strawberry.ID) -> ExportJob:
        principal = info.context.require(Scope.EXPORT)
        # Progress changes every half second and the link is minted per read: never cached.
        info.context.response_cacheable = False
        row = await get_export(
            info.context.state.sessionmaker, principal.principal_id, export_id_of(id)
        )
        return export_job(row, info.context)

    @strawberry.field(description="Your saved export templates.", permission_classes=[CanExport])
    async def export_templates(self, info: Info[Context, None]) -> list[SavedExportTemplate]:
        principal = info.context.require(Scope.EXPORT)
        info.context.response_cacheable = False  # a saved template must show at once
        rows = await list_templates(info.context.state.sessionmaker, principal.principal_id)
        return [saved_template(r.name, r.options, r.updated_at) for r in rows]


@strawberry.type
class ExportMutation:
    @strawberry.mutation(
        description="Export one issue as a PDF in the background; watch the returned job.",
        permission_classes=[CanExport],
    )
    async def export_issue_pdf(
        self,
        info: Info[Context, None],
        key: str,
        options: ExportOptions | None = None,
        site: strawberry.ID | None = None,
    ) -> ExportJob:
        data = BulkExportInput(keys=[key], site=site, title=key, options=options)
        return await _start(info.context, data)

    @strawberry.mutation(
        description=f"Export many issues (at most {MAX_ISSUES}) as one merged PDF or a ZIP of "
        "PDFs, in the background. Unknown keys and issues you cannot see are listed in "
        "`skipped`. Errors: LIMIT_EXCEEDED, INVALID_OPTION (extensions.field names the "
        "option), BAD_USER_INPUT, BAD_JQL.",
        permission_classes=[CanExport],
    )
    async def export_issues_pdf(
        self, info: Info[Context, None], input: BulkExportInput
    ) -> ExportJob:
        return await _start(info.context, input)

    @strawberry.mutation(
        description="Stop an export (no effect once it is DONE, FAILED or CANCELLED).",
        permission_classes=[CanExport],
    )
    async def cancel_export(self, info: Info[Context, None], id: strawberry.ID) -> ExportJob:
        principal = info.context.require(Scope.EXPORT)
        row = await cancel_export(
            info.context.state.sessionmaker, principal.principal_id, export_id_of(id)
        )
        return export_job(row, info.context)

    @strawberry.mutation(
        description="Save (or replace) export options under a name, for `savedTemplate`.",
        permission_classes=[CanExport],
    )
    async def save_export_template(
        self, info: Info[Context, None], name: str, options: ExportOptions
    ) -> SavedExportTemplate:
        principal = info.context.require(Scope.EXPORT)
        merged = await _options(info.context, principal.principal_id, options)
        row = await save_template(
            info.context.state.sessionmaker, principal.principal_id, name, merged
        )
        return saved_template(row.name, row.options, row.updated_at)

    @strawberry.mutation(
        description="Delete one of your saved export templates; false if there was none.",
        permission_classes=[CanExport],
    )
    async def delete_export_template(self, info: Info[Context, None], name: str) -> bool:
        principal = info.context.require(Scope.EXPORT)
        return await delete_template(info.context.state.sessionmaker, principal.principal_id, name)


async def _start(context: Context, data: BulkExportInput) -> ExportJob:
    request = await _request(context, data)
    row = await create_export(context.state.sessionmaker, context.state.jobs, request)
    return export_job(row, context)


@strawberry.type
class ExportSubscription:
    @strawberry.subscription(
        description="The export's state whenever it changes (status or progress), ending "
        "after DONE, FAILED or CANCELLED. Needs EXPORT.",
        permission_classes=[CanExport],
    )
    async def export_progress(
        self,
        info: Info[Context, None],
        job_id: Annotated[strawberry.ID, strawberry.argument(description="ExportJob.id.")],
    ) -> AsyncGenerator[ExportJob]:
        context = info.context
        principal = context.require(Scope.EXPORT)
        export_id = export_id_of(job_id)
        last: tuple[Any, ...] | None = None
        while True:
            # A session per poll (never held across a yield, STYLE trap).
            row = await get_export(context.state.sessionmaker, principal.principal_id, export_id)
            seen = (row.status, row.progress_done, row.progress_total)
            if seen != last:
                last = seen
                yield export_job(row, context)
            if row.status in TERMINAL:
                return
            await asyncio.sleep(POLL_S)
