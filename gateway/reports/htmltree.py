"""A forgiving parse of sanitized HTML into a small element tree for `richtext`.

The input already passed `gateway.markup.sanitize_html`, but the renderer must not trust that:
stray end tags are ignored, unclosed elements close at their parent's end, and nesting deeper
than `MAX_DEPTH` keeps its text while its tags are dropped (degrading to plain text).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# Deeper than any real JIRA document (sanitize flattens at 100) and far from recursion limits:
# the converter recurses once per level.
MAX_DEPTH = 40
VOID = frozenset({"br", "hr", "img", "wbr"})
# Control characters break ReportLab's parser or draw as boxes; tab and newline survive.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


@dataclass(slots=True)
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """All descendant text, `<br>` as a newline."""
        parts: list[str] = []
        stack: list[Element | str] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                parts.append(node)
            elif node.tag == "br":
                parts.append("\n")
            else:
                stack.extend(reversed(node.children))
        return "".join(parts)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


# nh3 serializes HTML regularly (double-quoted attributes, `<`/`&` escaped in text), so one
# regex tokenizes it 5-10x faster than html.parser; anything irregular degrades to text.
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s/>=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)"
    r"\s*/?>|<!--.*?(?:-->|$)|<![^>]*>|([^<]+|<)",
    re.DOTALL,
)
_ATTR = re.compile(r"([^\s/>=]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")


def _text(raw: str) -> str:
    return _CONTROL.sub("", html.unescape(raw) if "&" in raw else raw)


def _attrs(raw: str) -> dict[str, str]:
    return {
        match.group(1).lower(): _text(match.group(2) or match.group(3) or match.group(4) or "")
        for match in _ATTR.finditer(raw)
    }


def parse_html(fragment: str) -> Element:
    """The element tree of `fragment` under a synthetic "root" element; never raises.

    Stray end tags are ignored; an end tag closes every element opened inside its match.
    """
    root = Element("root")
    stack = [root]
    dropped = 0  # open tags ignored for depth, so their end tags are ignored too
    for match in _TOKEN.finditer(fragment):
        closing, tag, raw_attrs, text = match.groups()
        if text is not None:
            stack[-1].children.append(_text(text))
            continue
        if tag is None:  # comment or doctype
            continue
        tag = tag.lower()
        if closing:
            if dropped and len(stack) > MAX_DEPTH:
                dropped -= 1
                continue
            for index in range(len(stack) - 1, 0, -1):
                if stack[index].tag == tag:
                    del stack[index:]
                    break
            continue
        if len(stack) > MAX_DEPTH:
            if tag == "br":
                stack[-1].children.append("\n")
            elif tag not in VOID:
                dropped += 1
            continue
        element = Element(tag, _attrs(raw_attrs) if raw_attrs else {})
        stack[-1].children.append(element)
        if tag not in VOID and not match.group(0).endswith("/>"):
            stack.append(element)
    return root
