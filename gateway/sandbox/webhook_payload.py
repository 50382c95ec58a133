"""JIRA-shaped webhook bodies built from the store's ``ChangeEvent``s.

Shapes follow the real payloads in ``../shared/jira-contract/webhooks/``:

- ``jira:issue_created|updated``: ``timestamp`` (epoch ms), ``webhookEvent``,
  ``issue_event_type_name``, ``user``, ``issue`` (v2 form: wiki markup even on Cloud),
  ``changelog {id, items}`` (``fieldId`` only on Cloud). A comment also fires
  ``jira:issue_updated`` with ``issue_commented|issue_comment_edited|issue_comment_deleted`` and a
  top-level ``comment`` (none for a deletion), as both flavors do.
- ``jira:issue_deleted``: ``user`` and ``issue``, no changelog.
- ``comment_*``: no top-level ``user``; Cloud adds a minimal ``issue`` (summary, issuetype,
  project, assignee, priority, status); Server sends ``comment_created`` with the comment only and
  ``comment_updated|deleted`` with ``user`` + ``comment``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.sandbox import serialize
from gateway.sandbox.webhook_registry import epoch_ms

if TYPE_CHECKING:
    from gateway.sandbox.model import ChangeEvent, ChangeItem, SandboxIssue
    from gateway.sandbox.store import Store

#: Which webhook events a store ChangeEvent fires (the primary event first).
EVENTS_FOR_KIND: dict[str, tuple[str, ...]] = {
    "issue_created": ("jira:issue_created",),
    "issue_updated": ("jira:issue_updated",),
    "issue_deleted": ("jira:issue_deleted",),
    "comment_created": ("comment_created", "jira:issue_updated"),
    "comment_updated": ("comment_updated", "jira:issue_updated"),
    "comment_deleted": ("comment_deleted", "jira:issue_updated"),
}
_COMMENT_EVENT_TYPES = {
    "comment_created": "issue_commented",
    "comment_updated": "issue_comment_edited",
    "comment_deleted": "issue_comment_deleted",
}
MINIMAL_ISSUE_FIELDS = ("summary", "issuetype", "project", "assignee", "priority", "status")


class PayloadBuilder:
    """Builds bodies for one event; caches per (webhook event, viewer) within that event.

    A deletion's comment comes from ``event.deleted_comment`` (the store has already removed it),
    so ``comment_deleted`` carries the whole comment, as JIRA's does.
    """

    def __init__(self, store: Store, event: ChangeEvent) -> None:
        self.store = store
        self.event = event
        self.cloud = store.flavor == "cloud"
        self.issue: SandboxIssue | None = store.issues.get(event.issue_key)
        self._cache: dict[tuple[str, str], dict[str, Any]] = {}

    def changelog_fields(self) -> set[str]:
        """Field ids (and names) in the event's changelog, for Cloud's ``fieldIdsFilter``."""
        return {i.field_id or i.field for i in self.event.items} | {
            i.field for i in self.event.items
        }

    def body(self, webhook_event: str, viewer: str) -> dict[str, Any]:
        key = (webhook_event, viewer)
        if key not in self._cache:
            self._cache[key] = self._build(webhook_event, viewer)
        return self._cache[key]

    def _build(self, webhook_event: str, viewer: str) -> dict[str, Any]:
        event = self.event
        out: dict[str, Any] = {
            "timestamp": epoch_ms(event.timestamp),
            "webhookEvent": webhook_event,
        }
        if webhook_event.startswith("comment_"):
            return self._comment_event(out, webhook_event, viewer)
        from_comment = event.kind.startswith("comment_")
        if webhook_event != "jira:issue_deleted":
            out["issue_event_type_name"] = (
                _COMMENT_EVENT_TYPES[event.kind]
                if from_comment
                else event.event_type_name or event.kind
            )
        out["user"] = serialize.user_json(self.store, event.actor_id, "2")
        out["issue"] = self._issue(viewer, minimal=False)
        if from_comment:
            if event.kind != "comment_deleted":
                out["comment"] = self._comment()
        elif webhook_event != "jira:issue_deleted":
            out["changelog"] = {
                "id": self._history_id(),
                "items": [self._item(i) for i in event.items],
            }
        return out

    def _comment_event(
        self, out: dict[str, Any], webhook_event: str, viewer: str
    ) -> dict[str, Any]:
        if not self.cloud and webhook_event != "comment_created":
            out["user"] = serialize.user_json(self.store, self.event.actor_id, "2")
        out["comment"] = self._comment()
        if self.cloud:
            out["issue"] = self._issue(viewer, minimal=True)
        return out

    def _issue(self, viewer: str, *, minimal: bool) -> dict[str, Any]:
        issue = self.issue
        if issue is None:  # deleted: all that is left is the key
            return {"key": self.event.issue_key, "fields": {}}
        if minimal:
            fields: list[str] = list(MINIMAL_ISSUE_FIELDS)
        else:
            # Cloud webhooks omit comment/worklog; Server's carry them (see the corpus)
            fields = ["*all", "-comment", "-worklog"] if self.cloud else ["*all"]
        body = serialize.issue_json(
            self.store, issue, api="2", fields=fields, expand=set(), viewer=viewer
        )
        return {k: body[k] for k in ("id", "self", "key", "fields") if k in body}

    def _comment(self) -> dict[str, Any]:
        comment_id = self.event.comment_id or ""
        found = self.event.deleted_comment
        if found is None and self.issue is not None:
            found = self.store.comment(self.issue, comment_id)
        if found is not None:
            return serialize.comment_json(self.store, found, "2")
        # the comment changed again (or went away) before this event was built: name it
        issue_ref = str(self.issue.id) if self.issue else self.event.issue_key
        return {
            "self": f"{self.store.base_url}/rest/api/2/issue/{issue_ref}/comment/{comment_id}",
            "id": comment_id,
        }

    def _history_id(self) -> str:
        """The id of the changelog history the write appended (matched by its items)."""
        if self.issue is not None:
            histories = self.store.details(self.issue).histories
            for history in reversed(histories[-5:]):
                if tuple(history.items) == self.event.items:
                    return str(history.id)
        return str(epoch_ms(self.event.timestamp))

    def _item(self, item: ChangeItem) -> dict[str, Any]:
        out: dict[str, Any] = {"field": item.field, "fieldtype": item.fieldtype}
        if self.cloud:
            out["fieldId"] = item.field_id or item.field
        out.update(
            {
                "from": item.from_id,
                "fromString": item.from_string,
                "to": item.to_id,
                "toString": item.to_string,
            }
        )
        return out
