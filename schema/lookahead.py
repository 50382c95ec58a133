"""Field look-ahead: which JIRA fields an operation needs, from its selection set.

JIRA answers faster and smaller when asked for a few fields, and the cache keys carry the field
set, so a query selecting `key summary` never pays for descriptions and changelogs. Fragments
(named and inline) are flattened; aliases do not matter (the field name does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

# GraphQL field of Issue -> the JIRA fields it is built from.
ISSUE_FIELDS: dict[str, tuple[str, ...]] = {
    "summary": ("summary",),
    "description": ("description",),
    "status": ("status",),
    "priority": ("priority",),
    "issueType": ("issuetype",),
    "project": ("project",),
    "assignee": ("assignee",),
    "reporter": ("reporter",),
    "labels": ("labels",),
    "components": ("components",),
    "fixVersions": ("fixVersions",),
    "created": ("created",),
    "updated": ("updated",),
    "dueDate": ("duedate",),
    "resolutionDate": ("resolutiondate",),
    "parent": ("parent",),
    "subtasks": ("subtasks",),
    "links": ("issuelinks",),
    "attachments": ("attachment",),
    "comments": ("comment",),
}
# Fields an issue embedded in another (parent, subtask, link target) already carries.
REF_FIELDS = frozenset({"id", "key", "url", "summary", "status", "priority", "issueType"})


def fields_of(selections: Iterable[Selection]) -> list[SelectedField]:
    """The selected fields, fragments flattened."""
    out: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            out.append(selection)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            out.extend(fields_of(selection.selections))
    return out


def children(selections: Iterable[Selection], name: str) -> list[Selection]:
    """The sub-selections of every selected field called ``name`` (under any alias)."""
    out: list[Selection] = []
    for field in fields_of(selections):
        if field.name == name:
            out.extend(field.selections)
    return out


def connection_nodes(selections: Iterable[Selection]) -> list[Selection]:
    """What a connection selects on its nodes: ``nodes { … }`` plus ``edges { node { … } }``."""
    selections = list(selections)
    return children(selections, "nodes") + children(children(selections, "edges"), "node")


def issue_plan(selections: Sequence[Selection]) -> tuple[list[str], list[str]]:
    """``(fields, expand)`` to ask JIRA for, for an Issue selection."""
    fields: set[str] = set()
    expand: set[str] = set()
    for field in fields_of(selections):
        fields.update(ISSUE_FIELDS.get(field.name, ()))
        if field.name == "changelog":
            expand.add("changelog")
        elif field.name == "customFields":
            ids: Any = field.arguments.get("ids")
            if ids:
                fields.update(str(i) for i in ids)
            else:
                fields.add("*all")
    return sorted(fields) or ["summary"], sorted(expand)


def only_ref_fields(selections: Sequence[Selection]) -> bool:
    """True when an embedded issue reference can answer the whole selection."""
    return all(f.name in REF_FIELDS or f.name.startswith("__") for f in fields_of(selections))
