"""Sandbox endpoints over real HTTP: auth, permissions, search in both flavors, pagination."""

from __future__ import annotations

import httpx
import pytest

ALICE = ("alice@example.com", "alice-token")
BOB = ("bob@example.com", "bob-token")
MISSING = {
    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
    "errors": {},
}


def _client(server, auth=ALICE) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, auth=auth, timeout=30)


def _hidden_from_bob(client: httpx.Client) -> str:
    """A key in a project alice sees and bob does not."""
    bob_projects = {p["key"] for p in client.get("/rest/api/3/project", auth=BOB).json()}
    all_projects = {p["key"] for p in client.get("/rest/api/3/project").json()}
    hidden = sorted(all_projects - bob_projects)[0]
    page = client.post("/rest/api/3/search/jql", json={"jql": f"project = {hidden}"}).json()
    return page["issues"][0]["key"]


def test_cloud_auth(cloud_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        me = client.get("/rest/api/3/myself").json()
        assert me["emailAddress"] == "alice@example.com"
        assert "accountId" in me
        for auth in [
            None,
            ("alice@example.com", "wrong"),
            ("alice", "alice-token"),
            ("mallory@example.com", "mallory-token"),
        ]:
            res = (
                client.get("/rest/api/3/myself", auth=auth)
                if auth
                else httpx.get(cloud_sandbox.base_url + "/rest/api/3/myself")
            )
            assert res.status_code == 401
            assert res.json()["errorMessages"]
        info = httpx.get(cloud_sandbox.base_url + "/rest/api/3/serverInfo").json()
        assert info["deploymentType"] == "Cloud"


def test_server_auth_basic_email_and_pat(server_sandbox) -> None:
    with _client(server_sandbox, auth=("alice", "alice-token")) as client:
        assert client.get("/rest/api/2/myself").json()["name"] == "alice"
        by_email = client.get("/rest/api/2/myself", auth=ALICE)
        assert by_email.json()["key"].startswith("JIRAUSER")
        pat = client.get(
            "/rest/api/2/myself", headers={"Authorization": "Bearer bob-pat"}, auth=None
        )
        assert pat.json()["name"] == "bob"
        bad = client.get("/rest/api/2/myself", headers={"Authorization": "Bearer nope"}, auth=None)
        assert bad.status_code == 401
        assert client.get("/rest/api/3/myself").status_code == 404  # no v3 on Server
        assert client.get("/rest/api/2/serverInfo").json()["deploymentType"] in {
            "Server",
            "DataCenter",
        }


def test_hidden_issue_is_404_and_absent_from_search(cloud_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        key = _hidden_from_bob(client)
        project = key.split("-")[0]
        res = client.get(f"/rest/api/3/issue/{key}", auth=BOB)
        assert res.status_code == 404
        assert res.json() == MISSING
        assert client.get(f"/rest/api/3/issue/{key}").status_code == 200
        page = client.post(
            "/rest/api/3/search/jql",
            auth=BOB,
            json={"jql": "", "fields": ["key"], "maxResults": 5000},
        ).json()
        assert page["issues"]
        assert all(not i["key"].startswith(project + "-") for i in page["issues"])
        res = client.post("/rest/api/3/search/jql", auth=BOB, json={"jql": f"project = {project}"})
        assert res.status_code == 400
        assert client.get(f"/rest/api/3/project/{project}", auth=BOB).status_code == 404
        bulk = client.post(
            "/rest/api/3/issue/bulkfetch",
            auth=BOB,
            json={"issueIdsOrKeys": [key], "fields": ["summary"]},
        ).json()
        assert bulk["issues"] == []


def test_old_cloud_search_is_gone(cloud_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        for api in ("2", "3"):
            res = client.get(f"/rest/api/{api}/search", params={"jql": "order by key"})
            assert res.status_code == 410
            assert "/rest/api/3/search/jql" in res.json()["errorMessages"][0]
            assert client.post(f"/rest/api/{api}/search", json={}).status_code == 410


def test_bad_jql_is_400_with_jira_shape(cloud_sandbox, server_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        res = client.post("/rest/api/3/search/jql", json={"jql": "project = ALPHA AND foo bar"})
        assert res.status_code == 400
        assert res.json()["errors"] == {}
        assert res.json()["errorMessages"][0].startswith("Error in the JQL Query")
    with _client(server_sandbox) as client:
        res = client.get("/rest/api/2/search", params={"jql": "status ~ Done"})
        assert res.status_code == 400
        assert res.json()["errorMessages"]


@pytest.mark.parametrize("size", [1, 37, 100])
def test_cloud_pagination_walks_every_issue_once(cloud_sandbox, size: int) -> None:
    with _client(cloud_sandbox) as client:
        jql = "project in (ALPHA, BETA) ORDER BY created ASC"
        expected = client.post("/rest/api/3/search/approximate-count", json={"jql": jql}).json()
        seen: list[str] = []
        token = None
        while True:
            body = {"jql": jql, "maxResults": size, "fields": ["summary", "created"]}
            if token:
                body["nextPageToken"] = token
            page = client.post("/rest/api/3/search/jql", json=body).json()
            assert "total" not in page
            seen += [i["key"] for i in page["issues"]]
            assert all(set(i["fields"]) == {"summary", "created"} for i in page["issues"])
            if page["isLast"]:
                assert "nextPageToken" not in page
                break
            token = page["nextPageToken"]
        assert len(seen) == len(set(seen)) == expected["count"] > 0


def test_cloud_search_defaults_and_limits(cloud_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        page = client.get("/rest/api/3/search/jql", params={"jql": "order by created DESC"}).json()
        assert len(page["issues"]) == 50
        assert all("fields" not in i and i["id"].isdigit() for i in page["issues"])
        big = client.post(
            "/rest/api/3/search/jql", json={"jql": "", "maxResults": 1000, "fields": ["summary"]}
        ).json()
        assert len(big["issues"]) == 100
        ids = client.post(
            "/rest/api/3/search/jql", json={"jql": "", "maxResults": 1000, "fields": ["id"]}
        ).json()
        assert len(ids["issues"]) == 300
        assert ids["isLast"]


def test_server_pagination_walks_every_issue_once(server_sandbox) -> None:
    with _client(server_sandbox, auth=("bob", "bob-token")) as client:
        seen: list[str] = []
        start, total = 0, None
        while total is None or start < total:
            page = client.get(
                "/rest/api/2/search",
                params={"jql": "ORDER BY key ASC", "startAt": start, "maxResults": 40},
            ).json()
            total = page["total"]
            assert page["startAt"] == start
            seen += [i["key"] for i in page["issues"]]
            assert "summary" in page["issues"][0]["fields"]  # *navigable by default
            assert "comment" not in page["issues"][0]["fields"]
            start += 40
        assert len(seen) == len(set(seen)) == total > 0
        assert {k.split("-")[0] for k in seen} == {"ALPHA", "BETA"}


def test_issue_shapes_per_api(cloud_sandbox, server_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        v3 = client.get(
            "/rest/api/3/issue/ALPHA-2", params={"expand": "names,schema,changelog,renderedFields"}
        ).json()
        v2 = client.get("/rest/api/2/issue/ALPHA-2").json()
        assert v3["key"] == v2["key"] == "ALPHA-2"
        assert isinstance(v3["id"], str)
        desc3, desc2 = v3["fields"]["description"], v2["fields"]["description"]
        if desc3 is not None:
            assert desc3["type"] == "doc"
            assert isinstance(desc2, str)
            assert isinstance(v3["renderedFields"]["description"], str)
        assert v3["fields"]["created"][-5:] == "+0000"
        assert v3["names"]["customfield_10016"]
        assert "changelog" in v3
        assert "assignee" in v3["fields"]
        assert "resolution" in v3["fields"]
        comment = v3["fields"]["comment"]
        assert len(comment["comments"]) == min(comment["total"], 20)
        only = client.get("/rest/api/3/issue/ALPHA-2", params={"fields": "*all,-comment"}).json()
        assert "comment" not in only["fields"]
        assert "summary" in only["fields"]
    with _client(server_sandbox) as client:
        issue = client.get("/rest/api/2/issue/ALPHA-2").json()
        reporter = issue["fields"]["reporter"]
        assert "name" in reporter
        assert "accountId" not in reporter


def test_sprint_field_shapes(cloud_sandbox, server_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        page = client.post(
            "/rest/api/3/search/jql",
            json={"jql": "", "maxResults": 100, "fields": ["customfield_10020"]},
        ).json()
        sprints = [
            i["fields"]["customfield_10020"]
            for i in page["issues"]
            if i["fields"]["customfield_10020"]
        ]
        assert sprints
        assert isinstance(sprints[0][0]["id"], int)
    with _client(server_sandbox) as client:
        page = client.get(
            "/rest/api/2/search",
            params={"jql": "", "fields": "customfield_10020", "maxResults": 100},
        ).json()
        sprints = [
            i["fields"]["customfield_10020"]
            for i in page["issues"]
            if i["fields"]["customfield_10020"]
        ]
        assert sprints[0][0].startswith("com.atlassian.greenhopper.service.sprint.Sprint@")


def test_attachment_metadata_and_content(cloud_sandbox, server_sandbox) -> None:
    for server, api in ((cloud_sandbox, "3"), (server_sandbox, "2")):
        with _client(server) as client:
            page = client.post(
                f"/rest/api/{api}/search/jql" if api == "3" else "/rest/api/2/search",
                json={"jql": "", "maxResults": 100, "fields": ["attachment"]},
            )
            atts = [a for i in page.json()["issues"] for a in i["fields"]["attachment"]]
            assert atts
            meta = client.get(f"/rest/api/{api}/attachment/{atts[0]['id']}").json()
            # AttachmentMetadata.id is an int64; the issue's `fields.attachment[].id` a string
            assert isinstance(meta["id"], int)
            assert isinstance(atts[0]["id"], str)
            assert meta == {**atts[0], "id": int(atts[0]["id"])}
            content = client.get(meta["content"])
            assert content.status_code == 200
            assert content.headers["content-type"].startswith(meta["mimeType"])
            assert len(content.content) == meta["size"]


def test_users_and_reference_data(cloud_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        users = client.get("/rest/api/3/user/search", params={"query": "o"}).json()
        assert users
        hidden = client.get("/rest/api/3/user/search", params={"query": "olivia"}).json()
        assert hidden
        assert "emailAddress" not in hidden[0]
        one = client.get("/rest/api/3/user", params={"accountId": users[0]["accountId"]}).json()
        assert one == users[0]
        bulk = client.get(
            "/rest/api/3/user/bulk", params=[("accountId", u["accountId"]) for u in users]
        ).json()
        assert bulk["total"] == len(users)
        assert bulk["isLast"]
        assert client.get("/rest/api/3/user", params={"accountId": "nope"}).status_code == 404
        statuses = client.get("/rest/api/3/status").json()
        assert {s["statusCategory"]["key"] for s in statuses} == {"new", "indeterminate", "done"}
        fields = {f["id"] for f in client.get("/rest/api/3/field").json()}
        assert {"customfield_10016", "customfield_10020", "customfield_10040"} <= fields
        types = client.get("/rest/api/3/issuetype").json()
        assert any(t["subtask"] for t in types)
        assert all("hierarchyLevel" in t for t in types)
        assert len(client.get("/rest/api/3/priority").json()) == 5
        search = client.get("/rest/api/3/project/search", params={"maxResults": 3}).json()
        assert not search["isLast"]
        assert "nextPage" in search


def test_jql_helper_endpoints(cloud_sandbox) -> None:
    with _client(cloud_sandbox) as client:
        data = client.get("/rest/api/3/jql/autocompletedata").json()
        assert data["visibleFieldNames"]
        assert data["jqlReservedWords"]
        sug = client.get(
            "/rest/api/3/jql/autocompletedata/suggestions",
            params={"fieldName": "status", "fieldValue": "in"},
        ).json()
        assert {r["value"] for r in sug["results"]} == {"In Progress", "In Review"}
        parsed = client.post(
            "/rest/api/3/jql/parse", json={"queries": ["project = ALPHA", "project = "]}
        ).json()
        assert "structure" in parsed["queries"][0]
        assert parsed["queries"][1]["errors"]


def test_site_b_has_carol(sandbox_factory) -> None:
    server = sandbox_factory(flavor="cloud", issues=60, site="b")
    with _client(server, auth=("carol@example.com", "carol-token")) as client:
        assert client.get("/rest/api/3/myself").json()["displayName"].startswith("Carol")
        assert client.get("/rest/api/3/myself", auth=ALICE).status_code == 401


def test_calls_are_counted_by_the_control_middleware(sandbox_factory) -> None:
    server = sandbox_factory(flavor="cloud", issues=50, seed=3)
    with _client(server) as client:
        client.post("/_sandbox/calls/reset")
        client.get("/rest/api/3/issue/ALPHA-1")
        client.get("/rest/api/3/issue/ALPHA-2")
        calls = client.get("/_sandbox/calls").json()
        assert calls["total"] == 2
        assert calls["by_endpoint"] == {"GET /rest/api/3/issue/{key}": 2}


def test_parent_is_omitted_not_null_without_a_parent(cloud_sandbox, server_sandbox) -> None:
    """Real JIRA leaves `fields.parent` out when there is none (never `null`)."""
    for server, api in ((cloud_sandbox, "3"), (server_sandbox, "2")):
        store = server.app.state.store
        with _client(server) as client:
            page = client.post(
                f"/rest/api/{api}/search/jql" if api == "3" else "/rest/api/2/search",
                json={"jql": "project = ALPHA", "maxResults": 100, "fields": ["parent", "summary"]},
            ).json()
            with_parent = {i["key"] for i in page["issues"] if "parent" in i["fields"]}
            expected = {i["key"] for i in page["issues"] if store.issues[i["key"]].parent_key}
            assert with_parent == expected
            assert expected  # the seed has sub-tasks and epic children in ALPHA
            assert len(expected) < len(page["issues"])
            assert all(i["fields"].get("parent", {}) is not None for i in page["issues"])
            orphan = next(i["key"] for i in page["issues"] if i["key"] not in expected)
            one = client.get(f"/rest/api/{api}/issue/{orphan}").json()
            assert "parent" not in one["fields"]
            assert "summary" in one["fields"]
