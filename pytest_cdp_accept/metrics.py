"""Samples, and the small recorder interface the engine records through.

The engine (pages, pools) knows only :class:`Recorder`: ``record(name,
value)``. The plugin gives each test a :class:`MetricsRecorder` and points the
engine at it while the test runs; the gate reads the samples afterwards. No
CDP and no pytest here.

Metric names (the same in markers, session gates, reports and JSON):

=====================  ======================================================
``startup``            each browser launch the test caused or waited for (ms)
``page_open``          time to hand the test a ready page (ms)
``navigation``         each ``goto`` of an ordinary test (ms); the loops under load
                       record theirs as ``stress.navigation``, ``fleet.navigation``
                       and ``recovery.navigation``
``command``            each user ``evaluate`` / ``send`` round trip (ms)
``action``             each journey action (click, fill, type, press, ...), its
                       waiting included (ms); the loops under load record theirs as
                       ``stress.action``, ``fleet.action`` and ``recovery.action``
``memory.idle``        PSS of the test's browsers after the body settled (MB)
``memory.peak``        highest PSS sampled while the body ran (MB)
``memory.js_heap``     largest JS heap of the test's pages after the body (MB)
``fleet.browsers``     browsers of ``cdp_fleet`` alive after the body
``fleet.pages``        pages of ``cdp_fleet`` alive after the body
``fleet.startup``      time to bring the whole fleet up (ms)
``fleet.launch``       each of the fleet's parallel browser launches (ms)
anything else          what the test records with ``cdp_metrics`` (latency, ms)
=====================  ======================================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


class Recorder(Protocol):
    def record(self, name: str, value: float) -> None: ...


class _NullRecorder:
    def record(self, name: str, value: float) -> None:
        pass


NULL_RECORDER: Recorder = _NullRecorder()
"""Records nothing: what the engine uses outside a test."""


# -- the metric catalogue: one place for names, kinds and units -----------------------

BUILTIN_LATENCY = ("startup", "page_open", "navigation", "command", "action")
METRIC_KINDS: dict[str, str] = {
    "memory.idle": "memory",
    "memory.peak": "memory",
    "memory.idle_rss": "memory",  # RSS: secondary figures, shared pages counted per process
    "memory.peak_rss": "memory",
    "memory.js_heap": "memory",
    "fleet.browsers": "count",
    "fleet.pages": "count",
    "fleet.startup": "latency",
    "stress.success": "rate",
    "recovery.success": "rate",
    "leaks.js_heap": "growth",
    "leaks.dom_nodes": "growth",
    "leaks.python": "memory",
    "stress.run": "latency",
    "recovery.time": "latency",
}


KIND_UNITS = {"latency": "ms", "memory": "MB", "count": "", "rate": "%", "growth": "KB/run"}
METRIC_UNITS = {"leaks.dom_nodes": "/run"}


def kind_of(metric: str) -> str:
    """The kind of a metric; anything not listed is a latency in ms."""
    return METRIC_KINDS.get(metric, "latency")


def unit_of(metric: str) -> str:
    """The unit samples of a metric are recorded in."""
    return METRIC_UNITS.get(metric, KIND_UNITS[kind_of(metric)])


# -- what a test asks to be measured under load (markers build these, loops run them) ----


@dataclass(frozen=True)
class FleetRequest:
    browsers: int
    pages: int
    within_ms: float | None


@dataclass(frozen=True)
class StressRequest:
    runs: int
    concurrency: int
    duration_s: float | None


@dataclass(frozen=True)
class RecoveryRequest:
    crashes: int
    kind: str
    within_ms: float


@dataclass(frozen=True)
class LeaksRequest:
    runs: int
    warmup: int
    python: bool = False


LoopRequest = StressRequest | RecoveryRequest | LeaksRequest
"""A request that takes over the test body (stress, recovery or leaks)."""


@dataclass(frozen=True)
class Sample:
    name: str
    value: float
    time: float
    """Wall-clock time (``time.time()``) when it was recorded."""


class MetricsRecorder:
    """A test's samples by name; thread-safe (stress runs record from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def __repr__(self) -> str:
        return f"<MetricsRecorder {len(self._samples)} samples of {sorted(self.names())}>"

    def record(self, name: str, value: float) -> None:
        """Record one sample (latencies in ms, memory in MB)."""
        if not name or not isinstance(name, str):
            raise ValueError(f"metric name must be a non-empty string, got {name!r}")
        sample = Sample(name, float(value), time.time())
        with self._lock:
            self._samples.append(sample)

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time the ``with`` block and record it in ms under ``name`` (also when it raises)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, (time.perf_counter() - start) * 1000.0)

    def samples(self, name: str) -> list[float]:
        with self._lock:
            return [s.value for s in self._samples if s.name == name]

    def all_samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def by_name(self) -> dict[str, list[float]]:
        """Every metric's values, in recording order."""
        grouped: dict[str, list[float]] = {}
        for sample in self.all_samples():
            grouped.setdefault(sample.name, []).append(sample.value)
        return grouped

    def names(self) -> set[str]:
        with self._lock:
            return {s.name for s in self._samples}

    def __getitem__(self, name: str) -> list[float]:
        return self.samples(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()
