"""Small pure helpers for the ADF renderer: defensive attribute access, marks, atoms' text.

ADF arrives from JIRA (and from anyone who can write a comment), so every attribute is checked
for type: a wrong type degrades to a default, never to an exception.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.markup.sanitize import esc, safe_color, safe_url

Node = Mapping[str, Any]


def attrs_of(node: Node) -> Mapping[str, Any]:
    value = node.get("attrs")
    return value if isinstance(value, Mapping) else {}


def _nodes(value: object) -> list[Node]:
    """The mappings in ``value`` when it is a list (anything else counts as empty)."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def content_of(node: Node) -> list[Node]:
    return _nodes(node.get("content"))


def str_attr(node: Node, name: str) -> str | None:
    value = attrs_of(node).get(name)
    return value if isinstance(value, str) and value else None


def int_attr(node: Node, name: str, low: int, high: int) -> int | None:
    value = attrs_of(node).get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return min(max(number, low), high)


def date_text(timestamp: object) -> str | None:
    """ADF `date` nodes hold epoch milliseconds (as a string); JIRA shows the UTC date."""
    try:
        millis = int(str(timestamp))
        return datetime.fromtimestamp(millis / 1000, tz=UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def atom_text(node: Node) -> str | None:
    """The visible text of a leaf node that is not a `text` node (used when flattening)."""
    kind = node.get("type")
    if kind == "date":
        return date_text(attrs_of(node).get("timestamp"))
    if kind == "emoji":
        return str_attr(node, "text") or str_attr(node, "shortName")
    if kind in {"inlineCard", "blockCard", "embedCard"}:
        return str_attr(node, "url")
    if kind in {"media", "mediaInline"}:
        return str_attr(node, "alt")
    if kind in {"expand", "nestedExpand"}:
        return str_attr(node, "title")
    return str_attr(node, "text")


def iter_text(root: Node) -> Iterator[str]:
    """Every piece of visible text below `root`, in document order, without recursion.

    Used for subtrees nested deeper than the renderer will go: 10 000 levels must not raise
    RecursionError, and their text must still reach the reader.
    """
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        text = node.get("text") if node.get("type") == "text" else atom_text(node)
        if isinstance(text, str) and text:
            yield text
        stack.extend(reversed(content_of(node)))


def block_style(node: Node) -> str:
    """` style="..."` for the block marks alignment and indentation ("" when none apply)."""
    rules: list[str] = []
    for mark in marks_of(node):
        mark_attrs = attrs_of(mark)
        if mark.get("type") == "alignment" and mark_attrs.get("align") in {"center", "end"}:
            rules.append("text-align:" + ("center" if mark_attrs["align"] == "center" else "right"))
        elif mark.get("type") == "indentation":
            level = int_attr(mark, "level", 1, 6)
            if level:
                rules.append(f"margin-left:{level * 30}px")
    return f' style="{";".join(rules)}"' if rules else ""


def marks_of(node: Node) -> list[Node]:
    return _nodes(node.get("marks"))


_SIMPLE_MARKS = {
    "strong": "strong",
    "em": "em",
    "underline": "u",
    "strike": "s",
    "code": "code",
    "fontSize": "small",
}


def mark_tags(node: Node) -> tuple[str, str]:
    """Opening and closing HTML for a node's inline marks, the link outermost.

    annotation, dataConsumer, fragment and unknown marks carry no presentation: the text stays
    as it is.
    """
    opening: list[str] = []
    closing: list[str] = []
    marks = sorted(marks_of(node), key=lambda mark: mark.get("type") != "link")
    for mark in marks:
        kind = mark.get("type")
        tag, attributes = None, ""
        if isinstance(kind, str) and kind in _SIMPLE_MARKS:
            tag = _SIMPLE_MARKS[kind]
        elif kind == "subsup":
            tag = "sub" if attrs_of(mark).get("type") == "sub" else "sup"
        elif kind in {"textColor", "backgroundColor", "border"}:
            color = safe_color(attrs_of(mark).get("color"))
            if color:
                prop = {"textColor": "color", "backgroundColor": "background-color"}.get(
                    str(kind), "border"
                )
                value = f"1px solid {color}" if prop == "border" else color
                tag, attributes = "span", f' style="{prop}:{esc(value)}"'
        elif kind == "link":
            href = attrs_of(mark).get("href")
            url = safe_url(href) if isinstance(href, str) else None
            if url:
                title = attrs_of(mark).get("title")
                extra = f' title="{esc(title)}"' if isinstance(title, str) and title else ""
                tag, attributes = "a", f' href="{esc(url)}"{extra}'
        if tag:
            opening.append(f"<{tag}{attributes}>")
            closing.append(f"</{tag}>")
    return "".join(opening), "".join(reversed(closing))
