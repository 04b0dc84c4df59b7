"""What monitoring costs: a scrape of /metrics by the size of the run, and a suite run
with every monitoring output on against the same suite with none, side by side.

    flock /work/coord/bench.lock python bench/bench_monitoring.py [--rounds N]

Part 1 (no browser) builds the live view of a suite of T tests that each record 25
navigations, a memory figure and a stress of 30 runs, and times one scrape (the
families built and rendered as OpenMetrics, as /metrics does). Part 2 runs a
planted suite (20 navigations, a stress of 30 runs) under pytest, off and on
(``--cdp-openmetrics``, ``--cdp-metrics-port`` scraped every 0.5 s by this process),
interleaved, and prints the wall-time ratio on/off. It gates nothing; it prints.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pytest_cdp_accept.gate.monitoring import Aggregates, counter_key, families
from pytest_cdp_accept.gate.openmetrics import render
from pytest_cdp_accept.gate.report import SampleRecord

SUITE = """
import pytest

def test_navigations(cdp_page, cdp_site):
    for _ in range(20):
        cdp_page.goto(cdp_site.url("/"))

@pytest.mark.cdp_stress(runs=30, concurrency=2)
def test_stress(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/"))
"""


def scrape_cost(tests: int) -> tuple[float, int, int]:
    """(median ms of one scrape, series, bytes) for a live view of ``tests`` tests."""
    aggregates = Aggregates()
    counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for t in range(tests):
        nodeid = f"tests/test_shop.py::test_{t}"
        samples = [SampleRecord("navigation", 40.0 + i * 7, nodeid, "gw0", 0.0) for i in range(25)]
        samples += [SampleRecord("stress.run", 90.0 + i, nodeid, "gw0", 0.0) for i in range(30)]
        samples.append(SampleRecord("memory.idle", 80.0, nodeid, "gw0", 0.0))
        aggregates.add(samples)
        counters[counter_key("cdp_accept_stress_runs", nodeid=nodeid, worker="gw0")] = 30.0
    tests_labels = {f"tests/test_shop.py::test_{t}": {"isolation": "reset"} for t in range(tests)}
    times, body = [], b""
    for _ in range(15):
        start = time.perf_counter()
        body = render(families(aggregates, tests_labels, counters))
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), len(aggregates.series) + len(counters), len(body)


def scraping(port: int, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/metrics")
            connection.getresponse().read()
            connection.close()
        except OSError:
            pass


def suite_run(folder: Path, on: bool, port: int) -> float:
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    args += ["-p", "no:playwright", "-p", "no:base_url"]
    if on:
        args += ["--cdp-openmetrics=run.om", f"--cdp-metrics-port={port}"]
    stop = threading.Event()
    scraper = threading.Thread(target=scraping, args=(port, stop), daemon=True)
    if on:
        scraper.start()
    start = time.perf_counter()
    subprocess.run(args, cwd=folder, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    stop.set()
    if on:
        scraper.join(5)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    rounds = parser.parse_args().rounds
    print("part 1: one scrape of the live view (median of 15)")
    for tests in (10, 100, 1000):
        ms, series, size = scrape_cost(tests)
        print(f"  {tests:5d} tests: {series:6d} series, {size / 1024:8.0f} KiB, {ms:8.1f} ms")
    print(f"part 2: the planted suite, off and on, {rounds} interleaved rounds")
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as folder:
        Path(folder, "test_suite.py").write_text(SUITE)
        off, on = [], []
        for index in range(rounds):  # alternate which goes first
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            first, second = (False, True) if index % 2 == 0 else (True, False)
            for flag in (first, second):
                (on if flag else off).append(suite_run(Path(folder), flag, port))
        print(f"  off: median {statistics.median(off):.2f} s  {[round(t, 2) for t in off]}")
        print(f"  on:  median {statistics.median(on):.2f} s  {[round(t, 2) for t in on]}")
        print(f"  on/off: {statistics.median(on) / statistics.median(off):.3f}")


if __name__ == "__main__":
    main()
