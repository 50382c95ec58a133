"""JIRA wiki markup (REST v2 bodies, all webhooks, changelog strings) -> sanitized HTML and text.

Two passes. First the block macros that may span paragraphs are cut out: ``{code}`` and
``{noformat}`` (verbatim) and the containers ``{quote}`` and ``{panel}``. Then each remaining
text run is read line by line into headings, ``bq.``, rules, lists, tables and paragraphs, and
`InlineRenderer` does the phrase markup of each block. Unclosed macros run to the end of the
document; nothing is dropped. Inputs over `MAX_INPUT_CHARS` are cut with a visible note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.markup.sanitize import (
    MAX_INPUT_CHARS,
    TRUNCATION_NOTE,
    esc,
    safe_color,
    sanitize_html,
)
from gateway.markup.text import html_to_text
from gateway.markup.wiki_inline import InlineRenderer, Resolver

# {quote}/{panel} nesting and list depth beyond these are flattened: real text uses 1-4 levels.
MAX_CONTAINER_DEPTH = 20
MAX_LIST_DEPTH = 20

_MACRO = re.compile(r"(?<![{\\])\{(code|noformat|quote|panel)(:[^}\n]*)?\}")
_HEADING = re.compile(r"\s*h([1-6])\.(?:\s+(.*))?")
_QUOTE_LINE = re.compile(r"\s*bq\.\s(.*)")
_RULE = re.compile(r"\s*-{4,}\s*")
_LIST_ITEM = re.compile(r"\s*([*#]+|-)\s(.*)")
_TABLE_ROW = re.compile(r"\s*\|")
_CELL_TOKEN = re.compile(r"\|\||\||\[[^\]\n]*\]|\{\{.*?\}\}|[^|\[{]+|.")


@dataclass
class _Verbatim:
    kind: str  # "code" or "noformat"
    params: dict[str, str]
    body: str


@dataclass
class _Container:
    kind: str  # "root", "quote" or "panel"
    params: dict[str, str] = field(default_factory=dict)
    children: list[str | _Verbatim | _Container] = field(default_factory=list)


def _params(raw: str | None) -> dict[str, str]:
    """``:java`` -> {"": "java"}; ``:title=A|bgColor=#fff`` -> {"title": "A", "bgColor": …}."""
    result: dict[str, str] = {}
    for part in (raw or "")[1:].split("|"):
        key, sep, value = part.partition("=")
        if sep:
            result[key.strip()] = value.strip()
        elif part.strip():
            result.setdefault("", part.strip())
    return result


def _macro_tree(text: str) -> _Container:
    """Cut verbatim blocks and quote/panel containers out of `text` (no recursion)."""
    root = _Container("root")
    stack = [root]
    pos = 0
    while (match := _MACRO.search(text, pos)) is not None:
        stack[-1].children.append(text[pos : match.start()])
        kind, raw = match.group(1), match.group(2)
        pos = match.end()
        if kind in {"code", "noformat"}:
            closer = "{" + kind + "}"
            close = text.find(closer, pos)
            body = text[pos:] if close < 0 else text[pos:close]
            stack[-1].children.append(_Verbatim(kind, _params(raw), body.strip("\n")))
            pos = len(text) if close < 0 else close + len(closer)
        elif raw is None and any(c.kind == kind for c in stack):
            while stack.pop().kind != kind:
                pass  # closing an outer container also closes the ones opened inside it
        elif len(stack) <= MAX_CONTAINER_DEPTH:
            container = _Container(kind, _params(raw))
            stack[-1].children.append(container)
            stack.append(container)
    stack[-1].children.append(text[pos:])
    return root


class _WikiRenderer:
    def __init__(self, attachment_url: Resolver | None, user_name: Resolver | None) -> None:
        self.attachment_url = attachment_url
        self.user_name = user_name
        self.out: list[str] = []

    def inline(self, text: str) -> str:
        return InlineRenderer(text, self.attachment_url, self.user_name).render()

    def container(self, node: _Container) -> None:
        for child in node.children:
            if isinstance(child, str):
                self.blocks(child)
            elif isinstance(child, _Verbatim):
                self.verbatim(child)
            elif child.kind == "quote":
                self.out.append("<blockquote>")
                self.container(child)
                self.out.append("</blockquote>")
            else:
                self.panel(child)

    def verbatim(self, node: _Verbatim) -> None:
        if node.kind == "noformat":
            self.out.append(f'<pre class="jira-noformat">{esc(node.body)}</pre>')
            return
        language = node.params.get("language") or node.params.get("", "")
        attribute = f' data-language="{esc(language[:40])}"' if language else ""
        self.out.append(f'<pre class="jira-code"><code{attribute}>{esc(node.body)}</code></pre>')

    def panel(self, node: _Container) -> None:
        color = safe_color(node.params.get("bgColor"))
        style = f' style="background-color:{esc(color)}"' if color else ""
        self.out.append(f'<div class="jira-panel"{style}>')
        title = node.params.get("title")
        if title:
            self.out.append(f'<div class="jira-panel-title">{self.inline(title)}</div>')
        self.out.append('<div class="jira-panel-body">')
        self.container(node)
        self.out.append("</div></div>")

    def blocks(self, text: str) -> None:
        """Line-level blocks of a run of text that holds no block macro."""
        lines = text.split("\n")
        paragraph: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.strip() and not _starts_block(line):
                paragraph.append(line)
                i += 1
                continue
            if paragraph:
                self.out.append(f"<p>{self.inline(chr(10).join(paragraph))}</p>")
                paragraph = []
            if not line.strip():
                i += 1
            elif heading := _HEADING.fullmatch(line):
                level = heading.group(1)
                self.out.append(f"<h{level}>{self.inline(heading.group(2) or '')}</h{level}>")
                i += 1
            elif quote := _QUOTE_LINE.fullmatch(line):
                self.out.append(f"<blockquote><p>{self.inline(quote.group(1))}</p></blockquote>")
                i += 1
            elif _RULE.fullmatch(line):
                self.out.append("<hr>")
                i += 1
            elif _LIST_ITEM.fullmatch(line):
                i = self.list_block(lines, i)
            else:
                i = self.table(lines, i)
        if paragraph:
            self.out.append(f"<p>{self.inline(chr(10).join(paragraph))}</p>")

    def list_block(self, lines: list[str], i: int) -> int:
        """Nested ``*``/``#``/``-`` items; plain lines after an item continue it."""
        items: list[tuple[str, list[str]]] = []
        while i < len(lines):
            item = _LIST_ITEM.fullmatch(lines[i])
            if item:
                items.append((item.group(1).replace("-", "*"), [item.group(2)]))
            elif items and lines[i].strip() and not _starts_block(lines[i]):
                items[-1][1].append(lines[i])
            else:
                break
            i += 1
        open_lists: list[str] = []
        for markers, body in items:
            target = ["ol" if m == "#" else "ul" for m in markers[:MAX_LIST_DEPTH]]
            while len(open_lists) > len(target) or open_lists != target[: len(open_lists)]:
                self.out.append(f"</li></{open_lists.pop()}>")
            if len(open_lists) == len(target):
                self.out.append("</li>")
            while len(open_lists) < len(target):
                open_lists.append(target[len(open_lists)])
                self.out.append(f"<{open_lists[-1]}>")
            self.out.append(f"<li>{self.inline(chr(10).join(body))}")
        while open_lists:
            self.out.append(f"</li></{open_lists.pop()}>")
        return i

    def table(self, lines: list[str], i: int) -> int:
        """Consecutive ``||header||`` / ``|cell|`` lines; ``[a|b]`` and ``{{a|b}}`` stay whole."""
        self.out.append("<table><tbody>")
        while i < len(lines) and _TABLE_ROW.match(lines[i]):
            self.out.append("<tr>")
            cells: list[tuple[str, str]] = []
            for piece in _CELL_TOKEN.findall(lines[i].strip()):
                if piece in {"|", "||"}:
                    cells.append(("th" if piece == "||" else "td", ""))
                elif cells:
                    cells[-1] = (cells[-1][0], cells[-1][1] + piece)
            if len(cells) > 1 and not cells[-1][1].strip():
                cells.pop()  # the row's closing bar
            for tag, body in cells:
                self.out.append(f"<{tag}>{self.inline(body.strip())}</{tag}>")
            self.out.append("</tr>")
            i += 1
        self.out.append("</tbody></table>")
        return i


def _starts_block(line: str) -> bool:
    return bool(
        _HEADING.fullmatch(line)
        or _QUOTE_LINE.fullmatch(line)
        or _RULE.fullmatch(line)
        or _LIST_ITEM.fullmatch(line)
        or _TABLE_ROW.match(line)
    )


def wiki_to_html(
    text: str,
    *,
    attachment_url: Resolver | None = None,
    user_name: Resolver | None = None,
) -> str:
    """Sanitized HTML for JIRA wiki markup; `attachment_url` maps a file name to its URL."""
    if not isinstance(text, str):
        return ""
    truncated = len(text) > MAX_INPUT_CHARS
    text = text[:MAX_INPUT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    renderer = _WikiRenderer(attachment_url, user_name)
    renderer.container(_macro_tree(text))
    if truncated:
        renderer.out.append(TRUNCATION_NOTE)
    return sanitize_html("".join(renderer.out))


def wiki_to_text(text: str) -> str:
    """Plain text of wiki markup, as a reader of the rendered HTML would see it."""
    return html_to_text(wiki_to_html(text))
