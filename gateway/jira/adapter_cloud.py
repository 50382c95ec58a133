"""Jira Cloud: REST v3 (ADF rich text), ``accountId`` users, token-paged ``/search/jql``.

Cloud removed ``/rest/api/{2,3}/search`` (410), so searches go to ``POST /search/jql``
(``nextPageToken``, no total) and counts to ``/search/approximate-count``. Issues by key go to
``POST /issue/bulkfetch``; users by id to ``GET /user/bulk``; the changelog has its own paged
endpoint; attachment bytes come from ``/attachment/content/{id}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.jira.adapter_base import (
    ApiRequest,
    JiraAdapter,
    SearchPage,
    concrete_single_valued,
    decode_cursor,
    encode_cursor,
)
from gateway.jira.dto import ChangelogEntry, CustomField, JsonValue, Page, User
from gateway.jira.flavor import Flavor
from gateway.jira.parse_activity import parse_changelog_page
from gateway.jira.parse_base import fail, obj, opt_int
from gateway.jira.parse_issue import parse_search_page

# The v3 OpenAPI spec's bulkfetch description: "You can request up to 100 issues."
BULKFETCH_LIMIT = 100
# Atlassian later allowed up to 1000 issues per bulkfetch when at most 100 fields, all
# single-valued, and no expands are requested. The vendored spec and the sandbox still say 100,
# so the large batch is opt-in (ClientConfig.large_bulkfetch); a 400 turns it off for the site.
LARGE_BULKFETCH_LIMIT = 1000
LARGE_BULKFETCH_MAX_FIELDS = 100
_CURSOR_KIND = "t"


def _adf_from_text(text: str) -> dict[str, JsonValue]:
    """Plain text -> the smallest ADF document: one paragraph per blank-line block."""
    paragraphs: list[JsonValue] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        content: list[JsonValue] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


class CloudAdapter(JiraAdapter):
    flavor = Flavor.CLOUD
    api = "3"
    bulk_users = True
    has_jql_parse = True
    needs_attachment_filename = False
    paged_projects = True

    def __init__(self, *, large_bulkfetch: bool = False) -> None:
        self.large_bulkfetch = large_bulkfetch

    def search_request(
        self,
        jql: str,
        fields: Sequence[str],
        expand: Sequence[str],
        page_size: int,
        cursor: str | None,
    ) -> ApiRequest:
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": page_size}
        if expand:
            body["expand"] = ",".join(expand)  # a string here, a list in bulkfetch
        if cursor is not None:
            body["nextPageToken"] = decode_cursor(cursor, _CURSOR_KIND)
        return ApiRequest("POST", self.path("/search/jql"), json=body, idempotent=True)

    def parse_search(
        self,
        raw: Any,
        request: ApiRequest,
        defs: Mapping[str, CustomField] | None,
        base_url: str,
    ) -> SearchPage:
        page = parse_search_page(raw, endpoint=request.template, field_defs=defs, base_url=base_url)
        token = page.next_page_token
        more = not page.is_last and token is not None and bool(page.items)
        return SearchPage(
            issues=page.items,
            next_cursor=encode_cursor(_CURSOR_KIND, token) if more and token else None,
            total=page.total,
        )

    def count_request(self, jql: str) -> ApiRequest:
        return ApiRequest(
            "POST", self.path("/search/approximate-count"), json={"jql": jql}, idempotent=True
        )

    def parse_count(self, raw: Any, request: ApiRequest) -> int:
        count = opt_int(obj(raw, request.template, "$").get("count"), request.template, "$.count")
        if count is None:
            fail(request.template, "$.count", "missing count")
        return count

    def bulk_limit(
        self, fields: Sequence[str], expand: Sequence[str], defs: Mapping[str, CustomField] | None
    ) -> int:
        if (
            self.large_bulkfetch
            and not expand
            and 0 < len(fields) <= LARGE_BULKFETCH_MAX_FIELDS
            and concrete_single_valued(fields, defs)
        ):
            return LARGE_BULKFETCH_LIMIT
        return BULKFETCH_LIMIT

    def bulk_rejected(self, size: int) -> int | None:
        if size > BULKFETCH_LIMIT:
            # This site does not take large batches (yet): stop trying for this client.
            self.large_bulkfetch = False
            return BULKFETCH_LIMIT
        return None

    def bulk_request(
        self, refs: Sequence[str], fields: Sequence[str], expand: Sequence[str]
    ) -> ApiRequest:
        body: dict[str, Any] = {
            "issueIdsOrKeys": list(refs),
            "fields": list(fields),
            "fieldsByKeys": False,
        }
        if expand:
            body["expand"] = list(expand)
        return ApiRequest("POST", self.path("/issue/bulkfetch"), json=body, idempotent=True)

    def changelog_request(self, key: str, start_at: int, max_results: int) -> ApiRequest:
        return ApiRequest(
            "GET",
            self.path("/issue/{key}/changelog"),
            {"key": key},
            {"startAt": start_at, "maxResults": max_results},
        )

    def parse_changelog(
        self, raw: Any, request: ApiRequest, start_at: int, max_results: int
    ) -> Page[ChangelogEntry]:
        return parse_changelog_page(raw, endpoint=request.template)

    def rich_body(self, body: str | Mapping[str, Any]) -> JsonValue:
        if isinstance(body, str):
            return _adf_from_text(body)
        return dict(body)

    def user_requests(self, user_id: str) -> list[ApiRequest]:
        return [ApiRequest("GET", self.path("/user"), params={"accountId": user_id})]

    def users_bulk_request(self, ids: Sequence[str]) -> ApiRequest:
        return ApiRequest(
            "GET",
            self.path("/user/bulk"),
            params={"accountId": list(ids), "maxResults": len(ids)},
        )

    def user_search_request(self, query: str, max_results: int) -> ApiRequest:
        return ApiRequest(
            "GET", self.path("/user/search"), params={"query": query, "maxResults": max_results}
        )

    def user_ref(self, user: User) -> dict[str, str]:
        return {"accountId": user.account_id or user.id}

    def attachment_content_request(self, attachment_id: str, filename: str | None) -> ApiRequest:
        # redirect=false: Cloud otherwise answers 303 to its media service, and the shared
        # httpx client does not follow redirects (credentials must not travel to other hosts).
        return ApiRequest(
            "GET",
            self.path("/attachment/content/{id}"),
            {"id": attachment_id},
            {"redirect": "false"},
        )
