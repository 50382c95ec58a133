"""The contract validator itself: it accepts Atlassian's own examples and real recorded JIRA
responses, and it rejects broken bodies (so a green contract run means something).
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from jsonschema import Draft4Validator

from tests.contract.adf_validator import ADF_SCHEMA, adf_validator
from tests.contract.issue_fields import nested_violations, rich_text_violations
from tests.contract.openapi_validator import CONTRACT, ERRATA, load_spec, to_json_schema

# Operations the sandbox implements (both specs use the same operationIds).
SANDBOX_OPERATIONS = frozenset({
    "getCurrentUser", "getServerInfo", "searchAndReconsileIssuesUsingJql",
    "searchAndReconsileIssuesUsingJqlPost", "countIssues", "bulkFetchIssues", "getIssue",
    "editIssue", "getTransitions", "doTransition", "getComments", "addComment", "deleteComment",
    "getComment", "updateComment", "getChangeLogs", "getBulkChangelogs", "getUser",
    "bulkGetUsers", "findUsers", "getAllProjects", "searchProjects", "getProject", "getStatuses",
    "getStatusCategories", "getPriorities", "getIssueAllTypes", "getFields", "getResolutions",
    "getAttachment", "getAutoComplete", "getFieldAutoCompleteForQueryString", "parseJqlQueries",
    "searchForIssuesUsingJql", "searchForIssuesUsingJqlPost", "registerDynamicWebhooks",
    "getDynamicWebhooksForApp", "deleteWebhookById", "refreshWebhooks",
})  # fmt: skip

# Atlassian's documentation examples that contradict their own schema (checked, not skipped:
# the test asserts that exactly these fail, with these messages).
KNOWN_BAD_EXAMPLES: dict[tuple[str, str], str] = {
    ("v3", "getBulkChangelogs"): "is not of type 'string'",  # created as epoch seconds
    ("v3", "bulkFetchIssues"): "'expand' was unexpected",  # BulkIssueResults has no expand
    ("v3", "getAllProjects"): "is not of type 'string'",  # insight time epoch, style 'CLASSIC'
    ("v3", "getServerInfo"): "'defaultLocale' was unexpected",
    ("v2", "getServerInfo"): "'defaultLocale' was unexpected",
    ("v3", "getDynamicWebhooksForApp"): "is not of type 'integer'",  # expirationDate as text
    ("v2", "getDynamicWebhooksForApp"): "is not of type 'integer'",
    ("v3", "refreshWebhooks"): "is not of type 'integer'",  # the same expirationDate text
    ("v2", "refreshWebhooks"): "is not of type 'integer'",
}


def _examples(spec: str) -> list[dict[str, Any]]:
    path = CONTRACT / "rest" / "atlassian-openapi-examples" / f"platform-{spec}.examples.json"
    return [
        e
        for e in orjson.loads(path.read_bytes())
        if e["operationId"] in SANDBOX_OPERATIONS
        and e["status"].isdigit()
        and "json" in (e.get("contentType") or "")
    ]


@pytest.mark.parametrize("spec_name", ["v3", "v2"])
def test_contract_official_examples_validate(spec_name: str) -> None:
    spec = load_spec(spec_name)  # type: ignore[arg-type]
    examples = _examples(spec_name)
    good, bad = 0, {}
    for example in examples:
        result = spec.check(
            example["method"], example["path"], int(example["status"]), example["example"]
        )
        assert result.coverage != "no-operation", example["path"]
        if result.violations:
            bad[(spec_name, example["operationId"])] = " | ".join(map(str, result.violations))
        else:
            good += 1
    print(f"{spec_name}: {good} of {len(examples)} official examples validate")  # shown with -s
    expected = {k for k in KNOWN_BAD_EXAMPLES if k[0] == spec_name}
    assert set(bad) == expected, bad
    for key, message in bad.items():
        assert KNOWN_BAD_EXAMPLES[key] in message, (key, message)
    assert good >= 25


def _issue_example() -> dict[str, Any]:
    example = next(e for e in _examples("v3") if e["operationId"] == "getIssue")
    return copy.deepcopy(example["example"])


def test_contract_broken_bodies_are_rejected() -> None:
    spec = load_spec("v3")
    issue = _issue_example()
    assert spec.check("GET", "/rest/api/3/issue/ED-1", 200, issue).violations == []
    issue["id"] = 10002  # JIRA ids are strings
    issue["unexpected"] = True  # IssueBean is closed (additionalProperties: false)
    found = {
        (v.path, v.message) for v in spec.check("GET", "/rest/api/3/issue/1", 200, issue).violations
    }
    assert ("$.id", "10002 is not of type 'string'") in found
    assert any(path == "$" and "'unexpected' was unexpected" in msg for path, msg in found)

    page = {"isLast": "yes", "issues": [{"key": 7}], "total": 3}
    result = spec.check("POST", "/rest/api/3/search/jql", 200, page)
    assert result.schema == "SearchAndReconcileResults"
    paths = {v.path for v in result.violations}
    assert {"$", "$.isLast", "$.issues[0].key"} <= paths


def test_contract_nested_fields_and_rich_text_are_checked() -> None:
    spec = load_spec("v3")
    issue = {"id": "1", "key": "A-1", "fields": {
        "status": {"name": "Done", "statusCategory": {"id": "3"}},  # category id is an int
        "assignee": None,
        "parent": None,  # real JIRA omits parent when there is none
        "created": "2024-05-01T10:20:30.123+0000",
        "duedate": "31/01/2024",
        "description": {"type": "doc", "version": 1, "content": [{"type": "bogus"}]},
        "customfield_10016": "anything goes: custom fields have no schema",
    }}  # fmt: skip
    found = {v.path for v in nested_violations(spec, "3", "IssueBean", issue)}
    assert "$.fields.status.statusCategory.id" in found
    assert "$.fields.parent" in found
    assert "$.fields.duedate" in found
    assert any(p.startswith("$.fields.description") for p in found)
    assert not any(
        p.startswith(("$.fields.assignee", "$.fields.created", "$.fields.custom")) for p in found
    )
    assert rich_text_violations("2", "h1. wiki *markup*", "$.body") == []
    assert rich_text_violations("2", {"type": "doc"}, "$.body")
    text = {"type": "text", "text": "ok", "marks": [{"type": "strong"}]}
    adf = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [text]}]}
    assert rich_text_violations("3", adf, "$.body") == []


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("go-atlassian/v3", "search-issues.json"),
        ("go-atlassian/v3", "get-issue.json"),
        ("server-jrjc/search", "many-issues.json"),
        ("server-jrjc/issue", "valid-visibility.json"),
        ("jira-to-matrix", "issue.json"),
    ],
)
def test_contract_field_rules_accept_recorded_jira(folder: str, name: str) -> None:
    """The per-field beans are not stricter than real JIRA: recorded responses pass them."""
    body = orjson.loads((CONTRACT / "rest" / folder / name).read_bytes())
    api = "3" if folder.endswith("v3") else "2"
    kind = "SearchResults" if "issues" in body else "IssueBean"
    assert nested_violations(load_spec(f"v{api}"), api, kind, body) == []  # type: ignore[arg-type]


def test_contract_translation_rules() -> None:
    assert to_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    wrapped = to_json_schema({"allOf": [{"$ref": "#/x"}], "nullable": True}, "urn:s")
    assert wrapped == {"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "urn:s#/x"}]}]}
    enum = to_json_schema({"type": "string", "enum": ["a"], "nullable": True})
    assert enum["enum"] == ["a", None]
    poly = to_json_schema({"additionalProperties": False, "anyOf": [{"type": "object"}]})
    assert "additionalProperties" not in poly
    closed = to_json_schema({"additionalProperties": False, "properties": {"a": {}}})
    assert closed["additionalProperties"] is False


def test_contract_formats_and_statuses() -> None:
    spec = load_spec("v3")
    ok = spec.validate_schema(
        {"type": "string", "format": "date-time"}, "t:dt", "2024-05-01T10:20:30.123+0000"
    )
    assert ok == []
    assert spec.validate_schema({"type": "string", "format": "date-time"}, "t:dt", "yesterday")
    assert spec.validate_schema({"type": "string", "format": "uri"}, "t:uri", "/relative")
    assert spec.validate_schema({"type": "integer", "format": "int32"}, "t:i32", 2**31)
    # A 204 without a body is fine; a 201 where the spec says 200 is not.
    assert spec.check("PUT", "/rest/api/3/issue/A-1", 204, None, has_body=False).violations == []
    wrong = spec.check("GET", "/rest/api/3/myself", 201, {"accountId": "x"})
    assert any("not documented" in v.message for v in wrong.violations)
    # Undocumented error statuses fall back to JIRA's ErrorCollection body, and check it.
    gone = spec.check("GET", "/rest/api/3/search", 410, {"errorMessages": ["removed"]})
    assert (gone.coverage, gone.violations) == ("error-fallback", [])
    assert spec.check("GET", "/rest/api/3/search", 410, {"errorMessages": "removed"}).violations
    assert spec.check("GET", "/rest/webhooks/1.0/webhook", 200, []).coverage == "no-operation"
    assert spec.find_operation("POST", "/rest/api/3/issue/bulkfetch")[0].endswith("bulkfetch")  # type: ignore[index]


def test_contract_errata_are_few_and_argued() -> None:
    assert len(ERRATA) <= 10
    for erratum in ERRATA:
        assert len(erratum.evidence) > 60, erratum
        for name in erratum.specs:
            assert erratum.schema in load_spec(name).document["components"]["schemas"]  # type: ignore[arg-type]


def test_contract_adf_validator_matches_the_published_schema() -> None:
    """The fast ADF dispatch accepts every real ADF document and rejects what jsonschema rejects."""
    real = orjson.loads((CONTRACT / "adf" / "extracted-from-real-responses.json").read_bytes())
    fast = adf_validator()
    assert [e["pointer"] for e in real if not fast.is_valid(e["doc"])] == []
    plain = Draft4Validator(orjson.loads(ADF_SCHEMA.read_bytes()))
    broken = []
    for entry in real[:8]:
        doc = copy.deepcopy(entry["doc"])
        doc["content"].append({"type": "bogus"})
        broken.append(doc)
        doc = copy.deepcopy(entry["doc"])
        doc["content"][0]["type"] = "text"
        broken.append(doc)
        doc = copy.deepcopy(entry["doc"])
        doc["content"].append({"type": "paragraph", "content": [{"type": "text", "text": ""}]})
        broken.append(doc)
    assert [fast.is_valid(d) for d in broken] == [plain.is_valid(d) for d in broken]
    assert not any(fast.is_valid(d) for d in broken)
