"""Which live issue events a subscriber receives: filter, permission check, resume, collapse.

One ``issue_events(...)`` async generator per GraphQL subscription, fed by the process's
``Broker`` (a local bounded queue, never a Redis connection per subscriber). Per event, in order:

1. cheap checks on the event alone: the site, ``issueKeys`` and ``projectKeys`` (when the event
   names them; events naming the issue by id only are decided after the fetch);
2. collapse: Cloud sends one new comment twice (``comment_created`` AND ``jira:issue_updated``
   with ``issue_commented``); both normalize to the same (type, issue, comment), delivered once;
3. visibility AS THE SUBSCRIBER, asked of JIRA for every event (never from an earlier answer:
   permissions and the issue change): a bulk fetch of the one issue, or, with ``jql``, a search
   ``key = X AND (jql)`` which checks visibility and the filter in one call. Concurrent checks of
   one event for one JIRA account with one JQL share a single call (``VisibilityChecker``), so
   2,000 sockets of one user cost one call per event. Deleted issues cannot be fetched: a
   deletion reaches subscribers who can browse the issue's project.

``since`` resumes after a cursor through the broker's replay; a cursor older than the retention
yields a ``Resync`` first (the client reloads), then live events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import cast

from gateway.errors import GatewayError, InvalidInput, LimitExceeded
from gateway.events import EventType, IssueEvent
from gateway.jira.adapter_base import ISSUE_REF, Caller
from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.client import JiraClient
from gateway.jira.errors import JiraBadRequest, JiraError, JiraNotFound
from gateway.pubsub import Broker, Gap, cursor_key, resume

log = logging.getLogger(__name__)

MAX_FILTER_KEYS = 100
MAX_JQL_CHARS = 2000
# Cloud's two deliveries of one comment arrive within milliseconds; 60 s and 512 entries per
# subscription cover JIRA's retries too, at a few KB per subscription.
COLLAPSE_WINDOW_S = 60.0
COLLAPSE_ENTRIES = 512


class InvalidJql(GatewayError):
    """The subscription's ``jql`` does not parse (JIRA's own messages)."""

    code = "BAD_JQL"


@dataclass(frozen=True, slots=True)
class Resync:
    """Events after ``since`` are gone: reload what the UI shows, then keep listening."""

    since: str
    oldest: str | None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What one subscription asked for; keys and project keys are upper-cased."""

    site_id: str
    project_keys: frozenset[str] | None = None
    issue_keys: frozenset[str] | None = None
    jql: str | None = None

    @classmethod
    def build(
        cls,
        site_id: str,
        project_keys: Sequence[str] | None,
        issue_keys: Sequence[str] | None,
        jql: str | None,
    ) -> EventFilter:
        """Validated arguments; ``InvalidInput`` / ``LimitExceeded`` naming the argument."""
        for name, values in (("projectKeys", project_keys), ("issueKeys", issue_keys)):
            if values is not None and len(values) > MAX_FILTER_KEYS:
                raise LimitExceeded(f"At most {MAX_FILTER_KEYS} {name}.", field=name)
        if issue_keys is not None:
            bad = [k for k in issue_keys if not ISSUE_REF.fullmatch(k.strip())]
            if bad:
                raise InvalidInput(f"Not an issue key: {bad[0][:40]!r}.", field="issueKeys")
        text = (jql or "").strip() or None
        if text is not None and len(text) > MAX_JQL_CHARS:
            raise LimitExceeded(f"jql is limited to {MAX_JQL_CHARS} characters.", field="jql")
        return cls(
            site_id=site_id,
            project_keys=_upper(project_keys),
            issue_keys=_upper(issue_keys),
            jql=text,
        )

    def may_match(self, event: IssueEvent) -> bool:
        """False when the event alone already rules it out (no JIRA call needed)."""
        if event.site_id != self.site_id:
            return False
        key, project = event.issue_key, event.project_key
        if self.issue_keys is not None and key is not None and key.upper() not in self.issue_keys:
            return False
        return not (
            self.project_keys is not None
            and project is not None
            and project.upper() not in self.project_keys
        )

    def matches_issue(self, key: str, project_key: str) -> bool:
        """The final check once JIRA named the issue (events that only carried its id)."""
        if self.issue_keys is not None and key.upper() not in self.issue_keys:
            return False
        return self.project_keys is None or project_key.upper() in self.project_keys


def _upper(values: Sequence[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(v.strip().upper() for v in values)


@dataclass(frozen=True, slots=True)
class Seen:
    """What JIRA said about an event's issue, as one subscriber's account sees it."""

    key: str
    project_key: str


@dataclass(frozen=True, slots=True)
class Viewer:
    """The subscriber's identity on the site (``caller.principal`` is the site account id)."""

    client: JiraClient
    caller: Caller


class VisibilityChecker:
    """Answers "may this account see this event's issue (and does it match jql)?" per event.

    Calls for the same (account, event, jql) made while one is in flight share it; nothing is
    kept once it completes, so the next event asks JIRA again.
    """

    def __init__(self) -> None:
        self._inflight: dict[tuple[str, str, str], asyncio.Future[Seen | None]] = {}
        self.calls = 0

    async def check(self, viewer: Viewer, event: IssueEvent, jql: str | None) -> Seen | None:
        key = (viewer.caller.principal, event.id, jql or "")
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Seen | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            self.calls += 1
            result = await _ask_jira(viewer, event, jql)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it twice
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]


async def _ask_jira(viewer: Viewer, event: IssueEvent, jql: str | None) -> Seen | None:
    client, caller = viewer.client, viewer.caller
    if event.type is EventType.DELETED:
        project = event.project_key
        if project is None or event.issue_key is None:
            return None
        visible = {p.key.upper() for p in await client.projects(caller)}
        return Seen(event.issue_key, project) if project.upper() in visible else None
    ref = event.issue_key or event.issue_id
    if ref is None or not ISSUE_REF.fullmatch(ref):
        return None
    if jql is not None:
        field = "id" if ref.isdigit() else "key"
        try:
            page = await client.search(
                caller, f"{field} = {ref} AND ({jql})", fields=["project"], page_size=1
            )
        except (JiraBadRequest, JiraNotFound):
            return None  # e.g. the issue vanished meanwhile, or the jql lost a project
        issue = page.issues[0] if page.issues else None
    else:
        issue = (await fetch_issues_by_key(client, caller, [ref], fields=["project"]))[ref]
    if issue is None:
        return None
    project_key = issue.project.key if issue.project else issue.key.rsplit("-", 1)[0]
    return Seen(issue.key, project_key)


async def validate_jql(viewer: Viewer, jql: str) -> None:
    """``InvalidJql`` with JIRA's messages unless ``jql`` parses (for this user)."""
    results = await viewer.client.parse_jql(viewer.caller, [jql])
    if results is not None:
        errors = [e for r in results for e in r.errors]
        if errors:
            raise InvalidJql(" ".join(errors), field="jql")
        return
    try:  # Server/DC has no parse endpoint: a one-issue search says the same
        await viewer.client.search(viewer.caller, jql, fields=["key"], page_size=1)
    except JiraBadRequest as exc:
        message = " ".join(exc.error_messages) or "JIRA refused this JQL."
        raise InvalidJql(message, field="jql") from None


class Collapser:
    """Drops the second delivery of one change (same type, issue and subject) within a window."""

    def __init__(
        self,
        window_s: float = COLLAPSE_WINDOW_S,
        entries: int = COLLAPSE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window_s = window_s
        self._entries = entries
        self._clock = clock
        self._seen: OrderedDict[tuple[str | None, ...], float] = OrderedDict()

    def duplicate(self, event: IssueEvent) -> bool:
        if event.subject_id is None or event.type not in _COLLAPSIBLE:
            return False
        now = self._clock()
        key = (event.site_id, event.type.value, event.issue_key or event.issue_id, event.subject_id)
        seen_at = self._seen.get(key)
        if seen_at is not None and now - seen_at < self._window_s:
            return True
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self._entries:
            self._seen.popitem(last=False)
        return False


_COLLAPSIBLE = frozenset(
    {EventType.COMMENT_ADDED, EventType.COMMENT_UPDATED, EventType.COMMENT_DELETED}
)

Delivered = tuple[IssueEvent, Seen] | Resync


async def issue_events(
    broker: Broker,
    event_filter: EventFilter,
    viewer_of: Callable[[], Awaitable[Viewer]],
    checker: VisibilityChecker,
    since: str | None = None,
) -> AsyncGenerator[Delivered, None]:
    """The events one subscriber may receive, in broker order (see the module docstring).

    ``viewer_of()`` is awaited once per event that passes the cheap checks: the subscriber's
    JIRA identity for that event, so nothing JIRA answered for one event serves the next.
    """
    if since is not None:
        try:
            cursor_key(since)
        except ValueError:
            raise InvalidInput("since is not an event cursor.", field="since") from None
    collapser = Collapser()
    # aclosing: the broker subscription ends the moment the client unsubscribes, not at GC.
    events = cast(AsyncGenerator[IssueEvent | Gap, None], resume(broker, since))
    async with contextlib.aclosing(events) as stream:
        async for item in stream:
            if isinstance(item, Gap):
                yield Resync(since=item.since, oldest=item.oldest)
                continue
            if not event_filter.may_match(item) or collapser.duplicate(item):
                continue
            try:
                seen = await checker.check(await viewer_of(), item, event_filter.jql)
            except JiraError as exc:
                # Unverifiable is invisible: never send an event JIRA could not vouch for.
                log.warning("event %s withheld: visibility check failed: %s", item.id, exc)
                continue
            if seen is not None and event_filter.matches_issue(seen.key, seen.project_key):
                yield item, seen


__all__ = [
    "Collapser",
    "Delivered",
    "EventFilter",
    "InvalidJql",
    "Resync",
    "Seen",
    "Viewer",
    "VisibilityChecker",
    "issue_events",
    "validate_jql",
]
