"""Live events over WebSocket: 2,000 subscribers receive a webhook-triggered event.

Starts the sandbox JIRA and the gateway as subprocesses (``python -m gateway ...``), signs in
alice and bob, registers the gateway's webhook with ``registerWebhooks``, opens N
``graphql-transport-ws`` connections (one ``issueChanged`` subscription each, alice and bob
alternating) from ONE asyncio process with raw ``websockets``, then edits an issue through the
sandbox's REST API R times. Latency per subscriber = time its ``next`` message arrived minus
the moment the edit was sent: the whole path (sandbox webhook POST, HMAC check, stored
delivery, job, cache invalidation, broker, per-user permission check with JIRA, fan-out).
Memory per connection = growth of the gateway process's RSS (``/proc``) over the N sockets.

Two scenarios: ``embedded`` (one gateway process, SQLite, in-process broker and jobs) and
``services`` (two gateway processes on one PostgreSQL database and one Redis, plus an arq
worker; the webhook goes to A, half the subscribers are on B).

    .venv/bin/python benchmarks/bench_ws.py [--subscribers 2000] [--rounds 5] [--only embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from gateway.auth.scopes import ALL_SCOPES
from gateway.auth.sessions import SessionService
from gateway.auth.settings import AuthConfig
from gateway.auth.tokens import TokenService
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade

PG_ADMIN = os.environ.get("JGW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("JGW_BENCH_REDIS", "redis://127.0.0.1:6379/14")
PROTOCOL = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = 'subscription { issueChanged(projectKeys: ["ALPHA"]) { cursor type issueKey } }'
LOGIN = """mutation($site: String!, $email: String!, $apiToken: String!) {
  login(input: {siteUrl: $site, email: $email, apiToken: $apiToken}) { accessToken } }"""
REGISTER = """mutation($base: String) { registerWebhooks(callbackBaseUrl: $base) { kind } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wait_http(url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    # JGW_BENCH_LOG=<file> keeps the servers' logs (debugging a run).
    log_path = os.environ.get("JGW_BENCH_LOG")
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log is not None:
            log.close()


def gql(endpoint: str, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(
        f"{endpoint}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    ).json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def admin_token(database_url: str, config: AuthConfig, access_token: str) -> str:
    principal_id = TokenService(config).verify_access_token(access_token).principal_id
    engine = create_engine(database_url)
    try:
        sessions = SessionService(create_sessionmaker(engine), TokenService(config), config)
        return (await sessions.start_session(principal_id, ALL_SCOPES)).access_token
    finally:
        await engine.dispose()


@dataclass
class Subscriber:
    ws: ClientConnection
    received: list[float] = field(default_factory=list)


async def open_subscriber(url: str, token: str) -> Subscriber:
    ws = await connect(
        url,
        subprotocols=[PROTOCOL],
        ping_interval=None,
        compression=None,
        open_timeout=60,
        max_queue=16,
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {"accessToken": token}}))
    ack = json.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no ack: {ack}")
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
    return Subscriber(ws)


async def listen(subscriber: Subscriber) -> None:
    with contextlib.suppress(Exception):
        async for raw in subscriber.ws:
            now = time.perf_counter()
            if '"next"' in str(raw):
                subscriber.received.append(now)
            elif '"ping"' in str(raw):
                await subscriber.ws.send('{"type":"pong"}')


async def run_scenario(
    name: str,
    gateways: list[tuple[str, int]],
    sandbox: str,
    database_url: str,
    config: AuthConfig,
    subscribers: int,
    rounds: int,
) -> None:
    base_a = gateways[0][0]
    tokens = [
        gql(base_a, LOGIN, site=sandbox, email=f"{u}@example.com", apiToken=f"{u}-token")["login"][
            "accessToken"
        ]
        for u in ("alice", "bob")
    ]
    admin = await admin_token(database_url, config, tokens[0])
    await asyncio.to_thread(gql, base_a, REGISTER, admin, base=base_a)
    key = httpx.post(  # noqa: ASYNC210 (setup, before anything is measured)
        f"{sandbox}/rest/api/3/search/jql",
        auth=("alice@example.com", "alice-token"),
        json={"jql": "project = ALPHA", "maxResults": 1, "fields": ["key"]},
    ).json()["issues"][0]["key"]
    before = [rss_kib(pid) for _, pid in gateways]
    gate = asyncio.Semaphore(50)

    async def one(i: int) -> Subscriber:
        base = gateways[i % len(gateways)][0]
        async with gate:
            return await open_subscriber(base.replace("http", "ws") + "/graphql", tokens[i % 2])

    started = time.perf_counter()
    subs = await asyncio.gather(*(one(i) for i in range(subscribers)))
    connect_s = time.perf_counter() - started
    listeners = [asyncio.create_task(listen(s)) for s in subs]
    await asyncio.sleep(2.0)  # subscriptions registered, memory settled
    after = [rss_kib(pid) for _, pid in gateways]
    latencies: list[float] = []
    missing = 0
    async with httpx.AsyncClient(auth=("alice@example.com", "alice-token"), timeout=30) as jira:
        for r in range(rounds):
            t0 = time.perf_counter()
            answer = await jira.put(
                f"{sandbox}/rest/api/3/issue/{key}",
                json={"fields": {"summary": f"bench {r} {uuid.uuid4().hex}"}},
            )
            answer.raise_for_status()
            deadline = t0 + 30
            while time.perf_counter() < deadline and any(len(s.received) <= r for s in subs):  # noqa: ASYNC110 (polls a counter)
                await asyncio.sleep(0.01)
            for s in subs:
                if len(s.received) > r:
                    latencies.append((s.received[r] - t0) * 1000)
                else:
                    missing += 1
            await asyncio.sleep(0.5)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(s.ws.close() for s in subs), return_exceptions=True)
    latencies.sort()
    per_conn = [
        (a - b) / max(1, subscribers // len(gateways)) for a, b in zip(after, before, strict=True)
    ]
    print(
        f"\n[{name}] {subscribers} subscribers on {len(gateways)} gateway process(es), "
        f"{rounds} events, connected in {connect_s:.1f} s"
    )
    if latencies:
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"  delivery latency: p50 {p50:.0f} ms  p99 {p99:.0f} ms  max {latencies[-1]:.0f} ms"
            f"  ({len(latencies)} deliveries, {missing} missing)"
        )
    for (base, _), b, a, per in zip(gateways, before, after, per_conn, strict=True):
        print(f"  {base}: RSS {b / 1024:.0f} -> {a / 1024:.0f} MiB, {per:.1f} KiB per connection")


def common_env(tmp: Path, database_url: str, jwt_secret: str, vault_key: str) -> dict[str, str]:
    return {
        "JGW_DATABASE_URL": database_url,
        "JGW_VAR_DIR": str(tmp),
        "JGW_ALLOW_INSECURE_SITES": "true",
        "JGW_JWT_SECRET": jwt_secret,
        "JGW_VAULT_KEYS": vault_key,
        "JGW_LOG_LEVEL": "WARNING",
    }


async def pg_database(name: str, drop: bool = False) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        if drop:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["embedded", "services"])
    args = parser.parse_args()
    jwt_secret, vault_key = "bench-" + uuid.uuid4().hex * 2, Fernet.generate_key().decode()
    from pydantic import SecretStr

    config = AuthConfig(jwt_secret=SecretStr(jwt_secret), vault_keys=[SecretStr(vault_key)])
    sandbox_port = free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    with (
        tempfile.TemporaryDirectory() as tmpdir,
        process(["sandbox", "--port", str(sandbox_port), "--issues", "200", "--seed", "31"], {}),
    ):
        tmp = Path(tmpdir)
        wait_http(f"{sandbox}/rest/api/2/serverInfo")
        if args.only in (None, "embedded"):
            url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
            upgrade(url)
            port = free_port()
            with process(
                ["serve", "--port", str(port)], common_env(tmp, url, jwt_secret, vault_key)
            ) as gw:
                base = f"http://127.0.0.1:{port}"
                wait_http(f"{base}/healthz")
                asyncio.run(
                    run_scenario(
                        "embedded",
                        [(base, gw.pid)],
                        sandbox,
                        url,
                        config,
                        args.subscribers,
                        args.rounds,
                    )
                )
        if args.only in (None, "services"):
            name = f"jgw_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(pg_database(name))
            url = PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
            url = f"{url}/{name}"
            try:
                upgrade(url)
                env = {**common_env(tmp, url, jwt_secret, vault_key), "JGW_REDIS_URL": REDIS_URL}
                ports = [free_port(), free_port()]
                with (
                    process(["serve", "--port", str(ports[0])], env) as a,
                    process(["serve", "--port", str(ports[1])], env) as b,
                    process(["worker"], env),
                ):
                    bases = [f"http://127.0.0.1:{p}" for p in ports]
                    for base in bases:
                        wait_http(f"{base}/healthz")
                    asyncio.run(
                        run_scenario(
                            "services",
                            list(zip(bases, [a.pid, b.pid], strict=True)),
                            sandbox,
                            url,
                            config,
                            args.subscribers,
                            args.rounds,
                        )
                    )
            finally:
                asyncio.run(pg_database(name, drop=True))


if __name__ == "__main__":
    main()
