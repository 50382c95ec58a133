"""Fixed JIRA metadata of the sandbox: statuses, priorities, issue types, resolutions, fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Status:
    id: int
    name: str
    category: str  # new | indeterminate | done
    description: str


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    key: str
    name: str
    color: str


@dataclass(frozen=True, slots=True)
class Priority:
    id: int
    name: str
    color: str
    icon: str


@dataclass(frozen=True, slots=True)
class IssueType:
    id: int
    name: str
    description: str
    subtask: bool
    hierarchy: int
    avatar: int


@dataclass(frozen=True, slots=True)
class Resolution:
    id: int
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class LinkType:
    id: int
    name: str
    inward: str
    outward: str


@dataclass(frozen=True, slots=True)
class FieldDef:
    id: str
    name: str
    custom: bool
    navigable: bool
    orderable: bool
    searchable: bool
    schema_type: str
    items: str | None = None
    system: str | None = None
    custom_type: str | None = None
    clause_names: tuple[str, ...] = ()


CATEGORIES = (
    Category(1, "undefined", "No Category", "medium-gray"),
    Category(2, "new", "To Do", "blue-gray"),
    Category(4, "indeterminate", "In Progress", "yellow"),
    Category(3, "done", "Done", "green"),
)
CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}

STATUSES = (
    Status(10000, "To Do", "new", "Work that has not been started."),
    Status(3, "In Progress", "indeterminate", "The issue is currently being worked on."),
    Status(10001, "In Review", "indeterminate", "Waiting for a code review."),
    Status(10002, "Blocked", "indeterminate", "Waiting for something outside the team."),
    Status(10003, "Done", "done", "Work has been completed."),
)
STATUS_BY_NAME = {s.name: s for s in STATUSES}
# Cloud's simplified workflow: every status is reachable from every other ("All" transitions).
TRANSITION_ID_BY_STATUS = {
    "To Do": 11,
    "In Progress": 21,
    "In Review": 31,
    "Blocked": 41,
    "Done": 51,
}

PRIORITIES = (
    Priority(1, "Highest", "#d04437", "highest"),
    Priority(2, "High", "#f15C75", "high"),
    Priority(3, "Medium", "#f79232", "medium"),
    Priority(4, "Low", "#707070", "low"),
    Priority(5, "Lowest", "#999999", "lowest"),
)
PRIORITY_BY_NAME = {p.name: p for p in PRIORITIES}

ISSUE_TYPES = (
    IssueType(10000, "Epic", "A big user story that needs to be broken down.", False, 1, 10307),
    IssueType(
        10001, "Story", "Functionality or a feature expressed as a user goal.", False, 0, 10315
    ),
    IssueType(10002, "Task", "A small, distinct piece of work.", False, 0, 10318),
    IssueType(10004, "Bug", "A problem or error.", False, 0, 10303),
    IssueType(
        10003, "Sub-task", "A small piece of work that's part of a larger task.", True, -1, 10316
    ),
)
ISSUE_TYPE_BY_NAME = {t.name: t for t in ISSUE_TYPES}

RESOLUTIONS = (
    Resolution(10000, "Done", "Work has been completed on this issue."),
    Resolution(10001, "Won't Do", "This issue won't be actioned."),
    Resolution(10002, "Duplicate", "The problem is a duplicate of an existing issue."),
    Resolution(10003, "Cannot Reproduce", "All attempts at reproducing this issue failed."),
)
RESOLUTION_BY_NAME = {r.name: r for r in RESOLUTIONS}

LINK_TYPES = (
    LinkType(10000, "Blocks", "is blocked by", "blocks"),
    LinkType(10003, "Relates", "relates to", "relates to"),
    LinkType(10002, "Duplicate", "is duplicated by", "duplicates"),
)
LINK_TYPE_BY_NAME = {t.name: t for t in LINK_TYPES}

CF_STORY_POINTS = "customfield_10016"
CF_RANK = "customfield_10019"
CF_SPRINT = "customfield_10020"
CF_TEAM = "customfield_10030"
CF_REVIEWERS = "customfield_10040"
CF_TARGET = "customfield_10050"

TEAMS = ((10100, "Platform"), (10101, "Payments"), (10102, "Mobile"), (10103, "Data"))

_GH = "com.pyxis.greenhopper.jira:"
_CF = "com.atlassian.jira.plugin.system.customfieldtypes:"


def _sys(
    fid: str,
    name: str,
    stype: str,
    *,
    items: str | None = None,
    nav: bool = True,
    order: bool = True,
    search: bool = True,
    clauses: tuple[str, ...] = (),
) -> FieldDef:
    return FieldDef(
        fid, name, False, nav, order, search, stype, items, fid, None, clauses or (fid,)
    )


def _cf(fid: str, name: str, stype: str, ctype: str, items: str | None = None) -> FieldDef:
    num = fid.removeprefix("customfield_")
    return FieldDef(
        fid, name, True, True, True, True, stype, items, None, ctype, (f"cf[{num}]", name)
    )


FIELDS = (
    _sys("summary", "Summary", "string"),
    _sys("description", "Description", "string"),
    _sys("issuetype", "Issue Type", "issuetype", clauses=("issuetype", "type")),
    _sys("status", "Status", "status"),
    _sys("statusCategory", "Status Category", "statusCategory", order=False),
    _sys("priority", "Priority", "priority"),
    _sys("assignee", "Assignee", "user"),
    _sys("reporter", "Reporter", "user"),
    _sys("creator", "Creator", "user"),
    _sys("project", "Project", "project"),
    _sys("labels", "Labels", "array", items="string"),
    _sys("components", "Components", "array", items="component", clauses=("component",)),
    _sys("fixVersions", "Fix versions", "array", items="version", clauses=("fixVersion",)),
    _sys("versions", "Affects versions", "array", items="version", clauses=("affectedVersion",)),
    _sys("created", "Created", "datetime", clauses=("created", "createdDate")),
    _sys("updated", "Updated", "datetime", clauses=("updated", "updatedDate")),
    _sys("duedate", "Due date", "date", clauses=("due", "duedate")),
    _sys("resolution", "Resolution", "resolution"),
    _sys("resolutiondate", "Resolved", "datetime", clauses=("resolved", "resolutiondate")),
    _sys("environment", "Environment", "string"),
    _sys("parent", "Parent", "issuelink"),
    _sys("subtasks", "Sub-tasks", "array", items="issuelinks", order=False, search=False),
    _sys("issuelinks", "Linked Issues", "array", items="issuelinks", order=False),
    _sys("attachment", "Attachment", "array", items="attachment", nav=False, order=False),
    _sys("comment", "Comment", "comments-page", nav=False, order=False),
    _sys("worklog", "Log Work", "array", items="worklog", nav=False, order=False),
    _sys("timetracking", "Time tracking", "timetracking", nav=False, order=False),
    _sys("votes", "Votes", "votes"),
    _sys("watches", "Watchers", "watches"),
    _sys("workratio", "Work Ratio", "number"),
    _sys("lastViewed", "Last Viewed", "datetime", search=False),
    _sys("statuscategorychangedate", "Status Category Changed", "datetime"),
    _cf(CF_STORY_POINTS, "Story point estimate", "number", _GH + "jsw-story-points"),
    _cf(CF_RANK, "Rank", "any", _GH + "gh-lexo-rank"),
    _cf(CF_SPRINT, "Sprint", "array", _GH + "gh-sprint", "json"),
    _cf(CF_TEAM, "Team", "option", _CF + "select"),
    _cf(CF_REVIEWERS, "Reviewers", "array", _CF + "multiuserpicker", "user"),
    _cf(CF_TARGET, "Target end", "date", _CF + "datepicker"),
)
FIELD_BY_ID = {f.id: f for f in FIELDS}
NAVIGABLE = tuple(f.id for f in FIELDS if f.navigable and f.id != "statusCategory")
ALL_FIELDS = tuple(f.id for f in FIELDS if f.id != "statusCategory")
