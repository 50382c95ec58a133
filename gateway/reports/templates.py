"""The three built-in templates: one issue -> a list of flowables.

- "detailed": title, then the sections the options name, in their order (fields table,
  description, comments, changelog, attachments, subtasks, links); empty sections are left out.
- "compact": title, one line of status/priority/assignee/updated, the description's first lines.
- "summary": one table row per issue (key, summary, status, assignee, priority, updated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, HRFlowable, Paragraph, Table

from gateway.markup.text import html_to_text
from gateway.reports.dates import format_datetime
from gateway.reports.model import ReportIssue, ReportOptions
from gateway.reports.richtext import (
    RichTextContext,
    escape,
    html_to_flowables,
    link_open,
    markup,
    paragraph,
)
from gateway.reports.styles import MUTED, RULE, SHADE, Styles, styles

BUILTIN_FIELDS = ("status", "priority", "assignee", "reporter", "created", "updated", "labels")
SUMMARY_COLUMNS = (
    ("Key", 0.12),
    ("Summary", 0.38),
    ("Status", 0.13),
    ("Assignee", 0.15),
    ("Priority", 0.10),
    ("Updated", 0.12),
)
COMPACT_CHARS = 400  # description excerpt in the compact template


@dataclass(frozen=True)
class Layout:
    """Where an issue is laid out: frame width/height in points and the options."""

    options: ReportOptions
    width: float
    height: float
    safe: bool = False

    @property
    def s(self) -> Styles:
        return styles()

    def when(self, moment: Any) -> str:
        if moment is None:
            return ""
        return format_datetime(moment, self.options.locale, self.options.zone)


def field_rows(issue: ReportIssue, layout: Layout) -> list[tuple[str, str]]:
    """Label/value pairs: built-ins then custom fields, or the options' selection and order."""
    builtin = {
        "status": ("Status", issue.status),
        "priority": ("Priority", issue.priority),
        "assignee": ("Assignee", issue.assignee or "Unassigned"),
        "reporter": ("Reporter", issue.reporter),
        "created": ("Created", layout.when(issue.created)),
        "updated": ("Updated", layout.when(issue.updated)),
        "labels": ("Labels", ", ".join(issue.labels)),
    }
    if layout.options.fields is None:
        rows = [builtin[name] for name in BUILTIN_FIELDS] + list(issue.fields)
        return [(label, value) for label, value in rows if value]
    custom = {label.strip().lower(): (label, value) for label, value in issue.fields}
    chosen = []
    for name in layout.options.fields:
        folded = name.lower()
        row = builtin.get(folded) or custom.get(folded)
        if row is not None:
            chosen.append(row)
    return chosen


def _cell(text: str, style: Any) -> Paragraph:
    return paragraph(markup(text), style, text)


def grid(
    header: Sequence[str], rows: Sequence[Sequence[str]], fractions: Sequence[float], width: float
) -> Table:
    """A bordered table of text cells with a shaded header row repeated on each page."""
    s = styles()
    data: list[list[Any]] = [[_cell(label, s.cell_head) for label in header]] if header else []
    data.extend([_cell(value, s.cell) for value in row] for row in rows)
    table = Table(
        data,
        colWidths=[width * fraction for fraction in fractions],
        repeatRows=1 if header else 0,
        splitInRow=1,
        hAlign="LEFT",
    )
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    table.setStyle(commands)
    table.spaceAfter = 6
    return table


def title(issue: ReportIssue, style: ParagraphStyle) -> Paragraph:
    """ "KEY  Summary", the key linking to the issue in JIRA."""
    key = escape(issue.key)
    opening = link_open(issue.url) if issue.url else None
    if opening:
        key = f"{opening}{key}</a>"
    return paragraph(f"{key}  {markup(issue.summary)}", style, f"{issue.key}  {issue.summary}")


def detailed(issue: ReportIssue, layout: Layout) -> list[Flowable]:
    s = layout.s
    out: list[Flowable] = [title(issue, s.issue_title)]
    rich = RichTextContext(
        width=layout.width,
        max_image_height=layout.height * 0.45,
        images={
            ref: a.image_bytes
            for a in issue.attachments
            if a.image_bytes
            for ref in (a.url, a.name)
            if ref
        },
        safe=layout.safe,
    )
    builders: dict[str, Callable[[], list[Flowable]]] = {
        "fields": lambda: _fields(issue, layout),
        "description": lambda: html_to_flowables(issue.description_html, rich),
        "comments": lambda: _comments(issue, layout, rich),
        "changelog": lambda: _changelog(issue, layout),
        "attachments": lambda: _attachments(issue, layout),
        "subtasks": lambda: _related(issue.subtasks, layout, relation=False),
        "links": lambda: _related(issue.links, layout, relation=True),
    }
    for section in layout.options.sections:
        body = builders[section]()
        if body:
            if section != "fields":
                out.append(Paragraph(section.capitalize(), s.section))
            out.extend(body)
    return out


def _fields(issue: ReportIssue, layout: Layout) -> list[Flowable]:
    rows = field_rows(issue, layout)
    if not rows:
        return []
    s = layout.s
    # Two label/value pairs per row: ten fields take five lines instead of ten.
    pairs = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    data = []
    for pair in pairs:
        line: list[Any] = []
        for label, value in pair:
            line += [_cell(label, s.cell_head), _cell(value, s.cell)]
        data.append(line + [""] * (4 - len(line)))
    fractions = (0.16, 0.34, 0.16, 0.34)
    table = Table(data, colWidths=[layout.width * f for f in fractions], splitInRow=1)
    table.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
    )
    table.spaceBefore = 6
    return [table]


def _comments(issue: ReportIssue, layout: Layout, rich: RichTextContext) -> list[Flowable]:
    out: list[Flowable] = []
    for comment in issue.comments:
        # The author line (spaced above) separates comments: a rule each would cost ~4%.
        head = f"<b>{markup(comment.author)}</b>  ·  {escape(layout.when(comment.created))}"
        out.append(paragraph(head, layout.s.comment_head, f"{comment.author} {comment.created}"))
        # Indented through the paragraph styles: two Indenter flowables per comment cost ~3%.
        out.extend(html_to_flowables(comment.body_html, rich, indent=8))
    return out


def _changelog(issue: ReportIssue, layout: Layout) -> list[Flowable]:
    rows = [
        (
            layout.when(change.created),
            change.author,
            item.field,
            item.from_text or "",
            item.to_text or "",
        )
        for change in issue.changelog
        for item in change.items
    ]
    if not rows:
        return []
    header = ("Date", "Author", "Field", "From", "To")
    return [grid(header, rows, (0.2, 0.18, 0.16, 0.23, 0.23), layout.width)]


def _attachments(issue: ReportIssue, layout: Layout) -> list[Flowable]:
    rows = [
        (a.name, human_size(a.size), a.mime, a.author, layout.when(a.created))
        for a in issue.attachments
    ]
    if not rows:
        return []
    header = ("Name", "Size", "Type", "Author", "Added")
    return [grid(header, rows, (0.34, 0.1, 0.18, 0.18, 0.2), layout.width)]


def _related(items: Sequence[Any], layout: Layout, *, relation: bool) -> list[Flowable]:
    if not items:
        return []
    if relation:
        header: tuple[str, ...] = ("Relation", "Key", "Summary", "Status")
        rows: list[tuple[str, ...]] = [(i.relation, i.key, i.summary, i.status) for i in items]
        fractions: tuple[float, ...] = (0.2, 0.14, 0.5, 0.16)
    else:
        header = ("Key", "Summary", "Status")
        rows = [(i.key, i.summary, i.status) for i in items]
        fractions = (0.14, 0.68, 0.18)
    return [grid(header, rows, fractions, layout.width)]


def human_size(size: int) -> str:
    value = float(max(size, 0))
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def compact(issue: ReportIssue, layout: Layout) -> list[Flowable]:
    s = layout.s
    meta = " · ".join(
        part
        for part in (
            issue.status,
            issue.priority,
            issue.assignee or "Unassigned",
            layout.when(issue.updated),
        )
        if part
    )
    out: list[Flowable] = [title(issue, s.headings[2]), _cell(meta, s.muted)]
    text = " ".join(html_to_text(issue.description_html).split())
    if text:
        excerpt = (
            text if len(text) <= COMPACT_CHARS else text[:COMPACT_CHARS].rsplit(" ", 1)[0] + " …"
        )
        out.append(_cell(excerpt, s.body))
    out.append(HRFlowable(width="100%", thickness=0.4, color=MUTED, spaceBefore=2, spaceAfter=6))
    return out


def summary_header(layout: Layout) -> Table:
    return grid(
        [label for label, _ in SUMMARY_COLUMNS], [], [f for _, f in SUMMARY_COLUMNS], layout.width
    )


def summary_row(issue: ReportIssue, layout: Layout) -> Table:
    """One issue as a one-row table; rows are separate flowables so each can carry a marker."""
    values = (
        issue.key,
        issue.summary,
        issue.status,
        issue.assignee,
        issue.priority,
        layout.when(issue.updated),
    )
    table = grid((), [values], [f for _, f in SUMMARY_COLUMNS], layout.width)
    table.spaceAfter = 0
    return table


def issue_flowables(issue: ReportIssue, layout: Layout) -> list[Flowable]:
    """The issue's flowables in the options' template (summary: its one row)."""
    template = layout.options.template
    if template == "summary":
        return [summary_row(issue, layout)]
    if template == "compact":
        return compact(issue, layout)
    return detailed(issue, layout)
