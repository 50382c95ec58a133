"""Public entry points: one issue to PDF bytes, many issues to a merged PDF or a ZIP of PDFs.

Merged exports keep memory flat by rendering the issues in chunks of `CHUNK_ISSUES` to temporary
PDFs (ReportLab holds a whole document's page streams and font subsets until it saves), then
rendering the cover and contents, which now know every issue's page, and concatenating all of
it with pypdf, adding one outline entry per issue, contents links and page labels. Cover and
contents are numbered i, ii, ... and issue pages 1, 2, ... so the issue pages never need to
know how long the contents will be.

Layout failures (a flowable taller than a page) re-render that issue or chunk with simplified
rich text (`safe`), then as plain text: an export never fails on content.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO

from reportlab.platypus import Flowable, PageBreak, Paragraph
from reportlab.platypus.doctemplate import LayoutError

from gateway.markup.text import html_to_text
from gateway.reports.assemble import concatenate
from gateway.reports.document import Callback, IssueMark, build, frame_size
from gateway.reports.frontmatter import TocEntry, front_matter
from gateway.reports.model import ReportData, ReportIssue, ReportOptions
from gateway.reports.richtext import markup
from gateway.reports.styles import styles
from gateway.reports.templates import Layout, issue_flowables, summary_header

# 25 detailed issues are ~50 pages: large enough that pypdf's per-file cost is noise, small
# enough that a chunk's flowables and page streams stay in the low tens of MB.
CHUNK_ISSUES = 25

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RenderResult:
    pdf: bytes
    page_count: int


@dataclass(frozen=True, slots=True)
class RenderStats:
    """What a file-writing render produced: pages and issues rendered."""

    page_count: int
    issue_count: int


def _layout(options: ReportOptions, *, safe: bool = False) -> Layout:
    width, height = frame_size(options)
    return Layout(options=options, width=width, height=height, safe=safe)


def _plain(issue: ReportIssue) -> list[Flowable]:
    """Last resort after layout failures: the issue's text as plain paragraphs."""
    s = styles()
    texts = [f"{issue.key}  {issue.summary}", html_to_text(issue.description_html)]
    texts += [f"{c.author}: {html_to_text(c.body_html)}" for c in issue.comments]
    return [
        Paragraph(markup(line), s.body)
        for text in texts
        for line in text.split("\n")
        if line.strip()
    ]


def _story(issue: ReportIssue, layout: Layout, attempt: int) -> list[Flowable]:
    if attempt == 2:
        return _plain(issue)
    return issue_flowables(issue, layout if attempt == 0 else _layout(layout.options, safe=True))


def render_issue_pdf(issue: ReportIssue, options: ReportOptions) -> RenderResult:
    """One issue as a PDF, with a bookmark for the issue; never fails on the content."""
    layout = _layout(options)
    for attempt in range(3):
        buffer = io.BytesIO()
        story: list[Flowable] = [IssueMark(outline_title=f"{issue.key} {issue.summary}")]
        if options.template == "summary":
            story.append(summary_header(layout))
        story += _story(issue, layout, attempt)
        try:
            pages = build(buffer, story, options, title=f"{issue.key} {issue.summary}")
        except LayoutError:
            if attempt == 2:
                raise
            continue
        return RenderResult(buffer.getvalue(), pages)
    raise AssertionError("unreachable")


def _chunks(issues: Iterable[ReportIssue], size: int) -> Iterator[list[ReportIssue]]:
    iterator = iter(issues)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _render_chunk(
    path: Path,
    chunk: list[ReportIssue],
    layout: Layout,
    first_page: int,
    entries: list[TocEntry],
    on_done: Callable[[], None],
) -> int:
    """Render a chunk of issues to `path`; appends each issue's ToC entry; returns pages."""
    for attempt in range(3):
        found: list[TocEntry] = []
        story: list[Flowable] = []
        if layout.options.template == "summary":
            story.append(summary_header(layout))
        for index, issue in enumerate(chunk):
            if index and layout.options.template == "detailed":
                story.append(PageBreak())

            def record(page: int, issue: ReportIssue = issue, into: list[TocEntry] = found) -> None:
                into.append(TocEntry(issue.key, issue.summary, first_page + page - 1))

            story.append(IssueMark(on_page=record))
            story += _story(issue, layout, attempt)
            if attempt == 0:  # progress is reported once per issue, not again on a retry
                story.append(Callback(on_done))
        try:
            pages = build(str(path), story, layout.options, first_page=first_page)
        except LayoutError:
            if attempt == 2:
                raise
            continue
        if attempt:
            for _ in chunk:
                on_done()
        entries.extend(found)
        return pages
    raise AssertionError("unreachable")


def render_merged_pdf_to(
    target: str | Path | IO[bytes], report: ReportData, *, on_progress: Progress | None = None
) -> RenderStats:
    """Write the merged export (cover, contents, one section per issue) to `target`.

    `on_progress(done)` is called after each issue is laid out; an exception it raises (e.g.
    a cancellation) stops the render and propagates, leaving no temporary files behind.
    """
    layout = _layout(report.options)
    entries: list[TocEntry] = []
    done = 0

    def issue_done() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done)

    with tempfile.TemporaryDirectory(prefix="jgw-report-") as scratch:
        parts: list[Path] = []
        body_pages = 0
        for number, chunk in enumerate(_chunks(report.issues, CHUNK_ISSUES)):
            path = Path(scratch) / f"part-{number:05d}.pdf"
            body_pages += _render_chunk(path, chunk, layout, body_pages + 1, entries, issue_done)
            parts.append(path)
        front_path = Path(scratch) / "front.pdf"
        front = front_matter(front_path, report, entries)
        concatenate(target, front, parts, entries, title=report.title, author=report.requested_by)
    return RenderStats(page_count=front.page_count + body_pages, issue_count=len(entries))


def render_merged_pdf(report: ReportData, *, on_progress: Progress | None = None) -> RenderResult:
    """`render_merged_pdf_to` into memory; prefer the file version for large exports."""
    buffer = io.BytesIO()
    stats = render_merged_pdf_to(buffer, report, on_progress=on_progress)
    return RenderResult(buffer.getvalue(), stats.page_count)


def render_zip_to(
    target: str | Path | IO[bytes],
    issues: Iterable[ReportIssue],
    options: ReportOptions,
    *,
    on_progress: Progress | None = None,
) -> RenderStats:
    """One PDF per issue (``KEY.pdf``) in a ZIP archive written to `target`."""
    pages = count = 0
    names: set[str] = set()
    # PDF page streams and font subsets are already deflated: storing saves the CPU.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for issue in issues:
            result = render_issue_pdf(issue, options)
            name = _entry_name(issue.key, names)
            archive.writestr(name, result.pdf)
            pages += result.page_count
            count += 1
            if on_progress is not None:
                on_progress(count)
    return RenderStats(page_count=pages, issue_count=count)


def _entry_name(key: str, taken: set[str]) -> str:
    base = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key).strip(".") or "issue"
    name, suffix = f"{base}.pdf", 2
    while name in taken:
        name, suffix = f"{base}-{suffix}.pdf", suffix + 1
    taken.add(name)
    return name
