"""Applying one field edit to an issue and describing it as a changelog item.

Values arrive already validated and converted to the store's internal form by the HTTP layer
(`routes_issue_edit.py`): names for priority/components/versions, user ids, `date`s, `rich.Doc`.
`fromString`/`toString` follow JIRA: display names, wiki text for descriptions (even on Cloud),
space-separated labels, `yyyy-MM-dd` dates.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from gateway.sandbox.catalog import FIELD_BY_ID, PRIORITY_BY_NAME
from gateway.sandbox.model import ChangeItem, SandboxIssue

if TYPE_CHECKING:
    from gateway.sandbox.store import Store

_ATTRS = {
    "summary": "summary",
    "labels": "labels",
    "priority": "priority",
    "assignee": "assignee",
    "duedate": "duedate",
    "components": "components",
    "fixVersions": "fix_versions",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return " ".join(str(v) for v in value) if value else None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def current(store: Store, issue: SandboxIssue, fid: str) -> Any:
    if fid == "description":
        return store.details(issue).description
    if fid in _ATTRS:
        return getattr(issue, _ATTRS[fid])
    return issue.custom.get(fid)


def apply_field(store: Store, issue: SandboxIssue, fid: str, value: Any) -> ChangeItem | None:
    """Set `fid` to `value`; the changelog item, or None when nothing changed."""
    old = current(store, issue, fid)
    if old == value:
        return None
    if fid == "description":
        store.details(issue).description = value
        return ChangeItem(
            "description", "jira", "description", None, store.wiki(old), None, store.wiki(value)
        )
    if fid in _ATTRS:
        setattr(issue, _ATTRS[fid], value)
    elif value is None or value == []:
        issue.custom.pop(fid, None)
    else:
        issue.custom[fid] = value
    if fid == "assignee":
        return ChangeItem(
            "assignee",
            "jira",
            "assignee",
            old,
            store.name_of(old) if old else None,
            value,
            store.name_of(value) if value else None,
        )
    if fid == "priority":

        def pid(name: str | None) -> str | None:
            return str(PRIORITY_BY_NAME[name].id) if name else None

        return ChangeItem("priority", "jira", "priority", pid(old), old, pid(value), value)
    if fid == "customfield_10040":
        names_old = [store.name_of(u) for u in old or []]
        names_new = [store.name_of(u) for u in value or []]
        return ChangeItem(
            FIELD_BY_ID[fid].name,
            "custom",
            fid,
            _text(old),
            _text(names_old),
            _text(value),
            _text(names_new),
        )
    definition = FIELD_BY_ID[fid]
    if fid == "duedate":
        return ChangeItem(
            "duedate",
            "jira",
            "duedate",
            _text(old),
            _text(old) and f"{old} 00:00:00.0",
            _text(value),
            _text(value) and f"{value} 00:00:00.0",
        )
    name = definition.name if definition.custom else fid
    if fid == "fixVersions":
        name = "Fix Version"
    elif fid == "components":
        name = "Component"
    kind = "custom" if definition.custom else "jira"
    ids_from = None if fid in {"summary", "labels"} else _text(old)
    ids_to = None if fid in {"summary", "labels"} else _text(value)
    return ChangeItem(name, kind, fid, ids_from, _text(old), ids_to, _text(value))
