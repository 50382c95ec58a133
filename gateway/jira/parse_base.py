"""Shared pieces of the normalizers: typed accessors that name the endpoint and JSON path.

Every accessor takes the endpoint template and the JSON path of the value it looks at, so a
wrong shape raises ``JiraMalformedResponse(endpoint, "issues[3].fields.status: expected
object, got str")`` instead of a ``KeyError`` three layers up. Paths are only formatted on the
error branch; the happy path does a type check and a dict lookup.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NoReturn
from urllib.parse import parse_qs

from gateway.jira.dto import JsonValue, RichText, User, Visibility
from gateway.jira.errors import JiraMalformedResponse
from gateway.jira.timefmt import parse_date, parse_datetime

Raw = dict[str, Any]


def fail(endpoint: str, path: str, what: str) -> NoReturn:
    raise JiraMalformedResponse(endpoint, f"{path or '$'}: {what}")


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def obj(value: object, endpoint: str, path: str) -> Raw:
    """A required JSON object."""
    if isinstance(value, dict):
        return value
    fail(endpoint, path, f"expected object, got {_kind(value)}")


def opt_obj(value: object, endpoint: str, path: str) -> Raw | None:
    """An optional JSON object; ``null`` and ``{}`` are both "nothing"."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value or None
    fail(endpoint, path, f"expected object or null, got {_kind(value)}")


def arr(value: object, endpoint: str, path: str) -> list[Any]:
    """An optional JSON array; ``null`` is an empty array."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    fail(endpoint, path, f"expected array, got {_kind(value)}")


def opt_str(value: object, endpoint: str, path: str) -> str | None:
    """Optional text; numbers are tolerated (some JIRA versions send numeric names)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    fail(endpoint, path, f"expected string, got {_kind(value)}")


def req_str(value: object, endpoint: str, path: str) -> str:
    text = opt_str(value, endpoint, path)
    if text is None:
        fail(endpoint, path, "missing required string")
    return text


def opt_id(value: object, endpoint: str, path: str) -> str | None:
    """An id: JIRA sends ``"10305"`` or ``10305``; we always hand out ``"10305"``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    fail(endpoint, path, f"expected id (string or integer), got {_kind(value)}")


def req_id(value: object, endpoint: str, path: str) -> str:
    ident = opt_id(value, endpoint, path)
    if not ident:
        fail(endpoint, path, "missing required id")
    return ident


def id_or_self(raw: Raw, endpoint: str, path: str, fallback: object = None) -> str:
    """``raw["id"]``, else the last segment of ``raw["self"]`` (older Server omits some ids),
    else ``fallback`` when it is a non-empty string."""
    ident = opt_id(raw.get("id"), endpoint, f"{path}.id")
    if ident:
        return ident
    self_url = raw.get("self")
    if isinstance(self_url, str) and "/" in self_url:
        tail = self_url.rstrip("/").rsplit("/", 1)[1]
        if tail and "?" not in tail:
            return tail
    if isinstance(fallback, str) and fallback:
        return fallback
    fail(endpoint, f"{path}.id", "missing required id")


def opt_bool(value: object, endpoint: str, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    fail(endpoint, path, f"expected boolean, got {_kind(value)}")


def opt_int(value: object, endpoint: str, path: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    fail(endpoint, path, f"expected integer, got {_kind(value)}")


def opt_datetime(value: object, endpoint: str, path: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return parse_datetime(value)
        except ValueError:
            pass
    fail(endpoint, path, f"expected timestamp, got {value!r:.60}")


def opt_date(value: object, endpoint: str, path: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            pass
    fail(endpoint, path, f"expected date, got {value!r:.60}")


def _avatar(raw: Raw) -> str | None:
    urls = raw.get("avatarUrls")
    if isinstance(urls, dict):
        for size in ("48x48", "32x32", "24x24", "16x16"):
            url = urls.get(size)
            if isinstance(url, str):
                return url
    url = raw.get("avatarUrl")
    return url if isinstance(url, str) else None


def avatar_url(raw: Raw) -> str | None:
    """The largest avatar of a user or project (``avatarUrls``) or the old single ``avatarUrl``."""
    return _avatar(raw)


def _ids_from_self(self_url: object) -> tuple[str | None, str | None]:
    """(accountId, username) from a user's ``self`` URL query, if it has one."""
    if not isinstance(self_url, str) or "?" not in self_url:
        return None, None
    query = parse_qs(self_url.split("?", 1)[1])
    account = query.get("accountId", [None])[0]
    username = query.get("username", [None])[0]
    return account or None, username or None


def parse_user(raw: object, *, endpoint: str, path: str = "$") -> User:
    """Any JIRA user object: Cloud (accountId), Server (name/key), transitional (both),
    anonymous (``{"name": "Anonymous"}``) and deleted (``{"name": ..., "active": false}``)."""
    data = obj(raw, endpoint, path)
    account_id = opt_str(data.get("accountId"), endpoint, f"{path}.accountId") or None
    name = opt_str(data.get("name"), endpoint, f"{path}.name") or None
    key = opt_str(data.get("key"), endpoint, f"{path}.key") or None
    if account_id is None and key is None and name is None:
        # Some recordings were sanitized down to "self" (".../user?username=jira_test").
        account_id, name = _ids_from_self(data.get("self"))
    ident = account_id or key or name
    if ident is None:
        fail(endpoint, path, "user has neither accountId, key nor name")
    display = opt_str(data.get("displayName"), endpoint, f"{path}.displayName")
    email = data.get("emailAddress")
    # Hidden emails are missing or "", masked ones lose their "@" ("joedotdoeatexampledotcom").
    if not isinstance(email, str) or "@" not in email:
        email = None
    active = opt_bool(data.get("active"), endpoint, f"{path}.active")
    return User(
        id=ident,
        account_id=account_id,
        name=name,
        key=key,
        display_name=display or name or ident,
        email=email,
        active=active is not False,
        avatar_url=_avatar(data),
        time_zone=data.get("timeZone") if isinstance(data.get("timeZone"), str) else None,
        account_type=data.get("accountType") if isinstance(data.get("accountType"), str) else None,
        deleted=active is False and display is None and "self" not in data,
    )


def opt_user(value: object, endpoint: str, path: str) -> User | None:
    if value is None or value == {}:
        return None
    return parse_user(value, endpoint=endpoint, path=path)


def rich_text(value: object, rendered: object, endpoint: str, path: str) -> RichText | None:
    """A rich-text field: ADF object (v3), wiki string (v2/webhooks) or null.

    ``rendered`` is the matching ``renderedFields`` entry (HTML) or None.
    """
    html = rendered if isinstance(rendered, str) and rendered else None
    if value is None or value == "":
        return RichText(rendered_html=html) if html else None
    if isinstance(value, str):
        return RichText(wiki=value, rendered_html=html)
    if isinstance(value, dict):
        return RichText(adf=value, rendered_html=html)
    fail(endpoint, path, f"expected ADF object or wiki string, got {_kind(value)}")


def opt_visibility(value: object, endpoint: str, path: str) -> Visibility | None:
    data = opt_obj(value, endpoint, path)
    if data is None:
        return None
    kind = opt_str(data.get("type"), endpoint, f"{path}.type")
    shown = opt_str(data.get("value") or data.get("identifier"), endpoint, f"{path}.value")
    if kind is None or shown is None:
        return None
    return Visibility(type=kind, value=shown)


def adf_text(node: JsonValue) -> str:
    """Concatenated text nodes of an ADF document: a cheap display string, not a renderer."""
    parts: list[str] = []
    stack: list[JsonValue] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            text = current.get("text")
            if isinstance(text, str):
                parts.append(text)
            content = current.get("content")
            if isinstance(content, list):
                stack.extend(reversed(content))
    return " ".join(p.strip() for p in parts if p.strip())
