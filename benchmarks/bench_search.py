"""Local mirror: initial and incremental sync, full-text search latency, issueStats.

Starts ``python -m gateway sandbox --issues 100000`` (cloud flavor) as a subprocess and a fresh
PostgreSQL database (dropped at the end), then measures:

1. the initial sync as alice (every issue): seconds and issues/s;
2. 100 random issues edited through JIRA's REST API, then an incremental sync: how many rows it
   changed and whether they are exactly the edited ones;
3. full-text candidate queries for two-word queries (words taken from mirrored summaries):
   p50/p95 of the SQL alone, and of the whole permission-checked search as bob (SQL + one bulk
   fetch per 100 candidates as bob + snippets for a page of 20);
4. ``issueStats`` grouped by status over the whole site, from the mirror.

    .venv/bin/python benchmarks/bench_search.py [--issues 100000] [--queries 200]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import asyncpg
import httpx
from sqlalchemy import func, select

from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.db.models import MirrorIssue, Principal, Site, SiteAccount
from gateway.jira.client import Caller, JiraClient
from gateway.jira.transport import JiraTransport
from gateway.mirror_search import candidates, search_mirror
from gateway.stats import StatsField, browsable_projects, from_mirror
from gateway.sync import SyncSource, sync_site

ALICE = Caller("alice", httpx.BasicAuth("alice@example.com", "alice-token"))
BOB = Caller("bob", httpx.BasicAuth("bob@example.com", "bob-token"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"sandbox exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/rest/api/2/serverInfo", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"sandbox not ready after {timeout} s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(base: str, url: str, queries: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as db, db.begin():
        site = Site(base_url=base, name="bench", flavor="cloud")
        db.add(site)
        await db.flush()
        db.add(Principal(id="alice", default_site_id=site.id))
        await db.flush()
        db.add(
            SiteAccount(
                id="alice",
                principal_id="alice",
                site_id=site.id,
                jira_account_id="alice",
                display_name="Alice",
                auth_kind="api_token",
                credential_ciphertext="-",
            )
        )
        site_id = site.id
    async with httpx.AsyncClient(timeout=60) as http:
        client = JiraClient(JiraTransport(http, base, site=site_id))
        source = SyncSource(site_id, "alice", client, ALICE)

        report = await sync_site(sessionmaker, source, full_scan=False)
        print(
            f"initial sync: {report.fetched} issues in {report.seconds:.1f} s "
            f"({report.fetched / report.seconds:.0f} issues/s, {report.pages} pages)"
        )

        async with sessionmaker() as db:
            keys = list(await db.scalars(select(MirrorIssue.issue_key)))
        rng = random.Random(6)
        edited = rng.sample(keys, 100)
        for n, key in enumerate(edited):
            await client.edit_issue(ALICE, key, fields={"summary": f"bench edit {n} of {key}"})
        inc = await sync_site(sessionmaker, source, full_scan=False)
        exact = sorted(inc.changed) == sorted(edited)
        print(
            f"incremental sync after 100 edits: fetched {inc.fetched}, changed {len(inc.changed)}"
            f" (exactly the edited ones: {exact}) in {inc.seconds * 1000:.0f} ms"
        )

        scan = await sync_site(sessionmaker, source, full_scan=True)
        print(
            f"full reconcile scan: {scan.seconds:.1f} s, tombstoned {scan.tombstoned}, "
            f"restored {scan.restored}"
        )

        async with sessionmaker() as db:
            summaries = list(
                await db.scalars(select(MirrorIssue.summary).order_by(func.random()).limit(queries))
            )
        texts = []
        for summary in summaries:
            words = [w for w in summary.split() if w.isalpha() and len(w) > 3]
            if len(words) >= 2:
                texts.append(" ".join(rng.sample(words, 2)))
        sql_ms: list[float] = []
        counts: list[int] = []
        for text in texts:
            async with sessionmaker() as db:
                started = time.perf_counter()
                found = await candidates(db, site_id, text)
                sql_ms.append((time.perf_counter() - started) * 1000)
                counts.append(len(found))
        print(
            f"FTS candidates, {len(texts)} two-word queries: p50 {pct(sql_ms, 0.5):.1f} ms, "
            f"p95 {pct(sql_ms, 0.95):.1f} ms, max {max(sql_ms):.1f} ms "
            f"(median {statistics.median(counts):.0f} candidates)"
        )
        full_ms: list[float] = []
        for text in texts[:50]:
            started = time.perf_counter()
            await search_mirror(sessionmaker, client, BOB, site_id, text, first=20)
            full_ms.append((time.perf_counter() - started) * 1000)
        print(
            f"searchIssues end to end as bob (incl. bulk permission fetch), {len(full_ms)} "
            f"queries: p50 {pct(full_ms, 0.5):.1f} ms, p95 {pct(full_ms, 0.95):.1f} ms"
        )

        projects = await browsable_projects(client, ALICE)
        started = time.perf_counter()
        async with sessionmaker() as db:
            stats = await from_mirror(db, site_id, projects, [StatsField.STATUS])
        took = (time.perf_counter() - started) * 1000
        total = sum(b.count for b in stats.buckets)
        print(
            f"issueStats by status over the site: {took:.1f} ms, {len(stats.buckets)} buckets, "
            f"{total} issues"
        )
    await engine.dispose()


async def with_database(admin_url: str, body: str) -> str:
    parts = urlsplit(admin_url)
    conn = await asyncpg.connect(f"postgresql://{parts.netloc}{parts.path}")
    try:
        await conn.execute(body)
    finally:
        await conn.close()
    return f"postgresql://{parts.netloc}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/test", help="admin DB"
    )
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gateway", "sandbox", "--issues", str(args.issues)]
    command += ["--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    name = f"jgw_bench_{uuid.uuid4().hex[:10]}"
    server = asyncio.run(with_database(args.database_url, f'CREATE DATABASE "{name}"'))
    try:
        wait_ready(base, proc)
        print(f"sandbox: {args.issues} issues (cloud) at {base}; PostgreSQL database {name}")
        asyncio.run(run(base, f"{server}/{name}", args.queries))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        asyncio.run(
            with_database(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


if __name__ == "__main__":
    main()
