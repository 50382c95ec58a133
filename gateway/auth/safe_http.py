"""An httpx client that can only reach addresses the ``SiteGuard`` allows, at connect time.

Validating a site URL at login does not stop DNS rebinding (the name resolves to a public
address for the check and to 10.0.0.5 a second later) or a redirect into the internal network.
So the check moves to where the socket is opened:

- :class:`GuardedNetworkBackend` wraps httpcore's network backend: ``connect_tcp`` resolves the
  host itself, checks every address with :meth:`SiteGuard.resolve` and connects to a checked
  address. TLS still verifies the certificate against the original host name (httpcore passes
  the origin host as SNI / ``server_hostname``) and the ``Host`` header is untouched.
- :class:`GuardedTransport` puts that backend under an ``httpx.AsyncHTTPTransport`` and applies
  the scheme rules (https; http only to loopback with ``JGW_ALLOW_INSECURE_SITES``) to every
  request, redirect hops included.
- :func:`redirect_hook` checks each redirect target before httpx follows it (clean error, and
  no https -> http downgrade).

Proxies are not supported: through a proxy the guard would check the proxy's address, not
JIRA's; :func:`guarded_client` therefore turns ``trust_env`` off.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore
import httpx

from gateway.auth.guards import SiteGuard

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check and connect to a checked address (never re-resolve after the check)."""

    def __init__(self, guard: SiteGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._guard.resolve(host, port)  # SiteUrlRefused propagates as is
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc  # try the next checked address (happy-eyeballs-lite)
        if last_error is None:  # resolve() never returns an empty list
            raise httpcore.ConnectError("no address to connect to")
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed for JIRA sites")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connections go through :class:`GuardedNetworkBackend`."""

    def __init__(
        self,
        guard: SiteGuard,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
        retries: int = 0,
    ) -> None:
        super().__init__(verify=verify, limits=limits, http2=http2, retries=retries)
        self._guard = guard
        # httpx builds its pool without a way to pass a network backend: replace the pool with
        # an identical one that has ours (same options as AsyncHTTPTransport's no-proxy branch).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            retries=retries,
            network_backend=GuardedNetworkBackend(guard),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._guard.check_request_target(request.url.scheme, request.url.host)
        return await super().handle_async_request(request)


def redirect_hook(guard: SiteGuard) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx ``response`` event hook that checks every redirect target before it is followed."""

    async def check(response: httpx.Response) -> None:
        if not response.has_redirect_location:
            return
        target = response.request.url.join(response.headers["Location"])
        await guard.check_redirect(str(target), from_url=str(response.request.url))

    return check


def guarded_client(guard: SiteGuard, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for JIRA sites: guarded transport, redirect hook, no env proxy.

    ``kwargs`` go to ``httpx.AsyncClient`` (timeouts, headers, ``follow_redirects``...);
    ``transport``, ``mounts`` and ``trust_env`` are fixed here.
    """
    for fixed in ("transport", "mounts", "trust_env", "proxy"):
        if fixed in kwargs:
            raise TypeError(f"guarded_client sets {fixed!r} itself")
    hooks: dict[str, list[Callable[..., Any]]] = dict(kwargs.pop("event_hooks", None) or {})
    hooks["response"] = [redirect_hook(guard), *hooks.get("response", [])]
    return httpx.AsyncClient(
        transport=GuardedTransport(guard), trust_env=False, event_hooks=hooks, **kwargs
    )


__all__ = ["GuardedNetworkBackend", "GuardedTransport", "guarded_client", "redirect_hook"]
