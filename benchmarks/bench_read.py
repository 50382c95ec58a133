"""The read path measured end to end (issue 5, Done-when): one table, one run.

For issue 5's 50-issue budget query, each server is its own uvicorn process with one worker;
a load generator (this process) keeps 1 and 4 connections busy and reports requests/s, median
latency and JIRA calls per query (from the sandbox's counter):

  (a) floor: a bare Strawberry app serving the same 50 objects from memory, and a bare
      Starlette endpoint returning the same bytes (the HTTP limit);
  (b) the gateway on a response-cache hit;
  (c) the gateway on a response-cache miss with warm data (an extra, unused variable changes
      the response-cache key; data comes from the data cache);
  (d) cold: every request has a new JQL (same 300 issues), so JIRA is asked each time; next to
      it the sandbox's own latency for the one search it answers.

    .venv/bin/python benchmarks/bench_read.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import strawberry

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
QUERY = (
    "query($j: String) { issues(first: 50, jql: $j) { nodes { key summary status { name } "
    "assignee { displayName } reporter { displayName } comments(first: 5) { nodes { author "
    "{ displayName } body { text } } } } } }"
)
SEARCH = "/rest/api/3/search/jql"
BASIC = "YWxpY2VAZXhhbXBsZS5jb206YWxpY2UtdG9rZW4="  # alice@example.com:alice-token
LOGIN = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }"
FLOOR_FILE = Path(tempfile.gettempdir()) / "jgw_bench_read_floor.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


# --- the floor apps (run in a child process: ``bench_read.py --floor PORT``) ---------------
@strawberry.type
class Named:
    name: str | None = None
    display_name: str | None = None
    text: str | None = None


@strawberry.type
class FloorComment:
    author: Named | None
    body: Named


@strawberry.type
class FloorComments:
    nodes: list[FloorComment]


@strawberry.type
class FloorIssue:
    key: str
    summary: str | None
    status: Named | None
    assignee: Named | None
    reporter: Named | None
    raw_comments: strawberry.Private[FloorComments]

    @strawberry.field
    def comments(self, first: int | None = 10) -> FloorComments:
        return FloorComments(nodes=self.raw_comments.nodes[:first])


@strawberry.type
class FloorConnection:
    nodes: list[FloorIssue]


FLOOR_ISSUES: list[FloorIssue] = []


@strawberry.type
class FloorQuery:
    @strawberry.field
    def issues(self, first: int = 50, jql: str | None = None) -> FloorConnection:
        return FloorConnection(nodes=FLOOR_ISSUES[:first])


def _named(d: dict[str, Any] | None) -> Named | None:
    if d is None:
        return None
    return Named(name=d.get("name"), display_name=d.get("displayName"), text=d.get("text"))


def floor_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from strawberry.asgi import GraphQL

    body = FLOOR_FILE.read_bytes()
    for n in orjson.loads(body)["data"]["issues"]["nodes"]:
        FLOOR_ISSUES.append(
            FloorIssue(
                key=n["key"], summary=n["summary"], status=_named(n["status"]),
                assignee=_named(n["assignee"]), reporter=_named(n["reporter"]),
                raw_comments=FloorComments(nodes=[
                    FloorComment(author=_named(c["author"]), body=Named(text=c["body"]["text"]))
                    for c in n["comments"]["nodes"]
                ]),
            )
        )  # fmt: skip

    async def raw(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    schema = strawberry.Schema(FloorQuery)
    return Starlette(
        routes=[
            Route("/raw", raw, methods=["POST"]),
            Route("/graphql", GraphQL(schema), methods=["POST"]),
        ]
    )


# --- load generation ---------------------------------------------------------------------
async def load(
    url: str, make_body: Callable[[int], bytes], headers: dict[str, str], conns: int, seconds: float
) -> tuple[float, float, int]:
    """(requests/s, median latency ms, requests) with ``conns`` connections kept busy."""
    latencies: list[float] = []
    counter = iter(range(10**9))
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            while time.monotonic() < stop:
                body = make_body(next(counter))
                t0 = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200 or b'"errors"' in response.content[:20]:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.monotonic() - started
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, len(latencies)


WRK_SCRIPT = """
local pre = [==[{pre}]==]
local post = [==[{post}]==]
local counter = 0
wrk.method = "POST"
{headers}
request = function()
  counter = counter + 1
  local body = pre
  if post ~= "" or {numbered} then body = pre .. tostring(counter + {offset}) .. post end
  return wrk.format(nil, nil, nil, body)
end
"""


def load_wrk(
    url: str, template: bytes, headers: dict[str, str], conns: int, seconds: float, offset: int
) -> tuple[float, float, int]:
    """The same measurement with wrk (C, one thread): the client costs the server's cores little.

    ``template`` is the body; ``__N__`` in it is replaced by a per-request counter.
    """
    pre, _, post = template.decode().partition("__N__")
    numbered = "true" if "__N__" in template.decode() else "false"
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = WRK_SCRIPT.format(pre=pre, post=post, headers=lines, numbered=numbered, offset=offset)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency", "-s",
         handle.name, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(handle.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"{url}: non-2xx answers\n{out}")
    rps = float(out.split("Requests/sec:")[1].split()[0])
    found = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no latency distribution in wrk output\n{out}")
    p50 = found.group(1)
    p50_ms = float(p50[:-2]) if p50.endswith("ms") else (
        float(p50[:-2]) / 1000 if p50.endswith("us") else float(p50[:-1]) * 1000
    )  # fmt: skip
    total = int(out.split(" requests in ")[0].split()[-1])
    return rps, p50_ms, total


def calls(sandbox: str) -> int:
    return int(httpx.get(f"{sandbox}/_sandbox/calls").json()["total"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "httpx"],
        default="auto",
        help="load generator: wrk (Debian package) when installed, else httpx in this process",
    )
    parser.add_argument("--floor", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor is not None:
        import uvicorn

        uvicorn.run(floor_app(), host="127.0.0.1", port=args.floor, log_level="warning")
        return

    from gateway.db.migrate import upgrade

    procs: list[subprocess.Popen[bytes]] = []
    try:
        sb_port, gw_port, fl_port = free_port(), free_port(), free_port()
        sandbox = f"http://127.0.0.1:{sb_port}"
        gateway = f"http://127.0.0.1:{gw_port}"
        jgw = str(Path(PY).with_name("jira-gateway"))
        procs.append(
            spawn([jgw, "sandbox", "--flavor", "cloud", "--issues", "300", "--port", str(sb_port)])
        )
        var = Path(tempfile.mkdtemp(prefix="jgw-bench-"))
        db = f"sqlite+aiosqlite:///{var / 'gw.sqlite3'}"
        upgrade(db)
        env = {"JGW_DATABASE_URL": db, "JGW_VAR_DIR": str(var), "JGW_ALLOW_INSECURE_SITES": "true",
               "JGW_LOG_LEVEL": "WARNING", "JGW_PORT": str(gw_port)}  # fmt: skip
        procs.append(spawn([jgw, "serve"], env))
        wait_up(f"{sandbox}/_sandbox/calls")
        wait_up(f"{gateway}/healthz")
        credential = {"siteUrl": sandbox, "email": "alice@example.com", "apiToken": "alice-token"}
        login = httpx.post(
            f"{gateway}/graphql",
            json={"query": LOGIN, "variables": {"i": credential}},
            timeout=30,
        ).json()
        token = login["data"]["login"]["accessToken"]
        auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        fixed = orjson.dumps({"query": QUERY, "variables": {"j": None}})
        body = httpx.post(f"{gateway}/graphql", content=fixed, headers=auth, timeout=30).content
        FLOOR_FILE.write_bytes(body)
        procs.append(spawn([PY, __file__, "--floor", str(fl_port)]))
        floor = f"http://127.0.0.1:{fl_port}"
        wait_up(f"{floor}/raw")
        plain = {"content-type": "application/json"}

        def nonce(i: int) -> bytes:
            return orjson.dumps({"query": QUERY, "variables": {"j": None, "nonce": i}})

        def cold(i: int) -> bytes:
            jql = f"created > -{1000 + i}d"  # every issue, a new search each time
            return orjson.dumps({"query": QUERY, "variables": {"j": jql}})

        # The same bodies for wrk: __N__ is the request counter.
        templates = {
            nonce: orjson.dumps({"query": QUERY, "variables": {"j": None, "nonce": "__N__"}}),
            cold: orjson.dumps({"query": QUERY, "variables": {"j": "created > -__N__d"}}),
        }
        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
        print(f"load generator: {'wrk' if use_wrk else 'httpx (in this process)'}")

        search = orjson.dumps({"jql": "created > -999d", "maxResults": 50, "fields": [
            "summary", "status", "assignee", "reporter", "comment"]})  # fmt: skip
        basic = {**plain, "authorization": "Basic " + BASIC}
        same = lambda i: fixed  # noqa: E731
        rows = [
            ("(a) bare Strawberry, 50 objects in memory", f"{floor}/graphql", same, plain),
            ("(a) bare Starlette, same bytes", f"{floor}/raw", same, plain),
            ("(b) gateway, response-cache hit", f"{gateway}/graphql", same, auth),
            ("(c) gateway, miss, warm data", f"{gateway}/graphql", nonce, auth),
            ("(d) gateway, cold (new search each time)", f"{gateway}/graphql", cold, auth),
            ("(d) sandbox JIRA alone, same search", f"{sandbox}{SEARCH}", lambda i: search, basic),
        ]  # fmt: skip
        print(f"{'scenario':44} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'JIRA calls/q':>12}")
        results: dict[tuple[str, int], float] = {}
        offset = 0
        for name, url, make, headers in rows:
            for conns in (1, 4):
                before = calls(sandbox)
                if use_wrk:
                    template = templates.get(make, make(0))
                    first = 1000 + offset if make is cold else offset
                    rps, p50, n = load_wrk(url, template, headers, conns, args.seconds, first)
                else:
                    rps, p50, n = asyncio.run(
                        load(
                            url, lambda i, m=make, o=offset: m(i + o), headers, conns, args.seconds
                        )
                    )
                offset += n + 1
                per = (calls(sandbox) - before) / n
                if "sandbox" in name:
                    per = 1.0
                results[(name[:3], conns)] = (
                    max(results.get((name[:3], conns), 0), rps) if name[:3] != "(a)" else rps
                )
                results[(name, conns)] = rps
                print(f"{name:44} {conns:>5} {rps:>8.0f} {p50:>8.2f} {per:>12.2f}")
        for conns in (1, 4):
            floor_rps = results[(rows[0][0], conns)]
            http_rps = results[(rows[1][0], conns)]
            hit = results[(rows[2][0], conns)]
            miss = results[(rows[3][0], conns)]
            print(
                f"conns={conns}: (b) = {hit / floor_rps:.1f}x floor (target >= 20x), "
                f"{hit / http_rps:.0%} of HTTP limit (>= 25%); "
                f"(c) = {miss / floor_rps:.2f}x floor (>= 0.8x)"
            )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
