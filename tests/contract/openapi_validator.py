"""Validate JIRA REST responses against Atlassian's official OpenAPI 3.0 specs.

Test support for the contract tests. ``load_spec("v3")`` / ``load_spec("v2")`` parse a spec
once per process (they are 2.5-3 MB) and ``OpenApiSpec.check(method, path, status, body)``
finds the operation by matching the concrete path against the path templates, picks the
response schema for the status and validates the body with ``jsonschema`` (Draft 4 rules,
which OpenAPI 3.0's schema dialect is built on) over a ``referencing.Registry``.

OpenAPI 3.0 -> JSON Schema translation, and the decisions behind it:

- ``nullable: true`` adds ``null`` to ``type`` (and to ``enum``); a nullable schema without
  ``type`` (an ``allOf``/``$ref`` wrapper) becomes ``anyOf: [null, schema]``. Fields not marked
  nullable must not be ``null``: that is enforced (the specs' ``fields`` map is a free-form
  ``additionalProperties: {}``, which is where JIRA's present-but-null values live).
- ``additionalProperties: false`` is kept and enforced. The specs are generated from JIRA's Java
  beans, so a property outside the bean is something real JIRA never sends. (The vendored v2
  spec had it removed on some schemas, see SOURCES.md; those schemas are open there.) One
  exception, by rule: the generator also emits ``additionalProperties: false`` on polymorphic
  base classes next to ``anyOf``/``oneOf``/``allOf`` (``JqlQueryClause``, ``WorkflowCondition``,
  ...). In JSON Schema that keyword only sees sibling ``properties``, so it would reject every
  member's properties (even Atlassian's own examples); there it is dropped and each member
  keeps its own ``additionalProperties``.
- ``writeOnly: true`` properties (request-only) must not appear in a response.
- ``$ref`` siblings are ignored, as OpenAPI 3.0 and Draft 4 both say; the specs wrap refs in
  ``allOf`` when they want siblings.
- ``format``: ``date-time`` accepts JIRA's wire form ``2024-05-01T10:20:30.123+0000`` (the
  offset without a colon is what JIRA really sends; strict RFC 3339 would reject every JIRA
  timestamp) as well as ``Z`` and ``+00:00``; ``date`` is ``yyyy-MM-dd``; ``int32``/``int64``
  are range-checked; ``uri`` must be absolute; ``uuid`` must be a UUID.
- ``discriminator``, ``xml``, ``example`` are documentation and are dropped.
- ``ERRATA`` below patches the few places where a spec contradicts both Atlassian's own
  examples and recorded JIRA responses; each entry carries its evidence.

Error responses: the specs document most 4xx statuses without a body schema, while JIRA
answers every error with its ``ErrorCollection`` body. An error status with no documented
schema (or an undocumented error status such as Cloud's 410 on the removed search) is
validated against the spec's own ``ErrorCollection`` schema and marked ``error-fallback``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import orjson
from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
SPEC_FILES = {
    "v3": CONTRACT / "openapi" / "jira-platform-rest-v3.cloud.openapi.json",
    "v2": CONTRACT / "openapi" / "jira-platform-rest-v2.cloud.openapi.json",
}
SpecName = Literal["v2", "v3"]
Coverage = Literal["schema", "error-fallback", "no-body", "no-operation", "not-json"]

_DROP = frozenset({"discriminator", "xml", "example", "externalDocs"})
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")


@dataclass(frozen=True, slots=True)
class Erratum:
    """A correction to one schema of a spec, applied before translation, with its evidence."""

    specs: tuple[str, ...]
    schema: str
    prop: str | None  # None: the patch applies to the schema itself
    patch: dict[str, Any]
    evidence: str


ERRATA: tuple[Erratum, ...] = (
    *(
        Erratum(
            ("v2", "v3"),
            "ChangeDetails",
            prop,
            {"nullable": True},
            "Changelog items carry `from`/`to`/`fromString`/`toString: null` when a field had no "
            "value: Atlassian's own getChangeLogs example, and recorded JIRA responses "
            "(rest/server-jrjc/issue/valid-all-expanded.json, "
            "rest/go-atlassian/legacy-and-agile/get-board-issues.json); the spec forgot nullable.",
        )
        for prop in ("from", "fromString", "to", "toString")
    ),
    Erratum(
        ("v2",),
        "ServerInformation",
        "serverTimeZone",
        {"type": "string", "properties": None},
        "The v2 spec (2024) describes serverTimeZone as a java.util.TimeZone object; its own "
        "description says 'Olson Time Zones', its own example is 'Australia/Sydney' and the v3 "
        "spec fixed the type to string.",
    ),
    Erratum(
        ("v2", "v3"),
        "IssueLink",
        None,
        {"required": ["type"]},
        "IssueLink is also the request bean of 'Create issue link'. In responses "
        "(fields.issuelinks) a link carries exactly one of inwardIssue/outwardIssue: every "
        "recorded issue with links shows it (rest/server-jrjc/search/many-issues.json, "
        "rest/jira-to-matrix/issue.json), so both cannot be required.",
    ),
    Erratum(
        ("v2",),
        "Fields",
        "issuetype",
        {"$ref": "#/components/schemas/IssueTypeDetails"},
        "SOURCES.md: the vendored v2 spec was patched to remove `Fields.issuetype` (it clashed "
        "with `issueType` in code generators); the v3 spec keeps it and real linked issues "
        "(subtasks, parent) carry `issuetype` (rest/go-atlassian/v3/search-issues.json).",
    ),
    Erratum(
        ("v2",),
        "Webhook",
        "url",
        {"type": "string", "description": "The URL that specifies where the webhooks are sent."},
        "Cloud serves /rest/api/2/webhook and /rest/api/3/webhook from one bean; the v2 spec "
        "(2024-02) predates the `url` property that the v3 spec (2025-12) documents on Webhook.",
    ),
)


def _apply_errata(name: str, schemas: dict[str, Any]) -> None:
    for erratum in ERRATA:
        if name not in erratum.specs:
            continue
        target = schemas[erratum.schema]
        if erratum.prop is not None:
            target = target["properties"].setdefault(erratum.prop, {})
        for key, value in erratum.patch.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value


def to_json_schema(node: Any, base: str = "") -> Any:
    """Translate one OpenAPI 3.0 schema object (recursively) into Draft 4 JSON Schema.

    Local refs (``#/components/schemas/X``) are made absolute with ``base`` (the spec's URI in
    the registry) so inline response schemas resolve without a root ``id``.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    polymorphic = any(key in node for key in _SCHEMA_LISTS)
    for key, value in node.items():
        if key in _DROP or key == "nullable":
            continue
        if key == "additionalProperties" and value is False and polymorphic:
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, base) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value, base)
        elif key in _SCHEMA_LISTS:
            out[key] = [to_json_schema(sub, base) for sub in value]
        elif key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = base + value
        else:
            out[key] = value
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        elif "type" not in out:
            return {"anyOf": [{"type": "null"}, out]}
    return out


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    @checker.checks("date")
    def _date(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE.match(value))

    @checker.checks("int32")
    def _int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def _int64(value: object) -> bool:
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(_ABSOLUTE_URI.match(value))

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or bool(UUID(value))

    return checker


def _write_only(
    validator: Any, write_only: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if write_only is True:
        yield ValidationError("writeOnly (request-only) property present in a response")


ResponseValidator = validators.extend(Draft4Validator, {"writeOnly": _write_only})
FORMATS = _format_checker()


@dataclass(frozen=True, slots=True)
class Violation:
    """One schema violation: where in the body (``$.issues[0].fields``) and what is wrong."""

    path: str
    message: str
    schema_path: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(slots=True)
class CheckResult:
    """What was checked for one response and what failed."""

    spec: str
    method: str
    path: str
    status: int
    operation_id: str | None = None
    template: str | None = None
    schema: str | None = None
    coverage: Coverage = "schema"
    status_documented: bool = True
    violations: list[Violation] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        """``GET /rest/api/3/issue/{issueIdOrKey}`` (the template when known)."""
        return f"{self.method} {self.template or self.path}"


def json_path(parts: Any) -> str:
    """``deque(['issues', 0, 'fields'])`` -> ``$.issues[0].fields``."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _flatten(error: ValidationError) -> Iterator[ValidationError]:
    """For anyOf/oneOf failures report the deepest relevant cause, not the whole alternative."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            yield from _flatten(deepest)
            return
    yield error


def _schema_name(schema: dict[str, Any]) -> str:
    """``IssueBean``, ``FieldDetails[]`` or ``inline`` for messages."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _schema_name(schema["items"]) + "[]"
    return "inline"


@dataclass(frozen=True, slots=True)
class _PathTemplate:
    template: str
    pattern: re.Pattern[str]
    literal_segments: int


class OpenApiSpec:
    """One parsed and translated spec with its operations indexed by path template."""

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        self.name = name
        self.uri = f"urn:jira-contract:{name}"
        self.document = document
        _apply_errata(name, document["components"]["schemas"])
        translated = {
            "components": {
                "schemas": {
                    key: to_json_schema(value, self.uri)
                    for key, value in document["components"]["schemas"].items()
                }
            }
        }
        self._translated: dict[str, Any] = translated
        resource = Resource.from_contents(translated, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)
        templates = []
        for template in document["paths"]:
            literal = 0
            regex = ""
            for segment in template.strip("/").split("/"):
                if segment.startswith("{") and segment.endswith("}"):
                    regex += "/[^/]+"
                else:
                    regex += "/" + re.escape(segment)
                    literal += 1
            templates.append(_PathTemplate(template, re.compile(f"^{regex}/?$"), literal))
        # Literal segments win: /issue/bulkfetch before /issue/{issueIdOrKey}.
        templates.sort(key=lambda t: (-t.literal_segments, -len(t.template)))
        self._templates = templates
        self._validators: dict[str, Any] = {}

    def find_operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The (template, operation object) serving ``method path``; ``None`` if undocumented."""
        path = path.split("?", 1)[0]
        for candidate in self._templates:
            if candidate.pattern.match(path):
                operation = self.document["paths"][candidate.template].get(method.lower())
                if operation is not None:
                    return candidate.template, operation
        return None

    def validator_for(self, schema: dict[str, Any], key: str) -> Any:
        """A cached validator for a (translated) schema; refs resolve inside this spec."""
        if key not in self._validators:
            root = to_json_schema(schema, self.uri)
            self._validators[key] = ResponseValidator(
                root, registry=self.registry, format_checker=FORMATS
            )
        return self._validators[key]

    def validate_schema(self, schema: dict[str, Any], key: str, body: Any) -> list[Violation]:
        """Validate ``body`` against ``schema`` and return the violations with JSON paths."""
        validator = self.validator_for(schema, key)
        found: list[Violation] = []
        for error in validator.iter_errors(body):
            for leaf in _flatten(error):
                found.append(
                    Violation(
                        json_path(leaf.absolute_path),
                        _shorten(leaf.message),
                        "/".join(str(p) for p in leaf.absolute_schema_path),
                    )
                )
        return sorted(found, key=lambda v: (v.path, v.message))

    def component(self, name: str) -> dict[str, Any]:
        """A ``{"$ref": ...}`` to a component schema, e.g. ``ErrorCollection``."""
        if name not in self.document["components"]["schemas"]:
            raise KeyError(name)
        return {"$ref": f"#/components/schemas/{name}"}

    def response_schema(
        self, operation: dict[str, Any], status: int
    ) -> tuple[bool, dict[str, Any] | None]:
        """(status documented?, JSON schema of that response or ``None`` if it has no body)."""
        responses = operation.get("responses", {})
        response = (
            responses.get(str(status))
            or responses.get(f"{status // 100}XX")
            or responses.get("default")
        )
        if response is None:
            return False, None
        content = response.get("content") or {}
        for media in ("application/json", "*/*", *content):
            if media in content and "schema" in content[media]:
                return True, content[media]["schema"]
        return True, None

    def check(
        self, method: str, path: str, status: int, body: Any, *, has_body: bool = True
    ) -> CheckResult:
        """Validate one response. ``body`` is the decoded JSON (``has_body=False`` when empty)."""
        method = method.upper()
        result = CheckResult(self.name, method, path.split("?", 1)[0], status)
        found = self.find_operation(method, path)
        if found is None:
            result.coverage = "no-operation"
            return result
        result.template, operation = found
        result.operation_id = operation.get("operationId")
        documented, schema = self.response_schema(operation, status)
        result.status_documented = documented
        if schema is None and status >= 400:
            schema = self.component("ErrorCollection")
            result.coverage = "error-fallback"
        elif schema is None:
            if has_body:
                result.violations.append(
                    Violation("$", f"status {status} is documented without a body, got one")
                    if documented
                    else Violation(
                        "$", f"status {status} is not documented for {result.operation_id}"
                    )
                )
            else:
                result.coverage = "no-body"
                if not documented:
                    result.violations.append(
                        Violation(
                            "$", f"status {status} is not documented for {result.operation_id}"
                        )
                    )
            return result
        elif not documented:
            result.violations.append(
                Violation("$", f"status {status} is not documented for {result.operation_id}")
            )
        result.schema = _schema_name(schema)
        if not has_body and (status == 204 or not to_json_schema(schema)):
            # 204 has no content by definition (RFC 9110); the specs still attach `{}` to it.
            result.coverage = "no-body"
            return result
        if not has_body:
            result.violations.append(Violation("$", "empty body where the spec documents one"))
            return result
        key = f"{result.template} {method} {status} {result.coverage}"
        result.violations.extend(self.validate_schema(schema, key, body))
        return result


@cache
def load_spec(name: SpecName) -> OpenApiSpec:
    """Parse and index one spec; cached for the whole test session (module-level)."""
    document = orjson.loads(SPEC_FILES[name].read_bytes())
    return OpenApiSpec(name, document)
