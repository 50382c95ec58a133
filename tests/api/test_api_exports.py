"""PDF exports through the API (embedded mode): request, progress, download, permissions."""

from __future__ import annotations

import io
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from gateway.markup.adf import adf_to_text
from tests.api_support import ApiUser, login, running_gateway
from tests.support import RunningServer

EXPORT = """
mutation($input: BulkExportInput!) {
  exportIssuesPdf(input: $input) { id status progress { done total } }
}
"""
JOB = """
query($id: ID!) {
  exportJob(id: $id) {
    id status layout progress { done total } error { code message } downloadUrl
    downloadUrlExpiresAt expiresAt sizeBytes pageCount skipped
  }
}
"""
# ALPHA-4 and GAMMA-5 have Cyrillic summaries (sandbox seed 1); bob sees ALPHA and BETA only.
KEYS = ["ALPHA-4", "GAMMA-5", "ALPHA-21", "BETA-11", "ALPHA-2", "DELTA-33"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_gateway(tmp_path_factory.mktemp("exports")) as server:
        yield server


@pytest.fixture(scope="module")
def alice(gateway: RunningServer, cloud_sandbox: RunningServer) -> ApiUser:
    return login(gateway, cloud_sandbox, "alice")


@pytest.fixture(scope="module")
def bob(gateway: RunningServer, cloud_sandbox: RunningServer) -> ApiUser:
    return login(gateway, cloud_sandbox, "bob")


def start(user: ApiUser, **input: Any) -> dict[str, Any]:
    payload = user.query(EXPORT, {"input": input})
    assert "errors" not in payload, payload
    job: dict[str, Any] = payload["data"]["exportIssuesPdf"]
    return job


def wait(user: ApiUser, job_id: str, within: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        payload = user.query(JOB, {"id": job_id})
        assert "errors" not in payload, payload
        job: dict[str, Any] = payload["data"]["exportJob"]
        if job["status"] in {"DONE", "FAILED", "CANCELLED"}:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def flat(text: str) -> str:
    """No whitespace (wrapping differs) and no emoji: the shipped fonts have no emoji glyphs,
    the PDF shows an empty box that extracts as NUL."""
    return "".join(ch for ch in text if not ch.isspace() and ch != "\x00" and not _emoji(ch))


def _emoji(ch: str) -> bool:
    return ord(ch) >= 0x2190 and unicodedata.category(ch).startswith("S")


def expected(sandbox: RunningServer, key: str, who: str = "alice") -> dict[str, Any]:
    """The issue as JIRA gives it to the user: summary, description and comments as text."""
    raw = httpx.get(
        f"{sandbox.base_url}/rest/api/3/issue/{key}",
        params={"fields": "summary,description,comment"},
        auth=(f"{who}@example.com", f"{who}-token"),
    ).json()["fields"]
    return {
        "summary": raw["summary"],
        "description": adf_to_text(raw["description"]) if raw.get("description") else "",
        "comments": [adf_to_text(c["body"]) for c in raw["comment"]["comments"]],
    }


def assert_text_in(pdf_text: str, text: str) -> None:
    """Every paragraph of ``text`` is in the PDF (whitespace aside: lines wrap differently)."""
    # Table rows come as "a | b" in plain text and as cells in the PDF: check cell by cell.
    for paragraph in re.split(r"\n| \| ", text):
        # The first 80 characters of a paragraph: long ones may cross a page break.
        # List markers differ: plain text says "- " or "1. ", the PDF draws a bullet or number.
        wanted = flat(re.sub(r"^\s*(?:[-*\u2022]|\d+\.)\s+", "", paragraph))[:80]
        if wanted:
            assert wanted in pdf_text, paragraph


def download(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=30)  # no Authorization: the signed URL is the capability
    assert response.status_code == 200, response.text
    return response


def test_merged_export_holds_every_issue_and_comment(
    alice: ApiUser, cloud_sandbox: RunningServer, tmp_path: Path
) -> None:
    job = start(alice, keys=[*KEYS, "NOPE-999"], title="Quarterly review")
    assert job["status"] == "PENDING"
    assert job["progress"] == {"done": 0, "total": len(KEYS) + 1}
    started = time.monotonic()
    done = wait(alice, job["id"])
    print(f"6-issue merged export: {time.monotonic() - started:.1f} s")
    assert done["status"] == "DONE", done
    assert done["skipped"] == ["NOPE-999"]
    assert done["progress"] == {"done": len(KEYS) + 1, "total": len(KEYS) + 1}
    response = download(done["downloadUrl"])
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert done["sizeBytes"] == len(response.content)
    (tmp_path / "sample.pdf").write_bytes(response.content)
    reader = PdfReader(io.BytesIO(response.content))
    assert done["pageCount"] == len(reader.pages)
    text = flat("\n".join(page.extract_text() for page in reader.pages))
    contents = flat("".join(reader.pages[i].extract_text() for i in range(2)))
    outline = {item.title.split()[0] for item in reader.outline if not isinstance(item, list)}
    assert set(KEYS) <= outline
    for key in KEYS:
        issue = expected(cloud_sandbox, key)
        assert flat(key) in contents, f"{key} missing from the table of contents"
        assert flat(issue["summary"]) in text, key
        assert_text_in(text, issue["description"])
        for comment in issue["comments"]:
            assert_text_in(text, comment)
    assert flat("Ошибка") in text or flat("Медленная") in text or flat("Добавить") in text


def test_issues_the_user_cannot_see_are_skipped_never_rendered(
    bob: ApiUser, cloud_sandbox: RunningServer
) -> None:
    done = wait(bob, start(bob, keys=["ALPHA-4", "GAMMA-5"])["id"])
    assert done["status"] == "DONE"
    assert done["skipped"] == ["GAMMA-5"]
    reader = PdfReader(io.BytesIO(download(done["downloadUrl"]).content))
    text = flat("\n".join(page.extract_text() for page in reader.pages))
    hidden = expected(cloud_sandbox, "GAMMA-5")  # as alice, who may see it
    assert flat(hidden["summary"]) not in text
    assert flat(expected(cloud_sandbox, "ALPHA-4", "bob")["summary"]) in text


def test_zip_has_one_pdf_per_issue(alice: ApiUser, cloud_sandbox: RunningServer) -> None:
    keys = ["ALPHA-4", "BETA-11", "ALPHA-2"]
    done = wait(alice, start(alice, keys=keys, layout="ZIP")["id"])
    assert done["status"] == "DONE"
    assert done["layout"] == "ZIP"
    response = download(done["downloadUrl"])
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == sorted(f"{k}.pdf" for k in keys)
        for key in keys:
            pdf = PdfReader(io.BytesIO(archive.read(f"{key}.pdf")))
            text = flat("".join(p.extract_text() for p in pdf.pages))
            assert flat(expected(cloud_sandbox, key)["summary"]) in text


def test_jql_export_with_a_saved_landscape_summary_template(alice: ApiUser) -> None:
    saved = alice.query(
        """mutation { saveExportTemplate(name: "wide", options: {template: SUMMARY,
           orientation: LANDSCAPE, headerText: "Для внутреннего использования"}) {
           name template orientation headerText } }"""
    )
    assert saved["data"]["saveExportTemplate"]["orientation"] == "LANDSCAPE"
    listed = alice.query("{ exportTemplates { name template } }")["data"]["exportTemplates"]
    assert {"name": "wide", "template": "SUMMARY"} in listed
    job = start(alice, jql="project = BETA", options={"savedTemplate": "wide"})
    done = wait(alice, job["id"])
    assert done["status"] == "DONE", done
    assert done["progress"]["total"] == done["progress"]["done"] > 0
    reader = PdfReader(io.BytesIO(download(done["downloadUrl"]).content))
    box = reader.pages[-1].mediabox
    assert box.width > box.height
    assert flat("Для внутреннего использования") in flat(reader.pages[-1].extract_text())


def test_limit_and_invalid_options_are_typed_errors(alice: ApiUser) -> None:
    too_many = alice.query(EXPORT, {"input": {"keys": [f"ALPHA-{n}" for n in range(1, 5002)]}})
    assert too_many["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    bad_zone = alice.query(
        EXPORT, {"input": {"keys": ["ALPHA-1"], "options": {"timeZone": "Mars/Olympus"}}}
    )
    error = bad_zone["errors"][0]
    assert error["extensions"] == {"code": "INVALID_OPTION", "field": "timeZone"}
    assert "timeZone" in error["message"]
    no_source = alice.query(EXPORT, {"input": {"keys": ["ALPHA-1"], "jql": "project = ALPHA"}})
    assert no_source["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_downloads_and_jobs_are_owner_only(alice: ApiUser, bob: ApiUser) -> None:
    done = wait(alice, start(alice, keys=["ALPHA-2"])["id"])
    url = done["downloadUrl"]
    foreign = bob.query(JOB, {"id": done["id"]})
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    base, token = url.rsplit("/", 1)
    for bad in ("nope", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x"):
        response = httpx.get(f"{base}/{bad}")
        assert response.status_code == 404
        assert response.text == "Not Found"
    # A forged token signed for bob naming alice's export: not bob's, so the same 404.
    tokens = alice.gateway.app.state.gateway.auth.tokens
    export_id = _export_id(done["id"])
    forged = tokens.issue_purpose_token(
        "export", bob_principal(bob), ttl=_hour(), extra={"eid": export_id}
    )
    assert httpx.get(f"{base}/{forged}").status_code == 404
    assert httpx.get(url).status_code == 200


def test_cancel_stops_an_export(alice: ApiUser) -> None:
    job = start(alice, keys=[f"ALPHA-{n}" for n in range(1, 120)])
    cancelled = alice.query(
        "mutation($id: ID!) { cancelExport(id: $id) { status } }", {"id": job["id"]}
    )
    assert cancelled["data"]["cancelExport"]["status"] == "CANCELLED"
    done = wait(alice, job["id"])
    assert done["status"] == "CANCELLED"
    assert done["downloadUrl"] is None
    time.sleep(1.0)  # a running render stops at its next heartbeat and leaves no file
    assert wait(alice, job["id"])["status"] == "CANCELLED"


def _export_id(global_id: str) -> str:
    from schema.common import decode_global_id

    return decode_global_id(global_id)[2]


def bob_principal(bob: ApiUser) -> str:
    tokens = bob.gateway.app.state.gateway.auth.tokens
    return str(tokens.verify_access_token(bob.token).principal_id)


def _hour() -> Any:
    from datetime import timedelta

    return timedelta(hours=1)
