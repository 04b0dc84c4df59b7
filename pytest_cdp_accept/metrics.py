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
``memory.idle``        footprint of the processes rendering the test's pages after
                       the body settled (MB; see docs/measurement.md)
``memory.peak``        highest such footprint sampled while the body ran (MB)
``memory.browser_idle`` footprint of the whole browser, launched for the test, after
                       the body settled (MB)
``memory.browser_peak`` highest whole-browser footprint while the body ran (MB)
``memory.js_heap``     largest JS heap of the test's pages after the body (MB)
``fleet.browsers``     browsers of ``cdp_fleet`` alive after the body
``fleet.pages``        pages of ``cdp_fleet`` alive after the body
``fleet.startup``      time to bring the whole fleet up (ms)
``fleet.launch``       each of the fleet's parallel browser launches (ms)
``farm.queue``         each new browser farm connection: the time it waited for the
                       farm to have room (its reported load, 429/503 answers), kept
                       out of ``startup`` (ms)
anything else          what the test records with ``cdp_metrics`` (latency, ms)
``<metric>.failed``    the time of each attempt that failed (a timer whose body
                       raised, a navigation or command that failed): kept out of
                       ``<metric>`` and counted next to it
=====================  ======================================================

The Web Vitals and page weight of each navigation (docs/vitals.md); the loops
under load record theirs with their prefix (``stress.lcp``, ``fleet.cls``, ...):

==========================  =================================================
``ttfb``                    navigation start to the document's first byte (ms)
``fcp``, ``lcp``            first / largest contentful paint (ms); a navigation
                            that never painted is a failed attempt
                            (``fcp.failed``, ``lcp.failed``)
``cls``                     Cumulative Layout Shift (a score, no unit)
``inp``                     Interaction to Next Paint (ms), when the test interacted
``tbt``                     Total Blocking Time from FCP on (ms)
``dom_content_loaded``      navigation start to DOMContentLoaded (ms)
``load``                    navigation start to the load event (ms)
``requests``                HTTP(S) requests of the navigation
``transfer_kb``             bytes received for them, headers included (KB)
``js_kb`` ``css_kb``        the same by type (KB)
``image_kb`` ``font_kb``
==========================  =================================================

A sample can carry tags (``page``: the URL it was taken on; ``throttle``: the
throttling profile it ran under), which reports group and show it by.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol


class Recorder(Protocol):
    def record(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None: ...


class _NullRecorder:
    def record(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        pass


NULL_RECORDER: Recorder = _NullRecorder()
"""Records nothing: what the engine uses outside a test."""


class LoopEvents(Protocol):
    """What a stability loop tells as each of its runs ends, for live monitoring.

    ``loop`` is ``stress`` or ``recovery``; ``error`` the type name of what failed
    the run (None: it passed); ``fault`` the fault a recovery run injected.
    """

    def run_ended(self, loop: str, error: str | None, fault: str | None = None) -> None: ...


class _NullLoopEvents:
    def run_ended(self, loop: str, error: str | None, fault: str | None = None) -> None:
        pass


NULL_LOOP_EVENTS: LoopEvents = _NullLoopEvents()
"""Tells no one: what the loops use when nothing monitors the run."""


# -- the metric catalogue: one place for names, kinds and units -----------------------

BUILTIN_LATENCY = ("startup", "page_open", "navigation", "command", "action")
METRIC_KINDS: dict[str, str] = {
    "memory.idle": "memory",
    "memory.peak": "memory",
    "memory.idle_rss": "memory",  # RSS: secondary figures, shared pages counted per process
    "memory.peak_rss": "memory",
    "memory.browser_idle": "memory",
    "memory.browser_peak": "memory",
    "memory.js_heap": "memory",
    "fleet.browsers": "count",
    "fleet.pages": "count",
    "fleet.startup": "latency",
    "farm.queue": "latency",
    "stress.success": "rate",
    "recovery.success": "rate",
    "leaks.js_heap": "growth",
    "leaks.dom_nodes": "growth",
    "leaks.python": "memory",
    "stress.run": "latency",
    "recovery.time": "latency",
}

VITAL_TIMES = ("ttfb", "fcp", "lcp", "inp", "tbt", "dom_content_loaded", "load")
"""Vitals in ms: gated at the 75th percentile by default (Google's assessment)."""
PAGE_WEIGHTS = ("transfer_kb", "js_kb", "css_kb", "image_kb", "font_kb")
VITALS = (*VITAL_TIMES[:3], "cls", *VITAL_TIMES[3:], "requests", *PAGE_WEIGHTS)
"""Every metric a navigation records, in report order."""
PAINT_METRICS = ("fcp", "lcp")
"""A navigation that never painted fails these (its failed attempt fails the gate)."""
LOOP_PREFIXES = ("stress.", "recovery.", "fleet.")
"""Where the loops under load record the vitals of their navigations."""
VITAL_BANDS: dict[str, tuple[float, float]] = {
    "ttfb": (800.0, 1800.0),
    "fcp": (1800.0, 3000.0),
    "lcp": (2500.0, 4000.0),
    "cls": (0.1, 0.25),
    "inp": (200.0, 500.0),
    "tbt": (200.0, 600.0),
}
"""Google's bands (Lighthouse's for TBT): "good" up to the first figure, "poor" above
the second, "needs improvement" between."""


def band_of(metric: str, value: float) -> str | None:
    """``good``, ``needs-improvement`` or ``poor`` for a vital (None for other metrics)."""
    limits = VITAL_BANDS.get(metric.rpartition(".")[2])
    if limits is None:
        return None
    good, poor = limits
    return "good" if value <= good else "poor" if value > poor else "needs-improvement"


def _vital_kind(name: str) -> str:
    if name in VITAL_TIMES:
        return "vital"
    if name == "cls":
        return "score"
    return "count" if name == "requests" else "size"


METRIC_KINDS.update(
    {prefix + name: _vital_kind(name) for prefix in ("", *LOOP_PREFIXES) for name in VITALS}
)


KIND_UNITS = {
    "latency": "ms",
    "memory": "MB",
    "count": "",
    "rate": "%",
    "growth": "KB/run",
    "failed": "ms",
    "vital": "ms",
    "score": "",
    "size": "KB",
}
METRIC_UNITS = {"leaks.dom_nodes": "/run"}
FAILED_SUFFIX = ".failed"


def failed_metric(metric: str) -> str:
    """Where the failed attempts of ``metric`` are recorded: ``<metric>.failed``."""
    return metric + FAILED_SUFFIX


def is_failed_metric(metric: str) -> bool:
    return metric.endswith(FAILED_SUFFIX) and len(metric) > len(FAILED_SUFFIX)


def kind_of(metric: str) -> str:
    """The kind of a metric; anything not listed is a latency in ms. The failed attempts
    of a metric (``<metric>.failed``, times in ms) are a kind of their own: never a
    latency that a report, a baseline or an export would take for successes."""
    if is_failed_metric(metric) and metric not in METRIC_KINDS:
        return "failed"
    return METRIC_KINDS.get(metric, "latency")


def unit_of(metric: str) -> str:
    """The unit samples of a metric are recorded in."""
    return METRIC_UNITS.get(metric, KIND_UNITS[kind_of(metric)])


def is_paint_metric(metric: str) -> bool:
    """``fcp`` or ``lcp``, also under a loop's prefix (``stress.lcp``)."""
    for prefix in ("", *LOOP_PREFIXES):
        if metric.startswith(prefix) and metric[len(prefix) :] in PAINT_METRICS:
            return True
    return False


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
    tags: Mapping[str, str] = field(default_factory=dict)
    """What it was taken on or under (``page``, ``throttle``)."""


class MetricsRecorder:
    """A test's samples by name; thread-safe (stress runs record from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def __repr__(self) -> str:
        return f"<MetricsRecorder {len(self._samples)} samples of {sorted(self.names())}>"

    def record(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        """Record one sample (latencies in ms, memory in MB), with optional ``tags``.

        A value that is not a finite number (None, NaN, infinity: what a page may
        hand back) raises ValueError naming the metric: it is not a measurement,
        and one such sample would make every statistic of the metric meaningless.
        """
        if not name or not isinstance(name, str):
            raise ValueError(f"metric name must be a non-empty string, got {name!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(
                f"record({name!r}, {value!r}): a sample must be a finite number "
                "(ms for times, MB for memory)"
            )
        sample = Sample(name, number, time.time(), dict(tags) if tags else {})
        with self._lock:
            self._samples.append(sample)

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time the ``with`` block and record it in ms under ``name``.

        A block that raises is a failed attempt, not a sample of how long the work
        takes: its time goes to ``<name>.failed``, which the summary shows next to
        ``name``'s count and which no threshold on ``name`` reads.
        """
        if not name or not isinstance(name, str):
            raise ValueError(f"metric name must be a non-empty string, got {name!r}")
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self.record(failed_metric(name), (time.perf_counter() - start) * 1000.0)
            raise
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
