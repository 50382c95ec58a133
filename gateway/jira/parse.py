"""One import point for the JIRA payload normalizers (raw JSON -> ``gateway.jira.dto``).

All of them are pure and synchronous, take the endpoint *template* for error messages, and
raise ``JiraMalformedResponse(endpoint, "<json path>: <what>")`` on a wrong shape, never a
bare ``KeyError``/``TypeError``. Split by resource: ``parse_base`` (accessors, users, rich
text), ``parse_meta`` (statuses, priorities, types, projects, versions, field defs),
``parse_custom`` (custom field values), ``parse_activity`` (comments, changelog, attachments,
pages), ``parse_issue`` (issues, search pages), ``parse_webhook``.
"""

from __future__ import annotations

from gateway.jira.parse_activity import (
    parse_attachment,
    parse_changelog_entry,
    parse_changelog_page,
    parse_comment,
    parse_comment_page,
    parse_page,
)
from gateway.jira.parse_base import parse_user
from gateway.jira.parse_custom import parse_custom_value, parse_sprint_string
from gateway.jira.parse_issue import (
    browse_url,
    parse_issue,
    parse_issue_link,
    parse_issue_ref,
    parse_search_page,
)
from gateway.jira.parse_meta import (
    field_defs_from_expand,
    parse_component,
    parse_field_def,
    parse_field_defs,
    parse_issue_type,
    parse_issue_types,
    parse_list,
    parse_priorities,
    parse_priority,
    parse_project,
    parse_projects,
    parse_resolution,
    parse_status,
    parse_status_category,
    parse_statuses,
    parse_users,
    parse_version,
)
from gateway.jira.parse_webhook import parse_webhook

__all__ = [
    "browse_url",
    "field_defs_from_expand",
    "parse_attachment",
    "parse_changelog_entry",
    "parse_changelog_page",
    "parse_comment",
    "parse_comment_page",
    "parse_component",
    "parse_custom_value",
    "parse_field_def",
    "parse_field_defs",
    "parse_issue",
    "parse_issue_link",
    "parse_issue_ref",
    "parse_issue_type",
    "parse_issue_types",
    "parse_list",
    "parse_page",
    "parse_priorities",
    "parse_priority",
    "parse_project",
    "parse_projects",
    "parse_resolution",
    "parse_search_page",
    "parse_sprint_string",
    "parse_status",
    "parse_status_category",
    "parse_statuses",
    "parse_user",
    "parse_users",
    "parse_version",
    "parse_webhook",
]
