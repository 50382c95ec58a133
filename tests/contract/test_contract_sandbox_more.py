"""Contract, continued: webhook registration, the second site, and the session total.

Runs after ``test_contract_sandbox.py`` (file order), so ``test_contract_totals`` sees every
response the contract tests checked.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.contract.contract_client import APIS, ContractClient, ContractLog

EXPANDS = "renderedFields,names,schema,changelog"


def _assert_clean(log: ContractLog, since: int) -> None:
    problems = [p for check in log.checks[since:] for p in check.problems]
    assert not problems, "\n".join(problems[:60])


@pytest.mark.parametrize(("flavor", "api"), APIS)
def test_contract_webhooks(
    clients: dict[str, ContractClient], contract_log: ContractLog, flavor: str, api: str
) -> None:
    client, since = clients[flavor], len(contract_log.checks)
    admin = "/rest/webhooks/1.0/webhook"
    created = client.call(
        "POST",
        admin,
        expect=201,
        json={
            "name": "contract",
            "url": "http://127.0.0.1:9/hook",
            "events": ["jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = ALPHA"},
        },
    )
    client.call("GET", admin)
    client.call("GET", admin, user="bob", expect=403)
    if created.status_code == 201:
        client.call("DELETE", httpx.URL(created.json()["self"]).path, expect=204)
    if flavor == "cloud":
        base = f"/rest/api/{api}/webhook"
        registered = client.call(
            "POST",
            base,
            json={
                "url": "http://127.0.0.1:9/dyn",
                "webhooks": [
                    {"events": ["jira:issue_created"], "jqlFilter": "project = ALPHA"},
                    {"events": ["no:such_event"], "jqlFilter": "project = ALPHA"},
                ],
            },
        ).json()
        ids = [
            r["createdWebhookId"]
            for r in registered["webhookRegistrationResult"]
            if "createdWebhookId" in r
        ]
        client.call("GET", base)
        client.call("PUT", f"{base}/refresh", json={"webhookIds": ids})
        client.call("DELETE", base, json={"webhookIds": ids}, expect=202)
        client.call("POST", base, json={"url": "not a url", "webhooks": []}, expect=400)
    _assert_clean(contract_log, since)


@pytest.mark.parametrize("flavor", ["cloud", "server"])
def test_contract_second_site(sandbox_factory: Any, contract_log: ContractLog, flavor: str) -> None:
    """Site b (carol's tenant; DataCenter on the server flavor) answers in the same shapes."""
    since = len(contract_log.checks)
    client = ContractClient(sandbox_factory(flavor=flavor, site="b").base_url, flavor, contract_log)
    try:
        for api in ("3", "2") if flavor == "cloud" else ("2",):
            base = f"/rest/api/{api}"
            client.call("GET", f"{base}/myself", user="carol")
            client.call("GET", f"{base}/serverInfo", user=None)
            client.call("GET", f"{base}/project", user="victor")
            client.call("GET", f"{base}/myself", user="alice", expect=401)  # not on this site
        if flavor == "cloud":
            page = client.call(
                "POST",
                "/rest/api/3/search/jql",
                user="carol",
                json={"jql": "order by key", "fields": ["*navigable"], "maxResults": 20},
            ).json()
            key = page["issues"][0]["key"]
        else:
            page = client.call(
                "GET",
                "/rest/api/2/search",
                user="carol",
                params={"jql": "order by key", "maxResults": 20},
            ).json()
            key = page["issues"][0]["key"]
        client.call("GET", f"/rest/api/2/issue/{key}", user="carol", params={"expand": EXPANDS})
    finally:
        client.close()
    _assert_clean(contract_log, since)


def test_contract_totals(contract_log: ContractLog) -> None:
    """Runs last in this module: the whole session's checks, with 0 violations."""
    print(contract_log.summary())  # visible with -s; the conftest summary shows it always
    assert contract_log.checks, "no responses were checked"
    assert not contract_log.violations(), "\n".join(contract_log.violations()[:80])
