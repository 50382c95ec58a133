"""The kinds of JIRA credential a site account can hold, and how they go through the vault.

Each kind is a frozen dataclass whose ``repr`` hides the secret parts, with
:meth:`to_httpx_auth` for the JIRA client and a ``kind`` that matches
``SiteAccount.auth_kind``:

- ``api_token``: Cloud email + API token (HTTP Basic);
- ``password``: Server/DC username + password (HTTP Basic);
- ``pat``: Server/DC personal access token (Bearer);
- ``oauth``: Cloud OAuth 2.0 (3LO) access + refresh token for one ``cloud_id`` (Bearer).

:func:`seal_credential` / :func:`open_credential` store and read them through the :class:`Vault`,
bound to the owning row.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx

from gateway.auth.errors import VaultError
from gateway.auth.vault import Vault

AuthKind = Literal["api_token", "password", "pat", "oauth"]
AUTH_KINDS: tuple[AuthKind, ...] = ("api_token", "password", "pat", "oauth")


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request; the token never shows in ``repr``."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(<hidden>)"


@dataclass(frozen=True, slots=True)
class ApiTokenCredential:
    """Jira Cloud: the account's email and an API token."""

    kind: ClassVar[AuthKind] = "api_token"
    email: str
    token: str = field(repr=False)

    def to_httpx_auth(self) -> httpx.Auth:
        return httpx.BasicAuth(self.email, self.token)

    def to_payload(self) -> dict[str, Any]:
        return {"email": self.email, "token": self.token}


@dataclass(frozen=True, slots=True)
class PasswordCredential:
    """Jira Server/DC: username and password."""

    kind: ClassVar[AuthKind] = "password"
    username: str
    password: str = field(repr=False)

    def to_httpx_auth(self) -> httpx.Auth:
        return httpx.BasicAuth(self.username, self.password)

    def to_payload(self) -> dict[str, Any]:
        return {"username": self.username, "password": self.password}


@dataclass(frozen=True, slots=True)
class PatCredential:
    """Jira Server/DC: a personal access token."""

    kind: ClassVar[AuthKind] = "pat"
    token: str = field(repr=False)

    def to_httpx_auth(self) -> httpx.Auth:
        return BearerAuth(self.token)

    def to_payload(self) -> dict[str, Any]:
        return {"token": self.token}


@dataclass(frozen=True, slots=True)
class OAuthCredential:
    """Jira Cloud OAuth 2.0 (3LO): tokens for one site (``cloud_id``), with their expiry."""

    kind: ClassVar[AuthKind] = "oauth"
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    cloud_id: str
    scopes: tuple[str, ...] = ()

    def to_httpx_auth(self) -> httpx.Auth:
        return BearerAuth(self.access_token)

    def expires_within(self, margin: timedelta, *, now: datetime | None = None) -> bool:
        """True when the access token expires within ``margin`` (refresh it before use)."""
        return self.expires_at - margin <= (now or datetime.now(UTC))

    def to_payload(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.astimezone(UTC).isoformat(),
            "cloud_id": self.cloud_id,
            "scopes": list(self.scopes),
        }


Credential = ApiTokenCredential | PasswordCredential | PatCredential | OAuthCredential


def credential_from_payload(kind: str, payload: dict[str, Any]) -> Credential:
    """Rebuild a credential from its vault payload; ``VaultError`` when the shape is wrong."""
    try:
        if kind == "api_token":
            return ApiTokenCredential(email=_text(payload, "email"), token=_text(payload, "token"))
        if kind == "password":
            return PasswordCredential(
                username=_text(payload, "username"), password=_text(payload, "password")
            )
        if kind == "pat":
            return PatCredential(token=_text(payload, "token"))
        if kind == "oauth":
            refresh = payload.get("refresh_token")
            expires_at = datetime.fromisoformat(_text(payload, "expires_at"))
            if expires_at.tzinfo is None:
                raise ValueError("naive expiry")
            scopes = payload.get("scopes") or []
            return OAuthCredential(
                access_token=_text(payload, "access_token"),
                refresh_token=refresh if isinstance(refresh, str) else None,
                expires_at=expires_at,
                cloud_id=_text(payload, "cloud_id"),
                scopes=tuple(str(scope) for scope in scopes),
            )
    except (KeyError, TypeError, ValueError):
        raise VaultError("A stored credential has an unknown format.") from None
    raise VaultError("A stored credential has an unknown kind.")


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload[key]
    if not isinstance(value, str):
        raise TypeError(key)
    return value


def seal_credential(vault: Vault, credential: Credential, *, bound_to: str) -> str:
    """Encrypt ``credential`` for the row ``bound_to``; the kind is sealed in too."""
    return vault.seal({"kind": credential.kind, **credential.to_payload()}, bound_to=bound_to)


def open_credential(vault: Vault, ciphertext: str, *, bound_to: str) -> Credential:
    """Decrypt and rebuild a credential sealed by :func:`seal_credential` for ``bound_to``."""
    payload = vault.open(ciphertext, bound_to=bound_to)
    kind = payload.pop("kind", None)
    if not isinstance(kind, str):
        raise VaultError("A stored credential has an unknown kind.")
    return credential_from_payload(kind, payload)


__all__ = [
    "AUTH_KINDS",
    "ApiTokenCredential",
    "AuthKind",
    "BearerAuth",
    "Credential",
    "OAuthCredential",
    "PasswordCredential",
    "PatCredential",
    "credential_from_payload",
    "open_credential",
    "seal_credential",
]
