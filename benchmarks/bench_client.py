"""JIRA client: 1,000 issues by key through the batching primitive vs one GET per key.

Starts ``python -m gateway sandbox --issues 5000`` as a subprocess (cloud flavor by default),
then fetches the same 1,000 keys two ways through ``JiraClient`` over one shared
``httpx.AsyncClient``: ``fetch_issues_by_key`` (Cloud ``bulkfetch``, 100 keys per call;
Server ``key in (...)`` searches) and ``get_issue`` per key with 8 requests in flight (the
transport's default per-site limit). JIRA calls come from the sandbox's own counter. Each
scenario runs again with ``latency_ms`` injected through ``/_sandbox/faults`` to show what
real network latency does.

    .venv/bin/python benchmarks/bench_client.py [--issues 5000] [--keys 1000] [--latency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.client import Caller, ClientConfig, JiraClient
from gateway.jira.flavor import Flavor
from gateway.jira.transport import JiraTransport

FIELDS = ["summary", "status", "assignee", "priority", "issuetype", "updated"]
ALICE = Caller("alice", httpx.BasicAuth("alice@example.com", "alice-token"))
IN_FLIGHT = 8


@dataclass
class Result:
    name: str
    latency_ms: int
    calls: int
    seconds: float
    found: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"sandbox exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/rest/api/2/serverInfo", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"sandbox not ready after {timeout} s")


async def by_batch(client: JiraClient, keys: list[str]) -> int:
    found = await fetch_issues_by_key(client, ALICE, keys, fields=FIELDS)
    return sum(issue is not None for issue in found.values())


async def by_single_gets(client: JiraClient, keys: list[str]) -> int:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(key: str) -> bool:
        async with gate:
            await client.get_issue(ALICE, key, fields=FIELDS)
            return True

    return sum(await asyncio.gather(*(one(k) for k in keys)))


async def measure(
    control: httpx.AsyncClient,
    name: str,
    latency: int,
    run: Callable[[], Awaitable[int]],
) -> Result:
    await control.post("/_sandbox/faults", json={"latency_ms": latency} if latency else {})
    await control.post("/_sandbox/calls/reset")
    began = time.perf_counter()
    found = await run()
    seconds = time.perf_counter() - began
    calls = (await control.get("/_sandbox/calls")).json()["total"]
    await control.post("/_sandbox/faults", json={})
    return Result(name, latency, calls, seconds, found)


async def bench(base: str, flavor: Flavor, count: int, latencies: list[int]) -> list[Result]:
    async with (
        httpx.AsyncClient() as http,
        httpx.AsyncClient(base_url=base, timeout=30) as control,
    ):
        client = JiraClient(
            JiraTransport(http, base, site="bench"), config=ClientConfig(flavor=flavor)
        )
        everything = [i.key async for i in client.search_all(ALICE, "order by key", fields=[])]
        step = max(1, len(everything) // count)
        keys = everything[::step][:count]
        await by_batch(client, keys[:10])  # warm the connection pool and the sandbox
        results: list[Result] = []
        for latency in latencies:
            results.append(
                await measure(control, "batched", latency, lambda: by_batch(client, keys))
            )
            results.append(
                await measure(
                    control,
                    f"GET per key ({IN_FLIGHT} in flight)",
                    latency,
                    lambda: by_single_gets(client, keys),
                )
            )
        return results


def table(results: list[Result], count: int, flavor: Flavor) -> str:
    lines = [
        f"{count} issues by key, {flavor.value} sandbox, fields: {','.join(FIELDS)}",
        f"{'strategy':<28} {'latency':>8} {'found':>6} {'calls':>6} {'wall s':>8} {'ms/issue':>9}",
    ]
    for r in results:
        lines.append(
            f"{r.name:<28} {r.latency_ms:>6}ms {r.found:>6} {r.calls:>6} {r.seconds:>8.2f}"
            f" {1000 * r.seconds / max(1, r.found):>9.2f}"
        )
    for batched, single in zip(results[::2], results[1::2], strict=True):
        lines.append(
            f"latency {batched.latency_ms} ms: {single.calls / max(1, batched.calls):.0f}x fewer "
            f"calls, {single.seconds / max(1e-9, batched.seconds):.1f}x faster with batching"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--flavor", choices=["cloud", "server"], default="cloud")
    parser.add_argument("--latency", type=int, default=50, help="injected ms; 0 to skip")
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gateway", "sandbox", "--flavor", args.flavor]
    command += ["--issues", str(args.issues), "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(base, proc)
        latencies = [0, args.latency] if args.latency else [0]
        flavor = Flavor(args.flavor)
        results = asyncio.run(bench(base, flavor, args.keys, latencies))
        print(table(results, args.keys, flavor))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
