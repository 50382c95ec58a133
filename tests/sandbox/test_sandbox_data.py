"""Seeded data: determinism, internal consistency, real attachments, build speed."""

from __future__ import annotations

import io
import time

from pypdf import PdfReader

from gateway.sandbox.catalog import STATUS_BY_NAME
from gateway.sandbox.seed import build_dataset
from gateway.sandbox.seed_details import make_details
from gateway.sandbox.store import Store


def _fingerprint(issues: list) -> list[tuple]:
    return [
        (i.key, i.summary, i.status, i.assignee, i.created, tuple(i.labels), str(i.custom))
        for i in issues
    ]


def test_same_seed_gives_same_data_and_other_seed_differs() -> None:
    one, two = build_dataset("a", 5, 400), build_dataset("a", 5, 400)
    assert _fingerprint(one.issues) == _fingerprint(two.issues)
    other = build_dataset("a", 6, 400)
    assert _fingerprint(other.issues) != _fingerprint(one.issues)
    issue = one.issues[123]
    first, again = make_details(one, issue), make_details(two, two.issues[123])
    assert [c.body for c in first.comments] == [c.body for c in again.comments]
    assert first.description == again.description
    assert [h.items for h in first.histories] == [h.items for h in again.histories]


def test_issues_are_consistent() -> None:
    data = build_dataset("a", 1, 2000)
    keys = {i.key for i in data.issues}
    kinds = {i.issuetype for i in data.issues}
    assert {"Epic", "Story", "Task", "Bug", "Sub-task"} <= kinds
    assert len(data.projects) == 4
    for issue in data.issues:
        assert issue.created <= issue.updated
        assert issue.status_category == STATUS_BY_NAME[issue.status].category
        assert (issue.resolution is not None) == (issue.status_category == "done")
        if issue.issuetype == "Sub-task":
            assert issue.parent_key in keys
        for uid in (issue.assignee, issue.reporter):
            if uid:  # people only work on projects they can see
                assert issue.project_key in data.users[uid].projects
    # changelog histories end in the current status
    for issue in data.issues[:300]:
        statuses = [
            item.to_string
            for h in make_details(data, issue).histories
            for item in h.items
            if item.field == "status"
        ]
        assert (statuses[-1] if statuses else "To Do") == issue.status


def test_site_b_is_another_tenant() -> None:
    a, b = build_dataset("a", 1, 50), build_dataset("b", 1, 50)
    assert {u.name for u in b.users.values()} & {"carol"}
    assert "carol" not in {u.name for u in a.users.values()}
    assert set(a.projects).isdisjoint(b.projects)


def test_users_cover_the_permission_cases() -> None:
    users = {u.name: u for u in build_dataset("a", 1, 10).users.values()}
    assert len(users) >= 12
    assert users["alice"].admin
    assert users["alice"].projects == {"ALPHA", "BETA", "GAMMA", "DELTA"}
    assert len(users["bob"].projects) == 2
    assert any(not u.active for u in users.values())
    assert any(u.email_hidden for u in users.values())
    assert len({u.id for u in users.values()}) == len(users)
    assert all(len(u.id) == 24 and int(u.id, 16) >= 0 for u in users.values())


def test_attachments_are_real_files() -> None:
    store = Store(issues=300)
    found = {}
    for issue in store.issues.values():
        for att in store.details(issue).attachments:
            found.setdefault(att.mime_type, att)
    assert set(found) == {"image/png", "application/pdf", "text/plain"}
    assert found["image/png"].content.startswith(b"\x89PNG\r\n\x1a\n")
    reader = PdfReader(io.BytesIO(found["application/pdf"].content))
    assert "report" in reader.pages[0].extract_text()
    assert (
        found["text/plain"]
        .content.decode()
        .startswith(store.issue_by_id[found["text/plain"].issue_id].key)
    )


def test_comments_include_cyrillic_long_and_deactivated_authors() -> None:
    store = Store(issues=300)
    comments = [c for i in store.issues.values() for c in store.details(i).comments]
    texts = [store.text_of(i) for i in store.issues.values()]
    assert max(len(store.details(i).comments) for i in store.issues.values()) > 12
    assert any("Ошибка" in t or "Клиент" in t or "Проверил" in t for t in texts)
    inactive = {u.id for u in store.users.values() if not u.active}
    assert any(c.author in inactive for c in comments)


def test_ten_thousand_issues_build_fast() -> None:
    started = time.perf_counter()
    store = Store(issues=10_000)
    elapsed = time.perf_counter() - started
    assert len(store.issues) == 10_000
    assert elapsed < 5, f"10k build took {elapsed:.2f}s"
