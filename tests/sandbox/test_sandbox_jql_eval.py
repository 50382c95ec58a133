"""JQL evaluation semantics on a small hand-built issue set, with a pinned `now`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from gateway.sandbox import jql
from gateway.sandbox.model import SandboxIssue

NOW = datetime(2024, 3, 13, 15, 30, tzinfo=UTC)  # a Wednesday
USERS = {"u-alice": ("alice", "Alice Smith"), "u-bob": ("bob", "Bob Jones")}
PROJECTS = {"ALPHA": ("Alpha Project", "10000"), "BETA": ("Beta", "10001"), "HIDDEN": ("H", "9")}


def issue(n: int, project: str = "ALPHA", **kw: Any) -> SandboxIssue:
    base: dict[str, Any] = {
        "id": 10000 + n,
        "key": f"{project}-{n}",
        "project_key": project,
        "issuetype": "Task",
        "summary": f"Issue number {n}",
        "status": "To Do",
        "status_category": "new",
        "priority": "Medium",
        "assignee": None,
        "reporter": "u-alice",
        "labels": [],
        "components": [],
        "fix_versions": [],
        "created": datetime(2024, 1, 1, tzinfo=UTC),
        "updated": datetime(2024, 1, 1, tzinfo=UTC),
        "duedate": None,
        "resolution": None,
        "resolutiondate": None,
        "parent_key": None,
        "custom": {},
    }
    base.update(kw)
    return SandboxIssue(**base)


ISSUES = [
    issue(
        1,
        issuetype="Epic",
        summary="Login page redesign",
        status="In Progress",
        status_category="indeterminate",
        priority="High",
        assignee="u-alice",
        labels=["frontend", "UX"],
        components=["Web"],
        created=datetime(2024, 1, 31, 15, 0, tzinfo=UTC),
        duedate=date(2024, 3, 20),
        custom={"customfield_10016": 8.0},
    ),
    issue(
        2,
        summary='Crash when saving "draft" reports',
        issuetype="Bug",
        priority="Highest",
        assignee="u-bob",
        labels=["backend"],
        status="Done",
        status_category="done",
        resolution="Done",
        resolutiondate=datetime(2024, 3, 12, 9, 0, tzinfo=UTC),
        created=datetime(2024, 3, 12, 8, 0, tzinfo=UTC),
        updated=datetime(2024, 3, 13, 9, 0, tzinfo=UTC),
        duedate=date(2024, 3, 1),
        parent_key="ALPHA-1",
        custom={"customfield_10016": 3.0},
    ),
    issue(
        3,
        summary="Order export to CSV",
        priority="Low",
        labels=["order"],
        fix_versions=["1.0"],
        created=datetime(2024, 2, 1, tzinfo=UTC),
        updated=datetime(2024, 3, 11, 12, 0, tzinfo=UTC),
        parent_key="ALPHA-1",
        custom={"customfield_10020": [{"name": "Sprint 7"}]},
    ),
    issue(
        10,
        project="BETA",
        issuetype="Sub-task",
        summary="Tune the exporter",
        status="In Review",
        status_category="indeterminate",
        priority=None,
        reporter=None,
        assignee="u-alice",
        created=datetime(2023, 12, 31, 23, 59, tzinfo=UTC),
        labels=["backend", "perf"],
        resolution="Won't Do",
        parent_key="BETA-9",
    ),
]
DESCRIPTIONS = {10001: "The login page needs a fresh look", 10003: "Export orders as CSV files"}


@dataclass
class Ctx:
    now: datetime = NOW
    current_user: str | None = "u-alice"
    visible: set[str] = field(default_factory=lambda: {"ALPHA", "BETA"})

    def users_matching(self, term: str) -> set[str] | None:
        low = term.lower()
        found = {
            uid for uid, (name, display) in USERS.items() if low in (uid, name, display.lower())
        }
        return found or None

    def project_keys_matching(self, term: str) -> set[str] | None:
        low = term.lower()
        found = {
            k
            for k, (name, pid) in PROJECTS.items()
            if k in self.visible and low in (k.lower(), name.lower(), pid)
        }
        return found or None

    def text_of(self, issue: SandboxIssue) -> str:
        return issue.summary + "\n" + self.description_of(issue)

    def description_of(self, issue: SandboxIssue) -> str:
        return DESCRIPTIONS.get(issue.id, "")

    def display_name_of(self, user_id: str) -> str:
        return USERS[user_id][1]


def keys(query: str, ctx: Ctx | None = None) -> list[str]:
    """Matching keys in ORDER BY order."""
    compiled = jql.compile_query(jql.parse(query), ctx or Ctx())
    return [i.key for i in compiled.sort([i for i in ISSUES if compiled.matches(i)])]


def match(query: str, ctx: Ctx | None = None) -> set[str]:
    return set(keys(query, ctx))


def errors(query: str, ctx: Ctx | None = None) -> list[str]:
    with pytest.raises(jql.JqlError) as err:
        jql.compile_query(jql.parse(query), ctx or Ctx())
    return err.value.messages


ALL = {"ALPHA-1", "ALPHA-2", "ALPHA-3", "BETA-10"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("project = ALPHA", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("project = 'beta' OR project = 10001", {"BETA-10"}),
        ("project != BETA", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("project in (alpha, Beta)", ALL),
        ("status = 'in progress'", {"ALPHA-1"}),
        ("status not in (Done, 'To Do')", {"ALPHA-1", "BETA-10"}),
        ("priority != Medium", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),  # != skips empty (BETA-10)
        ("priority is EMPTY", {"BETA-10"}),
        ("priority is not null", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("priority = null", {"BETA-10"}),
        ("priority > Medium", {"ALPHA-1", "ALPHA-2"}),
        ("priority <= 3", {"ALPHA-3"}),  # 3 = Medium; Low ranks below it
        ("priority in (1, low)", {"ALPHA-2", "ALPHA-3"}),
        ("assignee = alice", {"ALPHA-1", "BETA-10"}),
        ("assignee = 'Bob Jones'", {"ALPHA-2"}),
        ("assignee != currentUser()", {"ALPHA-2"}),
        ("assignee in (currentUser(), bob)", {"ALPHA-1", "ALPHA-2", "BETA-10"}),
        ("reporter is empty", {"BETA-10"}),
        ("type = bug", {"ALPHA-2"}),
        ("issuetype in standardIssueTypes()", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("issuetype in subTaskIssueTypes()", {"BETA-10"}),
        ("labels = BACKEND", {"ALPHA-2", "BETA-10"}),
        ("labels != backend", {"ALPHA-1", "ALPHA-3"}),  # empty labels never match !=
        ("labels not in (backend, 'order')", {"ALPHA-1"}),
        ("labels is empty", set()),
        ("labels in (EMPTY, ux)", {"ALPHA-1"}),
        ("component = web", {"ALPHA-1"}),
        ("component is empty", {"ALPHA-2", "ALPHA-3", "BETA-10"}),
        ("fixVersion = '1.0'", {"ALPHA-3"}),
        ("resolution = Unresolved", {"ALPHA-1", "ALPHA-3"}),
        ('resolution = "won\'t do"', {"BETA-10"}),
        ("resolution is not empty", {"ALPHA-2", "BETA-10"}),
        ("statusCategory = done", {"ALPHA-2"}),
        ("statusCategory = 'In Progress'", {"ALPHA-1", "BETA-10"}),
        ("statusCategory in (2, 3)", {"ALPHA-2", "ALPHA-3"}),
        ("key = alpha-2", {"ALPHA-2"}),
        ("issuekey in (ALPHA-1, 10003)", {"ALPHA-1", "ALPHA-3"}),
        ("id = 10010", {"BETA-10"}),
        ("key != ALPHA-1", {"ALPHA-2", "ALPHA-3", "BETA-10"}),
        ("key > ALPHA-1", {"ALPHA-2", "ALPHA-3"}),
        ("key <= ALPHA-2", {"ALPHA-1", "ALPHA-2"}),
        ("parent = ALPHA-1", {"ALPHA-2", "ALPHA-3"}),
        ("parent != ALPHA-1", {"BETA-10"}),
        ("cf[10016] > 5", {"ALPHA-1"}),
        ("customfield_10016 = 3", {"ALPHA-2"}),
        ("cf[10016] is empty", {"ALPHA-3", "BETA-10"}),
        ("cf[10020] = 'sprint 7'", {"ALPHA-3"}),
    ],
)
def test_operators(query: str, expected: set[str]) -> None:
    assert match(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("summary ~ login", {"ALPHA-1"}),
        ("summary ~ LOG", {"ALPHA-1"}),  # word prefix, case-insensitive
        ("summary ~ 'expo*'", {"ALPHA-3", "BETA-10"}),
        ("summary ~ 'export csv'", {"ALPHA-3"}),  # every term, any order
        ("summary ~ 'csv export'", {"ALPHA-3"}),
        ("summary ~ '\"export to\"'", {"ALPHA-3"}),  # phrase: consecutive words
        ("summary ~ '\"to export\"'", set()),
        ("summary ~ ogin", set()),  # words, not substrings
        ("summary !~ login", {"ALPHA-2", "ALPHA-3", "BETA-10"}),
        ('summary ~ "\\"draft\\""', {"ALPHA-2"}),
        ("description ~ fresh", {"ALPHA-1"}),
        ("description is empty", {"ALPHA-2", "BETA-10"}),
        ("description !~ fresh", {"ALPHA-3"}),  # empty descriptions never match !~
        ("text ~ 'files'", {"ALPHA-3"}),
        ("text ~ exporter", {"BETA-10"}),
    ],
)
def test_text_search(query: str, expected: set[str]) -> None:
    assert match(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Date-only values compare at day boundaries (ALPHA-1 was created 2024-01-31 15:00).
        ("created = 2024-01-31", {"ALPHA-1"}),
        ("created = '2024/01/31'", {"ALPHA-1"}),
        ("created > 2024-01-31", {"ALPHA-2", "ALPHA-3"}),
        ("created >= 2024-01-31", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("created < 2024-01-31", {"BETA-10"}),
        ("created <= 2024-01-31", {"ALPHA-1", "BETA-10"}),
        ("created = '2024-01-31 15:00'", {"ALPHA-1"}),
        ("created > '2024-01-31 14:59'", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("created != 2024-01-31", {"ALPHA-2", "ALPHA-3", "BETA-10"}),
        ("created in (2024-01-31, 2024-02-01)", {"ALPHA-1", "ALPHA-3"}),
        # Relative values against NOW = 2024-03-13 15:30.
        ("created > -2d", {"ALPHA-2"}),
        ("createdDate >= '-1w 2d'", {"ALPHA-2"}),
        ("updated > -4h", set()),
        ("updated > -7h", {"ALPHA-2"}),
        ("updatedDate < -1w2d", {"ALPHA-1", "BETA-10"}),
        ("created > 1704067200000", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),  # epoch ms: 2024-01-01
        # Functions.
        ("updated >= startOfDay()", {"ALPHA-2"}),
        ("updated >= startOfDay(-2)", {"ALPHA-2", "ALPHA-3"}),
        ("updated >= startOfWeek()", {"ALPHA-2", "ALPHA-3"}),  # week starts Sunday 2024-03-10
        ("created >= startOfMonth()", {"ALPHA-2"}),
        ("created >= startOfMonth(-1M) and created < startOfMonth()", {"ALPHA-3"}),
        ("created < startOfYear()", {"BETA-10"}),
        ("created > endOfYear(-1)", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("due <= endOfDay()", {"ALPHA-2"}),
        ("duedate < now()", {"ALPHA-2"}),
        ("duedate <= endOfWeek()", {"ALPHA-2"}),
        ("duedate <= endOfMonth()", {"ALPHA-1", "ALPHA-2"}),
        ("duedate = 2024-03-20", {"ALPHA-1"}),
        ("duedate is empty", {"ALPHA-3", "BETA-10"}),
        ("resolved >= startOfDay(-1d)", {"ALPHA-2"}),
        ("resolutiondate is empty", {"ALPHA-1", "ALPHA-3", "BETA-10"}),
    ],
)
def test_dates(query: str, expected: set[str]) -> None:
    assert match(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # JIRA accepts IS [NOT] EMPTY on fields every issue has: everything or nothing matches.
        ("project is not empty", ALL),
        ("project IS NOT NULL", ALL),
        ("project is EMPTY", set()),
        ("project is empty or project = beta", {"BETA-10"}),
        ("project in (EMPTY, alpha)", {"ALPHA-1", "ALPHA-2", "ALPHA-3"}),
        ("project is not empty and status = done", {"ALPHA-2"}),
        ("status is empty", set()),
        ("status is not empty", ALL),
        ("issuetype is not empty", ALL),
        ("type is empty", set()),
        ("statusCategory is empty", set()),
        ("created is empty", set()),
        ("updated is not empty", ALL),
        ("summary is not empty", ALL),
        ("summary is empty", set()),
    ],
)
def test_is_empty_on_always_set_fields(query: str, expected: set[str]) -> None:
    assert match(query) == expected


def test_is_empty_stays_rejected_where_jira_rejects_it() -> None:
    assert errors("key is not empty") == [
        "The operator 'is not' is not supported by the 'key' field."
    ]
    assert errors("parent is empty") == [
        "The operator 'is' is not supported by the 'parent' field."
    ]


def test_logic_and_precedence() -> None:
    # AND binds tighter than OR: a OR (b AND c).
    q = "project = BETA or labels = backend and priority = Highest"
    assert match(q) == {"BETA-10", "ALPHA-2"}
    assert match("(project = BETA or labels = backend) and priority = Highest") == {"ALPHA-2"}
    assert match("not project = ALPHA") == {"BETA-10"}
    assert match("! project = ALPHA or key = ALPHA-1") == {"BETA-10", "ALPHA-1"}
    assert match("not (project = ALPHA or key = BETA-10)") == set()
    assert match("not not project = BETA") == {"BETA-10"}
    assert match("labels = backend && project = ALPHA || key = ALPHA-3") == {"ALPHA-2", "ALPHA-3"}
    assert match("") == ALL
    assert match("order by key") == ALL


def test_case_insensitive_names_and_keywords() -> None:
    assert match("PROJECT = alpha AND Status = 'TO DO'") == {"ALPHA-3"}
    assert match("ASSIGNEE IS EMPTY") == match("assignee is empty") == {"ALPHA-3"}
    assert match("Labels NOT IN (Backend)") == {"ALPHA-1", "ALPHA-3"}
    assert keys("project = alpha ORDER BY KEY DESC") == ["ALPHA-3", "ALPHA-2", "ALPHA-1"]


def test_quoted_reserved_words_are_values() -> None:
    assert match("labels = 'order'") == {"ALPHA-3"}
    assert match('labels in ("order", "ux")') == {"ALPHA-1", "ALPHA-3"}
    with pytest.raises(jql.JqlError) as err:
        jql.parse("labels = order")
    assert err.value.messages == [
        "Error in the JQL Query: 'order' is a reserved JQL word. You must surround it in "
        "quotation marks to use it in a query. (line 1, character 10)"
    ]


def test_escapes_in_values() -> None:
    assert match(r'summary ~ "\"draft\""') == {"ALPHA-2"}
    assert match(r"labels = 'U\u0058'") == {"ALPHA-1"}
    assert match(r"labels = fron\tend") == set()  # \t is a tab, not "t"
    assert match(r"status = In\ Progress") == {"ALPHA-1"}


def test_order_by_multi_key_with_nulls() -> None:
    # Empty values sort last ascending, first descending; ties fall back to id descending.
    assert keys("order by duedate asc") == ["ALPHA-2", "ALPHA-1", "BETA-10", "ALPHA-3"]
    assert keys("order by duedate desc") == ["BETA-10", "ALPHA-3", "ALPHA-1", "ALPHA-2"]
    assert keys("order by priority desc, key asc") == ["BETA-10", "ALPHA-2", "ALPHA-1", "ALPHA-3"]
    assert keys("order by assignee asc, created desc") == [
        "ALPHA-1",
        "BETA-10",
        "ALPHA-2",
        "ALPHA-3",
    ]
    assert keys("order by status") == ["ALPHA-3", "ALPHA-1", "BETA-10", "ALPHA-2"]  # category, name
    assert keys("order by statusCategory desc, summary desc") == [
        "ALPHA-2",
        "BETA-10",
        "ALPHA-1",
        "ALPHA-3",
    ]
    assert keys("order by created") == ["ALPHA-2", "ALPHA-3", "ALPHA-1", "BETA-10"]  # DESC default
    assert keys("order by cf[10016]") == ["ALPHA-2", "ALPHA-1", "BETA-10", "ALPHA-3"]
    assert keys("project = ALPHA order by Rank ASC") == ["ALPHA-1", "ALPHA-2", "ALPHA-3"]
    assert keys("") == ["BETA-10", "ALPHA-3", "ALPHA-2", "ALPHA-1"]  # no ORDER BY: id DESC


def test_current_user_anonymous_matches_nobody() -> None:
    anon = Ctx(current_user=None)
    assert match("assignee = currentUser()", anon) == set()
    assert match("assignee != currentUser()", anon) == {"ALPHA-1", "ALPHA-2", "BETA-10"}


def test_project_keys_prefilter() -> None:
    def pk(query: str) -> frozenset[str] | None:
        return jql.compile_query(jql.parse(query), Ctx()).project_keys

    assert pk("project = alpha and status = Done") == {"ALPHA"}
    assert pk("project in (ALPHA, BETA) and project = BETA order by key") == {"BETA"}
    assert pk("project = ALPHA or status = Done") is None
    assert pk("project != ALPHA") is None
    assert pk("status = Done") is None


def test_hidden_project_is_unknown() -> None:
    assert errors("project = HIDDEN") == [
        "The value 'HIDDEN' does not exist for the field 'project'."
    ]
