"""The live side of monitoring: the ``/metrics`` endpoint, the controller's ingest of
its workers' pushes, a worker's pusher and the OpenTelemetry feeder.

Each server is a ``ThreadingHTTPServer`` on a daemon thread that the monitor
starts and stops; each periodic job is a thread of its own woken by an event.
Imported only by a run that serves or exports while it lasts.
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import socket
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import UsageError

if TYPE_CHECKING:
    from ..gate.openmetrics import FamiliesCollector
    from ..gate.otel import OtelExport
    from .monitor import Monitor

log = logging.getLogger("pytest_cdp_accept")

PUSH_EVERY = 0.5
"""Seconds between a worker's pushes (sooner when a loop counts a run)."""
FEED_EVERY = 1.0
"""Seconds between two updates of the OpenTelemetry instruments."""
PUSH_TIMEOUT = 10.0
TOKEN_HEADER = "X-CDP-Accept-Token"
MAX_PUSH_BYTES = 256 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    collector: FamiliesCollector | None = None
    monitor: Monitor | None = None
    token: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        collector = self.server.collector
        path = urlsplit(self.path).path
        if collector is not None and path in ("/metrics", "/metrics/"):
            from ..gate.openmetrics import negotiate

            body, content_type = negotiate(collector, self.headers.get("Accept"))
            self._answer(200, body, content_type)
        elif collector is not None and path == "/":
            self._answer(200, b"pytest-cdp-accept: the metrics are at /metrics\n")
        else:
            self._answer(404, b"not found\n")

    def do_POST(self) -> None:
        monitor, token = self.server.monitor, self.server.token
        if monitor is None or token is None or urlsplit(self.path).path != "/push":
            self._answer(404, b"not found\n")
            return
        if not secrets.compare_digest(self.headers.get(TOKEN_HEADER, ""), token):
            self._answer(403, b"bad token\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_PUSH_BYTES:
            self._answer(400, b"bad length\n")
            return
        try:
            reply = monitor.receive(json.loads(self.rfile.read(length)))
        except (ValueError, KeyError, TypeError) as exc:
            self._answer(400, f"bad push: {exc}\n".encode())
            return
        self._answer(200, json.dumps(reply).encode(), "application/json")

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status != 200:
            # What a refused request still sends (a body left unread) must not be taken
            # for the next request on the connection.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds is not news


class MetricsServer:
    """A server on a thread of its own, until :meth:`close`."""

    def __init__(self, server: _Server, name: str) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        self.thread.start()

    def __repr__(self) -> str:
        return f"<MetricsServer {self.url}>"

    @property
    def url(self) -> str:
        address, port = self.server.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class _Server6(_Server):
    address_family = socket.AF_INET6


def _listen(bind: str, port: int, what: str) -> _Server:
    server_class = _Server6 if ":" in bind else _Server
    try:
        return server_class((bind, port), _Handler)
    except OSError as exc:
        raise UsageError(
            f"{what}: cannot listen on {bind}:{port} ({exc.strerror or exc}); pick another "
            "port, or another address with --cdp-metrics-bind"
        ) from None


def serve_metrics(monitor: Monitor, bind: str, port: int) -> MetricsServer:
    """``/metrics`` on ``bind:port``: the monitor's live families, as the scrape asks."""
    from ..gate.openmetrics import FamiliesCollector

    server = _listen(bind, port, f"--cdp-metrics-port {port}")
    server.collector = FamiliesCollector(monitor.live_families)
    return MetricsServer(server, "cdp-accept-metrics")


def serve_ingest(monitor: Monitor, token: str) -> MetricsServer:
    """The controller's ``/push`` on loopback, for its workers only (``token``)."""
    server = _listen("127.0.0.1", 0, "the workers' metrics ingest")
    server.monitor = monitor
    server.token = token
    return MetricsServer(server, "cdp-accept-metrics-ingest")


class _Periodic:
    """A daemon thread that runs :meth:`tick` every ``every`` seconds (or when poked)
    until :meth:`close`, which runs it a last time."""

    def __init__(self, every: float, name: str) -> None:
        self.every = every
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(self.every)
            self.wake.clear()
            if self.stopping.is_set():
                break
            try:
                self.tick()
            except Exception:  # a monitoring hiccup must never fail the run
                log.debug("%s failed", self.thread.name, exc_info=True)
            self.stopping.wait(0.05)  # pokes in a burst make one push

    def tick(self) -> None:
        raise NotImplementedError

    def poke(self) -> None:
        self.wake.set()

    def close(self) -> None:
        self.stopping.set()
        self.wake.set()
        self.thread.join(timeout=PUSH_TIMEOUT + 5)
        self.tick()


class Pusher(_Periodic):
    """A worker's pushes to its controller's ingest at ``url``."""

    def __init__(self, monitor: Monitor, url: str, token: str) -> None:
        self.monitor = monitor
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port, parts.path
        self.token = token
        self.last_pool: Any = None
        self.pushes = self.failures = 0
        self.lock = threading.Lock()
        super().__init__(PUSH_EVERY, "cdp-accept-metrics-push")

    def __repr__(self) -> str:
        return f"<Pusher {self.host}:{self.port} pushes={self.pushes} failed={self.failures}>"

    def tick(self) -> None:
        with self.lock:  # the last push (close) may overlap a tick still running
            payload = self.monitor.push_payload()
            if not (payload["samples"] or payload["tests"] or payload["counters"]) and (
                payload["pool"] == self.last_pool
            ):
                return
            reply = self._post(payload)
            self.monitor.push_done(payload, reply)
            if reply is not None:
                self.last_pool = payload["pool"]

    def _post(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        body = json.dumps(payload).encode()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=PUSH_TIMEOUT)
        try:
            connection.request(
                "POST",
                self.path,
                body,
                {"Content-Type": "application/json", TOKEN_HEADER: self.token},
            )
            response = connection.getresponse()
            answer = response.read()
            self.pushes += 1
            if response.status != 200:
                raise OSError(f"HTTP {response.status}: {answer[:200]!r}")
            reply: dict[str, Any] = json.loads(answer)
            return reply
        except (OSError, ValueError, http.client.HTTPException) as exc:
            self.failures += 1
            log.debug("metrics push to the controller failed: %s", exc)
            return None
        finally:
            connection.close()


class OtelFeeder(_Periodic):
    """Keeps the OpenTelemetry instruments up to date with the monitor's live view."""

    def __init__(self, monitor: Monitor, otel: OtelExport) -> None:
        self.monitor = monitor
        self.otel = otel
        super().__init__(FEED_EVERY, "cdp-accept-otel-feed")

    def __repr__(self) -> str:
        return f"<OtelFeeder {self.otel!r}>"

    def tick(self) -> None:
        self.otel.update(self.monitor.live_families())
