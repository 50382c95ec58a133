"""Helpers for API tests: a gateway over real HTTP in front of a sandbox JIRA, signed-in users,
and the sandbox's JIRA call counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.app import create_app
from gateway.config import load_settings
from gateway.db.migrate import upgrade
from tests.support import RunningServer, serve_in_thread


@contextmanager
def running_gateway(tmp_path: Path, **overrides: Any) -> Iterator[RunningServer]:
    """The gateway app (embedded mode, SQLite in ``tmp_path``) served by uvicorn."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}"
    upgrade(url)
    settings = load_settings(
        database_url=url, var_dir=tmp_path, allow_insecure_sites=True, **overrides
    )
    server = serve_in_thread(create_app(settings))
    try:
        yield server
    finally:
        server.stop()


@dataclass
class ApiUser:
    """A signed-in user of a gateway: posts GraphQL with its bearer token."""

    gateway: RunningServer
    token: str
    site_id: str
    # No keep-alive: the test servers stop between modules, and a pooled socket to a stopped
    # server is an unclosed-socket ResourceWarning (an error under -W error).
    http: httpx.Client = field(
        default_factory=lambda: httpx.Client(
            timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )
    )

    def post(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.http.post(
            f"{self.gateway.base_url}/graphql",
            json=body,
            headers={"authorization": f"Bearer {self.token}", **headers},
        )

    def close(self) -> None:
        self.http.close()

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload


LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { accessToken site { id } }
}
"""


def login(gateway: RunningServer, sandbox: RunningServer, name: str) -> ApiUser:
    """Sign ``name`` (alice, bob, ...) in to ``sandbox`` through the ``login`` mutation."""
    flavor = sandbox.app.state.store.flavor
    credential: dict[str, str] = (
        {"email": f"{name}@example.com", "apiToken": f"{name}-token"}
        if flavor == "cloud"
        else {"username": name, "password": f"{name}-token"}
    )
    response = httpx.post(
        f"{gateway.base_url}/graphql",
        json={"query": LOGIN, "variables": {"input": {"siteUrl": sandbox.base_url, **credential}}},
        timeout=30,
    )
    payload = response.json()
    assert "errors" not in payload, payload
    data = payload["data"]["login"]
    return ApiUser(gateway, data["accessToken"], data["site"]["id"])


def jira_calls(sandbox: RunningServer) -> dict[str, int]:
    by_endpoint: dict[str, int] = httpx.get(f"{sandbox.base_url}/_sandbox/calls").json()[
        "by_endpoint"
    ]
    return by_endpoint


def total_calls(sandbox: RunningServer) -> int:
    return sum(jira_calls(sandbox).values())


def reset_calls(sandbox: RunningServer) -> None:
    httpx.post(f"{sandbox.base_url}/_sandbox/calls/reset").raise_for_status()
