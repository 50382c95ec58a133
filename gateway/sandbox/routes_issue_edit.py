"""Parse `PUT /issue/{key}` bodies (`fields` and `update` verbs) into store values.

Errors use JIRA's wording, collected per field into `errors` with a 400.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.sandbox.catalog import (
    CF_REVIEWERS,
    CF_STORY_POINTS,
    CF_TARGET,
    CF_TEAM,
    PRIORITY_BY_NAME,
    TEAMS,
)
from gateway.sandbox.model import SandboxIssue
from gateway.sandbox.rich import Doc
from gateway.sandbox.rich_parse import RichTextError, from_adf, from_wiki
from gateway.sandbox.routes_common import ApiError
from gateway.sandbox.store import Store
from gateway.sandbox.store_edit import current

EDITABLE = {
    "summary",
    "description",
    "labels",
    "priority",
    "assignee",
    "duedate",
    "components",
    "fixVersions",
    CF_STORY_POINTS,
    CF_TEAM,
    CF_REVIEWERS,
    CF_TARGET,
}
_CANNOT_SET = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."


def rich_body(store: Store, value: Any, api: str) -> Doc:
    """A description/comment body: ADF on v3, a wiki string on v2."""
    if api == "3":
        return from_adf(value)
    if not isinstance(value, str):
        raise RichTextError("Operation value must be a string")

    def resolve(term: str) -> str | None:
        user = store.user_by_term(term)
        return user.id if user else None

    return from_wiki(value, resolve)


def _user(store: Store, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        term = value.get("accountId") if store.flavor == "cloud" else value.get("name")
        term = term or value.get("id") or value.get("key")
        user = store.user_by_term(str(term)) if term else None
        if user is not None:
            return user.id
    raise ValueError("user")


def _named(value: Any, names: list[str], ids: dict[str, str]) -> str:
    if isinstance(value, dict):
        if "name" in value and value["name"] in names:
            return str(value["name"])
        if "id" in value and str(value["id"]) in ids:
            return ids[str(value["id"])]
    raise ValueError("name")


def _convert(store: Store, issue: SandboxIssue, fid: str, value: Any, api: str) -> Any:
    project = store.projects[issue.project_key]
    if fid == "summary":
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, [], {"summary": "You must specify a summary of the issue."})
        if len(value) > 255:
            raise ApiError(400, [], {"summary": "Summary must be less than 255 characters."})
        return value
    if fid == "description":
        return None if value is None else rich_body(store, value, api)
    if fid == "labels":
        if not isinstance(value, list) or not all(
            isinstance(v, str) and " " not in v for v in value
        ):
            raise ValueError("labels")
        return list(dict.fromkeys(value))
    if fid == "priority":
        return _named(
            value, list(PRIORITY_BY_NAME), {str(p.id): p.name for p in PRIORITY_BY_NAME.values()}
        )
    if fid == "assignee":
        uid = _user(store, value)
        if uid and issue.project_key not in store.browsable(uid):
            raise ApiError(400, [], {"assignee": f"User '{uid}' cannot be assigned issues."})
        return uid
    if fid in {"duedate", CF_TARGET}:
        return None if value is None else date.fromisoformat(str(value))
    if fid == "components":
        comps = {c.name: c for c in project.components}
        ids = {str(c.id): c.name for c in project.components}
        return [_named(v, list(comps), ids) for v in value or []]
    if fid == "fixVersions":
        names = [v.name for v in project.versions]
        ids = {str(v.id): v.name for v in project.versions}
        return [_named(v, names, ids) for v in value or []]
    if fid == CF_STORY_POINTS:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError("number")
        return None if value is None else float(value)
    if fid == CF_TEAM:
        if value is None:
            return None
        return _named(
            {"name": value.get("value"), "id": value.get("id")}
            if isinstance(value, dict)
            else value,
            [t[1] for t in TEAMS],
            {str(t[0]): t[1] for t in TEAMS},
        )
    if fid == CF_REVIEWERS:
        return [u for u in (_user(store, v) for v in value or []) if u]
    raise ApiError(400, [], {fid: _CANNOT_SET.format(fid)})


def parse_edit(store: Store, issue: SandboxIssue, body: Any, api: str) -> dict[str, Any]:
    """`{"fields": {...}, "update": {"labels": [{"add": "x"}]}}` -> {field id: value}."""
    if not isinstance(body, dict):
        raise ApiError(400, ["Can not deserialize the request body."])
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    fields = body.get("fields") or {}
    update = body.get("update") or {}
    for fid in [*fields, *update]:
        if fid not in EDITABLE:
            errors[fid] = _CANNOT_SET.format(fid)
    if errors:
        raise ApiError(400, [], errors)
    for fid, value in fields.items():
        try:
            changes[fid] = _convert(store, issue, fid, value, api)
        except (ValueError, TypeError, RichTextError, AttributeError):
            errors[fid] = f"Specify a valid value for {fid}"
    for fid, ops in update.items():
        try:
            changes[fid] = _apply_ops(store, issue, fid, ops, changes.get(fid), api)
        except (ValueError, TypeError, RichTextError, AttributeError):
            errors[fid] = f"Specify a valid value for {fid}"
    if errors:
        raise ApiError(400, [], errors)
    return changes


def _apply_ops(store: Store, issue: SandboxIssue, fid: str, ops: Any, base: Any, api: str) -> Any:
    value = base if base is not None else current(store, issue, fid)
    if not isinstance(ops, list):
        raise ValueError("ops")
    for op in ops:
        ((verb, arg),) = op.items()
        if verb == "set":
            value = _convert(store, issue, fid, arg, api)
        elif verb in {"add", "remove"} and fid == "labels":
            items = list(value or [])
            if verb == "add" and arg not in items:
                items.append(str(arg))
            elif verb == "remove" and arg in items:
                items.remove(arg)
            value = items
        elif verb in {"add", "remove"} and fid in {"components", "fixVersions", CF_REVIEWERS}:
            one = _convert(store, issue, fid, [arg], api)[0]
            items = list(value or [])
            if verb == "add" and one not in items:
                items.append(one)
            elif verb == "remove" and one in items:
                items.remove(one)
            value = items
        else:
            raise ValueError(verb)
    return value
