"""Which kind of JIRA a site is: Cloud, or Server/Data Center.

Detected once per site from ``GET /rest/api/2/serverInfo`` (the one endpoint both flavors serve
at the same path, anonymously on most sites) or configured explicitly. Everything that depends
on the flavor goes through the adapter it selects (``gateway.jira.adapters``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from gateway.jira.parse_base import obj, opt_str

SERVER_INFO = "/rest/api/2/serverInfo"


class Flavor(enum.StrEnum):
    CLOUD = "cloud"
    SERVER = "server"  # Server and Data Center: same REST API (v2, name/key users, startAt)


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """The parts of ``serverInfo`` the gateway uses."""

    base_url: str | None
    version: str | None
    version_numbers: tuple[int, ...]
    deployment_type: str | None  # "Cloud" | "Server" | "DataCenter" | None (JIRA < 7)
    server_title: str | None
    flavor: Flavor


def flavor_of(deployment_type: str | None, base_url: str | None = None) -> Flavor:
    """``deploymentType`` -> flavor. JIRA before 7.0 sent no deploymentType: those are Server,
    unless the base URL is an ``atlassian.net`` one (Cloud always sends it; belt and braces)."""
    if deployment_type is not None and deployment_type.strip().lower() == "cloud":
        return Flavor.CLOUD
    if deployment_type is None and base_url and ".atlassian.net" in base_url.lower():
        return Flavor.CLOUD
    return Flavor.SERVER


def parse_server_info(raw: Any) -> ServerInfo:
    data = obj(raw, SERVER_INFO, "$")
    numbers = data.get("versionNumbers")
    version_numbers = (
        tuple(n for n in numbers if isinstance(n, int) and not isinstance(n, bool))
        if isinstance(numbers, list)
        else ()
    )
    base_url = opt_str(data.get("baseUrl"), SERVER_INFO, "$.baseUrl")
    deployment = opt_str(data.get("deploymentType"), SERVER_INFO, "$.deploymentType")
    return ServerInfo(
        base_url=base_url,
        version=opt_str(data.get("version"), SERVER_INFO, "$.version"),
        version_numbers=version_numbers,
        deployment_type=deployment,
        server_title=opt_str(data.get("serverTitle"), SERVER_INFO, "$.serverTitle"),
        flavor=flavor_of(deployment, base_url),
    )
