"""``GET /attachments/{site}/{id}``: an issue attachment, fetched from JIRA as the caller.

The caller authenticates like ``/graphql`` (``Authorization: Bearer <accessToken>``, scope
``read``); the gateway fetches the file with the caller's own JIRA credential, so JIRA's
permissions decide. Unknown, hidden and foreign-site attachments all answer 404 alike.

The file is always served as a download (``Content-Disposition: attachment``) with
``X-Content-Type-Options: nosniff`` and a sandboxing CSP: an attacker's HTML or SVG attachment
must never run as this gateway's origin.
"""

from __future__ import annotations

import logging
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.accounts import load_site_call
from gateway.auth.errors import AuthError
from gateway.auth.scopes import Scope
from gateway.errors import GatewayError
from gateway.graphql_auth import authenticate, unauthenticated_response
from gateway.jira.errors import (
    JiraError,
    JiraForbidden,
    JiraMalformedResponse,
    JiraNotFound,
    JiraRateLimited,
)
from gateway.state import AppState

log = logging.getLogger("gateway.attachments")

ATTACHMENT_CSP = "default-src 'none'; sandbox"
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name safe inside a Content-Disposition header (the client suggested it)."""
    cleaned = _UNSAFE_NAME_CHARS.sub("_", name or "").strip(" .")[:120]
    return cleaned or fallback


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _not_found() -> JSONResponse:
    return _error(404, "NOT_FOUND", "No such attachment, or you may not see it.")


async def download_attachment(request: Request) -> Response:
    try:
        claims = await authenticate(request)
    except AuthError as exc:
        return unauthenticated_response(exc)
    if claims is None:
        return _error(401, "UNAUTHENTICATED", "Send 'Authorization: Bearer <accessToken>'.")
    if Scope.READ not in claims.scopes:
        return _error(403, "FORBIDDEN", "This needs the 'read' scope.")
    state: AppState = request.app.state.gateway
    attachment_id = str(request.path_params["attachment_id"])
    if not attachment_id.isdigit():
        return _not_found()
    try:
        call = await load_site_call(state, claims.principal_id, str(request.path_params["site"]))
        content = await call.client.attachment_content(call.caller, attachment_id)
    except (GatewayError, JiraNotFound, JiraForbidden):
        return _not_found()
    except JiraRateLimited as exc:
        return _error(503, "RATE_LIMITED", f"JIRA is rate limiting; retry in {exc.retry_after} s.")
    except JiraMalformedResponse:
        return _error(502, "JIRA_ERROR", "JIRA sent an attachment the gateway cannot serve.")
    except JiraError:
        return _error(503, "JIRA_UNAVAILABLE", "The JIRA site is unavailable; retry later.")
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "content-disposition": 'attachment; filename="{}"'.format(
                safe_filename(request.query_params.get("name"), f"attachment-{attachment_id}")
            ),
            "x-content-type-options": "nosniff",
            "content-security-policy": ATTACHMENT_CSP,
            "cache-control": "private, max-age=0",
        },
    )


def attachment_route() -> Route:
    return Route("/attachments/{site}/{attachment_id}", download_attachment, methods=["GET"])
