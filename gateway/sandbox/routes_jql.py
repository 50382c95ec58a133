"""JQL helper endpoints: autocomplete data, value suggestions and `jql/parse`."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from gateway.sandbox import jql
from gateway.sandbox.catalog import ISSUE_TYPES, PRIORITIES, RESOLUTIONS, STATUSES
from gateway.sandbox.jql import JqlError
from gateway.sandbox.routes_common import ApiError, Call, endpoint
from gateway.sandbox.seed import LABELS


async def autocomplete(call: Call) -> Any:
    return {
        "visibleFieldNames": list(jql.FIELDS),
        "visibleFunctionNames": list(jql.FUNCTIONS),
        "jqlReservedWords": list(jql.RESERVED_WORDS),
    }


def _values(call: Call, field: str) -> list[tuple[str, str]]:
    """(value, display name) candidates for a field."""
    store = call.store
    field = field.lower()
    if field == "project":
        visible = store.browsable(call.user_id)
        return [(p.key, f"{p.name} ({p.key})") for p in store.projects.values() if p.key in visible]
    if field == "status":
        return [(s.name, s.name) for s in STATUSES]
    if field == "priority":
        return [(p.name, p.name) for p in PRIORITIES]
    if field in {"issuetype", "type"}:
        return [(t.name, t.name) for t in ISSUE_TYPES]
    if field == "resolution":
        return [(r.name, r.name) for r in RESOLUTIONS]
    if field in {"assignee", "reporter"}:
        cloud = store.flavor == "cloud"
        return [(u.id if cloud else u.name, u.display_name) for u in store.users.values()]
    if field == "labels":
        return [(label, label) for label in LABELS]
    return []


async def suggestions(call: Call) -> Any:
    field = call.param("fieldName") or ""
    typed = (call.param("fieldValue") or "").lower()
    results = []
    for value, display in _values(call, field):
        if typed and not (value.lower().startswith(typed) or typed in display.lower()):
            continue
        shown = display.replace(typed, f"<b>{typed}</b>", 1) if typed else display
        results.append({"value": value, "displayName": shown})
    return {"results": results}


async def parse(call: Call) -> Any:
    body = await call.json()
    queries = body.get("queries") if isinstance(body, dict) else None
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise ApiError(400, ["queries must be a list of strings."])
    out = []
    for text in queries:
        try:
            query = jql.parse(text)
            if call.param("validation", "strict") != "none":
                jql.compile_query(query, call.store.jql_context(call.user_id))
        except JqlError as err:
            out.append({"query": text, "errors": list(err.messages)})
            continue
        out.append({"query": text, "structure": jql.to_structure(query)})
    return {"queries": out}


def routes(apis: tuple[str, ...]) -> list[Route]:
    out: list[Route] = []
    for api in apis:
        b = f"/rest/api/{api}/jql"
        out += [
            Route(f"{b}/autocompletedata", endpoint(autocomplete), methods=["GET"]),
            Route(f"{b}/autocompletedata/suggestions", endpoint(suggestions), methods=["GET"]),
            Route(f"{b}/parse", endpoint(parse), methods=["POST"]),
        ]
    return out
