"""The worker process's own context: its JIRA calls go through the same SSRF guard as the
gateway's, and the sync and export jobs share one vault and one set of site clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.auth.errors import SiteUrlRefused
from gateway.config import load_settings
from workers.context import CTX_KEY, build_worker_context, export_runtime


async def test_worker_jira_client_refuses_internal_addresses(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/w.db", var_dir=tmp_path)
    worker = build_worker_context(settings)
    try:
        # A site URL stored in the database must not turn the worker into an internal proxy.
        with pytest.raises(SiteUrlRefused, match="metadata"):
            await worker.http.get("https://169.254.169.254/latest/meta-data/")
        with pytest.raises(SiteUrlRefused, match="plain http"):
            await worker.http.get("http://127.0.0.1:9/")
        # The clients the sync and export jobs call JIRA with (a site whose URL now points
        # inside, e.g. after DNS rebinding) are refused when the socket would open.
        runtime = export_runtime({CTX_KEY: worker})
        client = runtime.sites.client("s1", "https://10.0.0.5", "cloud")
        with pytest.raises(SiteUrlRefused, match="private"):
            await client.transport.request("GET", "/rest/api/3/myself", principal="p")
    finally:
        await worker.aclose()
