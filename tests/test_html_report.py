"""The HTML report: its structure from report dicts, then how the real Chromium draws it."""

from __future__ import annotations

import random
from typing import Any

from pytest_cdp_accept.report import SCHEMA
from pytest_cdp_accept.thresholds import compute_stat

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
        samples.append(sample("checkout", rng.lognormvariate(4, 1.1), "tests/t.py::test_nav", i * 0.05))
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
                "stat": "rate",
                "baseline": 1.0,
                "current": 0.88,
                "change_pct": -12.0,
                "limit": None,
                "regressed": False,
            },
        ],
    }
