"""Compile a parsed JQL query into closures over `SandboxIssue` (no tree walking per issue).

Validation happens here, once per request: unknown fields, operators a field does not support,
unknown values (projects, users, priorities, status categories), bad dates and unknown functions
are reported with JIRA's wording; all messages of one query are collected into one JqlError, as
JIRA does. Semantics follow JIRA: `!=` and `NOT IN` never match an empty field, names compare
case-insensitively, `resolution = Unresolved` means EMPTY.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gateway.sandbox.jql_ast import (
    AndNode,
    FieldRef,
    HistoryClause,
    JqlError,
    Node,
    NotNode,
    OrNode,
    Query,
    TerminalClause,
)
from gateway.sandbox.jql_clauses import ClauseCompiler, Pred
from gateway.sandbox.jql_fields import FieldSpec, resolve_field
from gateway.sandbox.jql_sort import sort_issues

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.sandbox.jql_ast import OrderTerm
    from gateway.sandbox.model import SandboxIssue


class JqlContext(Protocol):
    """What evaluation needs from the sandbox (see SANDBOX.md). Optionally, a context may also
    offer `display_name_of(user_id) -> str`, used to ORDER BY assignee/reporter like JIRA."""

    now: datetime
    current_user: str | None

    def users_matching(self, term: str) -> set[str] | None: ...
    def project_keys_matching(self, term: str) -> set[str] | None: ...
    def text_of(self, issue: SandboxIssue) -> str: ...
    def description_of(self, issue: SandboxIssue) -> str: ...


def field_missing(name: str) -> str:
    return f"Field '{name}' does not exist or you do not have permission to view it."


class CompiledQuery:
    """A query bound to one context: `matches` filters, `sort` orders (ORDER BY, else id DESC)."""

    __slots__ = ("_display", "_order", "matches", "project_keys")

    def __init__(
        self,
        pred: Pred | None,
        order: list[tuple[FieldSpec, str | None, bool]],
        project_keys: frozenset[str] | None,
        display: Callable[[str], str] | None = None,
    ) -> None:
        self._order = order
        self._display = display
        self.project_keys = project_keys
        # `matches(issue)` is the compiled closure itself: no method indirection per issue.
        self.matches: Callable[[SandboxIssue], bool] = pred if pred is not None else _always

    def sort(self, issues: list[SandboxIssue]) -> list[SandboxIssue]:
        """A new list in ORDER BY order (ties, and no ORDER BY: issue id descending)."""
        return sort_issues(issues, self._order, self._display)


def _always(issue: SandboxIssue) -> bool:
    return True


def compile_query(q: Query, ctx: JqlContext) -> CompiledQuery:
    """Validate `q` against the sandbox's fields and `ctx`, and compile it. Raises JqlError."""
    errors: list[str] = []
    compiler = ClauseCompiler(ctx, errors)
    pred = _compile(q.where, compiler, errors) if q.where is not None else None
    order = _order(q.order_by, errors)
    if errors:
        raise JqlError(list(dict.fromkeys(errors)))
    display = getattr(ctx, "display_name_of", None)
    return CompiledQuery(
        pred, order, _project_keys(q.where, compiler), display if callable(display) else None
    )


def _compile(node: Node, compiler: ClauseCompiler, errors: list[str]) -> Pred:
    if isinstance(node, AndNode):
        return _all([_compile(c, compiler, errors) for c in node.clauses])
    if isinstance(node, OrNode):
        return _any([_compile(c, compiler, errors) for c in node.clauses])
    if isinstance(node, NotNode):
        inner = _compile(node.clause, compiler, errors)
        return lambda i: not inner(i)
    spec = _spec(node.field, errors)
    if spec is None:
        return _always
    if isinstance(node, HistoryClause):
        errors.append(
            f"The operator '{node.operator}' is not supported by the '{node.field.name}' field."
        )
        return _always
    assert isinstance(node, TerminalClause)
    return compiler.clause(node, *spec)


def _spec(field: FieldRef, errors: list[str]) -> tuple[FieldSpec, str | None] | None:
    found = None if field.bracketed else resolve_field(field.name, field.custom_id)
    if found is None:
        errors.append(field_missing(field.name))
    return found


def _all(preds: list[Pred]) -> Pred:
    if len(preds) == 2:
        a, b = preds
        return lambda i: a(i) and b(i)
    return lambda i: all(p(i) for p in preds)


def _any(preds: list[Pred]) -> Pred:
    if len(preds) == 2:
        a, b = preds
        return lambda i: a(i) or b(i)
    return lambda i: any(p(i) for p in preds)


def _order(terms: list[OrderTerm], errors: list[str]) -> list[tuple[FieldSpec, str | None, bool]]:
    out = []
    for term in terms:
        spec = _spec(term.field, errors)
        if spec is None:
            continue
        if not spec[0].orderable:
            errors.append(f"Field '{term.field.name}' does not support sorting.")
            continue
        desc = spec[0].default_desc if term.direction is None else term.direction == "desc"
        out.append((spec[0], spec[1], desc))
    return out


def _project_keys(node: Node | None, compiler: ClauseCompiler) -> frozenset[str] | None:
    """Projects a top-level AND-ed `project = X` / `project in (...)` restricts the query to."""
    clauses = node.clauses if isinstance(node, AndNode) else (node,)
    found: frozenset[str] | None = None
    for clause in clauses:
        if not isinstance(clause, TerminalClause) or clause.operator not in ("=", "in"):
            continue
        spec = resolve_field(clause.field.name, clause.field.custom_id)
        if spec is None or spec[0].kind != "project" or clause.field.bracketed:
            continue
        keys = compiler.project_keys(clause.operand)
        if keys is not None:
            found = keys if found is None else found & keys
    return found
