"""ORDER BY: per-field sort keys, JIRA's null placement and the default order.

Empty values sort last in ascending order and first in descending order (JIRA treats EMPTY as
greater than any value). Ties, and queries without ORDER BY, fall back to issue id descending
(newest first), so every result order is total and stable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.sandbox.jql_custom import atoms

if TYPE_CHECKING:
    from gateway.sandbox.jql_fields import FieldSpec
    from gateway.sandbox.model import SandboxIssue

_PRIORITY_RANK = {"highest": 5, "high": 4, "medium": 3, "low": 2, "lowest": 1}
_CATEGORY_RANK = {"undefined": 0, "new": 1, "indeterminate": 2, "done": 3}

KeyFn = Callable[["SandboxIssue"], Any]


def _key_number(issue: SandboxIssue) -> tuple[str, int]:
    project, _, num = issue.key.rpartition("-")
    return project, int(num) if num.isdigit() else 0


def _lower_or_none(value: str | None) -> str | None:
    return None if value is None else value.lower()


def _names(values: list[str]) -> tuple[str, ...] | None:
    return tuple(sorted(v.lower() for v in values)) or None


def _custom(value: Any) -> tuple[int, Any] | None:
    found = atoms(value)
    if not found:
        return None
    first = found[0]
    if isinstance(first, int | float) and not isinstance(first, bool):
        return (0, float(first))
    return (1, str(first).lower())


def _key_fn(spec: FieldSpec, custom_key: str | None, display: Callable[[str], str] | None) -> KeyFn:
    kind = spec.kind
    if kind == "custom":
        assert custom_key is not None
        return lambda i: _custom(i.custom.get(custom_key))
    if kind == "user":
        attr = spec.name

        def user(i: SandboxIssue) -> str | None:
            uid = getattr(i, attr)
            return None if uid is None else (display(uid) if display else uid).lower()

        return user
    simple: dict[str, KeyFn] = {
        "project": lambda i: i.project_key.lower(),
        "key": _key_number,
        "rank": lambda i: i.id,
        "status": lambda i: (_CATEGORY_RANK.get(i.status_category, 0), i.status.lower()),
        "statuscategory": lambda i: _CATEGORY_RANK.get(i.status_category, 0),
        "priority": lambda i: (
            None if i.priority is None else _PRIORITY_RANK.get(i.priority.lower(), 0)
        ),
        "issuetype": lambda i: i.issuetype.lower(),
        "resolution": lambda i: _lower_or_none(i.resolution),
        "components": lambda i: _names(i.components),
        "fix_versions": lambda i: _names(i.fix_versions),
        "summary": lambda i: i.summary.lower(),
        "created": lambda i: i.created,
        "updated": lambda i: i.updated,
        "resolutiondate": lambda i: i.resolutiondate,
        "duedate": lambda i: i.duedate,
    }
    return simple[kind]


def sort_issues(
    issues: list[SandboxIssue],
    order: list[tuple[FieldSpec, str | None, bool]],
    display: Callable[[str], str] | None,
) -> list[SandboxIssue]:
    """Stable multi-key sort: one pass per key, last key first (Python's sort is stable, also
    with reverse=True)."""
    out = sorted(issues, key=lambda i: i.id, reverse=True)
    for spec, custom_key, desc in reversed(order):
        fn = _key_fn(spec, custom_key, display)

        def key(i: SandboxIssue, fn: KeyFn = fn) -> tuple[bool, Any]:
            v = fn(i)
            return (v is None, v)

        out.sort(key=key, reverse=desc)
    return out
