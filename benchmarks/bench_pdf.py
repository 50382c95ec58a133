"""PDF report rendering: throughput per process, and big merged/ZIP exports' time and memory.

1. Detailed template, one PDF per issue, one process: pages/s and issues/s of
   `gateway.reports.render_issue_pdf`, next to bare ReportLab rendering the same content
   (same fonts, same paragraphs, tables and code block) in one script with no abstraction.
   Target (issue 8): at least 80% of bare ReportLab. Both run in one process, so both get the
   renderer's one global ReportLab setting (no ASCII85 stream wrapping): the ratio compares
   the abstraction, not the setting.
2. MERGED exports of 250, 500 and 1,000 issues and a 1,000-issue ZIP, each in a fresh
   subprocess so its peak RSS is its own. Target: under 300 MB and flat as the export grows.

Content is generated but realistic: 10 fields, a description with paragraphs, a list and a code
block, 8 comments (about 2 A4 pages per issue).

    .venv/bin/python benchmarks/bench_pdf.py [--issues 60] [--sizes 250,500,1000]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, XPreformatted

from gateway.reports.model import ReportComment, ReportData, ReportIssue, ReportOptions
from gateway.reports.render import render_issue_pdf, render_merged_pdf_to, render_zip_to

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "gateway" / "reports" / "fonts"
WORDS = [
    "export",
    "report",
    "issue",
    "sprint",
    "backlog",
    "release",
    "customer",
    "gateway",
    "latency",
    "cache",
    "worker",
    "queue",
    "database",
    "migration",
    "regression",
    "dashboard",
    "timeout",
    "retry",
    "permission",
    "project",
    "version",
    "page",
    "render",
    "font",
    "table",
    "comment",
    "field",
    "status",
    "priority",
    "assignee",
    "search",
    "filter",
    "webhook",
]
T0 = datetime(2024, 3, 5, 13, 7, tzinfo=UTC)


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def make_issue(number: int) -> ReportIssue:
    rng = random.Random(number)
    paragraphs = [" ".join(sentence(rng, rng.randint(8, 16)) for _ in range(4)) for _ in range(3)]
    items = "".join(f"<li>{sentence(rng, 6)}</li>" for _ in range(4))
    code = "\n".join(
        f"    step_{i}(items, limit={i * 10})  # {rng.choice(WORDS)}" for i in range(8)
    )
    description = (
        f"<p>{paragraphs[0]}</p><ul>{items}</ul><p>{paragraphs[1]}</p>"
        f'<pre class="jira-code"><code>def run(items):\n{code}</code></pre><p>{paragraphs[2]}</p>'
    )
    comments = tuple(
        ReportComment(
            author=f"User {c}",
            created=T0 + timedelta(hours=c),
            body_html=f"<p>{' '.join(sentence(rng, 12) for _ in range(3))}</p>",
        )
        for c in range(8)
    )
    return ReportIssue(
        key=f"PERF-{number}",
        url=f"https://jira.example.com/browse/PERF-{number}",
        summary=sentence(rng, 7),
        description_html=description,
        fields=(("Story Points", "5"), ("Team", "Platform"), ("Sprint", "Sprint 12")),
        status="In Progress",
        priority="High",
        assignee="Alice Adams",
        reporter="Bob Brown",
        created=T0,
        updated=T0 + timedelta(days=2),
        labels=("export", "pdf"),
        comments=comments,
    )


# -- bare ReportLab: the same content, built directly -------------------------------------------


def bare_setup() -> dict[str, ParagraphStyle]:
    for name, file in (
        ("B", "DejaVuSans.ttf"),
        ("B-Bold", "DejaVuSans-Bold.ttf"),
        ("B-Mono", "DejaVuSansMono.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONTS / file)))
    registerFontFamily("B", normal="B", bold="B-Bold", italic="B", boldItalic="B-Bold")
    body = ParagraphStyle("b", fontName="B", fontSize=9.5, leading=12.5, spaceAfter=4)
    return {
        "body": body,
        "title": ParagraphStyle("t", parent=body, fontName="B-Bold", fontSize=15, leading=19),
        "section": ParagraphStyle("s", parent=body, fontName="B-Bold", fontSize=11, leading=14),
        "small": ParagraphStyle("m", parent=body, fontSize=8, leading=10.5),
        "code": ParagraphStyle("c", parent=body, fontName="B-Mono", fontSize=8, leading=10),
        "item": ParagraphStyle("i", parent=body, leftIndent=14, bulletIndent=2),
    }


def bare_render(issue: ReportIssue, st: dict[str, ParagraphStyle]) -> tuple[bytes, int]:
    import re

    story = [Paragraph(f"{issue.key}  {issue.summary}", st["title"])]
    pairs = [
        ("Status", issue.status),
        ("Priority", issue.priority),
        ("Assignee", issue.assignee),
        ("Reporter", issue.reporter),
        ("Created", str(issue.created)),
        ("Updated", str(issue.updated)),
        ("Labels", ", ".join(issue.labels)),
        *issue.fields,
    ]
    rows = [
        [Paragraph(v, st["small"]) for pair in pairs[i : i + 2] for v in pair]
        for i in range(0, len(pairs), 2)
    ]
    story.append(Table(rows, colWidths=[80, 160, 80, 160]))
    story.append(Paragraph("Description", st["section"]))
    for tag, content in re.findall(r"<(pre|p|ul)\b[^>]*>(.*?)</\1>", issue.description_html, re.S):
        if tag == "p":
            story.append(Paragraph(content, st["body"]))
        elif tag == "ul":
            for item in re.findall(r"<li>(.*?)</li>", content):
                story.append(Paragraph(item, st["item"], bulletText="•"))
        else:
            story.append(XPreformatted(re.sub(r"</?code>", "", content), st["code"]))
    story.append(Paragraph("Comments", st["section"]))
    for comment in issue.comments:
        story.append(Paragraph(f"<b>{comment.author}</b> · {comment.created}", st["small"]))
        story.append(Paragraph(re.sub(r"</?p>", "", comment.body_html), st["body"]))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm)
    doc.build(story)
    return buffer.getvalue(), doc.page


def throughput(count: int, rounds: int) -> None:
    issues = [make_issue(n) for n in range(count)]
    styles = bare_setup()
    render_issue_pdf(issues[0], ReportOptions())  # font registration and imports out of timing
    bare_render(issues[0], styles)
    renderers = {
        "bare ReportLab": lambda issue: bare_render(issue, styles)[1],
        "gateway.reports": lambda issue: render_issue_pdf(issue, ReportOptions()).page_count,
    }
    results: dict[str, tuple[float, float, float]] = {}
    # The machine is shared: alternate the two renderers and keep each one's best round.
    for _ in range(rounds):
        for name, render in renderers.items():
            started = time.perf_counter()
            pages = sum(render(issue) for issue in issues)
            elapsed = time.perf_counter() - started
            if name not in results or pages / elapsed > results[name][0]:
                results[name] = (pages / elapsed, count / elapsed, pages / count)
    print(f"\nDetailed template, one PDF per issue, {count} issues, best of {rounds}, one process")
    print(f"{'renderer':<18} {'pages/s':>8} {'issues/s':>9} {'pages/issue':>12}")
    for name, (pages_s, issues_s, per_issue) in results.items():
        print(f"{name:<18} {pages_s:>8.1f} {issues_s:>9.1f} {per_issue:>12.2f}")
    ratio = results["gateway.reports"][0] / results["bare ReportLab"][0]
    print(f"gateway.reports / bare ReportLab: {ratio:.0%} (target >= 80%)")


def child(kind: str, count: int) -> None:
    issues = (make_issue(n) for n in range(count))  # a generator: the renderer reads it once
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out"
        started = time.perf_counter()
        if kind == "merged":
            data = ReportData("Benchmark export", T0, "bench", issues)
            stats = render_merged_pdf_to(out, data)
        else:
            stats = render_zip_to(out, issues, ReportOptions())
        elapsed = time.perf_counter() - started
        size = out.stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s": elapsed, "pages": stats.page_count, "mb": peak_mb, "size": size}))


def exports(sizes: list[int]) -> None:
    print("\nExports (each in a fresh process; peak RSS of that process)")
    print(
        f"{'layout':<7} {'issues':>6} {'pages':>6} {'seconds':>8} {'issues/s':>9} "
        f"{'peak RSS MB':>12} {'file MB':>8}"
    )
    runs = [("merged", n) for n in sizes] + [("zip", max(sizes))]
    for kind, count in runs:
        output = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--issues", str(count)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(output.strip().splitlines()[-1])
        print(
            f"{kind:<7} {count:>6} {r['pages']:>6} {r['s']:>8.1f} {count / r['s']:>9.1f} "
            f"{r['mb']:>12.0f} {r['size'] / 1e6:>8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issues", type=int, default=60, help="issues for the throughput test")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds, best kept")
    parser.add_argument("--sizes", default="250,500,1000", help="merged export sizes")
    parser.add_argument("--child", choices=["merged", "zip"], help=argparse.SUPPRESS)
    parser.add_argument("--skip-exports", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.issues)
        return
    throughput(args.issues, args.rounds)
    if not args.skip_exports:
        exports([int(size) for size in args.sizes.split(",")])


if __name__ == "__main__":
    main()
