"""ADF -> HTML/text against every real ADF document in the contract corpus and the schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gateway.markup.adf import adf_to_html, adf_to_text

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
ADF = CONTRACT / "adf"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":  # an image's alt text is what a reader gets for it
            self.parts.append(dict(attrs).get("alt") or "")


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def norm(text: str) -> str:
    return " ".join(text.split())


def text_nodes(doc: Any) -> list[str]:
    """Every ``{"type": "text", "text": ...}`` below `doc`, found without the renderer."""
    found: list[str] = []
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("type") == "text" and isinstance(value.get("text"), str):
                found.append(value["text"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def corpus() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(ADF.rglob("*.json")):
        if "schema" in path.parts:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, list):  # extracted-from-real-responses.json: {source, pointer, doc}
            for entry in data:
                yield f"{path.name}:{entry['source']}#{entry['pointer']}", entry["doc"]
        else:
            yield str(path.relative_to(ADF)), data


DOCS = list(corpus())


def test_corpus_is_present() -> None:
    assert len(DOCS) >= 50, DOCS


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[name for name, _ in DOCS])
def test_every_text_node_reaches_the_html(name: str, doc: dict[str, Any]) -> None:
    html = adf_to_html(doc, attachment_url=lambda file_id: f"https://jira.test/att/{file_id}")
    rendered = norm(html_text(html))
    missing = [text for text in text_nodes(doc) if norm(text) not in rendered]
    assert not missing, f"{name}: {missing[:5]}"
    plain = norm(adf_to_text(doc))
    assert [text for text in text_nodes(doc) if norm(text) not in plain] == []


def test_corpus_counts(capsys: pytest.CaptureFixture[str]) -> None:
    nodes = sum(len(text_nodes(doc)) for _, doc in DOCS)
    rendered = sum(1 for _, doc in DOCS if adf_to_html(doc))
    with capsys.disabled():
        print(
            f"\nADF corpus: {len(DOCS)} documents rendered ({rendered} non-empty), "
            f"{nodes} text nodes checked"
        )
    assert rendered == len(DOCS) - sum(
        1 for _, doc in DOCS if not text_nodes(doc) and not doc.get("content")
    )


def _schema_types(suffix: str) -> list[str]:
    schema = json.loads((ADF / "schema" / "adf-schema-v1-full.json").read_text(encoding="utf-8"))
    names: set[str] = set()
    for key, definition in schema["definitions"].items():
        if not key.endswith(suffix):
            continue
        stack = [definition]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                enum = item.get("properties", {}).get("type", {}).get("enum")
                if enum:
                    names.update(enum)
                stack.extend(item.get("allOf", []) + item.get("anyOf", []))
    return sorted(names)


NODE_TYPES = _schema_types("_node")
MARK_TYPES = _schema_types("_mark")


def test_schema_lists_what_the_brief_names() -> None:
    assert {"doc", "mediaInline", "placeholder", "layoutColumn", "nestedExpand"} <= set(NODE_TYPES)
    assert {"border", "dataConsumer", "fragment", "annotation"} <= set(MARK_TYPES)


@pytest.mark.parametrize("kind", NODE_TYPES)
def test_every_schema_node_type_is_known(kind: str) -> None:
    node = {
        "type": kind,
        "attrs": {"text": "probe-attr"},
        "text": "probe-text",
        "content": [{"type": "text", "text": "probe-child"}],
    }
    html = adf_to_html({"type": "doc", "version": 1, "content": [node]})
    assert "jira-unsupported" not in html
    assert html.strip()


@pytest.mark.parametrize("kind", MARK_TYPES)
def test_every_schema_mark_keeps_its_text(kind: str) -> None:
    mark = {"type": kind, "attrs": {"color": "#ff0000", "href": "https://a.test/", "type": "sub"}}
    doc = {
        "type": "doc",
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "marked", "marks": [mark]}]}
        ],
    }
    assert html_text(adf_to_html(doc)) == "marked"


def _para(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "content": [{"type": "paragraph", "content": list(inline)}]}


def _text(text: str, *marks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "text", "text": text, "marks": list(marks)}


@pytest.mark.parametrize(
    ("mark", "tag"),
    [
        ({"type": "strong"}, "<strong>"),
        ({"type": "em"}, "<em>"),
        ({"type": "underline"}, "<u>"),
        ({"type": "strike"}, "<s>"),
        ({"type": "code"}, "<code>"),
        ({"type": "subsup", "attrs": {"type": "sub"}}, "<sub>"),
        ({"type": "subsup", "attrs": {"type": "sup"}}, "<sup>"),
        ({"type": "textColor", "attrs": {"color": "#97a0af"}}, 'style="color:#97a0af"'),
        ({"type": "backgroundColor", "attrs": {"color": "#fedec8"}}, "background-color:#fedec8"),
        ({"type": "link", "attrs": {"href": "https://x.test/a"}}, 'href="https://x.test/a"'),
    ],
)
def test_marks_render_as_html(mark: dict[str, Any], tag: str) -> None:
    assert tag in adf_to_html(_para(_text("word", mark)))


def test_structure_nodes() -> None:
    doc = {
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [_text("Title")]},
            {
                "type": "orderedList",
                "attrs": {"order": 5},
                "content": [{"type": "listItem", "content": [_para(_text("five"))["content"][0]]}],
            },
            {"type": "codeBlock", "attrs": {"language": "python"}, "content": [_text("x = 1")]},
            {
                "type": "panel",
                "attrs": {"panelType": "warning"},
                "content": [{"type": "paragraph", "content": [_text("careful")]}],
            },
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {
                                "type": "tableHeader",
                                "attrs": {"colspan": 2, "rowspan": 3, "colwidth": [100, 50]},
                                "content": [{"type": "paragraph", "content": [_text("H")]}],
                            }
                        ],
                    }
                ],
            },
            {
                "type": "expand",
                "attrs": {"title": "More"},
                "content": [{"type": "paragraph", "content": [_text("hidden")]}],
            },
            {
                "type": "taskList",
                "content": [
                    {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [_text("done it")]}
                ],
            },
            {"type": "rule"},
        ],
    }
    html = adf_to_html(doc)
    assert "<h3>Title</h3>" in html
    assert '<ol start="5">' in html
    assert 'data-language="python"' in html
    assert "jira-panel-warning" in html
    assert 'colspan="2"' in html
    assert 'rowspan="3"' in html
    assert "width:150px" in html
    assert "<summary>More</summary>" in html
    assert "☑ done it" in html_text(html)
    assert "<hr>" in html
    text = adf_to_text(doc)
    assert "5. five" in text
    assert "x = 1" in text


def test_media_mention_and_atoms_use_the_callbacks() -> None:
    names = {"acc-1": "Ada Lovelace"}
    doc = {
        "type": "doc",
        "content": [
            {
                "type": "mediaSingle",
                "content": [
                    {"type": "media", "attrs": {"type": "file", "id": "f-1", "alt": "shot.png"}}
                ],
            },
            {
                "type": "mediaGroup",
                "content": [
                    {"type": "media", "attrs": {"type": "file", "id": "f-2", "alt": "spec.pdf"}}
                ],
            },
            _para(
                {"type": "mention", "attrs": {"id": "acc-1", "text": "@old name"}},
                {"type": "date", "attrs": {"timestamp": "1767225600000"}},
                {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
                {"type": "emoji", "attrs": {"shortName": ":gear:", "text": "⚙️"}},
                {"type": "inlineCard", "attrs": {"url": "https://x.test/card"}},
            )["content"][0],
        ],
    }
    html = adf_to_html(
        doc,
        attachment_url=lambda file_id: (
            f"https://jira.test/att/{file_id}" if file_id == "f-1" else None
        ),
        user_name=names.get,
    )
    assert '<img src="https://jira.test/att/f-1" alt="shot.png">' in html
    text = html_text(html)
    assert "[attachment: spec.pdf]" in text  # unresolved: shown, not dropped
    assert "@Ada Lovelace" in text
    assert "@old name" not in text
    assert "2026-01-01" in text  # 1767225600 s after the epoch, UTC
    assert "IN PROGRESS" in text
    assert "⚙️" in text
    assert 'href="https://x.test/card"' in html


def test_unknown_and_malformed_nodes_degrade_to_text() -> None:
    doc = {
        "type": "doc",
        "content": [
            {
                "type": "fancyBlock",
                "content": [{"type": "paragraph", "content": [_text("inside")]}],
            },
            {"type": "team-mention", "attrs": {"text": "@all"}},
            {"type": "mystery"},
            {"type": "heading", "attrs": {"level": "nine"}, "content": "not a list"},
            {"type": "paragraph", "content": [None, 3, _text("kept"), {"type": "text", "text": 5}]},
            {"type": "extension", "attrs": {"extensionKey": "jira-chart"}},
        ],
    }
    text = html_text(adf_to_html(doc))
    for expected in ("inside", "@all", "[mystery]", "kept", "[extension: jira-chart]"):
        assert expected in text
