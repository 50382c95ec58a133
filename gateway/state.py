"""The typed state object built by the app lifespan: every client and pool, closed on exit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.auth.tokens import AccessClaims
from gateway.auth_config import AuthServices
from gateway.cache import Cache
from gateway.config import Settings
from gateway.jira.metrics import InMemoryRecorder
from gateway.jobs import JobQueue
from gateway.oauth_tokens import OAuthRefresher
from gateway.pubsub import Broker
from gateway.response_cache import ResponseCache
from gateway.sites import SiteClients
from gateway.webhooks import WebhookIntake

if TYPE_CHECKING:
    from gateway.accounts import SiteCall


@dataclass(slots=True)
class AppState:
    """Long-lived resources of one gateway process (never created at import time)."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    http: httpx.AsyncClient
    """One keep-alive pool for every outbound call to JIRA sites (SSRF-guarded)."""
    auth: AuthServices
    cache: Cache
    response_cache: ResponseCache
    sites: SiteClients
    jira_metrics: InMemoryRecorder
    broker: Broker
    """Issue events for subscriptions: in-process, or a Redis stream shared by all processes."""
    jobs: JobQueue
    """Background jobs: in-process tasks (embedded) or arq (services)."""
    webhooks: WebhookIntake
    text_redis: Redis | None = None
    """A second Redis client decoding replies to str (the broker needs text, the cache bytes)."""
    verified_tokens: dict[str, AccessClaims] = field(default_factory=dict)
    """Access tokens this process has verified (signature and claims), until they expire."""
    site_call_memo: dict[tuple[str, str | None], tuple[SiteCall, float]] = field(
        default_factory=dict
    )
    """(principal, site) -> (SiteCall, expiry): see ``gateway.accounts.load_site_call``."""
    oauth: OAuthRefresher | None = None
    """OAuth 2.0 (3LO) token refresh; None unless JGW_OAUTH_CLIENT_ID/SECRET are set."""

    async def aclose(self) -> None:
        # Jobs first (they may publish), then the broker, then the pools they used.
        await self.jobs.aclose()
        await self.broker.aclose()
        await self.http.aclose()
        for redis in (self.redis, self.text_redis):
            if redis is not None:
                await redis.aclose()
        await self.engine.dispose()
