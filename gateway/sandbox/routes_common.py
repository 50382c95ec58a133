"""Shared plumbing of the sandbox routes: auth, API version, errors, orjson responses.

Each handler is `async def handler(call: Call) -> Any`; `endpoint()` wraps it into a Starlette
endpoint that authenticates (401 with JIRA's body), sets the base URL for self links, turns
`ApiError`/`JqlError` into JIRA's `{"errorMessages": [...], "errors": {...}}` and serializes the
result with orjson.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.sandbox.auth import NOT_AUTHENTICATED, authenticate
from gateway.sandbox.jql import JqlError
from gateway.sandbox.model import SandboxIssue, SandboxUser
from gateway.sandbox.store import Store, request_base_url

ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."


class ApiError(Exception):
    """An expected failure answered as JIRA's error collection."""

    def __init__(
        self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, messages, errors)
        self.status = status
        self.messages = messages or []
        self.errors = errors or {}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_response(
    status: int, messages: list[str], errors: dict[str, str] | None = None
) -> Response:
    return json_response({"errorMessages": messages, "errors": errors or {}}, status)


@dataclass
class Call:
    """One request as seen by a handler."""

    request: Request
    store: Store
    user: SandboxUser | None
    api: Literal["2", "3"]

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user else None

    @property
    def viewer(self) -> str:
        assert self.user is not None  # endpoint() guarantees it unless anonymous=True
        return self.user.id

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def int_param(self, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        raw = self.request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise ApiError(400, [f"The value '{raw}' for '{name}' is not a valid number."]) from exc
        value = max(value, low)
        return min(value, high) if high is not None else value

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def issue(self, id_or_key: str | None = None) -> SandboxIssue:
        """The issue of the path (`{key}`) if the user may see it, else JIRA's 404."""
        found = self.store.issue_for(self.user_id, id_or_key or self.path("key"))
        if found is None:
            raise ApiError(404, [ISSUE_MISSING])
        return found

    async def json(self) -> Any:
        body = await self.request.body()
        if not body:
            return {}
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(
                400, ["Unexpected character in the request body: not valid JSON."]
            ) from exc

    def require_edit(self) -> None:
        if self.user is None or not self.user.can_edit:
            raise ApiError(403, ["You do not have permission to edit issues in this project."])


Handler = Callable[[Call], Awaitable[Any]]


def endpoint(
    handler: Handler, *, anonymous: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: auth, base URL, error mapping, JSON encoding."""

    async def run(request: Request) -> Response:
        store: Store = request.app.state.store
        base = str(request.base_url).rstrip("/")
        token = request_base_url.set(base)
        store.default_base_url = base
        try:
            user = authenticate(store, request.headers.get("authorization"))
            if user is None and (not anonymous or request.headers.get("authorization")):
                return json_response(
                    {"errorMessages": [NOT_AUTHENTICATED], "errors": {}},
                    401,
                    {"WWW-Authenticate": 'Basic realm="protected-area"'},
                )
            path = request.url.path
            api: Literal["2", "3"] = "3" if path.startswith("/rest/api/3/") else "2"
            result = await handler(Call(request, store, user, api))
        except ApiError as err:
            return error_response(err.status, err.messages, err.errors)
        except JqlError as err:
            return error_response(400, list(err.messages))
        finally:
            request_base_url.reset(token)
        if isinstance(result, Response):
            return result
        return json_response(result)

    return run
