"""Custom fields (`cf[10016]`, `customfield_10016`) compared by value.

A custom value may be a number, a string, an option/sprint object (`{"name": ...}`,
`{"value": ...}`) or a list of those; a clause matches when any atom matches.
"""

from __future__ import annotations

import operator as op_
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.sandbox.jql_values import text_matcher

if TYPE_CHECKING:
    from gateway.sandbox.model import SandboxIssue

_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<": op_.lt,
    "<=": op_.le,
    ">": op_.gt,
    ">=": op_.ge,
}


def atoms(value: Any) -> list[Any]:
    """Flatten a custom field value into comparable atoms (None and [] have none: EMPTY)."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [a for item in value for a in atoms(item)]
    if isinstance(value, dict):
        return [value[k] for k in ("value", "name", "id", "key") if value.get(k) is not None]
    return [value]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _equal(atom: Any, low: str, num: float | None) -> bool:
    if isinstance(atom, int | float) and not isinstance(atom, bool):
        return num is not None and atom == num
    return str(atom).lower() == low


def custom_pred(
    op: str, values: list[str], empty: bool, key: str
) -> Callable[[SandboxIssue], bool]:
    """The closure for one custom-field clause."""
    wanted = [(v.lower(), _number(v)) for v in values]

    def get(i: SandboxIssue) -> list[Any]:
        return atoms(i.custom.get(key))

    def hit(i: SandboxIssue) -> bool:
        return any(_equal(a, low, num) for a in get(i) for low, num in wanted)

    if op in ("=", "in"):
        return (lambda i: not get(i) or hit(i)) if empty else hit
    if op in ("!=", "not in"):
        return lambda i: bool(get(i)) and not hit(i)
    if op in ("is", "is not") or empty:
        is_empty = op in ("is", "~")
        return (lambda i: not get(i)) if is_empty else (lambda i: bool(get(i)))
    if op in _CMP:
        cmp, bound = _CMP[op], wanted[0][1] if wanted else None
        if bound is None:
            return lambda i: False
        return lambda i: any(
            isinstance(a, int | float) and not isinstance(a, bool) and cmp(a, bound) for a in get(i)
        )
    match = text_matcher(values[0]) if values else None
    if match is None:
        return lambda i: False
    if op == "~":
        return lambda i: match(" ".join(str(a) for a in get(i)))
    return lambda i: bool(get(i)) and not match(" ".join(str(a) for a in get(i)))
