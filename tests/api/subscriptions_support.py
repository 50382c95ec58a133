"""Harness for the live-change tests: a real gateway, a private sandbox, signed-in users, and a
``graphql-transport-ws`` client over real ``websockets``.

The sandbox gets its own seed so registering webhooks and editing issues never disturbs the
session-wide sandboxes other tests read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.fernet import Fernet
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from gateway.auth.scopes import ALL_SCOPES
from gateway.auth.sessions import SessionService
from gateway.auth.settings import AuthConfig
from gateway.auth.tokens import TokenService
from gateway.auth.vault import Vault
from gateway.config import Settings, load_settings
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.webhooks import WebhookSecrets

PROTOCOL = Subprotocol("graphql-transport-ws")
LEGACY = Subprotocol("graphql-ws")
JWT_SECRET = "subscriptions-test-secret-" + "x" * 32
VAULT_KEY = Fernet.generate_key().decode()
# The private sandbox: seed 77 is used by no other test.
SANDBOX = {"flavor": "cloud", "issues": 80, "seed": 77, "site": "a"}

EVENT_FIELDS = """
  cursor type site issueKey issueId projectKey subjectId time
  changes { field fieldId from to fromString toString }
  actor { accountId displayName }
  resync { since oldestCursor }
"""


def gateway_settings(database_url: str, var_dir: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": database_url,
        "var_dir": var_dir,
        "allow_insecure_sites": True,
        "jwt_secret": JWT_SECRET,
        "vault_keys": [VAULT_KEY],
        "log_level": "WARNING",
    }
    return load_settings(**{**base, **overrides})


def gql(base_url: str, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    return answer.json()


LOGIN = """
mutation($site: String!, $email: String!, $apiToken: String!) {
  login(input: {siteUrl: $site, email: $email, apiToken: $apiToken}) { accessToken site { id } }
}
"""


@dataclass
class SignedIn:
    token: str
    principal_id: str
    site_id: str


def login(base_url: str, sandbox_url: str, name: str) -> SignedIn:
    body = gql(
        base_url, LOGIN, site=sandbox_url, email=f"{name}@example.com", apiToken=f"{name}-token"
    )
    assert "errors" not in body, body
    payload = body["data"]["login"]
    claims = jwt.decode(payload["accessToken"], options={"verify_signature": False})
    return SignedIn(payload["accessToken"], claims["sub"], payload["site"]["id"])


def _auth_config() -> AuthConfig:
    return AuthConfig(jwt_secret=SecretStr(JWT_SECRET), vault_keys=[SecretStr(VAULT_KEY)])


async def _admin_token(database_url: str, principal_id: str) -> str:
    """An operator grants ``admin``: a session with every scope, made directly in the DB."""
    engine = create_engine(database_url)
    try:
        config = _auth_config()
        sessions = SessionService(create_sessionmaker(engine), TokenService(config), config)
        pair = await sessions.start_session(principal_id, ALL_SCOPES)
    finally:
        await engine.dispose()
    return pair.access_token


def admin_token(database_url: str, principal_id: str) -> str:
    return asyncio.run(_admin_token(database_url, principal_id))


async def _secret(database_url: str, site_id: str) -> bytes | None:
    engine = create_engine(database_url)
    try:
        vault = Vault([SecretStr(VAULT_KEY)])
        return await WebhookSecrets(create_sessionmaker(engine), vault).get(site_id)
    finally:
        await engine.dispose()


def webhook_secret(database_url: str, site_id: str) -> bytes | None:
    return asyncio.run(_secret(database_url, site_id))


REGISTER = """
mutation($site: ID, $base: String) {
  registerWebhooks(site: $site, callbackBaseUrl: $base) {
    site kind webhookIds callbackUrl expiresAt
  }
}
"""


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def ws_session(
    base_url: str, token: str, protocol: Subprotocol = PROTOCOL
) -> AsyncIterator[ClientConnection]:
    """An acknowledged ``graphql-transport-ws`` connection."""
    async with connect(ws_url(base_url), subprotocols=[protocol], open_timeout=10) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(ws: ClientConnection, op_id: str, args: str = "") -> None:
    query = f"subscription {{ issueChanged{args} {{ {EVENT_FIELDS} }} }}"
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))


async def next_message(ws: ClientConnection, within: float = 10.0) -> dict[str, Any]:
    """The next message that is not a keep-alive ping."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), within))
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        return dict(message)


async def collect(ws: ClientConnection, within: float) -> list[dict[str, Any]]:
    """Every non-ping message that arrives within ``within`` seconds."""
    out: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (left := deadline - loop.time()) > 0:
        try:
            out.append(await next_message(ws, left))
        except TimeoutError:
            break
    return out


def edit_summary(sandbox_url: str, key: str, summary: str, user: str = "alice") -> None:
    answer = httpx.put(
        f"{sandbox_url}/rest/api/3/issue/{key}",
        json={"fields": {"summary": summary}},
        auth=(f"{user}@example.com", f"{user}-token"),
        timeout=10,
    )
    assert answer.status_code == 204, answer.text


def issue_in(sandbox_url: str, project: str) -> str:
    answer = httpx.post(
        f"{sandbox_url}/rest/api/3/search/jql",
        json={"jql": f"project = {project} ORDER BY key ASC", "maxResults": 1, "fields": ["key"]},
        auth=("alice@example.com", "alice-token"),
        timeout=10,
    )
    return str(answer.json()["issues"][0]["key"])
