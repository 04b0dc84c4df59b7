"""A minimal OTLP/HTTP metrics receiver on loopback, for the tests: it accepts what
the SDK's exporter posts to ``/v1/metrics`` and keeps each request, decoded with
the protobuf classes of ``opentelemetry-proto``."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)


@dataclass
class Point:
    """One data point as received: its metric, attributes and value (a histogram's
    count and bucket counts)."""

    metric: str
    unit: str
    kind: str
    attributes: dict[str, str]
    value: float
    count: int = 0
    bounds: tuple[float, ...] = ()
    buckets: tuple[int, ...] = ()


class OtlpReceiver:
    def __init__(self) -> None:
        self.requests: list[ExportMetricsServiceRequest] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportMetricsServiceRequest()
                request.ParseFromString(body)
                with receiver.lock:
                    receiver.requests.append(request)
                    receiver.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def resources(self) -> list[dict[str, str]]:
        with self.lock:
            return [
                {a.key: a.value.string_value for a in rm.resource.attributes}
                for request in self.requests
                for rm in request.resource_metrics
            ]

    def last_points(self) -> list[Point]:
        """The data points of the last request (cumulative: it holds everything)."""
        with self.lock:
            request = self.requests[-1]
        return list(_points(request))


def _points(request: ExportMetricsServiceRequest) -> Iterator[Point]:
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                data = getattr(metric, kind)
                for dp in data.data_points:
                    attributes = {a.key: a.value.string_value for a in dp.attributes}
                    if kind == "histogram":
                        yield Point(
                            metric.name,
                            metric.unit,
                            kind,
                            attributes,
                            dp.sum,
                            dp.count,
                            tuple(dp.explicit_bounds),
                            tuple(dp.bucket_counts),
                        )
                    else:
                        value = dp.as_double if dp.HasField("as_double") else float(dp.as_int)
                        yield Point(metric.name, metric.unit, kind, attributes, value)
