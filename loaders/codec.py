"""JSON form of the JIRA DTOs for a serializing cache backend (Redis): ``dto_codec(Type)``.

The DTOs are frozen dataclasses of str/int/bool, datetimes, dates, tuples, mappings and nested
DTOs. ``dump`` turns one into plain JSON values; ``load`` rebuilds it from the dataclass's own
type hints (never from type tags inside the data, so a value JIRA sent - an ADF document, a
custom field's JSON - can never make the decoder build something else).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar, Union

from gateway.cache_fetch import Codec

V = TypeVar("V")


def dump(value: Any) -> Any:
    """A DTO (or any nesting of them) as JSON-compatible values."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(dump(v) for v in value)
    if isinstance(value, tuple | list):
        return [dump(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): dump(v) for k, v in value.items()}
    raise TypeError(f"cannot encode {type(value).__name__} for the cache")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _substitute(hint: Any, bindings: Mapping[Any, Any]) -> Any:
    if isinstance(hint, TypeVar):
        return bindings.get(hint, Any)
    return hint


def load_as(hint: Any, raw: Any, bindings: Mapping[Any, Any] | None = None) -> Any:
    """Rebuild ``raw`` as the type ``hint`` (the inverse of ``dump``)."""
    hint = _substitute(hint, bindings or {})
    if raw is None or hint is Any or isinstance(hint, str | typing.ForwardRef):
        return raw  # JSON values (JsonValue is a string alias) stay as they are
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return load_as(options[0], raw, bindings) if len(options) == 1 else raw
    if origin is typing.Literal:
        return raw
    if origin is tuple:
        args = typing.get_args(hint)
        return tuple(load_as(args[0], item, bindings) for item in raw)
    if origin is frozenset:
        (arg,) = typing.get_args(hint)
        return frozenset(load_as(arg, item, bindings) for item in raw)
    if origin in (dict, Mapping):
        _, arg = typing.get_args(hint)
        return {k: load_as(arg, v, bindings) for k, v in raw.items()}
    if origin is list:
        return raw
    if origin is not None and dataclasses.is_dataclass(origin):
        params = getattr(origin, "__parameters__", ())
        inner = dict(zip(params, typing.get_args(hint), strict=False))
        return _load_dataclass(typing.cast(type, origin), raw, inner)
    if hint is datetime:
        return datetime.fromisoformat(raw)
    if hint is date:
        return date.fromisoformat(raw)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _load_dataclass(hint, raw, {})
    return raw


def _load_dataclass(cls: type, raw: Mapping[str, Any], bindings: Mapping[Any, Any]) -> Any:
    hints = _hints(cls)
    kwargs = {
        f.name: load_as(hints[f.name], raw[f.name], bindings)
        for f in dataclasses.fields(cls)
        if f.name in raw
    }
    return cls(**kwargs)


def dto_codec(hint: Any) -> Codec[Any]:
    """A ``Codec`` for values of type ``hint`` (a DTO class, or e.g. ``Page[Comment]``)."""
    return Codec(dump=dump, load=lambda raw: load_as(hint, raw))
