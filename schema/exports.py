"""GraphQL types of PDF exports: ``ExportJob``, its inputs and enums, saved templates."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import strawberry

from gateway.exports import ExportLayout, ExportStatus
from schema.common import Node
from schema.filters import IssueFilter

strawberry.enum(
    ExportStatus,
    name="ExportStatus",
    description="PENDING (queued), RUNNING, DONE (downloadable), FAILED (see `error`), CANCELLED.",
)
strawberry.enum(
    ExportLayout,
    name="ExportLayout",
    description="MERGED: one PDF with a cover, contents, bookmarks and a section per issue. "
    "ZIP: one PDF per issue (`KEY.pdf`) in a ZIP archive.",
)


@strawberry.enum(description="Built-in report templates.")
class ReportTemplate(enum.Enum):
    DETAILED = "detailed"
    SUMMARY = "summary"
    COMPACT = "compact"


@strawberry.enum(description="Sections of the detailed template, in print order.")
class ExportSection(enum.Enum):
    FIELDS = "fields"
    DESCRIPTION = "description"
    COMMENTS = "comments"
    CHANGELOG = "changelog"
    ATTACHMENTS = "attachments"
    SUBTASKS = "subtasks"
    LINKS = "links"


@strawberry.enum(description="Paper size.")
class PageSize(enum.Enum):
    A4 = "A4"
    LETTER = "LETTER"


@strawberry.enum(description="Page orientation.")
class Orientation(enum.Enum):
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"


@strawberry.input(description="How the report looks. Unset options keep the template's default.")
class ExportOptions:
    saved_template: str | None = strawberry.field(
        default=None, description="Start from your saved template of this name."
    )
    template: ReportTemplate | None = strawberry.field(default=None, description="DETAILED.")
    sections: list[ExportSection] | None = strawberry.field(
        default=None, description="Sections to print (detailed template); default all."
    )
    fields: list[str] | None = strawberry.field(
        default=None,
        description="Fields to show, in this order, by label: Status, Priority, Assignee, "
        "Reporter, Created, Updated, Labels, Type, Project, Components, Fix versions, "
        "Resolution, Due date, Parent, or a custom field's name. Default: all.",
    )
    page_size: PageSize | None = strawberry.field(default=None, description="Default A4.")
    orientation: Orientation | None = strawberry.field(default=None, description="PORTRAIT.")
    header_text: str | None = strawberry.field(default=None, description="One line, top.")
    footer_text: str | None = strawberry.field(default=None, description="One line, bottom.")
    time_zone: str | None = strawberry.field(
        default=None, description="IANA zone for dates, e.g. Europe/Berlin (default UTC)."
    )
    locale: str | None = strawberry.field(
        default=None, description="Language of labels and dates, e.g. en, de, fr, ru."
    )


def options_dict(options: ExportOptions | None) -> dict[str, Any]:
    """The options the client set, as ``ReportOptions`` keyword arguments (saved template aside)."""
    if options is None:
        return {}
    raw: dict[str, Any] = {
        "template": options.template.value if options.template else None,
        "sections": [s.value for s in options.sections] if options.sections is not None else None,
        "fields": options.fields,
        "page_size": options.page_size.value if options.page_size else None,
        "orientation": options.orientation.value if options.orientation else None,
        "header_text": options.header_text,
        "footer_text": options.footer_text,
        "time_zone": options.time_zone,
        "locale": options.locale,
    }
    return {k: v for k, v in raw.items() if v is not None}


@strawberry.input(
    description="Which issues to export (exactly one of keys, selectionId, filter, jql) and how."
)
class BulkExportInput:
    keys: list[str] | None = strawberry.field(default=None, description="Issue keys, in order.")
    selection_id: strawberry.ID | None = strawberry.field(
        default=None, description="Every issue of one of your selections."
    )
    filter: IssueFilter | None = strawberry.field(default=None, description="Issues matching.")
    jql: str | None = strawberry.field(default=None, description="Issues matching this JQL.")
    site: strawberry.ID | None = strawberry.field(
        default=None, description="The JIRA site (default: your default site)."
    )
    layout: ExportLayout = strawberry.field(default=ExportLayout.MERGED, description="MERGED.")
    title: str | None = strawberry.field(default=None, description="Cover and file name.")
    options: ExportOptions | None = strawberry.field(default=None, description="Look.")


@strawberry.type(description="How far an export is: issues handled (rendered or skipped).")
class ExportProgress:
    done: int
    total: int


@strawberry.type(description="Why an export failed; `code` is stable, `message` for people.")
class ExportError:
    code: str
    message: str


@strawberry.type(
    description="A PDF export running in the background. Poll `exportJob(id)` or subscribe "
    "to `exportProgress(jobId)`; when DONE, download from `downloadUrl`."
)
class ExportJob(Node):
    status: ExportStatus
    layout: ExportLayout
    title: str
    progress: ExportProgress
    error: ExportError | None
    download_url: str | None = strawberry.field(
        description="Signed link to the file, valid until `downloadUrlExpiresAt` (1 hour; ask "
        "again for a fresh one). It works without the Authorization header: do not share it."
    )
    download_url_expires_at: datetime | None
    expires_at: datetime | None = strawberry.field(
        description="When the file is deleted (retention); afterwards downloadUrl is null."
    )
    size_bytes: int | None
    page_count: int | None
    skipped: list[str] = strawberry.field(
        description="Keys not rendered: unknown, or not visible to your JIRA account."
    )
    created_at: datetime
    finished_at: datetime | None


@strawberry.type(description="One of your saved export templates.")
class SavedExportTemplate:
    name: str
    template: ReportTemplate
    sections: list[ExportSection]
    fields: list[str] | None
    page_size: PageSize
    orientation: Orientation
    header_text: str
    footer_text: str
    time_zone: str
    locale: str
    updated_at: datetime


def saved_template(name: str, options: dict[str, Any], updated_at: datetime) -> SavedExportTemplate:
    return SavedExportTemplate(
        name=name,
        template=ReportTemplate(options.get("template", "detailed")),
        sections=[ExportSection(s) for s in options.get("sections", ())],
        fields=options.get("fields"),
        page_size=PageSize(options.get("page_size", "A4")),
        orientation=Orientation(options.get("orientation", "portrait")),
        header_text=options.get("header_text", ""),
        footer_text=options.get("footer_text", ""),
        time_zone=options.get("time_zone", "UTC"),
        locale=options.get("locale", "en"),
        updated_at=updated_at,
    )


ExportTemplateName = Annotated[str, strawberry.argument(description="The template's name.")]
