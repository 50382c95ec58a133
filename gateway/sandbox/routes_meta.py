"""Reference endpoints: myself, serverInfo, projects, statuses, priorities, types, fields,
resolutions, users and attachments; plus `POST /_sandbox/reset`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.sandbox import control
from gateway.sandbox.catalog import (
    CATEGORIES,
    FIELDS,
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
)
from gateway.sandbox.routes_common import ApiError, Call, endpoint, json_response
from gateway.sandbox.serialize import user_json
from gateway.sandbox.serialize_fields import attachment_json
from gateway.sandbox.serialize_meta import (
    api_base,
    category_json,
    field_json,
    fmt_dt,
    issuetype_json,
    priority_json,
    project_full,
    project_short,
    resolution_json,
    status_json,
)


async def myself(call: Call) -> Any:
    out = user_json(call.store, call.viewer, call.api)
    out["locale"] = call.user.locale if call.user else "en_US"
    out["groups"] = {"size": 1, "items": []}
    out["applicationRoles"] = {"size": 1, "items": []}
    out["expand"] = "groups,applicationRoles"
    return out


async def server_info(call: Call) -> Any:
    cloud = call.store.flavor == "cloud"
    out: dict[str, Any] = {
        "baseUrl": call.store.base_url,
        "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.4",
        "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 4],
        "deploymentType": "Cloud" if cloud else "Server",
        "buildNumber": 100280 if cloud else 9120004,
        "buildDate": "2025-11-01T00:00:00.000+0000",
        "serverTime": fmt_dt(call.store.clock()),
        "scmInfo": "57a0ca5b4a0bb0ac5f3fee4764acb1c14e4d7e71",
        "serverTitle": f"Sandbox JIRA ({call.store.site})",
    }
    if not cloud:
        out["deploymentType"] = "DataCenter" if call.store.site == "b" else "Server"
    return out


def _visible_projects(call: Call) -> list[Any]:
    keys = call.store.browsable(call.user_id)
    return [p for p in call.store.projects.values() if p.key in keys]


async def projects(call: Call) -> Any:
    return [project_short(call.store, p, call.api) for p in _visible_projects(call)]


async def project_search(call: Call) -> Any:
    query = (call.param("query") or "").lower()
    found = [
        p for p in _visible_projects(call) if query in p.key.lower() or query in p.name.lower()
    ]
    start = call.int_param("startAt", 0)
    size = call.int_param("maxResults", 50, low=1, high=100)
    url = f"{api_base(call.store, call.api)}/project/search"
    out: dict[str, Any] = {
        "self": f"{url}?startAt={start}&maxResults={size}",
        "maxResults": size,
        "startAt": start,
        "total": len(found),
        "isLast": start + size >= len(found),
        "values": [project_short(call.store, p, call.api) for p in found[start : start + size]],
    }
    if not out["isLast"]:
        out["nextPage"] = f"{url}?startAt={start + size}&maxResults={size}"
    return out


async def project(call: Call) -> Any:
    term = call.path("project")
    for proj in _visible_projects(call):
        if term.upper() == proj.key or term == str(proj.id):
            return project_full(call.store, proj, call.api)
    raise ApiError(404, [f"No project could be found with key '{term}'."])


async def statuses(call: Call) -> Any:
    return [status_json(call.store, s, call.api) for s in STATUSES]


async def categories(call: Call) -> Any:
    return [category_json(call.store, c.key, call.api) for c in CATEGORIES]


async def priorities(call: Call) -> Any:
    return [priority_json(call.store, p, call.api, full=True) for p in PRIORITIES]


async def issuetypes(call: Call) -> Any:
    return [issuetype_json(call.store, t, call.api) for t in ISSUE_TYPES]


async def resolutions(call: Call) -> Any:
    return [resolution_json(call.store, r, call.api) for r in RESOLUTIONS]


async def fields(call: Call) -> Any:
    return [field_json(f) for f in FIELDS]


def _user_404(term: str) -> ApiError:
    return ApiError(404, [f"The user with the identifier '{term}' does not exist."])


async def get_user(call: Call) -> Any:
    cloud = call.store.flavor == "cloud"
    term = call.param("accountId") if cloud else (call.param("username") or call.param("key"))
    if not term:
        name = "accountId" if cloud else "username"
        raise ApiError(400, [f"The '{name}' query parameter needs to be provided."])
    user = call.store.users.get(term) if cloud else call.store.user_by_term(term)
    if user is None or (not cloud and term not in {user.name, user.key}):
        raise _user_404(term)
    return user_json(call.store, user.id, call.api)


async def bulk_users(call: Call) -> Any:
    ids = call.request.query_params.getlist("accountId")
    start = call.int_param("startAt", 0)
    size = call.int_param("maxResults", 10, low=1, high=200)
    found = [i for i in ids if i in call.store.users]
    page = found[start : start + size]
    return {
        "self": f"{api_base(call.store, call.api)}/user/bulk",
        "maxResults": size,
        "startAt": start,
        "total": len(found),
        "isLast": start + size >= len(found),
        "values": [user_json(call.store, i, call.api) for i in page],
    }


async def search_users(call: Call) -> Any:
    cloud = call.store.flavor == "cloud"
    query = call.param("query") if cloud else (call.param("username") or call.param("query"))
    query = (query or "").strip().lower()
    if not query and not call.param("accountId"):
        raise ApiError(
            400,
            ["The query parameter 'query' is required."]
            if cloud
            else ["The username query parameter was not provided"],
        )
    start = call.int_param("startAt", 0)
    size = call.int_param("maxResults", 50, low=1, high=1000)
    hits = []
    for user in call.store.users.values():
        if not user.active and cloud:
            continue
        words = [user.name, user.display_name.lower(), *user.display_name.lower().split()]
        if not user.email_hidden:
            words.append(user.email)
        if any(w.startswith(query) for w in words) or call.param("accountId") == user.id:
            hits.append(user.id)
    return [user_json(call.store, u, call.api) for u in hits[start : start + size]]


def _attachment(call: Call) -> Any:
    raw = call.path("attachment_id")
    found = call.store.attachment(int(raw)) if raw.isdigit() else None
    if found is None or call.store.issue_for(call.user_id, found[0].key) is None:
        raise ApiError(404, [f"The attachment with id '{raw}' does not exist"])
    return found[1]


async def attachment_meta(call: Call) -> Any:
    """`AttachmentMetadata`: here `id` is an int64, unlike the string `id` of the entries in
    `fields.attachment[]` (spec and go-atlassian's recording both have `"id": 10000`)."""
    out = attachment_json(call.store, _attachment(call), call.api)
    out["id"] = int(out["id"])
    return out


async def attachment_content(call: Call) -> Any:
    att = _attachment(call)
    if "filename" in call.request.path_params and call.path("filename") != att.filename:
        raise ApiError(404, [f"The attachment with id '{att.id}' does not exist"])
    return Response(
        att.content,
        media_type=att.mime_type,
        headers={"Content-Disposition": f'attachment; filename="{att.filename}"'},
    )


async def reset(request: Request) -> Response:
    """`POST /_sandbox/reset`: back to the seeded data, with no faults and zeroed call counters.

    Webhook registrations are kept (a demo registers the gateway once, then resets between
    runs), and so is the deliveries log (`GET /_sandbox/webhooks/deliveries`): deliveries still
    in flight would otherwise land in an emptied log. Issues, comments, histories and ids are
    the seed's again; the reset itself fires no webhook.
    """
    request.app.state.store.reset()
    control.request_state(request).reset()
    return json_response({"reset": True, "issues": len(request.app.state.store.issues)})


def routes(apis: tuple[str, ...], cloud: bool) -> list[Route]:
    out: list[Route] = [Route("/_sandbox/reset", reset, methods=["POST"])]
    for api in apis:
        b = f"/rest/api/{api}"
        out += [
            Route(f"{b}/myself", endpoint(myself)),
            Route(f"{b}/serverInfo", endpoint(server_info, anonymous=True)),
            Route(f"{b}/project", endpoint(projects)),
            Route(f"{b}/project/{{project}}", endpoint(project)),
            Route(f"{b}/status", endpoint(statuses)),
            Route(f"{b}/statuscategory", endpoint(categories)),
            Route(f"{b}/priority", endpoint(priorities)),
            Route(f"{b}/issuetype", endpoint(issuetypes)),
            Route(f"{b}/resolution", endpoint(resolutions)),
            Route(f"{b}/field", endpoint(fields)),
            Route(f"{b}/user", endpoint(get_user)),
            Route(f"{b}/user/search", endpoint(search_users)),
            Route(f"{b}/attachment/{{attachment_id}}", endpoint(attachment_meta)),
        ]
        if cloud:
            out += [
                Route(f"{b}/project/search", endpoint(project_search)),
                Route(f"{b}/user/bulk", endpoint(bulk_users)),
                Route(f"{b}/attachment/content/{{attachment_id}}", endpoint(attachment_content)),
            ]
    if not cloud:
        out.append(
            Route("/secure/attachment/{attachment_id}/{filename}", endpoint(attachment_content))
        )
    # literal paths (project/search) must be tried before templates (project/{project})
    return sorted(out, key=lambda r: "{" in r.path)
