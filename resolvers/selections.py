"""Root fields for saved selections, saved filters and search history. Thin: args -> services."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.auth.scopes import Scope
from gateway.context import Context
from gateway.errors import NotFound
from gateway.history import SearchHistory
from gateway.jql_builder import build_jql
from gateway.saved_filters import QuickFilter as ServiceQuickFilter
from gateway.saved_filters import SavedFilters
from gateway.selections import MAX_KEYS, SelectionService
from schema.filters import IssueFilter, QuickFilter, to_spec
from schema.selections import (
    QuickFilterSet,
    SavedFilter,
    SearchHistoryEntry,
    Selection,
    ToggleResult,
    saved_quick_filter,
)

Keys = Annotated[list[str], strawberry.argument(description="Issue keys, like ALPHA-12.")]
SelectionId = Annotated[strawberry.ID, strawberry.argument(description="The selection's id.")]
Site = Annotated[
    strawberry.ID | None, strawberry.argument(description="Site id; default: your default site.")
]


def _selections(info: Info[Context, None]) -> SelectionService:
    return SelectionService(info.context.state.sessionmaker)


FilterIds = Annotated[
    list[str],
    strawberry.argument(
        description="Quick filter ids as `quickFilters` gives them: presets (`my-open`, "
        "`status:Done`...) and saved filters (`saved:<id>`)."
    ),
]


async def _preset_catalog(info: Info[Context, None], site: str | None) -> list[QuickFilter]:
    # resolvers.meta imports this module for `quickFilters`: import it when called.
    from resolvers.meta import preset_catalog

    return await preset_catalog(info.context, site)


def _resolve(
    entries: list[ServiceQuickFilter], catalog: dict[str, QuickFilter]
) -> list[QuickFilter]:
    out: list[QuickFilter] = []
    for entry in entries:
        if entry.kind == "preset" and entry.ref in catalog:
            out.append(catalog[entry.ref])
        elif entry.kind == "saved":
            out.append(saved_quick_filter(entry.ref, entry.name, entry.filter, entry.jql))
    return out


async def _sets(
    info: Info[Context, None], site: str | None, catalog: list[QuickFilter]
) -> list[QuickFilterSet]:
    call = await info.context.site_call(site)
    by_id = {q.id: q for q in catalog}
    found = await SavedFilters(info.context.state.sessionmaker).sets(
        call.principal_id, call.site_id, {q.id: (q.name, q.jql) for q in catalog}
    )
    return [
        QuickFilterSet(id=strawberry.ID(s.id), name=s.name, filters=_resolve(s.filters, by_id))
        for s in found
    ]


async def with_personal_sets(
    info: Info[Context, None], site: str | None, catalog: list[QuickFilter]
) -> list[QuickFilter]:
    """``quickFilters``: the user's own sets' filters first (their order), then the presets
    not already among them."""
    info.context.response_cacheable = False  # the sets live in the gateway's database
    mine = {q.id: q for s in await _sets(info, site, catalog) for q in s.filters}
    return [*mine.values(), *(q for q in catalog if q.id not in mine)]


@strawberry.type
class SelectionsQuery:
    @strawberry.field(description="Your selections on a site, and the site's shared ones.")
    async def selections(self, info: Info[Context, None], site: Site = None) -> list[Selection]:
        info.context.response_cacheable = False  # gateway data: never a stale hit
        call = await info.context.site_call(site)
        found = await _selections(info).list(call.principal_id, call.site_id)
        return [Selection.of(s, call.principal_id) for s in found]

    @strawberry.field(description="One selection; NOT_FOUND when unknown or another's private.")
    async def selection(self, info: Info[Context, None], id: SelectionId) -> Selection | None:
        info.context.response_cacheable = False  # gateway data: never a stale hit
        principal = info.context.require(Scope.READ)
        found = await _selections(info).get(principal.principal_id, str(id))
        return Selection.of(found, principal.principal_id)

    @strawberry.field(description="Your saved filters and the site's shared ones.")
    async def saved_filters(
        self, info: Info[Context, None], site: Site = None
    ) -> list[SavedFilter]:
        info.context.response_cacheable = False  # gateway data: never a stale hit
        call = await info.context.site_call(site)
        found = await SavedFilters(info.context.state.sessionmaker).visible(
            call.principal_id, call.site_id
        )
        return [SavedFilter.of(f, call.principal_id) for f in found]

    @strawberry.field(
        description="Your own quick filter sets on the site (compose them with "
        "`saveQuickFilterSet`); their filters also come first in `quickFilters`."
    )
    async def quick_filter_sets(
        self, info: Info[Context, None], site: Site = None
    ) -> list[QuickFilterSet]:
        info.context.response_cacheable = False  # gateway data: never a stale hit
        return await _sets(info, site, await _preset_catalog(info, site))

    @strawberry.field(description="Your last distinct searches, newest first (at most 100).")
    async def search_history(
        self, info: Info[Context, None], first: int | None = 100
    ) -> list[SearchHistoryEntry]:
        info.context.response_cacheable = False  # gateway data: never a stale hit
        principal = info.context.require(Scope.READ)
        entries = await SearchHistory(info.context.state.sessionmaker).list(
            principal.principal_id, first or 100
        )
        return [SearchHistoryEntry.of(e) for e in entries]


@strawberry.type
class SelectionsMutation:
    @strawberry.mutation(description="Create a selection, optionally with keys.")
    async def create_selection(
        self,
        info: Info[Context, None],
        name: str,
        keys: list[str] | None = None,
        shared: bool = False,
        site: Site = None,
    ) -> Selection:
        call = await info.context.site_call(site, Scope.WRITE)
        made = await _selections(info).create(
            call.principal_id, call.site_id, name, keys or [], shared=shared
        )
        return Selection.of(made, call.principal_id)

    @strawberry.mutation(description="Add keys (already present ones are kept once).")
    async def add_to_selection(
        self, info: Info[Context, None], id: SelectionId, keys: Keys
    ) -> Selection:
        principal = info.context.require(Scope.WRITE)
        return Selection.of(
            await _selections(info).add(principal.principal_id, str(id), keys),
            principal.principal_id,
        )

    @strawberry.mutation(description="Remove keys (absent ones are ignored).")
    async def remove_from_selection(
        self, info: Info[Context, None], id: SelectionId, keys: Keys
    ) -> Selection:
        principal = info.context.require(Scope.WRITE)
        return Selection.of(
            await _selections(info).remove(principal.principal_id, str(id), keys),
            principal.principal_id,
        )

    @strawberry.mutation(
        description="Every issue matching the filter and/or JQL (searched in JIRA as you, at "
        "most 10,000): added when not all are in the selection, else all removed."
    )
    async def toggle_all_in_selection(
        self,
        info: Info[Context, None],
        id: SelectionId,
        filter: IssueFilter | None = None,
        jql: str | None = None,
    ) -> ToggleResult:
        principal = info.context.require(Scope.WRITE)
        service = _selections(info)
        selection = await service.get(principal.principal_id, str(id))
        call = await info.context.site_call(selection.site_id)
        query = build_jql(to_spec(filter), jql, [("key", "ASC")])
        keys: list[str] = []
        # Key-only searches come 5,000 a page on Cloud: 2,000 issues are one JIRA request.
        async for issue in call.client.search_all(
            call.caller, query, fields=["key"], page_size=5000, max_pages=3
        ):
            keys.append(issue.key)
            if len(keys) > MAX_KEYS:
                break
        info_after, added = await service.toggle_all(principal.principal_id, str(id), keys)
        return ToggleResult(
            selection=Selection.of(info_after, principal.principal_id),
            added=added,
            matched=len(keys),
        )

    @strawberry.mutation(description="Remove every key.")
    async def clear_selection(self, info: Info[Context, None], id: SelectionId) -> Selection:
        principal = info.context.require(Scope.WRITE)
        return Selection.of(
            await _selections(info).clear(principal.principal_id, str(id)), principal.principal_id
        )

    @strawberry.mutation(description="Delete the selection.")
    async def delete_selection(self, info: Info[Context, None], id: SelectionId) -> bool:
        principal = info.context.require(Scope.WRITE)
        await _selections(info).delete(principal.principal_id, str(id))
        return True

    @strawberry.mutation(description="Save (or with `id`, replace) a filter by name.")
    async def save_filter(
        self,
        info: Info[Context, None],
        name: str,
        filter: JSON | None = None,
        jql: str | None = None,
        shared: bool = False,
        id: strawberry.ID | None = None,
        site: Site = None,
    ) -> SavedFilter:
        call = await info.context.site_call(site, Scope.WRITE)
        saved = await SavedFilters(info.context.state.sessionmaker).save(
            call.principal_id,
            call.site_id,
            name,
            filter=filter if isinstance(filter, dict) else None,
            jql=jql,
            shared=shared,
            filter_id=str(id) if id else None,
        )
        return SavedFilter.of(saved, call.principal_id)

    @strawberry.mutation(description="Delete one of your saved filters.")
    async def delete_filter(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        principal = info.context.require(Scope.WRITE)
        await SavedFilters(info.context.state.sessionmaker).delete(principal.principal_id, str(id))
        return True

    @strawberry.mutation(
        description="Create (or with `id`, replace) one of your quick filter sets from presets "
        "and saved filters you can see (at most 50)."
    )
    async def save_quick_filter_set(
        self,
        info: Info[Context, None],
        name: str,
        filters: FilterIds,
        id: strawberry.ID | None = None,
        site: Site = None,
    ) -> QuickFilterSet:
        call = await info.context.site_call(site, Scope.WRITE)
        catalog = await _preset_catalog(info, site)
        entries = [
            ("saved", ref[len("saved:") :]) if ref.startswith("saved:") else ("preset", ref)
            for ref in filters
        ]
        set_id = await SavedFilters(info.context.state.sessionmaker).save_set(
            call.principal_id,
            call.site_id,
            name,
            entries,
            set_id=str(id) if id else None,
            presets={q.id for q in catalog},
        )
        saved = [s for s in await _sets(info, site, catalog) if s.id == set_id]
        return saved[0]

    @strawberry.mutation(description="Delete one of your quick filter sets.")
    async def delete_quick_filter_set(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        principal = info.context.require(Scope.WRITE)
        await SavedFilters(info.context.state.sessionmaker).delete_set(
            principal.principal_id, str(id)
        )
        return True

    @strawberry.mutation(
        description="Count one use of a quick filter or saved filter (its id as `quickFilters` "
        "gives it); saved filters show the count as `useCount`."
    )
    async def record_filter_use(
        self, info: Info[Context, None], id: strawberry.ID, site: Site = None
    ) -> bool:
        call = await info.context.site_call(site, Scope.WRITE)
        ref = str(id)
        service = SavedFilters(info.context.state.sessionmaker)
        if ref.startswith("saved:"):
            await service.get(call.principal_id, ref[len("saved:") :])  # NOT_FOUND if hidden
            await service.record_use(call.principal_id, call.site_id, ref)
        else:
            if ref not in {q.id for q in await _preset_catalog(info, site)}:
                raise NotFound("No such quick filter.", field="id")
            await service.record_use(call.principal_id, call.site_id, f"preset:{ref}")
        return True

    @strawberry.mutation(description="Forget your search history; returns how many were removed.")
    async def clear_search_history(self, info: Info[Context, None]) -> int:
        principal = info.context.require(Scope.WRITE)
        return await SearchHistory(info.context.state.sessionmaker).clear(principal.principal_id)
