"""Handlers of the webhook registration API (contract in ``webhooks.py``).

Handlers take the core's ``Call`` (authenticated user, store, base URL already set) and are
wrapped by ``routes_common.endpoint``, so auth failures and ``ApiError`` answer like every other
sandbox endpoint.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from gateway.sandbox import jql
from gateway.sandbox.model import SandboxUser
from gateway.sandbox.routes_common import ApiError, Call, json_response
from gateway.sandbox.webhook_registry import (
    CLOUD_EVENTS,
    CLOUD_LIFETIME,
    SERVER_EVENTS,
    Webhook,
    WebhookRegistry,
    epoch_ms,
)

_JQL_SECTION = "issue-related-events-section"
NOT_ADMIN = "Only Jira administrators can manage webhooks."


def _valid_url(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) > 8


def _object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, ["The request body must be a JSON object."])
    return body


def _user(call: Call) -> SandboxUser:
    assert call.user is not None  # endpoint() answers 401 before we get here
    return call.user


def _admin(call: Call) -> SandboxUser:
    user = _user(call)
    if not user.admin:
        raise ApiError(403, [NOT_ADMIN])
    return user


class WebhookApi:
    """Registration handlers bound to one store's registry."""

    def __init__(self, registry: WebhookRegistry) -> None:
        self.registry = registry

    # --- shared ------------------------------------------------------------------------------

    @staticmethod
    def check_jql(call: Call, jql_text: str, user: SandboxUser) -> list[str]:
        """JIRA's messages for an invalid filter (projects as ``user`` sees them), or []."""
        if not jql_text.strip():
            return []
        try:
            jql.compile_query(jql.parse(jql_text), call.store.jql_context(user.id))
        except jql.JqlError as exc:
            return list(exc.messages)
        return []

    @staticmethod
    def _admin_json(call: Call, hook: Webhook) -> dict[str, Any]:
        owner = call.store.user(hook.owner)
        name = owner.name if owner else hook.owner
        display = owner.display_name if owner else hook.owner
        return hook.admin_json(call.store.base_url, name, display)

    def _admin_hook(self, call: Call) -> Webhook:
        raw = call.path("id")
        hook = self.registry.webhooks.get(int(raw)) if raw.isdigit() else None
        if hook is None or hook.kind != "admin":
            raise ApiError(404, [f"Webhook with id {raw} does not exist."])
        return hook

    # --- admin webhooks: /rest/webhooks/1.0/webhook -------------------------------------------

    async def admin_list(self, call: Call) -> Any:
        _admin(call)
        return [self._admin_json(call, h) for h in self.registry.of_kind("admin")]

    async def admin_create(self, call: Call) -> Any:
        user = _admin(call)
        hook = self.registry.add(self._parse_admin(call, _object(await call.json()), user, 0))
        return json_response(self._admin_json(call, hook), 201)

    async def admin_get(self, call: Call) -> Any:
        _admin(call)
        return self._admin_json(call, self._admin_hook(call))

    async def admin_update(self, call: Call) -> Any:
        user = _admin(call)
        old = self._admin_hook(call)
        hook = self._parse_admin(call, _object(await call.json()), user, old.id)
        self.registry.webhooks[old.id] = hook
        return self._admin_json(call, hook)

    async def admin_delete(self, call: Call) -> Any:
        _admin(call)
        del self.registry.webhooks[self._admin_hook(call).id]
        return Response(status_code=204)

    def _parse_admin(
        self, call: Call, body: dict[str, Any], user: SandboxUser, hook_id: int
    ) -> Webhook:
        errors: dict[str, str] = {}
        name, url, events = body.get("name"), body.get("url"), body.get("events", [])
        filters = body.get("filters") or {}
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "The webhook name is required."
        if not _valid_url(url):
            errors["url"] = "The URL must be an absolute http(s) URL."
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            errors["events"] = "events must be a list of event names."
        elif unknown := sorted(set(events) - SERVER_EVENTS):
            errors["events"] = f"Unknown webhook event: {unknown[0]}."
        jql_text = filters.get(_JQL_SECTION, "") if isinstance(filters, dict) else None
        if not isinstance(jql_text, str):
            errors["filters"] = f"filters must be an object with a {_JQL_SECTION!r} JQL string."
        elif messages := self.check_jql(call, jql_text, user):
            errors["filters"] = " ".join(messages)
        for flag in ("excludeBody", "enabled"):
            if not isinstance(body.get(flag, False), bool):
                errors[flag] = f"{flag} must be a boolean."
        secret = body.get("secret")
        if secret is not None and not isinstance(secret, str):
            errors["secret"] = "secret must be a string."  # noqa: S105 (a message)
        if errors:
            raise ApiError(400, [], errors)
        return Webhook(
            id=hook_id,
            kind="admin",
            owner=user.id,
            url=str(url),
            events=tuple(events),
            jql=jql_text or None,
            name=str(name),
            exclude_body=bool(body.get("excludeBody", False)),
            secret=secret or None,
            enabled=bool(body.get("enabled", True)),
        )

    # --- Cloud dynamic webhooks: /rest/api/3/webhook -------------------------------------------

    async def dynamic_register(self, call: Call) -> Any:
        user = _user(call)
        body = _object(await call.json())
        url, entries, secret = body.get("url"), body.get("webhooks"), body.get("secret")
        if not _valid_url(url):
            raise ApiError(400, ["The webhook URL must be an absolute http(s) URL."])
        if not isinstance(entries, list) or not entries:
            raise ApiError(400, ["The list of webhooks is required."])
        if secret is not None and not isinstance(secret, str):
            raise ApiError(400, ["secret must be a string."])
        results = [self._register_one(call, e, str(url), secret, user) for e in entries]
        return {"webhookRegistrationResult": results}

    def _register_one(
        self, call: Call, entry: object, url: str, secret: str | None, user: SandboxUser
    ) -> dict[str, Any]:
        if not isinstance(entry, dict):
            return {"errors": ["Each webhook must be a JSON object."]}
        events, jql_text = entry.get("events"), entry.get("jqlFilter")
        field_ids = entry.get("fieldIdsFilter")
        if not isinstance(events, list) or not events:
            return {"errors": ["At least one event is required."]}
        if unknown := sorted({str(e) for e in events} - CLOUD_EVENTS):
            return {"errors": [f"The event {unknown[0]} is not supported."]}
        if not isinstance(jql_text, str) or not jql_text.strip():
            return {"errors": ["The jqlFilter is required."]}
        if field_ids is not None and (
            not isinstance(field_ids, list) or not all(isinstance(f, str) for f in field_ids)
        ):
            return {"errors": ["fieldIdsFilter must be a list of field ids."]}
        if messages := self.check_jql(call, jql_text, user):
            return {"errors": messages}
        hook = self.registry.add(
            Webhook(
                id=0,
                kind="dynamic",
                owner=user.id,
                url=url,
                events=tuple(str(e) for e in events),
                jql=jql_text,
                secret=secret or None,
                field_ids=None if field_ids is None else tuple(field_ids),
                expires_at=datetime.now(UTC) + CLOUD_LIFETIME,
            )
        )
        return {"createdWebhookId": hook.id}

    async def dynamic_list(self, call: Call) -> Any:
        user = _user(call)
        start = call.int_param("startAt", 0)
        size = call.int_param("maxResults", 100, low=1, high=100)
        hooks = self.registry.of_kind("dynamic", owner=user.id)
        return {
            "startAt": start,
            "maxResults": size,
            "total": len(hooks),
            "isLast": start + size >= len(hooks),
            "values": [h.dynamic_json() for h in hooks[start : start + size]],
        }

    async def dynamic_delete(self, call: Call) -> Any:
        user = _user(call)
        for hook in self._own_hooks(_object(await call.json()), user):
            del self.registry.webhooks[hook.id]
        return Response(status_code=202)

    async def dynamic_refresh(self, call: Call) -> Any:
        user = _user(call)
        expires = datetime.now(UTC) + CLOUD_LIFETIME
        for hook in self._own_hooks(_object(await call.json()), user):
            self.registry.webhooks[hook.id] = replace(hook, expires_at=expires)
        return {"expirationDate": epoch_ms(expires)}

    def _own_hooks(self, body: dict[str, Any], user: SandboxUser) -> list[Webhook]:
        ids = body.get("webhookIds")
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise ApiError(400, ["webhookIds must be a list of webhook ids."])
        own = {h.id: h for h in self.registry.of_kind("dynamic", owner=user.id)}
        return [own[i] for i in ids if i in own]
