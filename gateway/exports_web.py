"""``GET /exports/{token}``: download a finished export through its signed, expiring link.

The token is the capability (see ``gateway.exports``): no ``Authorization`` header is needed,
so the link works from a plain ``<a href>``. Every refusal is the same 404, whether the token
is malformed, expired, signed for someone else's export, or the file is already deleted: the
answer never confirms that an export exists.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.config import Settings
from gateway.db.models import Export
from gateway.exports import ExportConfig, ExportLayout, ExportStatus, verify_download
from gateway.exports_storage import LocalExportStorage
from gateway.state import AppState

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
NO_STORE = {"cache-control": "private, no-store", "referrer-policy": "no-referrer"}


def export_storage(settings: Settings) -> LocalExportStorage:
    """The storage the workers write to (same settings, same directory)."""
    return LocalExportStorage(ExportConfig().directory(settings.var_dir))


def download_name(row: Export) -> str:
    stem = _UNSAFE.sub("-", row.title).strip("-.")[:60] or "export"
    return f"{stem}-{row.id[:8]}.{'zip' if row.layout == ExportLayout.ZIP else 'pdf'}"


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers=NO_STORE)


async def download_export(request: Request) -> Response:
    state: AppState = request.app.state.gateway
    ids = verify_download(state.auth.tokens, str(request.path_params["token"]))
    if ids is None:
        return _not_found()
    principal_id, export_id = ids
    async with state.sessionmaker() as db:
        row = await db.get(Export, export_id)
    if (
        row is None
        or row.principal_id != principal_id
        or row.status != ExportStatus.DONE
        or row.file_name is None
    ):
        return _not_found()
    storage = export_storage(state.settings)
    size = await storage.size(row.file_name)
    if size is None:
        return _not_found()
    media = "application/zip" if row.layout == ExportLayout.ZIP else "application/pdf"
    headers = {
        **NO_STORE,
        "content-length": str(size),
        "content-disposition": f'attachment; filename="{download_name(row)}"',
    }
    return StreamingResponse(storage.open_stream(row.file_name), media_type=media, headers=headers)


def export_route() -> Route:
    return Route("/exports/{token}", download_export, methods=["GET"])


__all__ = ["download_export", "export_route", "export_storage"]
