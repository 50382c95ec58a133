"""Jira Server / Data Center: REST v2 (wiki markup), ``name``/``key`` users, ``startAt`` search.

No bulk issue endpoint: issues by key are ``key in (...)`` JQL chunks through ``POST /search``.
No bulk user endpoint: one ``GET /user?key=`` per user (the batching layer runs them
concurrently). The changelog comes from ``expand=changelog`` on the issue (all histories at
once), sliced into pages here. Attachment bytes live under ``/secure/attachment/{id}/{name}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.jira.adapter_base import (
    ApiRequest,
    InvalidCursor,
    JiraAdapter,
    SearchPage,
    decode_cursor,
    encode_cursor,
)
from gateway.jira.dto import ChangelogEntry, CustomField, JsonValue, Page, User
from gateway.jira.errors import JiraBadRequest
from gateway.jira.flavor import Flavor
from gateway.jira.parse_activity import parse_changelog_page
from gateway.jira.parse_base import fail, obj, opt_int
from gateway.jira.parse_issue import parse_search_page

# 100 keys ~ 1.5 KB of JQL; the search runs as one indexed lookup. The JQL bound keeps a
# chunk well under the 8 KB request-line limit of proxies should a GET ever be used.
KEYS_PER_SEARCH = 100
MAX_JQL_CHARS = 6000
_OFFSET = "o"
# Server answers a `key in (...)` naming a missing (or invisible) issue with 400 and one of:
_MISSING = (
    re.compile(r"An issue with key '([^']+)' does not exist for field '\w+'"),
    re.compile(r"The issue key '([^']+)' for field '\w+' is invalid"),
)


def keys_jql(refs: Sequence[str]) -> str:
    """``key in (A-1, B-2)``; refs are validated against ``ISSUE_REF`` before they get here."""
    return f"key in ({', '.join(refs)})"


class ServerAdapter(JiraAdapter):
    flavor = Flavor.SERVER
    api = "2"
    bulk_users = False
    has_jql_parse = False  # /jql/parse is Cloud-only
    needs_attachment_filename = True
    paged_projects = False

    def search_request(
        self,
        jql: str,
        fields: Sequence[str],
        expand: Sequence[str],
        page_size: int,
        cursor: str | None,
    ) -> ApiRequest:
        start = 0
        if cursor is not None:
            value = decode_cursor(cursor, _OFFSET)
            if not value.isdigit():
                raise InvalidCursor("malformed search cursor")
            start = int(value)
        body: dict[str, Any] = {
            "jql": jql,
            "startAt": start,
            "maxResults": page_size,
            "fields": list(fields),
        }
        if expand:
            body["expand"] = list(expand)
        return ApiRequest("POST", self.path("/search"), json=body, idempotent=True)

    def parse_search(
        self,
        raw: Any,
        request: ApiRequest,
        defs: Mapping[str, CustomField] | None,
        base_url: str,
    ) -> SearchPage:
        page = parse_search_page(raw, endpoint=request.template, field_defs=defs, base_url=base_url)
        start = int(request.json["startAt"]) if isinstance(request.json, dict) else 0
        # Advance by what came back, not by maxResults: JIRA caps maxResults silently.
        after = start + len(page.items)
        more = bool(page.items) and (page.total is None or after < page.total)
        return SearchPage(
            issues=page.items,
            next_cursor=encode_cursor(_OFFSET, str(after)) if more else None,
            total=page.total,
        )

    def count_request(self, jql: str) -> ApiRequest:
        body = {"jql": jql, "startAt": 0, "maxResults": 0, "fields": ["id"]}
        return ApiRequest("POST", self.path("/search"), json=body, idempotent=True)

    def parse_count(self, raw: Any, request: ApiRequest) -> int:
        total = opt_int(obj(raw, request.template, "$").get("total"), request.template, "$.total")
        if total is None:
            fail(request.template, "$.total", "missing total")
        return total

    def bulk_limit(
        self, fields: Sequence[str], expand: Sequence[str], defs: Mapping[str, CustomField] | None
    ) -> int:
        return KEYS_PER_SEARCH

    def chunks(self, refs: Sequence[str], limit: int) -> list[list[str]]:
        """Split by key count and by JQL length (MAX_JQL_CHARS)."""
        out: list[list[str]] = []
        current: list[str] = []
        size = len(keys_jql([]))
        for ref in refs:
            extra = len(ref) + 2
            if current and (len(current) >= limit or size + extra > MAX_JQL_CHARS):
                out.append(current)
                current, size = [], len(keys_jql([]))
            current.append(ref)
            size += extra
        if current:
            out.append(current)
        return out

    def bulk_request(
        self, refs: Sequence[str], fields: Sequence[str], expand: Sequence[str]
    ) -> ApiRequest:
        body: dict[str, Any] = {
            "jql": keys_jql(refs),
            "startAt": 0,
            "maxResults": len(refs),
            "fields": list(fields),
            # Without this, one missing key fails the whole search with a 400 (see _MISSING,
            # still handled by the batching layer for JIRA versions that validate anyway).
            "validateQuery": False,
        }
        if expand:
            body["expand"] = list(expand)
        return ApiRequest("POST", self.path("/search"), json=body, idempotent=True)

    def missing_refs(self, error: JiraBadRequest) -> set[str]:
        found: set[str] = set()
        for message in [*error.error_messages, *error.errors.values()]:
            for pattern in _MISSING:
                found.update(m.group(1).upper() for m in pattern.finditer(message))
        return found

    def changelog_request(self, key: str, start_at: int, max_results: int) -> ApiRequest:
        # Same request for every page of one issue, so concurrent page loads coalesce.
        return ApiRequest(
            "GET",
            self.path("/issue/{key}"),
            {"key": key},
            {"expand": "changelog", "fields": "key"},
        )

    def parse_changelog(
        self, raw: Any, request: ApiRequest, start_at: int, max_results: int
    ) -> Page[ChangelogEntry]:
        data = obj(raw, request.template, "$")
        if data.get("changelog") is None:
            fail(request.template, "$.changelog", "missing (expand=changelog ignored)")
        full = parse_changelog_page(
            data["changelog"], endpoint=request.template, path="$.changelog"
        )
        items = full.items[start_at : start_at + max_results]
        # Server embeds every history; `total` beyond them would be unreachable anyway.
        available = len(full.items)
        return Page(
            items=items,
            start_at=start_at,
            max_results=max_results,
            total=available,
            is_last=start_at + max_results >= available,
        )

    def rich_body(self, body: str | Mapping[str, Any]) -> JsonValue:
        if not isinstance(body, str):
            raise TypeError("Server/Data Center JIRA takes wiki markup, not an ADF document")
        return body

    def user_requests(self, user_id: str) -> list[ApiRequest]:
        # User.id is the key on Server; fall back to the username (mentions carry names).
        return [
            ApiRequest("GET", self.path("/user"), params={"key": user_id}),
            ApiRequest("GET", self.path("/user"), params={"username": user_id}),
        ]

    def user_search_request(self, query: str, max_results: int) -> ApiRequest:
        return ApiRequest(
            "GET",
            self.path("/user/search"),
            params={"username": query, "maxResults": max_results},
        )

    def user_ref(self, user: User) -> dict[str, str]:
        return {"name": user.name} if user.name else {"key": user.key or user.id}

    def attachment_content_request(self, attachment_id: str, filename: str | None) -> ApiRequest:
        if not filename:
            raise ValueError("Server attachment downloads need the file name")
        return ApiRequest(
            "GET",
            "/secure/attachment/{id}/{filename}",
            {"id": attachment_id, "filename": filename},
        )
