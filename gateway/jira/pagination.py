"""Async iterators over JIRA's three pagination styles, one raw page at a time.

- offset: ``startAt`` / ``maxResults`` / ``total`` (Server search, comments, worklogs);
- values: ``values`` + ``isLast`` (+ ``nextPage`` link), the "PageBean" of newer endpoints;
- token: ``nextPageToken`` + ``isLast``, no total (Cloud ``/rest/api/3/search/jql``).

Each yields :class:`Page` objects holding raw item dicts (callers parse them). For POST
endpoints the paging fields travel in the JSON body, for GET in the query string. Guards:
a server that never ends stops us with :class:`JiraMalformedResponse` after ``max_pages``;
a page with zero items that claims more ends the iteration (continuing could loop forever);
a repeated ``nextPageToken`` too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from gateway.jira.errors import JiraMalformedResponse
from gateway.jira.transport import Params

DEFAULT_MAX_PAGES = 1000


class Requester(Protocol):
    """What the iterators need from :class:`gateway.jira.transport.JiraTransport`."""

    async def request(
        self,
        method: str,
        path_template: str,
        *,
        path_params: Mapping[str, object] | None = ...,
        params: Params | None = ...,
        json: Any = ...,
        auth: httpx.Auth | None = ...,
        principal: str,
        idempotent: bool | None = ...,
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its raw items, the reported total (if any) and the raw envelope."""

    items: list[dict[str, Any]]
    total: int | None
    is_last: bool
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Where and how to ask for pages (shared by the three styles)."""

    method: str
    path_template: str
    principal: str
    items_key: str
    path_params: Mapping[str, object] | None = None
    params: Mapping[str, Any] | None = None
    body: Mapping[str, Any] | None = None
    auth: httpx.Auth | None = None
    page_size: int = 50
    max_pages: int = DEFAULT_MAX_PAGES


async def _fetch(transport: Requester, req: PageRequest, paging: dict[str, Any]) -> dict[str, Any]:
    params: Mapping[str, Any] | None
    body: Mapping[str, Any] | None
    if req.method.upper() == "POST":
        params, body = req.params, {**(req.body or {}), **paging}
    else:
        params, body = {**(req.params or {}), **paging}, req.body
    data = await transport.request(
        req.method,
        req.path_template,
        path_params=req.path_params,
        params=params,
        json=body,
        auth=req.auth,
        principal=req.principal,
        idempotent=True,  # reads, even when POSTed (search)
    )
    if not isinstance(data, dict):
        raise JiraMalformedResponse(req.path_template, f"page is {type(data).__name__}, not object")
    return data


def _items(req: PageRequest, data: dict[str, Any]) -> list[dict[str, Any]]:
    items = data.get(req.items_key)
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise JiraMalformedResponse(
            req.path_template, f"{req.items_key!r} is not a list of objects"
        )
    return items


def _int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    # bool is an int: a stray `true` must not read as 1
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _too_many_pages(req: PageRequest) -> JiraMalformedResponse:
    return JiraMalformedResponse(
        req.path_template, f"pagination did not end after {req.max_pages} pages"
    )


async def paginate_offset(
    transport: Requester, req: PageRequest, *, start_at: int = 0
) -> AsyncIterator[Page]:
    """``startAt``/``maxResults``/``total`` pages; also serves ``values``+``isLast`` pages.

    The next ``startAt`` advances by the number of items received, not by ``page_size``:
    JIRA silently caps ``maxResults`` (search: 100 on Cloud, 1000 on Server by default).
    """
    position = start_at
    for _ in range(req.max_pages):
        data = await _fetch(transport, req, {"startAt": position, "maxResults": req.page_size})
        items = _items(req, data)
        total = _int(data, "total")
        position += len(items)
        is_last = _offset_is_last(data, items, total, position)
        yield Page(items=items, total=total, is_last=is_last, raw=data)
        if is_last:
            return
    raise _too_many_pages(req)


def _offset_is_last(
    data: dict[str, Any], items: list[dict[str, Any]], total: int | None, position: int
) -> bool:
    if not items:
        return True  # an empty page that claims more would make us loop
    is_last = data.get("isLast")
    if isinstance(is_last, bool):
        return is_last
    if total is not None:
        return position >= total
    if data.get("nextPage"):
        return False
    served = _int(data, "maxResults")
    # Without isLast or total, a short page is the last one.
    return served is None or len(items) < served


async def paginate_values(
    transport: Requester, req: PageRequest, *, start_at: int = 0
) -> AsyncIterator[Page]:
    """``values`` + ``isLast`` pages (``nextPage`` is a full URL: we page by ``startAt``)."""
    if req.items_key != "values":
        raise ValueError("paginate_values reads the 'values' key; use paginate_offset")
    async for page in paginate_offset(transport, req, start_at=start_at):
        yield page


async def paginate_token(transport: Requester, req: PageRequest) -> AsyncIterator[Page]:
    """``nextPageToken`` + ``isLast`` pages (no total)."""
    token: str | None = None
    seen: set[str] = set()
    for _ in range(req.max_pages):
        paging: dict[str, Any] = {"maxResults": req.page_size}
        if token is not None:
            paging["nextPageToken"] = token
        data = await _fetch(transport, req, paging)
        items = _items(req, data)
        raw_token = data.get("nextPageToken")
        token = raw_token if isinstance(raw_token, str) and raw_token else None
        is_last = data.get("isLast") is True or token is None or not items or token in seen
        if token is not None:
            seen.add(token)
        yield Page(items=items, total=_int(data, "total"), is_last=is_last, raw=data)
        if is_last:
            return
    raise _too_many_pages(req)


async def iterate_items(pages: AsyncIterator[Page]) -> AsyncIterator[dict[str, Any]]:
    """Flatten pages into items."""
    async for page in pages:
        for item in page.items:
            yield item
