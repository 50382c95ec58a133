"""JSON for JIRA's reference objects: users, projects, statuses, priorities, types, fields.

Shapes follow the OpenAPI schemas (`User`, `Project`, `StatusDetails`, `Priority`,
`IssueTypeDetails`, `Resolution`, `FieldDetails`) and recorded responses: ids are strings except
`statusCategory.id` and `avatarId`; timestamps `2024-05-01T10:20:30.123+0000`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.sandbox.catalog import (
    CATEGORY_BY_KEY,
    ISSUE_TYPES,
    FieldDef,
    IssueType,
    Priority,
    Resolution,
    Status,
)
from gateway.sandbox.model import SandboxComponent, SandboxProject, SandboxVersion

if TYPE_CHECKING:
    from gateway.sandbox.store import Store


def fmt_dt(moment: datetime) -> str:
    """JIRA's timestamp form: milliseconds and a colon-less offset (always UTC here)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def api_base(store: Store, api: str) -> str:
    return f"{store.base_url}/rest/api/{api}"


def _avatars(base: str, kind: str, ident: str) -> dict[str, str]:
    return {
        f"{n}x{n}": f"{base}/secure/useravatar?size={n}&{kind}={ident}" for n in (48, 24, 16, 32)
    }


def user_body(store: Store, user_id: str, api: str) -> dict[str, Any]:
    """The `User` object; Cloud identifies by accountId, Server by name/key."""
    user = store.users.get(user_id)
    base = store.base_url
    if user is None:  # a user that no longer exists: JIRA shrinks it to this
        if store.flavor == "cloud":
            return {"accountId": user_id, "active": False, "displayName": "Former user"}
        return {"name": user_id, "active": False}
    out: dict[str, Any]
    if store.flavor == "cloud":
        out = {
            "self": f"{base}/rest/api/{api}/user?accountId={user.id}",
            "accountId": user.id,
            "accountType": "atlassian",
        }
        if not user.email_hidden:
            out["emailAddress"] = user.email
        out["avatarUrls"] = _avatars(base, "accountId", user.id)
    else:
        out = {
            "self": f"{base}/rest/api/2/user?username={user.name}",
            "key": user.key,
            "name": user.name,
            "emailAddress": user.email,
            "avatarUrls": _avatars(base, "ownerId", user.key),
        }
    out["displayName"] = user.display_name
    out["active"] = user.active
    out["timeZone"] = user.timezone
    return out


def category_json(store: Store, key: str, api: str) -> dict[str, Any]:
    cat = CATEGORY_BY_KEY[key]
    return {
        "self": f"{api_base(store, api)}/statuscategory/{cat.id}",
        "id": cat.id,
        "key": cat.key,
        "colorName": cat.color,
        "name": cat.name,
    }


def status_json(store: Store, status: Status, api: str) -> dict[str, Any]:
    return {
        "self": f"{api_base(store, api)}/status/{status.id}",
        "description": status.description,
        "iconUrl": f"{store.base_url}/images/icons/statuses/generic.png",
        "name": status.name,
        "id": str(status.id),
        "statusCategory": category_json(store, status.category, api),
    }


def priority_json(store: Store, prio: Priority, api: str, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{api_base(store, api)}/priority/{prio.id}",
        "iconUrl": f"{store.base_url}/images/icons/priorities/{prio.icon}.svg",
        "name": prio.name,
        "id": str(prio.id),
    }
    if full:
        out["statusColor"] = prio.color
        out["description"] = f"{prio.name} priority."
    return out


def issuetype_json(store: Store, itype: IssueType, api: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{api_base(store, api)}/issuetype/{itype.id}",
        "id": str(itype.id),
        "description": itype.description,
        "iconUrl": (
            f"{store.base_url}/secure/viewavatar?size=medium&avatarId={itype.avatar}"
            "&avatarType=issuetype"
        ),
        "name": itype.name,
        "subtask": itype.subtask,
        "avatarId": itype.avatar,
    }
    if store.flavor == "cloud":
        out["hierarchyLevel"] = itype.hierarchy
    return out


def resolution_json(store: Store, res: Resolution, api: str) -> dict[str, Any]:
    return {
        "self": f"{api_base(store, api)}/resolution/{res.id}",
        "id": str(res.id),
        "description": res.description,
        "name": res.name,
    }


def component_json(store: Store, comp: SandboxComponent, api: str) -> dict[str, Any]:
    return {
        "self": f"{api_base(store, api)}/component/{comp.id}",
        "id": str(comp.id),
        "name": comp.name,
        "description": comp.description,
    }


def version_json(
    store: Store, ver: SandboxVersion, project: SandboxProject, api: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{api_base(store, api)}/version/{ver.id}",
        "id": str(ver.id),
        "name": ver.name,
        "archived": ver.archived,
        "released": ver.released,
        "projectId": project.id,
    }
    if ver.release_date:
        out["releaseDate"] = ver.release_date.isoformat()
    return out


def project_avatars(store: Store, project: SandboxProject) -> dict[str, str]:
    base, pid = store.base_url, project.id
    sizes = (("48x48", "large"), ("24x24", "small"), ("16x16", "xsmall"), ("32x32", "medium"))
    return {k: f"{base}/secure/projectavatar?size={s}&pid={pid}" for k, s in sizes}


def project_short(store: Store, project: SandboxProject, api: str) -> dict[str, Any]:
    """The project as embedded in an issue (`fields.project`)."""
    out: dict[str, Any] = {
        "self": f"{api_base(store, api)}/project/{project.id}",
        "id": str(project.id),
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
    }
    if store.flavor == "cloud":
        out["simplified"] = False
    out["avatarUrls"] = project_avatars(store, project)
    return out


def project_full(store: Store, project: SandboxProject, api: str) -> dict[str, Any]:
    """`GET /project/{key}`: adds lead, components, versions, issue types."""
    out = project_short(store, project, api)
    out.update(
        {
            "description": project.description,
            "lead": user_body(store, project.lead, api),
            "components": [component_json(store, c, api) for c in project.components],
            "issueTypes": [issuetype_json(store, t, api) for t in ISSUE_TYPES],
            "assigneeType": "PROJECT_LEAD",
            "versions": [version_json(store, v, project, api) for v in project.versions],
            "roles": {},
            "projectCategory": {
                "self": f"{api_base(store, api)}/projectCategory/10000",
                "id": "10000",
                "name": project.category,
                "description": f"{project.category} projects",
            },
        }
    )
    if store.flavor == "cloud":
        out["style"] = "classic"
        out["isPrivate"] = False
        out["properties"] = {}
    return out


def field_json(definition: FieldDef) -> dict[str, Any]:
    """`GET /field` entry (`FieldDetails`).

    No `untranslatedName`: Cloud sends it for custom fields, but the spec's `FieldDetails` is
    additionalProperties:false and Server never sends it.
    """
    schema: dict[str, Any] = {"type": definition.schema_type}
    if definition.items:
        schema["items"] = definition.items
    if definition.system:
        schema["system"] = definition.system
    if definition.custom_type:
        schema["custom"] = definition.custom_type
        schema["customId"] = int(definition.id.removeprefix("customfield_"))
    return {
        "id": definition.id,
        "key": definition.id,
        "name": definition.name,
        "custom": definition.custom,
        "orderable": definition.orderable,
        "navigable": definition.navigable,
        "searchable": definition.searchable,
        "clauseNames": list(definition.clause_names),
        "schema": schema,
    }
