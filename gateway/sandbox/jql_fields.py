"""The sandbox's JQL vocabulary: fields (with JIRA's aliases), functions and reserved words, also
served by the `jql/autocompletedata` endpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EQ = ("=", "!=", "in", "not in")
EMPTY_OPS = ("is", "is not")
ORDER_OPS = ("<", "<=", ">", ">=")
TEXT_OPS = ("~", "!~")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """`kind` selects the evaluator in `jql_compile`; `name` is JIRA's canonical JQL name."""

    name: str
    kind: str
    operators: tuple[str, ...]
    types: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    orderable: bool = True
    searchable: bool = True
    default_desc: bool = False  # JIRA's default direction when ORDER BY gives none


_J = "com.atlassian.jira."
_USER = (_J + "user.ApplicationUser",)
_DATE = ("java.util.Date",)
_STR = ("java.lang.String",)

_SPECS = (
    # JIRA accepts IS [NOT] EMPTY on project although every issue has one (all or none match);
    # issue key and parent keep JIRA's narrower operator sets.
    FieldSpec("project", "project", EQ + EMPTY_OPS, (_J + "project.Project",)),
    FieldSpec("key", "key", EQ + ORDER_OPS, (_J + "issue.Issue",), ("issuekey", "id", "issue")),
    FieldSpec("parent", "parent", EQ, (_J + "issue.Issue",), orderable=False),
    FieldSpec("status", "status", EQ + EMPTY_OPS, (_J + "issue.status.Status",)),
    FieldSpec(
        "statusCategory",
        "statuscategory",
        EQ + EMPTY_OPS,
        (_J + "issue.status.category.StatusCategory",),
    ),
    FieldSpec(
        "priority", "priority", EQ + EMPTY_OPS + ORDER_OPS, (_J + "issue.priority.Priority",)
    ),
    FieldSpec("assignee", "user", EQ + EMPTY_OPS, _USER),
    FieldSpec("reporter", "user", EQ + EMPTY_OPS, _USER),
    FieldSpec(
        "issuetype", "issuetype", EQ + EMPTY_OPS, (_J + "issue.issuetype.IssueType",), ("type",)
    ),
    FieldSpec("labels", "labels", EQ + EMPTY_OPS, (_J + "issue.label.Label",), orderable=False),
    FieldSpec(
        "component",
        "components",
        EQ + EMPTY_OPS,
        (_J + "bc.project.component.ProjectComponent",),
    ),
    FieldSpec("fixVersion", "fix_versions", EQ + EMPTY_OPS, (_J + "project.version.Version",)),
    FieldSpec("text", "text", ("~",), _STR, orderable=False),
    FieldSpec("summary", "summary", TEXT_OPS + EMPTY_OPS, _STR),
    FieldSpec("description", "description", TEXT_OPS + EMPTY_OPS, _STR, orderable=False),
    FieldSpec(
        "created", "created", EQ + ORDER_OPS + EMPTY_OPS, _DATE, ("createdDate",), default_desc=True
    ),
    FieldSpec(
        "updated", "updated", EQ + ORDER_OPS + EMPTY_OPS, _DATE, ("updatedDate",), default_desc=True
    ),
    FieldSpec("duedate", "duedate", EQ + ORDER_OPS + EMPTY_OPS, _DATE, ("due",)),
    FieldSpec("resolution", "resolution", EQ + EMPTY_OPS, (_J + "issue.resolution.Resolution",)),
    FieldSpec(
        "resolutiondate",
        "resolutiondate",
        EQ + ORDER_OPS + EMPTY_OPS,
        _DATE,
        ("resolved",),
        default_desc=True,
    ),
    # Rank only orders (boards send `ORDER BY Rank ASC`); the sandbox ranks by issue id.
    FieldSpec(
        "rank", "rank", (), ("com.pyxis.greenhopper.jira.customfields.rank",), (), True, False
    ),
)

CUSTOM_OPS = EQ + ORDER_OPS + TEXT_OPS + EMPTY_OPS

_BY_NAME: dict[str, FieldSpec] = {}
for _spec in _SPECS:
    for _n in (_spec.name, *_spec.aliases):
        _BY_NAME[_n.lower()] = _spec

_CUSTOMFIELD = re.compile(r"customfield_(\d+)", re.IGNORECASE)


def resolve_field(name: str, custom_id: str | None = None) -> tuple[FieldSpec, str | None] | None:
    """(spec, custom field key like "customfield_10016") for a JQL field name, None if unknown.

    Field names are case-insensitive in JIRA; `cf[N]` and `customfield_N` name custom fields."""
    if custom_id is None:
        m = _CUSTOMFIELD.fullmatch(name)
        custom_id = m.group(1) if m else None
    if custom_id is not None:
        return FieldSpec(f"cf[{custom_id}]", "custom", CUSTOM_OPS, ("java.lang.Object",)), (
            f"customfield_{custom_id}"
        )
    spec = _BY_NAME.get(name.lower())
    return None if spec is None else (spec, None)


def _flag(value: bool) -> str:
    return "true" if value else "false"


FIELDS: list[dict[str, Any]] = [
    {
        "value": spec.name,
        "displayName": spec.name,
        "orderable": _flag(spec.orderable),
        "searchable": _flag(spec.searchable),
        "operators": list(spec.operators),
        "types": list(spec.types),
    }
    for spec in _SPECS
]
"""`visibleFieldNames` of `jql/autocompletedata` (JIRA sends the flags as strings)."""

_DATE_FUNCS = (
    "now",
    "startOfDay",
    "endOfDay",
    "startOfWeek",
    "endOfWeek",
    "startOfMonth",
    "endOfMonth",
    "startOfYear",
    "endOfYear",
)
FUNCTION_FIELD_KINDS: dict[str, frozenset[str]] = {
    **{
        f.lower(): frozenset(("created", "updated", "duedate", "resolutiondate"))
        for f in _DATE_FUNCS
    },
    "currentuser": frozenset(("user",)),
    "standardissuetypes": frozenset(("issuetype",)),
    "subtaskissuetypes": frozenset(("issuetype",)),
}
"""Supported functions (lower-cased name) and the field kinds they apply to."""

FUNCTIONS: list[dict[str, Any]] = [
    *({"value": f"{f}()", "displayName": f"{f}()", "types": list(_DATE)} for f in _DATE_FUNCS),
    {"value": "currentUser()", "displayName": "currentUser()", "types": list(_USER)},
    *(
        {
            "value": f"{f}()",
            "displayName": f"{f}()",
            "isList": "true",
            "types": [_J + "issue.issuetype.IssueType"],
        }
        for f in ("standardIssueTypes", "subTaskIssueTypes")
    ),
]
"""`visibleFunctionNames` of `jql/autocompletedata`."""

_RESERVED_TEXT = """abort access add after alias alter and any as asc audit avg before begin between
    boolean break by byte catch cf changed char character check checkpoint collate collation
    column commit connect continue count create current date decimal declare decrement default
    defaults define delete delimiter desc difference distinct divide do double drop else empty
    encoding end equals escape exclusive exec execute exists explain false fetch file field first
    float for from function go goto grant greater group having identified if immediate in
    increment index initial inner inout input insert int integer intersect intersection into is
    isempty isnull join last left less like limit lock long max min minus mode modify modulo more
    multiply next noaudit not notin nowait null number object of on option or order outer output
    power previous prior privileges public raise raw remainder rename resource return returns
    revoke right row rowid rownum rows select session set share size sqrt start strict string
    subtract sum synonym table then to trans transaction trigger true uid union unique update
    user validate values view was when whenever where while with"""
RESERVED_WORDS: tuple[str, ...] = tuple(_RESERVED_TEXT.split())
"""JIRA's reserved JQL words (unquoted, they are a syntax error), as in Atlassian's corpus."""
RESERVED_SET = frozenset(RESERVED_WORDS)
