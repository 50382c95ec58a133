"""Malformed or truncated payloads raise JiraMalformedResponse naming endpoint and JSON path.

Never a bare KeyError/TypeError/AttributeError: the fuzz test replaces random nodes of real
payloads with random JSON and accepts exactly two outcomes, a DTO or JiraMalformedResponse.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.jira.errors import JiraMalformedResponse
from gateway.jira.parse_activity import parse_changelog_page, parse_comment_page
from gateway.jira.parse_issue import parse_issue, parse_search_page
from gateway.jira.parse_meta import parse_field_defs, parse_project
from gateway.jira.parse_webhook import parse_webhook

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
EP = "/rest/api/2/issue/{key}"


def load(rel: str) -> Any:
    return json.loads((CONTRACT / rel).read_text(encoding="utf-8"))


ISSUE = load("rest/server-jrjc/issue/valid-all-expanded.json")
SEARCH = load("rest/server-jrjc/search/many-issues.json")


def mutate(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def drop(doc: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return out


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (None, "$"),
        ([ISSUE], "$"),
        ('{"id": "10000", "key": "TST-1", "fie', "$"),  # a truncated body left as text
        (42, "$"),
        (drop(ISSUE, ("key",)), "$.key"),
        (drop(ISSUE, ("id",)), "$.id"),
        (mutate(ISSUE, ("id",), {"value": 1}), "$.id"),
        (mutate(ISSUE, ("fields",), ["summary"]), "$.fields"),
        (mutate(ISSUE, ("fields", "status"), "Open"), "$.fields.status"),
        (mutate(ISSUE, ("fields", "status", "name"), None), "$.fields.status.name"),
        (mutate(ISSUE, ("fields", "assignee"), "admin"), "$.fields.assignee"),
        (mutate(ISSUE, ("fields", "labels"), "a,b"), "$.fields.labels"),
        (mutate(ISSUE, ("fields", "created"), "Today 2:52 PM"), "$.fields.created"),
        (mutate(ISSUE, ("fields", "duedate"), "05/Jul/10"), "$.fields.duedate"),
        (
            mutate(ISSUE, ("fields", "comment", "comments", 0, "author"), 7),
            "$.fields.comment.comments[0].author",
        ),
        (mutate(ISSUE, ("fields", "description"), 3.5), "$.fields.description"),
        (mutate(ISSUE, ("fields", "issuelinks", 0, "type"), None), "$.fields.issuelinks[0].type"),
        (
            mutate(ISSUE, ("changelog", "histories", 0, "items"), {"field": "x"}),
            "$.changelog.histories[0].items",
        ),
    ],
)
def test_wrong_shapes_name_endpoint_and_path(raw: object, where: str) -> None:
    with pytest.raises(JiraMalformedResponse) as info:
        parse_issue(raw, endpoint=EP)
    assert info.value.endpoint == EP
    assert info.value.detail.split(":")[0] == where
    assert EP in str(info.value)


def test_search_page_errors_point_into_the_right_issue() -> None:
    broken = mutate(SEARCH, ("issues", 3, "fields", "priority"), ["Major"])
    with pytest.raises(JiraMalformedResponse, match=r"\$\.issues\[3\]\.fields\.priority"):
        parse_search_page(broken, endpoint="/rest/api/2/search")
    with pytest.raises(JiraMalformedResponse, match=r"\$\.issues: expected array"):
        parse_search_page({**SEARCH, "issues": {"0": {}}}, endpoint="/rest/api/2/search")
    with pytest.raises(JiraMalformedResponse, match=r"\$\.total"):
        parse_search_page({**SEARCH, "total": "many"}, endpoint="/rest/api/2/search")
    with pytest.raises(JiraMalformedResponse, match="expected a page"):
        parse_search_page({"errorMessages": ["x"]}, endpoint="/rest/api/2/search")


def test_other_parsers_refuse_odd_bodies() -> None:
    with pytest.raises(JiraMalformedResponse, match=r"\$: expected an array"):
        parse_field_defs({"id": "summary"}, endpoint="/field")
    with pytest.raises(JiraMalformedResponse, match=r"\$\.key"):
        parse_project({"id": "10000", "name": "No key"}, endpoint="/project/{key}")
    with pytest.raises(JiraMalformedResponse, match=r"\$\.comments\[0\]"):
        parse_comment_page({"comments": ["hello"]}, endpoint="/comment")
    with pytest.raises(JiraMalformedResponse, match=r"\$\.histories\[0\]\.items\[0\]\.field"):
        parse_changelog_page({"histories": [{"id": "1", "items": [{}]}]}, endpoint="/changelog")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "key", "name", "self", "value", "x"]), children, max_size=3
        )
    ),
    max_leaves=6,
)

TARGETS: list[tuple[str, Any, Callable[[Any], object]]] = [
    ("issue", ISSUE, lambda d: parse_issue(d, endpoint=EP)),
    ("cloud", load("rest/go-atlassian/v3/get-issue.json"), lambda d: parse_issue(d, endpoint=EP)),
    ("search", SEARCH, lambda d: parse_search_page(d, endpoint="/search")),
    (
        "webhook",
        load("webhooks/mattermost-plugin-jira/webhook-server-issue-updated-commented-1.json"),
        lambda d: parse_webhook(d),
    ),
]
PATHS = {name: _paths(doc) for name, doc, _ in TARGETS}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), target=st.sampled_from(TARGETS))
def test_fuzzed_real_payloads_parse_or_raise_malformed(
    data: st.DataObject, target: tuple[str, Any, Callable[[Any], object]]
) -> None:
    name, doc, parse = target
    path = data.draw(st.sampled_from(PATHS[name]))
    value = data.draw(JSON)
    detail = "$"
    try:
        parse(mutate(doc, path, value))
    except JiraMalformedResponse as exc:
        detail = exc.detail
    assert detail.startswith("$")
