"""Tests for the pytest-benchmark export, down to pytest-benchmark's own CLI (no browser)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept.errors import UsageError
from pytest_cdp_accept.gate.benchmark_export import (
    benchmark_stats,
    machine_id,
    next_storage_path,
    to_pytest_benchmark,
    write_pytest_benchmark,
)
from pytest_cdp_accept.gate.report import Results, SampleRecord

HAVE_PYTEST_BENCHMARK = importlib.util.find_spec("pytest_benchmark") is not None
needs_pytest_benchmark = pytest.mark.skipif(
    not HAVE_PYTEST_BENCHMARK,
    reason="pytest-benchmark is not installed (pip install pytest-benchmark)",
)

STATS_KEYS = {
    "min",
    "max",
    "mean",
    "stddev",
    "rounds",
    "median",
    "iqr",
    "q1",
    "q3",
    "iqr_outliers",
    "stddev_outliers",
    "outliers",
    "ld15iqr",
    "hd15iqr",
    "ops",
    "total",
    "data",
    "iterations",
}
CREATED = 1_714_557_603.5


def make_report(samples: Iterable[tuple[str, str, float]], **extra: Any) -> dict[str, Any]:
    """A real report (Results.to_json) from ``(test, metric, value)`` triples."""
    results = Results()
    results.samples = [
        SampleRecord(metric, float(value), test, "gw0" if i % 2 else "main", CREATED + i)
        for i, (test, metric, value) in enumerate(samples)
    ]
    report = results.to_json(extra)
    report["created"] = CREATED
    return report


def spread(center: float, n: int, seed: int = 0) -> list[float]:
    """``n`` deterministic, irregular values around ``center``."""
    return [center * (0.8 + 0.4 * ((i * 7919 + seed * 104729) % 97) / 96) for i in range(n)]


def synthetic(scale: float = 1.0) -> dict[str, Any]:
    samples: list[tuple[str, str, float]] = []
    for test in ("tests/test_shop.py::test_home", "tests/test_shop.py::test_cart[mobile]"):
        for metric, center in (("navigation", 300.0), ("command", 12.0), ("checkout.flow", 900.0)):
            samples += [(test, metric, v * scale) for v in spread(center, 25, len(samples))]
        samples += [(test, "memory.idle", 150.0), (test, "stress.success", 1.0)]
    samples += [("tests/test_shop.py::TestApi::test_ping", "navigation", 50.0 * scale)]
    return make_report(samples, browser_version="Chromium 126.0.6478.0")


def by_fullname(run: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {bench["fullname"]: bench for bench in run["benchmarks"]}


# --------------------------------------------------------------------------- structure


def test_top_level_structure() -> None:
    run = to_pytest_benchmark(synthetic(), commit_info={"id": "abc", "dirty": False})
    assert set(run) == {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    assert run["commit_info"] == {"id": "abc", "dirty": False}
    assert datetime.fromisoformat(run["datetime"]).timestamp() == CREATED
    assert run["datetime"].endswith("+00:00")
    assert isinstance(run["version"], str)
    assert run["version"]
    info = run["machine_info"]
    assert set(info) >= {
        "node",
        "processor",
        "machine",
        "python_compiler",
        "python_implementation",
        "python_implementation_version",
        "python_version",
        "python_build",
        "release",
        "system",
        "cpu",
    }
    assert info["cpu"]["count"] == os.cpu_count()
    assert info["browser_version"] == "Chromium 126.0.6478.0"
    json.dumps(run, allow_nan=False)


def test_one_benchmark_per_test_and_latency_metric() -> None:
    report = synthetic()
    benches = by_fullname(to_pytest_benchmark(report, commit_info={}))

    assert sorted(benches) == [
        "tests/test_shop.py::TestApi::test_ping[navigation]",
        "tests/test_shop.py::test_cart[mobile-checkout.flow]",
        "tests/test_shop.py::test_cart[mobile-command]",
        "tests/test_shop.py::test_cart[mobile-navigation]",
        "tests/test_shop.py::test_home[checkout.flow]",
        "tests/test_shop.py::test_home[command]",
        "tests/test_shop.py::test_home[navigation]",
    ]  # memory.idle and stress.success are not durations
    home = benches["tests/test_shop.py::test_home[navigation]"]
    assert home["name"] == "test_home[navigation]"
    assert home["group"] == "navigation"
    assert home["param"] == "navigation"
    assert home["params"] == {"metric": "navigation"}
    assert home["extra_info"]["metric"] == "navigation"
    assert home["extra_info"]["test"] == "tests/test_shop.py::test_home"
    assert home["extra_info"]["workers"] == ["gw0", "main"]
    assert set(home["options"]) >= {"disable_gc", "timer", "min_rounds", "max_time", "min_time"}
    cart = benches["tests/test_shop.py::test_cart[mobile-command]"]
    assert cart["name"] == "test_cart[mobile-command]"
    assert cart["param"] == "mobile-command"
    assert cart["group"] == "command"
    assert benches["tests/test_shop.py::TestApi::test_ping[navigation]"]["name"] == (
        "test_ping[navigation]"
    )


def test_stats_are_seconds_with_the_raw_samples() -> None:
    report = synthetic()
    bench = by_fullname(to_pytest_benchmark(report, commit_info={}))[
        "tests/test_shop.py::test_home[navigation]"
    ]
    stats = bench["stats"]
    assert set(stats) == STATS_KEYS
    milliseconds = [
        s["value"]
        for s in report["samples"]
        if s["test"] == "tests/test_shop.py::test_home" and s["metric"] == "navigation"
    ]
    assert stats["data"] == pytest.approx([v / 1000 for v in milliseconds])
    assert stats["rounds"] == len(milliseconds) == 25
    assert stats["iterations"] == 1
    assert stats["min"] == pytest.approx(min(milliseconds) / 1000)
    assert stats["max"] == pytest.approx(max(milliseconds) / 1000)
    assert stats["total"] == pytest.approx(sum(milliseconds) / 1000)
    assert stats["ops"] == pytest.approx(25 / stats["total"])
    assert 0.2 < stats["median"] < 0.4


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21, 22, 23])
@needs_pytest_benchmark
def test_stats_match_pytest_benchmark(n: int) -> None:
    from pytest_benchmark.stats import Stats

    data = [v / 1000 for v in spread(200.0, n, n)]
    data[-1] *= 5  # an outlier
    theirs = Stats()
    for value in data:
        theirs.update(value)
    ours = benchmark_stats(data)
    for key, value in theirs.as_dict().items():
        if isinstance(value, float):
            assert ours[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
        else:
            assert ours[key] == value, key


def test_stats_need_samples() -> None:
    with pytest.raises(UsageError, match="at least one sample"):
        benchmark_stats([])


def test_bad_samples_are_skipped() -> None:
    report = make_report([("t.py::test_a", "navigation", 100.0)])
    report["samples"] += [
        {"metric": "navigation", "value": math.nan, "test": "t.py::test_a", "worker": "main"},
        {"metric": "navigation", "value": math.inf, "test": "t.py::test_a", "worker": "main"},
        {"metric": "navigation", "value": True, "test": "t.py::test_a", "worker": "main"},
        {"metric": "navigation", "value": "fast", "test": "t.py::test_a", "worker": "main"},
        {"metric": 3, "value": 1.0, "test": "t.py::test_a", "worker": "main"},
        "junk",
    ]
    [bench] = to_pytest_benchmark(report, commit_info={})["benchmarks"]
    assert bench["stats"]["data"] == [0.1]


def test_session_level_samples_get_a_name() -> None:
    [bench] = to_pytest_benchmark(make_report([("", "startup", 800.0)]), commit_info={})[
        "benchmarks"
    ]
    assert (bench["name"], bench["fullname"], bench["group"]) == (
        "session[startup]",
        "session[startup]",
        "startup",
    )


def test_no_latency_samples_gives_no_benchmarks() -> None:
    report = make_report([("t.py::test_a", "memory.idle", 100.0)])
    assert to_pytest_benchmark(report, commit_info={})["benchmarks"] == []
    assert to_pytest_benchmark({"schema": "x"}, commit_info={})["benchmarks"] == []
    with pytest.raises(UsageError, match="'samples' must be a list"):
        to_pytest_benchmark({"samples": "x"}, commit_info={})


def test_commit_info_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    project = tmp_path / "shop"
    project.mkdir()
    info = to_pytest_benchmark(synthetic(), cwd=project)["commit_info"]
    assert info == {
        "id": "unversioned",
        "time": None,
        "author_time": None,
        "dirty": False,
        "project": "shop",
        "branch": "(unknown)",
    }


# --------------------------------------------------------------------------- files


def test_write_creates_folders(tmp_path: Path) -> None:
    path = write_pytest_benchmark(synthetic(), tmp_path / "a" / "b" / "run.json", commit_info={})
    assert path == tmp_path / "a" / "b" / "run.json"
    assert json.loads(path.read_text()) == to_pytest_benchmark(synthetic(), commit_info={})


def test_next_storage_path(tmp_path: Path) -> None:
    first = next_storage_path(tmp_path, "base")
    assert first == tmp_path / machine_id() / "0001_base.json"
    first.parent.mkdir(parents=True)
    first.write_text("{}")
    (first.parent / "0007_other.json").write_text("{}")
    (first.parent / "notes.json").write_text("{}")
    assert next_storage_path(tmp_path, "new").name == "0008_new.json"
    with pytest.raises(UsageError, match="bad benchmark run name"):
        next_storage_path(tmp_path, "a/b")


@needs_pytest_benchmark
def test_machine_id_matches_pytest_benchmark() -> None:
    from pytest_benchmark.utils import get_machine_id

    assert machine_id() == get_machine_id()


# --------------------------------------------------------------------------- the real CLI


def pytest_benchmark_command() -> list[str]:
    """pytest-benchmark's console script next to this interpreter, else ``-m pytest_benchmark``."""
    bindir = Path(sys.executable).parent
    for name in ("pytest-benchmark", "py.test-benchmark"):
        script = bindir / name
        if script.is_file() and os.access(script, os.X_OK):
            return [str(script)]
    return [sys.executable, "-m", "pytest_benchmark"]


def run_cli(storage: Path, args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*pytest_benchmark_command(), "--storage", f"file://{storage}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    """A --benchmark-storage folder holding two exported runs: 0001_base and 0002_slower."""
    folder = tmp_path / "benchmarks"
    write_pytest_benchmark(synthetic(), next_storage_path(folder, "base"), cwd=tmp_path)
    write_pytest_benchmark(synthetic(1.5), next_storage_path(folder, "slower"), cwd=tmp_path)
    assert sorted(p.name for p in (folder / machine_id()).iterdir()) == [
        "0001_base.json",
        "0002_slower.json",
    ]
    return folder


@needs_pytest_benchmark
def test_pytest_benchmark_compare_reads_the_export(storage: Path, tmp_path: Path) -> None:
    done = run_cli(storage, ["compare", "0001", "0002"], cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Failed to load" not in output
    for group in ("navigation", "command", "checkout.flow"):
        assert f"benchmark '{group}'" in output
    for name in ("test_home[navigation]", "test_cart[mobile-command]", "test_ping[navigation]"):
        assert f"{name} (0001_base)" in output
        assert f"{name} (0002_slower)" in output
    assert "memory.idle" not in output
    assert "stress.success" not in output
    assert "time in ms" in output  # seconds in the file, scaled back by pytest-benchmark

    listed = run_cli(storage, ["list"], cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "0001_base.json" in listed.stdout
    assert "0002_slower.json" in listed.stdout


@needs_pytest_benchmark
def test_pytest_benchmark_histogram(storage: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("pygal") is None:
        pytest.skip(
            "pygal is not installed: pytest-benchmark draws histograms with it "
            "(pip install 'pytest-benchmark[histogram]')"
        )
    prefix = tmp_path / "hist" / "shop"
    done = run_cli(storage, ["compare", "0001", "0002", "--histogram", str(prefix)], cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    svgs = sorted(p.name for p in prefix.parent.glob("*.svg"))
    assert svgs == ["shop-checkout.flow.svg", "shop-command.svg", "shop-navigation.svg"]
    text = (prefix.parent / "shop-navigation.svg").read_text()
    assert "<svg" in text
    assert "test_home[navigation]" in text
