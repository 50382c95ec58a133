"""Atlassian Document Format (Jira Cloud REST v3 rich text) -> sanitized HTML and plain text.

Covers every node and mark of the official ADF schema (`adf-schema-v1-full.json`). The rules:

* content is never dropped: unknown nodes render their children, or their ``text``/``attrs.text``,
  or a labelled placeholder; wrong attribute types fall back to defaults;
* attachments (`media` of type ``file``) and mentions are resolved through the caller's
  callbacks, because only the caller knows the site's attachment URLs and user names;
* nesting deeper than `MAX_DEPTH` is flattened to its text (no RecursionError at 10 000 levels)
  and documents over `MAX_INPUT_CHARS` of text end with a visible truncation note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from gateway.markup.adf_parts import (
    Node,
    atom_text,
    attrs_of,
    block_style,
    content_of,
    int_attr,
    iter_text,
    mark_tags,
    str_attr,
)
from gateway.markup.sanitize import (
    MAX_DEPTH,
    MAX_INPUT_CHARS,
    TRUNCATION_NOTE,
    esc,
    safe_color,
    safe_url,
    sanitize_html,
)
from gateway.markup.text import html_to_text

Resolver = Callable[[str], str | None]

# Half a million nodes is ~50x the largest real description we have seen; beyond that the
# document is hostile and rendering it would only cost CPU.
MAX_NODES = 500_000

_PANEL_TYPES = frozenset({"info", "note", "tip", "warning", "error", "success", "custom"})
_CONTAINERS: dict[str, tuple[str, str]] = {
    "blockquote": ("<blockquote>", "</blockquote>"),
    "bulletList": ("<ul>", "</ul>"),
    "listItem": ("<li>", "</li>"),
    "tableRow": ("<tr>", "</tr>"),
    "decisionList": ('<ul class="jira-decision-list">', "</ul>"),
    "decisionItem": ('<li class="jira-decision">', "</li>"),
    "taskList": ('<ul class="jira-task-list">', "</ul>"),
    "layoutSection": ('<div class="jira-layout">', "</div>"),
    "caption": ("<figcaption>", "</figcaption>"),
    "mediaGroup": ("<p>", "</p>"),
    "syncBlock": ('<div class="jira-sync-block">', "</div>"),
    "bodiedSyncBlock": ('<div class="jira-sync-block">', "</div>"),
}


class _HtmlRenderer:
    """Walks one document into `self.out`; one instance per call (it holds the budgets)."""

    def __init__(self, attachment_url: Resolver | None, user_name: Resolver | None) -> None:
        self.attachment_url = attachment_url
        self.user_name = user_name
        self.out: list[str] = []
        self.chars_left = MAX_INPUT_CHARS
        self.nodes_left = MAX_NODES
        self.truncated = False

    def render(self, doc: Node) -> str:
        self.node(doc, 0)
        if self.truncated:
            self.out.append(TRUNCATION_NOTE)
        return "".join(self.out)

    # -- dispatch ---------------------------------------------------------------------------

    def node(self, node: Node, depth: int) -> None:
        if self.truncated:
            return
        self.nodes_left -= 1
        if self.nodes_left < 0:
            self.truncated = True
            return
        if depth > MAX_DEPTH:
            self.text(" ".join(iter_text(node)))
            return
        kind = node.get("type")
        if isinstance(kind, str) and kind in _CONTAINERS:
            opening, closing = _CONTAINERS[kind]
            self.wrap(opening, closing, node, depth)
            return
        handler = self._HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            self.unknown(node, depth)
        else:
            handler(self, node, depth)

    def children(self, node: Node, depth: int) -> None:
        for child in content_of(node):
            self.node(child, depth + 1)

    def wrap(self, opening: str, closing: str, node: Node, depth: int) -> None:
        self.out.append(opening)
        self.children(node, depth)
        self.out.append(closing)

    def text(self, text: str) -> None:
        """Append escaped text, charging the size budget."""
        if len(text) > self.chars_left:
            text = text[: self.chars_left]
            self.truncated = True
        self.chars_left -= len(text)
        self.out.append(esc(text))

    # -- blocks -----------------------------------------------------------------------------

    def doc(self, node: Node, depth: int) -> None:
        self.children(node, depth)

    def paragraph(self, node: Node, depth: int) -> None:
        self.wrap(f"<p{block_style(node)}>", "</p>", node, depth)

    def heading(self, node: Node, depth: int) -> None:
        level = int_attr(node, "level", 1, 6) or 1
        self.wrap(f"<h{level}{block_style(node)}>", f"</h{level}>", node, depth)

    def ordered_list(self, node: Node, depth: int) -> None:
        start = int_attr(node, "order", 0, 1_000_000)
        attribute = f' start="{start}"' if start is not None and start != 1 else ""
        self.wrap(f"<ol{attribute}>", "</ol>", node, depth)

    def code_block(self, node: Node, depth: int) -> None:
        language = str_attr(node, "language")
        attribute = f' data-language="{esc(language[:40])}"' if language else ""
        self.wrap(f'<pre class="jira-code"><code{attribute}>', "</code></pre>", node, depth)

    def panel(self, node: Node, depth: int) -> None:
        kind = str_attr(node, "panelType")
        kind = kind if kind in _PANEL_TYPES else "info"
        color = safe_color(attrs_of(node).get("panelColor"))
        style = f' style="background-color:{esc(color)}"' if color else ""
        self.wrap(f'<div class="jira-panel jira-panel-{kind}"{style}>', "</div>", node, depth)

    def rule(self, node: Node, depth: int) -> None:
        self.out.append("<hr>")

    def table(self, node: Node, depth: int) -> None:
        self.wrap("<table><tbody>", "</tbody></table>", node, depth)

    def table_cell(self, node: Node, depth: int) -> None:
        tag = "th" if node.get("type") == "tableHeader" else "td"
        parts: list[str] = []
        for name in ("colspan", "rowspan"):
            span = int_attr(node, name, 1, 1000)
            if span and span > 1:
                parts.append(f' {name}="{span}"')
        rules: list[str] = []
        widths = attrs_of(node).get("colwidth")
        if (
            isinstance(widths, list)
            and widths
            and all(
                isinstance(width, int | float) and not isinstance(width, bool) for width in widths
            )
        ):
            rules.append(f"width:{min(int(sum(widths)), 10_000)}px")
        color = safe_color(attrs_of(node).get("background"))
        if color:
            rules.append(f"background-color:{color}")
        if rules:
            parts.append(f' style="{esc(";".join(rules))}"')
        self.wrap(f"<{tag}{''.join(parts)}>", f"</{tag}>", node, depth)

    def expand(self, node: Node, depth: int) -> None:
        self.out.append('<details class="jira-expand"><summary>')
        self.text(str_attr(node, "title") or "")
        self.out.append("</summary>")
        self.children(node, depth)
        self.out.append("</details>")

    def task_item(self, node: Node, depth: int) -> None:
        done = str_attr(node, "state") == "DONE"
        state = "DONE" if done else "TODO"
        self.out.append(f'<li class="jira-task" data-state="{state}">{"☑" if done else "☐"} ')
        self.children(node, depth)
        self.out.append("</li>")

    def layout_column(self, node: Node, depth: int) -> None:
        width = int_attr(node, "width", 1, 100)
        style = f' style="width:{width}%"' if width else ""
        self.wrap(f'<div class="jira-layout-column"{style}>', "</div>", node, depth)

    def media_single(self, node: Node, depth: int) -> None:
        self.out.append('<figure class="jira-media">')
        for child in content_of(node):
            if child.get("type") == "media":
                self.media(child, depth + 1, image=True)
            else:
                self.node(child, depth + 1)
        self.out.append("</figure>")

    def extension(self, node: Node, depth: int) -> None:
        block = node.get("type") != "inlineExtension"
        tag = "div" if block else "span"
        self.out.append(f'<{tag} class="jira-extension">')
        if content_of(node):
            self.children(node, depth)
        else:
            key = str_attr(node, "extensionKey") or "unknown"
            self.text(str_attr(node, "text") or f"[extension: {key}]")
        self.out.append(f"</{tag}>")

    def unknown(self, node: Node, depth: int) -> None:
        """Unknown or misspelled node: its children, else its text, else a labelled stub."""
        if content_of(node):
            self.children(node, depth)
            return
        text = node.get("text")
        label = text if isinstance(text, str) and text else atom_text(node)
        self.out.append('<span class="jira-unsupported">')
        self.text(label or f"[{node.get('type') or 'unknown'}]")
        self.out.append("</span>")

    # -- inline -----------------------------------------------------------------------------

    def text_node(self, node: Node, depth: int) -> None:
        text = node.get("text")
        if not isinstance(text, str) or not text:
            return
        opening, closing = mark_tags(node)
        self.out.append(opening)
        self.text(text)
        self.out.append(closing)

    def hard_break(self, node: Node, depth: int) -> None:
        self.out.append("<br>")

    def mention(self, node: Node, depth: int) -> None:
        account = str_attr(node, "id")
        name = self.user_name(account) if account and self.user_name else None
        shown = f"@{name}" if name else str_attr(node, "text") or "@user"
        shown = shown if shown.startswith("@") else f"@{shown}"
        attribute = f' data-account-id="{esc(account)}"' if account else ""
        self.out.append(f'<span class="jira-mention"{attribute}>')
        self.text(shown)
        self.out.append("</span>")

    def inline_atom(self, node: Node, depth: int) -> None:
        """emoji, date, status, placeholder: a span holding the node's visible text."""
        kind = node.get("type")
        css = {"emoji": "jira-emoji", "status": "jira-status", "date": "jira-date"}.get(
            str(kind), "jira-placeholder"
        )
        color = str_attr(node, "color") if kind == "status" else None
        extra = f' data-color="{esc(color)}"' if color else ""
        text = atom_text(node)
        if kind == "date" and text is None:
            text = str(attrs_of(node).get("timestamp") or "")
        self.out.append(f'<span class="{css}"{extra}>')
        self.text(text or "")
        self.out.append("</span>")

    def card(self, node: Node, depth: int) -> None:
        url = str_attr(node, "url")
        data = attrs_of(node).get("data")
        if url is None and isinstance(data, Mapping):
            url = data.get("url") if isinstance(data.get("url"), str) else None
        block = node.get("type") != "inlineCard"
        self.out.append("<p>" if block else "")
        self.link(url, url or "[link]", css="jira-card")
        self.out.append("</p>" if block else "")

    def link(self, url: str | None, label: str, css: str) -> None:
        href = safe_url(url) if url else None
        if href:
            self.out.append(f'<a class="{css}" href="{esc(href)}">')
        self.text(label)
        self.out.append("</a>" if href else "")

    def media(self, node: Node, depth: int, *, image: bool = False) -> None:
        """`media`/`mediaInline`: file ids resolve through `attachment_url`; never dropped."""
        kind = str_attr(node, "type") or "file"
        alt = str_attr(node, "alt") or ""
        url: str | None = None
        if kind == "file":
            file_id = str_attr(node, "id")
            url = self.attachment_url(file_id) if file_id and self.attachment_url else None
        else:
            url = str_attr(node, "url")
        href = safe_url(url) if url else None
        opening, closing = mark_tags(node)
        self.out.append(opening)
        if href and (image or kind in {"external", "image"}):
            self.out.append(f'<img src="{esc(href)}" alt="{esc(alt)}">')
        elif href:
            self.link(href, alt or "attachment", css="jira-attachment")
        else:
            self.out.append('<span class="jira-attachment">')
            self.text(f"[attachment: {alt}]" if alt else "[attachment]")
            self.out.append("</span>")
        self.out.append(closing)

    def media_node(self, node: Node, depth: int) -> None:
        self.media(node, depth)

    _HANDLERS: ClassVar[dict[str, Callable[[_HtmlRenderer, Node, int], None]]] = {
        "doc": doc,
        "paragraph": paragraph,
        "heading": heading,
        "orderedList": ordered_list,
        "codeBlock": code_block,
        "panel": panel,
        "rule": rule,
        "table": table,
        "tableHeader": table_cell,
        "tableCell": table_cell,
        "expand": expand,
        "nestedExpand": expand,
        "taskItem": task_item,
        "blockTaskItem": task_item,
        "layoutColumn": layout_column,
        "mediaSingle": media_single,
        "media": media_node,
        "mediaInline": media_node,
        "extension": extension,
        "bodiedExtension": extension,
        "inlineExtension": extension,
        "text": text_node,
        "hardBreak": hard_break,
        "mention": mention,
        "emoji": inline_atom,
        "date": inline_atom,
        "status": inline_atom,
        "placeholder": inline_atom,
        "inlineCard": card,
        "blockCard": card,
        "embedCard": card,
    }


def adf_to_html(
    doc: Mapping[str, Any],
    *,
    attachment_url: Resolver | None = None,
    user_name: Resolver | None = None,
) -> str:
    """Sanitized HTML for an ADF document (or any single ADF node)."""
    if not isinstance(doc, Mapping):
        return ""
    return sanitize_html(_HtmlRenderer(attachment_url, user_name).render(doc))


def adf_to_text(doc: Mapping[str, Any]) -> str:
    """Plain text of an ADF document: what a reader sees, one block per line."""
    return html_to_text(adf_to_html(doc))


__all__ = ["adf_to_html", "adf_to_text"]
