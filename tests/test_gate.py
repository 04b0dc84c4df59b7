"""The gate's pure logic: marker specs, judging, session gates, results and their merge."""

from __future__ import annotations

import json

import pytest

from pytest_cdp_accept.gate.markers import judge, session_gates, spec_for
from pytest_cdp_accept.gate.report import SCHEMA, Results
from pytest_cdp_accept.gate.thresholds import ThresholdSyntaxError
from pytest_cdp_accept.metrics import MetricsRecorder


def spec(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return spec_for([(name, args, kwargs)])


def test_latency_marker_accepts_any_metric_and_lists() -> None:
    gate = spec("cdp_latency", navigation="p95<500ms", checkout=["p99<800ms", "max<2s"])
    described = [(t.metric, t.describe()) for t in gate.thresholds]
    assert described == [
        ("navigation", "p95 < 500 ms"),
        ("checkout", "p99 < 800 ms"),
        ("checkout", "max < 2000 ms"),
    ]


def test_memory_marker_maps_keywords_to_metrics() -> None:
    gate = spec("cdp_memory", idle="<500MB", peak=800, js_heap="<50MB")
    assert [t.metric for t in gate.thresholds] == ["memory.idle", "memory.peak", "memory.js_heap"]
    assert gate.memory == {"idle", "peak", "js_heap"}


def test_concurrency_marker_asks_for_a_fleet() -> None:
    gate = spec("cdp_concurrency", browsers=10, pages=50, within="30s")
    assert gate.fleet is not None
    assert (gate.fleet.browsers, gate.fleet.pages, gate.fleet.within_ms) == (10, 50, 30000.0)
    assert [t.describe() for t in gate.thresholds] == [
        "value >= 10",
        "value >= 50",
        "max < 30000 ms",
    ]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "message"),
    [
        ("cdp_memory", (), {"idel": "<500MB"}, "unknown keyword 'idel'; allowed: idle, peak"),
        ("cdp_latency", ("p95<500ms",), {}, "keyword arguments only"),
        ("cdp_latency", (), {}, "at least one metric=threshold"),
        ("cdp_latency", (), {"navigation": "p95<<500ms"}, '"p95<<500ms"'),
        ("cdp_latency", (), {"navigation": "p95<500MB"}, "MB"),
        ("cdp_memory", (), {"idle": "<500ms"}, "ms"),
        ("cdp_concurrency", (), {"browsers": 0}, "browsers=0 must be a whole number >= 1"),
        ("cdp_concurrency", (), {"browsers": 5, "pages": 2}, "pages=2 is fewer than browsers=5"),
        ("cdp_concurrency", (), {"browser": 5}, "unknown keyword 'browser'"),
        ("cdp_concurrency", (), {"within": ">3s"}, "one time limit"),
    ],
)
def test_bad_markers_name_the_fragment(
    name: str, args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        spec_for([(name, args, kwargs)])
    assert message in str(info.value)


def test_judge_scales_time_thresholds_only() -> None:
    gate = spec("cdp_latency", navigation="p95<500ms")
    samples = {"navigation": [700.0] * 20}
    assert not judge(gate.thresholds, samples)[0].passed
    assert judge(gate.thresholds, samples, factor=1.5)[0].passed
    memory = spec("cdp_memory", idle="<500MB")
    assert not judge(memory.thresholds, {"memory.idle": [600.0]}, factor=2)[0].passed


def test_a_threshold_without_samples_fails() -> None:
    gate = spec("cdp_latency", checkuot="p95<500ms")  # a typo must never pass silently
    verdict = judge(gate.thresholds, {"checkout": [10.0]})[0]
    assert not verdict.passed
    assert "no samples" in verdict.line()


@pytest.mark.parametrize(("typo", "meant"), [("navigaton", "navigation"), ("startpu", "startup")])
def test_a_misspelled_builtin_latency_metric_is_a_usage_error(typo: str, meant: str) -> None:
    with pytest.raises(ThresholdSyntaxError, match=f"did you mean '{meant}'"):
        spec("cdp_latency", **{typo: "p95<500ms"})
    assert spec("cdp_latency", checkout="p95<500ms").thresholds[0].metric == "checkout"


def test_session_gates_from_ini_and_preset() -> None:
    gates = session_gates("navigation: p95<500ms\n# comment\nmemory.idle: <400MB\n", None)
    assert [(g.metric, g.kind) for g in gates] == [
        ("navigation", "latency"),
        ("memory.idle", "memory"),
    ]
    preset = session_gates(None, "acceptance")
    assert {g.metric for g in preset} >= {"startup", "navigation", "memory.browser_idle", "fleet.pages"}
    assert "memory.idle" not in {g.metric for g in preset}  # the whole browser, not a test's renderers
    with pytest.raises(ThresholdSyntaxError, match="only preset is 'acceptance'"):
        session_gates(None, "strict")
    with pytest.raises(ThresholdSyntaxError, match="line 1"):
        session_gates("navigation: p95<<1ms", None)


def test_results_merge_across_workers_exactly() -> None:
    workers = []
    for worker, count in (("gw0", 7), ("gw1", 5)):
        recorder = MetricsRecorder()
        for i in range(count):
            recorder.record("navigation", 10.0 + i)
        results = Results()
        results.add_samples(f"test_{worker}", worker, recorder.all_samples())
        results.count("browsers_launched", 1)
        workers.append(results.to_wire())
    merged = Results()
    for wire in workers:
        merged.merge_wire(wire)
    assert len(merged.by_metric()["navigation"]) == 12
    assert merged.counters["browsers_launched"] == 2
    assert {s.worker for s in merged.samples} == {"gw0", "gw1"}


def test_results_json_and_summary() -> None:
    recorder = MetricsRecorder()
    for value in (100.0, 200.0, 300.0):
        recorder.record("navigation", value)
    results = Results()
    results.add_samples("t.py::test", "main", recorder.all_samples())
    gate = spec("cdp_latency", navigation="p95<250ms")
    results.add_verdicts("test", "t.py::test", judge(gate.thresholds, results.by_metric()))
    data = json.loads(json.dumps(results.to_json()))
    assert data["schema"] == SCHEMA
    assert data["metrics"]["navigation"]["n"] == 3
    assert data["metrics"]["navigation"]["med"] == 200.0
    assert data["verdicts"][0]["passed"] is False
    assert [s["test"] for s in data["samples"]] == ["t.py::test"] * 3
    text = "\n".join(results.summary_lines())
    assert "navigation" in text
    assert "✗ navigation p95 < 250 ms: 290.0 ms (n=3)" in text


def test_summary_is_a_table_per_metric_and_a_line_per_threshold() -> None:
    results = Results()
    gate = spec("cdp_latency", navigation="p95<250ms", page_open="max<1s")
    for test, navs in (("t.py::test_fast", [10.0] * 20), ("t.py::test_slow", [400.0] * 20)):
        recorder = MetricsRecorder()
        for value in navs:
            recorder.record("navigation", value)
        recorder.record("page_open", 5.0)
        results.add_samples(test, "main", recorder.all_samples())
        samples = recorder.by_name()
        results.add_verdicts("test", test, judge(gate.thresholds, samples))
    results.count("browsers_launched", 1)
    results.count("pages_opened", 2)
    lines = results.summary_lines()
    header = lines[0].split()
    assert header == ["metric", "n", "min", "med", "p95", "p99", "max"]
    row = next(line.split() for line in lines if line.split()[0] == "navigation")
    assert row[:2] == ["navigation", "40"]
    text = "\n".join(lines)
    assert "✗ navigation p95 < 250 ms: 1 of 2 tests missed it" in text
    assert "✗ navigation p95 < 250 ms: 400.0 ms (n=20)  [t.py::test_slow]" in text
    assert "t.py::test_fast" not in text  # met, and not weak: no line of its own
    assert "✓ page_open max < 1000 ms: met in 2 tests" in text
    assert "session: browsers launched 1" in text
    assert "pages opened 2" in text
    assert "1 threshold(s) missed" in text
