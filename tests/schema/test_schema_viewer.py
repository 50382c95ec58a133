"""``viewer``: sibling fields that need the same rows read them once per operation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

from gateway.auth.scopes import Scope
from gateway.auth.sessions import SessionInfo
from gateway.auth.tokens import AccessClaims
from gateway.context import Context
from gateway.graphql import build_schema
from gateway.principals import AccountView, SiteView

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CLAIMS = AccessClaims(
    principal_id="p1",
    session_id="s1",
    scopes=frozenset({Scope.READ}),
    token_id="t1",
    issued_at=NOW,
    expires_at=NOW + timedelta(minutes=15),
)


def _account(site_id: str, default: bool) -> AccountView:
    return AccountView(
        id=f"a-{site_id}",
        site=SiteView(id=site_id, base_url=f"https://{site_id}.example", name=site_id, flavor=None),
        jira_account_id="acc",
        jira_username=None,
        email=None,
        display_name="Alice",
        auth_kind="api_token",
        is_default=default,
        last_login_at=None,
    )


class _Sessions:
    def __init__(self) -> None:
        self.reads = 0

    async def list_sessions(self, principal_id: str) -> list[SessionInfo]:
        self.reads += 1
        await asyncio.sleep(0.01)  # both siblings are waiting on the read at once
        return [SessionInfo("s1", frozenset({Scope.READ}), NOW, NOW, NOW, None, None)]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    counts: dict[str, Any] = {"accounts": 0, "sessions": _Sessions()}

    async def list_accounts(_state: Any, principal_id: str) -> list[AccountView]:
        assert principal_id == "p1"
        counts["accounts"] += 1
        await asyncio.sleep(0.01)
        return [_account("one", True), _account("two", False)]

    monkeypatch.setattr("schema.viewer.list_accounts", list_accounts)
    return counts


async def test_user_sites_session_and_sessions_read_each_table_once(
    reads: dict[str, Any],
) -> None:
    state = SimpleNamespace(auth=SimpleNamespace(sessions=reads["sessions"]))
    context = Context(
        request=Request({"type": "http", "headers": []}),
        state=state,  # type: ignore[arg-type]
        principal=CLAIMS,
    )
    result = await build_schema().execute(
        "{ viewer { user { displayName } sites { id isDefault } session { id current } "
        "sessions { id } } }",
        context_value=context,
    )
    assert result.errors is None, result.errors
    viewer = result.data["viewer"] if result.data else {}
    assert viewer["user"] == {"displayName": "Alice"}
    assert viewer["sites"] == [{"id": "one", "isDefault": True}, {"id": "two", "isDefault": False}]
    assert viewer["session"] == {"id": "s1", "current": True}
    assert viewer["sessions"] == [{"id": "s1"}]
    assert reads["accounts"] == 1
    assert reads["sessions"].reads == 1
