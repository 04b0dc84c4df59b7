"""Latency samples as a pytest-benchmark saved run.

:func:`to_pytest_benchmark` turns a run report (:meth:`Results.to_json
<pytest_cdp_accept.report.Results.to_json>`) into the JSON pytest-benchmark
saves with ``--benchmark-save`` / ``--benchmark-json``, so its tooling works
on our latency metrics::

    pytest-benchmark --storage file://.benchmarks compare 0001 0002
    pytest-benchmark --storage file://.benchmarks compare 0001 0002 --histogram hist

Each (test, latency metric) pair becomes one benchmark: ``name`` is the test
function with the metric as parameter (``test_checkout[navigation]``, or
``test_checkout[mobile-navigation]`` for a parametrized test), ``group`` the
metric, and its ``stats`` are computed the way pytest-benchmark computes them
(same quartile method, same outlier rules), in seconds, pytest-benchmark's
unit (our samples are milliseconds). ``stats["data"]`` holds the raw samples
so histograms work. Memory, rate, count and growth metrics are left out: they
are not durations.

When the run was compared with a baseline (``--cdp-compare``), each benchmark's
``extra_info["baseline_comparison"]`` holds its metric's distribution rows:
shift, 95 % interval and medians (ms), p, the verdict and the rule judged.

pytest-benchmark itself is not needed to produce the file.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..metrics import kind_of
from .baseline import git_state

__all__ = [
    "SOURCE",
    "benchmark_stats",
    "machine_id",
    "next_storage_path",
    "to_pytest_benchmark",
    "write_pytest_benchmark",
]

SOURCE = "pytest-cdp-accept"
_FALLBACK_VERSION = "4.0.0"
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_RUN_RE = re.compile(r"(\d{4})_.*\.json")


# -- statistics, as pytest_benchmark.stats.Stats computes them ---------------------------


def _quartiles(data: Sequence[float]) -> tuple[float, float]:
    """Q1 and Q3 of sorted ``data`` by pytest-benchmark's method (Wikipedia methods 2 and 3).

    Not :func:`~pytest_cdp_accept.gate.thresholds.percentile` (type 7, the one method of
    our own reports): ``pytest-benchmark compare`` shows the q1, q3 and iqr saved in the
    file, and its outlier counts derive from them, so they must be the ones it computes.
    """
    rounds = len(data)
    if rounds == 1:
        return data[0], data[0]
    if rounds % 2:
        n, q = rounds // 4, rounds % 4
        if q == 1:
            q1 = 0.25 * data[n - 1] + 0.75 * data[n]
            q3 = 0.75 * data[3 * n] + 0.25 * data[3 * n + 1]
        else:
            q1 = 0.75 * data[n] + 0.25 * data[n + 1]
            q3 = 0.25 * data[3 * n + 1] + 0.75 * data[3 * n + 2]
        return q1, q3
    return statistics.median(data[: rounds // 2]), statistics.median(data[rounds // 2 :])


def benchmark_stats(seconds: Sequence[float]) -> dict[str, Any]:
    """pytest-benchmark's ``stats`` object for durations in seconds (``data`` included).

    Raises :class:`UsageError` for no samples.
    """
    data = [float(x) for x in seconds]
    if not data:
        raise UsageError("benchmark_stats needs at least one sample")
    ordered = sorted(data)
    rounds = len(data)
    total = math.fsum(data)
    mean = statistics.mean(data)
    stddev = statistics.stdev(data) if rounds > 1 else 0.0
    q1, q3 = _quartiles(ordered)
    iqr = q3 - q1
    if rounds == 1:
        ld15iqr = hd15iqr = data[0]
    else:
        ld15iqr = ordered[bisect_left(ordered, q1 - 1.5 * iqr)]
        pos = bisect_right(ordered, q3 + 1.5 * iqr)
        hd15iqr = ordered[-1] if pos == rounds else ordered[pos]
    iqr_outliers = sum(1 for x in data if x < q1 - 1.5 * iqr or x > q3 + 1.5 * iqr)
    stddev_outliers = sum(1 for x in data if x < mean - stddev or x > mean + stddev)
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "stddev": stddev,
        "rounds": rounds,
        "median": statistics.median(ordered),
        "iqr": iqr,
        "q1": q1,
        "q3": q3,
        "iqr_outliers": iqr_outliers,
        "stddev_outliers": stddev_outliers,
        "outliers": f"{stddev_outliers};{iqr_outliers}",
        "ld15iqr": ld15iqr,
        "hd15iqr": hd15iqr,
        "ops": rounds / total if total else 0,
        "total": total,
        "data": data,
        "iterations": 1,
    }


# -- names ---------------------------------------------------------------------------------


def _names(test: str, metric: str) -> tuple[str, str, str]:
    """``(name, fullname, param)`` of the benchmark for ``metric`` in the test ``test``."""
    nodeid = test or "session"
    head, params = nodeid, ""
    bracket = nodeid.find("[")
    if bracket > 0 and nodeid.endswith("]"):
        head, params = nodeid[:bracket], nodeid[bracket + 1 : -1]
    param = f"{params}-{metric}" if params else metric
    func = head.rpartition("::")[2]
    return f"{func}[{param}]", f"{head}[{param}]", param


# -- machine and commit --------------------------------------------------------------------


def machine_id() -> str:
    """The folder pytest-benchmark files a machine's runs under, e.g.
    ``Linux-CPython-3.11-64bit`` (as ``pytest_benchmark.utils.get_machine_id``)."""
    return "-".join(
        (
            platform.system(),
            platform.python_implementation(),
            ".".join(platform.python_version_tuple()[:2]),
            platform.architecture()[0],
        )
    )


def _machine_info(report: Mapping[str, Any]) -> dict[str, Any]:
    machine = report.get("machine")
    cpus = machine.get("cpus") if isinstance(machine, Mapping) else None
    info: dict[str, Any] = {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "python_compiler": platform.python_compiler(),
        "python_implementation": platform.python_implementation(),
        "python_implementation_version": platform.python_version(),
        "python_version": platform.python_version(),
        "python_build": list(platform.python_build()),
        "release": platform.release(),
        "system": platform.system(),
        "cpu": {"count": cpus if isinstance(cpus, int) else os.cpu_count()},
    }
    browser = report.get("browser_version")
    if isinstance(browser, str):
        info["browser_version"] = browser
    return info


def _commit_info(cwd: str | Path | None) -> dict[str, Any]:
    git = git_state(cwd)
    where = Path.cwd() if cwd is None else Path(cwd)
    return {
        "id": git.commit or "unversioned",
        "time": None,
        "author_time": None,
        "dirty": git.dirty,
        "project": where.resolve().name,
        "branch": git.branch or "(unknown)",
    }


def _version() -> str:
    try:
        return metadata.version("pytest-benchmark")
    except metadata.PackageNotFoundError:
        return _FALLBACK_VERSION


# -- the export ----------------------------------------------------------------------------


def to_pytest_benchmark(
    report: Mapping[str, Any],
    *,
    commit_info: Mapping[str, Any] | None = None,
    cwd: str | Path | None = None,
) -> dict[str, Any]:
    """``report`` as a pytest-benchmark saved run (see the module docstring).

    ``commit_info`` replaces the git details looked up in ``cwd`` (default:
    the current directory). A report without latency samples gives a run with
    no benchmarks.
    """
    grouped, workers = _latency_seconds(report)
    benchmarks = [
        _benchmark(test, metric, grouped[(test, metric)], workers.get((test, metric), set()))
        for test, metric in sorted(grouped, key=lambda key: (key[1], key[0]))
    ]
    shifts = _shifts_by_metric(report)
    for benchmark in benchmarks:
        found = shifts.get(benchmark["group"])
        if found:
            benchmark["extra_info"]["baseline_comparison"] = found
    created = report.get("created")
    if isinstance(created, int | float) and not isinstance(created, bool):
        when = datetime.fromtimestamp(created, timezone.utc)
    else:
        when = datetime.now(timezone.utc)
    return {
        "machine_info": _machine_info(report),
        "commit_info": dict(commit_info) if commit_info is not None else _commit_info(cwd),
        "benchmarks": benchmarks,
        "datetime": when.isoformat(),
        "version": _version(),
    }


_Key = tuple[str, str]  # (test node id, metric)

_SHIFT_FIELDS = (
    "verdict",
    "shift",
    "ci_low",
    "ci_high",
    "p",
    "alpha",
    "baseline_median",
    "current_median",
    "baseline_n",
    "current_n",
    "rule",
    "limit",
    "regressed",
)


def _shifts_by_metric(report: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The baseline comparison's distribution rows (without their samples) by metric."""
    found = report.get("baseline_comparison")
    rows = found.get("shifts") if isinstance(found, Mapping) else None
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for row in rows or ():
        if isinstance(row, Mapping) and isinstance(row.get("metric"), str):
            kept = {key: row.get(key) for key in _SHIFT_FIELDS}
            by_metric.setdefault(row["metric"], []).append(kept)
    return by_metric


def _latency_seconds(
    report: Mapping[str, Any],
) -> tuple[dict[_Key, list[float]], dict[_Key, set[str]]]:
    """The report's finite latency samples in seconds, and the xdist workers that
    recorded them, by (test, metric)."""
    samples = report.get("samples")
    if samples is None:
        samples = []
    if not isinstance(samples, list):
        raise UsageError("the report's 'samples' must be a list")
    grouped: dict[_Key, list[float]] = {}
    workers: dict[_Key, set[str]] = {}
    for sample in samples:
        if not isinstance(sample, Mapping):
            continue
        metric, value = sample.get("metric"), sample.get("value")
        if not isinstance(metric, str) or kind_of(metric) != "latency":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value):
            continue
        key = (str(sample.get("test") or ""), metric)
        grouped.setdefault(key, []).append(value / 1000.0)
        worker = sample.get("worker")
        if isinstance(worker, str):
            workers.setdefault(key, set()).add(worker)
    return grouped, workers


def _benchmark(test: str, metric: str, values: list[float], workers: set[str]) -> dict[str, Any]:
    """One benchmark entry: a (test, metric) pair's samples in seconds."""
    name, fullname, param = _names(test, metric)
    return {
        "group": metric,
        "name": name,
        "fullname": fullname,
        "params": {"metric": metric},
        "param": param,
        "extra_info": {
            "source": SOURCE,
            "metric": metric,
            "test": test,
            "recorded_unit": "ms",
            "workers": sorted(workers),
        },
        "options": {
            "disable_gc": False,
            "timer": SOURCE,
            "min_rounds": len(values),
            "max_time": 0.0,
            "min_time": 0.0,
            "warmup": False,
        },
        "stats": benchmark_stats(values),
    }


def write_pytest_benchmark(
    report: Mapping[str, Any],
    path: str | Path,
    *,
    commit_info: Mapping[str, Any] | None = None,
    cwd: str | Path | None = None,
) -> Path:
    """Write :func:`to_pytest_benchmark` of ``report`` to ``path`` (folders created)."""
    target = Path(path)
    data = to_pytest_benchmark(report, commit_info=commit_info, cwd=cwd)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=4, allow_nan=False) + "\n", encoding="utf-8")
    return target


def next_storage_path(storage: str | Path, name: str) -> Path:
    """Where pytest-benchmark's file storage would save the next run called ``name``:
    ``<storage>/<machine id>/<NNNN>_<name>.json``, numbered after the runs already there."""
    if not _NAME_RE.fullmatch(name):
        raise UsageError(
            f"bad benchmark run name {name!r}: use only letters, digits, '.', '_' and '-'"
        )
    folder = Path(storage) / machine_id()
    numbers = [0]
    if folder.is_dir():
        for file in folder.iterdir():
            match = _RUN_RE.fullmatch(file.name)
            if match:
                numbers.append(int(match.group(1)))
    return folder / f"{max(numbers) + 1:04d}_{name}.json"
