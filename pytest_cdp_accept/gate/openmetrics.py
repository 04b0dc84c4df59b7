"""The run's metrics in the OpenMetrics text format, through ``prometheus-client``.

A :class:`FamiliesCollector` is a ``prometheus_client`` collector over whatever
function gives the current :class:`~.monitoring.Family` list: the same object
renders the end-of-run file and answers live scrapes (no global registry is
touched). Importing this module imports ``prometheus_client``: the run imports
it only when ``--cdp-openmetrics`` or ``--cdp-metrics-port`` asks for it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import UsageError
from .monitoring import BUCKETS_S, Family

INSTALL_HINT = "pip install 'pytest-cdp-accept[openmetrics]'"

try:
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.metrics_core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST, generate_latest
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise UsageError(
        f"--cdp-openmetrics and --cdp-metrics-port need prometheus-client: {INSTALL_HINT}"
    ) from exc

CONTENT_TYPE = CONTENT_TYPE_LATEST
_BOUNDS = [f"{bound:g}" for bound in BUCKETS_S] + ["+Inf"]


def to_metric(family: Family) -> Metric:
    """One family as a ``prometheus_client`` metric family."""
    labels = sorted({name for point in family.points for name in point.labels})
    metric: Metric
    if family.kind == "histogram":
        # The unit is part of the name already: the unit argument only adds the UNIT line.
        histogram = HistogramMetricFamily(family.name, family.help, labels=labels, unit=family.unit)
        for point in family.points:
            buckets = list(zip(_BOUNDS, (float(c) for c in point.buckets), strict=True))
            histogram.add_metric(_values(point.labels, labels), buckets, point.value)
        metric = histogram
    elif family.kind == "counter":
        counter = CounterMetricFamily(family.name, family.help, labels=labels, unit=family.unit)
        for point in family.points:
            counter.add_metric(_values(point.labels, labels), point.value)
        metric = counter
    else:
        gauge = GaugeMetricFamily(family.name, family.help, labels=labels, unit=family.unit)
        for point in family.points:
            gauge.add_metric(_values(point.labels, labels), point.value)
        metric = gauge
    return metric


def _values(labels: dict[str, str], names: Sequence[str]) -> list[str]:
    return [labels.get(name, "") for name in names]


class FamiliesCollector:
    """A ``prometheus_client`` collector of the families ``source`` gives at each call."""

    def __init__(self, source: Callable[[], list[Family]]) -> None:
        self.source = source

    def __repr__(self) -> str:
        return f"<FamiliesCollector {self.source!r}>"

    def collect(self) -> Iterator[Metric]:
        for family in self.source():
            yield to_metric(family)


def render(families: list[Family]) -> bytes:
    """``families`` as OpenMetrics text (``# EOF`` at the end)."""
    # prometheus-client leaves this function unannotated; it returns bytes.
    return bytes(generate_latest(FamiliesCollector(lambda: families)))  # type: ignore[no-untyped-call]


def negotiate(collector: FamiliesCollector, accept: str | None) -> tuple[bytes, str]:
    """The body and content type a scrape asked for with its ``Accept`` header:
    OpenMetrics for Prometheus (which asks for it), the classic text format else."""
    encoder, content_type = choose_encoder(accept or "")
    return bytes(encoder(collector)), content_type


def write_openmetrics(families: list[Family], path: Path) -> None:
    """Write ``families`` to ``path`` as OpenMetrics text, atomically (a reader never
    sees half a file: node_exporter's textfile collector reads such files)."""
    body = render(families)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
