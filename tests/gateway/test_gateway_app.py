"""The app skeleton over real HTTP: health, readiness, middleware, GraphQL transport rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.db.migrate import upgrade
from tests.support import RunningServer, serve_in_thread


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}"
    upgrade(url)
    # The sandbox JIRA listens on plain http on loopback, as in the demo.
    defaults: dict[str, object] = {"var_dir": tmp_path, "allow_insecure_sites": True}
    return load_settings(database_url=url, **{**defaults, **overrides})


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RunningServer]:
    server = serve_in_thread(create_app(_settings(tmp_path, cors_origins=["https://ui.example"])))
    yield server
    server.stop()


def test_typename_query(gateway: RunningServer) -> None:
    response = httpx.post(f"{gateway.base_url}/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_gateway_info_reports_embedded_mode(gateway: RunningServer) -> None:
    response = httpx.post(
        f"{gateway.base_url}/graphql", json={"query": "{ gateway { version mode } }"}
    )
    info = response.json()["data"]["gateway"]
    assert info["mode"] == "EMBEDDED"
    assert info["version"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"query": 5}', "application/json"),
        (b"[]", "application/json"),
        (b"", "application/json"),
        (b"query=x", "text/plain"),
    ],
)
def test_malformed_requests_get_graphql_errors(
    gateway: RunningServer, body: bytes, content_type: str
) -> None:
    response = httpx.post(
        f"{gateway.base_url}/graphql", content=body, headers={"content-type": content_type}
    )
    assert 400 <= response.status_code < 500
    payload = response.json()
    assert payload["data"] is None
    assert payload["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert payload["errors"][0]["message"]


def test_syntax_error_is_a_graphql_error(gateway: RunningServer) -> None:
    response = httpx.post(f"{gateway.base_url}/graphql", json={"query": "{"})
    assert response.status_code == 200
    assert "Syntax Error" in response.json()["errors"][0]["message"]


def test_queries_over_get_are_refused(gateway: RunningServer) -> None:
    response = httpx.get(f"{gateway.base_url}/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_graphiql_served_in_dev_from_local_assets(gateway: RunningServer) -> None:
    response = httpx.get(f"{gateway.base_url}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="(/graphiql/static/[^"]+)"', response.text)
    assert len(assets) == 7
    for asset in assets:  # every script and style comes from the gateway itself
        assert httpx.get(f"{gateway.base_url}{asset}").status_code == 200, asset
    assert "http" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', response.text))


def test_graphiql_not_served_in_prod(tmp_path: Path) -> None:
    secrets = {"jwt_secret": "x" * 40, "vault_keys": [Fernet.generate_key().decode()]}
    server = serve_in_thread(create_app(_settings(tmp_path, profile="prod", **secrets)))
    try:
        response = httpx.get(f"{server.base_url}/graphql", headers={"accept": "text/html"})
        assert "text/html" not in response.headers.get("content-type", "")
        assert response.headers["strict-transport-security"].startswith("max-age=")
    finally:
        server.stop()


def test_body_over_limit_gets_413(gateway: RunningServer) -> None:
    big = b'{"query": "{ __typename }", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = httpx.post(
        f"{gateway.base_url}/graphql", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_chunked_body_over_limit_gets_413(gateway: RunningServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = httpx.post(
        f"{gateway.base_url}/graphql",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_request_id_is_echoed_or_created(gateway: RunningServer) -> None:
    given = httpx.get(f"{gateway.base_url}/healthz", headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    hostile = httpx.get(f"{gateway.base_url}/healthz", headers={"x-request-id": "a b\tc<script>"})
    assert hostile.headers["x-request-id"] != "a b\tc<script>"
    assert len(hostile.headers["x-request-id"]) == 32


def test_security_headers(gateway: RunningServer) -> None:
    response = httpx.get(f"{gateway.base_url}/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_cors_allows_only_configured_origins(gateway: RunningServer) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
    }
    allowed = httpx.options(
        f"{gateway.base_url}/graphql", headers={"origin": "https://ui.example", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://ui.example"
    denied = httpx.options(
        f"{gateway.base_url}/graphql", headers={"origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in denied.headers


def test_gzip_for_large_responses(gateway: RunningServer) -> None:
    url = f"{gateway.base_url}/graphiql/static/graphiql.min.css"
    response = httpx.get(url, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert ".graphiql-container" in response.text  # httpx decoded the gzip body
    small = httpx.get(f"{gateway.base_url}/healthz", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_healthz(gateway: RunningServer) -> None:
    response = httpx.get(f"{gateway.base_url}/healthz")
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_sites(tmp_path: Path, cloud_sandbox: RunningServer) -> None:
    settings = _settings(tmp_path, sites=[cloud_sandbox.base_url, "http://127.0.0.1:9"])
    server = serve_in_thread(create_app(settings))
    try:
        response = httpx.get(f"{server.base_url}/readyz")
        body = response.json()
        assert response.status_code == 503
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"][f"site {cloud_sandbox.base_url}"]["ok"] is True
        assert body["checks"]["site http://127.0.0.1:9"]["ok"] is False
    finally:
        server.stop()


def test_readyz_services_mode_checks_redis(
    fresh_pg_database: str, redis_url: str, cloud_sandbox: RunningServer, tmp_path: Path
) -> None:
    upgrade(fresh_pg_database)
    settings = load_settings(
        database_url=fresh_pg_database,
        redis_url=redis_url,
        sites=[cloud_sandbox.base_url],
        allow_insecure_sites=True,
        var_dir=tmp_path,
    )
    server = serve_in_thread(create_app(settings))
    try:
        response = httpx.get(f"{server.base_url}/readyz")
        assert response.status_code == 200, response.text
        assert set(response.json()["checks"]) == {
            "database",
            "redis",
            f"site {cloud_sandbox.base_url}",
        }
        info = httpx.post(
            f"{server.base_url}/graphql", json={"query": "{ gateway { mode } }"}
        ).json()
        assert info["data"]["gateway"]["mode"] == "SERVICES"
    finally:
        server.stop()


def test_metrics_count_jira_calls_by_endpoint_template(
    tmp_path: Path, cloud_sandbox: RunningServer
) -> None:
    server = serve_in_thread(create_app(_settings(tmp_path)))
    try:
        login = httpx.post(
            f"{server.base_url}/graphql",
            json={
                "query": "mutation($i: LoginInput!) { login(input: $i) { accessToken } }",
                "variables": {
                    "i": {
                        "siteUrl": cloud_sandbox.base_url,
                        "email": "alice@example.com",
                        "apiToken": "alice-token",
                    }
                },
            },
            timeout=30,
        ).json()
        token = login["data"]["login"]["accessToken"]
        httpx.post(
            f"{server.base_url}/graphql",
            json={"query": '{ issue(key: "ALPHA-1") { key } }'},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        ).raise_for_status()
        text = httpx.get(f"{server.base_url}/metrics").text
        assert "# TYPE jgw_jira_requests_total counter" in text
        assert "/rest/api/3/issue/bulkfetch" in text or "/rest/api/3/search/jql" in text
        assert "ALPHA-1" not in text  # templates, never data
        assert token not in text
    finally:
        server.stop()
