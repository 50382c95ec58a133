"""``searchIssues``, ``issueStats`` and ``viewer.sites { sync }`` over real HTTP (embedded mode).

The gateway's own background sync mirrors the sandbox as alice (the first to connect, who sees
every project); bob sees ALPHA and BETA only, so his searches prove that the mirror is never
served without a check as the asking user.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from tests.api_support import ApiUser, login, running_gateway
from tests.support import RunningServer

SEARCH = """
query($text: String!, $filter: IssueFilter, $first: Int, $after: String) {
  searchIssues(text: $text, filter: $filter, first: $first, after: $after) {
    edges { cursor node { key project { key } }
            match { rank summaryHtml descriptionHtml source } }
    nodes { key }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""
STATS = """
query($groupBy: [IssueStatsField!]!, $filter: IssueFilter, $jql: String) {
  issueStats(groupBy: $groupBy, filter: $filter, jql: $jql) {
    field key label count source complete
  }
}
"""
SYNC = "{ viewer { sites { id sync { state lastSyncedAt issues error } } } }"
BOB_PROJECTS = {"ALPHA", "BETA"}
_WORD = re.compile(r"[A-Za-z]{5,}")


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, cloud_sandbox: RunningServer
) -> Iterator[RunningServer]:
    with running_gateway(tmp_path_factory.mktemp("search")) as server:
        yield server


@pytest.fixture(scope="module")
def alice(gateway: RunningServer, cloud_sandbox: RunningServer) -> ApiUser:
    # Signed in first: alice's account becomes the site's sync identity.
    return login(gateway, cloud_sandbox, "alice")


@pytest.fixture(scope="module")
def bob(gateway: RunningServer, cloud_sandbox: RunningServer, alice: ApiUser) -> ApiUser:
    return login(gateway, cloud_sandbox, "bob")


@pytest.fixture(scope="module")
def synced(alice: ApiUser, bob: ApiUser) -> dict[str, Any]:
    """Wait for the embedded mirror loop's first sync (it starts 5 s after the gateway)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        sites = alice.query(SYNC)["data"]["viewer"]["sites"]
        sync = sites[0]["sync"]
        if sync is not None and sync["lastSyncedAt"] is not None and sync["state"] == "IDLE":
            return dict(sync)
        time.sleep(0.5)
    raise AssertionError(f"the mirror did not sync: {sites}")


def search(user: ApiUser, text: str, **variables: Any) -> dict[str, Any]:
    payload = user.query(SEARCH, {"text": text, **variables})
    assert "errors" not in payload, payload
    found: dict[str, Any] = payload["data"]["searchIssues"]
    return found


def every_hit(user: ApiUser, text: str) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = []
    after = None
    while True:
        page = search(user, text, first=100, after=after)
        edges += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]


def error_code(payload: dict[str, Any]) -> str:
    return str(payload["errors"][0]["extensions"]["code"])


def store_issues(sandbox: RunningServer) -> list[Any]:
    return list(sandbox.app.state.store.issues.values())


def hidden_words(sandbox: RunningServer) -> list[str]:
    """Summary words of issues bob cannot see, most frequent first."""
    counts: Counter[str] = Counter()
    for issue in store_issues(sandbox):
        if issue.project_key not in BOB_PROJECTS:
            counts.update({w.lower() for w in _WORD.findall(issue.summary)})
    return [word for word, _ in counts.most_common(8)]


def test_sync_status_counts_every_issue(
    synced: dict[str, Any], cloud_sandbox: RunningServer
) -> None:
    assert synced["issues"] == len(store_issues(cloud_sandbox))
    assert synced["error"] is None


def test_bob_never_gets_an_issue_hidden_from_him(
    synced: dict[str, Any], alice: ApiUser, bob: ApiUser, cloud_sandbox: RunningServer
) -> None:
    words = hidden_words(cloud_sandbox)
    alice_hidden = 0
    for word in words:
        for_alice = every_hit(alice, word)
        for_bob = every_hit(bob, word)
        assert {e["match"]["source"] for e in for_bob} <= {"MIRROR"}
        alice_keys = {e["node"]["key"] for e in for_alice}
        alice_hidden += sum(1 for e in for_alice if e["node"]["project"]["key"] not in BOB_PROJECTS)
        bob_keys = {e["node"]["key"] for e in for_bob}
        assert {e["node"]["project"]["key"] for e in for_bob} <= BOB_PROJECTS
        # bob's hits are exactly alice's hits in his projects: the check drops, never adds.
        visible = {k for k in alice_keys if k.split("-")[0] in BOB_PROJECTS}
        assert bob_keys == visible
    assert alice_hidden > 0, "the words never matched a hidden issue: the test proves nothing"


def test_results_are_ranked_highlighted_and_paged(synced: dict[str, Any], alice: ApiUser) -> None:
    word = "improve"  # in 27 summaries of the seed-1 sandbox
    whole = search(alice, word, first=6)
    assert len(whole["edges"]) == 6
    ranks = [e["match"]["rank"] for e in whole["edges"]]
    assert ranks == sorted(ranks, reverse=True)
    for edge in whole["edges"]:
        html = edge["match"]["summaryHtml"] + edge["match"]["descriptionHtml"]
        assert "<mark>" in html
        assert "<script" not in html.lower()
    first = search(alice, word, first=3)
    assert first["pageInfo"]["hasNextPage"] is True
    second = search(alice, word, first=3, after=first["pageInfo"]["endCursor"])
    paged = [n["key"] for n in first["nodes"] + second["nodes"]]
    assert paged == [n["key"] for n in whole["nodes"]]


def test_filter_narrows_mirror_results(synced: dict[str, Any], alice: ApiUser) -> None:
    everywhere = search(alice, "improve", first=50)
    found = search(alice, "improve", filter={"projects": ["BETA"]}, first=50)
    projects = {e["node"]["project"]["key"] for e in found["edges"]}
    assert projects == {"BETA"}
    beta = [n["key"] for n in everywhere["nodes"] if n["key"].startswith("BETA-")]
    assert sorted(n["key"] for n in found["nodes"]) == sorted(beta)
    assert {e["match"]["source"] for e in found["edges"]} <= {"MIRROR"}


def test_filter_the_mirror_cannot_evaluate_falls_back_to_jira(
    synced: dict[str, Any], bob: ApiUser, cloud_sandbox: RunningServer
) -> None:
    word = hidden_words(cloud_sandbox)[0]
    # Extra words in the filter are JIRA's `text ~`: the search goes to JIRA, as bob.
    found = search(bob, word, filter={"text": word}, first=50)
    assert {e["match"]["source"] for e in found["edges"]} <= {"JIRA"}
    assert {e["node"]["project"]["key"] for e in found["edges"]} <= BOB_PROJECTS


def test_search_input_errors(synced: dict[str, Any], alice: ApiUser) -> None:
    assert error_code(alice.query(SEARCH, {"text": "  !! "})) == "BAD_USER_INPUT"
    assert error_code(alice.query(SEARCH, {"text": "x", "first": 500})) == "LIMIT_EXCEEDED"
    assert error_code(alice.query(SEARCH, {"text": "x", "after": "bm9wZQ"})) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ({"projects": []}, "BAD_USER_INPUT"),
        ({"statuses": ["  "]}, "BAD_USER_INPUT"),
        ({"labels": [f"l{n}" for n in range(101)]}, "LIMIT_EXCEEDED"),
        (
            {"createdAfter": "2026-02-01T00:00:00Z", "createdBefore": "2026-01-01T00:00:00Z"},
            "BAD_USER_INPUT",
        ),
        ({"assignedToMe": True, "unassigned": True}, "BAD_USER_INPUT"),
    ],
)
def test_filter_errors_are_the_same_when_the_mirror_answers(
    synced: dict[str, Any], alice: ApiUser, bad: dict[str, Any], code: str
) -> None:
    # Filters the mirror could evaluate: without the check they silently matched nothing.
    assert error_code(alice.query(SEARCH, {"text": "improve", "filter": bad})) == code
    assert error_code(alice.query(STATS, {"groupBy": ["STATUS"], "filter": bad})) == code


def test_search_is_remembered_in_history(synced: dict[str, Any], bob: ApiUser) -> None:
    search(bob, "remember these words")
    history = bob.query("{ searchHistory(first: 5) { kind query } }")["data"]["searchHistory"]
    assert {"kind": "text", "query": "remember these words"} in history


def test_issue_stats_from_mirror_count_only_what_the_user_sees(
    synced: dict[str, Any], alice: ApiUser, bob: ApiUser, cloud_sandbox: RunningServer
) -> None:
    issues = store_issues(cloud_sandbox)
    for user, projects in ((alice, None), (bob, BOB_PROJECTS)):
        payload = user.query(STATS, {"groupBy": ["STATUS", "PROJECT"]})
        assert "errors" not in payload, payload
        buckets = payload["data"]["issueStats"]
        assert {b["source"] for b in buckets} == {"MIRROR"}
        seen = [i for i in issues if projects is None or i.project_key in projects]
        by_status = {b["key"]: b["count"] for b in buckets if b["field"] == "STATUS"}
        assert by_status == dict(Counter(i.status for i in seen))
        by_project = {b["key"]: b["count"] for b in buckets if b["field"] == "PROJECT"}
        assert by_project == dict(Counter(i.project_key for i in seen))


def test_issue_stats_mirror_and_jira_agree(synced: dict[str, Any], bob: ApiUser) -> None:
    mirror = bob.query(STATS, {"groupBy": ["PRIORITY"], "filter": {"projects": ["ALPHA"]}})
    jira = bob.query(STATS, {"groupBy": ["PRIORITY"], "jql": "project = ALPHA"})
    assert "errors" not in mirror, mirror
    assert "errors" not in jira, jira
    as_counts = [{b["key"]: b["count"] for b in p["data"]["issueStats"]} for p in (mirror, jira)]
    assert as_counts[0] == as_counts[1]
    assert {b["source"] for b in jira["data"]["issueStats"]} == {"JIRA"}
    assert all(b["complete"] for b in jira["data"]["issueStats"])


def test_issue_stats_weeks_are_mondays(synced: dict[str, Any], alice: ApiUser) -> None:
    payload = alice.query(STATS, {"groupBy": ["CREATED_WEEK"]})
    buckets = payload["data"]["issueStats"]
    keys = [b["key"] for b in buckets]
    assert keys == sorted(keys)
    assert all(date.fromisoformat(k).weekday() == 0 for k in keys)
    assert error_code(alice.query(STATS, {"groupBy": []})) == "BAD_USER_INPUT"
