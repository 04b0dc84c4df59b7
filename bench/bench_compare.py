"""Comparing runs and keeping evidence, through real pytest runs of one suite.

    flock /work/coord/bench.lock python bench/bench_compare.py [--repetitions N]
        [--planted N] [--evidence-rounds N] [--only compare,planted,evidence]

The suite: TESTS tests, each navigating a pooled page to the built-in site's
``/slow?ms=D`` once under ``cdp_latency(navigation="p95<10s")`` (so every test is
recorded when evidence is on). Each run is ``python -m pytest`` in a scratch folder
with ``--cdp-json``; runs are compared with ``cdp-accept compare``'s code
(:func:`pytest_cdp_accept.gate.baseline.compare`) at alpha 0.01.

- ``compare``: N independent pairs of runs of the same suite (D = 0): how many pairs
  give *no change* on every metric (target: 19 of 20), and what the others said.
- ``planted``: N pairs with D = 0 then D = 40: the navigation verdict, whether the
  95 % interval covers +40 ms, and whether ``navigation.p50:20ms`` fails.
- ``evidence``: the same suite (50 tests) with ``--cdp-evidence off`` and
  ``on-failure``, alternating; medians of the test span (first to last navigation
  sample, no launch) and of the process wall time (target: on-failure <= 1.25x).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_cdp_accept.gate.baseline import compare, parse_fail_rule

SUITE = """
import os
import pytest

DELAY = int(os.environ.get("BENCH_DELAY_MS", "0"))


@pytest.mark.cdp_latency(navigation="p95<10s")
@pytest.mark.parametrize("i", range(int(os.environ.get("BENCH_TESTS", "40"))))
def test_navigation(cdp_page, cdp_site, i):
    cdp_page.goto(cdp_site.url(f"/slow?ms={DELAY}&i={i}"))
"""
ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:playwright")


def run_suite(folder: Path, name: str, *, tests: int, delay: int, evidence: str) -> dict[str, Any]:
    """One pytest run of the suite; its JSON report, with the wall time added."""
    report = folder / f"{name}.json"
    env = {**os.environ, "BENCH_DELAY_MS": str(delay), "BENCH_TESTS": str(tests)}
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *ARGS,
            f"--cdp-json={report}",
            f"--cdp-evidence={evidence}",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"run {name} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    data: dict[str, Any] = json.loads(report.read_text())
    data["bench_wall"] = wall
    return data


def span(report: dict[str, Any]) -> float:
    times = [s["time"] for s in report["samples"] if s["metric"] == "navigation"]
    return max(times) - min(times)


def item_compare(folder: Path, repetitions: int) -> None:
    quiet = 0
    for r in range(repetitions):
        a = run_suite(folder, f"same-{r}-a", tests=40, delay=0, evidence="on-failure")
        b = run_suite(folder, f"same-{r}-b", tests=40, delay=0, evidence="on-failure")
        rows = compare(b, a, alpha=0.01).shifts
        verdicts = {row.metric: row.result.verdict for row in rows}
        alarms = {m: v for m, v in verdicts.items() if v in ("regressed", "improved")}
        quiet += not alarms
        nav = next(row for row in rows if row.metric == "navigation")
        print(f"  pair {r:2d}: {nav.line()}")
        if alarms:
            print(f"           alarm: {alarms}")
        others = {m: v for m, v in verdicts.items() if m != "navigation"}
        if others:
            print(f"           other metrics: {others}")
    print(f"  no change on every metric in {quiet} of {repetitions} pairs")


def item_planted(folder: Path, pairs: int) -> None:
    rule = parse_fail_rule("navigation.p50:20ms")
    for r in range(pairs):
        a = run_suite(folder, f"plant-{r}-a", tests=40, delay=0, evidence="on-failure")
        b = run_suite(folder, f"plant-{r}-b", tests=40, delay=40, evidence="on-failure")
        comparison = compare(b, a, [rule], alpha=0.01)
        (row,) = [row for row in comparison.shifts if row.rule is not None]
        shift = row.result.shift
        covers = shift is not None and shift.low <= 40.0 <= shift.high
        print(f"  pair {r}: {row.line()}")
        print(
            f"          interval covers +40 ms: {covers}; rule fails the run: {comparison.failed}"
        )


def item_evidence(folder: Path, rounds: int) -> None:
    spans: dict[str, list[float]] = {"off": [], "on-failure": []}
    walls: dict[str, list[float]] = {"off": [], "on-failure": []}
    for r in range(rounds):
        order = ["off", "on-failure"] if r % 2 == 0 else ["on-failure", "off"]
        for mode in order:
            report = run_suite(folder, f"ev-{r}-{mode}", tests=50, delay=0, evidence=mode)
            spans[mode].append(span(report))
            walls[mode].append(report["bench_wall"])
    for label, values in (("test span", spans), ("process wall", walls)):
        off, on = statistics.median(values["off"]), statistics.median(values["on-failure"])
        runs = " / ".join(
            " ".join(f"{t:.2f}" for t in values[mode]) for mode in ("off", "on-failure")
        )
        print(f"  {label:12s} off {off:6.2f} s  on-failure {on:6.2f} s  x{on / off:.3f}  ({runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--planted", type=int, default=3)
    parser.add_argument("--evidence-rounds", type=int, default=6)
    parser.add_argument("--only", default="compare,planted,evidence")
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        folder = Path(tmp)
        (folder / "test_suite.py").write_text(SUITE)
        if "compare" in only:
            print(f"compare: {args.repetitions} pairs of runs of the same 40-test suite")
            item_compare(folder, args.repetitions)
        if "planted" in only:
            print(f"planted: {args.planted} pairs, the second with +40 ms per navigation")
            item_planted(folder, args.planted)
        if "evidence" in only:
            print(f"evidence: 50 tests, off vs on-failure, {args.evidence_rounds} rounds each")
            item_evidence(folder, args.evidence_rounds)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
