"""Sanitized HTML -> plain text, shared by the ADF and wiki renderers.

Deriving the text from the HTML we already produced keeps `RichText.text` and `RichText.html`
saying the same thing (one place decides how a mention, a date or an emoticon reads), at the
cost of one extra parse of a string we just built.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "pre", "blockquote", "figure", "figcaption", "details", "summary", "table"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "hr"}
)
_SPACE_RUN = re.compile(r"[ \t\r\n\f]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre_depth = 0
        self.lists: list[int | None] = []  # None for <ul>, the next number for <ol>
        self.cells_in_row = 0
        self.item_start = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._newline("\n\n" if tag in {"p", "pre", "table"} else "\n")
        if tag == "pre":
            self.pre_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "hr":
            self.parts.append("----\n")
        elif tag == "ul":
            self.lists.append(None)
        elif tag == "ol":
            start = dict(attrs).get("start")
            self.lists.append(int(start) if start and start.isdigit() else 1)
        elif tag == "li":
            self._list_item()
        elif tag == "tr":
            self.parts.append("\n")
            self.cells_in_row = 0
        elif tag in {"td", "th"}:
            if self.cells_in_row:
                while self.parts and not self.parts[-1].strip():
                    self.parts.pop()
                self.parts.append(" | ")
            self.item_start = True
            self.cells_in_row += 1
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f"[{alt}]")

    def _list_item(self) -> None:
        while self.parts and not self.parts[-1].strip():
            self.parts.pop()
        indent = "  " * max(len(self.lists) - 1, 0)
        number = self.lists[-1] if self.lists else None
        if number is None:
            self.parts.append(f"\n{indent}- ")
        else:
            self.parts.append(f"\n{indent}{number}. ")
            self.lists[-1] = number + 1
        self.item_start = True

    def _newline(self, text: str) -> None:
        # A paragraph as the first thing in a list item or table cell stays on the marker's line.
        if not self.item_start:
            self.parts.append(text)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.pre_depth = max(self.pre_depth - 1, 0)
        elif tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
        if tag in _BLOCKS:
            self._newline("\n")

    def handle_data(self, data: str) -> None:
        if self.pre_depth:
            self.parts.append(data)
            self.item_start = False
            return
        data = _SPACE_RUN.sub(" ", data)
        if self._after_space():
            data = data.lstrip(" ")
        if data:
            self.parts.append(data)
            self.item_start = False

    def _after_space(self) -> bool:
        # Also true after a list marker or a space: browsers collapse the space run the same way.
        return not self.parts or self.parts[-1][-1:] in {"", " ", "\n"}


def html_to_text(fragment: str) -> str:
    """Readable plain text of an HTML fragment: blocks on their own lines, lists marked."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
