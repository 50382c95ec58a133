"""Site URL guards: which JIRA base URLs the gateway may call (SSRF defence).

A user-supplied site URL must be ``https`` (plain ``http`` only to loopback, and only with
``JGW_ALLOW_INSECURE_SITES``), carry no user info, query or fragment, and every address its host
resolves to must be public: private (RFC 1918, ULA), loopback, link-local, multicast, reserved,
unspecified and carrier-grade NAT (100.64/10) addresses are refused, also when wrapped in IPv6
(``::ffff:10.0.0.1``, 6to4, NAT64, Teredo). Hosts or networks in ``JGW_SITE_ALLOWLIST`` skip the
private-address rule (an on-premises Server/DC), but cloud metadata endpoints are refused
whatever the allow-list says: no JIRA lives there and it is the classic SSRF prize.

Checking the URL once is not enough: DNS can answer differently at connect time (rebinding)
and JIRA can redirect. ``gateway.auth.safe_http`` re-applies :meth:`SiteGuard.resolve` when each
connection is opened and :meth:`SiteGuard.check_redirect` on each redirect hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

from gateway.auth.errors import SiteUrlRefused
from gateway.auth.settings import AuthConfig

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

# AWS/GCP/Azure/OpenStack IMDS, AWS IMDS over IPv6, ECS task metadata, Alibaba Cloud.
METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
CARRIER_GRADE_NAT: Final = ipaddress.ip_network("100.64.0.0/10")
NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_LEGACY_IPV4: Final = re.compile(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}", re.I)


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, through the event loop's ``getaddrinfo``."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class NormalizedSiteUrl:
    """A site base URL that passed every check, with the addresses it was checked against."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]
    allowlisted: bool


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64, Teredo), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why the gateway must not connect to ``ip``, or None when it may."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return address_refusal(inner, allow_loopback=allow_loopback)
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip in CARRIER_GRADE_NAT, "a carrier-grade NAT address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private network address"),
        (not ip.is_global, "a non-public address"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        pass
    # The legacy IPv4 spellings that getaddrinfo and browsers accept ("2130706433",
    # "0x7f.1", "127.1") are addresses too, whatever the resolver in use says about them.
    if _LEGACY_IPV4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost`` (RFC 6761) or a loopback IP literal."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    return _is_loopback_text(host)


class SiteGuard:
    """Applies the site URL policy of one ``AuthConfig``; async because it resolves DNS."""

    __slots__ = ("_config", "_hosts", "_networks", "_resolver", "_suffixes")

    def __init__(self, config: AuthConfig, *, resolver: Resolver = system_resolver) -> None:
        self._config = config
        self._resolver = resolver
        hosts: set[str] = set()
        suffixes: list[str] = []
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in config.site_allowlist:
            if entry.startswith("*."):
                suffixes.append(entry[1:])  # "*.corp.example" -> ".corp.example"
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        self._hosts = frozenset(hosts)
        self._suffixes = tuple(suffixes)
        self._networks = tuple(networks)

    def host_allowlisted(self, host: str) -> bool:
        return host in self._hosts or any(host.endswith(s) for s in self._suffixes)

    def _ip_allowlisted(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self._networks)

    async def validate_site_url(self, url: str) -> NormalizedSiteUrl:
        """Check and normalize a site base URL typed by a user; ``SiteUrlRefused`` if bad."""
        parts = _split(url, allow_query=False)
        scheme, host, port = self._check_syntax(parts)
        addresses = await self._resolve_for(scheme, host, port)
        segments = parts.path.split("/")
        if any(segment in (".", "..") for segment in segments):
            raise SiteUrlRefused("the path must not contain '.' or '..' segments")
        path = parts.path.rstrip("/")
        netloc = f"[{host}]" if ":" in host else host
        if port != _DEFAULT_PORTS[scheme]:
            netloc = f"{netloc}:{port}"
        return NormalizedSiteUrl(
            url=urlunsplit((scheme, netloc, path, "", "")),
            scheme=scheme,
            host=host,
            port=port,
            path=path,
            addresses=tuple(addresses),
            allowlisted=self.host_allowlisted(host),
        )

    async def check_redirect(self, url: str, *, from_url: str | None = None) -> str:
        """Check one redirect hop's target (query strings allowed); returns it unchanged.

        Refuses everything :meth:`validate_site_url` refuses, and a downgrade from https to
        http.
        """
        parts = _split(url, allow_query=True)
        scheme, host, port = self._check_syntax(parts)
        if from_url is not None and scheme == "http" and urlsplit(from_url).scheme == "https":
            raise SiteUrlRefused("a redirect from https to plain http was refused")
        await self._resolve_for(scheme, host, port)
        return url

    def check_request_target(self, scheme: str, host: str) -> None:
        """The checks that need no DNS, for every request the guarded transport sends."""
        if scheme not in ("https", "http"):
            raise SiteUrlRefused("only https URLs can be used")
        if scheme == "http" and not (self._config.allow_insecure_sites and is_loopback_host(host)):
            raise SiteUrlRefused("plain http is only allowed for loopback sites")

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` the gateway may connect to; refuses if any is forbidden.

        One bad address refuses the host: with mixed answers the connection would go to
        whichever the resolver lists first, which an attacker controls.
        """
        literal = _parse_ip(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                async with asyncio.timeout(self._config.dns_timeout_s):
                    addresses = list(await self._resolver(host, port))
            except TimeoutError:
                raise SiteUrlRefused("the host name lookup timed out") from None
            except (OSError, UnicodeError):
                raise SiteUrlRefused("the host name does not resolve") from None
            if not addresses:
                raise SiteUrlRefused("the host name does not resolve")
        host_ok = self.host_allowlisted(host)
        for text in addresses:
            ip = _parse_ip(text)
            if ip is None:
                raise SiteUrlRefused("the host name resolved to something that is not an address")
            reason = address_refusal(ip, allow_loopback=self._config.allow_insecure_sites)
            if reason is None:
                continue
            if reason != "a cloud metadata address" and (host_ok or self._ip_allowlisted(ip)):
                continue
            raise SiteUrlRefused(f"it points to {reason}")
        return addresses

    async def _resolve_for(self, scheme: str, host: str, port: int) -> list[str]:
        """:meth:`resolve`, plus: plain http must land on loopback addresses only."""
        addresses = await self.resolve(host, port)
        if scheme == "http" and not all(_is_loopback_text(a) for a in addresses):
            raise SiteUrlRefused("plain http is only allowed for loopback addresses")
        return addresses

    def _check_syntax(self, parts: SplitResult) -> tuple[str, str, int]:
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise SiteUrlRefused("use an https:// URL")
        if "@" in parts.netloc:
            raise SiteUrlRefused("it must not contain a user name or password")
        raw_host = (parts.hostname or "").rstrip(".")
        if not raw_host:
            raise SiteUrlRefused("it has no host name")
        try:
            host = raw_host.encode("idna").decode("ascii").lower()
            port = parts.port or _DEFAULT_PORTS[scheme]
        except (UnicodeError, ValueError):
            raise SiteUrlRefused("the host name or port is not valid") from None
        self.check_request_target(scheme, host)
        return scheme, host, port


def _split(url: str, *, allow_query: bool) -> SplitResult:
    text = url.strip()
    if not text or any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in text):
        raise SiteUrlRefused("it contains spaces, control characters or backslashes")
    if not allow_query and ("?" in text or "#" in text):
        raise SiteUrlRefused("a site URL must not contain a query string or fragment")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise SiteUrlRefused("it is not a valid URL") from None
    return parts._replace(fragment="")


def _is_loopback_text(text: str) -> bool:
    ip = _parse_ip(text)
    if ip is None:
        return False
    return (embedded_ipv4(ip) or ip).is_loopback


async def validate_site_url(
    url: str, config: AuthConfig, *, resolver: Resolver = system_resolver
) -> NormalizedSiteUrl:
    """Shortcut for ``SiteGuard(config, resolver=resolver).validate_site_url(url)``."""
    return await SiteGuard(config, resolver=resolver).validate_site_url(url)


async def check_redirect(
    url: str,
    config: AuthConfig,
    *,
    from_url: str | None = None,
    resolver: Resolver = system_resolver,
) -> str:
    """Shortcut for ``SiteGuard(config, resolver=resolver).check_redirect(url, ...)``."""
    return await SiteGuard(config, resolver=resolver).check_redirect(url, from_url=from_url)


__all__ = [
    "CARRIER_GRADE_NAT",
    "METADATA_ADDRESSES",
    "NormalizedSiteUrl",
    "Resolver",
    "SiteGuard",
    "address_refusal",
    "check_redirect",
    "embedded_ipv4",
    "is_loopback_host",
    "system_resolver",
    "validate_site_url",
]
