"""IssueFilter -> JQL: no filter value can change the query's structure (no JQL injection).

The built JQL is parsed with the sandbox's JQL parser (a faithful copy of JIRA's grammar) and
the tree must hold exactly the expected clauses, with every value decoded back to what was given.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import InvalidInput, LimitExceeded
from gateway.jql_builder import BadJql, FilterSpec, build_jql, split_user_jql
from gateway.sandbox import jql
from gateway.sandbox.jql_ast import AndNode, ListOperand, TerminalClause, ValueOperand

# Any text at all, plus the strings most likely to break a naive quoter.
HOSTILE = st.sampled_from(
    [
        '"',
        '\\"',
        "\\",
        '") OR project = SECRET OR ("',
        "' OR 1=1 --",
        "AND",
        "ORDER BY created",
        "EMPTY",
        "currentUser()",
        "a\nb\r\tc",
        "\u0000\u001f\u007f\ufffe",
        "é日本語🙂",
        "cf[10001]",
        "*%+^$#@;?",
    ]
)
VALUE = st.one_of(HOSTILE, st.text(min_size=1, max_size=30)).filter(lambda s: s.strip() != "")
VALUES = st.lists(VALUE, min_size=1, max_size=4, unique=True)


def _clauses(text: str) -> list[TerminalClause]:
    query = jql.parse(text)
    where = query.where
    assert where is not None
    nodes = where.clauses if isinstance(where, AndNode) else (where,)
    assert all(isinstance(n, TerminalClause) for n in nodes), nodes
    return list(nodes)  # type: ignore[arg-type]


def _values(clause: TerminalClause) -> list[str]:
    operand = clause.operand
    items = operand.items if isinstance(operand, ListOperand) else (operand,)
    assert all(isinstance(i, ValueOperand) and i.quoted for i in items), items
    return [i.value for i in items]  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(projects=VALUES, labels=VALUES, statuses=VALUES, text=VALUE)
def test_no_value_changes_the_structure(
    projects: list[str], labels: list[str], statuses: list[str], text: str
) -> None:
    spec = FilterSpec(
        projects=tuple(projects), labels=tuple(labels), statuses=tuple(statuses), text=text
    )
    built = build_jql(spec)
    clauses = _clauses(built)
    assert [(c.field.name.lower(), c.operator) for c in clauses] == [
        ("project", "in"),
        ("status", "in"),
        ("labels", "in"),
        ("text", "~"),
    ]
    assert _values(clauses[0]) == [p for p in projects if p.strip()]
    assert _values(clauses[1]) == [s for s in statuses if s.strip()]
    assert _values(clauses[2]) == [v for v in labels if v.strip()]
    assert _values(clauses[3]) == [text]
    order = jql.parse(built).order_by
    assert [(t.field.name.lower(), t.direction) for t in order] == [
        ("created", "desc"),
        ("key", "desc"),
    ]


@settings(max_examples=100, deadline=None)
@given(assignees=VALUES)
def test_user_jql_stays_inside_its_parentheses(assignees: list[str]) -> None:
    built = build_jql(FilterSpec(assignees=tuple(assignees)), "project = A OR project = B")
    query = jql.parse(built)
    assert isinstance(query.where, AndNode)
    user, clause = query.where.clauses
    assert type(user).__name__ == "OrNode"  # the user's OR did not escape to the top level
    assert isinstance(clause, TerminalClause)
    assert _values(clause) == assignees


def test_dates_and_flags() -> None:
    spec = FilterSpec(
        created_after=datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
        due_before=date(2025, 2, 1),
        assigned_to_me=True,
        reported_by_me=True,
        status_categories=("new", "done"),
    )
    built = build_jql(spec, order=[("priority", "DESC")])
    assert built == (
        'statusCategory in ("To Do", "Done") AND created >= "2025-01-02 03:04" AND '
        'duedate <= "2025-02-01" AND assignee = currentUser() AND reporter = currentUser() '
        "ORDER BY priority DESC, key DESC"
    )
    jql.parse(built)


def test_order_by_in_user_jql_is_kept_unless_order_by_is_given() -> None:
    assert build_jql(None, "project = A ORDER BY updated") == (
        "(project = A) ORDER BY updated, key DESC"
    )
    assert build_jql(None, 'summary ~ "order by" ORDER BY key') == (
        '(summary ~ "order by") ORDER BY key'
    )
    with pytest.raises(BadJql) as err:
        build_jql(None, "project = A ORDER BY updated", [("created", "ASC")])
    assert err.value.field == "jql"


@pytest.mark.parametrize("bad", ["a = 1) OR (b = 2", "(a = 1", 'summary ~ "open'])
def test_unbalanced_user_jql_is_refused(bad: str) -> None:
    with pytest.raises(BadJql):
        split_user_jql(bad)


def test_invalid_filters_name_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        build_jql(FilterSpec(projects=("",)))
    assert err.value.field == "filter.projects"
    with pytest.raises(InvalidInput) as err:
        build_jql(
            FilterSpec(
                created_after=datetime(2025, 2, 1, tzinfo=UTC),
                created_before=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
    assert err.value.field == "filter.createdAfter"
    with pytest.raises(LimitExceeded):
        build_jql(FilterSpec(labels=tuple(str(i) for i in range(101))))
