"""Wire values of single issue fields (`IssueBean.fields.*`), system and custom.

Present-but-null is kept as JIRA does (assignee, resolution, duedate, environment...).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.sandbox import rich
from gateway.sandbox.catalog import (
    CF_REVIEWERS,
    CF_SPRINT,
    CF_TARGET,
    CF_TEAM,
    ISSUE_TYPE_BY_NAME,
    LINK_TYPE_BY_NAME,
    PRIORITY_BY_NAME,
    RESOLUTION_BY_NAME,
    STATUS_BY_NAME,
    TEAMS,
)
from gateway.sandbox.serialize_meta import (
    api_base,
    component_json,
    fmt_dt,
    issuetype_json,
    priority_json,
    project_short,
    resolution_json,
    status_json,
    user_body,
    version_json,
)

if TYPE_CHECKING:
    from gateway.sandbox.model import SandboxAttachment, SandboxIssue
    from gateway.sandbox.seed import SandboxSprint
    from gateway.sandbox.store import Store

_TEAM_ID = {name: tid for tid, name in TEAMS}


def rendered_date(moment: datetime) -> str:
    return moment.strftime("%d/%b/%y %I:%M %p")


def _iso_z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sprint_value(store: Store, sprint: SandboxSprint) -> Any:
    """Cloud: a sprint object; Server: the legacy `Sprint@…[…]` string."""
    if store.flavor == "cloud":
        out: dict[str, Any] = {
            "id": sprint.id,
            "name": sprint.name,
            "state": sprint.state,
            "boardId": sprint.board_id,
            "goal": sprint.goal,
            "startDate": _iso_z(sprint.start),
            "endDate": _iso_z(sprint.end),
        }
        if sprint.complete:
            out["completeDate"] = _iso_z(sprint.complete)
        return out
    complete = fmt_dt(sprint.complete) if sprint.complete else "<null>"
    return (
        f"com.atlassian.greenhopper.service.sprint.Sprint@{sprint.id:x}[id={sprint.id},"
        f"rapidViewId={sprint.board_id},state={sprint.state.upper()},name={sprint.name},"
        f"startDate={fmt_dt(sprint.start)},endDate={fmt_dt(sprint.end)},"
        f"completeDate={complete},sequence={sprint.id},goal={sprint.goal}]"
    )


def issue_ref(store: Store, issue: SandboxIssue, api: str) -> dict[str, Any]:
    """The small issue form used by parent, subtasks and links."""
    prio = PRIORITY_BY_NAME.get(issue.priority or "")
    return {
        "id": str(issue.id),
        "key": issue.key,
        "self": f"{api_base(store, api)}/issue/{issue.id}",
        "fields": {
            "summary": issue.summary,
            "status": status_json(store, STATUS_BY_NAME[issue.status], api),
            "priority": priority_json(store, prio, api) if prio else None,
            "issuetype": issuetype_json(store, ISSUE_TYPE_BY_NAME[issue.issuetype], api),
        },
    }


def attachment_json(store: Store, att: SandboxAttachment, api: str) -> dict[str, Any]:
    base = store.base_url
    if store.flavor == "cloud":
        content = f"{base}/rest/api/3/attachment/content/{att.id}"
    else:
        content = f"{base}/secure/attachment/{att.id}/{att.filename}"
    out: dict[str, Any] = {
        "self": f"{api_base(store, api)}/attachment/{att.id}",
        "id": str(att.id),
        "filename": att.filename,
        "author": user_body(store, att.author, api),
        "created": fmt_dt(att.created),
        "size": len(att.content),
        "mimeType": att.mime_type,
        "content": content,
    }
    if att.mime_type.startswith("image/"):
        out["thumbnail"] = content
    return out


def _links(store: Store, issue: SandboxIssue, api: str, viewer: str | None) -> list[dict[str, Any]]:
    out = []
    for link in store.data.links.get(issue.key, []):
        other_key = link.outward_key if link.inward_key == issue.key else link.inward_key
        other = store.issue_for(viewer, other_key) if viewer else store.issues.get(other_key)
        if other is None:
            continue
        ltype = LINK_TYPE_BY_NAME[link.type_name]
        side = "outwardIssue" if link.inward_key == issue.key else "inwardIssue"
        out.append(
            {
                "id": str(link.id),
                "self": f"{api_base(store, api)}/issueLink/{link.id}",
                "type": {
                    "id": str(ltype.id),
                    "name": ltype.name,
                    "inward": ltype.inward,
                    "outward": ltype.outward,
                    "self": f"{api_base(store, api)}/issueLinkType/{ltype.id}",
                },
                side: issue_ref(store, other, api),
            }
        )
    return out


def _custom(store: Store, issue: SandboxIssue, fid: str, api: str) -> Any:
    value = issue.custom.get(fid)
    if value is None:
        return None
    if fid == CF_SPRINT:
        return [sprint_value(store, store.data.sprints[s]) for s in value]
    if fid == CF_TEAM:
        tid = _TEAM_ID.get(value, 0)
        return {
            "self": f"{api_base(store, api)}/customFieldOption/{tid}",
            "value": value,
            "id": str(tid),
        }
    if fid == CF_REVIEWERS:
        return [user_body(store, u, api) for u in value]
    if fid == CF_TARGET:
        return value.isoformat()
    return value


def field_value(store: Store, issue: SandboxIssue, fid: str, api: str, viewer: str | None) -> Any:
    """The wire value of field `fid` of `issue` for `viewer`."""
    if fid == "summary":
        return issue.summary
    if fid == "status":
        return status_json(store, STATUS_BY_NAME[issue.status], api)
    if fid in {"assignee", "reporter", "creator"}:
        uid = issue.reporter if fid == "creator" else getattr(issue, fid)
        return user_body(store, uid, api) if uid else None
    if fid == "priority":
        prio = PRIORITY_BY_NAME.get(issue.priority or "")
        return priority_json(store, prio, api) if prio else None
    if fid == "issuetype":
        return issuetype_json(store, ISSUE_TYPE_BY_NAME[issue.issuetype], api)
    if fid == "project":
        return project_short(store, store.projects[issue.project_key], api)
    if fid in {"created", "updated"}:
        return fmt_dt(getattr(issue, fid))
    if fid == "resolutiondate":
        return fmt_dt(issue.resolutiondate) if issue.resolutiondate else None
    if fid == "statuscategorychangedate":
        return fmt_dt(issue.resolutiondate or issue.created)
    if fid == "duedate":
        return issue.duedate.isoformat() if issue.duedate else None
    if fid == "labels":
        return list(issue.labels)
    if fid == "resolution":
        res = RESOLUTION_BY_NAME.get(issue.resolution or "")
        return resolution_json(store, res, api) if res else None
    project = store.projects[issue.project_key]
    if fid == "components":
        return [
            component_json(store, c, api) for c in project.components if c.name in issue.components
        ]
    if fid == "fixVersions":
        return [
            version_json(store, v, project, api)
            for v in project.versions
            if v.name in issue.fix_versions
        ]
    if fid == "versions":
        return []
    if fid.startswith("customfield_"):
        return _custom(store, issue, fid, api)
    return _heavy(store, issue, fid, api, viewer)


def _heavy(store: Store, issue: SandboxIssue, fid: str, api: str, viewer: str | None) -> Any:
    from gateway.sandbox.serialize import body_json, comments_page  # cycle: serialize imports us

    if fid == "description":
        return body_json(store, store.details(issue).description, "3" if api == "3" else "2")
    if fid == "environment":
        env = store.details(issue).environment
        if env is None or api != "3":
            return env
        return rich.to_adf((rich.Paragraph((rich.Text(env),)),), store.name_of)
    if fid == "comment":
        return comments_page(store, issue, "3" if api == "3" else "2")
    if fid == "attachment":
        return [attachment_json(store, a, api) for a in store.details(issue).attachments]
    if fid == "issuelinks":
        return _links(store, issue, api, viewer)
    if fid == "subtasks":
        kids = [store.issues[k] for k in store.children.get(issue.key, [])]
        return [issue_ref(store, k, api) for k in kids if k.issuetype == "Sub-task"]
    if fid == "parent":
        parent = store.issues.get(issue.parent_key) if issue.parent_key else None
        return issue_ref(store, parent, api) if parent else None
    if fid == "worklog":
        return {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []}
    if fid == "timetracking":
        return {}
    if fid == "votes":
        return {
            "self": f"{api_base(store, api)}/issue/{issue.key}/votes",
            "votes": 0,
            "hasVoted": False,
        }
    if fid == "watches":
        return {
            "self": f"{api_base(store, api)}/issue/{issue.key}/watchers",
            "watchCount": 1,
            "isWatching": False,
        }
    if fid == "workratio":
        return -1
    return None
