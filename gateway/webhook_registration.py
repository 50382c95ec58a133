"""Registering the gateway's webhook in JIRA, refreshing Cloud's, and choosing polling instead.

- Server/DC: an admin webhook, ``POST /rest/webhooks/1.0/webhook`` with our ``secret`` (JIRA
  then signs every delivery ``X-Hub-Signature: sha256=...``); needs a JIRA administrator.
- Cloud: dynamic webhooks, ``POST /rest/api/3/webhook`` with a JQL filter (Cloud requires one:
  ``project in (...)`` of every project the registering account sees) and our ``secret``
  extension. They expire 30 days after registration or refresh: ``refresh_expiring`` (run daily
  by the gateway) extends those within ``REFRESH_BEFORE`` of expiry with
  ``PUT /rest/api/3/webhook/refresh``.
- Polling: no webhook; ``gateway.polling`` searches the site instead.

A fresh random secret per registration is stored sealed (``WebhookSecrets.set``) BEFORE JIRA
learns it, so the first delivery already verifies; the previous registration of the site is
deleted (best effort), since its secret no longer verifies. What was registered is kept in
``site_event_sources`` (webhook ids, expiry, and the account whose credential refreshes/polls).

The paths differ per flavor here rather than in ``gateway/jira`` adapters because registration is
an administrative one-off, not part of the read path the adapters serve.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.credentials import open_credential
from gateway.auth.vault import Vault
from gateway.db.models import Site, SiteAccount, SiteEventSource, normalize_base_url
from gateway.errors import GatewayError
from gateway.jira.adapter_base import ApiRequest, Caller
from gateway.jira.client import JiraClient
from gateway.jira.errors import JiraError
from gateway.jira.flavor import Flavor
from gateway.jira.transport import JiraTransport
from gateway.sites import SiteClients
from gateway.webhooks import WEBHOOK_PATH, WebhookSecrets

log = logging.getLogger(__name__)

WEBHOOK_NAME = "jira-gateway"
EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
)
# Server admin webhooks also report links and attachments as their own events.
SERVER_EVENTS = (
    *EVENTS,
    "issuelink_created",
    "issuelink_deleted",
    "attachment_created",
    "attachment_deleted",
)
CLOUD_LIFETIME = timedelta(days=30)
# Refreshed a week early: a daily job that fails for a few days still refreshes in time.
REFRESH_BEFORE = timedelta(days=7)
ADMIN_PATH = "/rest/webhooks/1.0/webhook"
DYNAMIC_PATH = "/rest/api/3/webhook"


class RegistrationFailed(GatewayError):
    """JIRA refused to register the webhook (its message says why)."""

    code = "WEBHOOK_REGISTRATION_FAILED"


@dataclass(frozen=True, slots=True)
class EventSourceView:
    """How one site's changes reach the gateway."""

    site_id: str
    kind: str
    webhook_ids: tuple[int, ...]
    callback_url: str | None
    expires_at: datetime | None


def callback_url(public_base_url: str, site_id: str) -> str:
    """The gateway's webhook URL for ``site_id`` under its public base URL."""
    return public_base_url.rstrip("/") + WEBHOOK_PATH.format(site_id=site_id)


def _view(row: SiteEventSource) -> EventSourceView:
    return EventSourceView(
        site_id=row.site_id,
        kind=row.kind,
        webhook_ids=tuple(row.webhook_ids or ()),
        callback_url=row.callback_url,
        expires_at=row.expires_at,
    )


class Registrar:
    """Registers, replaces and refreshes a site's event source (see the module docstring)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], webhook_secrets: WebhookSecrets
    ) -> None:
        self._sessionmaker = sessionmaker
        self._secrets = webhook_secrets

    async def current(self, site_id: str) -> EventSourceView | None:
        async with self._sessionmaker() as db:
            row = await db.get(SiteEventSource, site_id)
            return None if row is None else _view(row)

    async def register(
        self,
        client: JiraClient,
        caller: Caller,
        *,
        site_id: str,
        url: str,
        account_id: str | None,
    ) -> EventSourceView:
        """Register the gateway's webhook on the site as ``caller`` (replacing ours, if any)."""
        await self._drop_previous(client, caller, site_id)
        secret = secrets.token_urlsafe(32)
        await self._secrets.set(site_id, secret)
        flavor = await client.flavor(caller)
        try:
            if flavor is Flavor.CLOUD:
                kind, ids = "dynamic", await _register_dynamic(client, caller, url, secret)
                expires: datetime | None = datetime.now(UTC) + CLOUD_LIFETIME
            else:
                kind, ids = "admin", [await _register_admin(client, caller, url, secret)]
                expires = None
        except JiraError as exc:
            raise RegistrationFailed(f"JIRA refused the webhook: {exc}") from None
        return await self._store(site_id, kind, account_id, ids, url, expires)

    async def use_polling(self, site_id: str, account_id: str) -> EventSourceView:
        """Poll the site with ``account_id``'s credential instead of receiving webhooks."""
        return await self._store(site_id, "polling", account_id, [], None, None)

    async def _store(
        self,
        site_id: str,
        kind: str,
        account_id: str | None,
        ids: list[int],
        url: str | None,
        expires: datetime | None,
    ) -> EventSourceView:
        async with self._sessionmaker() as db, db.begin():
            row = await db.get(SiteEventSource, site_id)
            if row is None:
                row = SiteEventSource(site_id=site_id, kind=kind)
                db.add(row)
            row.kind, row.account_id, row.webhook_ids = kind, account_id, ids
            row.callback_url, row.expires_at, row.last_polled_at = url, expires, None
            await db.flush()
            return _view(row)

    async def _drop_previous(self, client: JiraClient, caller: Caller, site_id: str) -> None:
        previous = await self.current(site_id)
        if previous is None or not previous.webhook_ids:
            return
        try:
            if previous.kind == "dynamic":
                body = {"webhookIds": list(previous.webhook_ids)}
                await client.call(caller, ApiRequest("DELETE", DYNAMIC_PATH, json=body))
            else:
                for hook_id in previous.webhook_ids:
                    path = f"{ADMIN_PATH}/{{id}}"
                    await client.call(caller, ApiRequest("DELETE", path, {"id": hook_id}))
        except JiraError as exc:  # gone already, or another admin's: a stale hook only fails 401
            log.warning("could not delete the previous webhook of site %s: %s", site_id, exc)

    async def refresh_expiring(
        self, sites: SiteClients, vault: Vault, *, now: datetime | None = None
    ) -> int:
        """Extend Cloud webhooks expiring within ``REFRESH_BEFORE``; how many sites were."""
        now = now or datetime.now(UTC)
        async with self._sessionmaker() as db:
            rows = (
                await db.execute(
                    select(SiteEventSource, SiteAccount, Site)
                    .join(SiteAccount, SiteAccount.id == SiteEventSource.account_id)
                    .join(Site, Site.id == SiteEventSource.site_id)
                    .where(
                        SiteEventSource.kind == "dynamic",
                        SiteEventSource.expires_at < now + REFRESH_BEFORE,
                    )
                )
            ).all()
        refreshed = 0
        for source, account, site in rows:
            credential = open_credential(vault, account.credential_ciphertext, bound_to=account.id)
            caller = Caller(principal=account.id, auth=credential.to_httpx_auth())
            client = sites.client(site.id, site.base_url, site.flavor)
            body = {"webhookIds": list(source.webhook_ids)}
            try:
                raw = await client.call(
                    caller, ApiRequest("PUT", f"{DYNAMIC_PATH}/refresh", json=body)
                )
            except JiraError as exc:
                log.warning("refreshing the webhooks of site %s failed: %s", site.id, exc)
                continue
            expires = _epoch_ms(raw.get("expirationDate") if isinstance(raw, dict) else None)
            async with self._sessionmaker() as db, db.begin():
                row = await db.get(SiteEventSource, site.id)
                if row is not None:
                    row.expires_at = expires or now + CLOUD_LIFETIME
            refreshed += 1
        return refreshed


def _epoch_ms(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


async def _register_dynamic(client: JiraClient, caller: Caller, url: str, secret: str) -> list[int]:
    projects = sorted(p.key for p in await client.projects(caller))
    if not projects:
        raise RegistrationFailed("This account sees no project: nothing to watch.")
    body = {
        "url": url,
        "webhooks": [{"events": list(EVENTS), "jqlFilter": f"project in ({', '.join(projects)})"}],
        "secret": secret,
    }
    raw = await client.call(caller, ApiRequest("POST", DYNAMIC_PATH, json=body))
    results = raw.get("webhookRegistrationResult", []) if isinstance(raw, dict) else []
    ids = [
        r["createdWebhookId"] for r in results if isinstance(r, dict) and "createdWebhookId" in r
    ]
    if not ids:
        errors = [e for r in results if isinstance(r, dict) for e in r.get("errors", [])]
        raise RegistrationFailed("JIRA refused the webhook: " + (" ".join(errors) or "no id"))
    return [int(i) for i in ids]


async def _register_admin(client: JiraClient, caller: Caller, url: str, secret: str) -> int:
    body = {
        "name": WEBHOOK_NAME,
        "url": url,
        "events": list(SERVER_EVENTS),
        "filters": {"issue-related-events-section": ""},
        "excludeBody": False,
        "secret": secret,
    }
    raw = await client.call(caller, ApiRequest("POST", ADMIN_PATH, json=body))
    link = str(raw.get("self", "")) if isinstance(raw, dict) else ""
    tail = link.rstrip("/").rsplit("/", 1)[-1]
    if not tail.isdigit():
        raise RegistrationFailed("JIRA answered without the new webhook's id.")
    return int(tail)


async def wire_demo_site(
    sessionmaker: async_sessionmaker[AsyncSession],
    registrar: Registrar,
    http: httpx.AsyncClient,
    *,
    base_url: str,
    name: str,
    email: str,
    token: str,
    gateway_url: str,
) -> EventSourceView:
    """Demo: make sure ``base_url`` is a known site and register our webhook there as ``email``.

    ``login`` later finds the same ``sites`` row by its URL, so the webhook already points at
    the id the signed-in user's subscriptions filter on.
    """
    base = normalize_base_url(base_url)
    async with sessionmaker() as db, db.begin():
        site = await db.scalar(select(Site).where(Site.base_url == base))
        if site is None:
            site = Site(base_url=base, name=name)
            db.add(site)
            await db.flush()
        site_id = site.id
    client = JiraClient(JiraTransport(http, base, site=site_id))
    caller = Caller(principal=f"demo:{site_id}", auth=httpx.BasicAuth(email, token))
    url = callback_url(gateway_url, site_id)
    return await registrar.register(client, caller, site_id=site_id, url=url, account_id=None)


async def wire_demo(
    database_url: str,
    vault: Vault,
    *,
    gateway_url: str,
    sites: list[tuple[str, str, str, str]],
) -> list[EventSourceView]:
    """The demo's wiring: for each ``(base_url, name, admin email, API token)`` sandbox site,
    register the gateway's webhook with a fresh secret stored sealed, so sandbox edits reach
    GraphiQL subscriptions without anyone calling ``registerWebhooks``."""
    from gateway.db.engine import create_engine, create_sessionmaker

    engine = create_engine(database_url)
    try:
        sessionmaker = create_sessionmaker(engine)
        registrar = Registrar(sessionmaker, WebhookSecrets(sessionmaker, vault))
        async with httpx.AsyncClient(timeout=10.0) as http:
            return [
                await wire_demo_site(
                    sessionmaker,
                    registrar,
                    http,
                    base_url=base_url,
                    name=name,
                    email=email,
                    token=token,
                    gateway_url=gateway_url,
                )
                for base_url, name, email, token in sites
            ]
    finally:
        await engine.dispose()


__all__ = [
    "EVENTS",
    "REFRESH_BEFORE",
    "EventSourceView",
    "Registrar",
    "RegistrationFailed",
    "callback_url",
    "wire_demo",
    "wire_demo_site",
]
