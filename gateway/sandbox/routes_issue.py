"""Issue endpoints: get/edit, transitions, comments, changelog pages, Cloud bulk fetches."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from gateway.sandbox.catalog import RESOLUTION_BY_NAME, STATUS_BY_NAME, TRANSITION_ID_BY_STATUS
from gateway.sandbox.rich_parse import RichTextError
from gateway.sandbox.routes_common import ApiError, Call, endpoint, json_response
from gateway.sandbox.routes_issue_edit import parse_edit, rich_body
from gateway.sandbox.serialize import comment_json, history_json, issue_json, transitions_json
from gateway.sandbox.serialize_meta import api_base


def expand_of(raw: Any) -> set[str]:
    if isinstance(raw, list):
        return {str(x).strip() for x in raw}
    return {x.strip() for x in str(raw or "").split(",") if x.strip()}


def fields_of(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, list):
        return [str(x) for x in raw]
    return [str(raw)]


async def get_issue(call: Call) -> Any:
    issue = call.issue()
    fields = call.request.query_params.getlist("fields") or None
    return issue_json(
        call.store,
        issue,
        api=call.api,
        fields=fields,
        expand=expand_of(call.param("expand")),
        viewer=call.viewer,
    )


async def edit_issue(call: Call) -> Any:
    issue = call.issue()
    call.require_edit()
    changes = parse_edit(call.store, issue, await call.json(), call.api)
    call.store.edit_issue(issue, call.viewer, changes)
    return Response(status_code=204)


async def get_transitions(call: Call) -> Any:
    issue = call.issue()
    return {"expand": "transitions", "transitions": transitions_json(call.store, issue, call.api)}


async def do_transition(call: Call) -> Any:
    issue = call.issue()
    call.require_edit()
    body = await call.json()
    tid = str((body.get("transition") or {}).get("id", "")) if isinstance(body, dict) else ""
    target = next((s for s, t in TRANSITION_ID_BY_STATUS.items() if str(t) == tid), None)
    if target is None or target == issue.status:
        raise ApiError(400, [f"Transition id '{tid}' is not valid for this issue."])
    resolution = ((body.get("fields") or {}).get("resolution") or {}).get("name")
    if resolution is not None and resolution not in RESOLUTION_BY_NAME:
        raise ApiError(400, [], {"resolution": f"Resolution '{resolution}' does not exist."})
    call.store.transition(issue, call.viewer, STATUS_BY_NAME[target].name, resolution)
    comment = ((body.get("update") or {}).get("comment") or [{}])[0].get("add")
    if comment and comment.get("body") is not None:
        call.store.add_comment(issue, call.viewer, rich_body(call.store, comment["body"], call.api))
    return Response(status_code=204)


async def list_comments(call: Call) -> Any:
    issue = call.issue()
    comments = list(call.store.details(issue).comments)
    order = call.param("orderBy") or "created"
    if order.lstrip("+-") == "created" and order.startswith("-"):
        comments.reverse()
    start = call.int_param("startAt", 0)
    size = call.int_param("maxResults", 5000, low=0, high=5000)
    page = comments[start : start + size]
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(comments),
        "comments": [comment_json(call.store, c, call.api) for c in page],
    }


async def _body(call: Call) -> Any:
    body = await call.json()
    if not isinstance(body, dict) or "body" not in body:
        raise ApiError(400, [], {"comment": "Comment body can not be empty!"})
    try:
        doc = rich_body(call.store, body["body"], call.api)
    except RichTextError as exc:
        raise ApiError(400, [], {"comment": str(exc)}) from exc
    if not doc:
        raise ApiError(400, [], {"comment": "Comment body can not be empty!"})
    return doc


async def add_comment(call: Call) -> Any:
    issue = call.issue()
    doc = await _body(call)
    com = call.store.add_comment(issue, call.viewer, doc)
    return _created(comment_json(call.store, com, call.api))


def _created(data: Any) -> Response:
    return json_response(data, 201)


def _comment(call: Call) -> Any:
    issue = call.issue()
    com = call.store.comment(issue, call.path("comment_id"))
    if com is None:
        raise ApiError(404, [f"Can not find a comment for the id: {call.path('comment_id')}."])
    return issue, com


def _may_change(call: Call, author: str) -> None:
    user = call.user
    if user is None or not (user.admin or user.id == author):
        raise ApiError(403, ["You do not have the permission to edit this comment."])


async def get_comment(call: Call) -> Any:
    _issue, com = _comment(call)
    return comment_json(call.store, com, call.api)


async def update_comment(call: Call) -> Any:
    issue, com = _comment(call)
    _may_change(call, com.author)
    doc = await _body(call)
    call.store.update_comment(issue, com, call.viewer, doc)
    return comment_json(call.store, com, call.api)


async def delete_comment(call: Call) -> Any:
    issue, com = _comment(call)
    _may_change(call, com.author)
    call.store.delete_comment(issue, com, call.viewer)
    return Response(status_code=204)


async def changelog_page(call: Call) -> Any:
    issue = call.issue()
    histories = call.store.details(issue).histories
    start = call.int_param("startAt", 0)
    size = call.int_param("maxResults", 100, low=1, high=100)
    page = histories[start : start + size]
    url = f"{api_base(call.store, call.api)}/issue/{issue.key}/changelog"
    out: dict[str, Any] = {
        "self": f"{url}?startAt={start}&maxResults={size}",
        "maxResults": size,
        "startAt": start,
        "total": len(histories),
        "isLast": start + size >= len(histories),
        "values": [history_json(call.store, h, call.api) for h in page],
    }
    if not out["isLast"]:
        out["nextPage"] = f"{url}?startAt={start + size}&maxResults={size}"
    return out


def _token_page(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise ApiError(400, ["The provided next page token is invalid or expired."])
    return int(token)


async def changelog_bulk(call: Call) -> Any:
    body = await call.json()
    keys = body.get("issueIdsOrKeys") or [] if isinstance(body, dict) else []
    if not keys or len(keys) > 1000:
        raise ApiError(400, ["issueIdsOrKeys must contain between 1 and 1000 issues."])
    wanted = set(body.get("fieldIds") or [])
    size = min(int(body.get("maxResults") or 1000), 10000)
    start = _token_page(body.get("nextPageToken"))
    rows = []
    for key in keys:
        issue = call.store.issue_for(call.user_id, str(key))
        if issue is None:
            continue
        for hist in call.store.details(issue).histories:
            if wanted and not any(i.field_id in wanted for i in hist.items):
                continue
            rows.append((issue, hist))
    page = rows[start : start + size]
    grouped: dict[str, dict[str, Any]] = {}
    for issue, hist in page:
        entry = grouped.setdefault(issue.key, {"issueId": str(issue.id), "changeHistories": []})
        entry["changeHistories"].append(history_json(call.store, hist, call.api))
    out: dict[str, Any] = {"issueChangeLogs": list(grouped.values())}
    if start + size < len(rows):
        out["nextPageToken"] = str(start + size)
    return out


async def issue_bulk(call: Call) -> Any:
    body = await call.json()
    keys = body.get("issueIdsOrKeys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > 100:
        raise ApiError(400, ["issueIdsOrKeys must contain between 1 and 100 issues."])
    fields = fields_of(body.get("fields")) or ["*navigable"]
    expand = expand_of(body.get("expand"))
    issues = []
    for key in keys:
        # JIRA leaves missing/hidden issues out entirely (issueErrors is for retriable errors)
        issue = call.store.issue_for(call.user_id, str(key))
        if issue is not None:
            issues.append(
                issue_json(
                    call.store,
                    issue,
                    api=call.api,
                    fields=fields,
                    expand=expand,
                    viewer=call.viewer,
                )
            )
    return {"issues": issues, "issueErrors": []}


def routes(apis: tuple[str, ...], cloud: bool) -> list[Route]:
    out: list[Route] = []
    for api in apis:
        base = f"/rest/api/{api}"
        out += [
            Route(f"{base}/issue/{{key}}", endpoint(get_issue), methods=["GET"]),
            Route(f"{base}/issue/{{key}}", endpoint(edit_issue), methods=["PUT"]),
            Route(f"{base}/issue/{{key}}/transitions", endpoint(get_transitions), methods=["GET"]),
            Route(f"{base}/issue/{{key}}/transitions", endpoint(do_transition), methods=["POST"]),
            Route(f"{base}/issue/{{key}}/comment", endpoint(list_comments), methods=["GET"]),
            Route(f"{base}/issue/{{key}}/comment", endpoint(add_comment), methods=["POST"]),
            Route(
                f"{base}/issue/{{key}}/comment/{{comment_id}}",
                endpoint(get_comment),
                methods=["GET"],
            ),
            Route(
                f"{base}/issue/{{key}}/comment/{{comment_id}}",
                endpoint(update_comment),
                methods=["PUT"],
            ),
            Route(
                f"{base}/issue/{{key}}/comment/{{comment_id}}",
                endpoint(delete_comment),
                methods=["DELETE"],
            ),
        ]
        if cloud:
            out += [
                Route(f"{base}/issue/bulkfetch", endpoint(issue_bulk), methods=["POST"]),
                Route(f"{base}/issue/{{key}}/changelog", endpoint(changelog_page), methods=["GET"]),
                Route(f"{base}/changelog/bulkfetch", endpoint(changelog_bulk), methods=["POST"]),
            ]
    # bulkfetch must win over issue/{key}: put the literal routes first
    return sorted(out, key=lambda r: "{key}" in r.path)
