"""The read API's call budget and visibility, against the sandbox JIRA over real HTTP (issue 5,
Done-when). JIRA calls are counted with the sandbox's own counter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.api_support import ApiUser, jira_calls, login, reset_calls, running_gateway, total_calls
from tests.support import RunningServer, SandboxFactory

BUDGET_QUERY = """{ issues(first: 50) { nodes { key summary status { name }
  assignee { displayName } reporter { displayName }
  comments(first: 5) { nodes { author { displayName } body { text } } } } } }"""

ISSUE_QUERY = """query($key: String!) { issue(key: $key) { key summary
  comments(first: 5) { totalCount nodes { body { text } } }
  changelog(first: 5) { totalCount nodes { author { displayName }
    items { field fromString toString } } }
  subtasks { key summary status { name } }
  links { type relation direction issue { key summary } } } }"""


@dataclass
class Api:
    sandbox: RunningServer
    gateway: RunningServer
    alice: ApiUser
    bob: ApiUser

    def clear_cache(self) -> None:
        """Forget every cached entry and response (a cold start without restarting)."""
        state = self.gateway.app.state.gateway
        state.cache.backend._data.clear()


@pytest.fixture(scope="module", params=["cloud", "server"])
def api(
    request: pytest.FixtureRequest,
    sandbox_factory: SandboxFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    sandbox = sandbox_factory(flavor=request.param)
    with running_gateway(tmp_path_factory.mktemp(request.param)) as gateway:
        yield Api(
            sandbox, gateway, login(gateway, sandbox, "alice"), login(gateway, sandbox, "bob")
        )


def test_fifty_issues_with_comments_cost_at_most_two_calls_cold_and_none_warm(api: Api) -> None:
    api.clear_cache()
    reset_calls(api.sandbox)
    cold = api.alice.query(BUDGET_QUERY)
    assert "errors" not in cold, cold
    nodes = cold["data"]["issues"]["nodes"]
    assert len(nodes) == 50
    assert all(n["status"]["name"] and n["reporter"]["displayName"] for n in nodes)
    with_comments = [n for n in nodes if n["comments"]["nodes"]]
    assert with_comments, "the seeded data has comments"
    assert all(len(n["comments"]["nodes"]) <= 5 for n in nodes)
    assert all(c["body"]["text"] for n in with_comments for c in n["comments"]["nodes"])
    assert total_calls(api.sandbox) <= 2, jira_calls(api.sandbox)

    reset_calls(api.sandbox)
    warm = api.alice.query(BUDGET_QUERY)
    assert warm == cold
    assert total_calls(api.sandbox) == 0, jira_calls(api.sandbox)


def test_warm_data_without_the_response_cache_makes_no_calls(api: Api) -> None:
    api.alice.query(BUDGET_QUERY)
    reset_calls(api.sandbox)
    # Another document (an alias) misses the response cache but selects the same data.
    again = api.alice.query(BUDGET_QUERY.replace("{ issues(", "{ page: issues(", 1))
    assert len(again["data"]["page"]["nodes"]) == 50
    assert total_calls(api.sandbox) == 0, jira_calls(api.sandbox)


def _issue_with_subtasks_and_links(api: Api) -> str:
    query = """query($after: String) { issues(first: 100, after: $after) {
      pageInfo { endCursor } nodes { key subtasks { key } links { type } } } }"""
    after = None
    for _ in range(3):
        page = api.alice.query(query, {"after": after})["data"]["issues"]
        for node in page["nodes"]:
            if node["subtasks"] and node["links"]:
                return str(node["key"])
        after = page["pageInfo"]["endCursor"]
    pytest.skip("no seeded issue with both subtasks and links")


def test_one_issue_with_comments_changelog_subtasks_and_links_costs_at_most_four(
    api: Api,
) -> None:
    key = _issue_with_subtasks_and_links(api)
    api.clear_cache()
    reset_calls(api.sandbox)
    result = api.alice.query(ISSUE_QUERY, {"key": key})
    assert "errors" not in result, result
    issue = result["data"]["issue"]
    assert issue["key"] == key
    assert issue["subtasks"]
    assert issue["links"]
    assert all(link["issue"]["key"] for link in issue["links"])
    assert issue["changelog"]["nodes"]
    assert total_calls(api.sandbox) <= 4, jira_calls(api.sandbox)


def test_bob_cannot_read_a_hidden_issue_cold_or_after_alice_cached_it(api: Api) -> None:
    # bob sees ALPHA and BETA only (sandbox seed); GAMMA is hidden from him.
    hidden = api.alice.query('{ issues(first: 1, jql: "project = GAMMA") { nodes { key } } }')
    key = hidden["data"]["issues"]["nodes"][0]["key"]
    query = "query($key: String!) { issue(key: $key) { key summary } }"
    api.clear_cache()
    cold = api.bob.query(query, {"key": key})
    assert cold["data"]["issue"] is None
    assert cold["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert api.alice.query(query, {"key": key})["data"]["issue"]["key"] == key
    warm = api.bob.query(query, {"key": key})
    assert warm["data"]["issue"] is None
    assert warm["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    missing = api.bob.query(query, {"key": "ALPHA-99999"})
    assert (
        missing["errors"][0]["message"].replace("ALPHA-99999", key) == warm["errors"][0]["message"]
    )
    # Nor through a search, nor through the response cache of alice's identical search.
    search = f'{{ issues(jql: "key = {key}") {{ nodes {{ key }} }} }}'
    assert api.alice.query(search)["data"]["issues"]["nodes"]
    assert api.bob.query(search)["data"]["issues"]["nodes"] == []


def test_walking_every_page_returns_each_issue_once_in_a_stable_order(api: Api) -> None:
    query = """query($after: String) { issues(first: 100, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } nodes { key } } }"""

    def walk() -> list[str]:
        keys: list[str] = []
        after = None
        for _ in range(10):
            page = api.alice.query(query, {"after": after})["data"]["issues"]
            keys += [n["key"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                return keys
            after = page["pageInfo"]["endCursor"]
        raise AssertionError("more than 10 pages")

    first = walk()
    assert len(first) == 300 == len(set(first))
    api.clear_cache()
    assert walk() == first


def test_mid_page_cursors_continue_after_their_issue(api: Api) -> None:
    query = """query($after: String) { issues(first: 7, after: $after) {
      pageInfo { endCursor } edges { cursor node { key } } } }"""
    everything = [
        e["node"]["key"]
        for e in api.alice.query(query.replace("first: 7", "first: 30"))["data"]["issues"]["edges"]
    ]
    page = api.alice.query(query)["data"]["issues"]["edges"]
    resumed = api.alice.query(query, {"after": page[2]["cursor"]})["data"]["issues"]
    keys = [e["node"]["key"] for e in resumed["edges"]]
    # The rest of the 7-issue page (a short page), then the next page from endCursor.
    assert keys == everything[3:7]
    rest = api.alice.query(query, {"after": resumed["pageInfo"]["endCursor"]})["data"]["issues"]
    assert [e["node"]["key"] for e in rest["edges"]] == everything[7:14]


def test_node_resolves_an_issue_by_its_global_id(api: Api) -> None:
    first = api.alice.query("{ issues(first: 1) { nodes { id key } } }")["data"]["issues"]
    node = first["nodes"][0]
    again = api.alice.query(
        "query($id: ID!) { node(id: $id) { id ... on Issue { key } } }", {"id": node["id"]}
    )
    assert again["data"]["node"] == node
