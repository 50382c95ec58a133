"""Kill test (issue 8): an arq worker subprocess SIGKILLed mid-export; a restarted one finishes.

Services mode for real: PostgreSQL, Redis (a database of its own, so no other test's worker
takes these jobs), the gateway over HTTP and ``jira-gateway worker`` as a subprocess.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from pypdf import PdfReader

from gateway.app import create_app
from gateway.config import load_settings
from gateway.db.migrate import upgrade
from tests.api_support import ApiUser, login
from tests.conftest import RunningServer, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 3
JOB = """query($id: ID!) { exportJob(id: $id) { status progress { done total } pageCount
  downloadUrl skipped error { code message } } }"""


@pytest.fixture
def services(
    tmp_path: Path, fresh_pg_database: str, redis_url: str
) -> Iterator[tuple[RunningServer, dict[str, str]]]:
    upgrade(fresh_pg_database)
    queue_url = redis_url.rsplit("/", 1)[0] + "/12"
    client = redis.Redis.from_url(queue_url)
    for key in client.scan_iter("arq:*"):
        client.delete(key)
    client.close()
    env = {
        "JGW_DATABASE_URL": fresh_pg_database,
        "JGW_REDIS_URL": queue_url,
        "JGW_VAR_DIR": str(tmp_path),
        "JGW_ALLOW_INSECURE_SITES": "true",
        "JGW_EXPORT_LEASE_S": str(LEASE_S),
    }
    settings = load_settings(
        database_url=fresh_pg_database,
        redis_url=queue_url,
        var_dir=tmp_path,
        allow_insecure_sites=True,
    )
    server = serve_in_thread(create_app(settings))
    try:
        yield server, env
    finally:
        server.stop()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def job(user: ApiUser, job_id: str) -> dict[str, Any]:
    payload = user.query(JOB, {"id": job_id})
    assert "errors" not in payload, payload
    result: dict[str, Any] = payload["data"]["exportJob"]
    return result


@pytest.mark.timeout(400)
def test_sigkilled_worker_export_finishes_once_after_restart(
    services: tuple[RunningServer, dict[str, str]], cloud_sandbox: RunningServer, tmp_path: Path
) -> None:
    gateway, env = services
    alice = login(gateway, cloud_sandbox, "alice")
    started = alice.query(
        """mutation { exportIssuesPdf(input: {jql: "project in (ALPHA, BETA, GAMMA, DELTA)",
           title: "Kill test"}) { id } }"""
    )
    assert "errors" not in started, started
    job_id = started["data"]["exportIssuesPdf"]["id"]
    log = tmp_path / "worker.log"
    seen: list[tuple[str, int, int]] = []
    worker = start_worker(env, log)
    try:
        deadline = time.monotonic() + 180
        while True:  # kill once about a fifth of the issues are rendered
            state = job(alice, job_id)
            seen.append((state["status"], state["progress"]["done"], state["progress"]["total"]))
            total = state["progress"]["total"]
            if state["status"] == "RUNNING" and total and state["progress"]["done"] >= total // 5:
                break
            assert state["status"] in {"PENDING", "RUNNING"}, (state, log.read_text())
            assert time.monotonic() < deadline, (seen[-3:], log.read_text())
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        killed_at = seen[-1]
        assert 0 < killed_at[1] < killed_at[2] == 300, killed_at
        time.sleep(LEASE_S + 1)  # the dead run's heartbeat must be older than the lease
        assert job(alice, job_id)["status"] == "RUNNING"  # nobody finished it meanwhile
        worker = start_worker(env, log)  # its startup sweep re-enqueues the export
        deadline = time.monotonic() + 240
        while True:
            state = job(alice, job_id)
            seen.append((state["status"], state["progress"]["done"], state["progress"]["total"]))
            if state["status"] not in {"PENDING", "RUNNING"}:
                break
            assert time.monotonic() < deadline, (seen[-3:], log.read_text())
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
    print("progress sequence:", [done for _s, done, _t in seen])
    assert state["status"] == "DONE", (state, log.read_text()[-3000:])
    dones = [done for _s, done, _t in seen]
    assert dones == sorted(dones), dones  # never backwards, across the kill
    assert dones[-1] == 300
    files = sorted(p.name for p in (tmp_path / "exports").iterdir() if p.is_file())
    assert len(files) == 1, files
    assert files[0].endswith(".pdf")
    staging = tmp_path / "exports" / ".staging"
    assert not staging.exists() or not list(staging.iterdir())
    pdf = PdfReader(io.BytesIO(httpx.get(state["downloadUrl"], timeout=60).content))
    assert len(pdf.pages) == state["pageCount"]
    issues = [o for o in pdf.outline if not isinstance(o, list) and o.title != "Contents"]
    assert len(issues) == 300
