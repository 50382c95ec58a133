"""Webhook registration endpoints and the dispatcher that fires signed JIRA webhooks.

Integration (the app factory): ``routes(store)`` gives the registration routes and
``GET /_sandbox/webhooks/deliveries``; ``WebhookDispatcher(store)`` subscribes to the store's
``ChangeEvent``s; call ``await dispatcher.aclose()`` in the app lifespan.

- Admin webhooks (Server, also present on Cloud): ``POST/GET /rest/webhooks/1.0/webhook``,
  ``GET/PUT/DELETE /rest/webhooks/1.0/webhook/{id}``; JIRA administrators only (else 403).
  Body ``{name, url, events, filters: {"issue-related-events-section": jql}, excludeBody,
  secret}``. The URL may use Server's variables ``${issue.key}``, ``${issue.id}``,
  ``${project.key}``, ``${project.id}``, ``${modifiedUser.name}``, ``${modifiedUser.key}``.
- Dynamic webhooks (Cloud only): ``POST/GET/DELETE /rest/api/{2,3}/webhook``,
  ``PUT /rest/api/{2,3}/webhook/refresh``. Any authenticated user plays the "app"; an optional
  top-level ``secret`` in the registration body is the sandbox's extension (real Cloud signs
  with the app's secret).

A webhook fires for an issue when its events include the webhook event, its owner may browse the
issue's project and its JQL filter (evaluated as the owner) matches the issue after the write.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.sandbox import jql
from gateway.sandbox.model import ChangeEvent
from gateway.sandbox.routes_common import endpoint
from gateway.sandbox.store import Store
from gateway.sandbox.webhook_payload import EVENTS_FOR_KIND, PayloadBuilder
from gateway.sandbox.webhook_registry import Webhook, WebhookRegistry, registry_for
from gateway.sandbox.webhook_routes import WebhookApi

__all__ = ["WebhookDispatcher", "registry_for", "routes"]

logger = logging.getLogger(__name__)

_URL_VARIABLE = re.compile(r"\$\{([A-Za-z]+\.[A-Za-z]+)\}")


class WebhookDispatcher:
    """Turns the store's ChangeEvents into deliveries for every matching registered webhook.

    Bodies are built synchronously inside the store's callback (so they show the issue as the
    write left it, and self links use the request's base URL); posting happens in background
    tasks owned by the registry's ``Deliverer``. A failure here never fails the write.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry: WebhookRegistry = registry_for(store)
        store.subscribe(self.on_change)

    def on_change(self, event: ChangeEvent) -> None:
        try:
            self._dispatch(event)
        except Exception:
            logger.exception("webhook dispatch failed for %s on %s", event.kind, event.issue_key)

    async def aclose(self) -> None:
        """Finish (briefly) or cancel in-flight deliveries and close the HTTP client."""
        await self.registry.deliverer.aclose()

    def _dispatch(self, event: ChangeEvent) -> None:
        now = datetime.now(UTC)
        hooks = [h for h in self.registry.webhooks.values() if h.active(now)]
        if not hooks:
            return
        builder = PayloadBuilder(self.store, event)
        for hook in hooks:
            wanted = [e for e in EVENTS_FOR_KIND[event.kind] if e in hook.events]
            if not wanted or not self._visible(hook, builder):
                continue
            for webhook_event in wanted:
                if not _passes_field_filter(hook, webhook_event, builder):
                    continue
                body = b""
                if not hook.exclude_body:
                    body = orjson.dumps(builder.body(webhook_event, hook.owner))
                self.registry.deliverer.submit(
                    webhook_id=hook.id,
                    url=self._url(hook, builder),
                    event=webhook_event,
                    body=body,
                    secret=hook.secret,
                )

    def _visible(self, hook: Webhook, builder: PayloadBuilder) -> bool:
        """Owner may browse the issue and the webhook's JQL (run as the owner) matches it."""
        issue = builder.issue
        project_key = issue.project_key if issue else builder.event.issue_key.rsplit("-", 1)[0]
        if project_key not in self.store.browsable(hook.owner):
            return False
        if issue is None or not (hook.jql or "").strip():
            return True
        try:
            query = jql.compile_query(jql.parse(hook.jql or ""), self.store.jql_context(hook.owner))
        except jql.JqlError:
            return False  # e.g. the owner lost access to a project named in the filter
        return bool(query.matches(issue))

    def _url(self, hook: Webhook, builder: PayloadBuilder) -> str:
        if "${" not in hook.url:
            return hook.url
        issue = builder.issue
        project = self.store.projects.get(issue.project_key) if issue else None
        actor = self.store.user(builder.event.actor_id)
        values = {
            "issue.key": builder.event.issue_key,
            "issue.id": str(issue.id) if issue else "",
            "project.key": project.key if project else "",
            "project.id": str(project.id) if project else "",
            "modifiedUser.name": actor.name if actor else "",
            "modifiedUser.key": actor.key if actor else "",
        }
        return _URL_VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), hook.url)


def _passes_field_filter(hook: Webhook, webhook_event: str, builder: PayloadBuilder) -> bool:
    """Cloud's ``fieldIdsFilter``: jira:issue_updated only when the changelog names a field."""
    if hook.field_ids is None or webhook_event != "jira:issue_updated":
        return True
    return bool(builder.changelog_fields() & set(hook.field_ids))


def routes(store: Store) -> list[Route]:
    """Registration routes for ``store``'s flavor plus the deliveries log for tests and demos."""
    registry = registry_for(store)
    api = WebhookApi(registry)

    async def deliveries(request: Request) -> Response:
        body = orjson.dumps({"deliveries": registry.deliverer.deliveries()})
        return Response(body, media_type="application/json")

    admin = "/rest/webhooks/1.0/webhook"
    out = [
        Route(admin, endpoint(api.admin_list), methods=["GET"]),
        Route(admin, endpoint(api.admin_create), methods=["POST"]),
        Route(admin + "/{id}", endpoint(api.admin_get), methods=["GET"]),
        Route(admin + "/{id}", endpoint(api.admin_update), methods=["PUT"]),
        Route(admin + "/{id}", endpoint(api.admin_delete), methods=["DELETE"]),
        Route("/_sandbox/webhooks/deliveries", deliveries, methods=["GET"]),
    ]
    if store.flavor == "cloud":
        for version in ("2", "3"):
            base = f"/rest/api/{version}/webhook"
            out += [
                Route(base, endpoint(api.dynamic_list), methods=["GET"]),
                Route(base, endpoint(api.dynamic_register), methods=["POST"]),
                Route(base, endpoint(api.dynamic_delete), methods=["DELETE"]),
                Route(f"{base}/refresh", endpoint(api.dynamic_refresh), methods=["PUT"]),
            ]
    return out
