"""``RichText``: a description or comment body as sanitized HTML, plain text, and the raw source.

Rendering (ADF or wiki -> sanitized HTML -> text) costs 20-200 µs per body, and a UI asks for
the same bodies again and again; a bounded process-wide memo keyed by the raw source makes the
second rendering a dictionary lookup. The key is the source itself, so it holds no user data
that the caller did not already have (and no principal can get another's text through it
without having the identical source).
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

import orjson
import strawberry
from strawberry.scalars import JSON

from gateway.jira import dto
from gateway.markup.adf import adf_to_html
from gateway.markup.text import html_to_text
from gateway.markup.wiki import wiki_to_html

RENDER_MEMO_SIZE = 4096


@lru_cache(maxsize=RENDER_MEMO_SIZE)
def _render_adf(source: bytes) -> tuple[str, str]:
    html = adf_to_html(orjson.loads(source))
    return html, html_to_text(html)


@lru_cache(maxsize=RENDER_MEMO_SIZE)
def _render_wiki(source: str) -> tuple[str, str]:
    html = wiki_to_html(source)
    return html, html_to_text(html)


def render(raw: dto.RichText) -> tuple[str, str]:
    """(sanitized HTML, plain text) of a body: ADF when present (Cloud), else wiki markup."""
    if raw.adf is not None:
        return _render_adf(orjson.dumps(raw.adf))
    if raw.wiki:
        return _render_wiki(raw.wiki)
    return "", ""


@strawberry.type(
    description="Formatted text (descriptions, comments). `html` is sanitized and safe to "
    "insert into a page; `text` is what a reader sees, without markup."
)
class RichText:
    raw: strawberry.Private[dto.RichText]

    @strawberry.field(description="Sanitized HTML: no scripts, no event handlers, safe URLs.")
    def html(self) -> str:
        return render(self.raw)[0]

    @strawberry.field(description="Plain text, one block per line.")
    def text(self) -> str:
        return render(self.raw)[1]

    @strawberry.field(
        description="The Atlassian Document Format source (Cloud); null on Server/DC."
    )
    def adf(self) -> JSON | None:
        return cast(JSON, self.raw.adf)

    @strawberry.field(description="The JIRA wiki markup source (Server/DC); null on Cloud.")
    def wiki(self) -> str | None:
        return self.raw.wiki


def rich_text_of(raw: dto.RichText | None) -> RichText | None:
    if raw is None or (raw.adf is None and raw.wiki is None):
        return None
    return RichText(raw=raw)
