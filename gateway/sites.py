"""One ``JiraClient`` per site, built on first use over the process's shared HTTP pool."""

from __future__ import annotations

import httpx

from gateway.jira.client import ClientConfig, JiraClient
from gateway.jira.flavor import Flavor
from gateway.jira.metrics import JiraCallRecorder
from gateway.jira.transport import JiraTransport

# Timeouts for calls to JIRA (issue 3), the gateway's and the worker's: connect 3 s, read 10 s.
JIRA_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)


class SiteClients:
    """The registry of per-site clients (each with its own breaker, budget and limits)."""

    def __init__(self, http: httpx.AsyncClient, recorder: JiraCallRecorder) -> None:
        self._http = http
        self._recorder = recorder
        self._clients: dict[str, JiraClient] = {}

    def client(self, site_id: str, base_url: str, flavor: str | None) -> JiraClient:
        """The client of ``site_id``; the flavor is detected on first use when unknown."""
        client = self._clients.get(site_id)
        if client is None or client.transport.base_url != base_url.rstrip("/"):
            transport = JiraTransport(self._http, base_url, site=site_id, recorder=self._recorder)
            config = ClientConfig(flavor=Flavor(flavor) if flavor else None)
            client = JiraClient(transport, config=config)
            self._clients[site_id] = client
        return client
