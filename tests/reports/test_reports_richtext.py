"""Rich text -> flowables: structure, escaping, and hostile or odd HTML that must not crash."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from pypdf import PdfReader
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Table, XPreformatted

from gateway.markup.sanitize import sanitize_html
from gateway.reports.htmltree import MAX_DEPTH, parse_html
from gateway.reports.model import ReportIssue, ReportOptions
from gateway.reports.render import render_issue_pdf
from gateway.reports.richtext import RichTextContext, html_to_flowables


def context(**images: bytes) -> RichTextContext:
    return RichTextContext(width=480, max_image_height=300, images=images)


def render_text(html: str) -> str:
    """Lay the flowables out in a real document and return the extracted text."""
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer).build(html_to_flowables(html, context()) or [Paragraph("-")])
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(buffer).pages)


def test_text_is_escaped_for_reportlab_markup() -> None:
    text = render_text("<p>a &lt; b &amp;&amp; c &gt; d &lt;b&gt;not bold&lt;/b&gt; &amp;nbsp;</p>")
    assert "a < b && c > d <b>not bold</b> &nbsp;" in text


def test_structure_maps_to_flowables() -> None:
    html = (
        "<h2>Title</h2><p>para</p><ul><li>one<ul><li>nested</li></ul></li></ul>"
        '<ol start="3"><li>three</li></ol><pre class="jira-code"><code>x = 1\n  y</code></pre>'
        "<table><tr><th>h</th></tr><tr><td>c</td></tr></table><hr>"
    )
    flowables = html_to_flowables(html, context())
    paragraphs = [f for f in flowables if isinstance(f, Paragraph)]
    bullets = [p.bulletText for p in paragraphs if p.bulletText]
    assert bullets == ["•", "•", "3."]
    nested = next(p for p in paragraphs if "nested" in p.text)
    one = next(p for p in paragraphs if p.text == "one")
    assert nested.style.leftIndent > one.style.leftIndent
    assert any(isinstance(f, XPreformatted) for f in flowables)
    assert any(isinstance(f, Table) for f in flowables)


def test_inline_formatting_survives() -> None:
    flowables = html_to_flowables(
        '<p><strong>b</strong> <em>i</em> <code>c</code> <a href="https://x.test/">l</a> '
        '<span style="color: #ff0000">red</span> <s>gone</s></p>',
        context(),
    )
    markup = flowables[0].text
    assert "<b>b</b>" in markup
    assert "<i>i</i>" in markup
    assert 'href="https://x.test/"' in markup
    assert 'color="#ff0000"' in markup
    assert "<strike>gone</strike>" in markup


def test_images_resolve_by_name_and_unknown_ones_show_alt_text() -> None:
    buffer = io.BytesIO()
    PILImage.new("RGB", (2000, 100)).save(buffer, format="PNG")
    ctx = context(**{"shot.png": buffer.getvalue(), "broken.png": b"not an image"})
    flowables = html_to_flowables(
        '<p><img src="https://j.test/secure/attachment/1/shot.png" alt="shot">'
        '<img src="other.png" alt="missing"><img src="broken.png" alt="bad"></p>',
        ctx,
    )
    images = [f for f in flowables if isinstance(f, Image)]
    assert len(images) == 1
    assert images[0].drawWidth <= 480  # scaled down to the column
    text = " ".join(f.text for f in flowables if isinstance(f, Paragraph))
    assert "[image: missing]" in text
    assert "[image: bad]" in text


def test_deep_nesting_degrades_to_text() -> None:
    html = "<div>" * 500 + "deep text" + "</div>" * 500
    root = parse_html(html)
    depth, node = 0, root
    while node.children and not isinstance(node.children[0], str):
        node = node.children[0]  # type: ignore[assignment]
        depth += 1
    assert depth <= MAX_DEPTH
    assert "deep text" in render_text(html)


HOSTILE = [
    "<p><b><i>unclosed",
    "</p></div></li>stray end tags",
    "<li>orphan item</li><td>orphan cell</td><tr><td>orphan row</td></tr>",
    "<table><p>text in table</p><tr></tr>"
    "<tr><td><table><tr><td>nested</td></tr></table></td></tr></table>",
    "<ul>text in list<li><pre>pre in li</pre><table><tr><td>t</td></tr></table></li></ul>",
    "<strong><p>block in inline</p><h1>heading</h1></strong>",
    '<a href="javascript:alert(1)">js</a><a href="/rel">rel</a><a href="x&quot;onclick">q</a>',
    '<span style="color: notacolour">c</span><span style="color: rgb(1,2,3)">r</span>',
    "<p>\x00\x01\x1b control \ufffe chars</p>",
    "<pre>" + "x" * 5000 + "</pre>",
    "<p>" + "word" * 3000 + "</p>",
    "<table>" + "<tr>" + "<td>c</td>" * 40 + "</tr>" + "</table>",
    "<table><tr><td>" + "<p>tall cell line</p>" * 400 + "</td></tr></table>",
    '<div class="jira-panel">' + "<p>tall panel</p>" * 300 + "</div>",
    "<blockquote>" * 30 + "quoted" + "</blockquote>" * 30,
    "<ol start='x'><li>bad start</li></ol>",
    '<img src="" alt=""><img>',
    "<p>mixed Кириллица 中文 and <code>日本語 code</code></p>",
]


@pytest.mark.parametrize("html", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_html_renders_a_pdf(html: str) -> None:
    for source in (html, sanitize_html(html)):
        issue = ReportIssue(key="H-1", url="javascript:x", summary="<b>&", description_html=source)
        result = render_issue_pdf(issue, ReportOptions())
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(result.pdf)).pages)
        assert "H-1" in text
        assert "<b>&" in text


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<b>",
                "</b>",
                "<ul>",
                "<li>",
                "</li>",
                "</ul>",
                "<table>",
                "<tr>",
                "<td>",
                "</td>",
                "</table>",
                "<pre>",
                "</pre>",
                "<br>",
                "<h3>",
                "</h3>",
                "&amp;",
                "<a href='https://x.test'>",
                "</a>",
                "<blockquote>",
                "<img src='a.png'>",
                "<",
            ]
        )
        | st.text(max_size=12),
        max_size=40,
    )
)
def test_random_tag_soup_never_crashes(parts: list[str]) -> None:
    issue = ReportIssue(key="R-1", url="", summary="soup", description_html="".join(parts))
    assert render_issue_pdf(issue, ReportOptions()).page_count >= 1
