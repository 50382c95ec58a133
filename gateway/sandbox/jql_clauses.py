"""One closure per terminal clause, chosen by the field's kind (see `jql_fields.FieldSpec.kind`).

Operand values are resolved once (names case-folded, users and projects looked up through the
context, dates turned into ranges); the returned closures only read issue attributes.
"""

from __future__ import annotations

import operator as op_
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway.sandbox.jql_ast import (
    EmptyOperand,
    FunctionOperand,
    ListOperand,
    Operand,
    TerminalClause,
    ValueOperand,
)
from gateway.sandbox.jql_custom import custom_pred
from gateway.sandbox.jql_fields import FUNCTION_FIELD_KINDS, FieldSpec
from gateway.sandbox.jql_values import (
    DateRange,
    date_error,
    date_function,
    parse_date_value,
    text_matcher,
)

if TYPE_CHECKING:
    from gateway.sandbox.jql_compile import JqlContext
    from gateway.sandbox.model import SandboxIssue

Pred = Callable[["SandboxIssue"], bool]

PRIORITIES = ("highest", "high", "medium", "low", "lowest")  # JIRA's default ids 1..5
PRIORITY_RANK = {name: len(PRIORITIES) - n for n, name in enumerate(PRIORITIES)}  # highest = 5
_CATEGORY_TERMS = {
    "new": ("new", "to do", "2"),
    "indeterminate": ("indeterminate", "in progress", "4"),
    "done": ("done", "3"),
    "undefined": ("undefined", "no category", "1"),
}
CATEGORY_BY_TERM = {t: key for key, terms in _CATEGORY_TERMS.items() for t in terms}
SUBTASK_TYPES = frozenset(("sub-task", "subtask"))
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)")
_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<": op_.lt,
    "<=": op_.le,
    ">": op_.gt,
    ">=": op_.ge,
}
_TICK = timedelta(microseconds=1)
_POSITIVE = frozenset(("=", "in"))
_NEGATIVE = frozenset(("!=", "not in"))


def _never(issue: SandboxIssue) -> bool:
    return False


def _flatten(operand: Operand) -> Iterable[Operand]:
    if isinstance(operand, ListOperand):
        for item in operand.items:
            yield from _flatten(item)
    else:
        yield operand


def _lower(values: Iterable[str]) -> list[str]:
    return [v.lower() for v in values]


class ClauseCompiler:
    """Compiles terminal clauses for one context, appending JIRA messages to `errors`."""

    def __init__(self, ctx: JqlContext, errors: list[str]) -> None:
        self.ctx = ctx
        self.errors = errors

    # -- entry points ----------------------------------------------------------------------
    def clause(self, node: TerminalClause, spec: FieldSpec, custom_key: str | None) -> Pred:
        name = node.field.name
        if node.operator not in spec.operators:
            self.errors.append(
                f"The operator '{node.operator}' is not supported by the '{name}' field."
            )
            return _never
        values, funcs, has_empty = self._split(node.operand, spec.kind, name)
        builder = getattr(self, "_" + spec.kind)
        pred: Pred = builder(node.operator, values, funcs, has_empty, name, spec, custom_key)
        return pred

    def project_keys(self, operand: Operand) -> frozenset[str] | None:
        """Project keys named by an operand (None when anything else is in it)."""
        keys: set[str] = set()
        for item in _flatten(operand):
            if not isinstance(item, ValueOperand):
                return None
            keys |= self.ctx.project_keys_matching(item.value) or set()
        return frozenset(keys)

    # -- helpers ---------------------------------------------------------------------------
    def _split(
        self, operand: Operand, kind: str, name: str
    ) -> tuple[list[str], list[FunctionOperand], bool]:
        values: list[str] = []
        funcs: list[FunctionOperand] = []
        has_empty = False
        for item in _flatten(operand):
            if isinstance(item, ValueOperand):
                values.append(item.value)
            elif isinstance(item, EmptyOperand):
                has_empty = True
            elif isinstance(item, FunctionOperand):
                kinds = FUNCTION_FIELD_KINDS.get(item.name.lower())
                if kinds is None:
                    self.errors.append(f"Unable to find JQL function '{item.display}'.")
                elif kind not in kinds and kind != "custom":
                    self.errors.append(
                        f"The function '{item.name}' is not supported by the '{name}' field."
                    )
                else:
                    funcs.append(item)
        return values, funcs, has_empty

    def _no_value(self, value: str, name: str) -> None:
        self.errors.append(f"The value '{value}' does not exist for the field '{name}'.")

    @staticmethod
    def _set_pred(
        op: str, get: Callable[[SandboxIssue], Any], values: frozenset[Any], has_empty: bool
    ) -> Pred:
        """Single-valued field: `get` returns a comparable value or None (EMPTY)."""
        if op in _POSITIVE:
            if has_empty:
                return lambda i: (v := get(i)) is None or v in values
            return lambda i: get(i) in values
        if op in _NEGATIVE:  # JIRA: != and NOT IN never match an empty field
            return lambda i: (v := get(i)) is not None and v not in values
        if op == "is":
            return lambda i: get(i) is None
        return lambda i: get(i) is not None

    @staticmethod
    def _multi_pred(
        op: str, get: Callable[[SandboxIssue], list[str]], values: frozenset[str], has_empty: bool
    ) -> Pred:
        """Multi-valued field (labels, components, versions): case-insensitive membership."""

        def hit(i: SandboxIssue) -> bool:
            return any(v.lower() in values for v in get(i))

        if op in _POSITIVE:
            return (lambda i: not get(i) or hit(i)) if has_empty else hit
        if op in _NEGATIVE:
            return lambda i: bool(get(i)) and not hit(i)
        if op == "is":
            return lambda i: not get(i)
        return lambda i: bool(get(i))

    # -- kinds -----------------------------------------------------------------------------
    def _project(
        self, op: str, values: list[str], funcs: Any, empty: bool, name: str, *_: Any
    ) -> Pred:
        keys: set[str] = set()
        for value in values:
            found = self.ctx.project_keys_matching(value)
            if found is None:
                self._no_value(value, name)
            else:
                keys |= found
        frozen = frozenset(keys)
        if op == "=" and len(frozen) == 1 and not empty:
            (only,) = frozen
            return lambda i: i.project_key == only
        return self._set_pred(op, op_.attrgetter("project_key"), frozen, empty)

    def _user(
        self,
        op: str,
        values: list[str],
        funcs: list[FunctionOperand],
        empty: bool,
        name: str,
        spec: FieldSpec,
        *_: Any,
    ) -> Pred:
        ids: set[str] = set()
        for value in values:
            found = self.ctx.users_matching(value)
            if found is None:
                self._no_value(value, name)
            else:
                ids |= found
        if funcs and self.ctx.current_user is not None:  # currentUser(); anonymous: no one
            ids.add(self.ctx.current_user)
        return self._set_pred(op, op_.attrgetter(spec.name), frozenset(ids), empty)

    def _named(self, attr: str) -> Callable[[SandboxIssue], str | None]:
        get = op_.attrgetter(attr)

        def lowered(i: SandboxIssue) -> str | None:
            v = get(i)
            return None if v is None else str(v).lower()

        return lowered

    def _status(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        wanted = frozenset(_lower(values))
        if op == "=" and len(wanted) == 1 and not empty:
            (only,) = wanted
            return lambda i: i.status.lower() == only
        return self._set_pred(op, lambda i: i.status.lower(), wanted, empty)

    def _statuscategory(
        self, op: str, values: list[str], funcs: Any, empty: bool, name: str, *_: Any
    ) -> Pred:
        keys: set[str] = set()
        for value in values:
            key = CATEGORY_BY_TERM.get(value.lower())
            if key is None:
                self._no_value(value, name)
            else:
                keys.add(key)
        return self._set_pred(op, op_.attrgetter("status_category"), frozenset(keys), empty)

    def _issuetype(
        self, op: str, values: list[str], funcs: list[FunctionOperand], empty: bool, *_: Any
    ) -> Pred:
        wanted = set(_lower(values))
        get = self._named("issuetype")
        if not funcs:
            return self._set_pred(op, get, frozenset(wanted), empty)
        names = {f.name.lower() for f in funcs}
        std, sub = "standardissuetypes" in names, "subtaskissuetypes" in names

        def test(v: str) -> bool:
            return v in wanted or (std and v not in SUBTASK_TYPES) or (sub and v in SUBTASK_TYPES)

        if op in _POSITIVE:
            return lambda i: (v := get(i)) is not None and test(v)
        return lambda i: (v := get(i)) is not None and not test(v)

    def _priority(
        self, op: str, values: list[str], funcs: Any, empty: bool, name: str, *_: Any
    ) -> Pred:
        names: list[str] = []
        for value in values:
            low = value.lower()
            if low.isdigit() and 1 <= int(low) <= len(PRIORITIES):
                low = PRIORITIES[int(low) - 1]
            if low not in PRIORITY_RANK:
                self._no_value(value, name)
            names.append(low)
        get = self._named("priority")
        if op in _CMP:
            cmp, rank = _CMP[op], PRIORITY_RANK.get(names[0], 0) if names else 0
            return lambda i: (v := get(i)) is not None and cmp(PRIORITY_RANK.get(v, 0), rank)
        return self._set_pred(op, get, frozenset(names), empty)

    def _resolution(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        wanted = set(_lower(values))
        if "unresolved" in wanted:  # JIRA's pseudo-resolution for EMPTY
            wanted.discard("unresolved")
            empty = True
        return self._set_pred(op, self._named("resolution"), frozenset(wanted), empty)

    def _labels(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        return self._multi_pred(op, op_.attrgetter("labels"), frozenset(_lower(values)), empty)

    def _components(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        return self._multi_pred(op, op_.attrgetter("components"), frozenset(_lower(values)), empty)

    def _fix_versions(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        return self._multi_pred(
            op, op_.attrgetter("fix_versions"), frozenset(_lower(values)), empty
        )

    def _issue_refs(self, values: list[str], name: str) -> tuple[set[str], set[int]]:
        keys: set[str] = set()
        ids: set[int] = set()
        for value in values:
            if value.isdigit():
                ids.add(int(value))
            elif _KEY.fullmatch(value):
                keys.add(value.upper())
            else:
                self.errors.append(f"The issue key '{value}' for field '{name}' is invalid.")
        return keys, ids

    def _key(self, op: str, values: list[str], funcs: Any, empty: bool, name: str, *_: Any) -> Pred:
        keys, ids = self._issue_refs(values, name)
        if op in _CMP:
            cmp = _CMP[op]
            if ids:
                (n,) = ids
                return lambda i: cmp(i.id, n)
            m = _KEY.fullmatch(values[0]) if values else None
            if m is None:
                return _never
            project, num = m.group(1).upper(), int(m.group(2))
            return lambda i: i.project_key == project and cmp(int(i.key.rpartition("-")[2]), num)
        hit: Pred = lambda i: i.key in keys or i.id in ids  # noqa: E731
        return hit if op in _POSITIVE else (lambda i: not hit(i))

    def _parent(
        self, op: str, values: list[str], funcs: Any, empty: bool, name: str, *_: Any
    ) -> Pred:
        keys, _ids = self._issue_refs(values, name)  # numeric parent ids are not indexed here
        return self._set_pred(op, op_.attrgetter("parent_key"), frozenset(keys), empty)

    def _text(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        return self._text_pred(op, values, empty, self.ctx.text_of)

    def _summary(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        return self._text_pred(op, values, empty, op_.attrgetter("summary"))

    def _description(self, op: str, values: list[str], funcs: Any, empty: bool, *_: Any) -> Pred:
        return self._text_pred(op, values, empty, self.ctx.description_of)

    @staticmethod
    def _text_pred(
        op: str, values: list[str], empty: bool, get: Callable[[SandboxIssue], str | None]
    ) -> Pred:
        if empty or op in ("is", "is not"):  # `~ EMPTY` reads as IS EMPTY, as JIRA does
            if op in ("is", "~"):
                return lambda i: not get(i)
            return lambda i: bool(get(i))
        match = text_matcher(values[0]) if values else None
        if match is None:
            return _never
        if op == "~":
            return lambda i: bool(text := get(i)) and match(text or "")
        return lambda i: bool(text := get(i)) and not match(text or "")

    def _dates(self, values: list[str], funcs: list[FunctionOperand], name: str) -> list[DateRange]:
        now = self.ctx.now
        ranges: list[DateRange] = []
        for value in values:
            found = parse_date_value(value, now)
            if found is None:
                self.errors.append(date_error(value, name))
            else:
                ranges.append(found)
        for func in funcs:
            point = date_function(func.name, func.args, now)
            if point is None:
                self.errors.append(
                    f"Duration for function '{func.name}' should have the format "
                    "(+/-)n(y|M|w|d|m), e.g -1M for one month earlier."
                )
            else:
                ranges.append((point, point + _TICK))
        return ranges

    def _date_pred(
        self,
        op: str,
        values: list[str],
        funcs: list[FunctionOperand],
        empty: bool,
        name: str,
        get: Callable[[SandboxIssue], datetime | None],
    ) -> Pred:
        ranges = self._dates(values, funcs, name)
        if op in ("is", "is not") or (empty and not ranges):
            is_empty = op in ("is", "=", "in")
            return (lambda i: get(i) is None) if is_empty else (lambda i: get(i) is not None)
        if not ranges:
            return _never
        if op in _CMP:
            lo, hi = ranges[0]
            bound = {"<": lo, "<=": hi, ">": hi, ">=": lo}[op]
            test = op_.lt if op in ("<", "<=") else op_.ge
            return lambda i: (v := get(i)) is not None and test(v, bound)

        def hit(v: datetime) -> bool:
            return any(lo <= v < hi for lo, hi in ranges)

        if op in _POSITIVE:
            return lambda i: ((v := get(i)) is None and empty) or (v is not None and hit(v))
        return lambda i: (v := get(i)) is not None and not hit(v)

    def _created(
        self, op: str, v: list[str], f: list[FunctionOperand], e: bool, name: str, *_: Any
    ) -> Pred:
        return self._date_pred(op, v, f, e, name, op_.attrgetter("created"))

    def _updated(
        self, op: str, v: list[str], f: list[FunctionOperand], e: bool, name: str, *_: Any
    ) -> Pred:
        return self._date_pred(op, v, f, e, name, op_.attrgetter("updated"))

    def _resolutiondate(
        self, op: str, v: list[str], f: list[FunctionOperand], e: bool, name: str, *_: Any
    ) -> Pred:
        return self._date_pred(op, v, f, e, name, op_.attrgetter("resolutiondate"))

    def _duedate(
        self, op: str, v: list[str], f: list[FunctionOperand], e: bool, name: str, *_: Any
    ) -> Pred:
        return self._date_pred(op, v, f, e, name, _due_midnight)

    def _custom(
        self,
        op: str,
        values: list[str],
        funcs: Any,
        empty: bool,
        name: str,
        spec: FieldSpec,
        key: str,
    ) -> Pred:
        return custom_pred(op, values, empty, key)


def _due_midnight(issue: SandboxIssue) -> datetime | None:
    d: date | None = issue.duedate
    return None if d is None else datetime(d.year, d.month, d.day, tzinfo=UTC)
