"""Sanitized HTML (the `gateway.markup` subset) -> ReportLab platypus flowables.

Inline tags become ReportLab paragraph markup (``<b>``, ``<i>``, ``<font>``, ``<a>``...); block
tags become flowables: paragraphs, headings, bulleted and numbered paragraphs, tables, shaded
code blocks, boxed panels and quotes, images from attachment bytes, rules. Text is escaped for
ReportLab's mini-markup, CJK runs get a CJK font (`fonts.mark_cjk`), and whatever markup
ReportLab still refuses degrades to the plain text of that paragraph: odd input never raises.

`safe=True` (used after a layout failure) renders tables, panels and images as plain text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, HRFlowable, Image, Paragraph, Table, XPreformatted
from reportlab.platypus.doctemplate import Indenter

from gateway.markup.sanitize import safe_color, safe_url
from gateway.reports.fonts import MONO, has_cjk, mark_cjk
from gateway.reports.htmltree import Element, parse_html
from gateway.reports.styles import LINK_HEX, PANEL, RULE, SHADE, Styles, styles

_INLINE: dict[str, tuple[str, str]] = {
    "strong": ("<b>", "</b>"),
    "b": ("<b>", "</b>"),
    "em": ("<i>", "</i>"),
    "i": ("<i>", "</i>"),
    "cite": ("<i>", "</i>"),
    "u": ("<u>", "</u>"),
    "ins": ("<u>", "</u>"),
    "s": ("<strike>", "</strike>"),
    "del": ("<strike>", "</strike>"),
    "sub": ("<sub>", "</sub>"),
    "sup": ("<super>", "</super>"),
    "code": (f'<font name="{MONO}">', "</font>"),
    "small": ('<font size="8">', "</font>"),
}
_HEADINGS = {"h1": 0, "h2": 1, "h3": 2, "h4": 3, "h5": 4, "h6": 5}
_STYLE_COLOR = re.compile(r"(?:^|;)\s*color\s*:\s*([^;]+)", re.IGNORECASE)
INDENT = 14.0
MAX_COLUMNS = 12


def escape(text: str) -> str:
    """Text -> ReportLab paragraph markup (which is XML-like: `&`, `<`, `>` are special)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markup(text: str) -> str:
    """Escaped text with CJK runs in a CJK font: the one way plain text enters a paragraph."""
    return mark_cjk(escape(text))


def link_open(url: str) -> str | None:
    """``<a href=...>`` for an absolute safe URL; None for unsafe or same-site ones (a PDF has no
    site to resolve a relative link against)."""
    href = safe_url(url)
    if not href or href.startswith(("/", "#")):
        return None
    quoted = escape(href).replace('"', "%22")
    return f'<a href="{quoted}" color="{LINK_HEX}">'


def paragraph(text_markup: str, style: ParagraphStyle, plain: str | None = None) -> Paragraph:
    """A Paragraph, falling back to `plain` (escaped) if ReportLab rejects the markup."""
    if has_cjk(text_markup) and style.wordWrap != "CJK":
        style = _variant(style, wordWrap="CJK")
    try:
        return Paragraph(text_markup, style)
    except Exception:  # noqa: BLE001 - ReportLab raises bare ValueError/others on bad markup
        fallback = plain if plain is not None else re.sub(r"<[^>]*>", "", text_markup)
        return Paragraph(markup(fallback), style)


_VARIANTS: dict[tuple[str, tuple[tuple[str, Any], ...]], ParagraphStyle] = {}


def _variant(style: ParagraphStyle, **changes: Any) -> ParagraphStyle:
    key = (style.name, tuple(sorted(changes.items())))
    found = _VARIANTS.get(key)
    if found is None:
        found = ParagraphStyle(f"{style.name}+{len(_VARIANTS)}", parent=style, **changes)
        _VARIANTS[key] = found
    return found


@dataclass
class RichTextContext:
    """What the converter needs besides the HTML: width in points, images by reference."""

    width: float
    max_image_height: float
    images: Mapping[str, bytes] = field(default_factory=dict)
    safe: bool = False
    style_set: Styles = field(default_factory=styles)
    _sizes: dict[str, tuple[int, int] | None] = field(default_factory=dict)

    def image(self, src: str) -> tuple[bytes, int, int] | None:
        """The image bytes and pixel size for an `<img src>`, None if unknown or unreadable."""
        key = src if src in self.images else src.rstrip("/").rsplit("/", 1)[-1]
        if key not in self.images:
            return None
        if key not in self._sizes:
            try:
                width, height = ImageReader(io.BytesIO(self.images[key])).getSize()
                size: tuple[int, int] | None = (int(width), int(height))
            except Exception:  # noqa: BLE001 - corrupt image bytes show as alt text
                size = None
            self._sizes[key] = size if size and size[0] > 0 and size[1] > 0 else None
        size = self._sizes[key]
        return None if size is None else (self.images[key], *size)


def html_to_flowables(html: str, context: RichTextContext, *, indent: float = 0) -> list[Flowable]:
    """Convert one rich-text fragment, indented by `indent` points; empty HTML gives []."""
    if not html.strip():
        return []
    converter = _Converter(context, context.width, in_cell=False)
    converter.indent = indent
    converter.block(parse_html(html))
    converter.flush()
    return converter.out


class _Converter:
    def __init__(self, context: RichTextContext, width: float, *, in_cell: bool) -> None:
        self.ctx = context
        self.s = context.style_set
        self.width = width
        self.in_cell = in_cell
        self.out: list[Flowable] = []
        self.buf: list[str] = []
        self.plain: list[str] = []
        self.open: list[tuple[str, str]] = []
        self.indent = 0.0
        self.bullet: str | None = None
        self.style: ParagraphStyle = self.s.cell if in_cell else self.s.body

    # -- paragraphs ---------------------------------------------------------------------

    def flush(self, style: ParagraphStyle | None = None) -> None:
        """End the current paragraph, closing and re-opening the inline tags still open."""
        if not "".join(self.plain).strip() and self.bullet is None:
            self.buf, self.plain = [], []
            return
        closes = "".join(close for _, close in reversed(self.open))
        text = "".join(self.buf) + closes
        base = style or self.style
        changes: dict[str, Any] = {}
        if self.indent:
            changes["leftIndent"] = base.leftIndent + self.indent
        if self.bullet is not None:
            changes["bulletIndent"] = base.leftIndent + self.indent - INDENT + 2
            changes["bulletFontName"] = base.fontName
        para_style = _variant(base, **changes) if changes else base
        para = paragraph(text.strip(), para_style, "".join(self.plain))
        if self.bullet is not None:
            para.bulletText = self.bullet
            self.bullet = None
        self.out.append(para)
        self.buf = [opening for opening, _ in self.open]
        self.plain = []

    def text(self, value: str) -> None:
        if self.buf and self.buf[-1] == "<br/>":
            value = value.lstrip()  # the source's newline after <br> would indent the line
        if value:
            self.buf.append(markup(value))
            self.plain.append(value)

    def add(self, flowable: Flowable) -> None:
        self.flush()
        if self.indent and not self.in_cell:
            self.out.extend([Indenter(left=self.indent), flowable, Indenter(left=-self.indent)])
        else:
            self.out.append(flowable)

    # -- traversal ----------------------------------------------------------------------

    def block(self, element: Element) -> None:
        for child in element.children:
            if isinstance(child, str):
                self.text(child)
            else:
                self.node(child)

    def node(self, element: Element) -> None:
        tag = element.tag
        if tag in _INLINE or tag in {"a", "span", "time"}:
            self.inline(element)
        elif tag == "br":
            self.buf.append("<br/>")
            self.plain.append("\n")
        elif tag == "img":
            self.img(element)
        elif tag in _HEADINGS:
            self.flush()
            self.block(element)
            self.flush(self.s.headings[_HEADINGS[tag]])
        elif tag in {"ul", "ol"}:
            self.listing(element)
        elif tag == "li":  # an <li> outside a list: a bulleted paragraph all the same
            self.item(element, "•")
        elif tag == "pre":
            self.pre(element)
        elif tag == "table":
            self.table(element)
        elif tag == "hr":
            self.add(HRFlowable(width="100%", thickness=0.6, color=RULE, spaceAfter=4))
        elif tag == "blockquote" or (tag == "div" and "jira-panel" in element.classes()):
            self.boxed(element, quote=tag == "blockquote")
        else:  # p, div, figure, figcaption, details, summary, tr/td out of place, unknown
            self.flush()
            if tag == "summary" or "jira-panel-title" in element.classes():
                self.open.append(("<b>", "</b>"))
                self.buf.append("<b>")
                self.block(element)
                self.buf.append("</b>")
                self.open.pop()
            else:
                self.block(element)
            self.flush(self.s.muted if tag == "figcaption" else None)

    def inline(self, element: Element) -> None:
        opening, closing = self.inline_tags(element)
        if not opening:
            self.block(element)
            return
        self.open.append((opening, closing))
        self.buf.append(opening)
        self.block(element)
        self.buf.append(closing)
        self.open.pop()

    def inline_tags(self, element: Element) -> tuple[str, str]:
        tag = element.tag
        if tag in _INLINE:
            return _INLINE[tag]
        if tag == "a":
            opening = link_open(element.attrs.get("href", ""))
            return (opening, "</a>") if opening else ("", "")
        match = _STYLE_COLOR.search(element.attrs.get("style", ""))
        color = safe_color(match.group(1)) if match else None
        if color:
            try:
                value = colors.toColor(color)
            except (ValueError, TypeError, AttributeError):
                return "", ""
            return f'<font color="#{value.hexval()[2:]}">', "</font>"
        if "jira-mention" in element.classes():
            return f'<font color="{LINK_HEX}">', "</font>"
        return "", ""

    # -- blocks -------------------------------------------------------------------------

    def listing(self, element: Element) -> None:
        self.flush()
        numbered = element.tag == "ol"
        try:
            number = int(element.attrs.get("start", "1"))
        except ValueError:
            number = 1
        for child in element.children:
            if isinstance(child, str):
                if child.strip():
                    self.item(Element("li", children=[child]), "•")
                continue
            if child.tag != "li":
                child = Element("li", children=[child])
            self.item(child, f"{number}." if numbered else "•")
            number += 1

    def item(self, element: Element, bullet: str) -> None:
        self.flush()
        self.indent += INDENT
        self.bullet = bullet
        self.block(element)
        self.flush()
        self.bullet = None
        self.indent -= INDENT

    def pre(self, element: Element) -> None:
        text = element.text().strip("\n")
        if not text.strip():
            return
        # XPreformatted never wraps: hard-wrap at the column count the width allows.
        columns = max(20, int((self.width - self.indent - 8) / (self.s.code.fontSize * 0.602)))
        lines: list[str] = []
        for line in text.expandtabs(4).split("\n"):
            lines.extend(line[i : i + columns] for i in range(0, max(len(line), 1), columns))
        style = _variant(self.s.code, backColor=SHADE, borderPadding=4, spaceBefore=6, spaceAfter=8)
        self.add(XPreformatted(markup("\n".join(lines)), style))

    def img(self, element: Element) -> None:
        src = element.attrs.get("src", "")
        alt = element.attrs.get("alt", "") or src.rsplit("/", 1)[-1] or "image"
        found = None if self.ctx.safe else self.ctx.image(src)
        if found is None:
            self.text(f"[image: {alt}]")
            return
        data, pixel_width, pixel_height = found
        # 96 dpi pixels -> points, never wider than the column nor taller than the cap.
        width, height = pixel_width * 0.75, pixel_height * 0.75
        scale = min(1.0, (self.width - self.indent) / width, self.ctx.max_image_height / height)
        image = Image(io.BytesIO(data), width=width * scale, height=height * scale, hAlign="LEFT")
        image.spaceBefore, image.spaceAfter = 2, 6
        self.add(image)

    def boxed(self, element: Element, *, quote: bool) -> None:
        if self.ctx.safe or self.in_cell:
            self.flush()
            self.indent += INDENT
            self.block(element)
            self.flush()
            self.indent -= INDENT
            return
        inner = self.sub(self.width - self.indent - 16)
        inner.block(element)
        inner.flush()
        if not inner.out:
            return
        box = Table([[inner.out]], colWidths=[self.width - self.indent], splitInRow=1)
        commands: list[tuple[Any, ...]] = [("VALIGN", (0, 0), (-1, -1), "TOP")]
        if quote:
            commands.append(("LINEBEFORE", (0, 0), (0, -1), 2, RULE))
        else:
            commands.append(("BACKGROUND", (0, 0), (-1, -1), PANEL))
        box.setStyle(commands)
        box.spaceBefore, box.spaceAfter = 2, 6
        self.add(box)

    def sub(self, width: float, *, in_cell: bool = False) -> _Converter:
        return _Converter(self.ctx, width, in_cell=in_cell or self.in_cell)

    def table(self, element: Element) -> None:
        rows = _rows(element)
        if not rows:
            return
        if self.ctx.safe or self.in_cell:
            for cells in rows:
                self.flush()
                self.text(" | ".join(" ".join(cell.text().split()) for cell, _ in cells))
                self.flush()
            return
        self.flush()
        columns = min(MAX_COLUMNS, max(len(cells) for cells in rows))
        width = (self.width - self.indent) / columns
        data: list[list[Any]] = []
        for cells in rows:
            row: list[Any] = []
            for index in range(columns):
                if index >= len(cells):
                    row.append("")
                    continue
                # Cells past MAX_COLUMNS are merged into the last one, as text.
                group = cells[index:] if index == columns - 1 else [cells[index]]
                row.append(self.cell([cell for cell, _ in group], width, group[0][1]))
            data.append(row)
        header = all(is_head for _, is_head in rows[0])
        table = Table(
            data, colWidths=[width] * columns, repeatRows=1 if header else 0, splitInRow=1
        )
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.5, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
        for row_index, cells in enumerate(rows):
            for col_index, (_, is_head) in enumerate(cells[:columns]):
                if is_head:
                    cell = (col_index, row_index)
                    commands.append(("BACKGROUND", cell, cell, SHADE))
        table.setStyle(commands)
        table.spaceAfter = 6
        self.add(table)

    def cell(self, cells: list[Element], width: float, is_head: bool) -> list[Flowable]:
        inner = self.sub(width - 8, in_cell=True)
        if is_head:
            inner.style = self.s.cell_head
        for cell in cells:
            inner.block(cell)
            inner.flush()
        return inner.out


def _rows(table: Element) -> list[list[tuple[Element, bool]]]:
    """Rows of (cell, is_header) from thead/tbody/tfoot/tr, whatever the nesting."""
    rows: list[list[tuple[Element, bool]]] = []
    pending: list[Element | str] = []
    for child in table.children:
        if isinstance(child, str) or child.tag not in {"thead", "tbody", "tfoot", "tr"}:
            pending.append(child)
            continue
        for row in [child] if child.tag == "tr" else child.children:
            if isinstance(row, Element) and row.tag == "tr":
                cells = [
                    c for c in row.children if isinstance(c, Element) and c.tag in {"td", "th"}
                ]
                if cells:
                    rows.append([(cell, cell.tag == "th") for cell in cells])
    stray = Element("td", children=pending)
    if stray.text().strip():
        rows.append([(stray, False)])
    return rows
