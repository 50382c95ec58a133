"""A small rich-text document model, generated once per issue and emitted in JIRA's wire forms.

A `Doc` is a tuple of blocks; inlines are `Text` (with marks and an optional link), `Mention`
and `Emoji`. Emitters: ADF (REST v3), wiki markup (REST v2 and Server; mentions as
`[~accountid:…]` on Cloud and `[~name]` on Server), HTML (`expand=renderedFields`) and plain text
(for `text ~` search). `from_adf` and `from_wiki` read request bodies back into the model.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    marks: tuple[str, ...] = ()  # strong, em, code, strike
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    user_id: str


@dataclass(frozen=True, slots=True)
class Emoji:
    short_name: str  # ":smile:"
    text: str  # "😄"


Inline = Text | Mention | Emoji


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    inlines: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    inlines: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class ListBlock:
    ordered: bool
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Table:
    rows: tuple[tuple[tuple[Inline, ...], ...], ...]  # first row is the header


@dataclass(frozen=True, slots=True)
class Panel:
    kind: str  # info, note, warning
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Quote:
    blocks: tuple[Block, ...]


Block = Heading | Paragraph | ListBlock | CodeBlock | Table | Panel | Quote
Doc = tuple[Block, ...]
NameOf = Callable[[str], str]  # user id -> display name
MentionWiki = Callable[[str], str]  # user id -> "[~accountid:…]" or "[~name]"


# --- ADF -----------------------------------------------------------------------------------


def _adf_inline(node: Inline, name_of: NameOf) -> dict[str, Any]:
    if isinstance(node, Mention):
        return {
            "type": "mention",
            "attrs": {"id": node.user_id, "text": "@" + name_of(node.user_id), "accessLevel": ""},
        }
    if isinstance(node, Emoji):
        return {"type": "emoji", "attrs": {"shortName": node.short_name, "text": node.text}}
    out: dict[str, Any] = {"type": "text", "text": node.text}
    marks: list[dict[str, Any]] = [{"type": m} for m in node.marks]
    if node.href:
        marks.append({"type": "link", "attrs": {"href": node.href}})
    if marks:
        out["marks"] = marks
    return out


def _adf_para(inlines: tuple[Inline, ...], name_of: NameOf) -> dict[str, Any]:
    return {"type": "paragraph", "content": [_adf_inline(i, name_of) for i in inlines]}


def _adf_block(block: Block, name_of: NameOf) -> dict[str, Any]:
    if isinstance(block, Heading):
        return {
            "type": "heading",
            "attrs": {"level": block.level},
            "content": [_adf_inline(i, name_of) for i in block.inlines],
        }
    if isinstance(block, Paragraph):
        return _adf_para(block.inlines, name_of)
    if isinstance(block, ListBlock):
        items = [{"type": "listItem", "content": [_adf_para(it, name_of)]} for it in block.items]
        if block.ordered:
            return {"type": "orderedList", "attrs": {"order": 1}, "content": items}
        return {"type": "bulletList", "content": items}
    if isinstance(block, CodeBlock):
        node: dict[str, Any] = {
            "type": "codeBlock",
            "content": [{"type": "text", "text": block.text}],
        }
        if block.language:
            node["attrs"] = {"language": block.language}
        return node
    if isinstance(block, Table):
        rows = []
        for n, row in enumerate(block.rows):
            cell_type = "tableHeader" if n == 0 else "tableCell"
            cells = [
                {"type": cell_type, "attrs": {}, "content": [_adf_para(c, name_of)]} for c in row
            ]
            rows.append({"type": "tableRow", "content": cells})
        return {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": rows,
        }
    if isinstance(block, Panel):
        return {
            "type": "panel",
            "attrs": {"panelType": block.kind},
            "content": [_adf_block(b, name_of) for b in block.blocks],
        }
    return {"type": "blockquote", "content": [_adf_block(b, name_of) for b in block.blocks]}


def to_adf(doc: Doc, name_of: NameOf) -> dict[str, Any]:
    """The ADF document (`{"type": "doc", "version": 1, "content": [...]}`)."""
    return {"type": "doc", "version": 1, "content": [_adf_block(b, name_of) for b in doc]}


# --- wiki markup ---------------------------------------------------------------------------

_WIKI_MARKS = {"strong": ("*", "*"), "em": ("_", "_"), "code": ("{{", "}}"), "strike": ("-", "-")}


def _wiki_inlines(inlines: tuple[Inline, ...], mention: MentionWiki) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Mention):
            parts.append(mention(node.user_id))
        elif isinstance(node, Emoji):
            parts.append(node.text)
        else:
            text = node.text
            for mark in node.marks:
                left, right = _WIKI_MARKS.get(mark, ("", ""))
                text = f"{left}{text}{right}"
            if node.href:
                text = f"[{text}|{node.href}]"
            parts.append(text)
    return "".join(parts)


def _wiki_block(block: Block, mention: MentionWiki) -> str:
    if isinstance(block, Heading):
        return f"h{block.level}. {_wiki_inlines(block.inlines, mention)}"
    if isinstance(block, Paragraph):
        return _wiki_inlines(block.inlines, mention)
    if isinstance(block, ListBlock):
        bullet = "#" if block.ordered else "*"
        return "\n".join(f"{bullet} {_wiki_inlines(i, mention)}" for i in block.items)
    if isinstance(block, CodeBlock):
        head = f"{{code:{block.language}}}" if block.language else "{code}"
        return f"{head}\n{block.text}\n{{code}}"
    if isinstance(block, Table):
        lines = []
        for n, row in enumerate(block.rows):
            sep = "||" if n == 0 else "|"
            lines.append(sep + sep.join(_wiki_inlines(c, mention) for c in row) + sep)
        return "\n".join(lines)
    if isinstance(block, Panel):
        inner = "\n\n".join(_wiki_block(b, mention) for b in block.blocks)
        return f"{{panel:title={block.kind.title()}}}\n{inner}\n{{panel}}"
    inner = "\n\n".join(_wiki_block(b, mention) for b in block.blocks)
    return f"{{quote}}\n{inner}\n{{quote}}"


def to_wiki(doc: Doc, mention: MentionWiki) -> str:
    """JIRA wiki markup (what REST v2 returns for rich-text fields)."""
    return "\n\n".join(_wiki_block(b, mention) for b in doc)


# --- HTML and plain text -------------------------------------------------------------------

_HTML_MARKS = {"strong": "b", "em": "em", "code": "tt", "strike": "del"}


def _html_inlines(inlines: tuple[Inline, ...], name_of: NameOf) -> str:
    parts: list[str] = []
    for node in inlines:
        if isinstance(node, Mention):
            name = html.escape(name_of(node.user_id))
            parts.append(f'<a href="#" class="user-hover" rel="{node.user_id}">{name}</a>')
        elif isinstance(node, Emoji):
            parts.append(node.text)
        else:
            text = html.escape(node.text)
            for mark in node.marks:
                tag = _HTML_MARKS.get(mark, "span")
                text = f"<{tag}>{text}</{tag}>"
            if node.href:
                text = f'<a href="{html.escape(node.href)}" class="external-link">{text}</a>'
            parts.append(text)
    return "".join(parts)


def _html_block(block: Block, name_of: NameOf) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_html_inlines(block.inlines, name_of)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_html_inlines(block.inlines, name_of)}</p>"
    if isinstance(block, ListBlock):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li>{_html_inlines(i, name_of)}</li>" for i in block.items)
        return f"<{tag}>{items}</{tag}>"
    if isinstance(block, CodeBlock):
        return f'<div class="code panel"><pre>{html.escape(block.text)}</pre></div>'
    if isinstance(block, Table):
        rows = []
        for n, row in enumerate(block.rows):
            tag = "th" if n == 0 else "td"
            rows.append(
                "<tr>"
                + "".join(f"<{tag}>{_html_inlines(c, name_of)}</{tag}>" for c in row)
                + "</tr>"
            )
        return f'<table class="confluenceTable"><tbody>{"".join(rows)}</tbody></table>'
    inner = "".join(_html_block(b, name_of) for b in block.blocks)
    if isinstance(block, Panel):
        return f'<div class="panel"><div class="panelContent">{inner}</div></div>'
    return f"<blockquote>{inner}</blockquote>"


def to_html(doc: Doc, name_of: NameOf) -> str:
    """The HTML JIRA's renderer would produce (`renderedFields`)."""
    return "".join(_html_block(b, name_of) for b in doc)


def _plain_inlines(inlines: tuple[Inline, ...], name_of: NameOf) -> str:
    out = []
    for node in inlines:
        if isinstance(node, Mention):
            out.append("@" + name_of(node.user_id))
        elif isinstance(node, Emoji):
            out.append(node.short_name)
        else:
            out.append(node.text)
    return "".join(out)


def _plain_block(block: Block, name_of: NameOf) -> str:
    if isinstance(block, Heading | Paragraph):
        return _plain_inlines(block.inlines, name_of)
    if isinstance(block, ListBlock):
        return "\n".join(_plain_inlines(i, name_of) for i in block.items)
    if isinstance(block, CodeBlock):
        return block.text
    if isinstance(block, Table):
        return "\n".join(" ".join(_plain_inlines(c, name_of) for c in row) for row in block.rows)
    return "\n".join(_plain_block(b, name_of) for b in block.blocks)


def to_plain(doc: Doc, name_of: NameOf) -> str:
    """Plain text (for `text ~` / `description ~` search)."""
    return "\n".join(_plain_block(b, name_of) for b in doc)
