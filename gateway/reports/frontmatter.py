"""Cover page and table of contents of a merged export, rendered after the issue pages.

Each contents row is one line (key, summary cut to fit, page number) so the contents of 5,000
issues stay ~110 pages; rows record where they were drawn so the assembler can make them
clickable links to the issue's first page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer

from gateway.reports.dates import format_datetime
from gateway.reports.document import build, frame_size
from gateway.reports.fonts import SANS, SANS_BOLD, has_cjk
from gateway.reports.model import ReportData
from gateway.reports.richtext import markup, paragraph
from gateway.reports.styles import INK, RULE, styles

ROW_HEIGHT = 14.0
ROW_SIZE = 8.5
MAX_SKIPPED_LISTED = 40


@dataclass(frozen=True, slots=True)
class TocEntry:
    key: str
    summary: str
    page: int  # 1-based page number among the issue pages


@dataclass(frozen=True, slots=True)
class TocLink:
    page_index: int  # 0-based page of the front matter holding the row
    rect: tuple[float, float, float, float]
    entry: int  # index into the entries


@dataclass
class FrontMatter:
    path: Path
    page_count: int = 0
    links: list[TocLink] = field(default_factory=list)


def fit(text: str, width: float, font: str, size: float) -> str:
    """`text` cut with an ellipsis to fit `width` (CJK characters counted as one em)."""

    def measure(value: str) -> float:
        if not has_cjk(value):
            return float(stringWidth(value, font, size))
        return sum(size if has_cjk(ch) else stringWidth(ch, font, size) for ch in value)

    if measure(text) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if measure(text[:middle] + "…") <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


class _TocRow(Flowable):  # type: ignore[misc]
    def __init__(self, entry: TocEntry, index: int, links: list[TocLink]) -> None:
        super().__init__()
        self.entry = entry
        self.index = index
        self.links = links
        self.key_width = 0.0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        self.key_width = max(70.0, stringWidth(self.entry.key, SANS_BOLD, ROW_SIZE) + 10)
        return (available_width, ROW_HEIGHT)

    def draw(self) -> None:
        canvas = self.canv
        number = str(self.entry.page)
        number_width = stringWidth(number, SANS, ROW_SIZE)
        room = self.width - self.key_width - number_width - 24
        summary = fit(" ".join(self.entry.summary.split()), room, SANS, ROW_SIZE)
        baseline = 4.0
        canvas.setFillColor(INK)
        canvas.setFont(SANS_BOLD, ROW_SIZE)
        canvas.drawString(0, baseline, self.entry.key)
        text = paragraph(markup(summary), styles().small, summary)
        text.wrap(room + 12, ROW_HEIGHT)
        text.drawOn(canvas, self.key_width, baseline - 2.5)
        canvas.setFont(SANS, ROW_SIZE)
        canvas.drawRightString(self.width, baseline, number)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.3)
        canvas.line(0, 0.5, self.width, 0.5)
        x, y = canvas.absolutePosition(0, 0)
        rect = (x, y, x + self.width, y + ROW_HEIGHT)
        self.links.append(TocLink(canvas.getPageNumber() - 1, rect, self.index))


def front_matter(path: Path, report: ReportData, entries: list[TocEntry]) -> FrontMatter:
    """Render the cover and the contents to `path` (pages numbered i, ii, ...)."""
    s = styles()
    options = report.options
    result = FrontMatter(path)
    _, height = frame_size(options)
    when = format_datetime(report.generated_at, options.locale, options.zone)
    count = len(entries)
    lines = [
        f"{count} issue{'s' if count != 1 else ''}",
        f"Requested by {report.requested_by}" if report.requested_by else "",
        f"Generated {when} ({options.time_zone})",
    ]
    story: list[Flowable] = [
        Spacer(1, height * 0.28),
        paragraph(markup(report.title or "JIRA export"), s.cover_title),
    ]
    story += [paragraph(markup(line), s.cover_line) for line in lines if line]
    if report.skipped:
        listed = ", ".join(report.skipped[:MAX_SKIPPED_LISTED])
        more = len(report.skipped) - MAX_SKIPPED_LISTED
        note = f"Skipped (not found or not visible): {len(report.skipped)}: {listed}"
        note += f" and {more} more" if more > 0 else ""
        story += [Spacer(1, 10 * mm), paragraph(markup(note), s.muted)]
    story += [PageBreak(), Paragraph("Contents", s.toc_title)]
    if not entries:
        story.append(Paragraph("No issues.", s.muted))
    story += [_TocRow(entry, index, result.links) for index, entry in enumerate(entries)]
    result.page_count = build(
        str(path),
        story,
        options,
        roman_numbers=True,
        title=report.title,
        author=report.requested_by,
    )
    return result
