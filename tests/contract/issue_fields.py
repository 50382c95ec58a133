"""Validate the values inside ``IssueBean.fields`` and rich-text bodies, which the specs leave open.

The specs declare ``IssueBean.fields`` as a free-form map (``additionalProperties: {}``), so the
plain response check accepts anything there — yet that is where most of an issue lives. The
specs do define a bean for each system field, in the places where they type them: ``Fields``
(``status`` -> ``StatusDetails``, ``assignee`` -> ``UserDetails``, ``priority`` -> ``Priority``,
``issuetype`` -> ``IssueTypeDetails``, ``timetracking``), ``LinkedIssue``/``IssueLink``
(``parent``, ``subtasks``, ``issuelinks``), and the endpoints for comments, attachments,
versions, components, votes and watchers. ``SYSTEM_FIELDS`` maps each system field id to that
bean; every present value is validated against it. Custom fields are NOT validated: the specs
have no schema for their values (``CustomFieldOption`` even lacks the ``id`` that real JIRA
sends in ``{self, value, id}``).

Rich text: on ``/rest/api/3`` ``description``, ``environment`` and comment bodies must be ADF
documents valid against Atlassian's published ADF JSON schema
(``adf/schema/adf-schema-v1-full.json``); on ``/rest/api/2`` they are wiki-markup strings.
"""

from __future__ import annotations

from typing import Any

from tests.contract.adf_validator import adf_validator
from tests.contract.openapi_validator import OpenApiSpec, Violation, json_path


def _ref(name: str, *, nullable: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
    return {"allOf": [schema], "nullable": True} if nullable else schema


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_TIMESTAMP = {"type": "string", "format": "date-time"}
SYSTEM_FIELDS: dict[str, dict[str, Any]] = {
    "summary": {"type": "string"},
    "status": _ref("StatusDetails"),
    "priority": _ref("Priority", nullable=True),
    "issuetype": _ref("IssueTypeDetails"),
    "project": _ref("ProjectDetails"),
    "assignee": _ref("UserDetails", nullable=True),
    "reporter": _ref("UserDetails", nullable=True),
    "creator": _ref("UserDetails", nullable=True),
    "resolution": _ref("Resolution", nullable=True),
    "labels": _array({"type": "string"}),
    "components": _array(_ref("ProjectComponent")),
    "fixVersions": _array(_ref("Version")),
    "versions": _array(_ref("Version")),
    "attachment": _array(_ref("Attachment")),
    "issuelinks": _array(_ref("IssueLink")),
    "subtasks": _array(_ref("LinkedIssue")),
    "parent": _ref("LinkedIssue"),
    "comment": _ref("PageOfComments"),
    "worklog": _ref("PageOfWorklogs"),
    "votes": _ref("Votes"),
    "watches": _ref("Watchers"),
    "timetracking": _ref("TimeTrackingDetails"),
    "created": _TIMESTAMP,
    "updated": _TIMESTAMP,
    "resolutiondate": {**_TIMESTAMP, "nullable": True},
    "lastViewed": {**_TIMESTAMP, "nullable": True},
    "statuscategorychangedate": {**_TIMESTAMP, "nullable": True},
    "duedate": {"type": "string", "format": "date", "nullable": True},
}
RICH_FIELDS = ("description", "environment")
# Response schemas whose bodies carry issues / comments, and where they sit in the body.
ISSUE_CONTAINERS = {
    "IssueBean": None,
    "SearchAndReconcileResults": "issues",
    "SearchResults": "issues",
    "BulkIssueResults": "issues",
}
COMMENT_CONTAINERS = {"Comment": None, "PageOfComments": "comments"}


def rich_text_violations(api: str, value: Any, path: str) -> list[Violation]:
    """A description/comment body: ADF (v3, valid per the ADF schema) or a string (v2)."""
    if value is None:
        return []
    if api == "2":
        if isinstance(value, str):
            return []
        return [Violation(path, f"v2 rich text must be a wiki-markup string, got {value!r:.80}")]
    if not isinstance(value, dict):
        return [Violation(path, f"v3 rich text must be an ADF document, got {value!r:.80}")]
    errors = sorted(adf_validator().iter_errors(value), key=lambda e: list(e.absolute_path))
    return [
        Violation(path + json_path(e.absolute_path)[1:], f"ADF: {e.message[:200]}")
        for e in errors[:5]
    ]


def _issue_violations(spec: OpenApiSpec, api: str, issue: Any, path: str) -> list[Violation]:
    fields = issue.get("fields") if isinstance(issue, dict) else None
    if not isinstance(fields, dict):
        return []
    found: list[Violation] = []
    for name, value in fields.items():
        where = f"{path}.fields.{name}"
        if name in SYSTEM_FIELDS:
            schema = SYSTEM_FIELDS[name]
            for v in spec.validate_schema(schema, f"field:{name}", value):
                found.append(Violation(where + v.path[1:], v.message, v.schema_path))
        elif name in RICH_FIELDS:
            found += rich_text_violations(api, value, where)
        if name == "comment" and isinstance(value, dict):
            found += _comment_bodies(api, value.get("comments"), f"{where}.comments")
    return found


def _comment_bodies(api: str, comments: Any, path: str) -> list[Violation]:
    if not isinstance(comments, list):
        return []
    found: list[Violation] = []
    for n, comment in enumerate(comments):
        if isinstance(comment, dict) and "body" in comment:
            found += rich_text_violations(api, comment["body"], f"{path}[{n}].body")
    return found


def nested_violations(
    spec: OpenApiSpec, api: str, schema_name: str | None, body: Any
) -> list[Violation]:
    """Field-level and rich-text violations inside a body already checked as ``schema_name``."""
    if schema_name in ISSUE_CONTAINERS:
        key = ISSUE_CONTAINERS[schema_name]
        if key is None:
            return _issue_violations(spec, api, body, "$")
        issues = body.get(key) if isinstance(body, dict) else None
        found: list[Violation] = []
        for n, issue in enumerate(issues if isinstance(issues, list) else []):
            found += _issue_violations(spec, api, issue, f"$.{key}[{n}]")
        return found
    if schema_name in COMMENT_CONTAINERS:
        key = COMMENT_CONTAINERS[schema_name]
        if key is None:
            return (
                rich_text_violations(api, body.get("body"), "$.body")
                if isinstance(body, dict)
                else []
            )
        comments = body.get(key) if isinstance(body, dict) else None
        return _comment_bodies(api, comments, f"$.{key}")
    return []
