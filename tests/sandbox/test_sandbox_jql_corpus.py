"""The JQL parser against Atlassian's own material: the atlaskit parser corpus (valid/invalid),
JQL strings from real saved filters, and the official `jql/parse` examples."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.sandbox import jql
from gateway.sandbox.model import SandboxIssue

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract" / "jql"
CORPUS = sorted((CONTRACT / "atlaskit-jql-parser").glob("*.json"))

# What the sandbox deliberately does not evaluate, with the message a valid query using it gets.
UNSUPPORTED = {
    "history (WAS / CHANGED)": re.compile(
        r"^The operator '(was|was not|was in|was not in|changed)' "
        r"is not supported by the '.+' field\.$",
        re.S,
    ),
    "fields the sandbox lacks (incl. property access, `x[y]`)": re.compile(
        r"^Field '.+' does not exist or you do not have permission to view it\.$", re.S
    ),
    "functions the sandbox lacks (membersOf, fn, ...)": re.compile(
        r"^Unable to find JQL function '.+'\.$", re.S
    ),
    "functions on other fields": re.compile(
        r"^The function '.+' is not supported by the '.+' field\.$", re.S
    ),
    "operators a field does not support": re.compile(
        r"^The operator '.+' is not supported by the '.+' field\.$", re.S
    ),
    "unknown values (users, projects, priorities)": re.compile(
        r"^The value '.+' does not exist for the field '.+'\.$", re.S
    ),
    "date operands that are not dates": re.compile(
        r"^Date value '.+' for field '.+' is invalid\.", re.S
    ),
    "ordering a field that does not sort": re.compile(
        r"^Field '.+' does not support sorting\.$", re.S
    ),
}


class PermissiveContext:
    """Every user and project term exists: compile errors then only come from unsupported
    features, never from unknown data."""

    now = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
    current_user: str | None = "u-alice"

    def users_matching(self, term: str) -> set[str] | None:
        return {term}

    def project_keys_matching(self, term: str) -> set[str] | None:
        return {term.upper()}

    def text_of(self, issue: SandboxIssue) -> str:
        return issue.summary

    def description_of(self, issue: SandboxIssue) -> str:
        return ""


def _cases(kind: str) -> list[Any]:
    return [
        pytest.param(q, id=f"{path.stem}:{n}")
        for path in CORPUS
        for n, q in enumerate(json.loads(path.read_text())[kind])
    ]


def test_corpus_is_there() -> None:
    assert len(CORPUS) == 17


@pytest.mark.parametrize("query", _cases("valid"))
def test_valid_corpus_query_parses(query: str) -> None:
    jql.parse(query)


@pytest.mark.parametrize("query", _cases("invalid"))
def test_invalid_corpus_query_is_a_jql_error(query: str) -> None:
    with pytest.raises(jql.JqlError) as err:
        jql.parse(query)
    assert err.value.messages
    assert all(m.endswith((".", ")")) for m in err.value.messages)


def test_valid_corpus_compiles_or_is_rejected_as_unsupported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every valid query either compiles or fails only with an "unsupported" message."""
    supported = 0
    rejected: Counter[str] = Counter()
    for param in _cases("valid"):
        query = param.values[0]
        try:
            jql.compile_query(jql.parse(query), PermissiveContext())
            supported += 1
        except jql.JqlError as err:
            for message in err.messages:
                kind = next((k for k, rx in UNSUPPORTED.items() if rx.match(message)), None)
                assert kind is not None, (query, message)
                rejected[kind] += 1
    total = len(_cases("valid")) + len(_cases("invalid"))
    with capsys.disabled():
        print(
            f"\nJQL corpus: {total} queries checked at parse level; of the valid ones "
            f"{supported} compile, rejected as unsupported: {dict(rejected)}"
        )
    # The subset must cover the bulk of plain JQL, and the history operators must be refused.
    assert supported >= 60
    assert rejected["history (WAS / CHANGED)"] >= 90


@pytest.mark.parametrize(
    "query",
    [
        "project = JQL and issuetype = Bug order by created desc",
        "project\n=\nJQL\nand\nissuetype\n=\nBug\norder\nby\ncreated\ndesc",
        "updated >= -4w",
        "updated < startOfWeek()",
        "priority >= 3",
        "assignee != currentUser()",
        "assignee is not EmPtY",
        "assignee nOt In (a, b)",
        "issuetype = bug or not component = jql",
        "! issuetype = bug and not issuetype = epic and (component = jql or labels = jql)",
        'description !~ "a*"',
        "cf [ 123 ] = value",
        'issuetype in (value, "another value")',
        "issuetype = 'value with \\'escaped\\' characters'",
    ],
)
def test_subset_queries_from_the_corpus_compile(query: str) -> None:
    jql.compile_query(jql.parse(query), PermissiveContext())


def _real_queries() -> list[str]:
    return [e["jql"] for e in json.loads((CONTRACT / "jql-from-real-responses.json").read_text())]


@pytest.mark.parametrize("query", _real_queries())
def test_jql_from_real_saved_filters_parses(query: str) -> None:
    q = jql.parse(query)
    assert q.where is not None


@pytest.mark.parametrize("query", [q for q in _real_queries() if "Versions()" not in q])
def test_jql_from_real_saved_filters_compiles(query: str) -> None:
    jql.compile_query(jql.parse(query), PermissiveContext())


def _parse_example() -> tuple[list[str], list[dict[str, Any]]]:
    examples = json.loads((CONTRACT / "atlassian-openapi-jql-examples.v3.json").read_text())
    parse_ex = [e for e in examples if e["path"] == "/rest/api/3/jql/parse"]
    request = next(e["example"] for e in parse_ex if e["status"] == "request")
    response = next(e["example"] for e in parse_ex if e["status"] == "200")
    return request["queries"], response["queries"]


def _without_doc_artifacts(node: Any) -> Any:
    """Atlassian's example has two hand-edits no parser can produce: a `property` on the plain
    field `lastCommentedBy` and the list operand `urgent, blocker)` missing its `(`."""
    if isinstance(node, dict):
        out = {k: _without_doc_artifacts(v) for k, v in node.items()}
        if out.get("name") == "lastCommentedBy":
            out.pop("property", None)
        if out.get("encodedOperand") == "urgent, blocker)":
            out["encodedOperand"] = "(urgent, blocker)"
        return out
    if isinstance(node, list):
        return [_without_doc_artifacts(v) for v in node]
    return node


def test_parse_structures_match_atlassian_examples() -> None:
    queries, answers = _parse_example()
    compared = 0
    for query, answer in zip(queries, answers, strict=True):
        if "structure" not in answer:
            continue
        assert jql.to_structure(jql.parse(query)) == _without_doc_artifacts(answer["structure"])
        compared += 1
    assert compared == 2


def test_parse_errors_match_atlassian_examples() -> None:
    queries, answers = _parse_example()
    checked = 0
    for query, answer in zip(queries, answers, strict=True):
        expected = answer.get("errors") or answer.get("warnings")
        if not expected:
            continue
        with pytest.raises(jql.JqlError) as err:
            jql.compile_query(jql.parse(query), _StrictProjects())
        assert err.value.messages == expected, query
        checked += 1
    assert checked == 5


class _StrictProjects(PermissiveContext):
    def project_keys_matching(self, term: str) -> set[str] | None:
        return None


def test_sanitize_example_error_wording() -> None:
    examples = json.loads((CONTRACT / "atlassian-openapi-jql-examples.v3.json").read_text())
    sanitize = next(
        e["example"]
        for e in examples
        if e["path"].endswith("/jql/sanitize") and e["status"] == "200"
    )
    failing = next(q for q in sanitize["queries"] if "errors" in q)
    with pytest.raises(jql.JqlError) as err:
        jql.parse("invalid query")
    assert err.value.messages == failing["errors"]["errorMessages"]
