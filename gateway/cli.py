"""The ``jira-gateway`` command line (DESIGN §3): demo, serve, sandbox, migrate, schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import uvicorn

from gateway.config import Settings, SettingsError, load_settings
from gateway.subscriptions_ws import MAX_FRAME_BYTES

DEMO_LOGINS = (
    ("a", "alice@example.com", "alice-token", "sees every project"),
    ("a", "bob@example.com", "bob-token", "sees only some projects"),
    ("b", "carol@example.com", "carol-token", "second site (another tenant)"),
)


class _Parser(argparse.ArgumentParser):
    """Bad arguments exit 2 with one clear line instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the CLI, so several can share one loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _fail(message: str) -> NoReturn:
    print(f"jira-gateway: {message}", file=sys.stderr)
    raise SystemExit(1)


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        _fail(str(exc))


async def _serve_together(
    servers: Sequence[uvicorn.Server],
    on_started: Callable[[], Awaitable[str]] | None = None,
) -> None:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    if on_started is not None:
        # It waits for the server tasks (a copy: never for itself) so it ends with them.
        tasks.append(asyncio.create_task(_after_start(servers, list(tasks), on_started)))
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop()  # one server failing to start (port taken) stops the others
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not all(server.started for server in servers):
            _fail("a server failed to start (is the port already in use?)")
        task.result()


async def _after_start(
    servers: Sequence[uvicorn.Server],
    tasks: Sequence[asyncio.Task[None]],
    on_started: Callable[[], Awaitable[str]],
) -> None:
    """Run ``on_started`` once every server listens, print its line, then wait with them."""
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            return
        await asyncio.sleep(0.05)
    try:
        print(await on_started(), flush=True)
    except Exception as exc:  # noqa: BLE001 (the demo still works, only without live events)
        print(f"  live events: webhook wiring failed ({exc})", flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)


def _uvicorn_server(app: Any, host: str, port: int, log_level: str = "warning") -> _Server:
    # ws_max_size: GraphQL WebSocket frames above 64 KiB are refused before being assembled.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        ws_max_size=MAX_FRAME_BYTES,
    )
    return _Server(config)


def cmd_sandbox(args: argparse.Namespace) -> None:
    from gateway.sandbox.app import create_sandbox_app

    app = create_sandbox_app(flavor=args.flavor, issues=args.issues, seed=args.seed, site=args.site)
    print(
        f"sandbox JIRA ({args.flavor}, site {args.site}, {args.issues} issues, seed {args.seed}) "
        f"on http://{args.host}:{args.port}",
        flush=True,
    )
    asyncio.run(_serve_together([_uvicorn_server(app, args.host, args.port, "info")]))


def cmd_serve(args: argparse.Namespace) -> None:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = _settings(**overrides)

    server = _uvicorn_server(_create_app(settings), settings.host, settings.port, "info")
    asyncio.run(_serve_together([server]))


def _create_app(settings: Settings) -> Any:
    from gateway.app import create_app

    try:
        return create_app(settings)
    except SettingsError as exc:
        _fail(str(exc))


def cmd_worker(args: argparse.Namespace) -> None:
    settings = _settings()
    if settings.redis_url is None:
        _fail("the worker needs JGW_REDIS_URL (services mode); embedded mode runs jobs in-process")
    from arq.worker import run_worker

    from workers.settings import WorkerSettings, redis_settings

    print(f"arq worker on {redis_settings(settings).host}", flush=True)
    run_worker(WorkerSettings, redis_settings=redis_settings(settings))  # type: ignore[arg-type]


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings()
    from gateway.db.migrate import upgrade

    upgrade(settings.database_url.get_secret_value(), args.revision)
    print(f"database migrated to {args.revision}")


def _schema_path() -> Path:
    import schema

    return Path(schema.__file__).parent / "schema.graphql"


def cmd_schema(args: argparse.Namespace) -> None:
    from gateway.graphql import build_schema

    sdl = build_schema().as_str() + "\n"
    if not args.check:
        sys.stdout.write(sdl)
        return
    path = _schema_path()
    if not path.exists() or path.read_text(encoding="utf-8") != sdl:
        _fail(f"{path} is out of date: run `jira-gateway schema > {path}`")
    print(f"{path} is up to date")


def cmd_demo(args: argparse.Namespace) -> None:
    sandbox_a = f"http://{args.host}:{args.sandbox_port}"
    sandbox_b = f"http://{args.host}:{args.sandbox_port + 1}"
    settings = _settings(
        host=args.host,
        port=args.port,
        redis_url=None,
        sites=[sandbox_a, sandbox_b],
        allow_insecure_sites=True,  # the sandbox sites are plain http on loopback
    )
    from gateway.db.migrate import upgrade
    from gateway.sandbox.app import create_sandbox_app

    upgrade(settings.database_url.get_secret_value())
    common = {"flavor": args.flavor, "issues": args.issues, "seed": args.seed}
    servers = [
        _uvicorn_server(create_sandbox_app(site="a", **common), args.host, args.sandbox_port),
        _uvicorn_server(create_sandbox_app(site="b", **common), args.host, args.sandbox_port + 1),
        _uvicorn_server(_create_app(settings), settings.host, settings.port),
    ]
    graphiql = f"http://{settings.host}:{settings.port}/graphql"
    lines = [
        "",
        "JIRA GraphQL gateway demo (embedded mode)",
        f"  GraphiQL:        {graphiql}",
        f"  sandbox JIRA a:  {sandbox_a}  ({args.flavor}, {args.issues} issues)",
        f"  sandbox JIRA b:  {sandbox_b}  (second site)",
        "  demo logins (JIRA site, email, API token):",
        *(
            f"    site {site}  {email:<20} {token:<12} {what}"
            for site, email, token, what in DEMO_LOGINS
        ),
        f"  try: curl -u alice@example.com:alice-token {sandbox_a}/rest/api/3/myself",
        "  live events: both sandboxes send signed webhooks to the gateway; edit an issue in a",
        "    sandbox and it shows up in GraphiQL: subscription { issueChanged { type issueKey",
        "    changes { field fromString toString } } } (connection_init: Authorization: Bearer)",
        "  Ctrl+C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)

    async def wire_webhooks() -> str:
        from gateway.auth.vault import Vault
        from gateway.auth_config import build_auth_config
        from gateway.webhook_registration import wire_demo

        vault = Vault(build_auth_config(settings).vault_keys)
        wired = await wire_demo(
            settings.database_url.get_secret_value(),
            vault,
            gateway_url=f"http://{settings.host}:{settings.port}",
            sites=[
                (sandbox_a, "Sandbox JIRA a", "alice@example.com", "alice-token"),
                (sandbox_b, "Sandbox JIRA b", "carol@example.com", "carol-token"),
            ],
        )
        return f"  live events: webhooks registered in {len(wired)} sandbox sites"

    asyncio.run(_serve_together(servers, wire_webhooks))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jira-gateway", description="A GraphQL gateway over JIRA.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="sandbox JIRA (seeded) + gateway, embedded mode")
    demo.add_argument("--flavor", choices=["cloud", "server"], default="cloud")
    demo.add_argument("--issues", type=int, default=300)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--sandbox-port", type=int, default=8081, help="site a; site b uses +1")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="the gateway only, configured from JGW_* variables")
    serve.add_argument("--host", default=None, help="overrides JGW_HOST")
    serve.add_argument("--port", type=int, default=None, help="overrides JGW_PORT")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="arq worker running background jobs (services mode)")
    worker.set_defaults(func=cmd_worker)

    sandbox = sub.add_parser("sandbox", help="the sandbox JIRA alone")
    sandbox.add_argument("--flavor", choices=["cloud", "server"], default="cloud")
    sandbox.add_argument("--issues", type=int, default=300)
    sandbox.add_argument("--seed", type=int, default=1)
    sandbox.add_argument("--site", choices=["a", "b"], default="a")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.set_defaults(func=cmd_sandbox)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade)")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(func=cmd_migrate)

    schema_cmd = sub.add_parser("schema", help="print the GraphQL SDL")
    schema_cmd.add_argument(
        "--check", action="store_true", help="fail if schema/schema.graphql is out of date"
    )
    schema_cmd.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if getattr(args, "issues", 1) < 1:
        _fail("--issues must be at least 1")
    args.func(args)
