"""Read request bodies (ADF from REST v3, wiki markup from REST v2) back into `rich.Doc`.

Lenient by design: unknown ADF nodes keep their text, unknown wiki constructs stay literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gateway.sandbox.rich import (
    Block,
    CodeBlock,
    Doc,
    Emoji,
    Heading,
    Inline,
    ListBlock,
    Mention,
    Panel,
    Paragraph,
    Quote,
    Table,
    Text,
)


class RichTextError(ValueError):
    """The body is not a valid document (e.g. ADF without `type: doc`)."""


def _adf_inlines(nodes: list[Any]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            marks: list[str] = []
            href = None
            for mark in node.get("marks") or []:
                mtype = mark.get("type") if isinstance(mark, dict) else None
                if mtype == "link":
                    href = str((mark.get("attrs") or {}).get("href", ""))
                elif isinstance(mtype, str):
                    marks.append(mtype)
            out.append(Text(str(node.get("text", "")), tuple(marks), href))
        elif kind == "mention":
            out.append(Mention(str(attrs.get("id", ""))))
        elif kind == "emoji":
            out.append(Emoji(str(attrs.get("shortName", "")), str(attrs.get("text", ""))))
        elif kind == "hardBreak":
            out.append(Text("\n"))
        elif isinstance(node.get("content"), list):
            out.extend(_adf_inlines(node["content"]))
        elif "text" in attrs:
            out.append(Text(str(attrs["text"])))
    return tuple(out)


def _flatten(nodes: list[Any]) -> tuple[Inline, ...]:
    """Inline content of a container (list item, table cell): its paragraphs joined."""
    out: list[Inline] = []
    for node in nodes:
        if isinstance(node, dict) and node.get("type") in {"paragraph", "heading"}:
            out.extend(_adf_inlines(node.get("content") or []))
        elif isinstance(node, dict):
            out.extend(_flatten(node.get("content") or []))
    return tuple(out)


def _adf_blocks(nodes: list[Any]) -> tuple[Block, ...]:
    out: list[Block] = []
    for node in nodes:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        content = node.get("content") or []
        attrs = node.get("attrs") or {}
        if kind == "heading":
            out.append(Heading(int(attrs.get("level", 1)), _adf_inlines(content)))
        elif kind in {"bulletList", "orderedList"}:
            items = tuple(_flatten(item.get("content") or []) for item in content)
            out.append(ListBlock(kind == "orderedList", items))
        elif kind == "codeBlock":
            text = "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
            out.append(CodeBlock(attrs.get("language"), text))
        elif kind == "table":
            rows = tuple(
                tuple(_flatten(cell.get("content") or []) for cell in row.get("content") or [])
                for row in content
            )
            out.append(Table(rows))
        elif kind == "panel":
            out.append(Panel(str(attrs.get("panelType", "info")), _adf_blocks(content)))
        elif kind == "blockquote":
            out.append(Quote(_adf_blocks(content)))
        elif kind == "paragraph":
            out.append(Paragraph(_adf_inlines(content)))
        else:
            inl = _flatten(content) or _adf_inlines([node])
            if inl:
                out.append(Paragraph(inl))
    return tuple(out)


def from_adf(value: Any) -> Doc:
    """An ADF document -> Doc. Raises RichTextError if it is not `{"type": "doc", ...}`."""
    if not isinstance(value, dict) or value.get("type") != "doc":
        raise RichTextError("Operation value must be an Atlassian Document (see the ADF format)")
    content = value.get("content")
    return _adf_blocks(content if isinstance(content, list) else [])


_MENTION = re.compile(r"\[~(?:accountid:)?([^\]]+)\]")
_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")


def _wiki_inlines(text: str, resolve: Callable[[str], str | None]) -> tuple[Inline, ...]:
    out: list[Inline] = []
    pos = 0
    for match in _MENTION.finditer(text):
        if match.start() > pos:
            out.append(Text(text[pos : match.start()]))
        user_id = resolve(match.group(1))
        out.append(Mention(user_id) if user_id else Text(match.group(0)))
        pos = match.end()
    if pos < len(text):
        out.append(Text(text[pos:]))
    return tuple(out)


def from_wiki(text: str, resolve: Callable[[str], str | None]) -> Doc:
    """Wiki markup -> Doc: headings, `*`/`#` lists, `{code}` blocks, mentions; rest as text.

    `resolve` maps a mention target (account id or user name) to a user id.
    """
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Paragraph(_wiki_inlines("\n".join(para), resolve)))
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("{code"):
            flush()
            lang = stripped[6:-1] if stripped.startswith("{code:") else None
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != "{code}":
                body.append(lines[i])
                i += 1
            blocks.append(CodeBlock(lang or None, "\n".join(body)))
        elif heading := _HEADING.match(stripped):
            flush()
            blocks.append(Heading(int(heading.group(1)), _wiki_inlines(heading.group(2), resolve)))
        elif stripped[:2] in {"* ", "# "}:
            flush()
            ordered = stripped[0] == "#"
            items: list[tuple[Inline, ...]] = []
            while i < len(lines) and lines[i].strip()[:2] == stripped[:2]:
                items.append(_wiki_inlines(lines[i].strip()[2:], resolve))
                i += 1
            blocks.append(ListBlock(ordered, tuple(items)))
            continue
        elif not stripped:
            flush()
        else:
            para.append(line)
        i += 1
    flush()
    return tuple(blocks)
