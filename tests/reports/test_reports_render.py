"""PDF rendering end to end: open the PDFs with pypdf and find what the reader must see.

Run as a script to write the visual-check sample: ``python tests/reports/test_reports_render.py``
writes /tmp/sample-export.pdf (3 detailed issues, Cyrillic, code, table, list, inline PNG).
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from gateway.markup.wiki import wiki_to_html
from gateway.reports.model import (
    ChangeItem,
    ReportAttachment,
    ReportChange,
    ReportComment,
    ReportData,
    ReportIssue,
    ReportOptions,
    ReportRelated,
)
from gateway.reports.render import (
    render_issue_pdf,
    render_merged_pdf,
    render_merged_pdf_to,
    render_zip_to,
)

BASE = "https://jira.example.com"
T0 = datetime(2024, 3, 5, 13, 7, tzinfo=UTC)


def png_bytes(width: int = 320, height: int = 120) -> bytes:
    image = PILImage.new("RGB", (width, height), (0, 82, 204))
    for x in range(0, width, 20):
        for y in range(height):
            image.putpixel((x, y), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def attachment_url(name: str) -> str:
    return f"{BASE}/secure/attachment/10001/{name}"


def make_issue(number: int, *, cyrillic: bool = False) -> ReportIssue:
    key = f"DEMO-{number}"
    wiki = (
        f"h2. Steps for {key}\n"
        "The export must keep *bold*, _italic_ and {{inline code}} readable.\n"
        "* first point\n** nested point\n# numbered one\n# numbered two\n"
        "||Field||Value||\n|Browser|Firefox 125|\n|OS|Debian 12|\n"
        "{code:python}\ndef total(items):\n"
        "    return sum(i.price for i in items if i < 10 & 3)\n{code}\n"
        "!diagram.png!\n"
        "{panel:title=Note}Panels show as shaded boxes.{panel}\n"
    )
    if cyrillic:
        wiki += "Отчёт должен показывать кириллицу: съешь же ещё этих мягких французских булок.\n"
        wiki += "日本語のテキストも表示されます。\n"
    comments = tuple(
        ReportComment(
            author=f"User {c}",
            created=T0 + timedelta(hours=c),
            body_html=wiki_to_html(
                f"Comment {c} on {key}: checked on staging, looks good."
                + (" Проверено на стенде." if cyrillic and c == 1 else "")
            ),
        )
        for c in range(1, 4)
    )
    return ReportIssue(
        key=key,
        url=f"{BASE}/browse/{key}",
        summary=f"Export fails for large projects {number}"
        + (" — ошибка экспорта" if cyrillic else ""),
        description_html=wiki_to_html(wiki, attachment_url=attachment_url),
        fields=(("Story Points", "5"), ("Team", "Платформа" if cyrillic else "Platform")),
        status="In Progress",
        priority="High",
        assignee="Алиса Иванова" if cyrillic else "Alice Adams",
        reporter="Bob Brown",
        created=T0,
        updated=T0 + timedelta(days=2),
        labels=("export", "pdf"),
        comments=comments,
        changelog=(ReportChange("Bob Brown", T0, (ChangeItem("status", "To Do", "In Progress"),)),),
        attachments=(
            ReportAttachment(
                name="diagram.png",
                size=48_213,
                mime="image/png",
                author="Bob Brown",
                created=T0,
                url=attachment_url("diagram.png"),
                image_bytes=png_bytes(),
            ),
        ),
        subtasks=(ReportRelated(f"DEMO-{number}1", "Write the tests", "Done"),),
        links=(ReportRelated("OPS-7", "Disk fills up", "Open", "is blocked by"),),
    )


def pdf_text(pdf: bytes | Path) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return reader, " ".join(text.split())


def squash(text: str) -> str:
    return " ".join(text.split())


def title_page(reader: PdfReader, issue: ReportIssue) -> int:
    """The first issue page (after cover and contents) showing the issue's title line."""
    heading = f"{issue.key} {squash(issue.summary)}"
    for index, page in enumerate(reader.pages):
        if reader.page_labels[index].isdigit() and heading in squash(page.extract_text()):
            return index
    raise AssertionError(f"no page shows {heading!r}")


def test_issue_pdf_contains_key_summary_description_and_every_comment() -> None:
    issue = make_issue(1, cyrillic=True)
    result = render_issue_pdf(issue, ReportOptions())
    reader, text = pdf_text(result.pdf)
    assert result.page_count == len(reader.pages) >= 1
    assert issue.key in text
    assert squash(issue.summary) in text
    assert "съешь же ещё этих мягких французских булок" in text
    assert "日本語のテキストも表示されます" in text
    assert "def total(items):" in text  # the code block
    assert "Firefox 125" in text  # the table
    for comment in issue.comments:
        body = re.sub(r"<[^>]+>", "", comment.body_html)
        assert squash(body) in text
    assert [item.title for item in reader.outline] == [f"{issue.key} {issue.summary}"]


def test_inline_image_is_drawn_from_attachment_bytes() -> None:
    with_image = render_issue_pdf(make_issue(1), ReportOptions())
    reader = PdfReader(io.BytesIO(with_image.pdf))
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1
    assert images[0].image is not None
    assert images[0].image.size == (320, 120)


@pytest.mark.parametrize(
    ("page_size", "orientation", "expected"),
    [
        ("A4", "portrait", (595, 842)),
        ("A4", "landscape", (842, 595)),
        ("LETTER", "portrait", (612, 792)),
        ("LETTER", "landscape", (792, 612)),
    ],
)
def test_page_size_and_orientation(
    page_size: str, orientation: str, expected: tuple[int, int]
) -> None:
    options = ReportOptions.create(page_size=page_size, orientation=orientation)
    reader = PdfReader(io.BytesIO(render_issue_pdf(make_issue(2), options).pdf))
    for page in reader.pages:
        box = page.mediabox
        assert (round(float(box.width)), round(float(box.height))) == expected


def test_header_and_footer_on_every_page() -> None:
    options = ReportOptions.create(header_text="ACME Confidential", footer_text="Отдел качества")
    data = ReportData("Weekly", T0, "alice", [make_issue(n) for n in range(3)], options)
    reader = PdfReader(io.BytesIO(render_merged_pdf(data).pdf))
    assert len(reader.pages) >= 5
    for page in reader.pages:
        text = page.extract_text()
        assert "ACME Confidential" in text
        assert "Отдел качества" in text


def test_cjk_header_text_is_drawn() -> None:
    options = ReportOptions.create(header_text="社外秘 ACME")
    text = pdf_text(render_issue_pdf(make_issue(4), options).pdf)[1]
    assert "社外秘 ACME" in text


def test_fields_and_sections_follow_the_options() -> None:
    options = ReportOptions.create(
        fields=["Team", "status", "No Such Field"], sections=["comments", "fields", "description"]
    )
    text = pdf_text(render_issue_pdf(make_issue(5), options).pdf)[1]
    assert text.index("Team") < text.index("Status") < text.index("Description")
    assert text.index("Comments") < text.index("Team")
    assert "Priority" not in text
    assert "Story Points" not in text
    assert "Changelog" not in text


def test_dates_in_requested_zone_and_locale() -> None:
    # 13:07 UTC on 5 March is 22:07 in Tokyo and 16:07 in Moscow.
    tokyo = ReportOptions.create(time_zone="Asia/Tokyo", locale="ja")
    text = squash(pdf_text(render_issue_pdf(make_issue(3), tokyo).pdf)[1])
    assert "2024年3月5日 22:07" in text
    moscow = ReportOptions.create(time_zone="Europe/Moscow", locale="ru")
    text = pdf_text(render_issue_pdf(make_issue(3), moscow).pdf)[1]
    assert "5 мар. 2024 г., 16:07" in text
    assert "13:07" not in text


def test_merged_has_cover_contents_outline_and_sections() -> None:
    issues = [make_issue(n, cyrillic=n == 2) for n in range(1, 6)]
    progress: list[int] = []
    data = ReportData("Sprint 12 export", T0, "Alice Adams", iter(issues), skipped=("X-1",))
    result = render_merged_pdf(data, on_progress=progress.append)
    reader, text = pdf_text(result.pdf)
    assert result.page_count == len(reader.pages)
    assert progress == [1, 2, 3, 4, 5]
    cover = reader.pages[0].extract_text()
    assert "Sprint 12 export" in cover
    assert "5 issues" in cover
    assert "Alice Adams" in cover
    assert "X-1" in cover
    contents = reader.pages[1].extract_text()
    assert "Contents" in contents
    for issue in issues:
        assert issue.key in contents
        assert squash(issue.summary) in text
    titles = [item.title for item in reader.outline]
    assert titles[0] == "Contents"
    assert [t.split()[0] for t in titles[1:]] == [issue.key for issue in issues]
    # Every outline entry points to the page holding that issue's title.
    for item, issue in zip(reader.outline[1:], issues, strict=True):
        assert reader.get_destination_page_number(item) == title_page(reader, issue)
    labels = reader.page_labels
    assert labels[:2] == ["i", "ii"]
    assert labels[2] == "1"


def test_merged_contents_rows_link_to_issue_pages() -> None:
    issues = [make_issue(n) for n in range(1, 4)]
    reader = PdfReader(io.BytesIO(render_merged_pdf(ReportData("T", T0, "a", issues)).pdf))
    annotations = [a.get_object() for a in reader.pages[1].get("/Annots", [])]
    targets = [reader.get_page_number(a["/Dest"][0].get_object()) for a in annotations]
    assert targets == [title_page(reader, issue) for issue in issues]


@pytest.mark.parametrize("template", ["summary", "compact"])
def test_summary_and_compact_templates_list_every_issue(template: str) -> None:
    issues = [make_issue(n) for n in range(1, 40)]
    options = ReportOptions.create(template=template)
    reader, text = pdf_text(render_merged_pdf(ReportData("T", T0, "a", issues, options)).pdf)
    for issue in issues:
        assert issue.key in text
    assert len(reader.outline) == len(issues) + 1
    body_pages = len(reader.pages) - 2
    assert body_pages < len(issues) / 3  # many issues per page, unlike "detailed"
    if template == "compact":
        assert "Export fails" in text
        assert "The export must keep" in text


def test_zip_holds_one_pdf_per_issue(tmp_path: Path) -> None:
    issues = [make_issue(1), make_issue(2), make_issue(2)]
    stats = render_zip_to(tmp_path / "out.zip", issues, ReportOptions())
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        names = archive.namelist()
        assert names == ["DEMO-1.pdf", "DEMO-2.pdf", "DEMO-2-2.pdf"]
        text = pdf_text(archive.read("DEMO-2.pdf"))[1]
    assert "DEMO-2" in text
    assert stats.issue_count == 3


def test_merged_to_file_and_cancellation_cleans_up(tmp_path: Path) -> None:
    issues = [make_issue(n) for n in range(1, 4)]
    stats = render_merged_pdf_to(tmp_path / "m.pdf", ReportData("T", T0, "a", issues))
    assert stats.issue_count == 3
    assert len(PdfReader(tmp_path / "m.pdf").pages) == stats.page_count

    class Cancelled(Exception):
        pass

    def cancel(done: int) -> None:
        if done == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        render_merged_pdf_to(
            tmp_path / "c.pdf", ReportData("T", T0, "a", issues), on_progress=cancel
        )


def test_empty_export_still_renders() -> None:
    result = render_merged_pdf(ReportData("Nothing", T0, "a", []))
    text = pdf_text(result.pdf)[1]
    assert "0 issues" in text
    assert "No issues." in text


def write_sample(path: Path) -> None:
    issues = [make_issue(1, cyrillic=True), make_issue(2), make_issue(3, cyrillic=True)]
    options = ReportOptions.create(header_text="ACME — JIRA export", footer_text="Confidential")
    data = ReportData("Sprint 12 — экспорт", T0, "Alice Adams", issues, options)
    path.write_bytes(render_merged_pdf(data).pdf)


if __name__ == "__main__":
    write_sample(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sample-export.pdf"))
