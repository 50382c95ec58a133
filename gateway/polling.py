"""The polling fallback: sites that cannot send webhooks still feed ``issueChanged``.

Every ``interval_s`` seconds, for each site whose event source is ``polling``
(``registerWebhooks(polling: true)``): search, with the credential of the account that chose
polling, ``updated >= -Nm ORDER BY updated ASC`` (a relative period, so JIRA's and the user's
time zones do not matter; N covers the time since the last poll plus ``OVERLAP``), and publish
one event per issue updated since then: ``created`` when it was also created since then, else
``updated`` with an EMPTY change list (polling cannot know which fields changed). Each event's
broker dedupe key is (site, issue, updated time), so the overlap between polls, and several
gateway processes polling at once, publish each change once.

Subscribers then filter and check permissions exactly as for webhook events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.credentials import open_credential
from gateway.auth.vault import Vault
from gateway.db.models import Site, SiteAccount, SiteEventSource
from gateway.events import EventType, IssueEvent
from gateway.jira.adapter_base import Caller
from gateway.jira.dto import Issue
from gateway.jira.errors import JiraError
from gateway.pubsub import Broker
from gateway.sites import SiteClients
from gateway.state import AppState
from gateway.webhook_registration import Registrar
from gateway.webhooks import WebhookSecrets

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 30.0
# JQL periods have minute precision and clocks drift: look one minute further back, dedupe.
OVERLAP = timedelta(minutes=1)
# A site down for a day is not re-read in full: at most this far back, then a resync is due.
MAX_LOOKBACK = timedelta(hours=1)
MAX_ISSUES_PER_POLL = 1000


def poll_jql(last: datetime | None, now: datetime) -> str:
    """The JQL of one poll (relative minutes since ``last``, overlap included)."""
    since = now - (last or now) + OVERLAP
    minutes = math.ceil(min(since, MAX_LOOKBACK).total_seconds() / 60)
    return f"updated >= -{minutes}m ORDER BY updated ASC"


def poll_event(site_id: str, issue: Issue, since: datetime) -> IssueEvent:
    created = issue.created is not None and issue.created >= since
    return IssueEvent(
        id="",
        site_id=site_id,
        type=EventType.CREATED if created else EventType.UPDATED,
        issue_key=issue.key,
        issue_id=issue.id,
        project_key=issue.project.key if issue.project else issue.key.rsplit("-", 1)[0],
        changes=(),
        actor=None,
        timestamp=issue.updated or since,
        webhook_event="poll",
    )


class Poller:
    """Polls every ``polling`` site once per ``poll_once()`` (``run_event_sources`` loops).

    ``may_poll(site_id)`` lets one process of many take a site's turn (a Redis lock); the
    default polls always (embedded mode has one process).
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        vault: Vault,
        sites: SiteClients,
        broker: Broker,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        may_poll: Callable[[str], Awaitable[bool]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._vault = vault
        self._sites = sites
        self._broker = broker
        self.interval_s = interval_s
        self._may_poll = may_poll
        self._clock = clock

    async def poll_once(self) -> int:
        """Poll every polling site once; the number of events published."""
        async with self._sessionmaker() as db:
            rows = (
                await db.execute(
                    select(SiteEventSource, SiteAccount, Site)
                    .join(SiteAccount, SiteAccount.id == SiteEventSource.account_id)
                    .join(Site, Site.id == SiteEventSource.site_id)
                    .where(SiteEventSource.kind == "polling")
                )
            ).all()
        published = 0
        for source, account, site in rows:
            if self._may_poll is not None and not await self._may_poll(site.id):
                continue
            credential = open_credential(
                self._vault, account.credential_ciphertext, bound_to=account.id
            )
            caller = Caller(principal=account.id, auth=credential.to_httpx_auth())
            with contextlib.suppress(JiraError):
                published += await self._poll_site(site, caller, source.last_polled_at)
        return published

    async def _poll_site(self, site: Site, caller: Caller, last: datetime | None) -> int:
        now = self._clock()
        since = (last or now) - OVERLAP
        client = self._sites.client(site.id, site.base_url, site.flavor)
        count = 0
        try:
            async for issue in client.search_all(
                caller, poll_jql(last, now), fields=["updated", "created", "project"], page_size=100
            ):
                if count >= MAX_ISSUES_PER_POLL:
                    break
                if issue.updated is not None and issue.updated < since:
                    continue
                stamp = issue.updated.isoformat() if issue.updated else ""
                dedupe = f"poll:{site.id}:{issue.id}:{stamp}"
                await self._broker.publish(poll_event(site.id, issue, since), dedupe_key=dedupe)
                count += 1
        except JiraError as exc:
            log.warning("polling site %s failed: %s", site.id, exc)
            raise
        async with self._sessionmaker() as db, db.begin():
            row = await db.get(SiteEventSource, site.id)
            if row is not None:
                row.last_polled_at = now
        return count


REFRESH_EVERY = timedelta(hours=12)


def redis_turn(redis: Redis, interval_s: float) -> Callable[[str], Awaitable[bool]]:
    """``may_poll`` for several processes: the first to ``SET NX`` a site's key polls it."""

    async def may_poll(site_id: str) -> bool:
        # Held for 90 % of the interval: the next round of any process may take it again.
        ttl_ms = max(int(interval_s * 900), 100)
        return bool(await redis.set(f"jgw:v1:poll:{site_id}", "1", nx=True, px=ttl_ms))

    return may_poll


async def run_event_sources(state: AppState, *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
    """The gateway's background loop: poll polling sites, refresh Cloud webhooks twice a day.

    Runs in every gateway process (started by the app lifespan, cancelled at shutdown); with
    Redis a lock gives each site's poll to one process, and refreshing twice is harmless.
    """
    may_poll = redis_turn(state.redis, interval_s) if state.redis is not None else None
    poller = Poller(
        state.sessionmaker,
        state.auth.vault,
        state.sites,
        state.broker,
        interval_s=interval_s,
        may_poll=may_poll,
    )
    registrar = Registrar(state.sessionmaker, WebhookSecrets(state.sessionmaker, state.auth.vault))
    refreshed_at: datetime | None = None
    while True:
        try:
            await poller.poll_once()
            now = datetime.now(UTC)
            if refreshed_at is None or now - refreshed_at > REFRESH_EVERY:
                await registrar.refresh_expiring(state.sites, state.auth.vault, now=now)
                refreshed_at = now
        except Exception:  # a bad round must not end the loop for good
            log.exception("event source round failed")
        await asyncio.sleep(interval_s)


__all__ = [
    "DEFAULT_INTERVAL_S",
    "Poller",
    "poll_event",
    "poll_jql",
    "redis_turn",
    "run_event_sources",
]
