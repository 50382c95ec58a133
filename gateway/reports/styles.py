"""Paragraph styles and colours shared by the templates and the rich-text converter."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.styles import ParagraphStyle

from gateway.reports.fonts import MONO, SANS, SANS_BOLD, register_fonts

INK = colors.HexColor("#172B4D")  # JIRA's text colour
MUTED = colors.HexColor("#5E6C84")
RULE = colors.HexColor("#DFE1E6")
SHADE = colors.HexColor("#F4F5F7")
LINK = colors.HexColor("#0052CC")
PANEL = colors.HexColor("#DEEBFF")
LINK_HEX = "#0052cc"  # LINK, as paragraph markup wants it

BODY_SIZE = 9.5
LEADING = 12.5


@dataclass(frozen=True, slots=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    muted: ParagraphStyle
    comment_head: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle
    code: ParagraphStyle
    issue_title: ParagraphStyle
    section: ParagraphStyle
    headings: tuple[ParagraphStyle, ...]  # h1..h6 inside rich text
    cover_title: ParagraphStyle
    cover_line: ParagraphStyle
    toc_title: ParagraphStyle


@functools.cache
def styles(cjk_wrap: bool = False) -> Styles:
    """The style set; `cjk_wrap` allows line breaks between any two characters (CJK text)."""
    register_fonts()
    wrap = "CJK" if cjk_wrap else None
    body = ParagraphStyle(
        "body",
        fontName=SANS,
        fontSize=BODY_SIZE,
        leading=LEADING,
        textColor=INK,
        spaceAfter=4,
        alignment=TA_LEFT,
        wordWrap=wrap,
    )
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10.5, spaceAfter=0)
    headings = tuple(
        ParagraphStyle(
            f"h{level}",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=size,
            leading=size * 1.3,
            spaceBefore=6,
            spaceAfter=3,
            keepWithNext=1,
        )
        for level, size in enumerate((14, 12.5, 11.5, 10.5, 10, 9.5), start=1)
    )
    return Styles(
        body=body,
        small=small,
        muted=ParagraphStyle("muted", parent=small, textColor=MUTED),
        comment_head=ParagraphStyle("comment_head", parent=small, textColor=MUTED, spaceBefore=5),
        cell=ParagraphStyle("cell", parent=small),
        cell_head=ParagraphStyle("cell_head", parent=small, fontName=SANS_BOLD),
        code=ParagraphStyle(
            "code", parent=body, fontName=MONO, fontSize=8, leading=10, spaceAfter=0
        ),
        issue_title=ParagraphStyle(
            "issue_title", parent=body, fontName=SANS_BOLD, fontSize=15, leading=19, spaceAfter=2
        ),
        section=ParagraphStyle(
            "section",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=11,
            leading=14,
            spaceBefore=10,
            spaceAfter=4,
            textColor=MUTED,
            keepWithNext=1,  # never a section title alone at the foot of a page
        ),
        headings=headings,
        cover_title=ParagraphStyle(
            "cover_title",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=24,
            leading=30,
            alignment=TA_CENTER,
            spaceAfter=18,
        ),
        cover_line=ParagraphStyle(
            "cover_line", parent=body, fontSize=11, leading=16, alignment=TA_CENTER
        ),
        toc_title=ParagraphStyle(
            "toc_title", parent=body, fontName=SANS_BOLD, fontSize=16, leading=20, spaceAfter=10
        ),
    )
