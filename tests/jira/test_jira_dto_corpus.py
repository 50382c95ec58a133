"""Every recorded REST response and webhook body in the contract corpus goes through the DTOs.

Each JSON file under ``rest/`` and ``webhooks/`` is classified by shape (and by operationId for
Atlassian's documentation examples); every kind the client handles is parsed; the per-kind
counts are printed (``pytest -s``). Negative fixtures (names with invalid/incorrect/error/
missing) have an explicit expected outcome each.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.jira.errors import JiraMalformedResponse
from gateway.jira.parse_activity import (
    parse_attachment,
    parse_changelog_page,
    parse_comment,
    parse_comment_page,
)
from gateway.jira.parse_base import parse_user
from gateway.jira.parse_issue import parse_issue, parse_issue_link, parse_search_page
from gateway.jira.parse_meta import (
    parse_component,
    parse_field_def,
    parse_field_defs,
    parse_issue_type,
    parse_issue_types,
    parse_list,
    parse_priorities,
    parse_priority,
    parse_project,
    parse_projects,
    parse_resolution,
    parse_status,
    parse_statuses,
    parse_users,
    parse_version,
)
from gateway.jira.parse_webhook import parse_webhook

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
EXAMPLES = "rest/atlassian-openapi-examples/"

PARSERS: dict[str, Callable[[Any], object]] = {
    "issue": lambda d: parse_issue(d, endpoint="corpus"),
    "search_page": lambda d: parse_search_page(d, endpoint="corpus"),
    "comment": lambda d: parse_comment(d, endpoint="corpus"),
    "comment_page": lambda d: parse_comment_page(d, endpoint="corpus"),
    "legacy_comment_field": lambda d: [
        parse_comment(c, endpoint="corpus", path=f"$.value[{i}]") for i, c in enumerate(d["value"])
    ],
    "changelog_page": lambda d: parse_changelog_page(d, endpoint="corpus"),
    "user": lambda d: parse_user(d, endpoint="corpus"),
    "user_list": lambda d: parse_users(d, endpoint="corpus"),
    "project": lambda d: parse_project(d, endpoint="corpus"),
    "project_list": lambda d: parse_projects(d, endpoint="corpus"),
    "status": lambda d: parse_status(d, endpoint="corpus"),
    "status_list": lambda d: parse_statuses(d, endpoint="corpus"),
    "priority": lambda d: parse_priority(d, endpoint="corpus"),
    "priority_list": lambda d: parse_priorities(d, endpoint="corpus"),
    "issue_type": lambda d: parse_issue_type(d, endpoint="corpus"),
    "issue_type_list": lambda d: parse_issue_types(d, endpoint="corpus"),
    "field": lambda d: parse_field_def(d, endpoint="corpus"),
    "field_list": lambda d: parse_field_defs(d, endpoint="corpus"),
    "component": lambda d: parse_component(d, endpoint="corpus"),
    "component_list": lambda d: parse_list(d, endpoint="corpus", parse_one=parse_component),
    "version": lambda d: parse_version(d, endpoint="corpus"),
    "version_list": lambda d: parse_list(d, endpoint="corpus", parse_one=parse_version),
    "resolution": lambda d: parse_resolution(d, endpoint="corpus"),
    "resolution_list": lambda d: parse_list(d, endpoint="corpus", parse_one=parse_resolution),
    "attachment": lambda d: parse_attachment(d, endpoint="corpus"),
    "attachment_list": lambda d: parse_list(d, endpoint="corpus", parse_one=parse_attachment),
    "issue_link": lambda d: parse_issue_link(d, endpoint="corpus"),
    "webhook": lambda d: parse_webhook(d, endpoint="corpus"),
}

# Atlassian's documentation examples: the operations whose responses the client consumes.
OPERATIONS = {
    "getIssue": "issue",
    "searchForIssuesUsingJql": "search_page",
    "searchForIssuesUsingJqlPost": "search_page",
    "searchAndReconsileIssuesUsingJql": "search_page",
    "searchAndReconsileIssuesUsingJqlPost": "search_page",
    "bulkFetchIssues": "search_page",
    "getComments": "comment_page",
    "getCommentsByIds": "comment_page",
    "getComment": "comment",
    "addComment": "comment",
    "updateComment": "comment",
    "getChangeLogs": "changelog_page",
    "getChangeLogsByIds": "changelog_page",
    "getUser": "user",
    "getCurrentUser": "user",
    "findUsers": "user_list",
    "findAssignableUsers": "user_list",
    "getAllUsers": "user_list",
    "getAllUsersDefault": "user_list",
    "bulkGetUsers": "user_list",
    "getProject": "project",
    "getAllProjects": "project_list",
    "searchProjects": "project_list",
    "getStatus": "status",
    "getStatuses": "status_list",
    "getPriority": "priority",
    "getPriorities": "priority_list",
    "searchPriorities": "priority_list",
    "getIssueType": "issue_type",
    "getIssueAllTypes": "issue_type_list",
    "getFields": "field_list",
    "getFieldsPaginated": "field_list",
}

_RESOURCE = re.compile(
    r"/rest/api/(?:\d|latest)/(user\?|project/|status/|priority/|issuetype/|component/|version/"
    r"|resolution/|attachments?/|issuelink/)",
    re.I,
)
_SELF_KIND = {
    "user?": "user",
    "project/": "project",
    "status/": "status",
    "priority/": "priority",
    "issuetype/": "issue_type",
    "component/": "component",
    "version/": "version",
    "resolution/": "resolution",
    "attachment/": "attachment",
    "attachments/": "attachment",
    "issuelink/": "issue_link",
}
_USER_KEYS = {"self", "name", "key", "accountId", "displayName", "active", "emailAddress"}


def _is_legacy_wrapper(value: object) -> bool:
    # JIRA 4.x REST 2.0.alpha wrapped every field as {"name": ..., "type": ..., "value": ...}.
    return (
        isinstance(value, dict)
        and "type" in value
        and "name" in value
        and set(value)
        <= {
            "name",
            "type",
            "value",
        }
    )


def _self_kind(data: dict[str, Any]) -> str | None:
    self_url = data.get("self")
    if not isinstance(self_url, str):
        return None
    match = _RESOURCE.search(self_url)
    if match is None:
        return None
    kind = _SELF_KIND[match.group(1).lower()]
    tail = self_url[match.end() :]
    if kind != "user" and ("/" in tail or not tail):
        return None  # a sub-resource (project/X/role/...), not the object itself
    if kind == "project" and "key" not in data:
        return None
    if kind in ("component", "version", "resolution") and "name" not in data:
        return None  # e.g. {"self": ".../component/1", "issueCount": 23}
    return kind


def classify(rel: str, data: Any) -> str:
    """Shape -> kind, or "unhandled" (request bodies, agile objects, roles, errors, ...)."""
    if isinstance(data, list):
        if not data or not isinstance(data[0], dict):
            return "unhandled"
        if all(isinstance(d, dict) and "id" in d and "clauseNames" in d for d in data):
            return "field_list"
        first = classify(rel, data[0])
        return f"{first}_list" if f"{first}_list" in PARSERS else "unhandled"
    if not isinstance(data, dict):
        return "unhandled"
    if "webhookEvent" in data:
        return "webhook"
    if isinstance(data.get("schema"), dict) and "id" in data and "name" in data:
        return "field"
    if isinstance(data.get("fields"), dict) and "key" in data:
        if data["fields"] and all(_is_legacy_wrapper(v) for v in data["fields"].values()):
            return "legacy_issue_4x"
        return "issue"
    if isinstance(data.get("issues"), list):
        return "search_page"
    if isinstance(data.get("histories"), list):
        return "changelog_page"
    if isinstance(data.get("comments"), list):
        return "comment_page"
    if isinstance(data.get("values"), list) and data["values"]:
        first = data["values"][0]
        if isinstance(first, dict) and "items" in first and "created" in first:
            return "changelog_page"
        if isinstance(first, dict) and "body" in first and "author" in first:
            return "comment_page"
        inner = classify(rel, data["values"])
        return inner if inner.endswith("_list") else "unhandled"
    if _is_legacy_wrapper(data) and data.get("name") == "comment":
        return "legacy_comment_field"
    if "body" in data and "created" in data and "author" in data:
        return "comment"
    if isinstance(data.get("type"), dict) and ("inwardIssue" in data or "outwardIssue" in data):
        return "issue_link"
    kind = _self_kind(data)
    if kind is not None:
        return kind
    if "/user/" in rel and set(data) <= _USER_KEYS:
        return "user"  # anonymous / deleted shrunken users carry no self
    return "unhandled"


def _example_kind(rel: str, entry: dict[str, Any]) -> str:
    kind = OPERATIONS.get(entry["operationId"], "unhandled")
    example = entry["example"]
    if entry["status"] not in ("200", "201") or example is None:
        return "unhandled"
    if kind.endswith("_list") and isinstance(example, dict) and "values" not in example:
        # findAssignableUsers documents a single user for a list endpoint: judge by shape.
        return classify(rel, example)
    return kind


def corpus() -> Iterator[tuple[str, str, Any]]:
    """(label, kind, payload) for every JSON document of the corpus."""
    for root in ("rest", "webhooks"):
        for path in sorted((CONTRACT / root).rglob("*.json")):
            rel = path.relative_to(CONTRACT).as_posix()
            data = json.loads(path.read_text(encoding="utf-8"))
            if rel.startswith(EXAMPLES):
                for i, entry in enumerate(data):
                    kind = _example_kind(rel, entry)
                    yield f"{rel}#{i}:{entry['operationId']}", kind, entry["example"]
            elif isinstance(data, dict) and isinstance(data.get("entries"), list):
                # atlassian-python-api recordings: {"method", "path", "entries": [{response}]}
                for i, entry in enumerate(data["entries"]):
                    response = entry.get("response")
                    yield f"{rel}#{i}", classify(rel, response), response
            else:
                yield rel, classify(rel, data), data


NEGATIVE = re.compile(r"invalid|incorrect|error|missing", re.I)

# Per negative fixture: the parser a caller would wrongly point at it, and the outcome.
NEGATIVE_EXPECTATIONS: dict[str, tuple[Callable[[Any], object], str]] = {
    "rest/server-jrjc/issueLinks/links-disabled-error.json": (PARSERS["issue"], "raises"),
    "rest/server-jrjc/field/invalid-field.json": (
        lambda d: parse_field_def(d, endpoint="corpus"),
        "tolerant",  # a system field def missing optional keys (orderable, clauseNames)
    ),
    "rest/server-jrjc/error/valid.json": (PARSERS["search_page"], "raises"),
    "rest/server-jrjc/error/valid2.json": (PARSERS["search_page"], "raises"),
    "rest/server-jrjc/error/valid3.json": (PARSERS["comment_page"], "raises"),
    "rest/server-jrjc/error/valid4.json": (PARSERS["changelog_page"], "raises"),
    # A group actor: a name is enough for a User (as for deleted users), so it parses.
    "rest/server-jrjc/actor/invalid-actor-without-required-fields.json": (
        PARSERS["user"],
        "tolerant",
    ),
    "rest/server-jrjc/role/invalid-role.json": (PARSERS["project"], "raises"),
    "rest/go-atlassian/v3/validate-project-error-message.json": (PARSERS["project"], "raises"),
    "rest/go-atlassian/v3/get-project-roles-when-the-urls-are-incorrect.json": (
        PARSERS["project_list"],
        "raises",
    ),
    "rest/jira-ruby/component/10000.invalid.put.json": (
        lambda d: parse_component(d, endpoint="corpus"),
        "raises",
    ),
    "rest/jira-ruby/version/10000.invalid.put.json": (
        lambda d: parse_version(d, endpoint="corpus"),
        "raises",
    ),
    "rest/jira-ruby/issue/10002.invalid.put.json": (PARSERS["issue"], "raises"),
    "rest/jira-ruby/issue/10002.put.missing_field_update.json": (PARSERS["issue"], "raises"),
}


def test_every_handled_document_parses(capsys: pytest.CaptureFixture[str]) -> None:
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for label, kind, data in corpus():
        counts[kind] += 1
        parser = PARSERS.get(kind)
        if parser is None:
            continue
        try:
            parser(data)
        except Exception as exc:  # noqa: BLE001 - collect them all: one report beats 50 reruns
            failures.append(f"{label} [{kind}]: {type(exc).__name__}: {exc}")
    with capsys.disabled():
        print("\nJIRA contract corpus, documents per kind:")
        for kind, n in sorted(counts.items()):
            print(f"  {kind:22} {n:5}")
        parsed = sum(n for k, n in counts.items() if k in PARSERS)
        print(f"  parsed: {parsed}, failures: {len(failures)}")
    assert failures == []
    # The classifier must actually find each kind somewhere, or the walk proves nothing.
    for kind in PARSERS:
        if kind != "legacy_comment_field":
            assert counts[kind] > 0, kind
    assert counts["webhook"] == len(list((CONTRACT / "webhooks").rglob("*.json")))


def test_jira_4x_wrapped_issues_are_refused_with_the_path() -> None:
    # JIRA 4.x REST 2.0.alpha ({"name","type","value"} per field, no issue id) is long dead;
    # refusing it loudly beats a half-empty Issue.
    seen = 0
    for label, kind, data in corpus():
        if kind == "legacy_issue_4x":
            seen += 1
            with pytest.raises(JiraMalformedResponse, match=r"\$\.id"):
                parse_issue(data, endpoint="/rest/api/2/issue/{key}")
            assert label.startswith("rest/server-jrjc/issue/")
    assert seen == 2


@pytest.mark.parametrize("rel", sorted(NEGATIVE_EXPECTATIONS))
def test_negative_fixture_outcome(rel: str) -> None:
    parser, outcome = NEGATIVE_EXPECTATIONS[rel]
    data = json.loads((CONTRACT / rel).read_text(encoding="utf-8"))
    if outcome == "raises":
        with pytest.raises(JiraMalformedResponse) as info:
            parser(data)
        assert info.value.endpoint == "corpus"
        assert "$" in info.value.detail
    else:
        assert parser(data) is not None


def test_every_negative_fixture_has_a_decision() -> None:
    named = {
        p.relative_to(CONTRACT).as_posix()
        for root in ("rest", "webhooks")
        for p in (CONTRACT / root).rglob("*.json")
        if NEGATIVE.search(p.name) or NEGATIVE.search(p.parent.name)
    }
    assert named <= set(NEGATIVE_EXPECTATIONS), sorted(named - set(NEGATIVE_EXPECTATIONS))
