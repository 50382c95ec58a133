"""The typed state object built by the app lifespan: every client and pool, closed on exit."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.config import Settings


@dataclass(slots=True)
class AppState:
    """Long-lived resources of one gateway process (never created at import time)."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis | None
    http: httpx.AsyncClient
    """One keep-alive pool for every outbound call to JIRA sites."""

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
