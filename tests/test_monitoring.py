"""Monitoring without a browser: the name mapping, the aggregates, the OpenMetrics
text (parsed back with prometheus-client's parser), the monitor's push protocol,
the live server and the workers' pushes over real loopback HTTP, and the OTLP
export to a real (minimal) receiver.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from pytest_cdp_accept.errors import UsageError
from pytest_cdp_accept.gate.monitoring import (
    BUCKETS_S,
    MIB,
    Aggregates,
    counter_key,
    exposed,
    families,
)
from pytest_cdp_accept.gate.openmetrics import render, write_openmetrics
from pytest_cdp_accept.gate.report import Results, SampleRecord
from pytest_cdp_accept.metrics import METRIC_KINDS, Sample
from pytest_cdp_accept.run.monitor import (
    Monitor,
    MonitorOptions,
    otlp_endpoint,
)
from pytest_cdp_accept.run.pool import PoolKeeper

PROMETHEUS_NAME = re.compile(r"^cdp_accept_[a-z0-9_]*[a-z0-9]$")
OTEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$")


def record(metric: str, value: float, test: str = "t.py::a", worker: str = "main") -> SampleRecord:
    return SampleRecord(metric, value, test, worker, 1_700_000_000.0)


def parse(text: str) -> dict[str, Any]:
    """Family name -> family, through prometheus-client's OpenMetrics parser."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def value_of(family: Any, sample_name: str, **labels: str) -> float:
    found = [
        s.value
        for s in family.samples
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (sample_name, labels, family.samples)
    return float(found[0])


# -- the mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "name", "kind", "factor"),
    [
        ("navigation", "cdp_accept_navigation_seconds", "histogram", 1e-3),
        ("startup", "cdp_accept_startup_seconds", "histogram", 1e-3),
        ("stress.run", "cdp_accept_stress_run_seconds", "histogram", 1e-3),
        ("checkout", "cdp_accept_checkout_seconds", "histogram", 1e-3),
        ("Check-Out time", "cdp_accept_check_out_time_seconds", "histogram", 1e-3),
        ("memory.idle", "cdp_accept_memory_idle_bytes", "gauge", MIB),
        ("memory.browser_peak", "cdp_accept_memory_browser_peak_bytes", "gauge", MIB),
        ("stress.success", "cdp_accept_stress_success_ratio", "gauge", 1.0),
        ("leaks.js_heap", "cdp_accept_leaks_js_heap_bytes_per_run", "gauge", 1024.0),
        ("leaks.dom_nodes", "cdp_accept_leaks_dom_nodes_per_run", "gauge", 1.0),
        ("fleet.pages", "cdp_accept_fleet_pages", "gauge", 1.0),
        ("navigation.failed", "cdp_accept_navigation_failures", "counter", 1.0),
    ],
)
def test_metric_names_follow_prometheus_conventions(
    metric: str, name: str, kind: str, factor: float
) -> None:
    how = exposed(metric)
    assert (how.name, how.kind, how.factor) == (name, kind, factor)


def test_every_catalogue_metric_has_a_valid_name_in_both_worlds() -> None:
    for metric in [*METRIC_KINDS, "navigation.failed", "a b/c", "Ünïcode"]:
        how = exposed(metric)
        assert PROMETHEUS_NAME.match(how.name), how.name
        assert OTEL_NAME.match(how.otel_name), how.otel_name


# -- aggregates and families ------------------------------------------------------------


def test_a_sample_on_a_bucket_bound_is_counted_in_that_bucket() -> None:
    aggregates = Aggregates()
    aggregates.add([record("navigation", 500.0), record("navigation", 500.001)])
    (series,) = aggregates.series.values()
    at = BUCKETS_S.index(0.5)
    assert series.buckets[at] == 1  # le="0.5" holds 500 ms: le is inclusive
    assert series.buckets[at + 1] == 1
    assert series.count == 2


def test_the_openmetrics_text_parses_back_to_the_samples() -> None:
    aggregates = Aggregates()
    aggregates.add(
        [
            *(record("navigation", ms) for ms in (40.0, 120.0, 700.0)),
            record("navigation", 90.0, test="t.py::b", worker="gw1"),
            record("navigation.failed", 5.0),
            record("memory.idle", 100.0),
            record("memory.idle", 80.0),  # the last value is the gauge's
            *(record("stress.success", v) for v in (1.0, 1.0, 0.0, 1.0)),
        ]
    )
    tests = {"t.py::a": {"isolation": "context"}}
    counters = {
        counter_key(
            "cdp_accept_stress_run_failures", nodeid="t.py::a", worker="main", error="KeyError"
        ): 2.0
    }
    text = render(families(aggregates, tests, counters, {"browsers_launched": 3.0})).decode()
    assert text.endswith("# EOF\n")
    found = parse(text)
    navigation = found["cdp_accept_navigation_seconds"]
    assert (navigation.type, navigation.unit) == ("histogram", "seconds")
    where = {"nodeid": "t.py::a", "worker": "main", "isolation": "context", "throttling": "none"}
    assert value_of(navigation, "cdp_accept_navigation_seconds_count", **where) == 3
    assert value_of(navigation, "cdp_accept_navigation_seconds_sum", **where) == pytest.approx(0.86)
    assert value_of(navigation, "cdp_accept_navigation_seconds_bucket", **where, le="0.1") == 1
    assert value_of(navigation, "cdp_accept_navigation_seconds_bucket", **where, le="0.5") == 2
    other = {"nodeid": "t.py::b", "worker": "gw1", "isolation": "none"}
    assert value_of(navigation, "cdp_accept_navigation_seconds_count", **other) == 1
    memory = found["cdp_accept_memory_idle_bytes"]
    assert value_of(memory, "cdp_accept_memory_idle_bytes", **where) == 80.0 * MIB
    ratio = found["cdp_accept_stress_success_ratio"]
    assert value_of(ratio, "cdp_accept_stress_success_ratio", **where) == 0.75
    failures = found["cdp_accept_navigation_failures"]
    assert value_of(failures, "cdp_accept_navigation_failures_total", **where) == 1
    stress = found["cdp_accept_stress_run_failures"]
    assert value_of(stress, "cdp_accept_stress_run_failures_total", error="KeyError", **where) == 2
    launched = found["cdp_accept_browsers_launched"]
    assert value_of(launched, "cdp_accept_browsers_launched_total") == 3


@dataclass(frozen=True)
class TaggedRecord(SampleRecord):
    """A record that carries tags, as samples taken under a throttling profile do."""

    tags: dict[str, str] = field(default_factory=dict)


def test_tags_give_the_throttling_label_and_the_error_type() -> None:
    aggregates = Aggregates()
    aggregates.add(
        [
            TaggedRecord("navigation", 900.0, "t.py::a", "main", 0.0, {"throttle": "fast-3g"}),
            TaggedRecord("navigation", 90.0, "t.py::a", "main", 0.0),
            TaggedRecord("navigation.failed", 9.0, "t.py::a", "main", 0.0, {"error": "Timeout"}),
        ]
    )
    found = parse(render(families(aggregates, {}, {})).decode())
    navigation = found["cdp_accept_navigation_seconds"]
    count = "cdp_accept_navigation_seconds_count"
    assert value_of(navigation, count, throttling="fast-3g") == 1
    assert value_of(navigation, count, throttling="none") == 1
    failures = found["cdp_accept_navigation_failures"]
    assert value_of(failures, "cdp_accept_navigation_failures_total", error="Timeout") == 1


def test_names_that_snake_case_alike_stay_apart_by_kind() -> None:
    aggregates = Aggregates()
    # "fleet.pages" is a count (a gauge); a test's own "fleet_pages" is a latency.
    aggregates.add([record("fleet.pages", 5.0), record("fleet_pages", 10.0)])
    found = parse(render(families(aggregates, {}, {})).decode())
    assert found["cdp_accept_fleet_pages"].type == "gauge"
    assert found["cdp_accept_fleet_pages_seconds"].type == "histogram"


def test_the_file_is_written_whole(tmp_path: Path) -> None:
    aggregates = Aggregates()
    aggregates.add([record("navigation", 10.0)])
    target = tmp_path / "run.om"
    write_openmetrics(families(aggregates, {}, {}), target)
    assert "cdp_accept_navigation_seconds_count" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["run.om"]  # no temporary left


# -- options -------------------------------------------------------------------------------


OTLP_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        ("http://c:4318", {}, ("http://c:4318/v1/metrics", False)),
        ("http://c:4318/v1/metrics", {}, ("http://c:4318/v1/metrics", False)),
        (None, {}, (None, False)),
        (None, {OTLP_ENV: "http://c:4318/"}, ("http://c:4318/v1/metrics", True)),
        (None, {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c/m"}, ("http://c/m", True)),
        (None, {OTLP_ENV: "http://c", "OTEL_SDK_DISABLED": "true"}, (None, False)),
        (None, {OTLP_ENV: "http://c", "OTEL_METRICS_EXPORTER": "none"}, (None, False)),
        ("http://c:1", {OTLP_ENV: "http://d:2"}, ("http://c:1/v1/metrics", False)),
    ],
)  # fmt: skip
def test_the_otlp_endpoint_comes_from_the_option_or_the_standard_variables(
    option: str | None, environ: dict[str, str], expected: tuple[str | None, bool]
) -> None:
    assert otlp_endpoint(option, environ) == expected


def test_bad_monitoring_settings_name_the_setting() -> None:
    with pytest.raises(UsageError, match="--cdp-otlp-endpoint 'localhost:4318': expected an http"):
        otlp_endpoint("localhost:4318", {})
    with pytest.raises(UsageError, match="--cdp-metrics-port 70000: expected 1-65535"):
        MonitorOptions.from_settings(lambda name: None, 70000, Path("."), {})


# -- the monitor: what travels between workers and the controller ------------------------------


def monitor(**options: Any) -> Monitor:
    options.setdefault("openmetrics", Path("x.om"))
    return Monitor(MonitorOptions(**options), Results(), PoolKeeper(Results()))


def push(worker: str, start: int, samples: list[SampleRecord], **extra: Any) -> dict[str, Any]:
    return {
        "worker": worker,
        "session": extra.get("session", "s1"),
        "samples_from": start,
        "samples": [asdict(s) for s in samples],
        "tests_from": extra.get("tests_from", 0),
        "tests": extra.get("tests", []),
        "counters": extra.get("counters", []),
        "pool": extra.get("pool"),
    }


def count_of(controller: Monitor, metric: str = "navigation") -> int:
    return sum(s.count for key, s in controller.live.series.items() if key[0] == metric)


def test_a_repeated_push_is_not_counted_twice_and_a_gap_is_asked_again() -> None:
    controller = monitor()
    first = [record("navigation", float(i), worker="gw0") for i in range(3)]
    assert controller.receive(push("gw0", 0, first))["samples"] == 3
    assert controller.receive(push("gw0", 0, first))["samples"] == 3  # sent again
    assert count_of(controller) == 3
    later = [record("navigation", 9.0, worker="gw0")]
    assert controller.receive(push("gw0", 5, later))["samples"] == 3  # 3 and 4 were lost
    assert count_of(controller) == 3
    overlap = [*first[1:], record("navigation", 4.0, worker="gw0")]
    assert controller.receive(push("gw0", 1, overlap))["samples"] == 4
    assert count_of(controller) == 4


def test_a_finished_worker_adds_what_its_pushes_missed_and_its_late_pushes_are_ignored() -> None:
    controller = monitor()
    theirs = [record("navigation", float(i), worker="gw0") for i in range(5)]
    controller.receive(push("gw0", 0, theirs[:2], pool={"browsers": 1}))
    assert controller.remote_pools == {"gw0": {"browsers": 1}}
    controller.results.samples += theirs  # merged from workeroutput
    wire = json.dumps(
        {
            "tests": {"t.py::a": {"isolation": "reset"}},
            "counters": [["cdp_accept_stress_runs", [["nodeid", "t.py::a"], ["worker", "gw0"]], 7]],
        }
    )
    controller.worker_finished("gw0", wire)
    assert count_of(controller) == 5
    assert controller.remote_pools == {}
    assert controller.receive(push("gw0", 2, theirs[2:])) == {"samples": 0, "tests": 0}
    assert count_of(controller) == 5
    assert controller.tests == {"t.py::a": {"isolation": "reset"}}
    assert sum(controller.counters.values()) == 7


def test_a_push_with_an_unknown_counter_is_refused() -> None:
    controller = monitor()
    with pytest.raises(ValueError, match="unknown counter family 'cdp_accept_bogus'"):
        controller.receive(push("gw0", 0, [], counters=[["cdp_accept_bogus", [], 1]]))


@pytest.mark.parametrize(
    ("when", "outcome", "counted"),
    [
        ("setup", "passed", None),
        ("call", "passed", "passed"),
        ("call", "failed", "failed"),
        ("call", "skipped", "skipped"),
        ("setup", "failed", "error"),
        ("setup", "skipped", "skipped"),
        ("teardown", "failed", "error"),
        ("teardown", "passed", None),
    ],
)
def test_test_outcomes_are_counted_once_per_report_that_says_something(
    when: str, outcome: str, counted: str | None
) -> None:
    controller = monitor()
    controller.test_report("t.py::a", "gw0", when, outcome)
    outcomes = [dict(labels)["outcome"] for (_, labels) in controller.counters]
    assert outcomes == ([counted] if counted else [])


def test_recovery_runs_are_counted_by_fault_and_failures_by_error() -> None:
    controller = monitor()
    events = controller.loop_events("t.py::r")
    events.run_ended("recovery", None, "renderer")
    events.run_ended("recovery", "TimeoutError", "browser")
    events.run_ended("recovery", None, "browser")
    where = {"nodeid": "t.py::r", "worker": "main"}
    assert controller.counters == {
        counter_key("cdp_accept_recovery_faults", **where, fault="renderer"): 1.0,
        counter_key("cdp_accept_recovery_faults", **where, fault="browser"): 2.0,
        counter_key(
            "cdp_accept_recovery_failures", **where, fault="browser", error="TimeoutError"
        ): 1.0,
    }


def test_a_failure_is_counted_with_the_type_of_its_error() -> None:
    controller = monitor()
    controller.test_report("t.py::a", "gw0", "call", "failed", "KeyError")
    controller.test_report("t.py::b", "gw0", "setup", "failed", "OSError")
    controller.test_report("t.py::c", "gw0", "call", "passed", "KeyError")  # no error label
    labels = [dict(pairs) for (_, pairs) in controller.counters]
    assert sorted((x["nodeid"], x["outcome"], x.get("error")) for x in labels) == [
        ("t.py::a", "failed", "KeyError"),
        ("t.py::b", "error", "OSError"),
        ("t.py::c", "passed", None),
    ]


def test_an_idle_monitor_does_nothing() -> None:
    off = Monitor(MonitorOptions(), Results(), PoolKeeper(Results()))
    off.test_labels("t.py::a", isolation="reset")
    off.loop_events("t.py::a").run_ended("stress", "KeyError")
    off.start(distributed=True)
    assert (off.tests, off.counters, off.finish(), off.worker_wire()) == ({}, {}, [], None)
    assert off.server is None
    assert off.ingest is None


# -- over real loopback HTTP -------------------------------------------------------------------


def get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    parts = url.removeprefix("http://").split("/", 1)
    host, port = parts[0].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/" + parts[1], headers={"Accept": accept} if accept else {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def controller() -> Iterator[Monitor]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = monitor(port=port)
    started.start(distributed=True)
    yield started
    started.close()
    assert started.server is None
    assert started.ingest is None


def test_the_endpoint_speaks_openmetrics_to_prometheus_and_text_to_curl(
    controller: Monitor,
) -> None:
    assert controller.server is not None
    controller.results.add_samples("t.py::a", "main", [Sample("navigation", 120.0, 0.0)])
    url = controller.server.url + "/metrics"
    status, content_type, body = get(url, "application/openmetrics-text; version=1.0.0")
    assert (status, content_type.split(";")[0]) == (200, "application/openmetrics-text")
    count = parse(body)["cdp_accept_navigation_seconds"]
    assert value_of(count, "cdp_accept_navigation_seconds_count", nodeid="t.py::a") == 1
    status, content_type, body = get(url)
    assert (status, content_type.split(";")[0]) == (200, "text/plain")
    assert 'cdp_accept_navigation_seconds_count{isolation="none"' in body
    assert get(controller.server.url + "/other")[0] == 404
    assert get(controller.ingest.url + "/metrics")[0] == 404  # type: ignore[union-attr]


def test_a_port_in_use_is_a_usage_error_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = monitor(port=port)
        with pytest.raises(UsageError, match=f"--cdp-metrics-port {port}: cannot listen on"):
            busy.start(distributed=False)
        busy.close()


def test_a_worker_pushes_to_its_controller_and_a_stranger_is_refused(
    controller: Monitor,
) -> None:
    from pytest_cdp_accept.run.live import TOKEN_HEADER

    handed = controller.worker_input()["cdp_accept_monitor"]
    worker = Monitor(
        MonitorOptions(openmetrics=Path("x.om")),
        Results(),
        PoolKeeper(Results()),
        worker="gw0",
        is_worker=True,
        controller=handed,
    )
    worker.start(distributed=True)
    worker.test_labels("t.py::a", isolation="context")
    worker.results.add_samples("t.py::a", "gw0", [Sample("navigation", 80.0, 0.0)] * 4)
    events = worker.loop_events("t.py::a")
    for error in (None, "KeyError", None):
        events.run_ended("stress", error)
    worker.worker_wire()  # the last push, as at the worker's end
    assert count_of(controller) == 4
    assert controller.tests == {"t.py::a": {"isolation": "context"}}
    runs = counter_key("cdp_accept_stress_runs", nodeid="t.py::a", worker="gw0")
    assert controller.counters[runs] == 3

    host, port = handed["url"].removeprefix("http://").split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/push", b"{}", {TOKEN_HEADER: "guess"})
        assert connection.getresponse().status == 403
    finally:
        connection.close()


# -- OpenTelemetry --------------------------------------------------------------------------


def test_the_otlp_export_carries_the_resource_histograms_and_counters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from pytest_cdp_accept.gate.otel import OtelExport

    from .otlp_receiver import OtlpReceiver

    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci,service.name=shop")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout-tests")  # wins, as the spec says
    receiver = OtlpReceiver()
    try:
        export = OtelExport(receiver.url + "/v1/metrics", interval_ms=600_000)
        samples = [record("navigation", ms) for ms in (100.0, 300.0, 2000.0)]
        tests = {"t.py::a": {"isolation": "reset"}}
        export.record(samples, tests)
        aggregates = Aggregates()
        aggregates.add(samples)
        runs = counter_key("cdp_accept_stress_runs", nodeid="t.py::a", worker="main")
        export.update(families(aggregates, tests, {runs: 30.0}))
        assert export.shutdown() == [f"OTLP export to {receiver.url}/v1/metrics: 1 export(s)"]
    finally:
        receiver.close()
    assert receiver.paths == ["/v1/metrics"]
    (resource,) = receiver.resources()
    assert resource["service.name"] == "checkout-tests"
    assert resource["deployment.environment"] == "ci"
    assert resource["telemetry.sdk.name"] == "opentelemetry"
    points = {p.metric: p for p in receiver.last_points()}
    navigation = points["cdp_accept.navigation"]
    assert (navigation.kind, navigation.unit, navigation.count) == ("histogram", "s", 3)
    assert navigation.value == pytest.approx(2.4)  # the sum, in seconds
    assert navigation.bounds == BUCKETS_S
    assert navigation.attributes == {
        "nodeid": "t.py::a",
        "worker": "main",
        "isolation": "reset",
        "throttling": "none",
    }
    stress = points["cdp_accept.stress.runs"]
    assert (stress.kind, stress.value, stress.attributes["nodeid"]) == ("sum", 30.0, "t.py::a")


def test_the_service_name_is_ours_unless_the_environment_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from pytest_cdp_accept.gate.otel import resource

    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert resource().attributes["service.name"] == "pytest-cdp-accept"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=shop")
    assert resource().attributes["service.name"] == "shop"


def test_an_unreachable_collector_is_noted_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from pytest_cdp_accept.gate.otel import OtelExport

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")  # a short wait for a test

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    export = OtelExport(f"http://127.0.0.1:{port}/v1/metrics", interval_ms=600_000)
    export.record([record("navigation", 10.0)], {})
    (line,) = export.shutdown()
    assert "1 failed (is the collector up?)" in line
