"""Small value types of an issue: status, priority, type, project, versions, custom fields."""

from __future__ import annotations

import enum
from datetime import date
from typing import cast

import strawberry
from strawberry.scalars import JSON

from gateway.jira import dto


@strawberry.enum(description="The workflow stage a status belongs to (JIRA's status category).")
class StatusCategory(enum.Enum):
    TO_DO = strawberry.enum_value("new", description="Not started (JIRA: To Do, key `new`).")
    IN_PROGRESS = strawberry.enum_value(
        "indeterminate", description="Being worked on (JIRA: In Progress, key `indeterminate`)."
    )
    DONE = strawberry.enum_value("done", description="Finished (JIRA: Done).")
    UNDEFINED = strawberry.enum_value(
        "undefined", description="A status without a category (very old Server versions)."
    )


_CATEGORIES: dict[str, StatusCategory] = {
    "new": StatusCategory.TO_DO,
    "indeterminate": StatusCategory.IN_PROGRESS,
    "done": StatusCategory.DONE,
}


@strawberry.type(description="A workflow status, such as 'In Review'.")
class Status:
    id: strawberry.ID = strawberry.field(description="JIRA's status id.")
    name: str = strawberry.field(description="The status name as shown on the board.")
    category: StatusCategory = strawberry.field(description="To do, in progress or done.")
    color: str | None = strawberry.field(
        description="JIRA's color name for the category (blue-gray, yellow, green)."
    )


@strawberry.type(description="How urgent an issue is, such as 'High'.")
class Priority:
    id: strawberry.ID = strawberry.field(description="JIRA's priority id.")
    name: str = strawberry.field(description="The priority name.")
    icon_url: str | None = strawberry.field(description="URL of the priority icon.")
    color: str | None = strawberry.field(description="Hex color JIRA uses for it, if any.")


@strawberry.type(description="The kind of an issue: Bug, Story, Task, Sub-task, Epic...")
class IssueType:
    id: strawberry.ID = strawberry.field(description="JIRA's issue type id.")
    name: str = strawberry.field(description="The issue type name.")
    subtask: bool = strawberry.field(description="True for sub-task types.")
    icon_url: str | None = strawberry.field(description="URL of the type icon.")


@strawberry.type(description="A JIRA project.")
class Project:
    id: strawberry.ID = strawberry.field(description="JIRA's project id.")
    key: str = strawberry.field(description="The project key, the prefix of its issue keys.")
    name: str = strawberry.field(description="The project name.")
    project_type: str | None = strawberry.field(
        description="software, business or service_desk, when JIRA tells it."
    )
    avatar_url: str | None = strawberry.field(description="URL of the project avatar.")


@strawberry.type(description="A project component.")
class Component:
    id: strawberry.ID = strawberry.field(description="JIRA's component id.")
    name: str = strawberry.field(description="The component name.")


@strawberry.type(description="A project version (release).")
class Version:
    id: strawberry.ID = strawberry.field(description="JIRA's version id.")
    name: str = strawberry.field(description="The version name.")
    released: bool | None = strawberry.field(description="True once released.")
    release_date: date | None = strawberry.field(description="Planned or actual release date.")


@strawberry.type(description="The value of one custom field on one issue.")
class CustomFieldValue:
    id: str = strawberry.field(description="The field id, e.g. `customfield_10016`.")
    name: str = strawberry.field(description="The field name, e.g. 'Story Points'.")
    type: str | None = strawberry.field(
        description="JIRA's schema type: string, number, array, option, user, date..."
    )
    text: str | None = strawberry.field(description="The value as a person would read it.")
    value: JSON | None = strawberry.field(
        description="The value as JSON (options as their value, users as {id, displayName})."
    )


def status_of(status: dto.Status | None) -> Status | None:
    if status is None:
        return None
    category = _CATEGORIES.get(status.category.key, StatusCategory.UNDEFINED)
    return Status(
        id=strawberry.ID(status.id),
        name=status.name,
        category=category,
        color=status.category.color,
    )


def priority_of(priority: dto.Priority | None) -> Priority | None:
    if priority is None:
        return None
    return Priority(
        id=strawberry.ID(priority.id),
        name=priority.name,
        icon_url=priority.icon_url,
        color=priority.color,
    )


def issue_type_of(issue_type: dto.IssueType | None) -> IssueType | None:
    if issue_type is None:
        return None
    return IssueType(
        id=strawberry.ID(issue_type.id),
        name=issue_type.name,
        subtask=issue_type.subtask,
        icon_url=issue_type.icon_url,
    )


def project_of(project: dto.Project | None) -> Project | None:
    if project is None:
        return None
    return Project(
        id=strawberry.ID(project.id),
        key=project.key,
        name=project.name,
        project_type=project.project_type,
        avatar_url=project.avatar_url,
    )


def component_of(component: dto.Component) -> Component:
    return Component(id=strawberry.ID(component.id), name=component.name)


def version_of(version: dto.Version) -> Version:
    return Version(
        id=strawberry.ID(version.id),
        name=version.name,
        released=version.released,
        release_date=version.release_date,
    )


def custom_value_of(value: dto.CustomFieldValue) -> CustomFieldValue:
    return CustomFieldValue(
        id=value.id,
        name=value.name,
        type=value.type,
        text=value.text,
        value=cast(JSON, value.value),
    )
