"""``IssueFilter`` -> JQL: every value quoted, the user's own JQL kept inside parentheses.

The built query is ``(user jql) AND clause AND clause ... ORDER BY ...``. Each clause is
``field operator value`` (or ``field in (v, ...)``) where the field and operator are fixed here
and every value goes through ``quote_value``: a value cannot end its string, open a clause or
add an ORDER BY, whatever it contains (quotes, backslashes, reserved words, control characters,
any unicode). The property tests parse the output and check the tree has exactly these clauses.

ORDER BY comes from ``orderBy``; a user ``jql`` may carry its own ORDER BY only when ``orderBy``
is not given (it is then kept as the order). Both at once is refused: merging two orders would
silently pick one. A final ``key`` term is added unless the order names ``key``, so equal
values (issues created in the same second) still page in a stable order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from gateway.errors import GatewayError, InvalidInput, LimitExceeded
from gateway.jql_quote import quote_value

MAX_VALUES = 100
MAX_TEXT = 500
DEFAULT_ORDER = (("created", "DESC"),)

# JQL names of the status categories (category keys in gateway.jira.dto.StatusCategory).
CATEGORY_NAMES = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}


class BadJql(GatewayError):
    """The JQL is malformed (checked here) or JIRA refused it (``BAD_JQL``, JIRA's message)."""

    code = "BAD_JQL"


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A filter in plain values: lists are OR-ed inside a field, fields are AND-ed."""

    projects: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    status_categories: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    reporters: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    issue_types: tuple[str, ...] = ()
    text: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    due_after: date | None = None
    due_before: date | None = None
    assigned_to_me: bool = False
    reported_by_me: bool = False
    unassigned: bool = False


# (attribute, GraphQL argument name, JQL field)
_LISTS = (
    ("projects", "projects", "project"),
    ("statuses", "statuses", "status"),
    ("priorities", "priorities", "priority"),
    ("assignees", "assignees", "assignee"),
    ("reporters", "reporters", "reporter"),
    ("labels", "labels", "labels"),
    ("issue_types", "issueTypes", "issuetype"),
)
_TIMES = (
    ("created_after", "createdAfter", "created", ">="),
    ("created_before", "createdBefore", "created", "<"),
    ("updated_after", "updatedAfter", "updated", ">="),
    ("updated_before", "updatedBefore", "updated", "<"),
)


def _values(name: str, values: Sequence[str]) -> str:
    if len(values) > MAX_VALUES:
        raise LimitExceeded(f"`{name}` takes at most {MAX_VALUES} values.", field=f"filter.{name}")
    cleaned = [v for v in values if v.strip()]
    if not cleaned:
        raise InvalidInput(
            f"`{name}` needs at least one non-blank value (or leave it out).",
            field=f"filter.{name}",
        )
    return "(" + ", ".join(quote_value(v) for v in dict.fromkeys(cleaned)) + ")"


def _when(value: datetime) -> str:
    # JQL has no zone syntax: JIRA reads "yyyy-MM-dd HH:mm" in the user's zone, so values are
    # sent in UTC, which is exact for users whose JIRA profile zone is UTC (the sandbox's).
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return quote_value(value.strftime("%Y-%m-%d %H:%M"))


def filter_clauses(spec: FilterSpec) -> list[str]:
    """The clauses of ``spec``, each a self-contained ``field op value`` string."""
    clauses: list[str] = []
    for attr, name, jql_field in _LISTS:
        values = getattr(spec, attr)
        if values:
            clauses.append(f"{jql_field} in {_values(name, values)}")
    if spec.status_categories:
        names = []
        for key in spec.status_categories:
            if key not in CATEGORY_NAMES:
                raise InvalidInput(
                    "Filter by TO_DO, IN_PROGRESS or DONE.", field="filter.statusCategories"
                )
            names.append(CATEGORY_NAMES[key])
        clauses.append(f"statusCategory in {_values('statusCategories', names)}")
    if spec.text is not None:
        if not spec.text.strip():
            raise InvalidInput("`text` must not be blank.", field="filter.text")
        if len(spec.text) > MAX_TEXT:
            raise LimitExceeded(f"`text` is at most {MAX_TEXT} characters.", field="filter.text")
        clauses.append(f"text ~ {quote_value(spec.text)}")
    for attr, _name, jql_field, op in _TIMES:
        value = getattr(spec, attr)
        if value is not None:
            clauses.append(f"{jql_field} {op} {_when(value)}")
    _check_range(spec.created_after, spec.created_before, "createdAfter")
    _check_range(spec.updated_after, spec.updated_before, "updatedAfter")
    if spec.due_after is not None:
        clauses.append(f"duedate >= {quote_value(spec.due_after.isoformat())}")
    if spec.due_before is not None:
        clauses.append(f"duedate <= {quote_value(spec.due_before.isoformat())}")
    _check_range(spec.due_after, spec.due_before, "dueAfter")
    if spec.unassigned and (spec.assigned_to_me or spec.assignees):
        raise InvalidInput(
            "`unassigned` cannot be combined with assignees.", field="filter.unassigned"
        )
    if spec.assigned_to_me:
        clauses.append("assignee = currentUser()")
    if spec.unassigned:
        clauses.append("assignee is EMPTY")
    if spec.reported_by_me:
        clauses.append("reporter = currentUser()")
    return clauses


def _check_range(low: date | None, high: date | None, name: str) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidInput(
            "This range is empty: the start is after the end.", field=f"filter.{name}"
        )


_TOP_ORDER = re.compile(r"\border\s+by\b", re.IGNORECASE)


def split_user_jql(jql: str) -> tuple[str, str | None]:
    """``(where part, ORDER BY part or None)``; ``BadJql`` for unbalanced quotes/parentheses.

    Scans outside quoted strings only, so ``summary ~ "order by"`` is a value, not an order.
    """
    depth = 0
    quote: str | None = None
    escaped = False
    masked: list[str] = []
    for ch in jql:
        if quote is not None:
            masked.append(" ")
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise BadJql("The JQL has a ')' without its '('.", field="jql")
        masked.append(ch if depth == 0 else " ")
    if quote is not None:
        raise BadJql("The JQL has a string that is never closed.", field="jql")
    if depth:
        raise BadJql("The JQL has a '(' that is never closed.", field="jql")
    match = _TOP_ORDER.search("".join(masked))
    if match is None:
        return jql.strip(), None
    return jql[: match.start()].strip(), jql[match.end() :].strip()


def build_jql(
    spec: FilterSpec | None,
    user_jql: str | None = None,
    order: Sequence[tuple[str, str]] | None = None,
) -> str:
    """The JQL for a filter, a user's JQL and an order (JQL field names, ``ASC``/``DESC``)."""
    where: list[str] = []
    user_order: str | None = None
    if user_jql is not None and user_jql.strip():
        user_where, user_order = split_user_jql(user_jql)
        if user_order is not None and order:
            raise BadJql(
                "Give the order either in `jql` (ORDER BY) or in `orderBy`, not both.",
                field="jql",
            )
        if user_order is not None and not user_order:
            raise BadJql("ORDER BY needs at least one field.", field="jql")
        if user_where:
            where.append(f"({user_where})")
    if spec is not None:
        where.extend(filter_clauses(spec))
    if user_order is not None:
        order_text = user_order
        names_key = re.search(r"\b(key|issuekey|id)\b", user_order, re.IGNORECASE) is not None
    else:
        terms = list(order or DEFAULT_ORDER)
        order_text = ", ".join(f"{f} {d}" for f, d in terms)
        names_key = any(f in ("key", "issuekey", "id") for f, _ in terms)
    if not names_key:
        order_text += ", key DESC"
    return f"{' AND '.join(where)} ORDER BY {order_text}".strip()
