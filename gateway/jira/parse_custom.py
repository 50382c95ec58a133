"""Custom field values: every polymorphic form JIRA sends, to one ``CustomFieldValue``.

Seen in real payloads (SOURCES.md quirk 2): null, strings, numbers, option objects
``{self, value, id}`` (cascading ones with ``child``), arrays of options/users/strings, user
objects, LexoRank strings ``"0|i000b3:"``, the dev-summary ``"{}"``, ``nonEditableReason``
objects, Cloud sprint objects and legacy serialized Sprint strings
``com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=1,rapidViewId=2,state=ACTIVE,...]``.
The field *type* is only known from ``expand=names,schema`` or ``/field``; the value shapes
are recognised structurally so that an issue fetched without either still normalizes.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.jira.dto import CustomField, CustomFieldValue, JsonValue
from gateway.jira.parse_base import adf_text

_SPRINT_PREFIX = "com.atlassian.greenhopper.service.sprint.Sprint@"
# Values never contain "," followed by "key=", so this split is safe for names with commas.
_SPRINT_PAIR = re.compile(r"(\w+)=(.*?)(?=,\w+=|$)")
_SPRINT_INTS = frozenset({"id", "rapidViewId", "sequence"})


def parse_sprint_string(text: str) -> dict[str, JsonValue] | None:
    """A legacy ``Sprint@hash[id=1,state=ACTIVE,name=S 1,goal=<null>,...]`` -> dict, or None."""
    if not text.startswith(_SPRINT_PREFIX):
        return None
    start = text.find("[")
    if start < 0 or not text.endswith("]"):
        return None
    result: dict[str, JsonValue] = {}
    for key, raw in _SPRINT_PAIR.findall(text[start + 1 : -1]):
        value: JsonValue = None if raw == "<null>" else raw
        if key in _SPRINT_INTS and isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        result[key] = value
    return result


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_user(data: dict[str, Any]) -> bool:
    if "accountId" in data:
        return True
    self_url = data.get("self")
    return isinstance(self_url, str) and "/user?" in self_url


def _normalize_item(raw: Any) -> tuple[JsonValue, str | None]:
    """(value, text) of one scalar, object or array element."""
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return raw, "Yes" if raw else "No"
    if isinstance(raw, int | float):
        return raw, _number_text(raw)
    if isinstance(raw, str):
        if raw in ("{}", ""):
            return None, None  # the dev-summary field with nothing to summarize
        sprint = parse_sprint_string(raw)
        if sprint is not None:
            name = sprint.get("name")
            return sprint, name if isinstance(name, str) else None
        return raw, raw
    if isinstance(raw, list):
        values: list[JsonValue] = []
        texts: list[str] = []
        for item in raw:
            value, text = _normalize_item(item)
            if value is not None:
                values.append(value)
            if text:
                texts.append(text)
        return values, ", ".join(texts) or None
    if isinstance(raw, dict):
        return _normalize_object(raw)
    return None, None


def _normalize_object(data: dict[str, Any]) -> tuple[JsonValue, str | None]:
    if not data:
        return None, None
    if "value" in data and not isinstance(data["value"], dict | list):
        # An option; a cascading option carries its selected child in "child".
        parent = data["value"]
        parent_text = None if parent is None else str(parent)
        child = data.get("child")
        if isinstance(child, dict) and child.get("value") is not None:
            child_text = str(child["value"])
            return [parent_text, child_text], f"{parent_text} - {child_text}"
        return parent_text, parent_text
    if _is_user(data):
        ident = data.get("accountId") or data.get("key") or data.get("name")
        display = data.get("displayName") or data.get("name") or ident
        return {"id": ident, "displayName": display}, display if isinstance(display, str) else None
    if data.get("type") == "doc" and "content" in data:
        return data, adf_text(data) or None
    name = data.get("name")
    if isinstance(name, str):
        return data, name
    key = data.get("key")
    return data, key if isinstance(key, str) else None


def _unavailable(raw: Any) -> str | None:
    if isinstance(raw, dict):
        reason = raw.get("nonEditableReason")
        if isinstance(reason, dict):
            message = reason.get("message") or reason.get("reason")
            return message if isinstance(message, str) else "unavailable"
    return None


# Most custom fields of most issues are null (a Cloud search hit carries ~50 of them), and a
# null value depends only on its definition: share one immutable DTO per field instead of
# building ~50 per issue (halves parse_issue time on Cloud pages).
_NULLS: dict[tuple[str, str | None, str | None, str | None], CustomFieldValue] = {}
_NULLS_MAX = 20_000


def _null_value(ident: str, definition: CustomField | None) -> CustomFieldValue:
    if definition is None:
        key: tuple[str, str | None, str | None, str | None] = (ident, None, None, None)
    else:
        key = (ident, definition.name, definition.type, definition.custom_type)
    cached = _NULLS.get(key)
    if cached is None:
        if len(_NULLS) >= _NULLS_MAX:
            _NULLS.clear()
        cached = _NULLS[key] = CustomFieldValue(
            id=ident, name=key[1] or ident, type=key[2], custom_type=key[3], text=None, value=None
        )
    return cached


def parse_custom_value(ident: str, raw: Any, definition: CustomField | None) -> CustomFieldValue:
    """Normalize one ``customfield_NNNNN`` value; never raises (any JSON is a legal value)."""
    if raw is None:
        return _null_value(ident, definition)
    reason = _unavailable(raw)
    if reason is not None:
        value: JsonValue = None
        text: str | None = None
    else:
        value, text = _normalize_item(raw)
    if definition is None:
        return CustomFieldValue(
            id=ident, name=ident, type=None, custom_type=None, text=text, value=value,
            unavailable_reason=reason,
        )  # fmt: skip
    return CustomFieldValue(
        id=ident,
        name=definition.name,
        type=definition.type,
        custom_type=definition.custom_type,
        text=text,
        value=value,
        unavailable_reason=reason,
    )
