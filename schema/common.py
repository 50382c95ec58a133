"""Relay building blocks: the ``Node`` interface, opaque global ids, ``PageInfo``, cursors.

Global ids are opaque to clients (base64url of ``Type:site:local``); the gateway decodes them
in ``node(id)``. They carry the site because an issue key is only unique within one JIRA site.
Cursors are opaque too: offsets inside a list we hold, or the JIRA client's own search cursor.
"""

from __future__ import annotations

import base64
import binascii

import strawberry

from gateway.errors import InvalidInput, LimitExceeded


@strawberry.interface(
    description="An object with a global id: pass it to `node(id:)` to fetch it again."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global id, stable across requests (includes the JIRA site)."
    )


@strawberry.type(description="Where a page of a connection ends and whether more follow.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True when another page follows: ask again with `after: endCursor`."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of this page; null for an empty page."
    )


def b64_encode(raw: bytes) -> str:
    """URL-safe base64 without padding: the text of every opaque id and cursor."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64_decode(text: str) -> bytes:
    """The inverse of ``b64_encode``; ``binascii.Error`` or ``ValueError`` when not one."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_global_id(type_name: str, site_id: str, local_id: str) -> str:
    return b64_encode(f"{type_name}:{site_id}:{local_id}".encode())


def decode_global_id(global_id: str) -> tuple[str, str, str]:
    """``(type name, site id, local id)``; ``InvalidInput`` naming ``id`` when malformed."""
    try:
        raw = b64_decode(global_id).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("This is not a global id of this gateway.", field="id") from None
    type_name, _, rest = raw.partition(":")
    site_id, _, local_id = rest.partition(":")
    if not type_name or not site_id or not local_id:
        raise InvalidInput("This is not a global id of this gateway.", field="id")
    return type_name, site_id, local_id


def encode_offset(offset: int) -> str:
    return b64_encode(f"o:{offset}".encode())


MAX_OFFSET = 10_000_000


def decode_offset(cursor: str | None, *, field: str = "after") -> int:
    """The offset AFTER which the next page starts (``-1`` -> from the beginning)."""
    if cursor is None:
        return -1
    try:
        raw = b64_decode(cursor).decode()
        kind, _, value = raw.partition(":")
        if kind != "o":
            raise ValueError(kind)
        offset = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("This cursor does not belong to this list.", field=field) from None
    # No list we page by offset holds more than a few hundred thousand entries (selections
    # cap at 10,000); a larger offset is a forged cursor and must not reach SQL's OFFSET.
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput("This cursor does not belong to this list.", field=field)
    return offset


MAX_PAGE = 100


def check_first(first: int | None, default: int, *, field: str = "first") -> int:
    """Validate a page size: 1..100 (DESIGN §7); above is a clear error, never a silent cap."""
    if first is None:
        return default
    if first < 1:
        raise InvalidInput(f"`{field}` must be at least 1.", field=field)
    if first > MAX_PAGE:
        raise LimitExceeded(
            f"`{field}` is at most {MAX_PAGE} per page; page through with `after`.", field=field
        )
    return first
