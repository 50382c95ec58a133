"""A fast validator for Atlassian Document Format against Atlassian's published ADF JSON schema.

Plain ``jsonschema`` on ``adf/schema/adf-schema-v1-full.json`` costs ~60 ms per comment body:
every ``content`` item is matched against an ``anyOf`` of ~20 node schemas. ADF nodes are
tagged by ``type``, so this module rewrites each ``anyOf`` whose alternatives all pin a ``type``
value into an ``adfType`` dispatch (same semantics: a node must match one alternative carrying
its ``type``; an unknown ``type`` is an error) and inlines the ``$ref``s. Everything else in the
schema is validated by ``jsonschema`` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import orjson
from jsonschema import Draft4Validator, ValidationError, validators

from tests.contract.openapi_validator import CONTRACT

ADF_SCHEMA = CONTRACT / "adf" / "schema" / "adf-schema-v1-full.json"


def _pinned_type(schema: dict[str, Any]) -> str | None:
    """The single ``type`` value a node schema requires, looking through ``allOf``."""
    enum = schema.get("properties", {}).get("type", {}).get("enum")
    if isinstance(enum, list) and len(enum) == 1:
        return str(enum[0])
    for part in schema.get("allOf", []):
        found = _pinned_type(part)
        if found is not None:
            return found
    return None


def _dispatch(
    validator: Any, table: dict[str, list[dict[str, Any]]], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        yield ValidationError(f"{instance!r:.60} is not an ADF node object")
        return
    options = table.get(str(instance.get("type")))
    if not options:
        allowed = ", ".join(sorted(table))
        yield ValidationError(f"node type {instance.get('type')!r} not allowed here ({allowed})")
        return
    if len(options) == 1 or not any(validator.evolve(schema=o).is_valid(instance) for o in options):
        yield from validator.descend(instance, options[0])


AdfValidator = validators.extend(Draft4Validator, {"adfType": _dispatch})


@cache
def adf_validator() -> Any:
    """The rewritten ADF schema's validator (built once)."""
    schema = orjson.loads(ADF_SCHEMA.read_bytes())
    definitions: dict[str, Any] = schema["definitions"]

    def resolve(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"$ref"}:
            return definitions[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def rewrite(node: Any, seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, list):
            for i, item in enumerate(node):
                node[i] = resolve(item)
                rewrite(node[i], seen)
            return
        if not isinstance(node, dict):
            return
        for key, value in list(node.items()):
            node[key] = resolve(value)
            rewrite(node[key], seen)
        options = node.get("anyOf")
        if isinstance(options, list) and options:
            pinned = [(_pinned_type(o), o) for o in options if isinstance(o, dict)]
            if len(pinned) == len(options) and all(t is not None for t, _ in pinned):
                table: dict[str, list[dict[str, Any]]] = {}
                for node_type, option in pinned:
                    table.setdefault(str(node_type), []).append(option)
                del node["anyOf"]
                node["adfType"] = table

    rewrite(definitions, set())
    return AdfValidator(definitions["doc_node"])
