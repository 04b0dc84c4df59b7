"""The run's metrics through the OpenTelemetry SDK and its OTLP/HTTP exporter.

Latency samples are recorded one by one into SDK histograms (with the bounds of
:data:`~.monitoring.BUCKETS_S`); every other family (gauges, counters) is
observed: the SDK's reader calls back at each export and gets the values of
the last :meth:`OtelExport.update`. The reader exports periodically
(``OTEL_METRIC_EXPORT_INTERVAL``, 60 s by default) and once more when the
export shuts down at the end of the run.

The resource is ``service.name = pytest-cdp-accept`` unless the standard
``OTEL_SERVICE_NAME`` or ``OTEL_RESOURCE_ATTRIBUTES`` say otherwise; the
exporter reads the standard ``OTEL_EXPORTER_OTLP_*`` variables (headers,
timeout, compression) as usual. Importing this module imports the SDK: the run
imports it only when an OTLP endpoint is set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import UsageError
from .monitoring import BUCKETS_S, Family, TestLabels, exposed, labels_for, sample_tags
from .report import SampleRecord

INSTALL_HINT = "pip install 'pytest-cdp-accept[otel]'"
SERVICE_NAME = "pytest-cdp-accept"
SCOPE = "pytest_cdp_accept"

try:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.metrics import CallbackOptions, Histogram, Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExportResult,
        MetricsData,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise UsageError(
        f"an OTLP endpoint needs the OpenTelemetry SDK and exporter: {INSTALL_HINT}"
    ) from exc


def resource() -> Resource:
    """The standard resource: the SDK's attributes, ``service.name`` ours unless
    ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` set it (they win)."""
    from_env = OTELResourceDetector().detect().attributes
    return Resource.create({"service.name": SERVICE_NAME, **from_env})


class CountingExporter(OTLPMetricExporter):
    """The OTLP/HTTP exporter, counting its exports and failures for the summary."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint=endpoint)
        self.endpoint = endpoint
        self.exports = 0
        self.failures = 0

    def export(
        self, metrics_data: MetricsData, timeout_millis: float | None = 10000, **kwargs: Any
    ) -> MetricExportResult:
        result = super().export(metrics_data, timeout_millis, **kwargs)
        self.exports += 1
        if result is not MetricExportResult.SUCCESS:
            self.failures += 1
        return result


class OtelExport:
    """One meter provider exporting to ``endpoint`` (the full ``.../v1/metrics`` URL)."""

    def __init__(self, endpoint: str, interval_ms: float | None = None) -> None:
        self.exporter = CountingExporter(endpoint)
        reader = PeriodicExportingMetricReader(self.exporter, export_interval_millis=interval_ms)
        self.provider = MeterProvider(
            metric_readers=[reader], resource=resource(), shutdown_on_exit=False
        )
        self.meter = self.provider.get_meter(SCOPE)
        self.histograms: dict[str, Histogram] = {}
        self.observed: set[str] = set()
        # Swapped whole, never changed in place: the SDK's callbacks read it on its thread.
        self.latest: dict[str, Family] = {}
        self.lock = threading.Lock()
        self.closed = False

    def __repr__(self) -> str:
        return f"<OtelExport {self.exporter.endpoint} exports={self.exporter.exports}>"

    def record(self, samples: Iterable[SampleRecord], tests: TestLabels) -> None:
        """Record new latency samples into their histograms (other samples are
        observed through :meth:`update`)."""
        for sample in samples:
            how = exposed(sample.metric)
            if how.kind != "histogram":
                continue
            with self.lock:
                histogram = self.histograms.get(how.otel_name)
                if histogram is None:
                    histogram = self.meter.create_histogram(
                        how.otel_name,
                        unit=how.otel_unit,
                        description=how.help,
                        explicit_bucket_boundaries_advisory=BUCKETS_S,
                    )
                    self.histograms[how.otel_name] = histogram
            throttling = sample_tags(sample).get("throttle") or "none"
            labels = labels_for(sample.test, sample.worker, tests, throttling=throttling)
            histogram.record(sample.value * how.factor, attributes=labels)

    def update(self, families: Sequence[Family]) -> None:
        """The current values of the gauges and counters (histograms are recorded)."""
        latest = {f.otel_name: f for f in families if f.kind != "histogram"}
        with self.lock:
            for name, family in latest.items():
                if name not in self.observed:
                    self.observed.add(name)
                    self._observe(family)
            self.latest = latest

    def _observe(self, family: Family) -> None:
        name = family.otel_name

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            current = self.latest.get(name)
            return [Observation(p.value, dict(p.labels)) for p in current.points] if current else []

        create = (
            self.meter.create_observable_counter
            if family.kind == "counter"
            else self.meter.create_observable_gauge
        )
        create(name, callbacks=[observe], unit=family.otel_unit, description=family.help)

    def shutdown(self) -> list[str]:
        """Export what is left and stop; the summary's line about the exports."""
        if self.closed:
            return []
        self.closed = True
        self.provider.shutdown()
        exporter = self.exporter
        line = f"OTLP export to {exporter.endpoint}: {exporter.exports} export(s)"
        if exporter.failures:
            line += f", {exporter.failures} failed (is the collector up?)"
        return [line]
