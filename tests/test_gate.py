"""The gate's pure logic: marker specs, judging, session gates, results and their merge."""

from __future__ import annotations

import json

import pytest

from pytest_cdp_accept.gate.markers import (
    can_produce,
    judge,
    judge_session,
    judge_test,
    produces,
    session_gates,
    spec_for,
    unknown_marker,
)
from pytest_cdp_accept.gate.report import SCHEMA, Results, SampleRecord
from pytest_cdp_accept.gate.thresholds import ThresholdSyntaxError
from pytest_cdp_accept.metrics import MetricsRecorder, band_of, kind_of


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


def test_vitals_marker_units_and_default_stats() -> None:
    gate = spec(
        "cdp_vitals", lcp="p75<2500ms", inp="<0.2s", cls=0.1, transfer_kb="<1.5MB", requests="<=40"
    )
    described = [(t.metric, t.describe()) for t in gate.thresholds]
    assert described == [
        ("lcp", "p75 < 2500 ms"),
        ("inp", "p75 < 200 ms"),  # the vitals' times default to p75
        ("cls", "p75 < 0.1"),  # unitless
        ("transfer_kb", "value < 1536 KB"),  # weights: the heaviest navigation, in KiB
        ("requests", "value <= 40"),
    ]
    assert gate.thresholds[0].scaled(2).value == 5000  # a time: --cdp-threshold-factor
    assert gate.thresholds[2].scaled(2).value == 0.1  # a score is not


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lcpp": "<2500ms"}, "unknown keyword 'lcpp'"),
        ({"cls": "<0.1ms"}, "cls"),
        ({"transfer_kb": "<10ms"}, "transfer_kb"),
        ({}, "at least one metric=threshold"),
    ],
)
def test_vitals_marker_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ThresholdSyntaxError, match=message):
        spec("cdp_vitals", **kwargs)


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


def test_a_verdict_says_what_its_samples_are_when_not_the_usual_figure() -> None:
    gate = spec("cdp_memory", idle="<500MB", browser_idle="<900MB")
    basis = {"memory.idle": "Chrome's private memory footprint (farm)"}
    samples = {"memory.idle": [80.0], "memory.browser_idle": [300.0]}
    idle, browser = judge_test(gate.thresholds, samples, basis=basis)
    assert idle.passed
    assert idle.line().endswith("[judged on Chrome's private memory footprint (farm)]")
    assert "judged on" not in browser.line()
    results = Results()
    results.add_verdicts("test", "t.py::test", [idle, browser])
    assert json.loads(json.dumps(results.to_json()))["verdicts"][0]["basis"] == basis["memory.idle"]


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
    assert {g.metric for g in preset} >= {
        "startup",
        "navigation",
        "memory.browser_idle",
        "fleet.pages",
    }
    assert "memory.idle" not in {
        g.metric for g in preset
    }  # the whole browser, not a test's renderers
    with pytest.raises(ThresholdSyntaxError, match="the presets are acceptance, web-vitals"):
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


# -- failed attempts, scoped session gates, typos ------------------------------------------


def test_a_timer_whose_body_raises_records_a_failed_attempt() -> None:
    recorder = MetricsRecorder()
    with recorder.timer("checkout"):
        pass
    with pytest.raises(ConnectionError), recorder.timer("checkout"):
        raise ConnectionError("app down")
    assert len(recorder["checkout"]) == 1
    assert len(recorder["checkout.failed"]) == 1
    assert kind_of("checkout.failed") == "failed"
    assert kind_of("checkout") == "latency"


def test_failed_attempts_are_counted_not_judged() -> None:
    gate = spec("cdp_latency", checkout="p95<100ms")
    some = judge(gate.thresholds, {"checkout": [50.0, 60.0], "checkout.failed": [900.0]})[0]
    assert some.passed
    assert (some.n, some.failed) == (2, 1)
    assert some.line().endswith("(n=2, 1 failed) [weak: p95 over 2 samples]")
    only = judge(gate.thresholds, {"checkout.failed": [105.1, 99.0]})[0]
    assert not only.passed
    assert only.line() == "✗ checkout p95 < 100 ms: every attempt failed (2)"


def test_no_samples_names_what_the_test_recorded() -> None:
    gate = spec("cdp_latency", tri_it="p95<1s", checkout="p95<1s")
    samples = {"try_it": [5.0], "navigation": [9.0]}
    tri_it, checkout = judge_test(gate.thresholds, samples)
    assert tri_it.line().endswith(
        "no samples: did you mean 'try_it'? this test recorded navigation, try_it"
    )
    assert checkout.line().endswith("no samples: this test recorded navigation, try_it")
    assert "recorded nothing" in judge_test(gate.thresholds, {})[0].line()


def test_no_samples_under_stress_says_how_to_write_the_loop_metric() -> None:
    gate = spec("cdp_latency", action="p95<1s")
    samples = {"stress.action": [5.0], "stress.run": [9.0], "checkout": [7.0]}
    (action,) = judge_test(gate.thresholds, samples)
    assert action.line().endswith(
        "no samples: did you mean 'stress.action'? (write it cdp_latency(**{'stress.action': "
        "...})) this test recorded checkout, stress.action, stress.run"
    )


def test_a_startup_threshold_without_a_launch_does_not_apply() -> None:
    gate = spec("cdp_latency", startup="max<3s")
    verdict = judge_test(gate.thresholds, {"navigation": [5.0]})[0]
    assert verdict.passed
    assert not verdict.applies
    assert verdict.line().startswith("– startup max < 3000 ms: n/a: no browser launch")


@pytest.mark.parametrize(
    ("metric", "tokens", "producible"),
    [
        ("navigation", {"pages"}, True),
        ("navigation", {"recorder"}, False),
        ("navigation.failed", {"pages"}, True),
        ("memory.idle", {"pages", "memory.peak"}, False),
        ("memory.idle_rss", {"memory.idle"}, True),
        ("memory.browser_idle", {"pages", "memory.idle"}, False),
        ("memory.browser_idle", {"memory.browser_idle"}, True),
        ("fleet.pages", {"pages"}, False),
        ("fleet.pages", {"fleet"}, True),
        ("stress.success", {"stress"}, True),
        ("leaks.js_heap", {"pages", "stress"}, False),
        ("ui_ready", {"pages"}, False),
        ("ui_ready", {"recorder"}, True),
        ("ui_ready", {"pages", "metric:ui_ready"}, True),
    ],
)
def test_which_tests_can_produce_a_metric(metric: str, tokens: set[str], producible: bool) -> None:
    assert can_produce(metric, tokens) is producible


def test_session_gates_none_of_the_selected_tests_produce_do_not_apply() -> None:
    gates = session_gates("ui_ready: p95<2s\ncheckout: p95<2s\n", "acceptance")
    tokens = produces(None, uses_pages=True, records=False) | produces(
        spec("cdp_latency", checkout="p95<2s"), uses_pages=False, records=True
    )
    verdicts = {
        v.threshold.metric: v
        for v in judge_session(gates, {"navigation": [10.0]}, tokens, deselected=7)
    }
    assert verdicts["navigation"].passed
    assert verdicts["navigation"].applies
    assert not verdicts["startup"].passed  # producible, no sample: still a failure
    assert not verdicts["checkout"].passed  # its test ran and recorded nothing
    # ui_ready is producible too: the cdp_latency test holds the recorder.
    assert not verdicts["ui_ready"].passed
    for metric in ("memory.browser_idle", "fleet.browsers", "stress.success", "leaks.js_heap"):
        assert verdicts[metric].passed, metric
        assert not verdicts[metric].applies, metric
        assert "n/a (not run: it comes from tests marked" in verdicts[metric].line()
        assert verdicts[metric].line().endswith("; 7 deselected)")
    only_pages = judge_session(gates, {}, produces(None, uses_pages=True, records=False))
    assert {v.threshold.metric for v in only_pages if not v.applies} >= {"ui_ready", "checkout"}


def test_cdp_marks_that_are_not_ours_are_caught_with_the_closest_name() -> None:
    ours = {"cdp_latency", "cdp_memory", "cdp_isolation", "cdp_team"}
    assert unknown_marker("cdp_latency", ours) is None
    assert unknown_marker("parametrize", ours) is None  # not ours to judge
    assert unknown_marker("cdp_team", ours) is None  # registered by the project
    message = unknown_marker("cdp_latncy", ours)
    assert message is not None
    assert message.startswith("unknown marker 'cdp_latncy': did you mean 'cdp_latency'?")
    far = unknown_marker("cdp_zzz", ours)
    assert far is not None
    assert "did you mean" not in far


def test_every_bad_keyword_and_threshold_of_a_test_is_reported() -> None:
    with pytest.raises(ThresholdSyntaxError) as info:
        spec_for(
            [
                ("cdp_latency", (), {"navigation": "p95<<1", "checkout": "fast"}),
                ("cdp_memory", (), {"idel": "<1MB", "peak": "<1ms"}),
            ]
        )
    assert len(info.value.problems) == 4
    text = str(info.value)
    assert text.startswith("4 problems:")
    assert (
        "unknown keyword 'idel'; allowed: idle, peak, js_heap, browser_idle, browser_peak" in text
    )
    assert "(did you mean 'idle'?)" in text


def test_memory_marker_asks_for_fresh_pages_or_browsers() -> None:
    assert spec("cdp_memory", idle="<1GB").fresh_page
    assert not spec("cdp_memory", idle="<1GB").fresh_browser
    assert spec("cdp_memory", browser_peak="<1GB").fresh_browser
    assert not spec("cdp_memory", js_heap="<1GB").fresh_page


def test_the_summary_shows_failures_next_to_n() -> None:
    results = Results()
    recorder = MetricsRecorder()
    recorder.record("checkout", 10.0)
    recorder.record("checkout.failed", 900.0)
    recorder.record("ui_ready.failed", 105.1)
    results.add_samples("t.py::test", "main", recorder.all_samples())
    lines = results.summary_lines()
    assert lines[0].split() == ["metric", "n", "failed", "min", "med", "p95", "p99", "max"]
    rows = {line.split()[0]: line.split() for line in lines[1:] if line.strip()}
    assert rows["checkout"][:3] == ["checkout", "1", "1"]
    assert rows["ui_ready"][:4] == ["ui_ready", "0", "1", "-"]
    assert "checkout.failed" not in rows


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), "fast"])
def test_a_sample_that_is_not_a_finite_number_names_the_metric(value: object) -> None:
    recorder = MetricsRecorder()
    with pytest.raises(ValueError, match=r"record\('ui_ready', .*\): a sample must be a finite"):
        recorder.record("ui_ready", value)  # type: ignore[arg-type]
    assert "ui_ready" not in recorder
    recorder.record("ui_ready", 12)
    assert recorder["ui_ready"] == [12.0]


def test_google_bands_of_the_vitals() -> None:
    assert [band_of("lcp", v) for v in (2500, 2501, 4000, 4001)] == [
        "good",
        "needs-improvement",
        "needs-improvement",
        "poor",
    ]
    assert band_of("stress.cls", 0.1) == "good"  # the loops' prefixed metrics too
    assert band_of("cls", 0.26) == "poor"
    assert band_of("navigation", 10.0) is None


def test_the_json_report_groups_vitals_by_page_and_profile() -> None:
    results = Results()
    phone = {"page": "http://a/home", "throttle": "mobile-slow-4g"}
    results.samples = [
        *(SampleRecord("lcp", v, "t::a", "main", 0.0, {"page": "http://a/home"}) for v in (1, 2)),
        *(SampleRecord("lcp", v, "t::b", "main", 0.0, phone) for v in (3000, 5000, 6000)),
        SampleRecord("navigation", 5.0, "t::a", "main", 0.0),
    ]
    vitals = results.to_json()["vitals"]
    assert vitals["throttle"] == ["mobile-slow-4g"]
    [plain, slow] = vitals["pages"]
    assert (plain["throttle"], plain["metrics"]["lcp"]["band"]) == (None, "good")
    assert slow["throttle"] == "mobile-slow-4g"
    assert slow["metrics"]["lcp"] == {"n": 3, "p75": pytest.approx(5500.0), "band": "poor"}
