"""``UserByIdLoader``: users by JIRA id in bulk (Cloud ``/user/bulk``; Server one call each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.cache import cache_key
from gateway.context import Context
from gateway.jira.dto import User
from loaders.base import fetcher, load_grouped
from loaders.codec import dto_codec

USER_CODEC = dto_codec(User)


@dataclass(frozen=True, slots=True)
class UserRequest:
    site: str | None
    user_id: str


class UserByIdLoader(DataLoader[UserRequest, User | None]):
    """Users for one operation: values in key order, None for unknown ids."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self._batch)
        self.ctx = ctx

    async def _batch(self, requests: list[UserRequest]) -> list[Any]:
        return await load_grouped(requests, lambda r: r.site, self._load_site)

    async def _load_site(self, site: str | None, requests: list[UserRequest]) -> list[User | None]:
        ids = [request.user_id for request in requests]
        ctx = self.ctx
        call = await ctx.site_call(site)
        keys = [cache_key(call.site_id, call.account_id, "user", i) for i in ids]

        async def fetch(wanted: list[str]) -> list[User | None]:
            found = await call.client.get_users(call.caller, wanted)
            return [found.get(i) for i in wanted]

        return await fetcher(ctx.state.cache).load(
            keys,
            ids,
            fetch,
            policy=ctx.state.cache.config.metadata,
            codec=USER_CODEC,
            outcome=ctx.cache_outcome,
        )
