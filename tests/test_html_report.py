"""The HTML report: its structure, built from report dicts, then how the real Chromium draws it."""

from __future__ import annotations

import html
import json
import math
import random
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept.engine.sync import SyncPage, SyncPool
from pytest_cdp_accept.gate.html_report import MAX_DOTS, MAX_POINTS, render_html, write_html
from pytest_cdp_accept.gate.report import SCHEMA, Results
from pytest_cdp_accept.gate.thresholds import compute_stat, format_value
from pytest_cdp_accept.metrics import Sample

NASTY = "tests/t.py::test_x[<script>alert(\"x\")</script>&amp;'q']"
T0 = 1_790_000_000.0


def sample(metric: str, value: float, test: str, at: float, worker: str = "main") -> dict[str, Any]:
    return {"metric": metric, "value": value, "test": test, "worker": worker, "time": T0 + at}


def verdict(
    metric: str,
    threshold: str,
    measured: float | None,
    n: int,
    *,
    passed: bool = True,
    weak: bool = False,
    scope: str = "test",
    test: str = "tests/t.py::test_nav",
) -> dict[str, Any]:
    mark = "✓" if passed else "✗"
    return {
        "scope": scope,
        "test": test,
        "metric": metric,
        "threshold": threshold,
        "measured": measured,
        "n": n,
        "passed": passed,
        "weak": weak,
        "line": f"{mark} {metric} {threshold}: {measured} (n={n})",
    }


def stats_of(samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    grouped: dict[str, list[float]] = {}
    for s in samples:
        grouped.setdefault(s["metric"], []).append(s["value"])
    return {
        m: {
            "n": len(v),
            **{s: compute_stat(s, v) for s in ("min", "med", "p95", "p99", "max", "avg")},
        }
        for m, v in sorted(grouped.items())
    }


def full_report() -> dict[str, Any]:
    """Every family of metric, a failing and a weak verdict, a regression, nasty names."""
    rng = random.Random(7)
    samples = []
    for i in range(200):  # a latency with a long tail
        samples.append(
            sample("navigation", rng.lognormvariate(5.5, 0.35), "tests/t.py::test_nav", i * 0.1)
        )
    for i in range(12):
        samples.append(sample("startup", 300 + rng.random() * 150, "tests/t.py::test_nav", i))
    for i in range(300):  # a user metric spanning decades: log bins
        samples.append(
            sample("checkout", rng.lognormvariate(4, 1.1), "tests/t.py::test_nav", i * 0.05)
        )
    samples.append(sample("page_open", 42.0, "tests/t.py::test_nav", 1))  # one sample only
    for i in range(30):
        samples.append(sample("command", 0.5, "tests/t.py::test_nav", i))  # identical values
    for i in range(40):  # memory over time, two tests on two workers
        samples.append(
            sample("memory.peak", 380 + i * 1.5 + rng.random() * 8, "tests/t.py::test_nav", i * 0.5)
        )
        samples.append(sample("memory.peak", 420 + rng.random() * 20, NASTY, 3 + i * 0.4, "gw1"))
    samples.append(sample("memory.idle", 390.0, "tests/t.py::test_nav", 25))
    samples.append(sample("memory.idle", 401.0, NASTY, 26, "gw1"))
    for i in range(50):  # stress: mostly passing, a few failures
        ok = i % 9 != 4
        samples.append(
            sample(
                "stress.run",
                80 + rng.random() * 60 + (400 if not ok else 0),
                "tests/s.py::test_stress",
                30 + i * 0.05,
            )
        )
        samples.append(
            sample("stress.success", 1.0 if ok else 0.0, "tests/s.py::test_stress", 30 + i * 0.05)
        )
    for i in range(10):
        samples.append(sample("stress.success", 1.0, "tests/s.py::test_other", 33 + i * 0.05))
        samples.append(sample("stress.navigation", 60.0 + i, "tests/s.py::test_other", 33 + i))
    for i in range(4):  # loops under load record their own navigations and launches
        samples.append(sample("recovery.navigation", 70.0 + i, "tests/r.py::test_recover", 40 + i))
        samples.append(sample("fleet.launch", 600.0 + 20 * i, "tests/f.py::test_fleet", 52))
    for i in range(6):  # recovery: mixed faults, one failed
        ok = i != 3
        fault = "recovery.renderer" if i % 2 == 0 else "recovery.browser"
        elapsed = 200 + 90 * i + (4000 if not ok else 0)
        at = 40 + i
        samples.append(
            sample("recovery.success", 1.0 if ok else 0.0, "tests/r.py::test_recover", at)
        )
        samples.append(sample("recovery.time", elapsed, "tests/r.py::test_recover", at))
        samples.append(sample(fault, elapsed, "tests/r.py::test_recover", at))
    samples.append(sample("leaks.js_heap", 12.5, "tests/l.py::test_leak_free", 50))
    samples.append(sample("leaks.dom_nodes", 0.0, "tests/l.py::test_leak_free", 50))
    samples.append(sample("leaks.js_heap", 210.0, NASTY, 51))
    samples.append(sample("leaks.dom_nodes", 14.0, NASTY, 51))
    samples.append(sample("leaks.python", 0.4, NASTY, 51))
    samples.append(sample("fleet.browsers", 4.0, "tests/f.py::test_fleet", 52))
    verdicts = [
        verdict("navigation", "p95 < 500 ms", 412.3, 200),
        verdict("page_open", "p95 < 100 ms", 42.0, 1, weak=True),
        verdict("leaks.js_heap", "max < 64 KB/run", 210.0, 1, passed=False, test=NASTY),
        verdict(
            "stress.success", "rate >= 95 %", 0.88, 50, passed=False, test="tests/s.py::test_stress"
        ),
        verdict("startup", "p95 < 2000 ms", 440.1, 12, scope="session", test=""),
        verdict("memory.peak", "max < 300 MB", 455.2, 80, passed=False, scope="session", test=""),
    ]
    return {
        "schema": SCHEMA,
        "created": T0 + 60,
        "machine": {"platform": "Linux-6.1-x86_64", "python": "3.11.2", "cpus": 2},
        "counters": {"browsers_launched": 11.0, "pages_opened": 52.0},
        "metrics": stats_of(samples),
        "verdicts": verdicts,
        "samples": samples,
        "factor": 1.5,
        "record_only": False,
        "comparison": [
            {
                "metric": "navigation",
                "stat": "p95",
                "baseline": 300.0,
                "current": 412.3,
                "change_pct": 37.4,
                "limit": "10%",
                "regressed": True,
            },
            {
                "metric": "startup",
                "stat": "med",
                "baseline": 400.0,
                "current": 380.0,
                "change_pct": -5.0,
                "limit": None,
                "regressed": False,
            },
            {
                "metric": "stress.success",
                "stat": "avg",
                "baseline": 1.0,
                "current": 0.88,
                "change_pct": -12.0,
                "limit": None,
                "regressed": False,
            },
            {
                "metric": "fleet.browsers",
                "stat": "value",
                "baseline": 0.0,
                "current": 4.0,
                "change_pct": None,
                "limit": None,
                "regressed": False,
            },
        ],
    }


class Page(HTMLParser):
    """The parts of a rendered page the tests look at: every element, and each chart."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.charts: list[dict[str, Any]] = []
        self.text: list[str] = []
        self._chart: dict[str, Any] | None = None
        self._title: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.elements.append((tag, found))
        if tag == "svg":
            self._chart = {"attrs": found, "title": None, "marks": [], "texts": []}
            self.charts.append(self._chart)
        elif self._chart is not None:
            if tag in ("rect", "circle", "polyline"):
                self._chart["marks"].append((tag, found))
            if tag == "title" and self._chart["title"] is None:
                self._title = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "title" and self._title is not None and self._chart is not None:
            self._chart["title"] = "".join(self._title)
            self._title = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._title is not None:
            self._title.append(data)
        elif self._chart is not None:
            self._chart["texts"].append(data)

    def chart(self, metric: str) -> dict[str, Any]:
        (found,) = [c for c in self.charts if c["attrs"].get("data-metric") == metric]
        return found

    def rows(self, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == "tr" and cls in a.get("class", "").split()]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return full_report()


@pytest.fixture(scope="module")
def page(report: dict[str, Any]) -> Page:
    return Page(render_html(report))


# -- structure -------------------------------------------------------------------------


def test_banner_says_fail_and_counts_the_misses(page: Page) -> None:
    (banner,) = [a for t, a in page.elements if t == "header"]
    assert banner["class"].split() == ["banner", "fail"]
    text = "".join(page.text)
    assert "FAIL" in text
    assert "3 of 6 thresholds missed" in text
    assert "1 weak" in text
    assert "time thresholds scaled ×1.5" in text
    assert "11 browsers launched" in " ".join(text.split())
    assert "2026-09-21 14:14:20 UTC" in text  # created, in UTC
    assert "Linux-6.1-x86_64 · Python 3.11.2 · 2 CPUs" in text


@pytest.mark.parametrize(
    ("verdicts", "detail"),
    [
        ([verdict("navigation", "p95 < 500 ms", 312.4, 20)], "all 1 thresholds met"),
        ([], "no thresholds were checked"),
    ],
)
def test_banner_says_pass_when_nothing_failed(verdicts: list[dict[str, Any]], detail: str) -> None:
    text = render_html({"schema": SCHEMA, "verdicts": verdicts, "samples": []})
    assert '<header class="banner pass">' in text
    assert ">PASS<" in text
    assert detail in text
    assert "FAIL" not in text


def test_record_only_is_noted() -> None:
    failed = verdict("navigation", "p95 < 500 ms", 612.0, 20, passed=False)
    text = render_html({"verdicts": [failed], "record_only": True, "factor": 1.0})
    assert "record-only: missed thresholds did not fail the run" in text
    assert "scaled" not in text


def test_verdict_rows_session_gates_first_failures_and_weak_marked(page: Page) -> None:
    rows = [a for t, a in page.elements if t == "tr" and "data-scope" in a]
    assert [r["data-scope"] for r in rows] == ["session"] * 2 + ["test"] * 4
    assert [r["class"] for r in rows] == ["pass", "fail", "pass", "pass weak", "fail", "fail"]
    text = "".join(page.text)
    assert text.index("Session gates: 1 of 2 met") < text.index("Test thresholds: 2 of 4 met")
    # measured values in the unit of their threshold (rates as a percentage)
    for shown in ("455.2 MB", "210.0 KB/run", "88.0 %", "42.0 ms"):
        assert shown in text
    assert "weak" in text


def test_measured_missing_reads_no_samples() -> None:
    missing = verdict("navigation", "p95 < 500 ms", None, 0, passed=False)
    assert "no samples" in render_html({"verdicts": [missing]})


def test_every_chart_is_an_svg_with_a_title_and_marks(page: Page) -> None:
    metrics = {c["attrs"].get("data-metric") for c in page.charts}
    assert metrics == {
        # latency distributions
        "navigation",
        "startup",
        "page_open",
        "command",
        "checkout",
        "fleet.launch",
        # memory over time
        "memory.peak",
        "memory.idle",
        # stress outcomes and run times; recovery per fault
        "stress.success",
        "stress.run",
        "recovery.renderer",
        "recovery.browser",
        # the loops' own navigations
        "stress.navigation",
        "recovery.navigation",
    }
    for chart in page.charts:
        assert chart["attrs"]["class"] == "chart"
        assert re.fullmatch(r"0 0 \d+ \d+(\.\d)?", chart["attrs"]["viewbox"])
        assert chart["attrs"]["width"] == "100%"
        assert chart["title"], chart["attrs"]
        assert chart["attrs"]["data-metric"] in chart["title"]
        assert chart["marks"], chart["attrs"]


def test_latency_histogram_marks_the_percentiles(page: Page, report: dict[str, Any]) -> None:
    values = [s["value"] for s in report["samples"] if s["metric"] == "navigation"]
    chart = page.chart("navigation")
    texts = chart["texts"]
    for name, stat in (("p50", "med"), ("p95", "p95"), ("p99", "p99")):
        assert f"{name} {format_value(compute_stat(stat, values), 'ms')}" in texts
    bars = [a for t, a in chart["marks"] if t == "rect"]
    assert 5 <= len(bars) <= 60
    counts = [int(title.rsplit(": ", 1)[1]) for title in _bar_titles(chart)]
    assert len(counts) == len(bars)
    assert sum(counts) == 200
    assert "ms" in texts
    assert "log scale" not in " ".join(texts)


def _bar_titles(chart: dict[str, Any]) -> list[str]:
    """The bars' tooltips, e.g. "80.0 ms – 120.0 ms: 12"."""
    return [t for t in chart["texts"] if re.search(r" ms – .* ms: \d+$", t)]


def test_wide_latency_gets_log_bins(page: Page) -> None:
    chart = page.chart("checkout")
    assert "ms (log scale)" in chart["texts"]
    assert {"10", "100", "1000"} <= set(chart["texts"])


@pytest.mark.parametrize("metric", ["page_open", "command"])
def test_one_sample_or_identical_values_draw_one_bar(page: Page, metric: str) -> None:
    chart = page.chart(metric)
    bars = [a for t, a in chart["marks"] if t == "rect"]
    assert len(bars) == 1
    assert float(bars[0]["width"]) > 0
    assert float(bars[0]["height"]) > 0
    # the three percentiles coincide: one label
    assert any(t.startswith("p50 · p95 · p99 ") for t in chart["texts"])


def test_memory_over_time_has_a_series_per_test(page: Page) -> None:
    chart = page.chart("memory.peak")
    lines = [a for t, a in chart["marks"] if t == "polyline"]
    assert len(lines) == 2
    assert all(len(a["points"].split()) == 40 for a in lines)
    dots = [a for t, a in chart["marks"] if t == "circle"]
    assert len(dots) == 80
    assert "s since the first sample" in chart["texts"]
    assert "MB" in chart["texts"]
    legend = "".join(page.text)
    assert "tests/t.py::test_nav" in legend
    # x is the time since the first sample: one series starts at 0 s, the other 3 s in
    starts = sorted(float(a["points"].split()[0].split(",")[0]) for a in lines)
    ends = sorted(float(a["points"].split()[-1].split(",")[0]) for a in lines)
    assert (starts[1] - starts[0]) / (ends[1] - starts[0]) == pytest.approx(3 / 19.5, abs=0.01)


def test_memory_with_one_sample_per_test(page: Page) -> None:
    chart = page.chart("memory.idle")
    assert [t for t, _ in chart["marks"]] == ["circle", "circle"]


def test_stress_outcomes_stack_passed_and_failed_per_test(page: Page) -> None:
    chart = page.chart("stress.success")
    bars = [a for t, a in chart["marks"] if t == "rect"]
    assert [b["fill"] for b in bars] == ["#1a7f37", "#cf222e", "#1a7f37"]  # failing test first
    assert "44 of 50 passed · 88.0 %" in chart["texts"]
    assert "10 of 10 passed · 100.0 %" in chart["texts"]
    passed, failed = float(bars[0]["width"]), float(bars[1]["width"])
    assert passed / (passed + failed) == pytest.approx(0.88, abs=0.01)
    assert page.chart("stress.run")["marks"]


def test_recovery_dots_are_coloured_by_the_matching_outcome(page: Page) -> None:
    # faults 0..5 alternate renderer / browser; fault 3 (the second browser kill) failed
    renderer = [a["fill"] for t, a in page.chart("recovery.renderer")["marks"]]
    browser = [a["fill"] for t, a in page.chart("recovery.browser")["marks"]]
    assert renderer == ["#1a7f37"] * 3
    assert browser == ["#1a7f37", "#cf222e", "#1a7f37"]
    text = "".join(page.text)
    assert "recovered 3 of 3" in text
    assert "recovered 2 of 3" in text


def test_recovery_outcomes_pair_per_test_in_time_order() -> None:
    """Two tests interleaved in time: each test's n-th outcome goes with its n-th fault."""
    samples = []
    for i, (test, ok) in enumerate([("a", True), ("b", False), ("a", False), ("b", True)]):
        samples.append(sample("recovery.success", float(ok), test, i))
        samples.append(sample("recovery.time", 100.0 + i, test, i))
        samples.append(sample("recovery.renderer", 100.0 + i, test, i))
    chart = Page(render_html({"samples": samples})).chart("recovery.renderer")
    fills = [a["fill"] for _, a in chart["marks"]]
    assert fills == ["#1a7f37", "#cf222e", "#cf222e", "#1a7f37"]


def test_recovery_without_outcomes_is_grey() -> None:
    samples = [sample("recovery.time", 300.0, "a", 0)]
    chart = Page(render_html({"samples": samples})).chart("recovery.time")
    assert [a["fill"] for _, a in chart["marks"]] == ["#8c959f"]


def test_leaks_table_per_test_with_missed_slopes_in_red(page: Page) -> None:
    cells = [a.get("class", "") for t, a in page.elements if t == "td"]
    assert "num fail-text" in cells
    text = "".join(page.text)
    for shown in ("12.5 KB/run", "0/run", "210.0 KB/run", "14/run", "0.4 MB"):
        assert shown in text
    assert not any(c["attrs"]["data-metric"].startswith("leaks.") for c in page.charts)


def test_comparison_table_highlights_regressions(page: Page, report: dict[str, Any]) -> None:
    text = "".join(page.text)
    assert "1 regression(s) beyond their limit" in text
    assert "▲ +37.4 %" in text
    assert "▼ -5.0 %" in text
    assert "REGRESSED" in text
    assert text.count("REGRESSED") == 1
    for shown in ("300.0 ms", "412.3 ms", "100.0 %", "10%", "from 0"):
        assert shown in text
    rows = [a for t, a in page.elements if t == "tr" and a.get("class") == "fail"]
    assert len(rows) == 4  # three missed thresholds and the regression
    # a rate's mean is shown as what it is
    assert '<td class="metric">stress.success</td><td>rate</td>' in render_html(report)


def test_no_comparison_no_baseline_section(report: dict[str, Any]) -> None:
    without = {k: v for k, v in report.items() if k != "comparison"}
    text = render_html(without)
    assert 'id="baseline"' not in text
    assert 'href="#baseline"' not in text


def test_text_is_escaped_everywhere(report: dict[str, Any]) -> None:
    text = render_html(report)
    assert NASTY not in text
    assert "<script" not in text
    assert 'alert("x")' not in text
    assert html.escape(NASTY) in text
    # and it round-trips: a parser reads the original name back
    assert NASTY in "".join(Page(text).text)


def test_nothing_external(report: dict[str, Any]) -> None:
    text = render_html(report)
    for external in ("http://", "https://", "url(", "@import"):
        assert external not in text
    for tag, attrs in Page(text).elements:
        assert tag not in ("script", "link", "img", "iframe", "object")
        assert "src" not in attrs
        assert attrs.get("href", "#").startswith("#"), (tag, attrs)


def test_stats_computed_when_the_report_has_none(report: dict[str, Any]) -> None:
    """A report without ``metrics`` (hand-made, or trimmed) shows the same figures."""
    values = [s["value"] for s in report["samples"] if s["metric"] == "navigation"]
    text = "".join(Page(render_html({"samples": report["samples"]})).text)
    for stat in ("min", "med", "p95", "p99", "max", "avg"):
        assert format_value(compute_stat(stat, values), "ms") in text
    assert "rate 90.0 %" in text  # stress.success


def test_bad_samples_are_skipped() -> None:
    samples: list[Any] = [
        sample("navigation", 100.0, "a", 0),
        sample("navigation", math.nan, "a", 1),
        sample("navigation", math.inf, "a", 1),
        {"metric": "navigation", "value": True, "test": "a", "time": 2},
        {"metric": "navigation", "value": "12", "test": "a", "time": 2},
        {"metric": "navigation", "value": 120.0},  # no test, worker or time
        "junk",
    ]
    page = Page(render_html({"samples": samples, "verdicts": ["junk"], "comparison": "junk"}))
    bars = [a for t, a in page.chart("navigation")["marks"] if t == "rect"]
    assert len(bars) == 2


def test_empty_report() -> None:
    text = render_html({})
    assert "No samples and no verdicts in this report." in text
    assert "<svg" not in text


def test_json_report_from_results_renders(tmp_path: Path) -> None:
    """The real ``Results.to_json`` output, through a JSON round trip, to a file."""
    results = Results()
    results.add_samples(NASTY, "gw0", [Sample("navigation", 100.0 + i, T0 + i) for i in range(30)])
    results.add_samples(
        "t.py::test_m", "gw1", [Sample("memory.peak", 400.0 + i, T0 + i) for i in range(5)]
    )
    results.count("browsers_launched", 2)
    data = json.loads(json.dumps(results.to_json({"factor": 1.0, "record_only": False})))
    target = tmp_path / "deep" / "report.html"
    write_html(data, target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    page = Page(text)
    assert {c["attrs"]["data-metric"] for c in page.charts} == {"navigation", "memory.peak"}
    assert "2 browsers launched" in " ".join("".join(page.text).split())


def big_report(n: int = 100_000) -> dict[str, Any]:
    """``n`` samples: latency, memory over 20 tests, stress and recovery outcomes."""
    rng = random.Random(3)
    samples = []
    for i in range(n // 5):
        test = f"tests/big.py::test_{i % 20}"
        at = i * 0.01
        samples.append(sample("navigation", rng.lognormvariate(5, 0.4), test, at))
        samples.append(sample("memory.peak", 400 + rng.random() * 40, test, at))
        samples.append(sample("stress.success", float(rng.random() < 0.97), test, at))
        samples.append(sample("recovery.success", float(rng.random() < 0.9), test, at))
        samples.append(sample("recovery.browser", rng.random() * 900, test, at))
    return {"schema": SCHEMA, "samples": samples, "verdicts": []}


def test_size_is_bounded_with_100k_samples() -> None:
    text = render_html(big_report())
    assert len(text.encode()) < 1_000_000
    page = Page(text)
    for chart in page.charts:
        points = sum(len(a["points"].split()) if t == "polyline" else 1 for t, a in chart["marks"])
        assert points <= MAX_POINTS + MAX_DOTS, chart["attrs"]
    dots = [a for t, a in page.chart("memory.peak")["marks"] if t == "circle"]
    assert MAX_DOTS // 2 <= len(dots) <= MAX_DOTS
    assert len(page.chart("recovery.browser")["marks"]) <= MAX_DOTS
    assert text.count("of 1000 passed") == 20  # a bar per test, 1000 runs each


# -- in the real browser --------------------------------------------------------------

CHECK_CHARTS = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll('rect, circle, polyline')].map(m => m.getBBox());
    return {
      metric: svg.dataset.metric,
      width: box.width,
      height: box.height,
      marks: marks.length,
      drawn: marks.filter(b => b.width > 0 && b.height > 0).length,
    };
  });
  return {
    charts,
    title: document.title,
    scripts: document.querySelectorAll('script').length,
    resources: performance.getEntriesByType('resource').length,
    overflow: document.documentElement.scrollWidth > window.innerWidth,
  };
})()"""


def tiny_report() -> dict[str, Any]:
    """One sample of each kind: nothing may collapse to a zero-sized chart."""
    return {
        "samples": [
            sample("navigation", 250.0, "a", 0),
            sample("memory.peak", 400.0, "a", 0),
            sample("stress.success", 0.0, "a", 0),
            sample("stress.run", 90.0, "a", 0),
            sample("recovery.success", 1.0, "a", 0),
            sample("recovery.time", 300.0, "a", 0),
            sample("recovery.renderer", 300.0, "a", 0),
        ],
        "verdicts": [verdict("navigation", "p95 < 500 ms", 250.0, 1, weak=True)],
    }


@pytest.fixture
def in_browser(pool: SyncPool, tmp_path: Path) -> Iterator[Any]:
    pages: list[SyncPage] = []

    def show(report: dict[str, Any]) -> dict[str, Any]:
        path = tmp_path / f"report{len(pages)}.html"
        write_html(report, path)
        page = pool.acquire_page()
        pages.append(page)
        navigation = page.goto(path.as_uri())
        assert navigation.ok
        result: dict[str, Any] = page.evaluate(CHECK_CHARTS)
        return result

    yield show
    for page in pages:
        pool.release_page(page)


@pytest.mark.parametrize(
    ("build", "verdict_word", "count"),
    [(full_report, "FAIL", 14), (tiny_report, "PASS", 5)],
    ids=["full", "one-sample-each"],
)
def test_chromium_draws_every_chart(
    in_browser: Any, build: Any, verdict_word: str, count: int
) -> None:
    seen = in_browser(build())
    assert seen["title"].startswith(verdict_word)
    assert seen["scripts"] == 0
    assert seen["resources"] == 0  # nothing fetched: the file stands alone
    assert not seen["overflow"]  # wide tables scroll inside their box, the page does not
    assert len(seen["charts"]) == count
    for chart in seen["charts"]:
        assert chart["width"] > 100, chart
        assert chart["height"] > 20, chart
        assert chart["drawn"] > 0, chart  # a bar, dot or line with an area on screen


def test_chromium_draws_the_big_report(in_browser: Any) -> None:
    seen = in_browser(big_report())
    assert seen["resources"] == 0
    assert {c["metric"] for c in seen["charts"]} == {
        "navigation",
        "memory.peak",
        "stress.success",
        "recovery.browser",
    }
    for chart in seen["charts"]:
        assert chart["width"] > 100, chart
        assert chart["height"] > 20, chart
        assert chart["drawn"] > 0, chart
