"""Tests for baselines: the store, git capture, fail rules and comparisons (no browser)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept.errors import UsageError
from pytest_cdp_accept.gate.baseline import (
    BASELINE_SCHEMA,
    BaselineStore,
    Comparison,
    FailRule,
    Row,
    compare,
    git_state,
    machine_fingerprint,
    missing_baseline_message,
    parse_fail_rule,
    parse_fail_rules,
)
from pytest_cdp_accept.gate.report import Results, SampleRecord

# --------------------------------------------------------------------------- helpers


def make_report(
    metrics: Mapping[str, Iterable[float]],
    *,
    extra: Mapping[str, Any] | None = None,
    test: str = "t.py::test_x",
) -> dict[str, Any]:
    """A real report (Results.to_json) with the given samples per metric."""
    results = Results()
    results.samples = [
        SampleRecord(metric, float(value), test, "main", 1_700_000_000.0 + i)
        for metric, values in metrics.items()
        for i, value in enumerate(values)
    ]
    results.count("browsers_launched", 1)
    return results.to_json(extra)


def latencies(center: float, n: int = 20) -> list[float]:
    """``n`` samples spread evenly around ``center`` (+-10 %)."""
    return [center * (0.9 + 0.2 * i / (n - 1)) for i in range(n)]


def scaled(values: Iterable[float], factor: float) -> list[float]:
    return [v * factor for v in values]


def baseline_of(report: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A baseline dict as BaselineStore.load returns it, without touching disk."""
    data: dict[str, Any] = {
        "schema": BASELINE_SCHEMA,
        "name": "main",
        "created": 1_700_000_000.0,
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "dirty": False,
        "machine": machine_fingerprint(),
        "metrics": report["metrics"],
        "counters": report["counters"],
    }
    data.update(changes)
    return data


def rows_of(comparison: Comparison, metric: str) -> dict[str, Row]:
    return {row.stat: row for row in comparison.rows if row.metric == metric and row.limit is None}


def ruled(comparison: Comparison) -> list[Row]:
    return [row for row in comparison.rows if row.limit is not None]


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.strip()


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder git will not look above (even if /tmp sits inside a checkout)."""
    folder = tmp_path / "plain"
    folder.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return folder


@pytest.fixture
def store(tmp_path: Path, outside_git: Path, monkeypatch: pytest.MonkeyPatch) -> BaselineStore:
    monkeypatch.chdir(outside_git)
    return BaselineStore(tmp_path / ".cdp-accept" / "baselines")


# --------------------------------------------------------------------------- the store


def test_save_writes_the_figures_and_the_machine(store: BaselineStore) -> None:
    report = make_report(
        {"navigation": latencies(300), "memory.idle": [120.0, 130.0]},
        extra={"browser_version": "Chromium 126.0.6478.0"},
    )
    path = store.save("main", report)

    assert path == store.root / "main.json"
    data = json.loads(path.read_text())
    assert data["schema"] == BASELINE_SCHEMA
    assert data["name"] == "main"
    assert data["metrics"] == report["metrics"]
    assert data["counters"] == {"browsers_launched": 1}
    assert data["created"] == report["created"]
    assert data["commit"] is None
    assert data["dirty"] is False
    machine = data["machine"]
    assert set(machine) >= {"node", "machine", "system", "cpus", "memory_mb", "python", "browser"}
    assert machine["browser"] == "Chromium 126.0.6478.0"
    assert machine["cpus"] == os.cpu_count()
    assert machine["memory_mb"] > 0
    assert data["samples"] == {"navigation": latencies(300), "memory.idle": [120.0, 130.0]}
    assert "verdicts" not in data


def test_round_trip(store: BaselineStore) -> None:
    report = make_report({"navigation": latencies(300), "stress.success": [1, 1, 0, 1]})
    store.save("main", report)

    loaded = store.load("main")
    assert loaded["name"] == "main"
    assert loaded["metrics"] == report["metrics"]
    assert loaded["machine"] == machine_fingerprint()
    assert store.find("main") == loaded

    comparison = compare(report, loaded)
    assert not comparison.failed
    assert not comparison.other_machine
    assert comparison.machine_diff == []
    assert all(row.change_pct == 0 for row in comparison.rows)
    assert comparison.added == comparison.removed == []


def test_no_browser_version_is_none(store: BaselineStore) -> None:
    store.save("main", make_report({"navigation": [1.0]}))
    assert store.load("main")["machine"]["browser"] is None


def test_saving_again_replaces_and_leaves_no_temp_files(store: BaselineStore) -> None:
    store.save("main", make_report({"navigation": [100.0]}))
    store.save("main", make_report({"navigation": [200.0]}))
    assert store.load("main")["metrics"]["navigation"]["max"] == 200.0
    assert sorted(p.name for p in store.root.iterdir()) == ["main.json"]


def test_names_find_and_missing(store: BaselineStore) -> None:
    assert store.names() == []  # the folder does not even exist yet
    assert store.find("main") is None
    assert store.find("latest") is None
    for name in ("release-1.2", "main", "pr_17"):
        store.save(name, make_report({"navigation": [1.0]}))
    (store.root / "notes.txt").write_text("not a baseline")
    assert store.names() == ["main", "pr_17", "release-1.2"]
    assert store.find("nope") is None

    with pytest.raises(UsageError, match=r"no baseline 'nope' in .* \(saved: main, pr_17, "):
        store.load("nope")


def test_load_latest_with_nothing_saved(store: BaselineStore) -> None:
    with pytest.raises(UsageError, match=r"no baseline saved yet .*\(saved: none yet\)"):
        store.load("latest")


def test_latest_is_the_most_recently_saved(store: BaselineStore) -> None:
    store.save("old", make_report({"navigation": [1.0]}))
    store.save("new", make_report({"navigation": [2.0]}))
    now = store.path("new").stat().st_mtime
    os.utime(store.path("old"), (now - 100, now - 100))
    assert store.latest() == "new"
    assert store.load("latest")["name"] == "new"
    assert store.load("latest")["metrics"]["navigation"]["max"] == 2.0

    os.utime(store.path("old"), (now + 100, now + 100))
    assert store.latest() == "old"
    assert store.find("latest") is not None
    assert store.load("latest")["name"] == "old"


@pytest.mark.parametrize("name", ["", "a/b", "../up", "a b", "x:y", "é", "main.json/", "a\n"])
def test_bad_names(store: BaselineStore, name: str) -> None:
    with pytest.raises(
        UsageError, match=r"use only letters A-Z a-z, digits 0-9, '\.', '_' and '-'"
    ):
        store.save(name, make_report({"navigation": [1.0]}))
    with pytest.raises(UsageError, match="bad baseline name"):
        store.find(name)
    assert not store.root.exists()


def test_latest_is_reserved(store: BaselineStore) -> None:
    with pytest.raises(UsageError, match="'latest' is reserved"):
        store.save("latest", make_report({"navigation": [1.0]}))


def test_save_needs_metrics(store: BaselineStore) -> None:
    with pytest.raises(UsageError, match="no 'metrics'"):
        store.save("main", {"schema": "x"})


def test_corrupt_files_are_usage_errors(store: BaselineStore) -> None:
    store.root.mkdir(parents=True)
    (store.root / "broken.json").write_text("{not json")
    (store.root / "other.json").write_text('{"benchmarks": []}')
    with pytest.raises(UsageError, match=r"baseline 'broken' .* is not valid JSON"):
        store.load("broken")
    with pytest.raises(UsageError, match="is not a pytest-cdp-accept baseline"):
        store.load("other")


def test_missing_baseline_message() -> None:
    assert missing_baseline_message("main", "/r/.cdp-accept/baselines/main.json") == (
        "no baseline 'main' yet: saved this run as main (/r/.cdp-accept/baselines/main.json); "
        "later runs compare against it"
    )


# --------------------------------------------------------------------------- git


@needs_git
def test_git_commit_is_captured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    git(repo, "init", "-q")
    assert git_state(repo).commit is None  # no commit yet
    (repo / "app.py").write_text("print('hi')\n")
    git(repo, "add", "app.py")
    git(repo, "commit", "-q", "-m", "first")
    head = git(repo, "rev-parse", "HEAD")

    state = git_state(repo)
    assert state.commit == head
    assert len(head) == 40
    assert state.dirty is False
    assert state.branch == "main"

    # Untracked output (reports, baselines) does not make the checkout dirty ...
    (repo / "report.json").write_text("{}")
    assert git_state(repo).dirty is False
    # ... a change to a tracked file does.
    (repo / "app.py").write_text("print('bye')\n")
    assert git_state(repo).dirty is True

    store = BaselineStore(repo / ".cdp-accept" / "baselines")
    monkeypatch.chdir(repo)
    data = json.loads(store.save("main", make_report({"navigation": [1.0]})).read_text())
    assert data["commit"] == head
    assert data["dirty"] is True

    comparison = compare(make_report({"navigation": [1.0]}), store.load("main"))
    assert comparison.baseline_commit == head
    assert f"commit {head[:12]} with uncommitted changes" in comparison.lines()[0]


@needs_git
def test_git_commit_of_an_explicit_cwd(tmp_path: Path, outside_git: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a").write_text("a")
    git(repo, "add", "a")
    git(repo, "commit", "-q", "-m", "a")
    store = BaselineStore(outside_git / "baselines")
    saved = json.loads(store.save("x", make_report({"navigation": [1.0]}), cwd=repo).read_text())
    assert saved["commit"] == git(repo, "rev-parse", "HEAD")


def test_no_commit_outside_git(outside_git: Path) -> None:
    state = git_state(outside_git)
    assert state.commit is None
    assert state.dirty is False
    assert state.branch is None


def test_no_commit_without_git(outside_git: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(outside_git))
    assert git_state(outside_git).commit is None


# --------------------------------------------------------------------------- fail rules


@pytest.mark.parametrize(
    ("text", "metric", "stat", "limit", "relative", "unit", "limit_text"),
    [
        ("navigation.p95:10%", "navigation", "p95", 10.0, True, "%", "10%"),
        ("navigation.p95:50ms", "navigation", "p95", 50.0, False, "ms", "50 ms"),
        ("navigation.p99:0.5s", "navigation", "p99", 500.0, False, "ms", "500 ms"),
        ("navigation.avg:+2.5%", "navigation", "avg", 2.5, True, "%", "2.5%"),
        ("navigation.max:0%", "navigation", "max", 0.0, True, "%", "0%"),
        ("startup.min:1 s", "startup", "min", 1000.0, False, "ms", "1000 ms"),
        ("memory.idle.value:5%", "memory.idle", "max", 5.0, True, "%", "5%"),
        ("memory.idle.med:20MB", "memory.idle", "med", 20.0, False, "MB", "20 MB"),
        ("memory.peak.max:512KB", "memory.peak", "max", 0.5, False, "MB", "0.5 MB"),
        ("memory.js_heap.max:1gb", "memory.js_heap", "max", 1024.0, False, "MB", "1024 MB"),
        ("leaks.js_heap.max:64KB/run", "leaks.js_heap", "max", 64.0, False, "KB/run", "64 KB/run"),
        ("leaks.js_heap.max:1MB/run", "leaks.js_heap", "max", 1024, False, "KB/run", "1024 KB/run"),
        ("leaks.dom_nodes.max:5/run", "leaks.dom_nodes", "max", 5.0, False, "/run", "5/run"),
        ("stress.success.rate:5%", "stress.success", "avg", 5.0, True, "%", "5%"),
        ("recovery.success.avg:10%", "recovery.success", "avg", 10.0, True, "%", "10%"),
        ("fleet.browsers.value:10%", "fleet.browsers", "max", 10.0, True, "%", "10%"),
        (" checkout.flow.P95 : 3 % ", "checkout.flow", "p95", 3.0, True, "%", "3%"),
        ("my-metric.med:.5s", "my-metric", "med", 500.0, False, "ms", "500 ms"),
    ],
)
def test_parse_fail_rule(
    text: str,
    metric: str,
    stat: str,
    limit: float,
    relative: bool,
    unit: str,
    limit_text: str,
) -> None:
    rule = parse_fail_rule(text)
    assert (rule.metric, rule.stat, rule.relative, rule.unit) == (metric, stat, relative, unit)
    assert rule.limit == pytest.approx(limit)
    assert rule.limit_text == limit_text
    assert rule.text == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("navigation.p95:10", r'"10" has no unit, which is ambiguous; write a percentage'),
        ("fleet.browsers.max:2", "ambiguous"),
        ("navigation.p95", r'no ":" between the metric and the limit'),
        ("navigation:10%", r'the stat is missing; write e\.g\. "navigation\.p95:10%"'),
        ("memory.idle:5%", r'unknown stat "idle" \("memory\.idle" is a metric: add the stat'),
        ("navigation.p90:10%", r'unknown stat "p90"; allowed: min med avg p95 p99 max'),
        ("navigation.count:10%", r'unknown stat "count"'),
        ("navigation.p95:10MB", r'unit "MB" does not fit navigation \(latency\); use a percentage'),
        ("memory.idle.max:50ms", r'unit "ms" does not fit memory\.idle \(memory\)'),
        ("stress.success.rate:0.1ms", r'unit "ms" does not fit stress\.success \(rate\)'),
        # The threshold grammar's units: a growth amount is per run, as in cdp_leaks.
        (
            "leaks.js_heap.max:1MB",
            r'unit "MB" does not fit leaks\.js_heap \(growth\); .* KB/run, MB/run or GB/run',
        ),
        ("leaks.dom_nodes.max:5KB/run", r'unit "KB/run" does not fit leaks\.dom_nodes .* /run'),
        ("navigation.p95:-5%", "is negative"),
        ("navigation.p95:fast", r'"fast" is not a number with a unit or %'),
        ("navigation.p95:", "the limit is missing"),
        (".p95:10%", r'"\.p95" does not name a metric and a stat'),
        ("a b.p95:10%", "does not name a metric"),
        ("navigation.p95:10%:x", 'more than one ":"'),
        ("", 'no ":"'),
    ],
)
def test_bad_fail_rules(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_fail_rule(text)
    assert f'bad fail rule "{text}"' in str(caught.value)
    assert '"<metric>.<stat>:<limit>"' in str(caught.value)


def test_parse_fail_rules_and_non_strings() -> None:
    assert [r.stat for r in parse_fail_rules(["navigation.p95:10%", "navigation.max:1s"])] == [
        "p95",
        "max",
    ]
    with pytest.raises(UsageError, match="expected a string"):
        parse_fail_rule(10)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "baseline", "current", "exceeded"),
    [
        ("navigation.p95:10%", 100.0, 109.0, False),
        ("navigation.p95:10%", 100.0, 110.0, False),  # the limit itself is allowed
        ("navigation.p95:10%", 100.0, 110.1, True),
        ("navigation.p95:10%", 0.3, 0.33, False),  # no float noise at the boundary
        ("navigation.p95:10%", 100.0, 50.0, False),  # faster is never a regression
        ("navigation.p95:0%", 100.0, 100.0, False),
        ("navigation.p95:0%", 100.0, 100.001, True),
        ("navigation.p95:50ms", 300.0, 350.0, False),
        ("navigation.p95:50ms", 300.0, 350.5, True),
        ("leaks.js_heap.max:10%", 0.0, 0.0, False),
        ("leaks.js_heap.max:10%", 0.0, 1.0, True),  # growth from nothing
        ("stress.success.rate:5%", 1.0, 0.96, False),
        ("stress.success.rate:5%", 1.0, 0.94, True),  # a drop regresses
        ("stress.success.rate:5%", 0.5, 1.0, False),  # a rise does not
        ("fleet.browsers.max:10%", 10.0, 8.0, True),
        ("fleet.browsers.max:10%", 10.0, 20.0, False),
    ],
)
def test_rule_exceeded(rule: str, baseline: float, current: float, exceeded: bool) -> None:
    assert parse_fail_rule(rule).exceeded(baseline, current) is exceeded


# --------------------------------------------------------------------------- compare

NAV = latencies(300)


def test_twenty_times_slower_fails_a_ten_percent_rule() -> None:
    base = baseline_of(make_report({"navigation": NAV}))
    current = make_report({"navigation": scaled(NAV, 20)})
    comparison = compare(current, base, [parse_fail_rule("navigation.p95:10%")])

    assert comparison.failed
    [row] = ruled(comparison)
    assert (row.metric, row.stat, row.limit, row.regressed) == ("navigation", "p95", "10%", True)
    assert row.change_pct == pytest.approx(1900.0)
    assert comparison.regressions == [row]
    lines = comparison.lines()
    assert any(line.strip().startswith("navigation p95:") and line.endswith("✗") for line in lines)
    assert "(+1900.0 %) limit 10% ✗" in "\n".join(lines)
    assert lines[-1].strip() == "✗ 1 regression(s) beyond the --cdp-compare-fail limits"


def test_five_percent_slower_passes_a_ten_percent_rule() -> None:
    base = baseline_of(make_report({"navigation": NAV}))
    current = make_report({"navigation": scaled(NAV, 1.05)})
    comparison = compare(current, base, [parse_fail_rule("navigation.p95:10%")])

    assert not comparison.failed
    [row] = ruled(comparison)
    assert row.change_pct == pytest.approx(5.0)
    assert not row.regressed
    assert row.line().endswith("(+5.0 %) limit 10% ✓")
    assert (
        comparison.lines()[-1].strip() == "✓ no regression beyond the 1 --cdp-compare-fail limit(s)"
    )


def test_absolute_ms_limit() -> None:
    base = baseline_of(make_report({"navigation": NAV}))
    current = make_report({"navigation": [v + 40 for v in NAV]})
    rules = parse_fail_rules(["navigation.p95:50ms", "navigation.p95:30ms", "navigation.med:0.1s"])
    comparison = compare(current, base, rules)

    verdicts = {(row.stat, row.limit): row.regressed for row in ruled(comparison)}
    assert verdicts == {("p95", "50 ms"): False, ("p95", "30 ms"): True, ("med", "100 ms"): False}
    assert comparison.failed
    # One row per rule; no extra informational row for a stat that has rules.
    assert [row.stat for row in comparison.rows] == ["med", "p95", "p95", "p99", "max"]


def test_rate_drop_is_a_regression() -> None:
    base = baseline_of(make_report({"stress.success": [1] * 20, "navigation": NAV}))
    current = make_report({"stress.success": [1] * 16 + [0] * 4, "navigation": scaled(NAV, 0.5)})
    rules = parse_fail_rules(["stress.success.rate:5%", "navigation.p95:10%"])
    comparison = compare(current, base, rules)

    by_metric = {row.metric: row for row in ruled(comparison)}
    success = by_metric["stress.success"]
    assert (success.stat, success.baseline, success.current) == ("avg", 1.0, 0.8)
    assert success.change_pct == pytest.approx(-20.0)
    assert success.regressed
    assert not by_metric["navigation"].regressed  # twice as fast
    assert "stress.success rate: 100.0 % -> 80.0 % (-20.0 %) limit 5% drop ✗" in [
        line.strip() for line in comparison.lines()
    ]

    better = compare(make_report({"stress.success": [1] * 20}), baseline_of(current), rules)
    assert not better.failed


def test_memory_rule() -> None:
    base = baseline_of(make_report({"memory.idle": [200.0]}))
    current = make_report({"memory.idle": [230.0]})
    assert compare(current, base, [parse_fail_rule("memory.idle.value:10%")]).failed
    assert not compare(current, base, [parse_fail_rule("memory.idle.max:32MB")]).failed
    assert compare(current, base, [parse_fail_rule("memory.idle.max:20MB")]).failed


def test_rows_without_rules_are_informational() -> None:
    base = baseline_of(
        make_report({"navigation": NAV, "stress.success": [1, 1], "fleet.browsers": [10]})
    )
    current = make_report(
        {"navigation": scaled(NAV, 3), "stress.success": [1, 0], "fleet.browsers": [5]}
    )
    comparison = compare(current, base)

    assert not comparison.failed
    assert all(row.limit is None and not row.regressed for row in comparison.rows)
    assert list(rows_of(comparison, "navigation")) == ["med", "p95", "p99", "max"]
    assert rows_of(comparison, "navigation")["p95"].change_pct == pytest.approx(200.0)
    # Percentiles of 0/1 outcomes or of a single count say nothing: one row each.
    assert list(rows_of(comparison, "stress.success")) == ["avg"]
    assert list(rows_of(comparison, "fleet.browsers")) == ["max"]
    assert not any("✓" in line or "✗" in line for line in comparison.lines())


def test_rule_stats_are_added_to_the_rows() -> None:
    base = baseline_of(make_report({"navigation": NAV}))
    comparison = compare(
        make_report({"navigation": NAV}), base, [parse_fail_rule("navigation.avg:5%")]
    )
    assert [row.stat for row in comparison.rows] == ["med", "avg", "p95", "p99", "max"]
    assert [row.limit for row in comparison.rows] == [None, "5%", None, None, None]


def test_baseline_zero_has_no_change_pct() -> None:
    base = baseline_of(make_report({"leaks.js_heap": [0.0]}))
    comparison = compare(
        make_report({"leaks.js_heap": [12.0]}), base, [parse_fail_rule("leaks.js_heap.max:10%")]
    )
    [row] = ruled(comparison)
    assert row.change_pct is None
    assert row.regressed
    assert "0.0 KB/run -> 12.0 KB/run (from 0) limit 10% ✗" in row.line()

    same = compare(make_report({"leaks.js_heap": [0.0]}), base)
    assert all(row.change_pct is None for row in same.rows)
    assert "(no change)" in same.rows[0].line()


def test_added_and_removed_metrics() -> None:
    base = baseline_of(make_report({"navigation": NAV, "search": NAV}))
    current = make_report({"navigation": NAV, "checkout": NAV})
    comparison = compare(current, base, [parse_fail_rule("checkout.p95:10%")])

    assert comparison.added == ["checkout"]
    assert comparison.removed == ["search"]
    assert {row.metric for row in comparison.rows} == {"navigation"}
    lines = [line.strip() for line in comparison.lines()]
    assert "+ checkout: new in this run (not in the baseline)" in lines
    assert "- search: in the baseline, not in this run" in lines
    # A rule on a metric the baseline lacks cannot be checked: said, not failed.
    assert "? rule checkout.p95:10%: no checkout in the baseline" in lines
    assert not comparison.failed


def test_rule_on_a_metric_missing_from_this_run() -> None:
    base = baseline_of(make_report({"navigation": NAV}))
    comparison = compare(
        make_report({"command": NAV}), base, [parse_fail_rule("navigation.p95:1%")]
    )
    assert comparison.unmatched == ["rule navigation.p95:1%: no navigation in this run"]


def test_to_json_shape() -> None:
    base = baseline_of(make_report({"navigation": NAV, "leaks.js_heap": [0.0]}))
    current = make_report({"navigation": scaled(NAV, 2), "leaks.js_heap": [1.0]})
    comparison = compare(current, base, [parse_fail_rule("navigation.p95:10%")])

    rows = comparison.to_json()
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    for row in rows:
        assert list(row) == [
            "metric",
            "stat",
            "baseline",
            "current",
            "change_pct",
            "limit",
            "regressed",
            "direct",
        ]
    p95 = next(r for r in rows if r["metric"] == "navigation" and r["stat"] == "p95")
    assert p95["limit"] == "10%"
    assert p95["regressed"] is True
    assert p95["baseline"] == base["metrics"]["navigation"]["p95"]
    assert p95["current"] == current["metrics"]["navigation"]["p95"]
    assert p95["change_pct"] == pytest.approx(100.0)
    heap = next(r for r in rows if r["metric"] == "leaks.js_heap")
    assert heap["change_pct"] is None
    assert heap["limit"] is None
    assert heap["regressed"] is False


def test_line_format() -> None:
    row = Row("navigation", "p95", 312.4, 340.1, 8.867, "10%", False)
    assert row.line() == "navigation p95: 312.4 ms -> 340.1 ms (+8.9 %) limit 10% ✓"
    row = Row("memory.idle", "max", 200.0, 150.0, -25.0, None, False)
    assert row.line() == "memory.idle max: 200.0 MB -> 150.0 MB (-25.0 %)"


def test_header_names_the_baseline() -> None:
    base = baseline_of(make_report({"navigation": NAV}), name="release-1.2")
    comparison = compare(make_report({"navigation": NAV}), base)
    assert comparison.baseline_name == "release-1.2"
    assert comparison.baseline_created == 1_700_000_000.0
    header = comparison.lines()[0]
    assert header.startswith("  compared with baseline 'release-1.2' (2023-11-1")
    assert "commit 0123456789ab)" in header

    bare = compare(
        make_report({"navigation": NAV}), baseline_of(make_report({}), commit=None, created=None)
    )
    assert "(unknown date, no commit)" in bare.lines()[0]


# --------------------------------------------------------------------------- machines


def test_baseline_from_another_machine_is_flagged() -> None:
    other = {**machine_fingerprint(), "node": "ci-runner-17", "cpus": 64}
    base = baseline_of(make_report({"navigation": NAV}), machine=other)
    comparison = compare(make_report({"navigation": NAV}), base)

    assert comparison.other_machine
    assert comparison.machine_diff == ["node", "cpus"]
    warning = comparison.lines()[1].strip()
    assert warning.startswith("! recorded on another machine (node, cpus differ)")


def test_same_machine_is_not_flagged(store: BaselineStore) -> None:
    report = make_report({"navigation": NAV}, extra={"browser_version": "Chromium 126"})
    store.save("main", report)
    comparison = compare(report, store.load("main"))
    assert not comparison.other_machine
    assert comparison.machine_diff == []
    assert not any("!" in line for line in comparison.lines())


def test_other_versions_are_noted_but_not_another_machine() -> None:
    fingerprint = machine_fingerprint("Chromium 127")
    base = baseline_of(
        make_report({"navigation": NAV}),
        machine={**fingerprint, "browser": "Chromium 126", "python": "3.10.0"},
    )
    comparison = compare(make_report({"navigation": NAV}), base, fingerprint=fingerprint)
    assert not comparison.other_machine
    assert comparison.machine_diff == ["python", "browser"]
    assert "! python and browser versions differ from the baseline's" in comparison.lines()[1]


def test_memory_wobble_and_unknown_fields_are_ignored() -> None:
    fingerprint = machine_fingerprint()
    wobble = {**fingerprint, "memory_mb": fingerprint["memory_mb"] * 1.01, "browser": None}
    del wobble["node"]
    base = baseline_of(make_report({"navigation": NAV}), machine=wobble)
    comparison = compare(make_report({"navigation": NAV}), base, fingerprint=fingerprint)
    assert comparison.machine_diff == []

    halved = {**fingerprint, "memory_mb": fingerprint["memory_mb"] / 2}
    comparison = compare(
        make_report({"navigation": NAV}), baseline_of(make_report({}), machine=halved)
    )
    assert comparison.machine_diff == ["memory_mb"]
    assert comparison.other_machine
    assert "(memory_mb differs)" in comparison.lines()[1]


def test_fail_rule_is_a_value_object() -> None:
    rule = parse_fail_rule("navigation.p95:10%")
    assert rule == FailRule("navigation.p95:10%", "navigation", "p95", 10.0, True, "%", "latency")
    assert not rule.lower_is_worse
    assert parse_fail_rule("stress.success.rate:1%").lower_is_worse
