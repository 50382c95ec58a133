"""The JIRA client of one site: flavor-neutral methods returning DTOs.

One :class:`JiraClient` per site, over that site's :class:`JiraTransport` (which holds the
app's shared ``httpx.AsyncClient``, the limits, retries, breaker and coalescing). Every method
takes a :class:`Caller`: the user's credentials and the principal id that scopes coalescing, so
one user's answer is never handed to another. The only state shared between callers is
permission-neutral site metadata: the flavor and the field definitions (names and types; the
values stay in each caller's own answers).

Cloud vs Server/Data Center differences are delegated to the adapter picked by the flavor
(``adapter_cloud`` / ``adapter_server``); nothing in this module names a flavor-specific path.
Rich text comes back raw inside the DTOs (ADF on Cloud, wiki on Server): ``gateway.markup``
renders it. Errors are the ``gateway.jira.errors`` tree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.jira.adapter_base import (
    ApiRequest,
    Caller,
    JiraAdapter,
    JqlParseResult,
    SearchPage,
    Transition,
    parse_jql_results,
    parse_transitions,
)
from gateway.jira.adapter_cloud import CloudAdapter
from gateway.jira.adapter_server import ServerAdapter
from gateway.jira.dto import (
    ChangelogEntry,
    Comment,
    CustomField,
    Issue,
    IssueType,
    Page,
    Priority,
    Project,
    Status,
    User,
)
from gateway.jira.errors import JiraNotFound
from gateway.jira.flavor import SERVER_INFO, Flavor, ServerInfo, parse_server_info
from gateway.jira.pagination import PageRequest, iterate_items, paginate_values
from gateway.jira.parse_activity import parse_attachment, parse_comment, parse_comment_page
from gateway.jira.parse_base import parse_user
from gateway.jira.parse_issue import parse_issue
from gateway.jira.parse_meta import (
    parse_field_defs,
    parse_issue_types,
    parse_priorities,
    parse_project,
    parse_projects,
    parse_statuses,
    parse_users,
)
from gateway.jira.transport import JiraTransport

__all__ = [
    "Caller",
    "ClientConfig",
    "JiraClient",
    "JqlParseResult",
    "SearchPage",
    "Transition",
    "adapter_for",
]

T = TypeVar("T")

# Page size used when the client walks pages on its own (comments, changelog remainders).
_WALK_PAGE = 100


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Per-site client settings (the transport has its own :class:`TransportConfig`)."""

    flavor: Flavor | None = None  # None: detect from serverInfo on first use
    field_ttl: float = 3600.0  # custom field definitions are cached this long (seconds)
    large_bulkfetch: bool = False  # Cloud: 1000-issue bulkfetch batches when the rule allows


def adapter_for(flavor: Flavor, config: ClientConfig | None = None) -> JiraAdapter:
    config = config or ClientConfig()
    if flavor is Flavor.CLOUD:
        return CloudAdapter(large_bulkfetch=config.large_bulkfetch)
    return ServerAdapter()


async def _complete(embedded: Page[T], fetch: Callable[[int], Awaitable[Page[T]]]) -> tuple[T, ...]:
    """``embedded``'s items plus the pages ``fetch(start_at)`` returns after them, to the end."""
    items = list(embedded.items)
    done = not embedded.truncated
    while not done:
        page = await fetch(embedded.start_at + len(items))
        items.extend(page.items)
        done = page.is_last or not page.items
    return tuple(items)


def _wants_definitions(fields: Sequence[str]) -> bool:
    return any(f.startswith("customfield_") or f in {"*all", "*navigable"} for f in fields)


class JiraClient:
    """All JIRA operations the gateway needs, for one site."""

    def __init__(
        self,
        transport: JiraTransport,
        *,
        config: ClientConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.config = config or ClientConfig()
        self._clock = clock
        self._adapter = adapter_for(self.config.flavor, self.config) if self.config.flavor else None
        self._flavor_lock = asyncio.Lock()
        self._fields: dict[str, CustomField] | None = None
        self._fields_at = 0.0
        self._fields_lock = asyncio.Lock()

    @property
    def site(self) -> str:
        return self.transport.site

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    # --- plumbing ---------------------------------------------------------------------------
    async def call(self, caller: Caller, req: ApiRequest) -> Any:
        """Send one described request for ``caller``; decoded JSON (None for 204)."""
        return await self.transport.request(
            req.method,
            req.template,
            path_params=req.path_params,
            params=req.params,
            json=req.json,
            auth=caller.auth,
            principal=caller.principal,
            idempotent=req.idempotent,
        )

    async def adapter(self, caller: Caller) -> JiraAdapter:
        """The site's adapter; detects the flavor on first use (once, even when concurrent)."""
        if self._adapter is None:
            async with self._flavor_lock:
                if self._adapter is None:
                    info = await self.server_info(caller)
                    self._adapter = adapter_for(info.flavor, self.config)
        return self._adapter

    async def flavor(self, caller: Caller) -> Flavor:
        return (await self.adapter(caller)).flavor

    async def field_defs_for(
        self, caller: Caller, fields: Sequence[str]
    ) -> Mapping[str, CustomField] | None:
        """Definitions to name custom field values: fetched only when such fields are asked."""
        if _wants_definitions(fields):
            return await self.fields(caller)
        return self._fields

    # --- site and identity ------------------------------------------------------------------
    async def server_info(self, caller: Caller) -> ServerInfo:
        raw = await self.call(caller, ApiRequest("GET", SERVER_INFO))
        return parse_server_info(raw)

    async def myself(self, caller: Caller) -> User:
        a = await self.adapter(caller)
        req = ApiRequest("GET", a.path("/myself"))
        return parse_user(await self.call(caller, req), endpoint=req.template)

    # --- issues and search ------------------------------------------------------------------
    async def get_issue(
        self, caller: Caller, key: str, *, fields: Sequence[str], expand: Sequence[str] = ()
    ) -> Issue:
        """One issue with only ``fields`` (``["*all"]`` when really all). 404 -> JiraNotFound."""
        a = await self.adapter(caller)
        params: dict[str, Any] = {"fields": ",".join(fields) or "key"}
        if expand:
            params["expand"] = ",".join(expand)
        req = ApiRequest("GET", a.path("/issue/{key}"), {"key": key}, params)
        raw = await self.call(caller, req)
        defs = await self.field_defs_for(caller, fields)
        return parse_issue(raw, endpoint=req.template, field_defs=defs, base_url=self.base_url)

    async def search(
        self,
        caller: Caller,
        jql: str,
        *,
        fields: Sequence[str],
        expand: Sequence[str] = (),
        page_size: int = 50,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of a JQL search; pass ``next_cursor`` back for the next one.

        Raises ``InvalidCursor`` for a cursor this client did not issue, ``JiraBadRequest``
        (with JIRA's ``error_messages``) for bad JQL.
        """
        a = await self.adapter(caller)
        req = a.search_request(jql, list(fields) or ["key"], list(expand), page_size, cursor)
        raw = await self.call(caller, req)
        defs = await self.field_defs_for(caller, fields)
        return a.parse_search(raw, req, defs, self.base_url)

    async def search_all(
        self,
        caller: Caller,
        jql: str,
        *,
        fields: Sequence[str],
        expand: Sequence[str] = (),
        page_size: int = 100,
        max_pages: int = 1000,
    ) -> AsyncIterator[Issue]:
        """Every issue matching ``jql``, page by page (stops after ``max_pages``)."""
        cursor: str | None = None
        for _ in range(max_pages):
            page = await self.search(
                caller, jql, fields=fields, expand=expand, page_size=page_size, cursor=cursor
            )
            for issue in page.issues:
                yield issue
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def approximate_count(self, caller: Caller, jql: str) -> int:
        """How many issues match (Cloud: an estimate; Server: the search total)."""
        a = await self.adapter(caller)
        req = a.count_request(jql)
        return a.parse_count(await self.call(caller, req), req)

    async def parse_jql(
        self, caller: Caller, queries: Sequence[str]
    ) -> list[JqlParseResult] | None:
        """JIRA's own JQL parser (Cloud); None where the site has none (Server/DC)."""
        a = await self.adapter(caller)
        if not a.has_jql_parse:
            return None
        req = ApiRequest(
            "POST",
            a.path("/jql/parse"),
            params={"validation": "strict"},
            json={"queries": list(queries)},
            idempotent=True,
        )
        return parse_jql_results(await self.call(caller, req), endpoint=req.template)

    # --- comments and changelog -------------------------------------------------------------
    async def get_comments(
        self, caller: Caller, key: str, *, start_at: int = 0, max_results: int = 50
    ) -> Page[Comment]:
        a = await self.adapter(caller)
        req = a.comments_request(key, start_at, max_results)
        return parse_comment_page(await self.call(caller, req), endpoint=req.template)

    async def complete_comments(
        self, caller: Caller, key: str, embedded: Page[Comment]
    ) -> tuple[Comment, ...]:
        """The embedded page's comments plus the ones JIRA left out (fetched from where it
        stopped)."""
        return await _complete(
            embedded,
            lambda start_at: self.get_comments(
                caller, key, start_at=start_at, max_results=_WALK_PAGE
            ),
        )

    async def get_changelog(
        self, caller: Caller, key: str, *, start_at: int = 0, max_results: int = 100
    ) -> Page[ChangelogEntry]:
        a = await self.adapter(caller)
        req = a.changelog_request(key, start_at, max_results)
        return a.parse_changelog(await self.call(caller, req), req, start_at, max_results)

    async def complete_changelog(
        self, caller: Caller, key: str, embedded: Page[ChangelogEntry]
    ) -> tuple[ChangelogEntry, ...]:
        """Like :meth:`complete_comments`, for an embedded ``expand=changelog`` page."""
        return await _complete(
            embedded,
            lambda start_at: self.get_changelog(
                caller, key, start_at=start_at, max_results=_WALK_PAGE
            ),
        )

    # --- writes (never retried) -------------------------------------------------------------
    async def add_comment(self, caller: Caller, key: str, body: str | Mapping[str, Any]) -> Comment:
        """Post a comment: ADF or plain text on Cloud, wiki markup on Server. Sent once."""
        a = await self.adapter(caller)
        req = ApiRequest(
            "POST",
            a.path("/issue/{key}/comment"),
            {"key": key},
            json={"body": a.rich_body(body)},
            idempotent=False,
        )
        return parse_comment(await self.call(caller, req), endpoint=req.template)

    async def edit_issue(
        self,
        caller: Caller,
        key: str,
        *,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
    ) -> None:
        a = await self.adapter(caller)
        body: dict[str, Any] = {}
        if fields:
            body["fields"] = dict(fields)
        if update:
            body["update"] = dict(update)
        req = ApiRequest("PUT", a.path("/issue/{key}"), {"key": key}, json=body, idempotent=False)
        await self.call(caller, req)

    async def transitions(self, caller: Caller, key: str) -> list[Transition]:
        a = await self.adapter(caller)
        req = ApiRequest("GET", a.path("/issue/{key}/transitions"), {"key": key})
        return parse_transitions(await self.call(caller, req), endpoint=req.template)

    async def do_transition(
        self,
        caller: Caller,
        key: str,
        transition_id: str,
        *,
        fields: Mapping[str, Any] | None = None,
        comment: str | Mapping[str, Any] | None = None,
    ) -> None:
        a = await self.adapter(caller)
        body: dict[str, Any] = {"transition": {"id": str(transition_id)}}
        if fields:
            body["fields"] = dict(fields)
        if comment is not None:
            body["update"] = {"comment": [{"add": {"body": a.rich_body(comment)}}]}
        req = ApiRequest(
            "POST", a.path("/issue/{key}/transitions"), {"key": key}, json=body, idempotent=False
        )
        await self.call(caller, req)

    # --- users ------------------------------------------------------------------------------
    async def get_user(self, caller: Caller, user_id: str) -> User | None:
        """One user by ``User.id`` (accountId on Cloud, key or name on Server); None if none."""
        a = await self.adapter(caller)
        for req in a.user_requests(user_id):
            try:
                raw = await self.call(caller, req)
            except JiraNotFound:
                continue
            return parse_user(raw, endpoint=req.template)
        return None

    async def get_users(self, caller: Caller, ids: Sequence[str]) -> dict[str, User | None]:
        """Users by id in as few calls as the flavor allows (see ``batching.fetch_users``)."""
        from gateway.jira.batching import fetch_users  # batching builds on this class

        return await fetch_users(self, caller, ids)

    async def search_users(
        self, caller: Caller, query: str, *, max_results: int = 50
    ) -> list[User]:
        a = await self.adapter(caller)
        req = a.user_search_request(query, max_results)
        return parse_users(await self.call(caller, req), endpoint=req.template)

    async def user_ref(self, caller: Caller, user: User) -> dict[str, str]:
        """How to name ``user`` in ``edit_issue`` values (assignee, user pickers)."""
        return (await self.adapter(caller)).user_ref(user)

    # --- metadata ---------------------------------------------------------------------------
    async def projects(self, caller: Caller) -> list[Project]:
        a = await self.adapter(caller)
        if not a.paged_projects:
            req = ApiRequest("GET", a.path("/project"))
            return parse_projects(await self.call(caller, req), endpoint=req.template)
        template = a.path("/project/search")
        pages = PageRequest(
            "GET", template, caller.principal, "values", auth=caller.auth, page_size=50
        )
        return [
            parse_project(raw, endpoint=template)
            async for raw in iterate_items(paginate_values(self.transport, pages))
        ]

    async def statuses(self, caller: Caller) -> list[Status]:
        req = ApiRequest("GET", (await self.adapter(caller)).path("/status"))
        return parse_statuses(await self.call(caller, req), endpoint=req.template)

    async def priorities(self, caller: Caller) -> list[Priority]:
        req = ApiRequest("GET", (await self.adapter(caller)).path("/priority"))
        return parse_priorities(await self.call(caller, req), endpoint=req.template)

    async def issue_types(self, caller: Caller) -> list[IssueType]:
        req = ApiRequest("GET", (await self.adapter(caller)).path("/issuetype"))
        return parse_issue_types(await self.call(caller, req), endpoint=req.template)

    async def fields(self, caller: Caller) -> dict[str, CustomField]:
        """Field definitions by id, cached for the site for ``config.field_ttl`` seconds."""
        if self._fields is not None and self._clock() - self._fields_at < self.config.field_ttl:
            return self._fields
        async with self._fields_lock:
            if self._fields is None or self._clock() - self._fields_at >= self.config.field_ttl:
                req = ApiRequest("GET", (await self.adapter(caller)).path("/field"))
                self._fields = parse_field_defs(await self.call(caller, req), endpoint=req.template)
                self._fields_at = self._clock()
            return self._fields

    # --- attachments ------------------------------------------------------------------------
    async def attachment_content(
        self, caller: Caller, attachment_id: str, *, filename: str | None = None
    ) -> bytes:
        """The attachment's bytes (size-capped by the transport)."""
        a = await self.adapter(caller)
        if a.needs_attachment_filename and not filename:
            meta = ApiRequest("GET", a.path("/attachment/{id}"), {"id": attachment_id})
            filename = parse_attachment(
                await self.call(caller, meta), endpoint=meta.template
            ).filename
        req = a.attachment_content_request(attachment_id, filename)
        return await self.transport.request_bytes(
            req.method,
            req.template,
            path_params=req.path_params,
            params=req.params,
            auth=caller.auth,
            principal=caller.principal,
            accept="*/*",
        )
