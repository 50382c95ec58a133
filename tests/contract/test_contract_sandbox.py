"""Contract: every endpoint the sandbox JIRA implements answers as the official OpenAPI specs say.

Drives the sandbox over real HTTP on both flavors (cloud: ``/rest/api/3`` and ``/rest/api/2``;
server: ``/rest/api/2``) as alice (sees everything), bob (two of four projects) and erin (no
edit permission), including error answers, pagination, expands and writes; every response is
validated by ``ContractClient`` against the v3 or v2 spec. Each test asserts that its own
responses have no violations; the session summary (conftest) prints the totals.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.contract.contract_client import APIS, ContractClient, ContractLog

EXPANDS = "renderedFields,names,schema,changelog"
UI_FIELDS = "summary,status,assignee,reporter,priority,issuetype,created,updated"


@pytest.fixture(scope="module")
def targets(clients: dict[str, ContractClient]) -> dict[str, dict[str, Any]]:
    """Issues worth testing on each flavor, found through the API (and validated on the way)."""
    return {flavor: _discover(client) for flavor, client in clients.items()}


def _all_issues(client: ContractClient, fields: str) -> list[dict[str, Any]]:
    """Every issue alice sees, walking the flavor's search pagination to the end."""
    issues: list[dict[str, Any]] = []
    if client.flavor == "cloud":
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "jql": "order by key",
                "fields": fields.split(","),
                "maxResults": 100,
            }
            if token:
                body["nextPageToken"] = token
            page = client.call("POST", "/rest/api/3/search/jql", json=body).json()
            issues += page["issues"]
            token = page.get("nextPageToken")
            if page["isLast"]:
                return issues
    start = 0
    while True:
        params = {"jql": "order by key", "fields": fields, "startAt": start, "maxResults": 100}
        page = client.call("GET", "/rest/api/2/search", params=params).json()
        issues += page["issues"]
        start += len(page["issues"])
        if start >= page["total"] or not page["issues"]:
            return issues


def _discover(client: ContractClient) -> dict[str, Any]:
    issues = _all_issues(client, "project,issuetype,parent,comment,attachment,subtasks")
    by_project: dict[str, list[dict[str, Any]]] = {}
    for issue in issues:
        by_project.setdefault(issue["fields"]["project"]["key"], []).append(issue)
    bob_projects = {p["key"] for p in client.call("GET", "/rest/api/2/project", user="bob").json()}
    hidden = next(i for k, v in by_project.items() if k not in bob_projects for i in v)
    shared = by_project[sorted(bob_projects)[0]]
    busiest = max(issues, key=lambda i: i["fields"]["comment"]["total"])
    with_attachment = next(i for i in issues if i["fields"]["attachment"])
    subtask = next(i for i in issues if i["fields"]["issuetype"]["subtask"])
    epic = next(i for i in issues if i["fields"]["issuetype"]["name"] == "Epic")
    return {
        "keys": [i["key"] for i in issues],
        "hidden_from_bob": hidden["key"],
        "hidden_project": hidden["fields"]["project"]["key"],
        "shared": shared[0]["key"],
        "shared_project": sorted(bob_projects)[0],
        "busiest": busiest["key"],
        "attachment": with_attachment["fields"]["attachment"][0],
        "attachment_issue": with_attachment["key"],
        "subtask": subtask["key"],
        "epic": epic["key"],
        "quiet": next(i["key"] for i in issues if i["fields"]["comment"]["total"] == 0),
    }


def _assert_clean(log: ContractLog, since: int) -> None:
    problems = [p for check in log.checks[since:] for p in check.problems]
    assert not problems, "\n".join(problems[:60])


@pytest.mark.parametrize(("flavor", "api"), APIS)
def test_contract_reference_endpoints(
    clients: dict[str, ContractClient], contract_log: ContractLog, flavor: str, api: str
) -> None:
    client, base, since = clients[flavor], f"/rest/api/{api}", len(contract_log.checks)
    client.call("GET", f"{base}/myself")
    client.call("GET", f"{base}/myself", user="bob")
    client.call("GET", f"{base}/serverInfo", user=None)
    client.call("GET", f"{base}/serverInfo")
    for resource in ("status", "statuscategory", "priority", "issuetype", "field", "resolution"):
        answer = client.call("GET", f"{base}/{resource}")
        assert answer.json(), resource
    projects = client.call("GET", f"{base}/project").json()
    assert len(projects) == 4
    for project in projects:
        client.call("GET", f"{base}/project/{project['key']}")
    client.call("GET", f"{base}/project/{projects[0]['id']}", user="alice")
    client.call("GET", f"{base}/project", user="bob")
    if flavor == "cloud":
        page = client.call("GET", f"{base}/project/search", params={"maxResults": 3}).json()
        assert not page["isLast"]
        client.call("GET", f"{base}/project/search", params={"startAt": 3, "maxResults": 3})
        client.call("GET", f"{base}/project/search", params={"query": "alp"}, user="bob")
    if flavor == "server":
        client.call("GET", f"{base}/myself", pat=True)
    _assert_clean(contract_log, since)


@pytest.mark.parametrize(("flavor", "api"), APIS)
def test_contract_users(
    clients: dict[str, ContractClient], contract_log: ContractLog, flavor: str, api: str
) -> None:
    client, base, since = clients[flavor], f"/rest/api/{api}", len(contract_log.checks)
    me = client.call("GET", f"{base}/myself").json()
    found = client.call(
        "GET", f"{base}/user/search", params={"query" if flavor == "cloud" else "username": "o"}
    ).json()
    assert found
    if flavor == "cloud":
        ids = [u["accountId"] for u in found]
        client.call("GET", f"{base}/user", params={"accountId": me["accountId"]})
        client.call("GET", f"{base}/user", params={"accountId": "000000:missing"}, expect=404)
        client.call("GET", f"{base}/user", expect=400)
        client.call("GET", f"{base}/user/bulk", params={"accountId": ids, "maxResults": 2})
        client.call("GET", f"{base}/user/bulk", params={"accountId": ids, "startAt": 2})
        client.call("GET", f"{base}/user/search", params={"query": "olivia"})  # hidden email
    else:
        client.call("GET", f"{base}/user", params={"username": me["name"]})
        client.call("GET", f"{base}/user", params={"key": me["key"]})
        client.call("GET", f"{base}/user", params={"username": "nobody"}, expect=404)
        client.call("GET", f"{base}/user/search", params={"username": "mallory"})  # inactive
        client.call("GET", f"{base}/user/search", expect=400)
    _assert_clean(contract_log, since)


@pytest.mark.parametrize(("flavor", "api"), APIS)
def test_contract_search(
    clients: dict[str, ContractClient],
    targets: dict[str, dict[str, Any]],
    contract_log: ContractLog,
    flavor: str,
    api: str,
) -> None:
    client, base, since = clients[flavor], f"/rest/api/{api}", len(contract_log.checks)
    target = targets[flavor]
    if flavor == "cloud":
        url = f"{base}/search/jql"
        first = client.call(
            "GET", url, params={"jql": "order by key", "maxResults": 40, "fields": UI_FIELDS}
        ).json()
        assert first["nextPageToken"]
        client.call(
            "GET",
            url,
            params={
                "jql": "order by key",
                "maxResults": 40,
                "nextPageToken": first["nextPageToken"],
            },
        )
        client.call("GET", url, params={"jql": f"project = {target['shared_project']}"})
        client.call(
            "POST",
            url,
            json={
                "jql": "order by created DESC",
                "fields": ["*all"],
                "expand": EXPANDS,
                "maxResults": 5,
            },
        )
        client.call(
            "POST",
            url,
            json={"jql": "order by created DESC", "fields": ["key"], "maxResults": 5000},
        )
        client.call(
            "POST",
            url,
            json={"jql": "assignee = currentUser()", "fields": ["*navigable"]},
            user="bob",
        )
        client.call("POST", url, json={"jql": "status = "}, expect=400)
        client.call("GET", url, params={"jql": "foo = bar"}, expect=400)
        client.call("GET", url, params={"nextPageToken": "garbage"}, expect=400)
        client.call("POST", url, json={"jql": "order by key"}, user=None, expect=401)
        for method in ("GET", "POST"):
            client.call(method, f"{base}/search", params={"jql": "order by key"}, expect=410)
        if api == "3":
            count = client.call(
                "POST", f"{base}/search/approximate-count", json={"jql": "order by created DESC"}
            ).json()
            assert count["count"] == len(target["keys"])
            client.call(
                "POST", f"{base}/search/approximate-count", json={"jql": "project = "}, expect=400
            )
    else:
        url = f"{base}/search"
        client.call(
            "GET",
            url,
            params={"jql": "order by key", "fields": UI_FIELDS, "maxResults": 40, "startAt": 40},
        )
        client.call(
            "POST",
            url,
            json={
                "jql": "order by created DESC",
                "fields": ["*all"],
                "expand": EXPANDS.split(","),
                "maxResults": 5,
            },
        )
        client.call("POST", url, json={"jql": "order by key"}, user="bob")
        client.call("GET", url, params={"jql": "order by key"}, pat=True, user="bob")
        client.call("GET", url, params={"jql": "status = "}, expect=400)
        client.call("POST", url, json={"jql": "foo = bar"}, expect=400)
        client.call("GET", url, params={"jql": "order by key"}, user=None, expect=401)
    _assert_clean(contract_log, since)


@pytest.mark.parametrize(("flavor", "api"), APIS)
def test_contract_issue_reads(
    clients: dict[str, ContractClient],
    targets: dict[str, dict[str, Any]],
    contract_log: ContractLog,
    flavor: str,
    api: str,
) -> None:
    client, base, since = clients[flavor], f"/rest/api/{api}", len(contract_log.checks)
    t = targets[flavor]
    for key in (t["busiest"], t["subtask"], t["epic"], t["attachment_issue"], t["quiet"]):
        client.call("GET", f"{base}/issue/{key}")
        client.call("GET", f"{base}/issue/{key}", params={"fields": "*all", "expand": EXPANDS})
    client.call(
        "GET",
        f"{base}/issue/{t['busiest']}",
        params={"fields": "*navigable,-description", "expand": "transitions,names"},
    )
    client.call("GET", f"{base}/issue/{t['busiest']}", params={"fields": "summary,comment"})
    client.call("GET", f"{base}/issue/{t['shared']}", user="bob", params={"expand": EXPANDS})
    client.call("GET", f"{base}/issue/{t['hidden_from_bob']}", user="bob", expect=404)
    client.call("GET", f"{base}/issue/NOPE-1", expect=404)
    client.call("GET", f"{base}/issue/{t['busiest']}", user=None, expect=401)
    client.call("GET", f"{base}/issue/{t['busiest']}/transitions")
    client.call("GET", f"{base}/issue/{t['hidden_from_bob']}/transitions", user="bob", expect=404)
    comments = f"{base}/issue/{t['busiest']}/comment"
    page = client.call("GET", comments, params={"startAt": 0, "maxResults": 10}).json()
    assert page["total"] > 10
    client.call("GET", comments, params={"startAt": 10, "maxResults": 10, "orderBy": "-created"})
    client.call("GET", f"{base}/issue/{t['quiet']}/comment")
    client.call("GET", f"{comments}/{page['comments'][0]['id']}")
    client.call("GET", f"{comments}/999999999", expect=404)
    client.call("GET", f"{base}/issue/{t['hidden_from_bob']}/comment", user="bob", expect=404)
    attachment = t["attachment"]
    client.call("GET", f"{base}/attachment/{attachment['id']}")
    client.call("GET", f"{base}/attachment/999999999", expect=404)
    content = client.call("GET", httpx.URL(attachment["content"]).path)
    assert len(content.content) == attachment["size"]
    if flavor == "cloud":
        changelog = f"{base}/issue/{t['busiest']}/changelog"
        first = client.call("GET", changelog, params={"maxResults": 2}).json()
        client.call("GET", changelog, params={"startAt": 2, "maxResults": 2})
        assert first["values"]
        client.call("GET", f"{base}/issue/{t['hidden_from_bob']}/changelog", user="bob", expect=404)
        client.call("GET", f"{base}/attachment/content/{attachment['id']}")
        client.call(
            "POST",
            f"{base}/changelog/bulkfetch",
            json={"issueIdsOrKeys": t["keys"][:5], "maxResults": 3},
        )
        client.call("POST", f"{base}/changelog/bulkfetch", json={"issueIdsOrKeys": []}, expect=400)
        bulk = f"{base}/issue/bulkfetch"
        client.call(
            "POST",
            bulk,
            json={
                "issueIdsOrKeys": t["keys"][:10],
                "fields": UI_FIELDS.split(","),
                "expand": EXPANDS,
            },
        )
        client.call(
            "POST", bulk, json={"issueIdsOrKeys": [t["hidden_from_bob"], t["shared"]]}, user="bob"
        )
        client.call("POST", bulk, json={"issueIdsOrKeys": []}, expect=400)
    _assert_clean(contract_log, since)


@pytest.mark.parametrize(("flavor", "api"), APIS)
def test_contract_jql_endpoints(
    clients: dict[str, ContractClient], contract_log: ContractLog, flavor: str, api: str
) -> None:
    client, base, since = clients[flavor], f"/rest/api/{api}/jql", len(contract_log.checks)
    client.call("GET", f"{base}/autocompletedata")
    for name, value in (("project", "a"), ("status", ""), ("assignee", "al"), ("labels", "")):
        client.call(
            "GET",
            f"{base}/autocompletedata/suggestions",
            params={"fieldName": name, "fieldValue": value},
        )
    parsed = client.call(
        "POST",
        f"{base}/parse",
        json={
            "queries": [
                "project = ALPHA AND status in (Done, 'In Progress') ORDER BY created DESC",
                "assignee = currentUser() OR NOT labels is EMPTY",
                'summary ~ "login*" and created >= -7d and updated < startOfDay()',
                "status = ",
                "foo = bar",
            ]
        },
    ).json()
    assert [("errors" in q) for q in parsed["queries"]] == [False, False, False, True, True]
    client.call("POST", f"{base}/parse", json={"queries": "not a list"}, expect=400)
    client.call("POST", f"{base}/parse", json={"queries": ["order by key"]}, user=None, expect=401)
    _assert_clean(contract_log, since)


@pytest.mark.parametrize(("flavor", "api"), APIS)
def test_contract_writes(
    clients: dict[str, ContractClient],
    targets: dict[str, dict[str, Any]],
    contract_log: ContractLog,
    flavor: str,
    api: str,
) -> None:
    client, base, since = clients[flavor], f"/rest/api/{api}", len(contract_log.checks)
    t = targets[flavor]
    key = t["shared"]
    text: Any = "Edited *by* the contract test"
    if api == "3":
        text = {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Edited by the test"}]}
            ],
        }
    try:
        client.call(
            "PUT",
            f"{base}/issue/{key}",
            expect=204,
            json={
                "fields": {
                    "summary": "Contract edit",
                    "description": text,
                    "duedate": "2030-01-31",
                    "priority": {"name": "High"},
                    "customfield_10016": 8,
                },
                "update": {"labels": [{"add": "contract"}, {"remove": "nonexistent"}]},
            },
        )
        client.call("PUT", f"{base}/issue/{key}", json={"fields": {"summary": ""}}, expect=400)
        client.call(
            "PUT", f"{base}/issue/{key}", json={"fields": {"summary": "x"}}, user="erin", expect=403
        )
        client.call(
            "PUT",
            f"{base}/issue/{t['hidden_from_bob']}",
            user="bob",
            expect=404,
            json={"fields": {"summary": "x"}},
        )
        transitions = client.call("GET", f"{base}/issue/{key}/transitions").json()
        chosen = transitions["transitions"][0]["id"]
        client.call(
            "POST",
            f"{base}/issue/{key}/transitions",
            expect=204,
            json={"transition": {"id": chosen}},
        )
        client.call(
            "POST",
            f"{base}/issue/{key}/transitions",
            expect=400,
            json={"transition": {"id": "999999"}},
        )
        client.call("GET", f"{base}/issue/{key}", params={"expand": EXPANDS, "fields": "*all"})
        comments = f"{base}/issue/{key}/comment"
        created = client.call("POST", comments, json={"body": text}, expect=201).json()
        client.call("POST", comments, json={"nobody": 1}, expect=400)
        client.call("PUT", f"{comments}/{created['id']}", json={"body": text})
        client.call(
            "PUT", f"{comments}/{created['id']}", json={"body": text}, user="bob", expect=403
        )
        client.call("GET", f"{comments}/{created['id']}")
        client.call("DELETE", f"{comments}/{created['id']}", expect=204)
        client.call("DELETE", f"{comments}/{created['id']}", expect=404)
        if flavor == "cloud":
            client.call("GET", f"{base}/issue/{key}/changelog")
    finally:
        reset = client.http.post("/_sandbox/reset")
        assert reset.status_code == 200
    _assert_clean(contract_log, since)
