"""The one HTML exit of the markup package: every renderer's output passes through here.

Renderers escape text and build attributes themselves; `sanitize_html` (nh3, i.e. the Ammonia
allow-list sanitizer) is the second, independent line of defence: only the tags, attributes,
classes, CSS properties and URL schemes listed below survive, `<script>`/`<style>` lose their
content, and every link gets ``rel="noopener noreferrer nofollow"``.

The size caps live here too so both renderers truncate the same way.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

# 2 MB of input text: real descriptions are under 50 KB (Jira Cloud rejects fields over 32 767
# characters), so this only stops hostile or broken documents from costing seconds of CPU.
MAX_INPUT_CHARS = 2_000_000
# Nesting deeper than this is flattened to text: real ADF rarely nests beyond ~10 levels, and
# html5ever/ammonia and Python recursion must stay far from their limits.
MAX_DEPTH = 100
TRUNCATION_NOTE = '<p class="jira-truncated">[content truncated: document too large]</p>'

URL_SCHEMES = frozenset({"http", "https", "mailto"})

_BLOCK_TAGS = {"p", "div", "pre", "blockquote", "hr", "br", "figure", "figcaption"}
_INLINE_TAGS = {"a", "b", "cite", "code", "del", "em", "i", "ins", "s", "small", "span"}
_INLINE_TAGS |= {"strong", "sub", "sup", "time", "u", "img"}
_STRUCTURE_TAGS = {"ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td"}
_STRUCTURE_TAGS |= {"details", "summary", "h1", "h2", "h3", "h4", "h5", "h6"}
ALLOWED_TAGS = frozenset(_BLOCK_TAGS | _INLINE_TAGS | _STRUCTURE_TAGS)

_STYLED = ("p", "div", "span", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6", "li")
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "code": {"data-language"},
    "span": {"data-account-id", "data-color"},
    "li": {"data-state"},
}
for _tag in _STYLED:
    ALLOWED_ATTRIBUTES.setdefault(_tag, set()).add("style")

ALLOWED_CLASSES: dict[str, set[str]] = {
    "div": {"jira-panel", "jira-panel-title", "jira-panel-body", "jira-layout"}
    | {"jira-layout-column", "jira-extension", "jira-sync-block"}
    | {f"jira-panel-{kind}" for kind in ("info", "note", "tip", "warning", "error", "success")}
    | {"jira-panel-custom"},
    "span": {"jira-mention", "jira-status", "jira-emoji", "jira-emoticon", "jira-placeholder"}
    | {"jira-attachment", "jira-unsupported", "jira-extension", "jira-date"},
    "p": {"jira-truncated"},
    "ul": {"jira-task-list", "jira-decision-list"},
    "li": {"jira-task", "jira-decision"},
    "figure": {"jira-media"},
    "img": {"jira-thumbnail"},
    "a": {"jira-card", "jira-attachment"},
    "pre": {"jira-noformat", "jira-code"},
    "details": {"jira-expand"},
}

STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "text-align", "margin-left", "width", "border"}
)

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes=ALLOWED_CLASSES,
    url_schemes=set(URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
    filter_style_properties=set(STYLE_PROPERTIES),
)


def sanitize_html(fragment: str) -> str:
    """Return `fragment` reduced to the allow-list above (safe to embed in any page)."""
    return _CLEANER.clean(fragment)


def esc(text: str) -> str:
    """Escape text for use in element content or a double-quoted attribute."""
    return html.escape(text, quote=True)


def safe_url(url: str) -> str | None:
    """`url` stripped, if its scheme is http, https or mailto or it is a same-site path.

    Anything else (``javascript:``, ``data:``, ``file:``, protocol-relative ``//host``, words
    that are not URLs) gives None and the caller renders the text without a link.
    """
    candidate = url.strip()
    # Browsers drop control characters inside schemes ("java\tscript:"): refuse them outright.
    if not candidate or re.search(r"[\x00-\x1f\x7f]", candidate):
        return None
    candidate = candidate.replace(" ", "%20")
    # "//host" and "/\\host" are protocol-relative in browsers: another site, not a path.
    if candidate.startswith(("/", "#")) and not candidate.startswith(("//", "/\\")):
        return candidate
    try:
        scheme = urlsplit(candidate).scheme.lower()
    except ValueError:
        return None
    if scheme in URL_SCHEMES and len(candidate) > len(scheme) + 1:
        return candidate
    return None


_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|rgba?\(\s*[0-9.%,\s]{5,40}\)")


def safe_color(value: object) -> str | None:
    """A CSS colour (hex, name, rgb()) or None; the value goes into a style attribute."""
    if isinstance(value, str) and _COLOR.fullmatch(value.strip()):
        return value.strip()
    return None
