"""The subscription pipeline without a server: filters, collapse, resync, coalesced checks,
and the WebSocket limits over a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.app import create_app
from gateway.db.migrate import upgrade
from gateway.errors import InvalidInput, LimitExceeded
from gateway.events import EventType, IssueEvent
from gateway.pubsub import MemoryBroker
from gateway.subscriptions import (
    Collapser,
    EventFilter,
    Resync,
    Seen,
    Viewer,
    VisibilityChecker,
    issue_events,
)
from tests.api.subscriptions_support import LEGACY, PROTOCOL, gateway_settings, ws_url
from tests.conftest import RunningServer, serve_in_thread


def event(key: str | None, kind: EventType = EventType.UPDATED, **extra: object) -> IssueEvent:
    project = key.rsplit("-", 1)[0] if key else None
    fields: dict[str, object] = {
        "id": "",
        "site_id": "s1",
        "type": kind,
        "issue_key": key,
        "issue_id": "10",
        "project_key": project,
        "changes": (),
        "actor": None,
        "timestamp": datetime(2025, 1, 1, tzinfo=UTC),
        **extra,
    }
    return IssueEvent(**fields)  # type: ignore[arg-type]


def test_filter_rules_out_what_the_event_alone_decides() -> None:
    only = EventFilter.build("s1", ["alpha"], None, None)
    assert only.may_match(event("ALPHA-1"))
    assert not only.may_match(event("BETA-1"))
    assert not only.may_match(event("ALPHA-1", site_id="s2"))
    assert only.may_match(event(None))  # by id only: decided once JIRA names the issue
    keys = EventFilter.build("s1", None, ["alpha-2"], None)
    assert keys.may_match(event("ALPHA-2"))
    assert not keys.may_match(event("ALPHA-3"))
    assert not keys.matches_issue("ALPHA-3", "ALPHA")


def test_filter_arguments_are_validated() -> None:
    with pytest.raises(InvalidInput):
        EventFilter.build("s1", None, ["not a key"], None)
    with pytest.raises(LimitExceeded):
        EventFilter.build("s1", [f"P{i}" for i in range(101)], None, None)
    assert EventFilter.build("s1", None, None, "  ").jql is None


def test_collapser_keeps_one_of_clouds_two_comment_deliveries() -> None:
    now = [0.0]
    collapser = Collapser(window_s=60, clock=lambda: now[0])
    created = event(
        "ALPHA-1", EventType.COMMENT_ADDED, subject_id="7", webhook_event="comment_created"
    )
    updated = event(
        "ALPHA-1", EventType.COMMENT_ADDED, subject_id="7", webhook_event="jira:issue_updated"
    )
    assert not collapser.duplicate(created)
    assert collapser.duplicate(updated)
    assert not collapser.duplicate(event("ALPHA-1", EventType.COMMENT_ADDED, subject_id="8"))
    assert not collapser.duplicate(event("ALPHA-1"))  # field edits are never collapsed
    now[0] = 61.0
    assert not collapser.duplicate(updated)  # outside the window: a new change


@dataclass
class FakeCaller:
    principal: str


class CountingChecker(VisibilityChecker):
    """Answers from a fixed set of visible keys, counting the JIRA calls it would make."""

    def __init__(self, visible: set[str], delay: float = 0.0) -> None:
        super().__init__()
        self.visible, self.delay = visible, delay

    async def check(self, viewer: Viewer, item: IssueEvent, jql: str | None) -> Seen | None:
        async def ask(*_: object) -> Seen | None:
            await asyncio.sleep(self.delay)
            key = item.issue_key or ""
            return Seen(key, key.rsplit("-", 1)[0]) if key in self.visible else None

        import gateway.subscriptions as module

        original = module._ask_jira
        module._ask_jira = ask  # type: ignore[assignment]
        try:
            return await super().check(viewer, item, jql)
        finally:
            module._ask_jira = original


def viewer(principal: str) -> Viewer:
    return Viewer(client=None, caller=FakeCaller(principal))  # type: ignore[arg-type]


async def test_events_are_filtered_by_visibility_and_resync_comes_first() -> None:
    clock = [1000.0]
    async with MemoryBroker(max_events=2, clock=lambda: clock[0]) as broker:
        old = await broker.publish(event("ALPHA-1"))
        for _ in range(3):  # pushes `old` and one more out of the 2-event window
            await broker.publish(event("ALPHA-9"))
        checker = CountingChecker({"ALPHA-1", "ALPHA-9"})

        async def viewer_of() -> Viewer:
            return viewer("acc-1")

        stream = issue_events(
            broker, EventFilter.build("s1", None, None, None), viewer_of, checker, old.id
        )
        first = await anext(stream)
        assert isinstance(first, Resync)
        assert first.since == old.id
        await broker.publish(event("GAMMA-1"))  # not visible
        await broker.publish(event("ALPHA-1"))
        live = await asyncio.wait_for(anext(stream), 5)  # after a gap: live events only
        await stream.aclose()
        assert broker.subscriber_count == 0  # closing the stream ends the broker subscription
    assert not isinstance(live, Resync)
    assert live[1] == Seen("ALPHA-1", "ALPHA")
    assert checker.calls == 2  # GAMMA-1 was asked about and withheld


async def test_replay_after_a_retained_cursor_has_no_resync() -> None:
    async with MemoryBroker() as broker:
        first = await broker.publish(event("ALPHA-1"))
        await broker.publish(event("ALPHA-2"))

        async def viewer_of() -> Viewer:
            return viewer("acc-1")

        only_alpha = EventFilter.build("s1", ["ALPHA"], None, None)
        checker = CountingChecker({"ALPHA-1", "ALPHA-2"})
        stream = issue_events(broker, only_alpha, viewer_of, checker, first.id)
        replayed = await asyncio.wait_for(anext(stream), 5)
        await stream.aclose()
    assert not isinstance(replayed, Resync)
    assert replayed[1].key == "ALPHA-2"


async def test_concurrent_checks_of_one_event_for_one_account_share_one_call() -> None:
    checker = CountingChecker({"ALPHA-1"}, delay=0.05)
    item = event("ALPHA-1").with_id("5-0")
    same = await asyncio.gather(*(checker.check(viewer("acc-1"), item, None) for _ in range(50)))
    other = await checker.check(viewer("acc-2"), item, None)
    assert all(s == Seen("ALPHA-1", "ALPHA") for s in same)
    assert other is not None
    assert checker.calls == 2
    await checker.check(viewer("acc-1"), item, None)
    assert checker.calls == 3  # nothing is kept once answered


def test_invalid_since_is_a_typed_error() -> None:
    async def run() -> None:
        async with MemoryBroker() as broker:
            stream = issue_events(
                broker,
                EventFilter.build("s1", None, None, None),
                None,
                VisibilityChecker(),
                "x",  # type: ignore[arg-type]
            )
            await anext(stream)

    with pytest.raises(InvalidInput):
        asyncio.run(run())


# --- WebSocket limits over a real socket -----------------------------------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp: Path = tmp_path_factory.mktemp("ws-limits")
    url = f"sqlite+aiosqlite:///{tmp / 'gw.sqlite3'}"
    upgrade(url)
    server = serve_in_thread(create_app(gateway_settings(url, tmp)))
    yield server
    server.stop()


async def test_no_connection_init_closes_with_4408(gateway: RunningServer) -> None:
    async with connect(ws_url(gateway.base_url), subprotocols=[PROTOCOL]) as ws:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        waited = asyncio.get_running_loop().time() - started
    assert ws.close_code == 4408
    assert 2.5 < waited < 6


async def test_frame_over_64_kib_closes_the_socket(gateway: RunningServer) -> None:
    async with connect(ws_url(gateway.base_url), subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"pad": "x" * 70_000}}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1009


async def _drain(ws: ClientConnection) -> None:
    for _ in range(3):
        await asyncio.wait_for(ws.recv(), 10)


@pytest.mark.parametrize("protocol", [PROTOCOL, LEGACY])
async def test_both_subprotocols_are_served(gateway: RunningServer, protocol: str) -> None:
    async with connect(ws_url(gateway.base_url), subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == protocol
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(ConnectionClosed):  # no token: refused, whatever the protocol
            await _drain(ws)
