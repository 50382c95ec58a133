"""IssueBean, Comment and User JSON (public: the webhook dispatcher reuses these three).

`api` "3" renders rich text as ADF, "2" as wiki markup (mentions `[~accountid:…]` on Cloud,
`[~name]` on Server). Self links use `store.base_url` (the current request's base URL).
Embedded pages are truncated like JIRA's: comments at 20, changelog at 100, with their totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from gateway.sandbox import rich
from gateway.sandbox.catalog import (
    ALL_FIELDS,
    FIELD_BY_ID,
    NAVIGABLE,
    STATUS_BY_NAME,
    TRANSITION_ID_BY_STATUS,
)
from gateway.sandbox.serialize_fields import field_value, rendered_date
from gateway.sandbox.serialize_meta import api_base, field_json, fmt_dt, status_json, user_body

if TYPE_CHECKING:
    from gateway.sandbox.model import SandboxComment, SandboxHistory, SandboxIssue
    from gateway.sandbox.store import Store

Api = Literal["2", "3"]
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
EMBEDDED_COMMENTS = 20
EMBEDDED_HISTORIES = 100


def select_fields(spec: Sequence[str] | None, default: Sequence[str]) -> list[str]:
    """Resolve a `fields` parameter (`*all`, `*navigable`, `-name`, names) to field ids."""
    names = [t.strip() for chunk in (spec or ()) for t in chunk.split(",") if t.strip()]
    if not names:
        return list(default)
    chosen: set[str] = set()
    removed: set[str] = set()
    explicit = False
    for name in names:
        if name == "*all":
            chosen.update(ALL_FIELDS)
        elif name == "*navigable":
            chosen.update(NAVIGABLE)
        elif name in {"-*all", "-*navigable"}:
            removed.update(ALL_FIELDS if name == "-*all" else NAVIGABLE)
        elif name.startswith("-"):
            removed.add(name[1:])
        else:
            explicit = True
            chosen.add(name)
    if removed and not chosen and not explicit:
        chosen.update(default)
    return [f for f in ALL_FIELDS if f in chosen and f not in removed]


def user_json(store: Store, user_id: str, api: Api) -> dict[str, Any]:
    """The `User` object (Cloud: accountId, no emailAddress when hidden; Server: name/key)."""
    return user_body(store, user_id, api)


def body_json(store: Store, doc: rich.Doc | None, api: Api) -> Any:
    if doc is None:
        return None
    if api == "3":
        return rich.to_adf(doc, store.name_of)
    return rich.to_wiki(doc, store.mention_wiki)


def comment_json(store: Store, comment: SandboxComment, api: Api) -> dict[str, Any]:
    """The `Comment` object; `body` is ADF on v3 and wiki markup on v2."""
    out: dict[str, Any] = {
        "self": f"{api_base(store, api)}/issue/{comment.issue_id}/comment/{comment.id}",
        "id": str(comment.id),
        "author": user_body(store, comment.author, api),
        "body": body_json(store, comment.body, api),
        "updateAuthor": user_body(store, comment.update_author, api),
        "created": fmt_dt(comment.created),
        "updated": fmt_dt(comment.updated),
    }
    if store.flavor == "cloud":
        out["jsdPublic"] = True
    return out


def history_json(store: Store, history: SandboxHistory, api: Api) -> dict[str, Any]:
    cloud = store.flavor == "cloud"
    items = []
    for item in history.items:
        entry: dict[str, Any] = {"field": item.field, "fieldtype": item.fieldtype}
        if cloud and item.field_id:
            entry["fieldId"] = item.field_id
        entry.update(
            {
                "from": item.from_id,
                "fromString": item.from_string,
                "to": item.to_id,
                "toString": item.to_string,
            }
        )
        items.append(entry)
    return {
        "id": str(history.id),
        "author": user_body(store, history.author, api),
        "created": fmt_dt(history.created),
        "items": items,
    }


def comments_page(
    store: Store, issue: SandboxIssue, api: Api, *, rendered: bool = False
) -> dict[str, Any]:
    """The embedded `fields.comment` page: the first 20 comments and the total."""
    comments = store.details(issue).comments
    shown = comments[:EMBEDDED_COMMENTS]
    out = []
    for com in shown:
        entry = comment_json(store, com, api)
        if rendered:
            entry["body"] = rich.to_html(com.body, store.name_of)
        out.append(entry)
    return {
        "comments": out,
        "self": f"{api_base(store, api)}/issue/{issue.id}/comment",
        "maxResults": EMBEDDED_COMMENTS,
        "total": len(comments),
        "startAt": 0,
    }


def transitions_json(store: Store, issue: SandboxIssue, api: Api) -> list[dict[str, Any]]:
    """Available transitions: every other status (Cloud's simplified "All" transitions)."""
    out = []
    for name, tid in TRANSITION_ID_BY_STATUS.items():
        if name == issue.status:
            continue
        status = STATUS_BY_NAME[name]
        out.append(
            {
                "id": str(tid),
                "name": name,
                "to": status_json(store, status, api),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
        )
    return out


def issue_json(
    store: Store,
    issue: SandboxIssue,
    *,
    api: Api,
    fields: Sequence[str] | None,
    expand: set[str],
    viewer: str | None,
) -> dict[str, Any]:
    """The `IssueBean`. `fields` is the raw `fields` parameter (None: `*all`)."""
    wanted = select_fields(fields, ALL_FIELDS) if fields is not None else list(ALL_FIELDS)
    out: dict[str, Any] = {
        "expand": ISSUE_EXPAND,
        "id": str(issue.id),
        "self": f"{api_base(store, api)}/issue/{issue.id}",
        "key": issue.key,
    }
    if "renderedFields" in expand:
        out["renderedFields"] = _rendered(store, issue, wanted, api)
    if "names" in expand:
        out["names"] = {f: FIELD_BY_ID[f].name for f in wanted}
    if "schema" in expand:
        out["schema"] = {f: field_json(FIELD_BY_ID[f])["schema"] for f in wanted}
    if "transitions" in expand:
        out["transitions"] = transitions_json(store, issue, api)
    if "changelog" in expand:
        histories = store.details(issue).histories
        shown = histories[:EMBEDDED_HISTORIES]
        out["changelog"] = {
            "startAt": 0,
            "maxResults": len(shown),
            "total": len(histories),
            "histories": [history_json(store, h, api) for h in shown],
        }
    if wanted:
        values = {f: field_value(store, issue, f, api, viewer) for f in wanted}
        # JIRA leaves `parent` out (never null) when the issue has none (go-atlassian
        # search-issues.json: only the sub-tasks carry the key); `LinkedIssue` is not nullable
        if "parent" in values and values["parent"] is None:
            del values["parent"]
        out["fields"] = values
    return out


def _rendered(store: Store, issue: SandboxIssue, wanted: list[str], api: Api) -> dict[str, Any]:
    details = store.details(issue)
    out: dict[str, Any] = {}
    for fid in wanted:
        if fid == "description":
            doc = details.description
            out[fid] = rich.to_html(doc, store.name_of) if doc else None
        elif fid == "comment":
            out[fid] = comments_page(store, issue, api, rendered=True)
        elif fid == "environment":
            out[fid] = details.environment
        elif fid in {"created", "updated", "resolutiondate"}:
            moment = getattr(issue, fid)
            out[fid] = rendered_date(moment) if moment else None
        else:
            out[fid] = None
    return out
