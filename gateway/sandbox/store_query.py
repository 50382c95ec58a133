"""Search over the store: the JQL context, per-project pre-filtering and a result cache.

Results are cached per (jql, user, data version), so walking pages of one query evaluates the
JQL once; any write bumps the version and the next page recomputes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from gateway.sandbox import jql, rich

if TYPE_CHECKING:
    from gateway.sandbox.model import IssueDetails, SandboxIssue, SandboxProject, SandboxUser

_CACHE_SIZE = 128


@dataclass
class StoreJqlContext:
    """`jql.JqlContext` over a store, for one user."""

    store: SearchMixin
    now: datetime
    current_user: str | None

    def users_matching(self, term: str) -> set[str] | None:
        user = self.store.user_by_term(term)
        return {user.id} if user else None

    def project_keys_matching(self, term: str) -> set[str] | None:
        visible = self.store.browsable(self.current_user)
        low = term.lower()
        found = {
            p.key
            for p in self.store.projects.values()
            if p.key in visible and low in {p.key.lower(), p.name.lower(), str(p.id)}
        }
        return found or None

    def text_of(self, issue: SandboxIssue) -> str:
        return self.store.text_of(issue)

    def description_of(self, issue: SandboxIssue) -> str:
        doc = self.store.details(issue).description
        return rich.to_plain(doc, self.store.name_of) if doc else ""


class SearchMixin:
    """Search half of `Store` (declares what it uses from the other half)."""

    projects: dict[str, SandboxProject]
    users: dict[str, SandboxUser]
    by_project: dict[str, list[SandboxIssue]]
    version: int
    clock: Callable[[], datetime]
    _text: dict[int, str]
    _search_cache: OrderedDict[tuple[str, str | None, int], list[SandboxIssue]]

    def browsable(self, user_id: str | None) -> frozenset[str]:
        raise NotImplementedError

    def user_by_term(self, term: str) -> SandboxUser | None:
        raise NotImplementedError

    def details(self, issue: SandboxIssue) -> IssueDetails:
        raise NotImplementedError

    def name_of(self, user_id: str) -> str:
        raise NotImplementedError

    def jql_context(self, user_id: str | None) -> StoreJqlContext:
        return StoreJqlContext(self, self.clock(), user_id)

    def text_of(self, issue: SandboxIssue) -> str:
        """Summary + description + comments as plain text (cached until the issue changes)."""
        text = self._text.get(issue.id)
        if text is None:
            details = self.details(issue)
            parts = [issue.summary]
            if details.description:
                parts.append(rich.to_plain(details.description, self.name_of))
            parts.extend(rich.to_plain(c.body, self.name_of) for c in details.comments)
            if details.environment:
                parts.append(details.environment)
            text = self._text[issue.id] = "\n".join(parts)
        return text

    def search(self, jql_text: str, user_id: str | None) -> list[SandboxIssue]:
        """Issues `user_id` may see that match `jql_text`, in JQL order. Raises JqlError."""
        key = (jql_text.strip(), user_id, self.version)
        cached = self._search_cache.get(key)
        if cached is not None:
            self._search_cache.move_to_end(key)
            return cached
        visible = self.browsable(user_id)
        query = jql.parse(jql_text) if jql_text.strip() else None
        if query is None:
            pool = [i for k in sorted(visible) for i in self.by_project[k]]
            result = sorted(pool, key=lambda i: i.id, reverse=True)
        else:
            compiled = jql.compile_query(query, self.jql_context(user_id))
            keys = visible if compiled.project_keys is None else visible & compiled.project_keys
            matches = compiled.matches
            pool = [i for k in sorted(keys) for i in self.by_project[k] if matches(i)]
            result = compiled.sort(pool)
        self._search_cache[key] = result
        if len(self._search_cache) > _CACHE_SIZE:
            self._search_cache.popitem(last=False)
        return result
