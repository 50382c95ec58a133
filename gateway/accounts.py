"""Which JIRA identity answers for a principal on a site: the ``SiteCall`` of an operation."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from gateway.auth.credentials import OAuthCredential, open_credential
from gateway.db.models import Principal, Site, SiteAccount
from gateway.errors import SiteNotConnected
from gateway.jira.adapter_base import Caller
from gateway.jira.client import JiraClient
from gateway.state import AppState


@dataclass(frozen=True, slots=True)
class SiteCall:
    """Everything needed to call one JIRA site as one user."""

    site_id: str
    base_url: str
    principal_id: str
    account_id: str
    """The gateway's ``site_accounts.id``: the identity caches and coalescing are scoped by."""
    jira_account_id: str
    client: JiraClient
    caller: Caller


# Two queries and a Fernet decryption cost about 1 ms per operation, more than executing a warm
# 50-issue query's loaders. A process remembers the answer this long; a new login, a default-site
# change or a logout in this process forgets it at once, other processes within these seconds.
SITE_CALL_TTL_S = 5.0
SITE_CALL_MEMO_MAX = 10_000


def forget_site_calls(state: AppState, principal_id: str) -> None:
    """Drop the memoized site calls of a principal (after login, setDefaultSite, logout)."""
    for key in [k for k in state.site_call_memo if k[0] == principal_id]:
        del state.site_call_memo[key]


async def load_site_call(state: AppState, principal_id: str, site_id: str | None) -> SiteCall:
    """The principal's account on ``site_id`` (default: the principal's default site).

    Raises ``SiteNotConnected`` when the principal has no account there (the same answer whether
    the site exists or not: site ids of other tenants are not confirmed).
    """
    memo = state.site_call_memo
    now = time.monotonic()
    found = memo.get((principal_id, site_id))
    if found is not None and found[1] > now:
        return found[0]
    call, memoizable = await _load_site_call(state, principal_id, site_id)
    if memoizable:  # never an OAuth token: it must be checked for expiry on every use
        if len(memo) >= SITE_CALL_MEMO_MAX:
            memo.clear()
        memo[(principal_id, site_id)] = memo[(principal_id, call.site_id)] = (
            call,
            now + SITE_CALL_TTL_S,
        )
    return call


async def _load_site_call(
    state: AppState, principal_id: str, site_id: str | None
) -> tuple[SiteCall, bool]:
    async with state.sessionmaker() as db:
        if site_id is None:
            site_id = await db.scalar(
                select(Principal.default_site_id).where(Principal.id == principal_id)
            )
            if site_id is None:
                raise SiteNotConnected("You have not connected a JIRA site yet: use login.")
        row = (
            await db.execute(
                select(SiteAccount, Site)
                .join(Site, Site.id == SiteAccount.site_id)
                .where(SiteAccount.principal_id == principal_id, SiteAccount.site_id == site_id)
            )
        ).first()
    if row is None:
        raise SiteNotConnected(
            "You have no account on that JIRA site: sign in to it with login.", field="site"
        )
    account, site = row
    credential = open_credential(
        state.auth.vault, account.credential_ciphertext, bound_to=account.id
    )
    client_key, base_url = site.id, site.base_url
    if isinstance(credential, OAuthCredential):
        # OAuth (3LO): refreshed here when near expiry (once, however many callers wait), and
        # JIRA answers OAuth tokens at the API gateway URL, not the site's own.
        if state.oauth is None:
            raise SiteNotConnected(
                "OAuth sign-in is no longer configured here: sign in with an API token.",
                field="site",
            )
        credential = await state.oauth.fresh(account.id, credential)
        base_url = state.oauth.client.config.api_base(credential.cloud_id, site.base_url)
        if base_url != site.base_url:
            client_key = f"{site.id}#oauth"
    call = SiteCall(
        site_id=site.id,
        base_url=site.base_url,
        principal_id=principal_id,
        account_id=account.id,
        jira_account_id=account.jira_account_id,
        client=state.sites.client(client_key, base_url, site.flavor),
        caller=Caller(principal=account.id, auth=credential.to_httpx_auth()),
    )
    return call, not isinstance(credential, OAuthCredential)
