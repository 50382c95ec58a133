"""Search: Cloud `search/jql` (nextPageToken, no total) and approximate count; Server `search`
(startAt/maxResults/total); Cloud's removed `/search` answers 410 as the real one does.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from gateway.sandbox.routes_common import ApiError, Call, endpoint, error_response
from gateway.sandbox.routes_issue import expand_of, fields_of
from gateway.sandbox.serialize import issue_json

GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
_ID_ONLY = {"id", "key"}


async def _params(call: Call) -> dict[str, Any]:
    """GET query parameters or the POST body, normalized."""
    if call.request.method == "POST":
        body = await call.json()
        if not isinstance(body, dict):
            raise ApiError(400, ["Can not deserialize the request body."])
        return body
    q = call.request.query_params
    out: dict[str, Any] = {k: q[k] for k in q}
    if "fields" in q:
        out["fields"] = [f for v in q.getlist("fields") for f in v.split(",")]
    return out


def _int(params: dict[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, [f"The value '{raw}' for '{name}' is not a valid number."]) from exc


def _field_list(params: dict[str, Any]) -> list[str] | None:
    fields = fields_of(params.get("fields"))
    if fields is None:
        return None
    return [f.strip() for item in fields for f in item.split(",") if f.strip()]


async def search_jql(call: Call) -> Any:
    """Cloud `search/jql`: default fields `id`, max 100 (5000 when only id/key asked)."""
    params = await _params(call)
    jql = str(params.get("jql") or "")
    fields = _field_list(params) or ["id"]
    limit = 5000 if set(fields) <= _ID_ONLY else 100
    size = max(1, min(_int(params, "maxResults", 50), limit))
    token = params.get("nextPageToken")
    start = 0
    if token:
        if not str(token).isdigit():
            raise ApiError(400, ["The provided next page token is invalid or expired."])
        start = int(token)
    issues = call.store.search(jql, call.user_id)
    page = issues[start : start + size]
    wanted = [f for f in fields if f not in _ID_ONLY] or ["-*all"]
    expand = expand_of(params.get("expand"))
    out: dict[str, Any] = {
        "issues": [
            issue_json(
                call.store, i, api=call.api, fields=wanted, expand=expand, viewer=call.viewer
            )
            for i in page
        ]
    }
    if start + size < len(issues):
        out["nextPageToken"] = str(start + size)
    out["isLast"] = start + size >= len(issues)
    return out


async def approximate_count(call: Call) -> Any:
    params = await _params(call)
    return {"count": len(call.store.search(str(params.get("jql") or ""), call.user_id))}


async def search_server(call: Call) -> Any:
    """Server `search`: startAt/maxResults (max 1000)/total, default fields `*navigable`."""
    params = await _params(call)
    jql = str(params.get("jql") or "")
    start = max(0, _int(params, "startAt", 0))
    size = max(0, min(_int(params, "maxResults", 50), 1000))
    fields = _field_list(params) or ["*navigable"]
    issues = call.store.search(jql, call.user_id)
    expand = expand_of(params.get("expand"))
    return {
        "expand": "names,schema",
        "startAt": start,
        "maxResults": size,
        "total": len(issues),
        "issues": [
            issue_json(
                call.store, i, api=call.api, fields=fields, expand=expand, viewer=call.viewer
            )
            for i in issues[start : start + size]
        ],
    }


async def gone(call: Call) -> Any:
    return error_response(410, [GONE])


def routes(cloud: bool) -> list[Route]:
    if not cloud:
        return [Route("/rest/api/2/search", endpoint(search_server), methods=["GET", "POST"])]
    out = [
        Route(
            "/rest/api/3/search/approximate-count", endpoint(approximate_count), methods=["POST"]
        ),
    ]
    for api in ("2", "3"):
        out += [
            Route(f"/rest/api/{api}/search/jql", endpoint(search_jql), methods=["GET", "POST"]),
            Route(f"/rest/api/{api}/search", endpoint(gone), methods=["GET", "POST"]),
        ]
    return out
