"""Registered webhooks of one sandbox: Server admin webhooks and Cloud dynamic webhooks.

The registry hangs off the store (``registry_for(store)``) so that the registration routes
(``webhooks.routes(store)``) and the dispatcher (``webhooks.WebhookDispatcher(store)``), built
separately by the app, share it without a global: several sandboxes live in one test process.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from gateway.sandbox.webhook_delivery import Deliverer

#: Events both flavors deliver from the sandbox's writes.
DELIVERED_EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
)
#: Events accepted at registration (WebhookDetails.events in the Cloud v3 spec).
CLOUD_EVENTS = frozenset({*DELIVERED_EVENTS, "issue_property_set", "issue_property_deleted"})
#: Server admin webhooks accept many more; the sandbox never fires the extra ones.
SERVER_EVENTS = frozenset(
    {
        *DELIVERED_EVENTS,
        "worklog_created",
        "worklog_updated",
        "worklog_deleted",
        "issuelink_created",
        "issuelink_deleted",
        "attachment_created",
        "attachment_deleted",
        "project_created",
        "project_updated",
        "project_deleted",
        "jira:version_created",
        "jira:version_released",
        "user_created",
        "user_updated",
        "user_deleted",
        "sprint_started",
        "sprint_closed",
        "board_created",
    }
)
#: "admin": ``/rest/webhooks/1.0/webhook`` (Server, also Cloud); "dynamic": Cloud's
#: ``/rest/api/3/webhook`` registered by an app (here: any user), expiring after 30 days.
Kind = Literal["admin", "dynamic"]
#: Cloud dynamic webhooks expire 30 days after registration or refresh.
CLOUD_LIFETIME = timedelta(days=30)


@dataclass(slots=True)
class Webhook:
    """One registration. ``owner`` is the user id the JQL filter and permissions run as."""

    id: int
    kind: Kind
    owner: str
    url: str
    events: tuple[str, ...]
    jql: str | None
    name: str = ""
    exclude_body: bool = False
    secret: str | None = None
    field_ids: tuple[str, ...] | None = None
    enabled: bool = True
    expires_at: datetime | None = None
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def active(self, now: datetime) -> bool:
        return self.enabled and (self.expires_at is None or self.expires_at > now)

    def dynamic_json(self) -> dict[str, Any]:
        """The ``Webhook`` schema of the Cloud v3 spec (``expirationDate`` is epoch ms)."""
        out: dict[str, Any] = {
            "id": self.id,
            "jqlFilter": self.jql or "",
            "events": list(self.events),
            "url": self.url,
        }
        if self.field_ids is not None:
            out["fieldIdsFilter"] = list(self.field_ids)
        if self.expires_at is not None:
            out["expirationDate"] = epoch_ms(self.expires_at)
        return out

    def admin_json(self, base_url: str, owner_name: str, owner_display: str) -> dict[str, Any]:
        """An admin webhook as ``/rest/webhooks/1.0/webhook`` shows it (secret hidden)."""
        return {
            "self": f"{base_url}/rest/webhooks/1.0/webhook/{self.id}",
            "name": self.name,
            "url": self.url,
            "events": list(self.events),
            "filters": {"issue-related-events-section": self.jql or ""},
            "excludeBody": self.exclude_body,
            "enabled": self.enabled,
            "lastUpdatedUser": owner_name,
            "lastUpdatedDisplayName": owner_display,
            "lastUpdated": epoch_ms(self.updated_at),
        }


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class WebhookRegistry:
    """Webhooks by id plus the deliverer that posts them (shared by routes and dispatcher)."""

    def __init__(self) -> None:
        self.webhooks: dict[int, Webhook] = {}
        # admin webhook ids start at 1 as on a fresh Jira; dynamic ones at 10000 (as in the docs)
        self._next_id: dict[Kind, int] = {"admin": 1, "dynamic": 10000}
        self.deliverer = Deliverer()

    def add(self, hook: Webhook) -> Webhook:
        """Store ``hook`` under a new id (its own ``id`` is ignored); returns the stored copy."""
        hook = replace(hook, id=self._next_id[hook.kind])
        self._next_id[hook.kind] += 1
        self.webhooks[hook.id] = hook
        return hook

    def of_kind(self, kind: Kind, owner: str | None = None) -> list[Webhook]:
        return [
            h
            for h in self.webhooks.values()
            if h.kind == kind and (owner is None or h.owner == owner)
        ]

    def clear(self) -> None:
        self.webhooks.clear()


_REGISTRIES: weakref.WeakKeyDictionary[Any, WebhookRegistry] = weakref.WeakKeyDictionary()


def registry_for(store: Any) -> WebhookRegistry:
    """The registry of ``store``'s sandbox (created on first use)."""
    registry = _REGISTRIES.get(store)
    if registry is None:
        registry = WebhookRegistry()
        _REGISTRIES[store] = registry
    return registry
