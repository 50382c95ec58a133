"""The page frame every report uses: size, margins, header/footer text, page numbers, markers.

`build` lays out flowables into a file or buffer and returns the page count. Page numbers may
start at any value and be roman (the merged export numbers its cover and contents i, ii, ...
and its issue pages 1, 2, ... so issue pages can be rendered before the contents exist).
`IssueMark` is a zero-size flowable that reports the page an issue starts on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from reportlab import rl_config
from reportlab.lib.pagesizes import A4, LETTER, landscape, portrait
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

from gateway.reports.fonts import SANS, has_cjk, mark_cjk, register_fonts
from gateway.reports.model import ReportOptions
from gateway.reports.richtext import escape
from gateway.reports.styles import MUTED, RULE

SIDE_MARGIN = 16 * mm
TOP_MARGIN = 20 * mm
BOTTOM_MARGIN = 18 * mm
DECOR_SIZE = 7.5


def page_size(options: ReportOptions) -> tuple[float, float]:
    size = A4 if options.page_size == "A4" else LETTER
    width, height = landscape(size) if options.orientation == "landscape" else portrait(size)
    return float(width), float(height)


def frame_size(options: ReportOptions) -> tuple[float, float]:
    """Width and height available to flowables, in points (frame paddings included)."""
    width, height = page_size(options)
    return width - 2 * SIDE_MARGIN - 12, height - TOP_MARGIN - BOTTOM_MARGIN - 12


def roman(number: int) -> str:
    out = []
    for value, letters in (
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ):
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


class IssueMark(Flowable):  # type: ignore[misc]
    """Zero-size marker placed before an issue's first flowable.

    Kept with the next flowable, so it lands on the page where the issue's title is drawn.
    Calls `on_page(page_number)`; with `outline_title` it also adds a PDF bookmark.
    """

    def __init__(
        self, on_page: Callable[[int], None] | None = None, outline_title: str | None = None
    ) -> None:
        super().__init__()
        self.on_page = on_page
        self.outline_title = outline_title
        self.keepWithNext = 1
        self.width = self.height = 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return (0, 0)

    def draw(self) -> None:
        canvas: Canvas = self.canv
        if self.outline_title is not None:
            name = f"issue-{id(self)}"
            canvas.bookmarkPage(name)
            canvas.addOutlineEntry(self.outline_title, name, level=0)
        if self.on_page is not None:
            self.on_page(canvas.getPageNumber())


class Callback(Flowable):  # type: ignore[misc]
    """Zero-size flowable calling `action()` when laid out (progress after an issue)."""

    def __init__(self, action: Callable[[], None]) -> None:
        super().__init__()
        self.action = action
        self.width = self.height = 0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return (0, 0)

    def draw(self) -> None:
        self.action()


class _Document(BaseDocTemplate):  # type: ignore[misc]
    def __init__(
        self,
        target: str | IO[bytes],
        options: ReportOptions,
        *,
        first_page: int,
        roman_numbers: bool,
        title: str,
        author: str,
    ) -> None:
        register_fonts()
        # ReportLab's default wraps every compressed stream in ASCII85 (a 7-bit-clean PDF for
        # 1990s mail gateways): 25% larger files and ~5% of the render time. Global, but this
        # process pool renders nothing else.
        rl_config.useA85 = 0
        self.options = options
        self.first_page = first_page
        self.roman_numbers = roman_numbers
        width, height = page_size(options)
        super().__init__(
            target,
            pagesize=(width, height),
            leftMargin=SIDE_MARGIN,
            rightMargin=SIDE_MARGIN,
            topMargin=TOP_MARGIN,
            bottomMargin=BOTTOM_MARGIN,
            title=title,
            author=author,
            creator="jira-gateway",
            # ReportLab's default puts the wall-clock time and a random id in the file;
            # invariant output makes re-runs of an export byte-identical.
            invariant=1,
        )
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._decorate)])

    def _decorate(self, canvas: Canvas, doc: Any) -> None:
        width, height = self.pagesize
        number = self.first_page + canvas.getPageNumber() - 1
        label = roman(number) if self.roman_numbers else str(number)
        canvas.saveState()
        canvas.setFont(SANS, DECOR_SIZE)
        canvas.setFillColor(MUTED)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        top = height - TOP_MARGIN + 8
        if self.options.header_text:
            _draw_text(canvas, SIDE_MARGIN, top + 4, self.options.header_text)
            canvas.line(SIDE_MARGIN, top, width - SIDE_MARGIN, top)
        bottom = BOTTOM_MARGIN - 12
        canvas.line(SIDE_MARGIN, bottom + 9, width - SIDE_MARGIN, bottom + 9)
        if self.options.footer_text:
            _draw_text(canvas, SIDE_MARGIN, bottom, self.options.footer_text)
        canvas.drawRightString(width - SIDE_MARGIN, bottom, label)
        canvas.restoreState()


def _draw_text(canvas: Canvas, x: float, y: float, text: str) -> None:
    """One line of header/footer text; CJK needs the font switch a Paragraph does."""
    if not has_cjk(text):
        canvas.drawString(x, y, text)
        return
    style = ParagraphStyle("decor", fontName=SANS, fontSize=DECOR_SIZE, textColor=MUTED)
    line = Paragraph(mark_cjk(escape(text)), style)
    line.wrap(10_000, DECOR_SIZE * 2)
    line.drawOn(canvas, x, y - 2)


def build(
    target: str | IO[bytes],
    flowables: list[Flowable],
    options: ReportOptions,
    *,
    first_page: int = 1,
    roman_numbers: bool = False,
    title: str = "",
    author: str = "",
) -> int:
    """Lay out `flowables` (consumed) into `target`; returns the number of pages written.

    Raises reportlab's LayoutError when a flowable cannot fit on any page; callers retry with
    simpler flowables.
    """
    document = _Document(
        target,
        options,
        first_page=first_page,
        roman_numbers=roman_numbers,
        title=title,
        author=author,
    )
    document.build(flowables)
    return int(document.page)
