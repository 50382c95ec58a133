"""Site URL guards (SSRF): the URL table, DNS answers, connect-time checks and redirects."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from ipaddress import ip_address
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.auth.errors import SiteUrlRefused
from gateway.auth.guards import (
    SiteGuard,
    address_refusal,
    check_redirect,
    system_resolver,
    validate_site_url,
)
from gateway.auth.safe_http import guarded_client
from gateway.auth.settings import AuthConfig
from gateway.auth.vault import generate_key
from tests.support import RunningServer, serve_in_thread

PUBLIC_IP = "93.184.216.34"

DNS: dict[str, list[str]] = {
    "jira.example.com": [PUBLIC_IP],
    "acme.atlassian.net": ["2606:4700::6810:1", PUBLIC_IP],
    "private.example": ["10.0.0.5"],
    "mixed.example": [PUBLIC_IP, "192.168.1.10"],
    "meta.example": ["169.254.169.254"],
    "cgnat.example": ["100.64.1.1"],
    "mapped.example": ["::ffff:10.0.0.1"],
    "jira.corp.example": ["10.20.0.7"],
    "wiki.corp.example": ["10.20.0.8"],
    "metadata.corp.example": ["169.254.169.254"],
    "svc.k8s.example": ["172.16.5.5"],
}


async def fake_resolver(host: str, port: int) -> Sequence[str]:
    if host in DNS:
        return DNS[host]
    if host == "localhost":
        return await system_resolver(host, port)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def config(**overrides: Any) -> AuthConfig:
    values: dict[str, Any] = {
        "jwt_secret": SecretStr("g" * 40),
        "vault_keys": [SecretStr(generate_key())],
    }
    values.update(overrides)
    return AuthConfig(**values)


STRICT = config()
INSECURE = config(allow_insecure_sites=True)
ALLOWLISTED = config(site_allowlist=["jira.corp.example", "*.k8s.example", "172.31.0.0/16"])


@pytest.mark.parametrize(
    ("url", "cfg", "reason"),
    [
        ("http://169.254.169.254/", STRICT, "plain http"),
        ("https://169.254.169.254/", STRICT, "cloud metadata"),
        ("https://169.254.169.254/", ALLOWLISTED, "cloud metadata"),
        ("http://169.254.169.254/", INSECURE, "plain http"),
        ("https://[fd00:ec2::254]/", STRICT, "cloud metadata"),
        ("https://localhost", STRICT, "loopback"),
        ("https://localhost:8443/jira", STRICT, "loopback"),
        ("https://127.0.0.1", STRICT, "loopback"),
        ("https://10.0.0.1", STRICT, "private"),
        ("https://192.168.0.10", STRICT, "private"),
        ("https://172.16.0.1", STRICT, "private"),
        ("https://[::ffff:127.0.0.1]", STRICT, "loopback"),
        ("https://[::ffff:10.0.0.1]", INSECURE, "private"),
        ("https://[::1]", STRICT, "loopback"),
        ("https://[fe80::1]", STRICT, "link-local"),
        ("https://169.254.1.1", STRICT, "link-local"),
        ("https://0.0.0.0", STRICT, "unspecified"),
        ("https://224.0.0.1", STRICT, "multicast"),
        ("https://240.0.0.1", STRICT, "reserved"),
        ("https://100.64.0.1", STRICT, "carrier-grade NAT"),
        ("https://[2002:a00:1::]", STRICT, "private"),  # 6to4 wrapping 10.0.0.1
        ("https://[64:ff9b::a00:1]", STRICT, "private"),  # NAT64 wrapping 10.0.0.1
        ("https://2130706433", STRICT, "loopback"),  # 127.0.0.1 as one decimal number
        ("https://0x7f.1", STRICT, "loopback"),
        ("https://127.1", STRICT, "loopback"),
        ("https://012.0.0.1", STRICT, "private"),  # octal 10.0.0.1
        ("https://user:pw@jira.example.com", STRICT, "user name or password"),
        ("https://user@jira.example.com", STRICT, "user name or password"),
        ("http://example.com", INSECURE, "plain http"),
        ("http://jira.example.com", STRICT, "plain http"),
        ("ftp://jira.example.com", STRICT, "https"),
        ("jira.example.com", STRICT, "https"),
        ("https://jira.example.com/?x=1", STRICT, "query"),
        ("https://jira.example.com/#top", STRICT, "query string or fragment"),
        ("https://jira.example.com/a/../admin", STRICT, "'..'"),
        ("https://jira.example.com\\@evil.example", STRICT, "backslash"),
        ("https://jira.exa mple.com", STRICT, "spaces"),
        ("https://", STRICT, "no host"),
        ("https://jira.example.com:99999", STRICT, "port"),
        ("https://private.example", STRICT, "private"),
        ("https://mixed.example", STRICT, "private"),
        ("https://meta.example", STRICT, "cloud metadata"),
        ("https://cgnat.example", STRICT, "carrier-grade NAT"),
        ("https://mapped.example", STRICT, "private"),
        ("https://wiki.corp.example", ALLOWLISTED, "private"),  # not on the list
        ("https://metadata.corp.example", config(site_allowlist=["*.corp.example"]), "metadata"),
        ("https://no-such-host.invalid", STRICT, "does not resolve"),
    ],
)
async def test_auth_guards_refuse(url: str, cfg: AuthConfig, reason: str) -> None:
    with pytest.raises(SiteUrlRefused, match=reason) as caught:
        await validate_site_url(url, cfg, resolver=fake_resolver)
    assert caught.value.code == "SITE_URL_REFUSED"
    assert caught.value.message.startswith("This site URL cannot be used")
    # The answer never tells the caller which internal address a name resolved to.
    for addresses in DNS.values():
        for address in addresses:
            if address != url.removeprefix("https://").strip("[]/"):
                assert address not in caught.value.message


@pytest.mark.parametrize(
    ("url", "cfg", "normalized"),
    [
        ("https://jira.example.com", STRICT, "https://jira.example.com"),
        (" HTTPS://Jira.Example.COM:443/ ", STRICT, "https://jira.example.com"),
        ("https://jira.example.com./jira/", STRICT, "https://jira.example.com/jira"),
        ("https://acme.atlassian.net:8443/x", STRICT, "https://acme.atlassian.net:8443/x"),
        (f"https://{PUBLIC_IP}", STRICT, f"https://{PUBLIC_IP}"),
        ("https://jira.corp.example", ALLOWLISTED, "https://jira.corp.example"),
        ("https://svc.k8s.example", ALLOWLISTED, "https://svc.k8s.example"),
        ("https://172.31.4.4", ALLOWLISTED, "https://172.31.4.4"),
        ("http://localhost:8081", INSECURE, "http://localhost:8081"),
        ("http://127.0.0.1:8081/", INSECURE, "http://127.0.0.1:8081"),
        ("https://localhost", INSECURE, "https://localhost"),
        ("http://[::1]:8081", INSECURE, "http://[::1]:8081"),
        ("https://bücher.example", config(site_allowlist=["xn--bcher-kva.example"]), None),
    ],
)
async def test_auth_guards_accept(url: str, cfg: AuthConfig, normalized: str | None) -> None:
    async def resolver(host: str, port: int) -> Sequence[str]:
        if host == "xn--bcher-kva.example":
            return ["10.9.9.9"]  # allow-listed by its IDNA name
        return await fake_resolver(host, port)

    site = await validate_site_url(url, cfg, resolver=resolver)
    if normalized is not None:
        assert site.url == normalized
    else:
        assert site.host == "xn--bcher-kva.example"
    assert site.addresses
    assert all(ip_address(a) for a in site.addresses)


def test_auth_guards_address_table() -> None:
    assert address_refusal(ip_address(PUBLIC_IP), allow_loopback=False) is None
    assert address_refusal(ip_address("2606:4700::6810:1"), allow_loopback=False) is None
    assert address_refusal(ip_address("127.0.0.1"), allow_loopback=True) is None
    assert address_refusal(ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    assert address_refusal(ip_address("10.0.0.1"), allow_loopback=True) is not None
    assert address_refusal(ip_address("169.254.169.254"), allow_loopback=True) is not None
    assert address_refusal(ip_address("2001:db8::1"), allow_loopback=False) is not None


async def test_auth_guards_check_redirect() -> None:
    target = "https://jira.example.com/rest/api/2/myself?expand=groups"
    assert await check_redirect(target, STRICT, resolver=fake_resolver) == target
    with pytest.raises(SiteUrlRefused, match="metadata"):
        await check_redirect("https://meta.example/latest", STRICT, resolver=fake_resolver)
    with pytest.raises(SiteUrlRefused, match="https to plain http"):
        await check_redirect(
            "http://localhost:1/x",
            INSECURE,
            from_url="https://localhost/x",
            resolver=fake_resolver,
        )


async def test_auth_guards_dns_timeout() -> None:
    import asyncio

    async def slow(host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(5)
        return [PUBLIC_IP]

    with pytest.raises(SiteUrlRefused, match="timed out"):
        await validate_site_url("https://slow.example", config(dns_timeout_s=0.05), resolver=slow)


# --- connect-time checks over a real loopback server -------------------------------------


async def echo(request: Request) -> Response:
    return JSONResponse({"host": request.headers["host"], "path": request.url.path})


async def redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=302)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    app = Starlette(routes=[Route("/echo", echo), Route("/redirect", redirect)])
    running = serve_in_thread(app)
    yield running
    running.stop()


def port_of(server: RunningServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


async def test_auth_guards_client_reaches_allowed_loopback(server: RunningServer) -> None:
    async with guarded_client(SiteGuard(INSECURE, resolver=fake_resolver)) as client:
        response = await client.get(f"{server.base_url}/echo")
    assert response.json()["path"] == "/echo"


async def test_auth_guards_client_connects_to_the_checked_address_with_original_host(
    server: RunningServer,
) -> None:
    resolved: list[str] = []

    async def resolver(host: str, port: int) -> Sequence[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    async with guarded_client(SiteGuard(INSECURE, resolver=resolver)) as client:
        response = await client.get(f"http://jira.localhost:{port_of(server)}/echo")
    assert response.json()["host"] == f"jira.localhost:{port_of(server)}"
    assert resolved == ["jira.localhost"]  # resolved once, by the guard


async def test_auth_guards_client_refuses_loopback_when_not_insecure(
    server: RunningServer,
) -> None:
    async with guarded_client(SiteGuard(STRICT, resolver=fake_resolver)) as client:
        with pytest.raises(SiteUrlRefused, match="plain http"):
            await client.get(f"{server.base_url}/echo")
        with pytest.raises(SiteUrlRefused, match="loopback"):
            await client.get(f"https://127.0.0.1:{port_of(server)}/echo")


async def test_auth_guards_client_blocks_dns_rebinding(server: RunningServer) -> None:
    answers = [["127.0.0.1"], ["10.0.0.5"]]

    async def rebinding(host: str, port: int) -> Sequence[str]:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    guard = SiteGuard(INSECURE, resolver=rebinding)
    url = f"http://rebind.localhost:{port_of(server)}"
    assert (await guard.validate_site_url(url)).addresses == ("127.0.0.1",)
    async with guarded_client(guard) as client:
        with pytest.raises(SiteUrlRefused, match="private"):
            await client.get(f"{url}/echo")  # the name now points inside: refused at connect


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "plain http"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://private.example/", "private"),
        ("https://10.1.2.3:8443/", "private"),
        ("file:///etc/passwd", "https"),
    ],
)
async def test_auth_guards_client_checks_every_redirect(
    server: RunningServer, target: str, reason: str
) -> None:
    async with guarded_client(
        SiteGuard(INSECURE, resolver=fake_resolver), follow_redirects=True
    ) as client:
        with pytest.raises(SiteUrlRefused, match=reason):
            await client.get(f"{server.base_url}/redirect", params={"to": target})


async def test_auth_guards_client_follows_allowed_redirects(server: RunningServer) -> None:
    async with guarded_client(
        SiteGuard(INSECURE, resolver=fake_resolver), follow_redirects=True
    ) as client:
        response = await client.get(
            f"{server.base_url}/redirect", params={"to": f"{server.base_url}/echo"}
        )
    assert response.status_code == 200
    assert len(response.history) == 1


def test_auth_guards_client_fixes_its_transport() -> None:
    with pytest.raises(TypeError, match="transport"):
        guarded_client(SiteGuard(STRICT), transport=httpx.AsyncHTTPTransport())
