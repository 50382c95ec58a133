"""WebSocket sign-in with a real ``websockets`` client speaking ``graphql-transport-ws``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.auth.auth_api_support import Gateway, cloud_login, running_gateway
from tests.support import RunningServer

PROTOCOL = Subprotocol("graphql-transport-ws")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(tmp_path) as gw:
        yield gw


@pytest.fixture
def alice(gateway: Gateway, cloud_sandbox: RunningServer) -> Any:
    return gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"))


def _ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://")


async def _init(gateway: Gateway, payload: Any) -> tuple[ClientConnection, Any]:
    """Open a socket, send ``connection_init`` with ``payload``; the first answer (or close)."""
    ws = await connect(_ws_url(gateway), subprotocols=[PROTOCOL], open_timeout=10)
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await ws.send(json.dumps(message))
    try:
        return ws, json.loads(await ws.recv())
    except ConnectionClosed as closed:
        return ws, closed


async def _closed_with(gateway: Gateway, payload: Any) -> int:
    ws, answer = await _init(gateway, payload)
    await ws.close()
    assert isinstance(answer, ConnectionClosed), answer
    assert answer.rcvd is not None
    return answer.rcvd.code


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWxpY2U6YWxpY2UtdG9rZW4="},
        {"accessToken": ""},
    ],
    ids=["no-payload", "empty", "garbage", "basic", "empty-token"],
)
async def test_missing_or_bad_token_closes_4401(gateway: Gateway, payload: Any) -> None:
    assert await _closed_with(gateway, payload) == 4401


async def test_a_token_without_read_scope_closes_4403(gateway: Gateway, alice: Any) -> None:
    minted = gateway.gql(
        "mutation { mintToken(scopes: [EXPORT]) { token } }", token=alice["accessToken"]
    )["data"]["mintToken"]["token"]
    assert await _closed_with(gateway, {"accessToken": minted}) == 4403


async def test_a_revoked_session_closes_4401(gateway: Gateway, alice: Any) -> None:
    gateway.gql("mutation { logout }", token=alice["accessToken"])
    assert await _closed_with(gateway, {"accessToken": alice["accessToken"]}) == 4401


@pytest.mark.parametrize("style", ["authorization", "accessToken"])
async def test_operations_on_the_socket_run_as_the_signed_in_user(
    gateway: Gateway, alice: Any, style: str
) -> None:
    token = alice["accessToken"]
    payload = (
        {"Authorization": f"Bearer {token}"} if style == "authorization" else {"accessToken": token}
    )
    ws, answer = await _init(gateway, payload)
    try:
        assert answer == {"type": "connection_ack"}
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "{ viewer { user { displayName } scopes } }"},
                }
            )
        )
        message = json.loads(await ws.recv())
        while message["type"] == "ping":
            message = json.loads(await ws.recv())
        assert message["type"] == "next", message
        viewer = message["payload"]["data"]["viewer"]
        assert viewer["user"]["displayName"] == "Alice Anderson"
        assert sorted(viewer["scopes"]) == ["EXPORT", "READ", "WRITE"]
    finally:
        await ws.close()
