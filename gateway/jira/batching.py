"""Batching primitives for the loaders: many issues or users in as few JIRA calls as possible.

Contract of both functions: the answer has one entry per requested id, in request order, with
None for anything JIRA does not return (missing, hidden, malformed key). A missing key never
fails the batch; any other JIRA error does (the loader decides what to do with it).

Issues: Cloud ``POST /issue/bulkfetch`` (100 per call, 1000 when the large-batch rule applies
and the site takes it), Server ``key in (...)`` searches of at most 100 keys. The calls for
different chunks run concurrently; the transport's per-site semaphore bounds them. JIRA answers
a moved issue under its new key: it is mapped back to the key that was asked for.

Users: Cloud ``GET /user/bulk`` per 100 ids; Server has no bulk endpoint, so one lookup per id,
concurrently (identical in-flight lookups of one principal are coalesced by the transport).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gateway.jira.adapter_base import ISSUE_REF, ApiRequest, Caller, JiraAdapter
from gateway.jira.dto import CustomField, Issue, User
from gateway.jira.errors import JiraBadRequest, JiraNotFound
from gateway.jira.pagination import PageRequest, iterate_items, paginate_offset
from gateway.jira.parse_base import parse_user
from gateway.jira.parse_issue import parse_issue

if TYPE_CHECKING:
    from gateway.jira.client import JiraClient

USERS_PER_CALL = 100
# A Server search naming missing keys is retried without them; each retry removes at least
# one key, and JIRA names every bad key at once, so two rounds are plenty.
_MISSING_KEY_ROUNDS = 3


async def fetch_issues_by_key(
    client: JiraClient,
    caller: Caller,
    keys: Sequence[str],
    *,
    fields: Sequence[str],
    expand: Sequence[str] = (),
) -> dict[str, Issue | None]:
    """``{key: Issue | None}`` for every requested key (or numeric id), in request order.

    Only ``fields`` are fetched (pass ``["*all"]`` to really want all). Keys are matched
    case-insensitively; malformed keys are None without any call.
    """
    refs: dict[str, list[str]] = {}
    for key in keys:
        refs.setdefault(key.strip().upper(), []).append(key)
    valid = [ref for ref in refs if ISSUE_REF.fullmatch(ref)]
    found: dict[str, Issue] = {}
    if valid:
        adapter = await client.adapter(caller)
        defs = await client.field_defs_for(caller, fields)
        batch = _IssueBatch(client, adapter, caller, list(fields), list(expand), defs)
        found = await batch.run(valid)
    out: dict[str, Issue | None] = {}
    for key in keys:
        out[key] = found.get(key.strip().upper())
    return out


class _IssueBatch:
    def __init__(
        self,
        client: JiraClient,
        adapter: JiraAdapter,
        caller: Caller,
        fields: list[str],
        expand: list[str],
        defs: Mapping[str, CustomField] | None,
    ) -> None:
        self.client = client
        self.adapter = adapter
        self.caller = caller
        self.fields = fields or ["key"]
        self.expand = expand
        self.defs = defs

    async def run(self, refs: list[str], limit: int | None = None) -> dict[str, Issue]:
        limit = limit or self.adapter.bulk_limit(self.fields, self.expand, self.defs)
        parts = await asyncio.gather(
            *(self._chunk(chunk) for chunk in self.adapter.chunks(refs, limit))
        )
        found: dict[str, Issue] = {}
        for part in parts:
            found.update(part)
        return found

    async def _chunk(self, chunk: list[str]) -> dict[str, Issue]:
        pending = list(chunk)
        for _ in range(_MISSING_KEY_ROUNDS):
            req = self.adapter.bulk_request(pending, self.fields, self.expand)
            try:
                raw = await self.client.call(self.caller, req)
            except JiraBadRequest as err:
                smaller = self.adapter.bulk_rejected(len(pending))
                if smaller is not None:
                    return await self.run(pending, smaller)
                missing = self.adapter.missing_refs(err) & set(pending)
                if not missing:
                    raise
                pending = [ref for ref in pending if ref not in missing]
                if not pending:
                    return {}
                continue
            issues = self.adapter.parse_issues(raw, req, self.defs, self.client.base_url)
            return await self._match(pending, issues)
        return {}  # JIRA kept naming new missing keys: treat the rest as missing too

    async def _match(self, refs: list[str], issues: list[Issue]) -> dict[str, Issue]:
        wanted = set(refs)
        found: dict[str, Issue] = {}
        strays: list[Issue] = []
        for issue in issues:
            if issue.key.upper() in wanted:
                found[issue.key.upper()] = issue
            elif issue.id in wanted:
                found[issue.id] = issue
            else:
                strays.append(issue)  # answered under another key: the issue was moved
        unresolved = [ref for ref in refs if ref not in found]
        if not strays or not unresolved:
            return found
        if len(strays) == 1 and len(unresolved) == 1:
            found[unresolved[0]] = strays[0]
            return found
        # Several moved issues in one chunk: ask JIRA which new issue each old key is now.
        by_id = {issue.id: issue for issue in strays}
        ids = await asyncio.gather(*(self._current_id(ref) for ref in unresolved))
        for ref, ident in zip(unresolved, ids, strict=True):
            if ident is not None and ident in by_id:
                found[ref] = by_id[ident]
        return found

    async def _current_id(self, ref: str) -> str | None:
        req = ApiRequest("GET", self.adapter.path("/issue/{key}"), {"key": ref}, {"fields": "key"})
        try:
            raw = await self.client.call(self.caller, req)
        except JiraNotFound:
            return None
        return parse_issue(raw, endpoint=req.template).id


async def fetch_users(
    client: JiraClient, caller: Caller, ids: Sequence[str]
) -> dict[str, User | None]:
    """``{id: User | None}`` for every requested ``User.id``, in request order."""
    unique = list(dict.fromkeys(i for i in ids if i))
    found: dict[str, User] = {}
    if unique:
        adapter = await client.adapter(caller)
        if adapter.bulk_users:
            chunks = [unique[i : i + USERS_PER_CALL] for i in range(0, len(unique), USERS_PER_CALL)]
            for part in await asyncio.gather(
                *(_bulk_users(client, adapter, caller, c) for c in chunks)
            ):
                found.update(part)
        else:
            users = await asyncio.gather(*(client.get_user(caller, i) for i in unique))
            found = {i: u for i, u in zip(unique, users, strict=True) if u is not None}
    return {i: found.get(i) for i in ids}


async def _bulk_users(
    client: JiraClient, adapter: JiraAdapter, caller: Caller, chunk: list[str]
) -> dict[str, User]:
    req = adapter.users_bulk_request(chunk)
    pages = PageRequest(
        req.method,
        req.template,
        caller.principal,
        "values",
        params={k: v for k, v in (req.params or {}).items() if k != "maxResults"},
        auth=caller.auth,
        page_size=len(chunk),
    )
    wanted = set(chunk)
    found: dict[str, User] = {}
    # Pages: JIRA may serve fewer than asked (Cloud caps maxResults); walk until isLast.
    async for raw in iterate_items(paginate_offset(client.transport, pages)):
        user = parse_user(raw, endpoint=req.template)
        for ident in (user.account_id, user.id):
            if ident is not None and ident in wanted:
                found[ident] = user
    return found
