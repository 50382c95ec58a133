"""Wiki markup -> HTML/text against real JIRA values, JIRA's own HTML and pandoc's parse."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gateway.markup.wiki import wiki_to_html, wiki_to_text

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
WIKI = CONTRACT / "wiki"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def norm(text: str) -> str:
    return " ".join(text.split())


SAMPLES = json.loads((WIKI / "samples-from-real-responses.json").read_text(encoding="utf-8"))
PAIRS = json.loads((WIKI / "rendered-pairs-from-real-responses.json").read_text(encoding="utf-8"))
PANDOC = sorted((WIKI / "pandoc").glob("*.jira"))
# The pairs file also holds date fields JIRA renders as localized text ("Today 2:52 PM"): they
# are not wiki markup and a gateway must not treat them as such (see SOURCES.md).
WIKI_FIELDS = {"description", "environment", "comment.body"}


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["pointer"] for s in SAMPLES])
def test_real_samples_render_without_leftover_markup(sample: dict[str, str]) -> None:
    html = wiki_to_html(sample["text"])
    text = html_text(html)
    assert text.strip() or not re.sub(r"[{}|#\s]|panel[^}]*", "", sample["text"])
    for leftover in ("h1.", "||", "{panel", "{color", "[~", "{{"):
        assert leftover not in text
    assert wiki_to_text(sample["text"]) == wiki_to_text(sample["text"])


def test_rendered_pairs_match_jira_text(capsys: pytest.CaptureFixture[str]) -> None:
    wiki_pairs = [pair for pair in PAIRS if pair["field"] in WIKI_FIELDS]
    skipped = len(PAIRS) - len(wiki_pairs)
    matched = [
        p
        for p in wiki_pairs
        if norm(html_text(wiki_to_html(p["wiki"]))) == norm(html_text(p["html"]))
    ]
    with capsys.disabled():
        print(
            f"\nwiki pairs: {len(matched)}/{len(wiki_pairs)} match JIRA's text "
            f"({skipped} date fields skipped)"
        )
    assert len(wiki_pairs) >= 9
    assert len(matched) == len(wiki_pairs)


@pytest.mark.parametrize("path", PANDOC, ids=[p.name for p in PANDOC])
def test_pandoc_samples_render(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    html = wiki_to_html(source)
    text = html_text(html)
    assert "<table>" in html or "h1." in source
    assert "||" not in text
    assert "{code" not in text
    assert "{noformat" not in text
    headings = len(re.findall(r"^h[1-6]\. ", source, flags=re.MULTILINE))
    assert len(re.findall(r"<h[1-6]>", html)) == headings


def _native_strings(native: str) -> list[str]:
    raw = re.findall(r'Str "((?:[^"\\]|\\.)*)"', native)
    decoded = [re.sub(r"\\(\d+)", lambda m: chr(int(m.group(1))), s) for s in raw]
    return [s.replace("\\\\", "\\").replace('\\"', '"') for s in decoded]


def test_pandoc_reader_words_all_appear(capsys: pytest.CaptureFixture[str]) -> None:
    """Pandoc's expected parse of jira-reader.jira is an independent oracle for the text."""
    words = _native_strings((WIKI / "pandoc" / "jira-reader.native").read_text(encoding="utf-8"))
    text = wiki_to_text((WIKI / "pandoc" / "jira-reader.jira").read_text(encoding="utf-8"))
    missing = [word for word in words if word not in text]
    with capsys.disabled():
        print(f"\npandoc oracle: {len(words) - len(missing)}/{len(words)} words found")
    # Known disagreements: pandoc reads "2 + 2 = 4" as TeX-ish spaced math, and keeps
    # "[Not a link|not a URL]" literally where we (like JIRA) show the link text only.
    assert set(missing) <= {"2\u2005+\u2005\\&2\u2004=\u2004\\&4", "[Not", "link|not", "URL]."}


@pytest.mark.parametrize(
    ("wiki", "fragment"),
    [
        ("h3. Title", "<h3>Title</h3>"),
        ("*strong*", "<strong>strong</strong>"),
        ("_em_", "<em>em</em>"),
        ("-gone-", "<del>gone</del>"),
        ("+added+", "<ins>added</ins>"),
        ("x^2^", "x^2^"),  # markers inside a word are literal
        ("a {^}2{^}", "a <sup>2</sup>"),
        ("H{~}2{~}O", "H<sub>2</sub>O"),
        ("??cite??", "<cite>cite</cite>"),
        ("{{a*b*c}}", "<code>a*b*c</code>"),
        ("bq. quoted", "<blockquote><p>quoted</p></blockquote>"),
        ("{quote}q{quote}", "<blockquote><p>q</p></blockquote>"),
        ("{color:red}r{color}", '<span style="color:red">r</span>'),
        ("{code:python}\nx = '<b>'\n{code}", "data-language=\"python\">x = '&lt;b&gt;'"),
        ("{noformat}*raw*{noformat}", '<pre class="jira-noformat">*raw*</pre>'),
        ("{panel:title=T|bgColor=#eae6ff}body{panel}", "background-color:#eae6ff"),
        ("* a\n** b\n# c", "<ul><li>a<ul><li>b</li></ul></li></ul><ol><li>c</li></ol>"),
        ("# a\n#* b", "<ol><li>a<ul><li>b</li></ul></li></ol>"),
        ("- dash item", "<ul><li>dash item</li></ul>"),
        ("||h1||h2||\n|c1|[l|https://x.test]|", "<th>h1</th><th>h2</th>"),
        (
            "[text|https://x.test/p]",
            '<a href="https://x.test/p" rel="noopener noreferrer nofollow">',
        ),
        ("[https://x.test]", '<a href="https://x.test" rel='),
        ("see https://x.test/a.", '<a href="https://x.test/a" rel='),
        ("[mailto:a@b.test]", 'href="mailto:a@b.test"'),
        ("one\\\\two", "one<br>two"),
        ("line1\r\nline2", "line1<br>\nline2"),
        ("----", "<hr>"),
        ("\\*not bold\\*", "*not bold*"),
        ("a -- b --- c", "a – b — c"),
        ("ok (y) no (n) info (i) warn (!) :) (x) (/)", "👍"),
    ],
)
def test_constructs(wiki: str, fragment: str) -> None:
    assert fragment in wiki_to_html(wiki)


def test_table_cells_keep_links_whole() -> None:
    html = wiki_to_html("||h1||h2||\n|c1|[l|https://x.test]|")
    assert html.count("<td>") == 2
    assert 'href="https://x.test"' in html


def test_emoticons_become_unicode() -> None:
    text = wiki_to_text("ok (y) no (n) info (i) warn (!) :) (x) (/) note:Do")
    for emoji in ("👍", "👎", "ℹ", "⚠", "🙂", "❌", "✔"):
        assert emoji in text
    assert "note:Do" in text


def test_mentions_and_attachments_use_the_callbacks() -> None:
    names = {"jsmith": "John Smith", "5b10ac8d82e05b22cc7d4ef5": "Mia Krystof"}
    html = wiki_to_html(
        "[~jsmith] and [~accountid:5b10ac8d82e05b22cc7d4ef5] and [~ghost]\n"
        "!screen shot.png|thumbnail! !missing.png! [spec|^spec.pdf]",
        attachment_url=lambda name: None if name == "missing.png" else f"https://j.test/a/{name}",
        user_name=names.get,
    )
    text = html_text(html)
    assert "@John Smith" in text
    assert "@Mia Krystof" in text
    assert "@ghost" in text
    assert 'class="jira-thumbnail" src="https://j.test/a/screen%20shot.png"' in html
    assert "[missing.png]" in text
    assert 'href="https://j.test/a/spec.pdf"' in html


def test_nbsp_and_plain_text() -> None:
    assert "\u00a0" in html_text(wiki_to_html("*Lorem*\u00a0ipsum"))
    text = wiki_to_text("h1. Title\n\n* one\n* two\n\n||a||b||\n|1|2|")
    assert text.splitlines()[0] == "Title"
    assert "- one" in text
    assert "a | b" in text
    assert "1 | 2" in text
