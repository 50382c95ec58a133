"""``IssueByKeyLoader``: issues by key in bulk, through the cache, per operation.

Batch contract (STYLE rule 4): one value per requested key, in key order, ``None`` for a key
JIRA does not return (missing, or hidden from this user: the same answer). Inside a batch the
requests are grouped by (site, field set, expand); each group is one ``CachedFetch.load`` - cache
``get_many``, ONE bulk JIRA call (``fetch_issues_by_key``: Cloud bulkfetch, Server ``key in``)
for the misses, cache ``set_many`` - with keys scoped by site AND the caller's account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from gateway.cache import cache_key, issue_tag
from gateway.context import Context
from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.dto import Issue
from loaders.base import fetcher, load_grouped, touch
from loaders.codec import dto_codec

ISSUE_CODEC = dto_codec(Issue)


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """One issue as one operation wants it: ``fields``/``expand`` come from the look-ahead."""

    site: str | None
    key: str
    fields: tuple[str, ...]
    expand: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, site: str | None, key: str, fields: Sequence[str], expand: Sequence[str] = ()
    ) -> IssueRequest:
        return cls(site, key.strip().upper(), tuple(sorted(set(fields))), tuple(sorted(expand)))


def fieldset(fields: Sequence[str], expand: Sequence[str]) -> list[str]:
    """The field-set part of a cache key: the JIRA fields plus the expands (``+changelog``)."""
    return [*fields, *(f"+{e}" for e in expand)]


class IssueByKeyLoader(DataLoader[IssueRequest, Issue | None]):
    """Issues by key for one operation; build it with ``ctx.loader(IssueByKeyLoader)``."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self._batch)
        self.ctx = ctx

    async def _batch(self, requests: list[IssueRequest]) -> list[Issue | BaseException | None]:
        return await load_grouped(
            requests, lambda r: (r.site, r.fields, r.expand), self._load_group
        )

    async def _load_group(
        self,
        group: tuple[str | None, tuple[str, ...], tuple[str, ...]],
        requests: list[IssueRequest],
    ) -> list[Issue | BaseException | None]:
        site, fields, expand = group
        keys = [request.key for request in requests]
        ctx = self.ctx
        call = await ctx.site_call(site)
        site_id = call.site_id
        cache_keys = [
            cache_key(site_id, call.account_id, "issue", k, fields=fieldset(fields, expand))
            for k in keys
        ]

        async def fetch(refs: list[str]) -> list[Issue | None]:
            found = await fetch_issues_by_key(
                call.client, call.caller, refs, fields=fields, expand=expand
            )
            return [found[ref] for ref in refs]

        values = await fetcher(ctx.state.cache).load_or_errors(
            cache_keys,
            keys,
            fetch,
            policy=ctx.state.cache.config.issues,
            tags=lambda ref, issue: {issue_tag(site_id, ref), issue_tag(site_id, issue.key)},
            codec=ISSUE_CODEC,
            outcome=ctx.cache_outcome,
        )
        touch(ctx, site_id, keys)
        return values


async def forget_issue(ctx: Context, site_id: str, issue_key: str) -> None:
    """After a write to ``issue_key``: drop it from this operation's loaders and from the cache
    of every principal (entries, searches and responses built from it)."""
    from loaders.activity import ChangelogLoader, CommentsLoader  # activity imports this module

    ctx.loader(IssueByKeyLoader).clear_all()
    ctx.loader(CommentsLoader).clear_all()
    ctx.loader(ChangelogLoader).clear_all()
    await ctx.state.cache.invalidate_issue(site_id, issue_key)
