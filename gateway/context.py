"""The per-operation GraphQL context. Built fresh for every operation (and subscription event)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from gateway.state import AppState


@dataclass(slots=True)
class Context:
    """What resolvers may use: the request and the process state (never a shared DB session)."""

    request: HTTPConnection
    state: AppState

    @property
    def request_id(self) -> str:
        return str(self.request.scope.get("state", {}).get("request_id", "-"))
