"""OAuth 2.0 (3LO) tokens for Jira Cloud: the token endpoint client and the refresher.

:class:`OAuthRefresher` keeps stored OAuth credentials fresh. An access token that expires
within ``REFRESH_MARGIN`` is refreshed before use, exactly once however many requests need it
at the same moment: a per-account ``asyncio.Lock`` serializes this process, a Redis lock (services
mode) serializes all processes, and the credential is read again after the locks are held, so
whoever waited finds the new token and does not refresh again. Atlassian rotates refresh tokens:
the new one is stored back, sealed, in the same transaction as the access token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.credentials import OAuthCredential, open_credential, seal_credential
from gateway.auth.vault import Vault
from gateway.config import Settings
from gateway.db.models import SiteAccount
from gateway.errors import GatewayError

log = logging.getLogger("gateway.oauth")

# Refresh a minute early: a request started just before expiry must not reach JIRA with a dead
# token, and clocks differ by a few seconds.
REFRESH_MARGIN = timedelta(seconds=60)
LOCK_TIMEOUT_S = 30.0


class OAuthFailed(GatewayError):
    """The authorization server refused (code exchange, refresh) or answered badly."""

    code = "OAUTH_FAILED"


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """The gateway's OAuth client registration and the endpoints it talks to."""

    client_id: str
    client_secret: SecretStr = field(repr=False)
    authorize_url: str
    token_url: str
    resources_url: str
    api_url: str
    scopes: str
    callback_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthConfig | None:
        """None unless ``JGW_OAUTH_CLIENT_ID`` and ``JGW_OAUTH_CLIENT_SECRET`` are set."""
        if not settings.oauth_client_id or settings.oauth_client_secret is None:
            return None
        public = settings.public_url or f"http://{settings.host}:{settings.port}"
        return cls(
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret,
            authorize_url=settings.oauth_authorize_url,
            token_url=settings.oauth_token_url,
            resources_url=settings.oauth_resources_url,
            api_url=settings.oauth_api_url,
            scopes=settings.oauth_scopes,
            callback_url=public.rstrip("/") + "/auth/oauth/callback",
        )

    def api_base(self, cloud_id: str, site_url: str) -> str:
        """Where JIRA's REST API answers for an OAuth token of ``cloud_id``."""
        return self.api_url.format(cloud_id=cloud_id, site_url=site_url.rstrip("/")).rstrip("/")


@dataclass(frozen=True, slots=True)
class Resource:
    """One site an OAuth token may use (accessible-resources)."""

    cloud_id: str
    url: str
    name: str


class OAuthClient:
    """Calls to the authorization server (token endpoint, accessible-resources)."""

    def __init__(self, config: OAuthConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http

    async def exchange_code(self, code: str, verifier: str) -> OAuthCredential:
        return await self._grant(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.config.callback_url,
                "code_verifier": verifier,
            },
            cloud_id="",
        )

    async def refresh(self, credential: OAuthCredential) -> OAuthCredential:
        if not credential.refresh_token:
            raise OAuthFailed("This OAuth sign-in cannot be renewed; sign in again.")
        return await self._grant(
            {"grant_type": "refresh_token", "refresh_token": credential.refresh_token},
            cloud_id=credential.cloud_id,
            previous=credential,
        )

    async def resources(self, access_token: str) -> list[Resource]:
        data = await self._call(
            "GET",
            self.config.resources_url,
            headers={"authorization": f"Bearer {access_token}"},
        )
        if not isinstance(data, list):
            raise OAuthFailed("The authorization server listed no sites.")
        return [
            Resource(cloud_id=str(item["id"]), url=str(item["url"]), name=str(item.get("name", "")))
            for item in data
            if isinstance(item, dict) and "id" in item and "url" in item
        ]

    async def _grant(
        self, body: dict[str, str], *, cloud_id: str, previous: OAuthCredential | None = None
    ) -> OAuthCredential:
        payload = {
            **body,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret.get_secret_value(),
        }
        data = await self._call("POST", self.config.token_url, json=payload)
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise OAuthFailed("The authorization server sent no access token.")
        expires_in = data.get("expires_in")
        lifetime = expires_in if isinstance(expires_in, int) and expires_in > 0 else 3600
        refresh = data.get("refresh_token")
        scope = data.get("scope")
        return OAuthCredential(
            access_token=data["access_token"],
            # Without rotation the old refresh token stays valid: keep it.
            refresh_token=refresh
            if isinstance(refresh, str)
            else (previous.refresh_token if previous else None),
            expires_at=datetime.now(UTC) + timedelta(seconds=lifetime),
            cloud_id=cloud_id,
            scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        )

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError:
            raise OAuthFailed("The authorization server could not be reached.") from None
        if response.status_code >= 400:
            # The body may echo the grant; log the status and OAuth error code only.
            error = _oauth_error(response)
            log.warning("OAuth %s %s -> %s %s", method, url, response.status_code, error)
            raise OAuthFailed(f"The authorization server refused the request ({error}).")
        try:
            return response.json()
        except ValueError:
            raise OAuthFailed(
                "The authorization server answered with something not JSON."
            ) from None


def _oauth_error(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    error = data.get("error") if isinstance(data, dict) else None
    return str(error)[:60] if error else f"HTTP {response.status_code}"


class OAuthRefresher:
    """Keeps the OAuth credentials of site accounts fresh: one refresh per expiry, everywhere."""

    def __init__(
        self,
        client: OAuthClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        vault: Vault,
        redis: Redis | None = None,
    ) -> None:
        self.client = client
        self._sessionmaker = sessionmaker
        self._vault = vault
        self._redis = redis
        self._locks: dict[str, asyncio.Lock] = {}

    async def fresh(self, account_id: str, credential: OAuthCredential) -> OAuthCredential:
        """``credential`` if still good for ``REFRESH_MARGIN``; else the refreshed one."""
        if not credential.expires_within(REFRESH_MARGIN):
            return credential
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock, self._shared_lock(account_id):
            # Re-read: whoever held the lock before us may have refreshed already.
            current = await self._load(account_id)
            if not current.expires_within(REFRESH_MARGIN):
                return current
            renewed = await self.client.refresh(current)
            await self._store(account_id, renewed)
            log.info("refreshed the OAuth token of site account %s", account_id)
            return renewed

    @contextlib.asynccontextmanager
    async def _shared_lock(self, account_id: str) -> AsyncIterator[None]:
        if self._redis is None:
            yield
            return
        lock = self._redis.lock(
            f"jgw:oauth-refresh:{account_id}",
            timeout=LOCK_TIMEOUT_S,
            blocking_timeout=LOCK_TIMEOUT_S,
        )
        async with lock:
            yield

    async def _load(self, account_id: str) -> OAuthCredential:
        async with self._sessionmaker() as db:
            sealed = await db.scalar(
                select(SiteAccount.credential_ciphertext).where(SiteAccount.id == account_id)
            )
        if sealed is None:
            raise OAuthFailed("This OAuth sign-in no longer exists; sign in again.")
        credential = open_credential(self._vault, sealed, bound_to=account_id)
        if not isinstance(credential, OAuthCredential):
            raise OAuthFailed("This site account no longer uses OAuth.")
        return credential

    async def _store(self, account_id: str, credential: OAuthCredential) -> None:
        sealed = seal_credential(self._vault, credential, bound_to=account_id)
        async with self._sessionmaker() as db, db.begin():
            account = await db.get(SiteAccount, account_id)
            if account is not None:
                account.credential_ciphertext = sealed


__all__ = [
    "REFRESH_MARGIN",
    "OAuthClient",
    "OAuthConfig",
    "OAuthFailed",
    "OAuthRefresher",
    "Resource",
    "build_oauth_refresher",
]


def build_oauth_refresher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    redis: Redis | None,
    http: httpx.AsyncClient,
) -> OAuthRefresher | None:
    """The process's refresher (None while OAuth is not configured); built by the lifespan."""
    config = OAuthConfig.from_settings(settings)
    if config is None:
        return None
    return OAuthRefresher(OAuthClient(config, http), sessionmaker, vault, redis)
