"""Sandbox JIRA at scale: start-up time and 100-issue search page latency.

Starts ``jira-gateway sandbox --issues N`` as a subprocess (what a user runs), waits until it
answers, then walks 100-issue pages of ``search/jql`` (cloud) or ``search`` (server) with the fields
a UI asks for, over one keep-alive connection. Targets (issue 2): start-up under 30 s at 100,000
issues; a 100-issue page under 50 ms median.

    .venv/bin/python benchmarks/bench_sandbox.py [--issues 100000] [--flavor cloud] [--pages 60]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time

import httpx

FIELDS = "summary,status,assignee,reporter,priority,issuetype,created,updated"
AUTH = ("alice@example.com", "alice-token")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"sandbox exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/rest/api/2/serverInfo", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"sandbox not ready after {timeout} s")


def page_latencies(client: httpx.Client, flavor: str, jql: str, pages: int) -> list[float]:
    """Walk up to ``pages`` pages of 100 issues; return each page's latency in ms."""
    latencies: list[float] = []
    token: str | None = None
    start_at = 0
    for _ in range(pages):
        began = time.perf_counter()
        if flavor == "cloud":
            body: dict[str, object] = {"jql": jql, "maxResults": 100, "fields": FIELDS.split(",")}
            if token:
                body["nextPageToken"] = token
            response = client.post("/rest/api/3/search/jql", json=body)
        else:
            response = client.post(
                "/rest/api/2/search",
                json={
                    "jql": jql,
                    "startAt": start_at,
                    "maxResults": 100,
                    "fields": FIELDS.split(","),
                },
            )
        latencies.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        data = response.json()
        assert len(data["issues"]) == 100 or data.get("isLast") or flavor == "server"
        if flavor == "cloud":
            token = data.get("nextPageToken")
            if not token:
                break
        else:
            start_at += len(data["issues"])
            if start_at >= data["total"]:
                break
    return latencies


def summarize(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"{name:<44} n={len(values):>4}  median={statistics.median(values):7.1f} ms"
        f"  p95={p95:7.1f} ms  max={ordered[-1]:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--flavor", choices=["cloud", "server"], default="cloud")
    parser.add_argument("--pages", type=int, default=60)
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gateway", "sandbox", "--flavor", args.flavor]
    command += ["--issues", str(args.issues), "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        startup = wait_ready(base, proc, timeout=180)
        print(
            f"sandbox {args.flavor}, {args.issues} issues: ready in {startup:.1f} s (target < 30 s)"
        )
        with httpx.Client(base_url=base, auth=AUTH, timeout=30) as client:
            projects = [p["key"] for p in client.get("/rest/api/2/project").json()]
            queries = {
                "all visible issues, ORDER BY key": "ORDER BY key ASC",
                f"project = {projects[0]} ORDER BY created DESC": (
                    f"project = {projects[0]} ORDER BY created DESC"
                ),
                "status + assignee filter, ORDER BY updated": (
                    "statusCategory != Done AND assignee is not EMPTY ORDER BY updated DESC"
                ),
            }
            first_pages: list[float] = []
            for name, jql in queries.items():
                latencies = page_latencies(client, args.flavor, jql, args.pages)
                first_pages.append(latencies[0])
                print(summarize(f"walk: {name}", latencies))
            cold = []
            for i in range(20):  # a distinct query each time: no result cache to help
                began = time.perf_counter()
                response = client.post(
                    "/rest/api/3/search/jql" if args.flavor == "cloud" else "/rest/api/2/search",
                    json={
                        "jql": f"summary ~ w{i} OR priority = High ORDER BY key",
                        "maxResults": 100,
                        "fields": FIELDS.split(","),
                    },
                )
                cold.append((time.perf_counter() - began) * 1000)
                response.raise_for_status()
            print(summarize("first page of a never-seen query (full scan)", cold))
            calls = client.get("/_sandbox/calls").json()
            print(f"sandbox counted {calls['total']} calls")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
