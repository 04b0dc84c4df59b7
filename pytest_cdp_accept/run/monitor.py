"""Monitoring of the run: the OpenMetrics file, the live ``/metrics`` endpoint and
the OTLP export (docs/monitoring.md).

One :class:`Monitor` per process keeps what the samples do not say: each test's
labels (its page isolation), the stability loops' counters (stress runs and
recoveries, failures by error type) and the test outcomes. The controller (or
the only process, without xdist) also keeps the live view: the samples summed
up by series as they arrive (:class:`~..gate.monitoring.Aggregates`).

Under xdist the workers' samples reach the controller only when each worker
ends, so while the run lasts every worker pushes what is new (samples, test
labels, changed counters, its pool's gauges) to the controller twice a second
and whenever a loop counts something: a small JSON POST to a server of the
controller's own on loopback, with a token the controller hands to its workers
(``workerinput``). A push carries offsets and is answered with the offsets the
controller has: a lost or repeated push is sent again or skipped, never
counted twice. When a worker ends, its merged results (``workeroutput``) are
the word of record: what its pushes missed is added from them, and the
end-of-run file is written from the merged results alone.

Off (the default), the monitor does nothing and imports nothing: the exposition
libraries and the HTTP server are imported only by a run that asks for them.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import UsageError
from ..gate.monitoring import (
    EVENTS,
    Aggregates,
    Family,
    LabelPairs,
    counter_key,
    families,
)
from ..gate.report import Results, SampleRecord
from ..metrics import NULL_LOOP_EVENTS, LoopEvents
from .pool import PoolKeeper

if TYPE_CHECKING:
    from ..gate.otel import OtelExport
    from .live import MetricsServer, OtelFeeder, Pusher

WORKER_INPUT = "cdp_accept_monitor"
"""The ``workerinput`` key: where a worker pushes (url, token)."""
DEFAULT_BIND = "127.0.0.1"
OTLP_PATH = "/v1/metrics"
CounterKey = tuple[str, LabelPairs]


@dataclass(frozen=True)
class MonitorOptions:
    openmetrics: Path | None = None
    port: int = 0
    bind: str = DEFAULT_BIND
    otlp: str | None = None
    """The full OTLP/HTTP metrics URL (``.../v1/metrics``)."""
    otlp_from_env: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.openmetrics or self.port or self.otlp)

    @property
    def live(self) -> bool:
        """Whether the controller needs the workers' figures while the run lasts."""
        return bool(self.port or self.otlp)

    @classmethod
    def from_settings(
        cls, text: Callable[[str], str | None], port: int | None, root: Path,
        environ: Mapping[str, str],
    ) -> MonitorOptions:  # fmt: skip
        """The options from the settings (``text(name)``) and the OTel environment."""
        if port is not None and not 0 <= port <= 65535:
            raise UsageError(f"--cdp-metrics-port {port}: expected 1-65535, or 0 for off")
        path = text("cdp_openmetrics")
        otlp, from_env = otlp_endpoint(text("cdp_otlp_endpoint"), environ)
        return cls(
            openmetrics=None if not path else root / path,
            port=port or 0,
            bind=text("cdp_metrics_bind") or DEFAULT_BIND,
            otlp=otlp,
            otlp_from_env=from_env,
        )


def otlp_endpoint(option: str | None, environ: Mapping[str, str]) -> tuple[str | None, bool]:
    """The OTLP/HTTP metrics URL, and whether it came from the environment.

    ``--cdp-otlp-endpoint`` is a base URL like ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (``/v1/metrics`` is added unless the URL ends with it); without it, the standard
    variables apply (``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` as is), unless
    ``OTEL_SDK_DISABLED`` or an ``OTEL_METRICS_EXPORTER`` without ``otlp`` says no.
    """
    if option:
        return _metrics_url(option, "--cdp-otlp-endpoint"), False
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None, False
    exporters = environ.get("OTEL_METRICS_EXPORTER")
    if exporters is not None and "otlp" not in [e.strip() for e in exporters.split(",")]:
        return None, False
    specific = environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    if specific:
        return _check_url(specific, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), True
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if base:
        return _metrics_url(base, "OTEL_EXPORTER_OTLP_ENDPOINT"), True
    return None, False


def _metrics_url(base: str, where: str) -> str:
    url = _check_url(base.strip(), where)
    return url if url.rstrip("/").endswith(OTLP_PATH) else url.rstrip("/") + OTLP_PATH


def _check_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"{where} {url!r}: expected an http(s) URL of an OTLP/HTTP receiver, e.g. "
            "http://localhost:4318"
        )
    return url


class _TestEvents:
    """The loop events of one test, counted with its labels."""

    def __init__(self, monitor: Monitor, nodeid: str) -> None:
        self.monitor = monitor
        self.nodeid = nodeid

    def __repr__(self) -> str:
        return f"<_TestEvents {self.nodeid}>"

    def run_ended(self, loop: str, error: str | None, fault: str | None = None) -> None:
        where = {"nodeid": self.nodeid, "worker": self.monitor.worker}
        if loop == "stress":
            self.monitor.count("cdp_accept_stress_runs", where)
            if error:
                self.monitor.count("cdp_accept_stress_run_failures", {**where, "error": error})
        elif loop == "recovery":
            where["fault"] = fault or "unknown"
            self.monitor.count("cdp_accept_recovery_faults", where)
            if error:
                self.monitor.count("cdp_accept_recovery_failures", {**where, "error": error})


class Monitor:
    """Monitoring of one process: see the module docstring.

    ``worker`` names this process as the samples do (``main``, ``gw0``);
    ``controller`` is the ``workerinput`` entry of a worker whose controller
    wants pushes (None otherwise).
    """

    def __init__(
        self,
        options: MonitorOptions,
        results: Results,
        pools: PoolKeeper,
        *,
        worker: str = "main",
        is_worker: bool = False,
        controller: Mapping[str, str] | None = None,
    ) -> None:
        self.options = options
        self.results = results
        self.pools = pools
        self.worker = worker
        self.is_worker = is_worker
        self.controller = controller if options.enabled else None
        self.lock = threading.Lock()
        self.tests: dict[str, dict[str, str]] = {}
        self.counters: dict[CounterKey, float] = {}
        self.notes: list[str] = []
        # the live view (controller or single process)
        self.live = Aggregates()
        self.fed: dict[str, int] = {}
        self.sessions: dict[str, str] = {}
        self.ended: set[str] = set()
        self.remote_pools: dict[str, dict[str, float]] = {}
        # a worker's pushes
        self.journal: list[tuple[str, dict[str, str]]] = []
        self.dirty: set[CounterKey] = set()
        self.acked = {"samples": 0, "tests": 0}
        self.session = secrets.token_hex(8)
        self.token = secrets.token_hex(16)
        self.server: MetricsServer | None = None
        self.ingest: MetricsServer | None = None
        self.pusher: Pusher | None = None
        self.otel: OtelExport | None = None
        self.feeder: OtelFeeder | None = None
        self.started = False
        self._check_extras()

    def __repr__(self) -> str:
        return (
            f"<Monitor {'on' if self.options.enabled else 'off'} worker={self.worker} "
            f"tests={len(self.tests)} counters={len(self.counters)} {self.live!r}>"
        )

    @property
    def enabled(self) -> bool:
        return self.options.enabled

    def _check_extras(self) -> None:
        """Fail at start-up, not at the end of the run, when an extra is missing (the
        import raises the usage error naming the extra to install)."""
        if self.is_worker:
            return
        if self.options.openmetrics or self.options.port:
            from ..gate import openmetrics  # noqa: F401
        if self.options.otlp:
            try:
                from ..gate import otel  # noqa: F401
            except UsageError:
                if not self.options.otlp_from_env:
                    raise
                # OTEL_EXPORTER_OTLP_ENDPOINT may be meant for the app under test.
                self.notes.append(
                    "OTEL_EXPORTER_OTLP_ENDPOINT is set, but the OpenTelemetry SDK is not "
                    "installed: no OTLP export (pip install 'pytest-cdp-accept[otel]')"
                )
                self.options = MonitorOptions(
                    self.options.openmetrics, self.options.port, self.options.bind
                )

    # -- what the samples do not say ------------------------------------------------

    def test_labels(self, nodeid: str, **labels: str) -> None:
        """Labels of a test's series (``isolation``)."""
        if not self.enabled:
            return
        with self.lock:
            merged = {**self.tests.get(nodeid, {}), **labels}
            self.tests[nodeid] = merged
            self.journal.append((nodeid, merged))

    def loop_events(self, nodeid: str) -> LoopEvents:
        """Where test ``nodeid``'s stability loop tells of each run."""
        return _TestEvents(self, nodeid) if self.enabled else NULL_LOOP_EVENTS

    def count(self, family: str, labels: Mapping[str, str], value: float = 1.0) -> None:
        """Add ``value`` to a counter of ``family`` (one of :data:`~..gate.monitoring.EVENTS`)."""
        key = counter_key(family, **labels)
        with self.lock:
            self.counters[key] = self.counters.get(key, 0.0) + value
            self.dirty.add(key)
        if self.pusher is not None:
            self.pusher.poke()

    def test_report(
        self, nodeid: str, worker: str, when: str, outcome: str, error: str | None = None
    ) -> None:
        """One report of a test (the controller sees every worker's): its outcome, and
        the type of the error that failed it."""
        if not self.enabled or self.is_worker:
            return
        if when == "call":
            counted = outcome
        elif outcome == "failed":
            counted = "error"  # setup or teardown
        elif when == "setup" and outcome == "skipped":
            counted = "skipped"
        else:
            return
        labels = {"nodeid": nodeid, "worker": worker, "outcome": counted}
        if error and counted in ("failed", "error"):
            labels["error"] = error
        self.count("cdp_accept_tests", labels)

    # -- the views ---------------------------------------------------------------------

    def live_families(self) -> list[Family]:
        """Every family now: the samples so far, the counters, the pools' gauges."""
        local_pool = self.pools.state()  # outside the lock: it waits for the pool's loop
        with self.lock:
            self._catch_up_local()
            pools = dict(self.remote_pools)
            if local_pool is not None:
                pools[self.worker] = local_pool
            return families(self.live, self.tests, self.counters, self.results.counters, pools)

    def final_families(self) -> list[Family]:
        """Every family of the run, from the (merged) results."""
        aggregates = Aggregates()
        aggregates.add(self.results.samples)
        with self.lock:
            return families(aggregates, self.tests, self.counters, self.results.counters)

    def _catch_up_local(self) -> None:
        """Feed this process's new samples (a controller's merged ones come per worker)."""
        samples = self.results.samples
        start = self.fed.get("", 0)
        self.fed[""] = len(samples)
        self._feed([s for s in samples[start:] if s.worker == self.worker])

    def _feed(self, samples: list[SampleRecord]) -> None:
        self.live.add(samples)
        if self.otel is not None:
            self.otel.record(samples, self.tests)

    # -- xdist: pushes and the end of a worker --------------------------------------------

    def push_payload(self) -> dict[str, Any]:
        """What this worker has that the controller has not acknowledged."""
        pool = self.pools.state()
        with self.lock:
            samples = self.results.samples[self.acked["samples"] :]
            counters, self.dirty = self.dirty, set()
            return {
                "worker": self.worker,
                "session": self.session,
                "samples_from": self.acked["samples"],
                "samples": [asdict(s) for s in samples],
                "tests_from": self.acked["tests"],
                "tests": self.journal[self.acked["tests"] :],
                "counters": [[k[0], k[1], self.counters[k]] for k in counters],
                "pool": pool,
            }

    def push_done(self, payload: Mapping[str, Any], reply: Mapping[str, Any] | None) -> None:
        """The controller's answer to ``payload`` (None: it did not arrive)."""
        with self.lock:
            if reply is None:  # sent again with the next push
                self.dirty.update(counter_key_of(k, p) for k, p, _ in payload["counters"])
                return
            self.acked = {"samples": int(reply["samples"]), "tests": int(reply["tests"])}

    def receive(self, payload: Mapping[str, Any]) -> dict[str, int]:
        """A worker's push (on the ingest server's thread); the offsets now held."""
        worker = str(payload["worker"])
        key = f"{worker}/{payload['session']}"
        with self.lock:
            if worker in self.ended:
                return {"samples": 0, "tests": 0}  # the worker has ended: its results rule
            self.sessions[worker] = key
            tests_at = self._take(key + "#tests", payload["tests_from"], payload["tests"])
            for nodeid, labels in tests_at:
                self.tests[str(nodeid)] = dict(labels)
            samples = self._take(key, payload["samples_from"], payload["samples"])
            self._feed([SampleRecord(**s) for s in samples])
            for name, pairs, value in payload["counters"]:
                self.counters[counter_key_of(name, pairs)] = float(value)
            if payload.get("pool") is not None:
                self.remote_pools[worker] = dict(payload["pool"])
            else:  # no pool (yet, or any more): no gauges
                self.remote_pools.pop(worker, None)
            return {"samples": self.fed[key], "tests": self.fed[key + "#tests"]}

    def _take(self, key: str, start: int, items: list[Any]) -> list[Any]:
        """The part of ``items`` (from offset ``start``) not taken before under ``key``."""
        held = self.fed.setdefault(key, 0)
        if start > held:
            return []  # a push was lost: the answer asks for what is missing
        new = items[held - start :]
        self.fed[key] = held + len(new)
        return new

    def wire(self) -> str:
        """This worker's labels and counters, for ``workeroutput``."""
        with self.lock:
            return json.dumps(
                {
                    "tests": self.tests,
                    "counters": [[k[0], k[1], v] for k, v in self.counters.items()],
                }
            )

    def worker_finished(self, worker: str, wire: str | None) -> None:
        """A worker ended and its results are merged: they and its ``wire`` rule."""
        if not self.enabled:
            return
        data = json.loads(wire) if wire else {"tests": {}, "counters": []}
        with self.lock:
            self.tests.update(data["tests"])
            for name, pairs, value in data["counters"]:
                self.counters[counter_key_of(name, pairs)] = float(value)
            key = self.sessions.get(worker)
            self.ended.add(worker)
            self.remote_pools.pop(worker, None)
            theirs = [s for s in self.results.samples if s.worker == worker]
            held = self.fed.get(key, 0) if key else 0
            self._feed(theirs[held:])

    # -- the run ------------------------------------------------------------------------

    def start(self, *, distributed: bool) -> None:
        """Start serving and exporting (controller) or pushing (worker)."""
        if not self.enabled or self.started:
            return
        self.started = True
        from . import live

        if self.is_worker:
            if self.controller is not None:
                self.pusher = live.Pusher(self, self.controller["url"], self.controller["token"])
            return
        if self.options.port:
            self.server = live.serve_metrics(self, self.options.bind, self.options.port)
        if self.options.live and distributed:
            self.ingest = live.serve_ingest(self, self.token)
        if self.options.otlp:
            from ..gate.otel import OtelExport

            self.otel = OtelExport(self.options.otlp)
            self.feeder = live.OtelFeeder(self, self.otel)

    def worker_input(self) -> dict[str, Any]:
        """What a worker needs to push to this controller (nothing when no one listens)."""
        if self.ingest is None:
            return {}
        return {WORKER_INPUT: {"url": self.ingest.url + "/push", "token": self.token}}

    def worker_wire(self) -> str | None:
        """At a worker's end: the last push, then the wire for ``workeroutput``."""
        if not self.enabled:
            return None
        self.close()
        return self.wire()

    def finish(self) -> list[str]:
        """At the end of the run (controller): write the file, send the last export; the
        summary's lines about them."""
        notes = list(self.notes)
        if not self.enabled:
            return notes
        if self.options.openmetrics:
            from ..gate.openmetrics import write_openmetrics

            path = self.options.openmetrics
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_openmetrics(self.final_families(), path)
            except OSError as exc:
                raise UsageError(f"--cdp-openmetrics {path}: cannot write it: {exc}") from None
            notes.append(f"openmetrics report: {path}")
        if self.otel is not None:
            notes += self._last_export()
        return notes

    def _last_export(self) -> list[str]:
        feeder, self.feeder = self.feeder, None
        if feeder is not None:
            feeder.close()
        if self.otel is None:
            return []
        with self.lock:
            self._catch_up_local()  # the last samples into the histograms
            otel, self.otel = self.otel, None
        otel.update(self.final_families())
        return otel.shutdown()

    def close(self) -> None:
        """Stop pushing, serving and exporting; idempotent."""
        pusher, self.pusher = self.pusher, None
        if pusher is not None:
            pusher.close()
        for server in (self.server, self.ingest):
            if server is not None:
                server.close()
        self.server = self.ingest = None
        self._last_export()


def counter_key_of(name: str, pairs: Any) -> CounterKey:
    """A counter key from its JSON form (lists for tuples)."""
    if name not in EVENTS:
        raise ValueError(f"unknown counter family {name!r}")
    return name, tuple((str(k), str(v)) for k, v in pairs)


def monitor_from(
    settings_text: Callable[[str], str | None],
    port: int | None,
    *,
    root: Path,
    results: Results,
    pools: PoolKeeper,
    worker: str,
    workerinput: Mapping[str, Any] | None,
) -> Monitor:
    """The process's monitor from its settings (``workerinput``: a worker's)."""
    options = MonitorOptions.from_settings(settings_text, port, root, os.environ)
    return Monitor(
        options,
        results,
        pools,
        worker=worker,
        is_worker=workerinput is not None,
        controller=None if workerinput is None else workerinput.get(WORKER_INPUT),
    )
