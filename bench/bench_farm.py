"""Benchmarks on a real browserless (tests/farm_support.py): the farm against a local launch.

    python bench/bench_farm.py [--quick] [--only nav,stress] [--json PATH]

Items (``--only`` names):

* nav: a 20-test suite, one ``goto`` of the built-in site per test, run by pytest in a
  subprocess: local launch, ``--cdp-farm`` with our launch switches (the default) and
  with the farm's own (``--cdp-farm-switches off``), interleaved over rounds. Reported:
  pytest's wall time and the navigation median of each run; ratios of medians against
  the local launch (target: farm <= 1.5x).
* stress: ``cdp_stress(runs=N, concurrency=8)`` on a farm of 4 sessions with
  ``--cdp-pool-size 1`` and ``4``, interleaved; navigations per second over the stress
  body (first to last ``stress.navigation`` sample), and the CPU the whole machine spent
  meanwhile (on 2 cores the browsers are CPU-bound: more sessions cannot go faster
  than the cores allow).

Every pytest run writes ``--cdp-json`` into a scratch dir; figures come from there.
The farm is started once per item and stopped by PID at the end (SIGTERM, then
whatever it left is killed). Preliminary on a shared machine: run it under the
bench lock and read ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.farm_support import BrowserlessFarm, setup  # noqa: E402

NAV_SUITE = textwrap.dedent(
    """
    import pytest


    @pytest.mark.parametrize("i", range(20))
    def test_nav(cdp_page, cdp_site, i):
        assert cdp_page.goto(cdp_site.url("/")).status == 200
    """
)
STRESS_SUITE = textwrap.dedent(
    """
    import pytest


    @pytest.mark.cdp_stress(runs={runs}, concurrency=8, success=">=95%")
    def test_stress(cdp_page, cdp_site):
        assert cdp_page.goto(cdp_site.url("/")).status == 200
    """
)


@dataclass
class Run:
    wall_s: float
    data: dict[str, Any]
    cpu_s: float = 0.0

    def samples(self, metric: str) -> list[dict[str, Any]]:
        return [s for s in self.data.get("samples", []) if s["metric"] == metric]

    def median(self, metric: str) -> float:
        values = [s["value"] for s in self.samples(metric)]
        return statistics.median(values) if values else float("nan")


@dataclass
class Series:
    label: str
    runs: list[Run] = field(default_factory=list)

    def med(self, fn: Any) -> float:
        values = [fn(r) for r in self.runs]
        return statistics.median(values) if values else float("nan")


def pytest_run(folder: Path, test_file: str, args: list[str], out: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        test_file,
        "--cdp-json",
        str(out),
        *args,
    ]
    cpu_before = psutil.cpu_times()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    cpu_after = psutil.cpu_times()
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise SystemExit(f"pytest failed ({done.returncode}): {' '.join(args)}\n{tail}")
    busy = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return Run(wall, json.loads(out.read_text()), busy)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def item_nav(rounds: int, scratch: Path) -> dict[str, Any]:
    (scratch / "test_nav20.py").write_text(NAV_SUITE)
    found = setup()
    if isinstance(found, str):
        raise SystemExit(found)
    series = {
        "local": Series("local launch"),
        "farm": Series("--cdp-farm (our switches)"),
        "farm_own": Series("--cdp-farm-switches off"),
    }
    with BrowserlessFarm(found, concurrent=4, queued=4, timeout_ms=600_000) as farm:
        args = {
            "local": [],
            "farm": ["--cdp-farm", farm.ws_url],
            "farm_own": ["--cdp-farm", farm.ws_url, "--cdp-farm-switches", "off"],
        }
        order = list(series)
        for index in range(rounds + 1):  # round 0 warms up and is dropped
            for key in order[index % 3 :] + order[: index % 3]:
                run = pytest_run(scratch, "test_nav20.py", args[key], scratch / f"{key}.json")
                if index:
                    series[key].runs.append(run)
    local = series["local"]
    print(f"\nnav: 20 tests x 1 goto, {rounds} rounds (medians)")
    print(f"  {'':28} {'wall s':>8} {'nav ms':>8} {'wall ratio':>11} {'nav ratio':>10}")
    result: dict[str, Any] = {}
    for key, s in series.items():
        wall = s.med(lambda r: r.wall_s)
        nav = s.med(lambda r: r.median("navigation"))
        print(
            f"  {s.label:28} {wall:8.2f} {nav:8.1f} "
            f"{ratio(wall, local.med(lambda r: r.wall_s)):>11} "
            f"{ratio(nav, local.med(lambda r: r.median('navigation'))):>10}"
        )
        result[key] = {"wall_s": wall, "navigation_ms": nav, "walls": [r.wall_s for r in s.runs]}
    return result


def item_stress(rounds: int, runs: int, scratch: Path) -> dict[str, Any]:
    (scratch / "test_stress.py").write_text(STRESS_SUITE.format(runs=runs))
    found = setup()
    if isinstance(found, str):
        raise SystemExit(found)
    series = {"pool1": Series("pool 1"), "pool4": Series("pool 4")}
    with BrowserlessFarm(found, concurrent=4, queued=4, timeout_ms=600_000) as farm:
        for index in range(rounds + 1):
            order = ["pool1", "pool4"] if index % 2 else ["pool4", "pool1"]
            for key in order:
                size = "1" if key == "pool1" else "4"
                args = ["--cdp-farm", farm.ws_url, "--cdp-pool-size", size]
                run = pytest_run(scratch, "test_stress.py", args, scratch / f"{key}.json")
                if index:
                    series[key].runs.append(run)

    def rate(run: Run) -> float:
        times = [s["time"] for s in run.samples("stress.navigation")]
        return (len(times) - 1) / (max(times) - min(times)) if len(times) > 1 else float("nan")

    print(f"\nstress: {runs} runs at concurrency 8 on a farm of 4 sessions, {rounds} rounds")
    result: dict[str, Any] = {}
    for key, s in series.items():
        per_s = s.med(rate)
        cpu = s.med(lambda r: r.cpu_s / r.wall_s)
        print(f"  {s.label:10} {per_s:6.1f} navigations/s   machine CPU {cpu:.2f} cores busy")
        result[key] = {"navigations_per_s": per_s, "cores_busy": cpu}
    p1, p4 = result["pool1"]["navigations_per_s"], result["pool4"]["navigations_per_s"]
    print(f"  pool 4 / pool 1: {ratio(p4, p1)} on {psutil.cpu_count()} cores")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="nav,stress")
    parser.add_argument("--json", type=Path)
    cfg = parser.parse_args()
    only = set(cfg.only.split(","))
    rounds = 2 if cfg.quick else 5
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-farm-") as tmp:
        scratch = Path(tmp)
        if "nav" in only:
            results["nav"] = item_nav(rounds, scratch)
        if "stress" in only:
            results["stress"] = item_stress(rounds, 100 if cfg.quick else 300, scratch)
    if cfg.json:
        cfg.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
