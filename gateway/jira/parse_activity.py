"""Normalizers for what happens on an issue: comments, changelog, attachments, and pages of them.

Pagination comes in three styles (SOURCES.md quirk 5) and ``parse_page`` reads all of them:
``startAt/maxResults/total`` (classic search, embedded comment/changelog/worklog pages),
``values`` + ``isLast`` (Cloud changelog, ``/comment/list``, ``/project/search``) and
``nextPageToken`` + ``isLast`` without a total (``/rest/api/3/search/jql``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TypeVar

from gateway.jira.dto import (
    Attachment,
    ChangeItem,
    ChangelogEntry,
    Comment,
    Page,
    RichText,
    Visibility,
)
from gateway.jira.parse_base import (
    arr,
    fail,
    id_or_self,
    obj,
    opt_bool,
    opt_datetime,
    opt_id,
    opt_int,
    opt_str,
    opt_user,
    opt_visibility,
    req_str,
    rich_text,
)

T = TypeVar("T")
ItemParser = Callable[[object, str, str], T]


def parse_page(
    raw: object,
    endpoint: str,
    path: str,
    keys: tuple[str, ...],
    parse_item: ItemParser[T],
) -> Page[T]:
    """A page in any style; ``keys`` are the candidate item-list keys (first present wins).

    A bare array (``fields.comment`` in Atlassian's own examples and JIRA 4.x) is a complete
    page.
    """
    if isinstance(raw, list):
        items = tuple(parse_item(item, endpoint, f"{path}[{i}]") for i, item in enumerate(raw))
        return Page(items=items, start_at=0, max_results=None, total=len(items), is_last=True)
    data = obj(raw, endpoint, path)
    for items_key in keys:
        if items_key in data:
            break
    else:
        fail(endpoint, path, f"expected a page with one of {list(keys)}")
    items_path = f"{path}.{items_key}"
    items_raw = arr(data[items_key], endpoint, items_path)
    items = tuple(
        parse_item(item, endpoint, f"{items_path}[{i}]") for i, item in enumerate(items_raw)
    )
    start_at = opt_int(data.get("startAt"), endpoint, f"{path}.startAt") or 0
    max_results = opt_int(data.get("maxResults"), endpoint, f"{path}.maxResults")
    total = opt_int(data.get("total"), endpoint, f"{path}.total")
    is_last_flag = opt_bool(data.get("isLast"), endpoint, f"{path}.isLast")
    token = opt_str(data.get("nextPageToken"), endpoint, f"{path}.nextPageToken") or None
    if is_last_flag is not None:
        is_last = is_last_flag
    elif token is not None:
        is_last = False
    elif total is not None:
        # Embedded pages such as worklog {"maxResults": 20, "total": 3257, "worklogs": []}.
        is_last = start_at + len(items) >= total
    else:
        is_last = True
    return Page(
        items=items,
        start_at=start_at,
        max_results=max_results,
        total=total,
        is_last=is_last,
        next_page_token=None if is_last else token,
    )


def _legacy_visibility(data: Mapping[str, object]) -> Visibility | None:
    # JIRA 4.x/5.0 comments restrict with "roleLevel"/"groupLevel" instead of "visibility".
    for key, kind in (("roleLevel", "role"), ("groupLevel", "group")):
        value = data.get(key)
        if isinstance(value, str) and value:
            return Visibility(type=kind, value=value)
    return None


def parse_comment(
    raw: object, *, endpoint: str, path: str = "$", rendered_body: str | None = None
) -> Comment:
    data = obj(raw, endpoint, path)
    body = rich_text(data.get("body"), rendered_body, endpoint, f"{path}.body") or RichText(wiki="")
    # Cloud webhook and /comment/list bodies may carry "renderedBody" inline.
    if body.rendered_html is None and isinstance(data.get("renderedBody"), str):
        body = RichText(adf=body.adf, wiki=body.wiki, rendered_html=data["renderedBody"])
    visibility = opt_visibility(data.get("visibility"), endpoint, f"{path}.visibility")
    return Comment(
        id=id_or_self(data, endpoint, path),
        author=opt_user(data.get("author"), endpoint, f"{path}.author"),
        update_author=opt_user(data.get("updateAuthor"), endpoint, f"{path}.updateAuthor"),
        body=body,
        created=opt_datetime(data.get("created"), endpoint, f"{path}.created"),
        updated=opt_datetime(data.get("updated"), endpoint, f"{path}.updated"),
        visibility=visibility or _legacy_visibility(data),
    )


def _comment_item(raw: object, endpoint: str, path: str) -> Comment:
    return parse_comment(raw, endpoint=endpoint, path=path)


def parse_comment_page(
    raw: object, *, endpoint: str, path: str = "$", rendered: object = None
) -> Page[Comment]:
    """``/issue/{key}/comment``, the embedded ``fields.comment`` page, or ``/comment/list``.

    ``rendered`` is the matching ``renderedFields.comment`` page; bodies are matched by id.
    """
    page = parse_page(raw, endpoint, path, ("comments", "values"), _comment_item)
    html_by_id = _rendered_bodies(rendered)
    if not html_by_id:
        return page
    items = tuple(
        replace(c, body=replace(c.body, rendered_html=html_by_id[c.id]))
        if c.id in html_by_id
        else c
        for c in page.items
    )
    return replace(page, items=items)


def _rendered_bodies(rendered: object) -> dict[str, str]:
    if not isinstance(rendered, dict) or not isinstance(rendered.get("comments"), list):
        return {}
    out: dict[str, str] = {}
    for item in rendered["comments"]:
        if isinstance(item, dict) and isinstance(item.get("body"), str):
            ident = item.get("id")
            if isinstance(ident, str | int):
                out[str(ident)] = item["body"]
    return out


def parse_change_item(raw: object, *, endpoint: str, path: str = "$") -> ChangeItem:
    data = obj(raw, endpoint, path)
    return ChangeItem(
        field=req_str(data.get("field"), endpoint, f"{path}.field"),
        field_id=opt_str(data.get("fieldId"), endpoint, f"{path}.fieldId"),
        field_type=opt_str(data.get("fieldtype"), endpoint, f"{path}.fieldtype"),
        from_id=opt_id(data.get("from"), endpoint, f"{path}.from"),
        from_string=opt_str(data.get("fromString"), endpoint, f"{path}.fromString"),
        to_id=opt_id(data.get("to"), endpoint, f"{path}.to"),
        to_string=opt_str(data.get("toString"), endpoint, f"{path}.toString"),
    )


def parse_change_items(raw: object, endpoint: str, path: str) -> tuple[ChangeItem, ...]:
    items = arr(raw, endpoint, path)
    return tuple(
        parse_change_item(item, endpoint=endpoint, path=f"{path}[{i}]")
        for i, item in enumerate(items)
    )


def parse_changelog_entry(raw: object, *, endpoint: str, path: str = "$") -> ChangelogEntry:
    data = obj(raw, endpoint, path)
    return ChangelogEntry(
        id=opt_id(data.get("id"), endpoint, f"{path}.id"),
        author=opt_user(data.get("author"), endpoint, f"{path}.author"),
        created=opt_datetime(data.get("created"), endpoint, f"{path}.created"),
        items=parse_change_items(data.get("items"), endpoint, f"{path}.items"),
    )


def _changelog_item(raw: object, endpoint: str, path: str) -> ChangelogEntry:
    return parse_changelog_entry(raw, endpoint=endpoint, path=path)


def parse_changelog_page(raw: object, *, endpoint: str, path: str = "$") -> Page[ChangelogEntry]:
    """Embedded ``{startAt, maxResults, total, histories}`` or Cloud ``{values, isLast, ...}``."""
    return parse_page(raw, endpoint, path, ("histories", "values"), _changelog_item)


def parse_attachment(raw: object, *, endpoint: str, path: str = "$") -> Attachment:
    data = obj(raw, endpoint, path)
    return Attachment(
        id=id_or_self(data, endpoint, path),
        filename=req_str(data.get("filename"), endpoint, f"{path}.filename"),
        size=opt_int(data.get("size"), endpoint, f"{path}.size"),
        mime_type=opt_str(data.get("mimeType"), endpoint, f"{path}.mimeType"),
        author=opt_user(data.get("author"), endpoint, f"{path}.author"),
        created=opt_datetime(data.get("created"), endpoint, f"{path}.created"),
        content_url=opt_str(data.get("content"), endpoint, f"{path}.content"),
        thumbnail_url=opt_str(data.get("thumbnail"), endpoint, f"{path}.thumbnail"),
    )
