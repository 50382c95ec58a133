"""Full-text search over the local mirror, checked as the asking user (issue 6, item 5).

1. Candidates: the mirror's matches for the text (PostgreSQL ``tsvector`` + GIN with
   ``websearch_to_tsquery``; SQLite FTS5 ``MATCH``), narrowed by the structured filter, ranked
   (``ts_rank_cd`` / ``bm25``), capped at ``MAX_CANDIDATES``. Ranking reads every match's
   vector, which costs 40-200 ms when 20,000-100,000 rows match a broad word (issue 6), so at
   most ``RANK_POOL`` matches are ranked: the most recently updated ones (``updated`` index).
2. Permission: the mirror holds what the SYNC account sees, so the candidates are fetched in
   bulk AS THE ASKING USER (``fetch_issues_by_key``) and whatever JIRA does not return is
   dropped. Nothing from the mirror reaches a caller without that check.
3. Snippets: ``ts_headline`` / FTS5 ``snippet()`` for the page only, HTML-escaped, matches in
   ``<mark>``.

When the site has no synced mirror, ``search_jira`` asks JIRA with ``text ~`` instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db.models import MirrorIssue, MirrorSite
from gateway.errors import InvalidInput
from gateway.jira.adapter_base import Caller
from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.client import JiraClient
from gateway.jira.dto import Issue
from gateway.jql_quote import quote_value
from gateway.mirror_rows import description_text

MAX_CANDIDATES = 200
# Matches ranked per query (the most recently updated): at 100,000 rows a broad term's pool of
# 2,000 took ~70 ms to collect and rank, 1,000 about 30 ms (p95 of two-word queries < 30 ms).
RANK_POOL = 1000
MAX_TEXT = 500
_OPEN, _CLOSE = "\x02", "\x03"  # sentinels around matches, replaced after HTML escaping
_WORD = re.compile(r"\w+", re.UNICODE)
_PG_CONFIG: ColumnElement[Any] = literal_column("'english'::regconfig")
_HEADLINE_SUMMARY = f"StartSel={_OPEN}, StopSel={_CLOSE}, HighlightAll=true"
_HEADLINE_DESCRIPTION = (
    f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords=30, MinWords=12, MaxFragments=2, "
    'FragmentDelimiter=" … "'
)
_fts = table("mirror_fts", column("rowid"), column("mirror_fts"))


@dataclass(frozen=True, slots=True)
class MirrorFilter:
    """Structured conditions the mirror evaluates itself (names, keys and ids as JIRA has them).

    Empty tuples mean "any"; assignee ``"unassigned"`` matches issues without one.
    """

    projects: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    status_categories: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    issue_types: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    reporters: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    due_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    row_id: int
    key: str
    rank: float


@dataclass(frozen=True, slots=True)
class Snippet:
    """Safe HTML: escaped text with the matched words in ``<mark>``."""

    summary: str
    description: str


@dataclass(frozen=True, slots=True)
class Hit:
    issue: Issue
    rank: float
    snippet: Snippet | None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One page of hits; ``visible`` counts every candidate the user may see (mirror only)."""

    hits: list[Hit]
    has_next: bool
    visible: int | None
    source: str  # "mirror" | "jira"


async def mirror_ready(db: AsyncSession, site_id: str) -> bool:
    """True once the site's mirror finished a sync (searching it is then meaningful)."""
    synced = await db.scalar(
        select(MirrorSite.last_synced_at).where(
            MirrorSite.site_id == site_id, MirrorSite.state != "disabled"
        )
    )
    return synced is not None


def filter_conditions(filt: MirrorFilter | None) -> list[ColumnElement[bool]]:
    """SQL conditions on ``mirror_issues`` for ``filt`` (shared with ``gateway.stats``)."""
    if filt is None:
        return []
    m = MirrorIssue
    conds: list[ColumnElement[bool]] = []
    columns: tuple[tuple[Any, tuple[str, ...]], ...] = (
        (m.project_key, tuple(v.upper() for v in filt.projects)),
        (m.status, filt.statuses),
        (m.status_category, filt.status_categories),
        (m.priority, filt.priorities),
        (m.issue_type, filt.issue_types),
        (m.reporter_id, filt.reporters),
    )
    for col, values in columns:
        if values:
            conds.append(col.in_(values))
    if filt.assignees:
        named = [a for a in filt.assignees if a.lower() != "unassigned"]
        cond: ColumnElement[bool] = m.assignee_id.in_(named)
        if len(named) < len(filt.assignees):
            cond = cond | m.assignee_id.is_(None)
        conds.append(cond)
    for label in filt.labels:
        # JSON arrays are stored as text on both engines; a quoted element match is exact.
        conds.append(cast(m.labels, Text).contains(f'"{label}"', autoescape=True))
    bounds: tuple[tuple[Any, datetime | None, bool], ...] = (
        (m.created, filt.created_after, True),
        (m.created, filt.created_before, False),
        (m.updated, filt.updated_after, True),
        (m.updated, filt.updated_before, False),
        (m.due_date, filt.due_before, False),
    )
    for col, bound, after in bounds:
        if bound is not None:
            conds.append(col >= bound if after else col < bound)
    return conds


def fts5_query(text: str) -> str:
    """User text -> an FTS5 query: every word must match (each quoted: no FTS5 syntax leaks)."""
    return " ".join(f'"{word}"' for word in _WORD.findall(text))


def check_text(text: str) -> str:
    cleaned = text.strip()
    if not _WORD.search(cleaned):
        raise InvalidInput("Search for at least one word.", field="text")
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(f"Search text is at most {MAX_TEXT} characters.", field="text")
    return cleaned


def _candidate_query(
    dialect: str, site_id: str, text: str, filt: MirrorFilter | None
) -> Select[Any]:
    m = MirrorIssue
    base = [m.site_id == site_id, m.deleted_at.is_(None), *filter_conditions(filt)]
    if dialect == "postgresql":
        tsq = func.websearch_to_tsquery(_PG_CONFIG, text)
        vector: ColumnElement[Any] = literal_column("mirror_issues.search_vector")
        pool = (
            select(m.id, m.issue_key, m.updated, vector.label("vec"))
            .where(*base, vector.op("@@")(tsq))
            .order_by(m.updated.desc())
            .limit(RANK_POOL)
            .subquery()
        )
        rank = func.ts_rank_cd(pool.c.vec, tsq).label("rank")
        return (
            select(pool.c.id, pool.c.issue_key, rank)
            .order_by(rank.desc(), pool.c.updated.desc())
            .limit(MAX_CANDIDATES)
        )
    # FTS5: bm25 is smaller for better matches; weights favour key and summary over description.
    bm25: ColumnElement[Any] = literal_column("bm25(mirror_fts, 10.0, 5.0, 1.0)")
    pool = (
        select(m.id, m.issue_key, m.updated, bm25.label("score"))
        .select_from(_fts.join(m, m.id == _fts.c.rowid))
        .where(_fts.c.mirror_fts.op("MATCH")(fts5_query(text)), *base)
        .order_by(m.updated.desc())
        .limit(RANK_POOL)
        .subquery()
    )
    return (
        select(pool.c.id, pool.c.issue_key, (-pool.c.score).label("rank"))
        .order_by(pool.c.score, pool.c.updated.desc())
        .limit(MAX_CANDIDATES)
    )


async def candidates(
    db: AsyncSession, site_id: str, text: str, filt: MirrorFilter | None = None
) -> list[Candidate]:
    """The best ``MAX_CANDIDATES`` mirror matches, best first (NOT permission-checked)."""
    dialect = db.get_bind().dialect.name
    rows = await db.execute(_candidate_query(dialect, site_id, check_text(text), filt))
    return [Candidate(int(row_id), key, float(rank)) for row_id, key, rank in rows]


def mark(raw: str) -> str:
    """Escape ``raw`` for HTML and turn the match sentinels into ``<mark>`` tags."""
    escaped = html.escape(raw, quote=False)
    opened = escaped.count(_OPEN)
    if opened != escaped.count(_CLOSE):  # a sentinel in the data itself: drop them all
        return escaped.replace(_OPEN, "").replace(_CLOSE, "")
    return escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


async def snippets(db: AsyncSession, text: str, row_ids: Sequence[int]) -> dict[int, Snippet]:
    """Highlighted summary and description excerpt for the given mirror rows."""
    if not row_ids:
        return {}
    if db.get_bind().dialect.name == "postgresql":
        tsq = func.websearch_to_tsquery(_PG_CONFIG, text)
        query: Select[Any] = select(
            MirrorIssue.id,
            func.ts_headline(_PG_CONFIG, MirrorIssue.summary, tsq, _HEADLINE_SUMMARY),
            func.ts_headline(_PG_CONFIG, MirrorIssue.description, tsq, _HEADLINE_DESCRIPTION),
        ).where(MirrorIssue.id.in_(row_ids))
    else:
        query = select(
            _fts.c.rowid,
            literal_column(f"highlight(mirror_fts, 1, '{_OPEN}', '{_CLOSE}')"),
            literal_column(f"snippet(mirror_fts, 2, '{_OPEN}', '{_CLOSE}', ' … ', 24)"),
        ).where(_fts.c.mirror_fts.op("MATCH")(fts5_query(text)), _fts.c.rowid.in_(row_ids))
    rows = await db.execute(query)
    return {int(i): Snippet(mark(s or ""), mark(d or "")) for i, s, d in rows}


def python_snippet(text: str, summary: str, description: str, width: int = 200) -> Snippet:
    """Highlight ``text``'s words without the mirror (the JIRA fallback path)."""
    words = sorted({w.lower() for w in _WORD.findall(text)}, key=len, reverse=True)
    if not words:
        return Snippet(html.escape(summary, quote=False), "")
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE)

    def highlight(value: str) -> str:
        return mark(pattern.sub(lambda m: f"{_OPEN}{m.group(0)}{_CLOSE}", value))

    found = pattern.search(description)
    start = max(0, found.start() - width // 3) if found else 0
    excerpt = description[start : start + width]
    prefix = "… " if start else ""
    suffix = " …" if start + width < len(description) else ""
    return Snippet(highlight(summary), prefix + highlight(excerpt) + suffix if excerpt else "")


async def visible_hits(
    client: JiraClient,
    caller: Caller,
    found: Sequence[Candidate],
    *,
    fields: Sequence[str],
) -> list[tuple[Candidate, Issue]]:
    """The candidates JIRA returns to ``caller`` (one bulk fetch per 100 keys), rank order."""
    issues = await fetch_issues_by_key(client, caller, [c.key for c in found], fields=fields)
    return [(c, issue) for c in found if (issue := issues.get(c.key)) is not None]


async def search_mirror(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: JiraClient,
    caller: Caller,
    site_id: str,
    text: str,
    filt: MirrorFilter | None = None,
    *,
    offset: int = 0,
    first: int = 20,
    fields: Sequence[str] = ("summary", "status", "priority", "issuetype", "assignee", "updated"),
) -> SearchResult:
    """A page of permission-checked, ranked, highlighted hits from the mirror."""
    async with sessionmaker() as db:
        found = await candidates(db, site_id, text, filt)
    allowed = await visible_hits(client, caller, found, fields=fields)
    page = allowed[offset : offset + first]
    async with sessionmaker() as db:
        marks = await snippets(db, text, [c.row_id for c, _ in page])
    hits = [Hit(issue, c.rank, marks.get(c.row_id)) for c, issue in page]
    return SearchResult(hits, offset + first < len(allowed), len(allowed), "mirror")


async def search_jira(
    client: JiraClient,
    caller: Caller,
    text: str,
    *,
    extra_jql: str | None = None,
    cursor: str | None = None,
    first: int = 20,
    fields: Sequence[str] = ("summary", "description", "status", "priority", "issuetype"),
) -> tuple[SearchResult, str | None]:
    """The fallback: JIRA's own ``text ~`` search as the user (already permission-filtered).

    Returns the page and JIRA's cursor for the next one.
    """
    jql = f"text ~ {quote_value(check_text(text))}"
    if extra_jql:
        jql = f"({extra_jql}) AND {jql}"
    page = await client.search(
        caller,
        jql,
        fields=list(dict.fromkeys([*fields, "summary", "description"])),
        page_size=first,
        cursor=cursor,
    )
    hits = [
        Hit(
            issue,
            0.0,
            python_snippet(text, issue.summary or "", description_text(issue.description)),
        )
        for issue in page.issues
    ]
    return SearchResult(hits, page.next_cursor is not None, None, "jira"), page.next_cursor


__all__ = [
    "MAX_CANDIDATES",
    "RANK_POOL",
    "Candidate",
    "Hit",
    "MirrorFilter",
    "SearchResult",
    "Snippet",
    "candidates",
    "check_text",
    "filter_conditions",
    "fts5_query",
    "mark",
    "mirror_ready",
    "python_snippet",
    "search_jira",
    "search_mirror",
    "snippets",
    "visible_hits",
]
