"""The ``issueChanged`` subscription: live issue changes, filtered, as the subscriber sees them."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from gateway.accounts import SiteCall
from gateway.auth.scopes import Scope
from gateway.context import Context
from gateway.errors import expected_error
from gateway.subscriptions import (
    EventFilter,
    Resync,
    Viewer,
    VisibilityChecker,
    issue_events,
    validate_jql,
)
from schema.events import IssueEvent, issue_event, resync_event

# One per process: it only joins identical checks that are in flight at the same moment.
CHECKER = VisibilityChecker()


def _viewer_of(context: Context, call: SiteCall) -> Viewer:
    # The site's client is looked up again per event (cheap), so a re-registered site is used.
    client = context.state.sites.client(call.site_id, call.base_url, None)
    return Viewer(client=client, caller=call.caller)


def _typed(exc: Exception) -> Exception:
    """Expected failures with their code: the error policy extension does not see errors of
    subscriptions (Strawberry reports them outside the operation's result)."""
    expected = expected_error(exc)
    if expected is None:
        return exc
    code, message, extra = expected
    return GraphQLError(message, extensions={"code": code, **extra})


@strawberry.type
class EventSubscription:
    @strawberry.subscription(
        description="Issue changes as they happen in JIRA (fed by its webhooks, or by polling "
        "where a site has none). You receive an event only when it matches every filter you "
        "give AND your JIRA account may see the issue, checked with JIRA for each event. "
        "`jql` is evaluated by JIRA as you (`key = X AND (jql)`); invalid JQL fails this "
        "subscription with BAD_JQL. `since`: resume after an event's `cursor` (after a "
        "reconnect); if those events are no longer held you first get RESYNC_REQUIRED. "
        "Needs the READ scope; at most 20 subscriptions per connection."
    )
    async def issue_changed(
        self,
        info: Info[Context, None],
        project_keys: Annotated[
            list[str] | None,
            strawberry.argument(description="Only these projects (keys, e.g. ['ALPHA'])."),
        ] = None,
        issue_keys: Annotated[
            list[str] | None,
            strawberry.argument(description="Only these issues (keys, at most 100)."),
        ] = None,
        jql: Annotated[
            str | None,
            strawberry.argument(
                description="Only issues matching this JQL (as JIRA evaluates it)."
            ),
        ] = None,
        since: Annotated[
            str | None, strawberry.argument(description="Resume after this event cursor.")
        ] = None,
        site: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The JIRA site (default: your default site)."),
        ] = None,
    ) -> AsyncGenerator[IssueEvent]:
        context = info.context
        try:
            call = await context.site_call(site, Scope.READ)
            event_filter = EventFilter.build(call.site_id, project_keys, issue_keys, jql)
            if event_filter.jql is not None:
                await validate_jql(_viewer_of(context, call), event_filter.jql)
        except Exception as exc:
            raise _typed(exc) from exc

        async def viewer_of() -> Viewer:
            return _viewer_of(context, call)

        events = issue_events(context.state.broker, event_filter, viewer_of, CHECKER, since)
        try:
            async for item in events:
                if isinstance(item, Resync):
                    yield resync_event(item, call.site_id, datetime.now(UTC))
                else:
                    yield issue_event(*item)
        finally:
            await events.aclose()


__all__ = ["CHECKER", "EventSubscription"]
