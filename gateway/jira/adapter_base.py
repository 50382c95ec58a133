"""The seam between the flavor-neutral client and the Cloud / Server adapters.

An adapter never does I/O: it turns a client operation into :class:`ApiRequest` values and turns
JIRA's answers into DTOs. ``JiraClient`` sends the requests through the site's transport. This
keeps every Cloud vs Server/Data Center difference (paths, API version, user identity, paging
style, bulk endpoints, changelog source, attachment URLs) in ``adapter_cloud`` /
``adapter_server`` and nowhere else (STYLE rule 11).

Also home of the small value types the client returns that ``dto`` does not define:
:class:`Caller`, :class:`SearchPage`, :class:`Transition`, :class:`JqlParseResult`.
"""

from __future__ import annotations

import base64
import binascii
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from gateway.jira.dto import (
    ChangelogEntry,
    CustomField,
    Issue,
    JsonValue,
    Page,
    Status,
    User,
)
from gateway.jira.errors import JiraBadRequest
from gateway.jira.flavor import Flavor
from gateway.jira.parse_base import fail, obj, opt_bool, opt_obj, opt_str, req_id, req_str
from gateway.jira.parse_issue import parse_search_page
from gateway.jira.parse_meta import parse_status

# What JIRA accepts as an issue key (project keys: letter first, then letters/digits/_)
# or a numeric issue id. Anything else would only make JIRA reject a whole JQL chunk.
ISSUE_REF = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]*-[1-9][0-9]*|[0-9]+)$")


class InvalidCursor(ValueError):
    """A search cursor that this client did not issue (or one from the other flavor)."""


@dataclass(frozen=True, slots=True, eq=False)
class Caller:
    """Who a JIRA call is made for: ``principal`` scopes coalescing and caches, ``auth`` signs.

    Two callers with the same principal may share in-flight GETs; different principals never do.
    """

    principal: str
    auth: httpx.Auth


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One HTTP call, described; ``idempotent`` reads are retried by the transport."""

    method: str
    template: str
    path_params: Mapping[str, object] | None = None
    params: Mapping[str, Any] | None = None
    json: Any = None
    idempotent: bool | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a JQL search. ``next_cursor`` is opaque; None on the last page.

    ``total`` is None on Cloud (``/search/jql`` has none: use ``approximate_count``).
    """

    issues: tuple[Issue, ...]
    next_cursor: str | None
    total: int | None

    @property
    def is_last(self) -> bool:
        return self.next_cursor is None


@dataclass(frozen=True, slots=True)
class Transition:
    id: str
    name: str
    to: Status | None
    has_screen: bool | None = None


@dataclass(frozen=True, slots=True)
class JqlParseResult:
    """``/jql/parse`` for one query: ``errors`` empty means valid; ``structure`` is JIRA's AST."""

    query: str
    errors: tuple[str, ...]
    structure: dict[str, JsonValue] | None = field(default=None, hash=False)


def encode_cursor(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> str:
    """The value of a cursor made by :func:`encode_cursor` with the same ``kind``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("malformed search cursor") from None
    found, sep, value = raw.partition(":")
    if not sep or found != kind or not value:
        raise InvalidCursor("search cursor does not belong to this kind of JIRA")
    return value


def parse_transitions(raw: object, *, endpoint: str) -> list[Transition]:
    data = obj(raw, endpoint, "$")
    items = data.get("transitions")
    if not isinstance(items, list):
        fail(endpoint, "$.transitions", "expected array")
    out: list[Transition] = []
    for i, item in enumerate(items):
        path = f"$.transitions[{i}]"
        entry = obj(item, endpoint, path)
        to = opt_obj(entry.get("to"), endpoint, f"{path}.to")
        out.append(
            Transition(
                id=req_id(entry.get("id"), endpoint, f"{path}.id"),
                name=req_str(entry.get("name"), endpoint, f"{path}.name"),
                to=parse_status(to, endpoint=endpoint, path=f"{path}.to") if to else None,
                has_screen=opt_bool(entry.get("hasScreen"), endpoint, f"{path}.hasScreen"),
            )
        )
    return out


def parse_jql_results(raw: object, *, endpoint: str) -> list[JqlParseResult]:
    data = obj(raw, endpoint, "$")
    items = data.get("queries")
    if not isinstance(items, list):
        items = []
    out: list[JqlParseResult] = []
    for i, item in enumerate(items):
        entry = obj(item, endpoint, f"$.queries[{i}]")
        errors = entry.get("errors")
        structure = entry.get("structure")
        out.append(
            JqlParseResult(
                query=opt_str(entry.get("query"), endpoint, f"$.queries[{i}].query") or "",
                errors=tuple(str(e) for e in errors) if isinstance(errors, list) else (),
                structure=structure if isinstance(structure, dict) else None,
            )
        )
    return out


class JiraAdapter(ABC):
    """Everything that differs between Cloud and Server/Data Center, as pure functions."""

    flavor: ClassVar[Flavor]
    api: ClassVar[str]  # "3" (ADF) on Cloud, "2" (wiki) on Server
    bulk_users: ClassVar[bool]  # a bulk user endpoint exists
    has_jql_parse: ClassVar[bool]
    needs_attachment_filename: ClassVar[bool]
    paged_projects: ClassVar[bool]  # /project/search (values + isLast) instead of /project

    def path(self, tail: str) -> str:
        return f"/rest/api/{self.api}{tail}"

    # --- search ---------------------------------------------------------------------------
    @abstractmethod
    def search_request(
        self,
        jql: str,
        fields: Sequence[str],
        expand: Sequence[str],
        page_size: int,
        cursor: str | None,
    ) -> ApiRequest: ...

    @abstractmethod
    def parse_search(
        self,
        raw: Any,
        request: ApiRequest,
        defs: Mapping[str, CustomField] | None,
        base_url: str,
    ) -> SearchPage: ...

    @abstractmethod
    def count_request(self, jql: str) -> ApiRequest: ...

    @abstractmethod
    def parse_count(self, raw: Any, request: ApiRequest) -> int: ...

    # --- bulk issues ------------------------------------------------------------------------
    @abstractmethod
    def bulk_limit(
        self, fields: Sequence[str], expand: Sequence[str], defs: Mapping[str, CustomField] | None
    ) -> int:
        """How many keys one bulk call may carry for this field/expand selection."""

    @abstractmethod
    def bulk_request(
        self, refs: Sequence[str], fields: Sequence[str], expand: Sequence[str]
    ) -> ApiRequest: ...

    def chunks(self, refs: Sequence[str], limit: int) -> list[list[str]]:
        """Split refs into bulk calls of at most ``limit``."""
        return [list(refs[i : i + limit]) for i in range(0, len(refs), limit)]

    def bulk_rejected(self, size: int) -> int | None:
        """A bulk call of ``size`` refs got a 400: a smaller limit to retry with, or None."""
        return None

    def missing_refs(self, error: JiraBadRequest) -> set[str]:
        """Issue refs JIRA named as nonexistent in a rejected bulk call (upper-cased)."""
        return set()

    # --- comments, changelog ----------------------------------------------------------------
    def comments_request(self, key: str, start_at: int, max_results: int) -> ApiRequest:
        return ApiRequest(
            "GET",
            self.path("/issue/{key}/comment"),
            {"key": key},
            {"startAt": start_at, "maxResults": max_results},
        )

    @abstractmethod
    def changelog_request(self, key: str, start_at: int, max_results: int) -> ApiRequest: ...

    @abstractmethod
    def parse_changelog(
        self, raw: Any, request: ApiRequest, start_at: int, max_results: int
    ) -> Page[ChangelogEntry]: ...

    @abstractmethod
    def rich_body(self, body: str | Mapping[str, Any]) -> JsonValue:
        """A comment/description body as this API version wants it (ADF or wiki)."""

    # --- users ----------------------------------------------------------------------------
    @abstractmethod
    def user_requests(self, user_id: str) -> list[ApiRequest]:
        """Ways to fetch one user by ``User.id``, tried in order until one is not a 404."""

    def users_bulk_request(self, ids: Sequence[str]) -> ApiRequest:
        raise NotImplementedError(f"{self.flavor} JIRA has no bulk user endpoint")

    @abstractmethod
    def user_search_request(self, query: str, max_results: int) -> ApiRequest: ...

    @abstractmethod
    def user_ref(self, user: User) -> dict[str, str]:
        """How to name ``user`` in a write (assignee, user pickers)."""

    # --- attachments ------------------------------------------------------------------------
    @abstractmethod
    def attachment_content_request(self, attachment_id: str, filename: str | None) -> ApiRequest:
        """The attachment bytes; Server needs the filename (see ``needs_attachment_filename``)."""

    # --- shared parsing ---------------------------------------------------------------------
    def parse_issues(
        self,
        raw: Any,
        request: ApiRequest,
        defs: Mapping[str, CustomField] | None,
        base_url: str,
    ) -> list[Issue]:
        """The ``issues`` of a search or bulkfetch answer."""
        page = parse_search_page(raw, endpoint=request.template, field_defs=defs, base_url=base_url)
        return list(page.items)


# Multi-valued system fields: Cloud's large bulkfetch batches only allow single-valued ones.
MULTI_VALUED_FIELDS = frozenset(
    {
        "attachment",
        "comment",
        "components",
        "fixVersions",
        "issuelinks",
        "labels",
        "subtasks",
        "versions",
        "worklog",
    }
)


def concrete_single_valued(fields: Sequence[str], defs: Mapping[str, CustomField] | None) -> bool:
    """True when ``fields`` names fields one by one and none of them holds a list."""
    for name in fields:
        if name.startswith(("*", "-")) or name in MULTI_VALUED_FIELDS:
            return False
        definition = defs.get(name) if defs else None
        if definition is not None and definition.type == "array":
            return False
        if definition is None and name.startswith("customfield_"):
            return False  # unknown custom field: it may be multi-valued
    return True
