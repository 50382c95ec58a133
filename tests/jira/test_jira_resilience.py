"""Backoff, retry budget, breaker, the site pause gate and error parsing, on a fake clock."""

from __future__ import annotations

import asyncio
import random

import pytest

from gateway.jira.errors import parse_error_body, parse_rate_limit_reset, parse_retry_after
from gateway.jira.metrics import InMemoryRecorder, JiraCall
from gateway.jira.resilience import (
    BreakerState,
    CircuitBreaker,
    NotBeforeGate,
    RetryBudget,
    full_jitter_backoff,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_full_jitter_stays_within_the_exponential_envelope_and_cap() -> None:
    rng = random.Random(7)
    for retry in range(8):
        waits = [full_jitter_backoff(retry, base=0.5, cap=30, rng=rng) for _ in range(300)]
        upper = min(30.0, 0.5 * 2**retry)
        assert all(0.0 <= w <= upper for w in waits)
        # "Full" jitter: the waits cover the whole range, not just its top.
        assert min(waits) < upper * 0.1
        assert max(waits) > upper * 0.9


def test_retry_budget_allows_a_minimum_then_a_fifth_of_requests() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_retries=2, window=10, clock=clock)

    budget.deposit()
    assert budget.try_spend()  # the first retry on a quiet site works
    assert budget.try_spend()
    assert not budget.try_spend()

    for _ in range(50):
        budget.deposit()
    granted = sum(budget.try_spend() for _ in range(100))
    assert granted == 10  # 0.2 x 50 more requests


def test_retry_budget_window_slides() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_retries=1, window=10, clock=clock)
    for _ in range(20):
        budget.deposit()
    while budget.try_spend():
        pass
    assert budget.available() < 1

    clock.now += 11  # requests and retries of the old window are forgotten
    assert budget.available() == pytest.approx(1.0)


def _fail(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        permit = breaker.acquire()
        assert permit is not None
        breaker.record_failure(permit)


def _succeed(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        permit = breaker.acquire()
        assert permit is not None
        breaker.record_success(permit)


def test_breaker_needs_twenty_calls_and_half_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)

    _fail(breaker, 19)
    assert breaker.state is BreakerState.CLOSED  # too few calls to judge

    breaker = CircuitBreaker(clock=clock)
    _succeed(breaker, 11)
    _fail(breaker, 9)
    assert breaker.state is BreakerState.CLOSED  # 45 % failures
    _fail(breaker, 2)
    assert breaker.state is BreakerState.OPEN  # 11 of 22


def test_breaker_forgets_failures_outside_its_window() -> None:
    clock = Clock()
    breaker = CircuitBreaker(window=60, clock=clock)
    _fail(breaker, 15)
    clock.now += 61
    _fail(breaker, 10)
    assert breaker.state is BreakerState.CLOSED


def test_breaker_open_half_open_probes_close_and_reopen() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    _fail(breaker, 20)
    assert breaker.state is BreakerState.OPEN
    assert breaker.acquire() is None
    assert breaker.retry_in() == pytest.approx(30)

    clock.now += 29.9
    assert breaker.acquire() is None
    clock.now += 0.2
    assert breaker.state is BreakerState.HALF_OPEN

    probes = [breaker.acquire() for _ in range(3)]
    assert all(p is not None and p.probe for p in probes)
    assert breaker.acquire() is None  # only 3 probes at a time

    assert probes[0] is not None
    breaker.release(probes[0])  # a cancelled probe frees its slot
    again = breaker.acquire()
    assert again is not None

    assert probes[1] is not None
    breaker.record_failure(probes[1])  # a failed probe reopens
    assert breaker.state is BreakerState.OPEN

    clock.now += 30
    probe = breaker.acquire()
    assert probe is not None
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED
    _fail(breaker, 19)  # the old failures were cleared on closing
    assert breaker.state is BreakerState.CLOSED


async def test_gate_pauses_until_the_instant_and_never_shortens() -> None:
    clock = Clock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    gate = NotBeforeGate(clock=clock, sleep=sleep)
    gate.push(5)
    gate.push(2)
    assert gate.remaining() == pytest.approx(5)

    await gate.wait()
    assert slept == [pytest.approx(5)]
    assert gate.remaining() == 0

    await gate.wait()
    assert len(slept) == 1


async def test_gate_wait_picks_up_extensions() -> None:
    gate = NotBeforeGate()
    gate.push(0.05)
    waiter = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.01)
    gate.push(0.15)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await waiter
    assert loop.time() - started >= 0.13


@pytest.mark.parametrize(
    ("body", "message", "messages", "errors"),
    [
        (
            b'{"errorMessages":["Issue does not exist"],"errors":{}}',
            "Issue does not exist",
            ["Issue does not exist"],
            {},
        ),
        (
            b'{"errorMessages":[],"errors":{"summary":"You must specify a summary."}}',
            "summary: You must specify a summary.",
            [],
            {"summary": "You must specify a summary."},
        ),
        (
            b'{"message":"Unauthorized; scope does not match"}',
            "Unauthorized; scope does not match",
            [],
            {},
        ),
        (b"<html><title>Service Unavailable</title></html>", "Service Unavailable", [], {}),
        (
            b"<html><body><p>Down for\n maintenance</p></body></html>",
            "Down for maintenance",
            [],
            {},
        ),
        (b"plain failure", "plain failure", [], {}),
        (b"", "", [], {}),
        (b"[1, 2]", "", [], {}),
    ],
)
def test_error_bodies_of_every_shape(
    body: bytes, message: str, messages: list[str], errors: dict[str, str]
) -> None:
    assert parse_error_body(body) == (message, messages, errors)


def test_error_message_is_clipped() -> None:
    message, _, _ = parse_error_body(b"x" * 10_000)
    assert len(message) <= 500


def test_retry_after_and_reset_parsing() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("3", now_epoch=now) == 3
    assert parse_retry_after("1.5", now_epoch=now) == 1.5
    assert parse_retry_after("-4", now_epoch=now) == 0
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now_epoch=now) == pytest.approx(10)
    assert parse_retry_after("soon", now_epoch=now) is None
    assert parse_retry_after(None, now_epoch=now) is None
    assert parse_rate_limit_reset("2023-11-14T22:13:25Z", now_epoch=now) == pytest.approx(5)
    assert parse_rate_limit_reset("2023-11-14T23:13:25+01:00", now_epoch=now) == pytest.approx(5)
    assert parse_rate_limit_reset("2023-11-14T22:13:25.500Z", now_epoch=now) == pytest.approx(5.5)
    assert parse_rate_limit_reset("garbage", now_epoch=now) is None


def test_prometheus_rendering_is_cumulative_and_escaped() -> None:
    recorder = InMemoryRecorder(buckets=(0.1, 1.0))
    endpoint = '/rest/api/3/issue/{key}"x'
    for latency in (0.05, 0.1, 0.5, 3.0):
        recorder.record(JiraCall("a", endpoint, "GET", "200", latency, retries=1))
    recorder.record(JiraCall("a", endpoint, "GET", "JiraCircuitOpen", 0.0, 0, upstream=False))

    lines = recorder.render_prometheus().splitlines()

    labels = 'site="a",endpoint="/rest/api/3/issue/{key}\\"x",method="GET"'
    assert f'jgw_jira_requests_total{{{labels},outcome="200"}} 4' in lines
    assert f'jgw_jira_requests_total{{{labels},outcome="JiraCircuitOpen"}} 1' in lines
    assert f"jgw_jira_retries_total{{{labels}}} 4" in lines
    assert f'jgw_jira_request_duration_seconds_bucket{{{labels},le="0.1"}} 3' in lines
    assert f'jgw_jira_request_duration_seconds_bucket{{{labels},le="1.0"}} 4' in lines
    assert f'jgw_jira_request_duration_seconds_bucket{{{labels},le="+Inf"}} 5' in lines
    assert f"jgw_jira_request_duration_seconds_count{{{labels}}} 5" in lines
    assert "# TYPE jgw_jira_request_duration_seconds histogram" in lines
