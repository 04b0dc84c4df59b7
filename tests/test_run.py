"""The run's managers without pytest: settings, judge, outputs, progress, pool keeper.

The settings are read from plain dicts standing in for the command line and the
ini file (what ``config.getoption`` and ``config.getini`` answer); the plugin
tests check the same table through real pytest runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept.errors import UsageError
from pytest_cdp_accept.gate.report import Results
from pytest_cdp_accept.gate.thresholds import parse_threshold
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.run.judging import NOTHING_MEASURED, Judge
from pytest_cdp_accept.run.outputs import Outputs
from pytest_cdp_accept.run.pool import PoolKeeper
from pytest_cdp_accept.run.progress import Progress
from pytest_cdp_accept.run.settings import BY_NAME, SETTINGS, Settings


def settings(options: dict[str, Any] | None = None, ini: dict[str, Any] | None = None) -> Settings:
    options, ini = options or {}, ini or {}
    return Settings(options.get, lambda name: ini.get(name))


# -- settings ---------------------------------------------------------------------------


def test_the_table_has_one_name_and_one_flag_per_setting() -> None:
    names = [s.name for s in SETTINGS]
    flags = [s.flag for s in SETTINGS if s.flag]
    assert len(set(names)) == len(names)
    assert len(set(flags)) == len(flags)
    assert all(name.startswith("cdp_") for name in names)
    assert all(flag.startswith("--cdp-") for flag in flags)
    for setting in SETTINGS:
        assert setting.flag or setting.ini, setting.name
        if setting.flag:
            kwargs = setting.option_kwargs()
            assert kwargs["dest"] == setting.name  # the option's dest is the ini key
            assert kwargs["default"] is None  # so the ini file is the fall-back
        if setting.ini:
            assert setting.ini_kwargs()["default"] is None


@pytest.mark.parametrize(
    ("name", "option", "ini", "expected"),
    [
        ("cdp_pool_size", None, "3", 3),
        ("cdp_pool_size", 2, "3", 2),  # the command line wins
        ("cdp_launch_timeout", None, "2.5", 2.5),
        ("cdp_record_only", None, "yes", True),
        ("cdp_record_only", None, "false", False),
        ("cdp_record_only", True, "false", True),
        ("cdp_endpoints", None, ["ws://a", "ws://b"], ("ws://a", "ws://b")),
        ("cdp_endpoints", ["ws://c"], ["ws://a"], ("ws://c",)),
        ("cdp_base_url", None, None, None),
        ("cdp_save", None, "never read", None),  # command line only
        ("cdp_gates", "never read", "navigation: p95<1s", "navigation: p95<1s"),  # ini only
    ],
)
def test_the_command_line_beats_the_ini_file(
    name: str, option: Any, ini: Any, expected: Any
) -> None:
    assert settings({name: option}, {name: ini}).value(name) == expected


def test_a_bad_number_names_the_setting_and_where_to_fix_it() -> None:
    with pytest.raises(UsageError, match=r"cdp_pool_size = 'many' is not a valid int; fix it"):
        settings(ini={"cdp_pool_size": "many"}).value("cdp_pool_size")
    with pytest.raises(UsageError, match=r"--cdp-threshold-factor 0\.0 must be > 0"):
        _ = settings(ini={"cdp_threshold_factor": "0"}).factor
    assert settings().factor == 1.0


def test_every_pool_setting_reaches_the_pool_options() -> None:
    given = {
        "cdp_browser": "/usr/bin/chromium",
        "cdp_pool_size": "2",
        "cdp_isolation": "context",
        "cdp_launch_timeout": "5",
        "cdp_command_timeout": "6",
        "cdp_navigation_timeout": "7",
        "cdp_action_timeout": "9",
        "cdp_recycle_after": "8",
        "cdp_recycle_memory": "900",
        "cdp_endpoints": ["http://127.0.0.1:9222"],
        "cdp_browser_args": ["--lang=de"],
    }
    assert {BY_NAME[name].pool_field for name in given} == {
        s.pool_field for s in SETTINGS if s.pool_field
    }
    options = settings(ini=given).pool_options()
    assert options.executable == "/usr/bin/chromium"
    assert (options.size, options.isolation) == (2, "context")
    assert (options.launch_timeout, options.command_timeout) == (5.0, 6.0)
    assert (options.navigation_timeout, options.recycle_after) == (7.0, 8)
    assert options.action_timeout == 9.0
    assert options.recycle_memory_mb == 900.0
    assert options.endpoints == ("http://127.0.0.1:9222",)
    assert options.args == ("--lang=de",)


def test_pool_defaults_and_a_bad_isolation() -> None:
    options = settings(ini={"cdp_endpoints": ["ws://a", "ws://b"]}).pool_options()
    assert (options.size, options.isolation) == (2, "reset")  # one browser per endpoint
    with pytest.raises(UsageError, match="cdp_isolation = 'sometimes': expected one of"):
        settings(ini={"cdp_isolation": "sometimes"}).pool_options()


# -- the judge --------------------------------------------------------------------------


def test_read_markers_reports_every_problem_of_a_test() -> None:
    judge = Judge(Results())
    marks = [
        ("cdp_latncy", (), {}),
        ("cdp_latency", (), {"navigation": "p95<<1s"}),
        ("parametrize", ("x", [1]), {}),
    ]
    spec, error = judge.read_markers("t.py::test", marks, {"cdp_latency", "cdp_memory"})
    assert spec is None
    assert error is not None
    assert error.startswith("t.py::test: ")
    assert "unknown marker 'cdp_latncy': did you mean 'cdp_latency'?" in error
    assert "p95<<1s" in error
    assert judge.read_markers("t.py::ok", [marks[2]], {"cdp_latency"}) == (None, None)


def test_judge_test_fails_with_every_verdict_and_the_loop_detail() -> None:
    results = Results()
    judge = Judge(results)
    threshold = parse_threshold("navigation", "p95<100ms", "latency")
    assert judge.judge_test("t::fast", [threshold], {"navigation": [50.0]}) is None
    failure = judge.judge_test("t::slow", [threshold], {"navigation": [500.0]}, detail=["why"])
    assert failure is not None
    assert failure.startswith("cdp-accept: 1 of 1 thresholds missed:\n  ✗ navigation p95")
    assert failure.endswith("\nwhy")
    tests = [(v.test, v.passed) for v in results.verdicts]
    assert tests == [("t::fast", True), ("t::slow", False)]
    assert Judge(Results(), record_only=True).judge_test("t", [threshold], {}) is None


def test_a_test_that_measured_nothing_fails() -> None:
    threshold = parse_threshold("navigation", "p95<100ms", "latency")
    failure = Judge(Results()).judge_test("t", [threshold], None)
    assert failure is not None
    assert NOTHING_MEASURED in failure


def test_session_gates_are_judged_over_the_run() -> None:
    results = Results()
    judge = Judge(results, gates_text="navigation: p95 < 100 ms")
    judge.selected(None, uses_pages=True, records=False)
    results.add_samples("t", "main", _samples("navigation", [300.0]))
    assert judge.judge_session() is True
    assert Judge(Results()).judge_session() is False  # no gates, nothing to miss
    with pytest.raises(UsageError, match="cdp_gates / --cdp-preset"):
        Judge(Results(), gates_text="navigation p95<1s")


def test_the_scope_travels_from_a_worker_to_the_controller() -> None:
    worker, controller = Judge(Results()), Judge(Results())
    worker.selected(None, uses_pages=True, records=True)
    worker.deselected = 3
    controller.merge_scope(worker.scope_wire())
    assert (controller.produced, controller.deselected) == (worker.produced, 3)


# -- outputs ----------------------------------------------------------------------------


def test_a_finished_test_gives_its_samples_and_junit_properties() -> None:
    results = Results()
    outputs = Outputs(results, root=Path("."), targets={})
    recorder = MetricsRecorder()
    for value in (10.0, 20.0, 30.0):
        recorder.record("navigation", value)
    recorder.record("memory.idle", 120.0)
    properties = outputs.test_finished("t::one", recorder)
    assert dict(properties) == {"cdp.navigation.p95": 29.0, "cdp.memory.idle.value": 120.0}
    assert len(results.samples) == 4


def test_reports_and_baselines_are_written_and_noted(tmp_path: Path) -> None:
    results = Results()
    # Five samples a side: enough for the rule's significance test (p = 1/252 < 0.01).
    results.add_samples("t", "main", _samples("navigation", [100.0, 105.0, 110.0, 115.0, 120.0]))
    targets = {"cdp_json": str(tmp_path / "out" / "run.json"), "cdp_html": None}
    first = Outputs(results, root=tmp_path, targets=targets, compare="main")
    assert first.write({"factor": 1.0, "record_only": False}) is False
    assert json.loads((tmp_path / "out" / "run.json").read_text())["samples"]
    assert any("no baseline 'main' yet" in note for note in first.notes)
    assert any(note.startswith("json report: ") for note in first.notes)
    slower = Results()
    slower.add_samples("t", "main", _samples("navigation", [300.0, 305.0, 310.0, 315.0, 320.0]))
    rules = ["navigation.p95:10%"]
    second = Outputs(slower, root=tmp_path, targets={}, compare="main", rules=rules)
    assert second.write({}) is True  # the regression beyond the rule
    summary = second.summary(factor=1.5, record_only=True, run_failed=True)
    assert summary is not None
    title, lines = summary
    assert title == "cdp-accept (time thresholds x1.5) (record only)"
    assert lines[-1] == "  the run would fail: a session gate or baseline was missed"
    with pytest.raises(UsageError, match="--cdp-compare-fail: bad fail rule"):
        Outputs(Results(), root=tmp_path, targets={}, rules=["navigation"])


def test_no_summary_for_a_run_that_measured_nothing() -> None:
    outputs = Outputs(Results(), root=Path("."), targets={})
    assert outputs.summary(factor=1.0, record_only=False, run_failed=False) is None


# -- progress and the pool --------------------------------------------------------------


def test_progress_lines_are_indented_under_their_test() -> None:
    lines: list[str] = []
    assert Progress(lines.append).for_test("test_x") is not None
    Progress(lines.append).for_test("test_x")("stress: 10 runs")  # type: ignore[misc]
    assert lines == ["    test_x: stress: 10 runs"]
    assert Progress(None).for_test("test_x") is None  # an xdist worker prints none


def test_the_pool_keeper_makes_one_pool_and_closes_it_once() -> None:
    from pytest_cdp_accept.engine.options import PoolOptions

    results = Results()
    keeper = PoolKeeper(results)
    pool = keeper.get(PoolOptions())
    assert keeper.get(PoolOptions(size=3)) is pool  # made once, on first use
    keeper.close()
    keeper.close()
    assert results.counters["browsers_launched"] == 0  # lazy: nothing was leased
    assert keeper.get(PoolOptions()) is not pool  # a closed keeper makes a new one
    keeper.close()


def _samples(metric: str, values: list[float]) -> list[Any]:
    recorder = MetricsRecorder()
    for value in values:
        recorder.record(metric, value)
    return recorder.all_samples()
