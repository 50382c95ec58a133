"""Hostile rich text: scripts, javascript: URLs, event handlers, huge and deeply nested input."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from typing import Any

import pytest

from gateway.markup.adf import adf_to_html, adf_to_text
from gateway.markup.sanitize import safe_url, sanitize_html
from gateway.markup.wiki import wiki_to_html, wiki_to_text

SCRIPT = '<script>alert("x")</script>'
ONERROR = "<img src=x onerror=alert(1)>"


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """No active element, no event handler, no URL outside http/https/mailto/relative."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag not in {"script", "style", "iframe", "object", "embed", "svg", "form"}, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            if name in {"href", "src"}:
                scheme = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.-]*):", value or "")
                assert scheme is None or scheme.group(1).lower() in {"http", "https", "mailto"}
                assert not (value or "").startswith(("//", "/\\")), html
            if name == "style":
                assert value, html
                assert "(" not in value, html
        if tag == "a":
            assert attrs.get("rel") == "noopener noreferrer nofollow", html


def _doc(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "content": [{"type": "paragraph", "content": list(inline)}]}


HOSTILE_ADF = [
    _doc({"type": "text", "text": SCRIPT + ONERROR}),
    _doc(
        {
            "type": "text",
            "text": "x",
            "marks": [{"type": "link", "attrs": {"href": "javascript:alert(1)"}}],
        }
    ),
    _doc(
        {
            "type": "text",
            "text": "x",
            "marks": [
                {"type": "link", "attrs": {"href": " JaVaScRiPt:alert(1)", "title": '"><script>'}}
            ],
        }
    ),
    _doc(
        {
            "type": "text",
            "text": "x",
            "marks": [
                {"type": "textColor", "attrs": {"color": "red;background:url(javascript:alert(1))"}}
            ],
        }
    ),
    _doc({"type": "inlineCard", "attrs": {"url": "javascript:alert(1)"}}),
    _doc({"type": "mention", "attrs": {"id": '"><img src=x onerror=alert(1)>', "text": SCRIPT}}),
    _doc({"type": "status", "attrs": {"text": "ok", "color": '" onclick="alert(1)'}}),
    {
        "type": "doc",
        "content": [
            {
                "type": "mediaSingle",
                "content": [
                    {"type": "media", "attrs": {"type": "external", "url": "javascript:alert(1)"}}
                ],
            }
        ],
    },
    {
        "type": "doc",
        "content": [
            {
                "type": "mediaSingle",
                "content": [
                    {
                        "type": "media",
                        "attrs": {"type": "external", "url": "data:text/html,<script>"},
                    }
                ],
            }
        ],
    },
    {
        "type": "doc",
        "content": [
            {
                "type": "codeBlock",
                "attrs": {"language": '"><script>'},
                "content": [{"type": "text", "text": SCRIPT}],
            }
        ],
    },
    {
        "type": "doc",
        "content": [
            {
                "type": "panel",
                "attrs": {"panelType": "x onclick=alert(1)", "panelColor": "expression(alert(1))"},
            }
        ],
    },
]

HOSTILE_WIKI = [
    SCRIPT,
    ONERROR,
    "[click|javascript:alert(1)]",
    "[javascript:alert(1)]",
    "[x|JAVASCRIPT:alert(1)]",
    "[x|java\tscript:alert(1)]",
    "javascript:alert(1)",
    "!javascript:alert(1).png!",
    '!https://x.test/a.png" onerror="alert(1)!',
    "{color:red;background:url(javascript:alert(1))}x{color}",
    '{code:"><script>}x{code}',
    "{panel:title=<script>alert(1)</script>|bgColor=javascript:alert(1)}x{panel}",
    '[~"><script>alert(1)</script>]',
    "||<iframe src=javascript:alert(1)>||",
]


@pytest.mark.parametrize("doc", HOSTILE_ADF)
def test_hostile_adf_is_inert(doc: dict[str, Any]) -> None:
    html = adf_to_html(
        doc, attachment_url=lambda _: "javascript:alert(1)", user_name=lambda _: SCRIPT
    )
    assert_inert(html)


@pytest.mark.parametrize("wiki", HOSTILE_WIKI)
def test_hostile_wiki_is_inert(wiki: str) -> None:
    html = wiki_to_html(
        wiki, attachment_url=lambda _: "javascript:alert(1)", user_name=lambda _: SCRIPT
    )
    assert_inert(html)


def test_script_text_is_shown_not_run() -> None:
    assert SCRIPT in wiki_to_text(SCRIPT)
    assert SCRIPT in adf_to_text(_doc({"type": "text", "text": SCRIPT}))


def test_sanitizer_alone() -> None:
    dirty = (
        f'{SCRIPT}<style>p{{}}</style><iframe src="https://x.test"></iframe>{ONERROR}'
        '<a href="javascript:alert(1)" onclick="alert(1)">a</a><a href="https://ok.test">b</a>'
        '<span style="color:red;position:fixed">c</span>'
    )
    clean = sanitize_html(dirty)
    assert_inert(clean)
    assert 'rel="noopener noreferrer nofollow"' in clean
    assert 'style="color:red"' in clean
    assert "alert" not in clean


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://x.test/a", True),
        ("mailto:a@b.test", True),
        ("/secure/page", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("data:text/html,x", False),
        ("//evil.test", False),
        ("/\\evil.test", False),
        ("file:///etc/passwd", False),
        ("not a url", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_five_megabyte_documents_are_truncated(capsys: pytest.CaptureFixture[str]) -> None:
    line = "word *bold* _em_ [link|https://x.test] {{code}} (y) *a *a [[[ \n"
    wiki = line * (5_000_000 // len(line) + 1)
    started = time.perf_counter()
    html = wiki_to_html(wiki)
    wiki_seconds = time.perf_counter() - started
    assert "content truncated" in html
    assert len(html) < 20_000_000
    adf = {
        "type": "doc",
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "x" * 1000}]}
            for _ in range(5000)
        ],
    }
    started = time.perf_counter()
    adf_html = adf_to_html(adf)
    adf_seconds = time.perf_counter() - started
    assert "content truncated" in adf_html
    assert 1_900_000 < adf_html.count("x") <= 2_000_000
    with capsys.disabled():
        print(
            f"\n5 MB: wiki {len(wiki):,} chars in {wiki_seconds:.2f}s, "
            f"ADF {5_000_000:,} chars in {adf_seconds:.2f}s"
        )
    assert wiki_seconds < 60
    assert adf_seconds < 30


def _nested_adf(kind: str, depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "paragraph", "content": [{"type": "text", "text": "bottom"}]}
    for level in range(depth):
        wrapper = {"type": kind, "content": [node]}
        if kind == "bulletList":
            wrapper = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
        node = wrapper
        if level % 1000 == 0:
            node["content"].append(
                {"type": "paragraph", "content": [{"type": "text", "text": f"level{level}"}]}
            )
    return {"type": "doc", "content": [node]}


@pytest.mark.parametrize("kind", ["blockquote", "bulletList", "unknownWrapper", "expand"])
def test_ten_thousand_deep_adf(kind: str) -> None:
    html = adf_to_html(_nested_adf(kind, 10_000))
    assert "bottom" in html
    assert "level0" in html
    assert "level9000" in html
    assert html.count("<blockquote>") <= 101


@pytest.mark.parametrize(
    "wiki",
    [
        "{panel:title=x}" * 10_000 + "bottom",
        "{quote}" * 10_000 + "bottom",
        "*" * 10_000 + " bottom",
        "*_" * 10_000 + "bottom" + "_*" * 10_000,
        "{color:red}" * 10_000 + "bottom",
        "[" * 10_000 + "bottom" + "|https://x.test]" * 10_000,
        "{*}" * 10_000 + "bottom",
    ],
    ids=["panels", "quotes", "list", "phrases", "colors", "links", "braced"],
)
def test_ten_thousand_deep_wiki(wiki: str) -> None:
    html = wiki_to_html(wiki)
    assert "bottom" in html
    assert "bottom" in wiki_to_text(wiki)


def test_counts(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(f"\nhostile inputs: {len(HOSTILE_ADF)} ADF, {len(HOSTILE_WIKI)} wiki, all inert")
