"""Per-site protection of JIRA: backoff, the site-wide "not before" gate, retry budget, breaker.

All pieces take an injectable monotonic ``clock`` so tests can drive time by hand. They are
meant to be used from one event loop (the transport of one site); none of them does I/O.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def full_jitter_backoff(
    retry: int, *, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number ``retry`` (0-based): uniform in [0, base * 2**retry].

    "Full jitter" (AWS architecture blog, 2015) spreads synchronized clients best; the upper
    bound is capped so a long outage never makes one wait exceed ``cap``.
    """
    upper = min(cap, base * (2 ** max(0, retry)))
    return (rng or random).uniform(0.0, upper)


class _RollingCounts:
    """Event counts over a sliding window, kept in fixed time buckets (O(buckets) memory)."""

    def __init__(self, window: float, buckets: int, clock: Clock, kinds: int) -> None:
        self._width = window / buckets
        self._clock = clock
        self._slots: list[list[float]] = [[0.0] * kinds for _ in range(buckets)]
        self._stamps: list[int] = [-1] * buckets

    def _slot(self) -> list[float]:
        tick = int(self._clock() // self._width)
        index = tick % len(self._slots)
        if self._stamps[index] != tick:
            self._stamps[index] = tick
            self._slots[index] = [0.0] * len(self._slots[index])
        return self._slots[index]

    def add(self, kind: int, amount: float = 1.0) -> None:
        self._slot()[kind] += amount

    def totals(self) -> list[float]:
        tick = int(self._clock() // self._width)
        oldest = tick - len(self._slots) + 1
        sums = [0.0] * len(self._slots[0])
        for stamp, slot in zip(self._stamps, self._slots, strict=True):
            if stamp >= oldest:
                for kind, value in enumerate(slot):
                    sums[kind] += value
        return sums

    def clear(self) -> None:
        self._stamps = [-1] * len(self._stamps)


class RetryBudget:
    """Retries may be at most ``ratio`` of requests over a sliding ``window`` (per site).

    A token bucket whose deposits expire: each request deposits ``ratio`` tokens, each retry
    spends one, and ``min_retries`` tokens are always there so a quiet site can still retry.
    Under sustained failure this bounds upstream traffic to (1 + ratio) x demand instead of
    the 5x that 4 retries per request would allow.
    """

    _REQUESTS, _RETRIES = 0, 1

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_retries: float = 10.0,
        window: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_retries = min_retries
        self._counts = _RollingCounts(window, 10, clock, kinds=2)

    def deposit(self) -> None:
        """Record one logical request (not its retries)."""
        self._counts.add(self._REQUESTS)

    def available(self) -> float:
        requests, retries = self._counts.totals()
        return self.min_retries + self.ratio * requests - retries

    def try_spend(self) -> bool:
        """Take one retry token; False means the retry must not happen."""
        if self.available() < 1.0:
            return False
        self._counts.add(self._RETRIES)
        return True


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class Permit:
    """Admission to call JIRA; ``probe`` marks a half-open trial call."""

    probe: bool


class CircuitBreaker:
    """Per-site breaker over logical calls (after retries).

    CLOSED -> OPEN when, over the last ``window`` seconds, at least ``min_calls`` calls ended
    and ``failure_ratio`` of them were failures (network errors, 5xx, 429 after retries; a 404
    or 400 proves JIRA is up and counts as a success). OPEN refuses every call for
    ``open_for`` seconds, then HALF_OPEN admits up to ``probes`` concurrent trial calls: the
    first success closes the breaker, a failed probe reopens it.
    """

    _OK, _FAILED = 0, 1

    def __init__(
        self,
        *,
        failure_ratio: float = 0.5,
        min_calls: int = 20,
        window: float = 60.0,
        open_for: float = 30.0,
        probes: int = 3,
        clock: Clock = time.monotonic,
    ) -> None:
        self.failure_ratio = failure_ratio
        self.min_calls = min_calls
        self.open_for = open_for
        self.probes = probes
        self._clock = clock
        self._counts = _RollingCounts(window, 12, clock, kinds=2)
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._probes_in_flight = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.open_for:
            self._state = BreakerState.HALF_OPEN
            self._probes_in_flight = 0
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker half-opens (0 when not open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.open_for - (self._clock() - self._opened_at))

    def acquire(self) -> Permit | None:
        """A permit to call, or None when the call must fail fast."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Permit(probe=False)
        if state is BreakerState.HALF_OPEN and self._probes_in_flight < self.probes:
            self._probes_in_flight += 1
            return Permit(probe=True)
        return None

    def release(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled): free a probe slot."""
        if permit.probe and self._state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)

    def record_success(self, permit: Permit) -> None:
        if permit.probe:
            if self._state is BreakerState.HALF_OPEN:
                self._state = BreakerState.CLOSED
                self._counts.clear()
            return
        self._counts.add(self._OK)

    def record_failure(self, permit: Permit) -> None:
        if permit.probe:
            if self._state is BreakerState.HALF_OPEN:
                self._open()
            return
        if self._state is not BreakerState.CLOSED:
            return  # a straggler from before the breaker opened
        self._counts.add(self._FAILED)
        ok, failed = self._counts.totals()
        total = ok + failed
        if total >= self.min_calls and failed >= self.failure_ratio * total:
            self._open()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._probes_in_flight = 0
        self._counts.clear()


class NotBeforeGate:
    """A site-wide "no request before" instant, set when JIRA says Retry-After.

    Every caller of the site waits on it before sending, so one 429 pauses all concurrent
    callers instead of each discovering the limit with its own request.
    """

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._not_before = 0.0

    def push(self, delay: float) -> None:
        """Forbid requests for ``delay`` seconds from now (never shortens an earlier pause)."""
        self._not_before = max(self._not_before, self._clock() + max(0.0, delay))

    def remaining(self) -> float:
        return max(0.0, self._not_before - self._clock())

    async def wait(self) -> None:
        # Loop: another response may push the instant further while we sleep.
        while (delay := self.remaining()) > 0:
            await self._sleep(delay)
