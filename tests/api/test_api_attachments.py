"""Attachment downloads through the gateway, fetched from JIRA as the caller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_support import ApiUser, login, running_gateway
from tests.support import RunningServer, SandboxFactory

FIND = """{ issues(first: 100, jql: "project = ALPHA") { nodes { key
  attachments { id name size mimeType downloadUrl } } } }"""
HIDDEN = """{ issues(first: 100, jql: "project = GAMMA") { nodes { key
  attachments { downloadUrl } } } }"""


@pytest.fixture(scope="module")
def users(
    sandbox_factory: SandboxFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, ApiUser, ApiUser]]:
    sandbox = sandbox_factory(flavor="cloud", seed=41)
    with running_gateway(Path(tmp_path_factory.mktemp("attachments"))) as gateway:
        alice, bob = login(gateway, sandbox, "alice"), login(gateway, sandbox, "bob")
        yield gateway, alice, bob
        alice.close()
        bob.close()


def _first_attachment(user: ApiUser, query: str = FIND) -> dict[str, object]:
    nodes = user.query(query)["data"]["issues"]["nodes"]
    return next(a for node in nodes for a in node["attachments"])


def test_download_streams_the_file_as_an_attachment(
    users: tuple[RunningServer, ApiUser, ApiUser],
) -> None:
    gateway, alice, _ = users
    attachment = _first_attachment(alice)
    url = f"{gateway.base_url}{attachment['downloadUrl']}"
    response = httpx.get(url, headers={"authorization": f"Bearer {alice.token}"})
    assert response.status_code == 200
    assert len(response.content) == attachment["size"]
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def test_download_needs_a_token(users: tuple[RunningServer, ApiUser, ApiUser]) -> None:
    gateway, alice, _ = users
    url = f"{gateway.base_url}{_first_attachment(alice)['downloadUrl']}"
    assert httpx.get(url).status_code == 401
    bad = httpx.get(url, headers={"authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_hidden_attachment_is_not_found_for_bob(
    users: tuple[RunningServer, ApiUser, ApiUser],
) -> None:
    gateway, alice, bob = users
    hidden = _first_attachment(alice, HIDDEN)  # GAMMA is hidden from bob
    url = f"{gateway.base_url}{hidden['downloadUrl']}".replace(alice.site_id, bob.site_id)
    response = httpx.get(url, headers={"authorization": f"Bearer {bob.token}"})
    assert response.status_code == 404
    unknown = url.split("?")[0].rsplit("/", 1)[0] + "/99999999"
    missing = httpx.get(unknown, headers={"authorization": f"Bearer {bob.token}"})
    assert missing.status_code == 404
    assert missing.json() == response.json()  # "hidden" and "does not exist" look the same
