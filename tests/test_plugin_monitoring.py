"""Monitoring through real runs: a planted run (20 navigations, one failing test, a
stress of 30 runs) on real Chromium, with and without real xdist workers; its
OpenMetrics file and its live ``/metrics`` (scraped from this process while the run
lasts) read back with prometheus-client's OpenMetrics parser; its OTLP export
decoded by a receiver on loopback; and a run that asks for none of it.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import free_port, run_pytest

pytest.importorskip("prometheus_client")
from prometheus_client.openmetrics.parser import text_string_to_metric_families

OPENMETRICS = "application/openmetrics-text; version=1.0.0"

PLANTED = """
import itertools
import time

import pytest

runs = itertools.count()

def test_navigations(cdp_page, cdp_site):
    for _ in range(20):
        assert cdp_page.goto(cdp_site.url("/")).status == 200

def test_fails(cdp_page):
    raise KeyError("fails on purpose")

@pytest.mark.cdp_stress(runs=30, concurrency=2, success=">=50%")
def test_stress(cdp_page, cdp_site):
    n = next(runs)
    time.sleep(0.15)  # a stress long enough to be scraped several times
    if n % 10 == 9:
        raise LookupError(f"run {n} fails on purpose")
"""


def families_of(text: str) -> dict[str, Any]:
    """Family name -> family, as prometheus-client's OpenMetrics parser reads ``text``
    (it raises on anything the OpenMetrics rules do not allow)."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def total(families: dict[str, Any], sample: str, **labels: str) -> float:
    """The sum of the samples named ``sample`` whose labels include ``labels``."""
    family = families[sample.removesuffix("_total").rsplit("_count", 1)[0]]
    return sum(
        s.value
        for s in family.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


@dataclass
class Scraper:
    """Scrapes ``/metrics`` as Prometheus does, as often as it can, until stopped; keeps
    what each scrape said of the stress runs and the pool."""

    port: int
    stress_runs: list[float] = field(default_factory=list)
    pool_browsers: list[float] = field(default_factory=list)
    workers: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(0.1):
            try:
                text = self.scrape()
            except OSError:
                continue  # not listening yet, or no more
            try:
                found = families_of(text)
            except ValueError as exc:
                self.problems.append(f"{exc}: {text[:2000]}")
                continue
            if "cdp_accept_stress_runs" in found:
                self.stress_runs.append(total(found, "cdp_accept_stress_runs_total"))
            if "cdp_accept_pool_browsers" in found:
                browsers = found["cdp_accept_pool_browsers"].samples
                self.pool_browsers.append(sum(s.value for s in browsers))
                self.workers |= {s.labels["worker"] for s in browsers}

    def scrape(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/metrics", headers={"Accept": OPENMETRICS})
            response = connection.getresponse()
            body = response.read().decode()
            content_type = response.getheader("Content-Type", "")
            if response.status != 200 or not content_type.startswith(
                "application/openmetrics-text"
            ):
                self.problems.append(f"HTTP {response.status} {content_type}")
            return body
        finally:
            connection.close()


@pytest.fixture
def scraper() -> Iterator[Scraper]:
    scraping = Scraper(free_port())
    thread = threading.Thread(target=scraping.run, daemon=True)
    thread.start()
    yield scraping
    scraping.stop.set()
    thread.join(15)


@pytest.mark.parametrize("workers", [None, "2"], ids=["one-process", "xdist"])
def test_a_planted_run_counts_right_in_the_file_and_grows_live(
    pytester: pytest.Pytester, isolated: Path, scraper: Scraper, workers: str | None
) -> None:
    pytester.makepyfile(test_planted=PLANTED)
    xdist = ("-n", workers) if workers else ()
    result = run_pytest(
        pytester, *xdist, f"--cdp-metrics-port={scraper.port}", "--cdp-openmetrics=run.om"
    )
    scraper.stop.set()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*openmetrics report: *run.om"])

    text = (pytester.path / "run.om").read_text()
    assert text.endswith("# EOF\n")
    found = families_of(text)
    navigations = {"nodeid": "test_planted.py::test_navigations", "isolation": "reset"}
    assert total(found, "cdp_accept_navigation_seconds_count", **navigations) == 20
    (series,) = [
        s.labels
        for s in found["cdp_accept_navigation_seconds"].samples
        if s.name.endswith("_count") and s.labels["nodeid"].endswith("test_navigations")
    ]
    assert series["worker"] in ({"main"} if not workers else {"gw0", "gw1"})
    assert series["throttling"] == "none"
    assert total(found, "cdp_accept_tests_total", outcome="failed") == 1
    assert total(found, "cdp_accept_tests_total", outcome="passed") == 2
    failed = {"nodeid": "test_planted.py::test_fails", "outcome": "failed"}
    assert total(found, "cdp_accept_tests_total", error="KeyError", **failed) == 1
    stress = {"nodeid": "test_planted.py::test_stress"}
    assert total(found, "cdp_accept_stress_runs_total", **stress) == 30
    assert total(found, "cdp_accept_stress_run_seconds_count", **stress) == 30
    assert total(found, "cdp_accept_stress_run_failures_total", error="LookupError") == 3
    assert total(found, "cdp_accept_stress_success_ratio", **stress) == pytest.approx(0.9)
    assert total(found, "cdp_accept_browsers_launched_total") >= 1

    assert not scraper.problems, scraper.problems
    seen = scraper.stress_runs
    assert seen == sorted(seen), seen  # a counter never goes back
    assert any(0 < runs < 30 for runs in seen), f"no scrape saw the stress under way: {seen}"
    assert len({runs for runs in seen if runs > 0}) >= 2, f"the counter did not grow: {seen}"
    assert max(scraper.pool_browsers) >= 1
    assert scraper.workers, "no scrape saw the pool"
    assert scraper.workers <= ({"main"} if not workers else {"gw0", "gw1"})
    with pytest.raises(ConnectionRefusedError):  # the endpoint ends with the run
        scraper.scrape()


def test_the_otlp_export_of_a_run_under_xdist(
    pytester: pytest.Pytester, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from .otlp_receiver import OtlpReceiver

    pytester.makepyfile(test_planted=PLANTED)
    receiver = OtlpReceiver()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-checks")
        result = run_pytest(pytester, "-n", "2")
    finally:
        receiver.close()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([f"*OTLP export to {receiver.url}/v1/metrics: * export(s)"])
    assert set(receiver.paths) == {"/v1/metrics"}
    assert {r["service.name"] for r in receiver.resources()} == {"shop-checks"}
    points = receiver.last_points()  # cumulative: the last export holds the run
    (navigation,) = [
        p
        for p in points
        if p.metric == "cdp_accept.navigation" and p.attributes["nodeid"].endswith("navigations")
    ]
    assert (navigation.kind, navigation.unit, navigation.count) == ("histogram", "s", 20)
    assert navigation.attributes["worker"] in {"gw0", "gw1"}
    assert navigation.attributes["isolation"] == "reset"
    assert sum(navigation.buckets) == 20
    runs = [p for p in points if p.metric == "cdp_accept.stress.runs"]
    assert sum(p.value for p in runs) == 30
    failures = [p for p in points if p.metric == "cdp_accept.stress.run.failures"]
    assert [(p.attributes["error"], p.value) for p in failures] == [("LookupError", 3.0)]


CHECK_OFF = """
import json, os, sys
import psutil

def pytest_sessionfinish(session):
    listening = [
        c.laddr.port
        for c in psutil.Process().net_connections("inet")
        if c.status == psutil.CONN_LISTEN
    ]
    loaded = sorted(
        name for name in sys.modules
        if name.split(".")[0] in ("prometheus_client", "opentelemetry")
        or name in ("pytest_cdp_accept.run.live", "http.server")
    )
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"off-{worker}.json", "w") as out:
        json.dump({"listening": listening, "loaded": loaded}, out)
"""


@pytest.mark.parametrize("workers", [None, "2"], ids=["one-process", "xdist"])
def test_off_by_default_no_port_and_no_exporter(
    pytester: pytest.Pytester,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: str | None,
) -> None:
    for variable in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)
    pytester.makeconftest(CHECK_OFF)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_stress(runs=4, concurrency=2)
        def test_stress(cdp_page):
            cdp_page.evaluate("1")

        def test_plain(cdp_page):
            cdp_page.evaluate("1")
        """
    )
    result = run_pytest(pytester, *(("-n", workers) if workers else ()))
    result.assert_outcomes(passed=2)
    reports = {p.name: json.loads(p.read_text()) for p in pytester.path.glob("off-*.json")}
    expected = {"off-main.json"} | ({"off-gw0.json", "off-gw1.json"} if workers else set())
    assert set(reports) == expected
    for name, report in reports.items():
        assert report == {"listening": [], "loaded": []}, name


@pytest.mark.parametrize(
    ("blocked", "option", "says"),
    [
        ("prometheus_client", "--cdp-openmetrics=run.om", "*[[]openmetrics[]]*"),
        ("opentelemetry", "--cdp-otlp-endpoint=http://127.0.0.1:9", "*[[]otel[]]*"),
    ],
)
def test_a_missing_extra_stops_the_run_with_the_install_line(
    pytester: pytest.Pytester, blocked: str, option: str, says: str
) -> None:
    pytester.makeconftest(f"import sys\nsys.modules[{blocked!r}] = None  # not importable\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = run_pytest(pytester, option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *pip install 'pytest-cdp-accept{says}'"])
