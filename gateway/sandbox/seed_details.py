"""Lazily generated heavy parts of an issue, deterministic from (seed, issue id).

Description and comment documents, changelog histories consistent with the issue's seeded
values, and small real attachments (a valid PNG, a valid PDF, a text file). Ids encode their
issue: comment `issue_id * 100 + k`, history `issue_id * 100 + k`, attachment `issue_id * 10 + k`,
so the store can find the owner of an id without an index.
"""

from __future__ import annotations

import random
import struct
import zlib
from datetime import datetime, timedelta

from gateway.sandbox.catalog import PRIORITY_BY_NAME, RESOLUTION_BY_NAME, STATUS_BY_NAME
from gateway.sandbox.model import (
    ChangeItem,
    IssueDetails,
    SandboxAttachment,
    SandboxComment,
    SandboxHistory,
    SandboxIssue,
)
from gateway.sandbox.rich import (
    Block,
    CodeBlock,
    Doc,
    Emoji,
    Heading,
    Inline,
    ListBlock,
    Mention,
    Panel,
    Paragraph,
    Quote,
    Table,
    Text,
)
from gateway.sandbox.seed import Dataset

_EN = (
    "The request times out after thirty seconds when the tenant has many projects.",
    "Steps to reproduce are below; it happens on roughly one in ten attempts.",
    "We agreed to keep the old endpoint until the next major release.",
    "Customers reported this twice this week, both on the enterprise plan.",
    "The fix needs a migration, so it should go out with the next deploy window.",
    "I could not reproduce it locally with the seeded data set.",
    "Monitoring shows the error rate doubled after Tuesday's release.",
    "Let's pair on this tomorrow morning and decide on the approach.",
    "The design review flagged the empty state as confusing.",
    "This blocks the quarterly report, please prioritise.",
)
_RU = (
    "Ошибка воспроизводится только при медленном соединении.",
    "Проверил на стенде: после обновления всё работает.",
    "Нужно согласовать формат отчёта с финансовым отделом.",
    "Клиент жалуется на долгую загрузку страницы поиска.",
    "Давайте обсудим решение на планировании спринта.",
)
_CODE = (
    (
        "python",
        "def retry(fn, attempts=3):\n    for n in range(attempts):\n        try:\n"
        "            return fn()\n        except TimeoutError:\n            continue\n    raise",
    ),
    ("sql", "SELECT key, status FROM issues\nWHERE updated > now() - interval '7 days';"),
    ("json", '{\n  "errorMessages": [],\n  "errors": {"summary": "required"}\n}'),
    (None, "Traceback (most recent call last):\n  File \"app.py\", line 42\nKeyError: 'id'"),
)
_EMOJI = ((":thumbsup:", "👍"), (":smile:", "😄"), (":warning:", "⚠️"), (":tada:", "🎉"))


def _sentence(rng: random.Random, ru: bool) -> str:
    return rng.choice(_RU if ru else _EN)


def _inlines(rng: random.Random, ru: bool, people: list[str]) -> tuple[Inline, ...]:
    parts: list[Inline] = [Text(_sentence(rng, ru) + " ")]
    roll = rng.random()
    if roll < 0.2 and people:
        parts += [Text("cc "), Mention(rng.choice(people)), Text(" ")]
    elif roll < 0.35:
        parts += [Text("See "), Text("the runbook", href="https://example.com/runbook"), Text(". ")]
    elif roll < 0.5:
        parts += [Text("Important:", ("strong",)), Text(" "), Text("do not", ("em",)), Text(" ")]
    elif roll < 0.6:
        parts += [Text("Set "), Text("retry_limit=5", ("code",)), Text(" ")]
    elif roll < 0.65:
        parts += [Text("old behaviour", ("strike",)), Text(" ")]
    elif roll < 0.7:
        short, text = rng.choice(_EMOJI)
        parts += [Emoji(short, text), Text(" ")]
    parts.append(Text(_sentence(rng, ru)))
    return tuple(parts)


def make_doc(rng: random.Random, people: list[str], *, long: bool = False) -> Doc:
    """A small document mixing every construct the emitters support."""
    ru = rng.random() < 0.15
    blocks: list[Block] = []
    count = rng.randint(8, 14) if long else rng.randint(1, 4)
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            blocks.append(Heading(rng.choice((2, 3)), (Text("Контекст" if ru else "Context"),)))
        elif roll < 0.2:
            items = tuple((Text(_sentence(rng, ru)),) for _ in range(rng.randint(2, 4)))
            blocks.append(ListBlock(rng.random() < 0.4, items))
        elif roll < 0.27:
            lang, code = rng.choice(_CODE)
            blocks.append(CodeBlock(lang, code))
        elif roll < 0.31:
            head = ((Text("Env"),), (Text("Result"),))
            rows = tuple(
                ((Text(e),), (Text(r),)) for e, r in (("staging", "ok"), ("prod", "fails"))
            )
            blocks.append(Table((head, *rows)))
        elif roll < 0.35:
            blocks.append(Panel("info", (Paragraph(_inlines(rng, ru, people)),)))
        elif roll < 0.38:
            blocks.append(Quote((Paragraph((Text(_sentence(rng, ru)),)),)))
        else:
            blocks.append(Paragraph(_inlines(rng, ru, people)))
    return tuple(blocks)


def _between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    moment = lo + (hi - lo) * rng.random()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _status_path(status: str) -> list[str]:
    return {
        "To Do": [],
        "In Progress": ["In Progress"],
        "In Review": ["In Progress", "In Review"],
        "Blocked": ["In Progress", "Blocked"],
        "Done": ["In Progress", "In Review", "Done"],
    }.get(status, [status])


def _histories(
    rng: random.Random, issue: SandboxIssue, people: list[str], names: dict[str, str]
) -> list[SandboxHistory]:
    """Changelog that ends in the issue's current values (status path, assignment, resolution)."""
    steps: list[list[ChangeItem]] = []
    if issue.assignee:
        uid = issue.assignee
        steps.append([ChangeItem("assignee", "jira", "assignee", None, None, uid, names.get(uid))])
    if issue.priority and issue.priority != "Medium" and rng.random() < 0.5:
        to_id = str(PRIORITY_BY_NAME[issue.priority].id)
        steps.append(
            [ChangeItem("priority", "jira", "priority", "3", "Medium", to_id, issue.priority)]
        )
    previous = "To Do"
    for status in _status_path(issue.status):
        items = [
            ChangeItem(
                "status",
                "jira",
                "status",
                str(STATUS_BY_NAME[previous].id),
                previous,
                str(STATUS_BY_NAME[status].id),
                status,
            )
        ]
        if status == "Done" and issue.resolution:
            res_id = str(RESOLUTION_BY_NAME[issue.resolution].id)
            items.append(
                ChangeItem("resolution", "jira", "resolution", None, None, res_id, issue.resolution)
            )
        steps.append(items)
        previous = status
    if not steps:
        return []
    times = sorted(_between(rng, issue.created, issue.updated) for _ in steps[:-1])
    times.append(issue.updated)
    return [
        SandboxHistory(issue.id * 100 + n, rng.choice(people) if people else "", when, items)
        for n, (when, items) in enumerate(zip(times, steps, strict=True))
    ]


def png_bytes(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A valid PNG image, `size` x `size` pixels of one colour."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(title: str) -> bytes:
    """A valid one-page PDF with a line of text (correct xref offsets)."""
    safe = title.encode("ascii", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 40 100 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _attachments(
    rng: random.Random, issue: SandboxIssue, people: list[str]
) -> list[SandboxAttachment]:
    if rng.random() >= 0.25:
        return []
    kinds = rng.sample(["png", "pdf", "txt"], rng.randint(1, 3))
    out = []
    for n, kind in enumerate(kinds):
        when = _between(rng, issue.created, issue.updated)
        author = rng.choice(people) if people else (issue.reporter or "")
        if kind == "png":
            color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            name, mime, data = "screenshot.png", "image/png", png_bytes(color)
        elif kind == "pdf":
            name, mime, data = "report.pdf", "application/pdf", pdf_bytes(f"{issue.key} report")
        else:
            text = f"{issue.key}: {issue.summary}\nlog line 1\nlog line 2\n"
            name, mime, data = "notes.txt", "text/plain", text.encode()
        out.append(SandboxAttachment(issue.id * 10 + n, issue.id, name, mime, data, author, when))
    return out


def make_details(ds: Dataset, issue: SandboxIssue) -> IssueDetails:
    """The lazily built parts of `issue`, identical on every call for the same seed."""
    rng = random.Random(ds.seed * 1_000_003 + issue.id)
    people = [u.id for u in ds.users.values() if issue.project_key in u.projects and u.active]
    inactive = [u.id for u in ds.users.values() if issue.project_key in u.projects and not u.active]
    description = make_doc(rng, people, long=rng.random() < 0.1) if rng.random() < 0.85 else None
    roll = rng.random()
    count = 0 if roll < 0.35 else rng.randint(1, 4) if roll < 0.75 else rng.randint(5, 12)
    if roll > 0.95:
        count = rng.randint(13, 30)
    old = issue.created < issue.updated - timedelta(days=200)
    times = sorted(_between(rng, issue.created, issue.updated) for _ in range(count))
    comments = []
    for n, when in enumerate(times):
        author = rng.choice(inactive) if inactive and old and n == 0 else rng.choice(people)
        body = make_doc(rng, people, long=rng.random() < 0.08)
        comments.append(
            SandboxComment(issue.id * 100 + n, issue.id, author, body, when, when, author)
        )
    return IssueDetails(
        description=description,
        comments=comments,
        histories=_histories(rng, issue, people, {u.id: u.display_name for u in ds.users.values()}),
        attachments=_attachments(rng, issue, people),
        environment="Chrome 120 on macOS 14" if rng.random() < 0.2 else None,
    )
