"""Shared plumbing of the sign-in API tests: a gateway over real HTTP and a GraphQL caller."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.app import create_app
from gateway.config import load_settings
from gateway.db.migrate import upgrade
from tests.support import RunningServer, serve_in_thread

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    accessToken refreshToken expiresAt refreshExpiresAt scopes sessionId
    user { id accountId displayName email }
    site { id url name flavor isDefault account { accountId displayName authKind } }
  }
}
"""

REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(token: $token) { accessToken refreshToken sessionId user { id } site { id } }
}
"""

VIEWER = """
{ viewer { user { id accountId displayName email } scopes
           sites { id url name flavor isDefault account { accountId username authKind } }
           session { id label current userAgent }
           sessions { id label current } } }
"""


@dataclass
class Gateway:
    """A running gateway and its database URL."""

    server: RunningServer
    database_url: str

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/graphql"

    @property
    def state(self) -> Any:
        return self.server.app.state.gateway

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        return httpx.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=all_headers,
            timeout=30,
        )

    def gql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The response JSON of a request that must be HTTP 200."""
        response = self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def login(self, site_url: str, token: str | None = None, **credential: Any) -> Any:
        """``login`` with ``credential`` (camelCase input fields); the whole response JSON."""
        return self.gql(LOGIN, {"input": {"siteUrl": site_url, **credential}}, token=token)

    def login_ok(self, site_url: str, token: str | None = None, **credential: Any) -> Any:
        body = self.login(site_url, token, **credential)
        assert "errors" not in body, body
        return body["data"]["login"]


def cloud_login(name: str) -> dict[str, str]:
    return {"email": f"{name}@example.com", "apiToken": f"{name}-token"}


def error_code(body: Any) -> str:
    assert body.get("errors"), body
    return str(body["errors"][0]["extensions"]["code"])


@contextmanager
def running_gateway(
    tmp_path: Path, database_url: str | None = None, **settings: Any
) -> Iterator[Gateway]:
    """A gateway on a fresh SQLite file (or ``database_url``), plain-http loopback sites allowed."""
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}"
    upgrade(url)
    options: dict[str, Any] = {"var_dir": tmp_path, "allow_insecure_sites": True, **settings}
    server = serve_in_thread(create_app(load_settings(database_url=url, **options)))
    try:
        yield Gateway(server, url)
    finally:
        server.stop()
