"""Normalizers for issues and issue search pages (hot path: every issue of every page).

``parse_issue`` accepts anything JIRA calls an issue: a full ``GET /issue/{key}`` with every
expand, a search hit limited to a few ``fields``, a bulkfetch entry, the minimal issue of a
``comment_*`` webhook. Fields that were not requested stay None / empty and are absent from
``Issue.fields_present``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.jira.dto import (
    CustomField,
    CustomFieldValue,
    Issue,
    IssueLink,
    IssueRef,
    Page,
    TimeTracking,
)
from gateway.jira.parse_activity import (
    parse_attachment,
    parse_changelog_page,
    parse_comment_page,
    parse_page,
)
from gateway.jira.parse_base import (
    arr,
    fail,
    id_or_self,
    obj,
    opt_date,
    opt_datetime,
    opt_int,
    opt_obj,
    opt_str,
    opt_user,
    req_id,
    req_str,
    rich_text,
)
from gateway.jira.parse_custom import parse_custom_value
from gateway.jira.parse_meta import (
    field_defs_from_expand,
    parse_component,
    parse_issue_type,
    parse_priority,
    parse_project,
    parse_resolution,
    parse_status,
    parse_version,
)

_NO_DEFS: Mapping[str, CustomField] = {}


def browse_url(self_url: str | None, key: str, base_url: str | None = None) -> str | None:
    """``https://x.atlassian.net/rest/api/3/issue/10032`` -> ``https://x.atlassian.net/browse/KP-19``."""
    base = base_url
    if base is None and self_url:
        cut = self_url.find("/rest/")
        base = self_url[:cut] if cut > 0 else None
    return f"{base.rstrip('/')}/browse/{key}" if base else None


def parse_issue_ref(raw: object, *, endpoint: str, path: str = "$") -> IssueRef:
    data = obj(raw, endpoint, path)
    for side in ("outwardIssue", "inwardIssue"):
        # Atlassian's examples list "sub-tasks" as link objects wrapping the subtask.
        if isinstance(data.get(side), dict) and "key" not in data:
            return parse_issue_ref(data[side], endpoint=endpoint, path=f"{path}.{side}")
    fields = opt_obj(data.get("fields"), endpoint, f"{path}.fields") or {}
    status = opt_obj(fields.get("status"), endpoint, f"{path}.fields.status")
    issuetype = opt_obj(fields.get("issuetype"), endpoint, f"{path}.fields.issuetype")
    priority = opt_obj(fields.get("priority"), endpoint, f"{path}.fields.priority")
    fp = f"{path}.fields"
    return IssueRef(
        id=id_or_self(data, endpoint, path),
        key=req_str(data.get("key"), endpoint, f"{path}.key"),
        summary=opt_str(fields.get("summary"), endpoint, f"{fp}.summary"),
        status=parse_status(status, endpoint=endpoint, path=f"{fp}.status") if status else None,
        issuetype=(
            parse_issue_type(issuetype, endpoint=endpoint, path=f"{fp}.issuetype")
            if issuetype
            else None
        ),
        priority=(
            parse_priority(priority, endpoint=endpoint, path=f"{fp}.priority") if priority else None
        ),
    )


def parse_issue_link(raw: object, *, endpoint: str, path: str = "$") -> IssueLink:
    data = obj(raw, endpoint, path)
    link_type = obj(data.get("type"), endpoint, f"{path}.type")
    if data.get("inwardIssue") is not None:
        direction, other_key = "inward", "inwardIssue"
    elif data.get("outwardIssue") is not None:
        direction, other_key = "outward", "outwardIssue"
    else:
        fail(endpoint, path, "issue link has neither inwardIssue nor outwardIssue")
    return IssueLink(
        id=id_or_self(data, endpoint, path),
        type_name=req_str(link_type.get("name"), endpoint, f"{path}.type.name"),
        inward=opt_str(link_type.get("inward"), endpoint, f"{path}.type.inward"),
        outward=opt_str(link_type.get("outward"), endpoint, f"{path}.type.outward"),
        direction="inward" if direction == "inward" else "outward",
        other=parse_issue_ref(data[other_key], endpoint=endpoint, path=f"{path}.{other_key}"),
    )


def _time_tracking(value: object, endpoint: str, path: str) -> TimeTracking | None:
    data = opt_obj(value, endpoint, path)  # "{}" (time tracking disabled) -> None
    if data is None:
        return None
    return TimeTracking(
        original_estimate_seconds=opt_int(data.get("originalEstimateSeconds"), endpoint, path),
        remaining_estimate_seconds=opt_int(data.get("remainingEstimateSeconds"), endpoint, path),
        time_spent_seconds=opt_int(data.get("timeSpentSeconds"), endpoint, path),
    )


def _worklog_total(value: object, endpoint: str, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, list):  # JIRA 4.x: a bare list
        return len(value)
    data = obj(value, endpoint, path)
    total = opt_int(data.get("total"), endpoint, f"{path}.total")
    if total is None:
        return len(arr(data.get("worklogs"), endpoint, f"{path}.worklogs"))
    return total


def _list(value: object, endpoint: str, path: str, parse: Any) -> tuple[Any, ...]:
    items = arr(value, endpoint, path)
    return tuple(parse(v, endpoint=endpoint, path=f"{path}[{i}]") for i, v in enumerate(items))


def _labels(value: object, endpoint: str, path: str) -> tuple[str, ...]:
    labels = arr(value, endpoint, path)
    for i, label in enumerate(labels):
        if not isinstance(label, str):
            fail(endpoint, f"{path}[{i}]", "expected string label")
    return tuple(label for label in labels if label)


def _one(value: object, endpoint: str, path: str, parse: Any) -> Any:
    data = opt_obj(value, endpoint, path)
    return None if data is None else parse(data, endpoint=endpoint, path=path)


def parse_issue(
    raw: object,
    *,
    endpoint: str,
    names: object = None,
    schema: object = None,
    field_defs: Mapping[str, CustomField] | None = None,
    path: str = "$",
    base_url: str | None = None,
) -> Issue:
    """One issue -> ``Issue``. Custom field names/types come from ``field_defs`` (``/field``),
    else from ``names``/``schema`` (``expand=names,schema``; read from ``raw`` when not given).
    """
    data = obj(raw, endpoint, path)
    ident = req_id(data.get("id"), endpoint, f"{path}.id")
    key = req_str(data.get("key"), endpoint, f"{path}.key")
    fp = f"{path}.fields"
    f = opt_obj(data.get("fields"), endpoint, fp) or {}
    rendered = data.get("renderedFields")
    rendered = rendered if isinstance(rendered, dict) else {}
    self_url = opt_str(data.get("self"), endpoint, f"{path}.self")

    custom: dict[str, CustomFieldValue] = {}
    custom_ids = [k for k in f if k.startswith("customfield_")]
    if custom_ids:
        defs = field_defs
        if defs is None:
            names = data.get("names") if names is None else names
            schema = data.get("schema") if schema is None else schema
            has_expand = names is not None or schema is not None
            defs = (
                field_defs_from_expand(names, schema, endpoint=endpoint) if has_expand else _NO_DEFS
            )
        for cid in custom_ids:
            custom[cid] = parse_custom_value(cid, f[cid], defs.get(cid))

    comments = None
    if "comment" in f and f["comment"] is not None:
        comments = parse_comment_page(
            f["comment"], endpoint=endpoint, path=f"{fp}.comment", rendered=rendered.get("comment")
        )
    # JRJC's JIRA 5.0 recordings carry "changelog": "TODO" (an unimplemented expand): ignore
    # non-object changelogs rather than reject the whole issue.
    changelog_raw = data.get("changelog")
    changelog = (
        parse_changelog_page(changelog_raw, endpoint=endpoint, path=f"{path}.changelog")
        if isinstance(changelog_raw, dict)
        else None
    )
    subtasks_raw = f.get("subtasks", f.get("sub-tasks"))
    work_ratio = opt_int(f.get("workratio"), endpoint, f"{fp}.workratio")

    return Issue(
        id=ident,
        key=key,
        self_url=self_url,
        browse_url=browse_url(self_url, key, base_url),
        summary=opt_str(f.get("summary"), endpoint, f"{fp}.summary"),
        description=rich_text(
            f.get("description"), rendered.get("description"), endpoint, f"{fp}.description"
        ),
        environment=rich_text(
            f.get("environment"), rendered.get("environment"), endpoint, f"{fp}.environment"
        ),
        status=_one(f.get("status"), endpoint, f"{fp}.status", parse_status),
        priority=_one(f.get("priority"), endpoint, f"{fp}.priority", parse_priority),
        issuetype=_one(f.get("issuetype"), endpoint, f"{fp}.issuetype", parse_issue_type),
        project=_one(f.get("project"), endpoint, f"{fp}.project", parse_project),
        assignee=opt_user(f.get("assignee"), endpoint, f"{fp}.assignee"),
        reporter=opt_user(f.get("reporter"), endpoint, f"{fp}.reporter"),
        creator=opt_user(f.get("creator"), endpoint, f"{fp}.creator"),
        labels=_labels(f.get("labels"), endpoint, f"{fp}.labels"),
        components=_list(f.get("components"), endpoint, f"{fp}.components", parse_component),
        fix_versions=_list(f.get("fixVersions"), endpoint, f"{fp}.fixVersions", parse_version),
        versions=_list(f.get("versions"), endpoint, f"{fp}.versions", parse_version),
        created=opt_datetime(f.get("created"), endpoint, f"{fp}.created"),
        updated=opt_datetime(f.get("updated"), endpoint, f"{fp}.updated"),
        duedate=opt_date(f.get("duedate"), endpoint, f"{fp}.duedate"),
        resolution=_one(f.get("resolution"), endpoint, f"{fp}.resolution", parse_resolution),
        resolutiondate=opt_datetime(f.get("resolutiondate"), endpoint, f"{fp}.resolutiondate"),
        parent=_one(f.get("parent"), endpoint, f"{fp}.parent", parse_issue_ref),
        subtasks=_list(subtasks_raw, endpoint, f"{fp}.subtasks", parse_issue_ref),
        links=_list(f.get("issuelinks"), endpoint, f"{fp}.issuelinks", parse_issue_link),
        attachments=_list(f.get("attachment"), endpoint, f"{fp}.attachment", parse_attachment),
        comments=comments,
        changelog=changelog,
        worklog_total=_worklog_total(f.get("worklog"), endpoint, f"{fp}.worklog"),
        time_tracking=_time_tracking(f.get("timetracking"), endpoint, f"{fp}.timetracking"),
        work_ratio=None if work_ratio is None or work_ratio < 0 else work_ratio,
        custom_fields=custom,
        fields_present=frozenset(f),
    )


def parse_search_page(
    raw: object,
    *,
    endpoint: str,
    field_defs: Mapping[str, CustomField] | None = None,
    base_url: str | None = None,
) -> Page[Issue]:
    """Classic ``/search`` and agile (``startAt``/``total``), ``/search/jql`` (``nextPageToken``,
    no total), and ``/issue/bulkfetch`` (``issues`` only) -> ``Page[Issue]``.

    Page-level ``names``/``schema`` are turned into field defs once, not once per issue.
    """
    data = obj(raw, endpoint, "$")
    defs = field_defs
    if defs is None and (data.get("names") is not None or data.get("schema") is not None):
        defs = field_defs_from_expand(data.get("names"), data.get("schema"), endpoint=endpoint)
    if defs is None:
        defs = _NO_DEFS

    def item(value: object, ep: str, path: str) -> Issue:
        return parse_issue(value, endpoint=ep, field_defs=defs, path=path, base_url=base_url)

    return parse_page(data, endpoint, "$", ("issues",), item)
