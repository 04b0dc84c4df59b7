"""The run's figures as monitoring metrics: names, types, units and labels, with no
exposition library (OpenMetrics and OpenTelemetry render what is built here).

Every metric of the catalogue maps to one family named ``cdp_accept_<metric>``
with Prometheus conventions (snake_case, base units in the name, ``_total`` on
counters):

==================  =====================  ====================================
recorded as         family                 what it is
==================  =====================  ====================================
ms (latency)        ``..._seconds``        histogram (:data:`BUCKETS_S`)
MB, KB (memory)     ``..._bytes``          gauge: the last value of the series
% (a rate)          ``..._ratio``          gauge: the mean of the 1/0 samples
KB/run, /run        ``..._bytes_per_run``  gauge: the last value
no unit (count)     ``cdp_accept_<m>``     gauge: the last value
``<m>.failed``      ``..._failures_total`` counter: failed attempts
==================  =====================  ====================================

Event counters come next to them: stress runs and their failures by error type,
recovery faults and failures, test outcomes, the browsers launched and pages
opened; and while a run lasts, gauges of the pools (browsers, pages, leases).

A series is labelled ``nodeid``, ``worker`` (the xdist worker, ``main``
without xdist), ``isolation`` (the test's page isolation, ``none`` for a test
without a pooled page) and ``throttling`` (the profile a sample was taken
under, ``none`` when there is none).

:class:`Aggregates` keeps running sums as samples arrive (a scrape costs one
pass over the series, not over the samples); :func:`families` turns them, with
the counters and the pool gauges, into :class:`Family` objects.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from ..metrics import FAILED_SUFFIX, is_failed_metric, unit_of
from .report import SampleRecord

PREFIX = "cdp_accept_"
OTEL_PREFIX = "cdp_accept."
NONE = "none"

BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0,
    1.8, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 20.0, 30.0, 60.0,
)  # fmt: skip
"""Histogram bounds in seconds: web latencies from a 5 ms command to a 60 s launch,
with a bound at each limit a gate is commonly set at (INP 200 ms, navigation
500 ms, TTFB 800 ms, FCP 1.8 s, LCP 2.5 s and 4 s, startup 3 s), so the share of
samples under such a limit is exact rather than interpolated."""

MIB = 1024.0 * 1024.0
Kind = Literal["histogram", "gauge", "counter"]
LabelPairs = tuple[tuple[str, str], ...]
SERIES_LABELS = ("nodeid", "worker", "isolation", "throttling")


@dataclass(frozen=True)
class Exposed:
    """How one recorded metric is exposed."""

    name: str
    """The family's name: unit included, ``_total`` not (counters add it)."""
    kind: Kind
    unit: str
    """The OpenMetrics ``UNIT`` (``seconds``, ``bytes``, ``ratio``) or empty."""
    factor: float
    """Recorded value x factor = exposed value (ms -> s, MB -> bytes)."""
    help: str
    otel_name: str
    otel_unit: str
    """UCUM, as OpenTelemetry has it: ``s``, ``By``, ``1``."""
    mean: bool = False
    """A gauge of the mean of the samples (rates), not of the last one."""


# recorded unit -> (name suffix, OpenMetrics unit, factor, kind, OTel unit, what it is)
_UNITS: dict[str, tuple[str, str, float, Kind, str, str]] = {
    "ms": ("_seconds", "seconds", 1e-3, "histogram", "s", "time"),
    "s": ("_seconds", "seconds", 1.0, "histogram", "s", "time"),
    "MB": ("_bytes", "bytes", MIB, "gauge", "By", "memory, the last value"),
    "KB": ("_bytes", "bytes", 1024.0, "gauge", "By", "size, the last value"),
    "GB": ("_bytes", "bytes", 1024.0 * MIB, "gauge", "By", "size, the last value"),
    "%": ("_ratio", "ratio", 1.0, "gauge", "1", "share of runs that passed (0-1)"),
    "KB/run": ("_bytes_per_run", "", 1024.0, "gauge", "By/{run}", "growth per run"),
    "/run": ("_per_run", "", 1.0, "gauge", "{count}/{run}", "growth per run"),
}


def snake(text: str) -> str:
    """``text`` as a Prometheus name part: lower case, ``[a-z0-9_]``, no double ``_``."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return cleaned or "metric"


@lru_cache(maxsize=1024)
def exposed(metric: str) -> Exposed:
    """How ``metric`` (a name of the catalogue or one a test records) is exposed."""
    if is_failed_metric(metric):
        base = metric[: -len(FAILED_SUFFIX)]
        return Exposed(
            f"{PREFIX}{snake(base)}_failures",
            "counter",
            "",
            1.0,
            f"failed attempts of {base} (recorded as {metric})",
            f"{OTEL_PREFIX}{_otel_part(base)}.failures",
            "{attempt}",
        )
    unit = unit_of(metric)
    suffix, om_unit, factor, kind, otel_unit, what = _UNITS.get(
        unit, ("", "", 1.0, "gauge", "", "the last value")
    )
    return Exposed(
        f"{PREFIX}{snake(metric)}{suffix}",
        kind,
        om_unit,
        factor,
        f"{metric} ({what}; recorded in {unit or 'no unit'})",
        f"{OTEL_PREFIX}{_otel_part(metric)}",
        otel_unit,
        mean=unit == "%",
    )


def _otel_part(metric: str) -> str:
    # OpenTelemetry names allow [A-Za-z0-9_.-/]; a collector's Prometheus exporter turns
    # the dots into underscores and adds the unit, which gives the names above.
    return re.sub(r"[^A-Za-z0-9_.]+", "_", metric.lower()).strip("._") or "metric"


# -- event counters and gauges that are not samples --------------------------------


@dataclass(frozen=True)
class EventFamily:
    name: str
    kind: Kind
    help: str
    otel_name: str
    otel_unit: str = ""


EVENTS: dict[str, EventFamily] = {
    family.name: family
    for family in (
        EventFamily(
            f"{PREFIX}stress_runs",
            "counter",
            "stress runs of the test body, as they end",
            f"{OTEL_PREFIX}stress.runs",
            "{run}",
        ),
        EventFamily(
            f"{PREFIX}stress_run_failures",
            "counter",
            "stress runs that failed, by error type",
            f"{OTEL_PREFIX}stress.run.failures",
            "{run}",
        ),
        EventFamily(
            f"{PREFIX}recovery_faults",
            "counter",
            "faults injected by cdp_recovery, by kind (renderer, browser)",
            f"{OTEL_PREFIX}recovery.faults",
            "{fault}",
        ),
        EventFamily(
            f"{PREFIX}recovery_failures",
            "counter",
            "faults the pool did not recover from in time, by kind and error type",
            f"{OTEL_PREFIX}recovery.failures",
            "{fault}",
        ),
        EventFamily(
            f"{PREFIX}tests",
            "counter",
            "tests by outcome (passed, failed, skipped, error) and, for a failure or an "
            "error, the type of what raised",
            f"{OTEL_PREFIX}tests",
            "{test}",
        ),
        EventFamily(
            f"{PREFIX}browsers_launched",
            "counter",
            "browsers the pools and fleets launched",
            f"{OTEL_PREFIX}browsers_launched",
            "{browser}",
        ),
        EventFamily(
            f"{PREFIX}pages_opened",
            "counter",
            "pages the pools and fleets opened",
            f"{OTEL_PREFIX}pages_opened",
            "{page}",
        ),
        EventFamily(
            f"{PREFIX}pool_browsers",
            "gauge",
            "browsers alive in the pool now",
            f"{OTEL_PREFIX}pool.browsers",
            "{browser}",
        ),
        EventFamily(
            f"{PREFIX}pool_pages",
            "gauge",
            "pages open on the pool's browsers now (leased, parked or being wiped)",
            f"{OTEL_PREFIX}pool.pages",
            "{page}",
        ),
        EventFamily(
            f"{PREFIX}pool_leases",
            "gauge",
            "pages and browsers handed out by the pool now",
            f"{OTEL_PREFIX}pool.leases",
            "{lease}",
        ),
    )
}
RUN_COUNTERS = {
    "browsers_launched": f"{PREFIX}browsers_launched",
    "pages_opened": f"{PREFIX}pages_opened",
}
"""The run's own counters (:attr:`~.report.Results.counters`) and their families."""
POOL_GAUGES = {
    "browsers": f"{PREFIX}pool_browsers",
    "pages": f"{PREFIX}pool_pages",
    "leases": f"{PREFIX}pool_leases",
}


def counter_key(family: str, **labels: str) -> tuple[str, LabelPairs]:
    """The key of one counter series: its family and its labels, in a stable order."""
    return family, tuple(sorted(labels.items()))


# -- running aggregates ----------------------------------------------------------------


@dataclass
class Series:
    """One series of samples: count, sum and last value (exposed units); bucket counts
    (not cumulative) for a histogram."""

    count: int = 0
    total: float = 0.0
    last: float = 0.0
    buckets: list[int] = field(default_factory=list)

    def add(self, value: float, histogram: bool) -> None:
        self.count += 1
        self.total += value
        self.last = value
        if histogram:
            if not self.buckets:
                self.buckets = [0] * (len(BUCKETS_S) + 1)
            self.buckets[bisect.bisect_left(BUCKETS_S, value)] += 1


SampleKey = tuple[str, str, str, str]
"""(metric, nodeid, worker, throttling)."""


def sample_tags(sample: SampleRecord) -> Mapping[str, str]:
    """What a sample was taken under, where the record carries tags (the throttling
    profile as ``throttle``, the error of a failed attempt as ``error``)."""
    tags = getattr(sample, "tags", None)
    return tags if isinstance(tags, Mapping) else {}


class Aggregates:
    """Samples summed up by series as they arrive, and the counts of failed attempts
    by error type."""

    def __init__(self) -> None:
        self.series: dict[SampleKey, Series] = {}
        self.failures: dict[tuple[SampleKey, str], int] = {}
        self.samples = 0

    def __repr__(self) -> str:
        return f"<Aggregates {self.samples} samples in {len(self.series)} series>"

    def add(self, samples: Iterable[SampleRecord]) -> None:
        for sample in samples:
            self.samples += 1
            tags = sample_tags(sample)
            key = (sample.metric, sample.test, sample.worker, tags.get("throttle") or NONE)
            how = exposed(sample.metric)
            if how.kind == "counter":
                failure = (key, tags.get("error", ""))
                self.failures[failure] = self.failures.get(failure, 0) + 1
                continue
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = Series()
            series.add(sample.value * how.factor, how.kind == "histogram")


# -- families -----------------------------------------------------------------------


@dataclass
class Point:
    """One series of a family: its labels and value (a histogram's sum), and for a
    histogram its cumulative bucket counts (the last one is ``+Inf``, the count)."""

    labels: dict[str, str]
    value: float
    buckets: tuple[int, ...] = ()


@dataclass
class Family:
    name: str
    kind: Kind
    unit: str
    help: str
    otel_name: str
    otel_unit: str
    points: list[Point] = field(default_factory=list)


TestLabels = Mapping[str, Mapping[str, str]]
"""nodeid -> the labels of the test (``isolation``, ``throttling``)."""


def labels_for(nodeid: str, worker: str, tests: TestLabels, **extra: str) -> dict[str, str]:
    """A test-scoped series' labels: the test's own, then ``extra`` (which wins)."""
    own = tests.get(nodeid, {})
    return {
        "nodeid": nodeid,
        "worker": worker,
        "isolation": own.get("isolation", NONE),
        "throttling": own.get("throttling", NONE),
        **extra,
    }


def families(
    aggregates: Aggregates,
    tests: TestLabels,
    counters: Mapping[tuple[str, LabelPairs], float],
    run_counters: Mapping[str, float] | None = None,
    pools: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Family]:
    """Every family, sorted by name: the samples' (``aggregates``), the event counters
    (``counters``, keyed by :func:`counter_key`; their ``nodeid`` gets the test's
    labels), the run's counters and the pools' gauges (``pools``: worker -> figures)."""
    found: dict[str, Family] = {}
    for (metric, nodeid, worker, throttling), series in aggregates.series.items():
        how = exposed(metric)
        point = Point(labels_for(nodeid, worker, tests, throttling=throttling), series.total)
        if how.kind == "histogram":
            point.buckets = _cumulative(series.buckets)
        else:
            point.value = series.total / series.count if how.mean else series.last
        _family(found, how).points.append(point)
    for ((metric, nodeid, worker, throttling), error), count in aggregates.failures.items():
        labels = labels_for(nodeid, worker, tests, throttling=throttling)
        if error:
            labels["error"] = error
        _family(found, exposed(metric)).points.append(Point(labels, float(count)))
    for (name, pairs), value in counters.items():
        labels = dict(pairs)
        if "nodeid" in labels:
            nodeid, worker = labels.pop("nodeid"), labels.pop("worker", "")
            labels = labels_for(nodeid, worker, tests, **labels)
        _event_family(found, name).points.append(Point(labels, value))
    for name, value in (run_counters or {}).items():
        if name in RUN_COUNTERS:
            _event_family(found, RUN_COUNTERS[name]).points.append(Point({}, value))
    for worker, figures in sorted((pools or {}).items()):
        for figure, value in figures.items():
            if figure in POOL_GAUGES:
                family = _event_family(found, POOL_GAUGES[figure])
                family.points.append(Point({"worker": worker}, value))
    for family in found.values():
        family.points.sort(key=lambda p: sorted(p.labels.items()))
    return [found[name] for name in sorted(found)]


def _cumulative(buckets: Sequence[int]) -> tuple[int, ...]:
    running, out = 0, []
    for count in buckets:
        running += count
        out.append(running)
    return tuple(out)


def _family(found: dict[str, Family], how: Exposed) -> Family:
    name = how.name
    while name in found:  # two names that snake_case alike, of different kinds
        if found[name].kind == how.kind:
            return found[name]
        name += "_"
    family = Family(name, how.kind, how.unit, how.help, how.otel_name, how.otel_unit)
    found[name] = family
    return family


def _event_family(found: dict[str, Family], name: str) -> Family:
    event = EVENTS[name]
    how = Exposed(name, event.kind, "", 1.0, event.help, event.otel_name, event.otel_unit)
    return _family(found, how)
