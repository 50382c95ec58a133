"""The sandbox store: seeded data, indexes, permissions, cached search and every write.

All mutations go through `Store` methods, which bump `updated`, append changelog histories,
bump the data `version` (search caches are keyed by it) and call the subscribers with a
`ChangeEvent` synchronously (the webhook dispatcher schedules its own delivery).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from gateway.sandbox import rich
from gateway.sandbox.catalog import RESOLUTION_BY_NAME, STATUS_BY_NAME
from gateway.sandbox.model import (
    ChangeEvent,
    ChangeItem,
    ChangeKind,
    IssueDetails,
    SandboxAttachment,
    SandboxComment,
    SandboxHistory,
    SandboxIssue,
    SandboxProject,
    SandboxUser,
)
from gateway.sandbox.seed import Dataset, build_dataset
from gateway.sandbox.seed_details import make_details
from gateway.sandbox.store_edit import apply_field
from gateway.sandbox.store_query import SearchMixin

#: Base URL of the request being served (self links use it); set by the app per request.
request_base_url: ContextVar[str | None] = ContextVar("sandbox_base_url", default=None)


class Store(SearchMixin):
    """One site's data. Not thread-safe: the sandbox runs on one event loop."""

    def __init__(
        self, *, flavor: str = "cloud", site: str = "a", seed: int = 1, issues: int = 300
    ) -> None:
        if flavor not in {"cloud", "server"}:
            raise ValueError(f"unknown sandbox flavor {flavor!r} (expected 'cloud' or 'server')")
        self.flavor = flavor
        self.site = site
        self.seed = seed
        self.issue_count = issues
        self.default_base_url = "http://127.0.0.1:8081"
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._subscribers: list[Callable[[ChangeEvent], None]] = []
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        """Restore the seeded state (subscribers are kept)."""
        self.data: Dataset = build_dataset(self.site, self.seed, self.issue_count)
        self.users: dict[str, SandboxUser] = self.data.users
        self.projects: dict[str, SandboxProject] = self.data.projects
        self.project_by_id = {p.id: p for p in self.projects.values()}
        self.issues: dict[str, SandboxIssue] = {i.key: i for i in self.data.issues}
        self.issue_by_id: dict[int, SandboxIssue] = {i.id: i for i in self.data.issues}
        self.by_project: dict[str, list[SandboxIssue]] = {k: [] for k in self.projects}
        self.children: dict[str, list[str]] = {}
        for issue in self.data.issues:
            self.by_project[issue.project_key].append(issue)
            if issue.parent_key:
                self.children.setdefault(issue.parent_key, []).append(issue.key)
        self._user_terms: dict[str, str] = {}
        for user in self.users.values():
            for term in (user.id, user.name, user.key, user.email, user.display_name):
                self._user_terms[term.lower()] = user.id
        self._details: dict[int, IssueDetails] = {}
        self._text: dict[int, str] = {}
        self._ids = itertools.count(2_000_000_000)
        self.version = 0
        self._search_cache: OrderedDict[tuple[str, str | None, int], list[SandboxIssue]] = (
            OrderedDict()
        )

    def subscribe(self, callback: Callable[[ChangeEvent], None]) -> None:
        """Call `callback(event)` synchronously after every write."""
        self._subscribers.append(callback)

    def _emit(self, event: ChangeEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    @property
    def base_url(self) -> str:
        """Base URL for self links: the current request's, else the last one seen."""
        return request_base_url.get() or self.default_base_url

    # --- lookups ---------------------------------------------------------------------------

    def user(self, user_id: str | None) -> SandboxUser | None:
        return self.users.get(user_id) if user_id else None

    def user_by_term(self, term: str) -> SandboxUser | None:
        """A user by id, name, key, email or display name (case-insensitive)."""
        uid = self._user_terms.get(term.lower())
        return self.users[uid] if uid else None

    def name_of(self, user_id: str) -> str:
        user = self.users.get(user_id)
        return user.display_name if user else user_id

    def mention_wiki(self, user_id: str) -> str:
        """Wiki markup mention: `[~accountid:…]` on Cloud, `[~name]` on Server."""
        if self.flavor == "cloud":
            return f"[~accountid:{user_id}]"
        user = self.users.get(user_id)
        return f"[~{user.name if user else user_id}]"

    def browsable(self, user_id: str | None) -> frozenset[str]:
        """Project keys `user_id` may browse."""
        user = self.user(user_id)
        if user is None or not user.active:
            return frozenset()
        if user.admin:
            return frozenset(self.projects)
        return user.projects & frozenset(self.projects)

    def issue_for(self, user_id: str | None, id_or_key: str) -> SandboxIssue | None:
        """The issue if it exists and `user_id` may see it (JIRA answers both misses the same)."""
        issue = self.issues.get(id_or_key.upper())
        if issue is None and id_or_key.isdigit():
            issue = self.issue_by_id.get(int(id_or_key))
        if issue is None or issue.project_key not in self.browsable(user_id):
            return None
        return issue

    def details(self, issue: SandboxIssue) -> IssueDetails:
        """Description, comments, histories, attachments: generated on first use, cached."""
        found = self._details.get(issue.id)
        if found is None:
            found = self._details[issue.id] = make_details(self.data, issue)
        return found

    def attachment(self, attachment_id: int) -> tuple[SandboxIssue, SandboxAttachment] | None:
        issue = self.issue_by_id.get(attachment_id // 10)
        if issue is None:
            return None
        for att in self.details(issue).attachments:
            if att.id == attachment_id:
                return issue, att
        return None

    def comment(self, issue: SandboxIssue, comment_id: str) -> SandboxComment | None:
        for com in self.details(issue).comments:
            if str(com.id) == comment_id:
                return com
        return None

    def wiki(self, doc: rich.Doc | None) -> str | None:
        return None if doc is None else rich.to_wiki(doc, self.mention_wiki)

    # --- writes ----------------------------------------------------------------------------

    def _touch(self, issue: SandboxIssue, now: datetime) -> None:
        issue.updated = now
        self.version += 1
        self._text.pop(issue.id, None)

    def _record(
        self,
        issue: SandboxIssue,
        actor: str,
        items: list[ChangeItem],
        kind: ChangeKind,
        event_type: str,
        now: datetime,
    ) -> None:
        self.details(issue).histories.append(SandboxHistory(next(self._ids), actor, now, items))
        self._touch(issue, now)
        self._emit(ChangeEvent(kind, issue.key, actor, now, tuple(items), None, event_type))

    def edit_issue(self, issue: SandboxIssue, actor: str, changes: dict[str, Any]) -> None:
        """Apply already-validated internal values (see `routes_issue`): field id -> value."""
        self.details(issue)  # materialize the seeded history before the values move
        now = self._now()
        items: list[ChangeItem] = []
        for fid, value in changes.items():
            item = self._apply(issue, fid, value)
            if item is not None:
                items.append(item)
        if not items:
            return
        only_assignee = all(i.field == "assignee" for i in items)
        self._record(
            issue,
            actor,
            items,
            "issue_updated",
            "issue_assigned" if only_assignee else "issue_updated",
            now,
        )

    def _apply(self, issue: SandboxIssue, fid: str, value: Any) -> ChangeItem | None:
        return apply_field(self, issue, fid, value)

    def transition(
        self, issue: SandboxIssue, actor: str, status: str, resolution: str | None
    ) -> None:
        """Move `issue` to `status`; entering Done sets a resolution, leaving it clears it."""
        self.details(issue)
        now = self._now()
        old, new = STATUS_BY_NAME[issue.status], STATUS_BY_NAME[status]
        items = [
            ChangeItem("status", "jira", "status", str(old.id), old.name, str(new.id), new.name)
        ]
        was_done = issue.status_category == "done"
        issue.status, issue.status_category = new.name, new.category
        event = "issue_generic"
        if new.category == "done" and not issue.resolution:
            res = RESOLUTION_BY_NAME[resolution or "Done"]
            items.append(
                ChangeItem("resolution", "jira", "resolution", None, None, str(res.id), res.name)
            )
            issue.resolution, issue.resolutiondate = res.name, now
            event = "issue_resolved"
        elif new.category != "done" and issue.resolution:
            res = RESOLUTION_BY_NAME[issue.resolution]
            items.append(
                ChangeItem("resolution", "jira", "resolution", str(res.id), res.name, None, None)
            )
            issue.resolution, issue.resolutiondate = None, None
            event = "issue_reopened" if was_done else event
        elif new.name == "In Progress":
            event = "issue_work_started"
        self._record(issue, actor, items, "issue_updated", event, now)

    def add_comment(self, issue: SandboxIssue, actor: str, body: rich.Doc) -> SandboxComment:
        now = self._now()
        com = SandboxComment(next(self._ids), issue.id, actor, body, now, now, actor)
        self.details(issue).comments.append(com)
        self._touch(issue, now)
        self._emit(
            ChangeEvent(
                "comment_created", issue.key, actor, now, (), str(com.id), "issue_commented"
            )
        )
        return com

    def update_comment(
        self, issue: SandboxIssue, com: SandboxComment, actor: str, body: rich.Doc
    ) -> None:
        now = self._now()
        com.body, com.updated, com.update_author = body, now, actor
        self._touch(issue, now)
        self._emit(
            ChangeEvent(
                "comment_updated", issue.key, actor, now, (), str(com.id), "issue_comment_edited"
            )
        )

    def delete_comment(self, issue: SandboxIssue, com: SandboxComment, actor: str) -> None:
        """Remove `com`; the event carries it (`deleted_comment`) for the webhook bodies."""
        now = self._now()
        self.details(issue).comments.remove(com)
        self._touch(issue, now)
        self._emit(
            ChangeEvent(
                "comment_deleted",
                issue.key,
                actor,
                now,
                (),
                str(com.id),
                "issue_comment_deleted",
                deleted_comment=com,
            )
        )

    def _now(self) -> datetime:
        now = self.clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)
