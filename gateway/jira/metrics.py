"""Instrumentation of JIRA calls: a recorder protocol and an in-memory Prometheus-style one.

The transport reports one :class:`JiraCall` per logical request (retries included in it, and
calls refused locally by the breaker or the rate-limit gate too, with ``retries == 0``).
Labels use the endpoint *template*, never the expanded path: keys are data and would explode
the label cardinality.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

# Seconds; JIRA calls range from ~20 ms (cached GET) to the 10 s read timeout plus retries.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


@dataclass(frozen=True, slots=True)
class JiraCall:
    """One logical JIRA request as seen by the transport."""

    site: str
    endpoint: str
    method: str
    outcome: str  # the final HTTP status ("200", "503") or an error class ("JiraCircuitOpen")
    latency: float  # seconds, including retry waits
    retries: int
    upstream: bool = True  # False when refused locally without network I/O


class JiraCallRecorder(Protocol):
    """Receives every JIRA call; must be cheap and never raise."""

    def record(self, call: JiraCall) -> None: ...


class NullRecorder:
    """Discards everything (the default)."""

    def record(self, call: JiraCall) -> None:
        return None


_Key = tuple[str, str, str]


class _Histogram:
    __slots__ = ("buckets", "count", "sum")

    def __init__(self, size: int) -> None:
        self.buckets = [0] * size
        self.count = 0
        self.sum = 0.0


class InMemoryRecorder:
    """Counters and latency histograms, rendered in the Prometheus text format (0.0.4)."""

    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.bucket_bounds = tuple(sorted(buckets))
        self._lock = threading.Lock()
        self._requests: defaultdict[tuple[str, str, str, str], int] = defaultdict(int)
        self._retries: defaultdict[_Key, int] = defaultdict(int)
        self._latency: dict[_Key, _Histogram] = {}
        self.calls: list[JiraCall] = []
        self.keep_calls = 0  # how many recent calls to keep in ``calls`` (tests, debugging)

    def record(self, call: JiraCall) -> None:
        key = (call.site, call.endpoint, call.method)
        with self._lock:
            self._requests[(*key, call.outcome)] += 1
            self._retries[key] += call.retries
            histogram = self._latency.get(key)
            if histogram is None:
                histogram = self._latency[key] = _Histogram(len(self.bucket_bounds))
            index = bisect.bisect_left(self.bucket_bounds, call.latency)
            if index < len(histogram.buckets):
                histogram.buckets[index] += 1
            histogram.count += 1
            histogram.sum += call.latency
            if self.keep_calls:
                self.calls.append(call)
                del self.calls[: -self.keep_calls]

    def request_count(
        self, *, site: str | None = None, endpoint: str | None = None, outcome: str | None = None
    ) -> int:
        with self._lock:
            return sum(
                count
                for (s, e, _m, o), count in self._requests.items()
                if (site is None or s == site)
                and (endpoint is None or e == endpoint)
                and (outcome is None or o == outcome)
            )

    def retry_count(self, *, site: str | None = None, endpoint: str | None = None) -> int:
        with self._lock:
            return sum(
                count
                for (s, e, _m), count in self._retries.items()
                if (site is None or s == site) and (endpoint is None or e == endpoint)
            )

    def render_prometheus(self, prefix: str = "jgw_jira") -> str:
        """The metrics in Prometheus text exposition format, ready for ``/metrics``."""
        lines: list[str] = []
        with self._lock:
            name = f"{prefix}_requests_total"
            lines += [f"# HELP {name} JIRA requests by final outcome.", f"# TYPE {name} counter"]
            for (site, endpoint, method, outcome), count in sorted(self._requests.items()):
                labels = _labels(site=site, endpoint=endpoint, method=method, outcome=outcome)
                lines.append(f"{name}{{{labels}}} {count}")
            name = f"{prefix}_retries_total"
            lines += [f"# HELP {name} Automatic JIRA request retries.", f"# TYPE {name} counter"]
            for (site, endpoint, method), count in sorted(self._retries.items()):
                lines.append(
                    f"{name}{{{_labels(site=site, endpoint=endpoint, method=method)}}} {count}"
                )
            name = f"{prefix}_request_duration_seconds"
            lines += [
                f"# HELP {name} JIRA request latency including retries.",
                f"# TYPE {name} histogram",
            ]
            for (site, endpoint, method), hist in sorted(self._latency.items()):
                base = _labels(site=site, endpoint=endpoint, method=method)
                cumulative = 0
                for bound, count in zip(self.bucket_bounds, hist.buckets, strict=True):
                    cumulative += count
                    lines.append(f'{name}_bucket{{{base},le="{_number(bound)}"}} {cumulative}')
                lines.append(f'{name}_bucket{{{base},le="+Inf"}} {hist.count}')
                lines.append(f"{name}_sum{{{base}}} {_number(hist.sum)}")
                lines.append(f"{name}_count{{{base}}} {hist.count}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())


def _number(value: float) -> str:
    return repr(float(value))
