"""Normalizers for JIRA metadata: statuses, priorities, issue types, projects, versions, fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gateway.jira.dto import (
    UNDEFINED_CATEGORY,
    Component,
    CustomField,
    IssueType,
    Priority,
    Project,
    Resolution,
    Status,
    StatusCategory,
    User,
    Version,
)
from gateway.jira.parse_base import (
    arr,
    avatar_url,
    fail,
    id_or_self,
    obj,
    opt_bool,
    opt_date,
    opt_int,
    opt_obj,
    opt_str,
    parse_user,
    req_str,
)

T = TypeVar("T")

_CATEGORY_KEYS = frozenset({"new", "indeterminate", "done", "undefined"})


def parse_status_category(raw: object, *, endpoint: str, path: str = "$") -> StatusCategory:
    data = obj(raw, endpoint, path)
    key = req_str(data.get("key"), endpoint, f"{path}.key")
    if key not in _CATEGORY_KEYS:
        # Unknown keys would break statusCategory filters downstream; keep JIRA's fallback.
        key = "undefined"
    return StatusCategory(
        id=id_or_self(data, endpoint, path),
        key=key,
        name=opt_str(data.get("name"), endpoint, f"{path}.name") or key,
        color=opt_str(data.get("colorName"), endpoint, f"{path}.colorName"),
    )


def parse_status(raw: object, *, endpoint: str, path: str = "$") -> Status:
    data = obj(raw, endpoint, path)
    category_raw = opt_obj(data.get("statusCategory"), endpoint, f"{path}.statusCategory")
    category = (
        parse_status_category(category_raw, endpoint=endpoint, path=f"{path}.statusCategory")
        if category_raw is not None
        else UNDEFINED_CATEGORY
    )
    return Status(
        # Status names are unique per site; Atlassian's own examples embed id-less statuses.
        id=id_or_self(data, endpoint, path, fallback=data.get("name")),
        name=req_str(data.get("name"), endpoint, f"{path}.name"),
        category=category,
        description=opt_str(data.get("description"), endpoint, f"{path}.description") or None,
        icon_url=opt_str(data.get("iconUrl"), endpoint, f"{path}.iconUrl"),
    )


def parse_priority(raw: object, *, endpoint: str, path: str = "$") -> Priority:
    data = obj(raw, endpoint, path)
    return Priority(
        id=id_or_self(data, endpoint, path),
        name=req_str(data.get("name"), endpoint, f"{path}.name"),
        icon_url=opt_str(data.get("iconUrl"), endpoint, f"{path}.iconUrl"),
        color=opt_str(data.get("statusColor"), endpoint, f"{path}.statusColor"),
    )


def parse_issue_type(raw: object, *, endpoint: str, path: str = "$") -> IssueType:
    data = obj(raw, endpoint, path)
    return IssueType(
        id=id_or_self(data, endpoint, path),
        name=req_str(data.get("name"), endpoint, f"{path}.name"),
        subtask=opt_bool(data.get("subtask"), endpoint, f"{path}.subtask") is True,
        hierarchy_level=opt_int(data.get("hierarchyLevel"), endpoint, f"{path}.hierarchyLevel"),
        icon_url=opt_str(data.get("iconUrl"), endpoint, f"{path}.iconUrl"),
        description=opt_str(data.get("description"), endpoint, f"{path}.description") or None,
    )


def parse_project(raw: object, *, endpoint: str, path: str = "$") -> Project:
    data = obj(raw, endpoint, path)
    key = req_str(data.get("key"), endpoint, f"{path}.key")
    ident = opt_str(data.get("id"), endpoint, f"{path}.id")
    return Project(
        # JIRA 4.x projects have no id; their key is the only stable identifier.
        id=ident or key,
        key=key,
        name=opt_str(data.get("name"), endpoint, f"{path}.name") or key,
        project_type=opt_str(data.get("projectTypeKey"), endpoint, f"{path}.projectTypeKey"),
        avatar_url=avatar_url(data),
    )


def parse_component(raw: object, *, endpoint: str, path: str = "$") -> Component:
    data = obj(raw, endpoint, path)
    return Component(
        id=id_or_self(data, endpoint, path),
        name=req_str(data.get("name"), endpoint, f"{path}.name"),
        description=opt_str(data.get("description"), endpoint, f"{path}.description") or None,
    )


def parse_version(raw: object, *, endpoint: str, path: str = "$") -> Version:
    data = obj(raw, endpoint, path)
    return Version(
        id=id_or_self(data, endpoint, path),
        name=req_str(data.get("name"), endpoint, f"{path}.name"),
        released=opt_bool(data.get("released"), endpoint, f"{path}.released"),
        archived=opt_bool(data.get("archived"), endpoint, f"{path}.archived"),
        release_date=opt_date(data.get("releaseDate"), endpoint, f"{path}.releaseDate"),
    )


def parse_resolution(raw: object, *, endpoint: str, path: str = "$") -> Resolution:
    data = obj(raw, endpoint, path)
    return Resolution(
        id=id_or_self(data, endpoint, path),
        name=req_str(data.get("name"), endpoint, f"{path}.name"),
        description=opt_str(data.get("description"), endpoint, f"{path}.description") or None,
    )


def parse_field_def(raw: object, *, endpoint: str, path: str = "$") -> CustomField:
    """One entry of ``GET /field`` (system or custom)."""
    data = obj(raw, endpoint, path)
    ident = opt_str(data.get("id") or data.get("key"), endpoint, f"{path}.id")
    if not ident:
        fail(endpoint, f"{path}.id", "missing required id")
    schema = opt_obj(data.get("schema"), endpoint, f"{path}.schema") or {}
    clauses = arr(data.get("clauseNames"), endpoint, f"{path}.clauseNames")
    custom = opt_bool(data.get("custom"), endpoint, f"{path}.custom")
    return CustomField(
        id=ident,
        name=opt_str(data.get("name"), endpoint, f"{path}.name") or ident,
        custom=custom if custom is not None else ident.startswith("customfield_"),
        type=opt_str(schema.get("type"), endpoint, f"{path}.schema.type"),
        custom_type=opt_str(schema.get("custom"), endpoint, f"{path}.schema.custom"),
        items=opt_str(schema.get("items"), endpoint, f"{path}.schema.items"),
        clause_names=tuple(c for c in clauses if isinstance(c, str)),
    )


def parse_field_defs(raw: object, *, endpoint: str) -> dict[str, CustomField]:
    """``GET /field`` (a list) or ``/field/search`` (a ``values`` page) -> defs by id."""
    items = raw
    if isinstance(raw, dict) and "values" in raw:
        items = raw["values"]
        path = "$.values"
    else:
        path = "$"
    if not isinstance(items, list):
        fail(endpoint, path, "expected an array of fields")
    defs = (
        parse_field_def(item, endpoint=endpoint, path=f"{path}[{i}]")
        for i, item in enumerate(items)
    )
    return {d.id: d for d in defs}


def field_defs_from_expand(
    names: object, schema: object, *, endpoint: str
) -> dict[str, CustomField]:
    """Field defs from an issue or search page fetched with ``expand=names,schema``."""
    names_map = opt_obj(names, endpoint, "$.names") or {}
    schema_map = opt_obj(schema, endpoint, "$.schema") or {}
    defs: dict[str, CustomField] = {}
    for ident in names_map.keys() | schema_map.keys():
        entry = schema_map.get(ident)
        entry = entry if isinstance(entry, dict) else {}
        name = names_map.get(ident)
        defs[ident] = CustomField(
            id=ident,
            name=name if isinstance(name, str) else ident,
            custom=ident.startswith("customfield_"),
            type=entry.get("type") if isinstance(entry.get("type"), str) else None,
            custom_type=entry.get("custom") if isinstance(entry.get("custom"), str) else None,
            items=entry.get("items") if isinstance(entry.get("items"), str) else None,
        )
    return defs


def parse_list(
    raw: object, *, endpoint: str, parse_one: Callable[..., T], values_key: str = "values"
) -> list[T]:
    """A bare JSON array, or a ``values`` page (``/project/search``, ``/priority/search``)."""
    items = raw
    path = "$"
    if isinstance(raw, dict) and values_key in raw:
        items, path = raw[values_key], f"$.{values_key}"
    if not isinstance(items, list):
        fail(endpoint, path, "expected an array")
    return [parse_one(item, endpoint=endpoint, path=f"{path}[{i}]") for i, item in enumerate(items)]


def parse_users(raw: object, *, endpoint: str) -> list[User]:
    return parse_list(raw, endpoint=endpoint, parse_one=parse_user)


def parse_projects(raw: object, *, endpoint: str) -> list[Project]:
    return parse_list(raw, endpoint=endpoint, parse_one=parse_project)


def parse_statuses(raw: object, *, endpoint: str) -> list[Status]:
    return parse_list(raw, endpoint=endpoint, parse_one=parse_status)


def parse_priorities(raw: object, *, endpoint: str) -> list[Priority]:
    return parse_list(raw, endpoint=endpoint, parse_one=parse_priority)


def parse_issue_types(raw: object, *, endpoint: str) -> list[IssueType]:
    return parse_list(raw, endpoint=endpoint, parse_one=parse_issue_type)
