"""pytest glue: options, ini keys, markers and fixtures. Thin on purpose.

Everything here calls into the library; the one stateful piece is
:class:`CDPAccept`, registered in ``pytest_configure``, which owns the
process's pool (created on first use, closed at the end of the run).
"""

from __future__ import annotations

import atexit
import inspect
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .engine.options import ISOLATION_MODES, Isolation, PoolOptions
from .errors import CDPAcceptError
from .gate.markers import (
    MARKER_HELP,
    MARKERS,
    PAGE_FIXTURES,
    GateSpec,
    judge_session,
    judge_test,
    produces,
    session_gates,
    spec_for,
    unknown_marker,
)
from .gate.report import Results
from .gate.thresholds import Threshold, ThresholdSyntaxError, Verdict, compute_stat
from .metrics import MetricsRecorder

if TYPE_CHECKING:
    # The engine is imported where it is used (fixtures, hooks of tests that use it), so
    # installing the plugin costs nothing at start-up for suites that never use a browser.
    from .engine.fleet import SyncFleet
    from .engine.probe import TestProbe
    from .engine.stability import PageHolder
    from .engine.sync import AsyncPage, SyncBrowser, SyncPage, SyncPool
    from .site import AppURL, LocalSite

PLUGIN_NAME = "cdp_accept_manager"

# (option, dest/ini name, type, help); every default is None so ini and env fall back.
_OPTIONS: list[tuple[str, str, str, str]] = [
    ("--cdp-browser", "cdp_browser", "string", "browser executable (else env, PATH, Playwright)"),
    ("--cdp-pool-size", "cdp_pool_size", "int", "browsers per process (default 1)"),
    ("--cdp-isolation", "cdp_isolation", "choice", "page isolation: reset (default) or context"),
    ("--cdp-launch-timeout", "cdp_launch_timeout", "float", "seconds to start a browser (30)"),
    ("--cdp-command-timeout", "cdp_command_timeout", "float", "seconds per CDP command (30)"),
    ("--cdp-navigation-timeout", "cdp_navigation_timeout", "float", "seconds per goto (30)"),
    (
        "--cdp-action-timeout",
        "cdp_action_timeout",
        "float",
        "seconds an action (click, fill, wait_for_selector, ...) waits for its element (10)",
    ),
    ("--cdp-recycle-after", "cdp_recycle_after", "int", "replace a browser after N leases"),
    ("--cdp-recycle-memory", "cdp_recycle_memory", "float", "replace a browser above N MB PSS"),
    ("--cdp-base-url", "cdp_base_url", "string", "the app under test (default: the built-in site)"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cdp-accept", "browser performance gates (pytest-cdp-accept)")
    for flag, dest, kind, help_text in _OPTIONS:
        kwargs: dict[str, Any] = {"dest": dest, "default": None, "help": help_text}
        if kind == "int":
            kwargs["type"] = int
        elif kind == "float":
            kwargs["type"] = float
        elif kind == "choice":
            kwargs["choices"] = ISOLATION_MODES
        group.addoption(flag, **kwargs)
        parser.addini(dest, help_text, type="string", default=None)
    group.addoption(
        "--cdp-endpoint",
        dest="cdp_endpoints",
        action="append",
        default=None,
        help="connect to a running browser (ws://... or http://host:port) instead of "
        "launching; repeatable",
    )
    parser.addini("cdp_endpoints", "browsers to connect to, one per line", type="linelist")
    group.addoption(
        "--cdp-browser-arg",
        dest="cdp_browser_args",
        action="append",
        default=None,
        help="extra browser switch for launched browsers; repeatable",
    )
    parser.addini("cdp_browser_args", "extra browser switches, one per line", type="linelist")
    group.addoption(
        "--cdp-threshold-factor",
        dest="cdp_threshold_factor",
        type=float,
        default=None,
        help="multiply every time threshold by this (slow runners), e.g. 1.5",
    )
    parser.addini("cdp_threshold_factor", "multiply every time threshold by this", default=None)
    group.addoption(
        "--cdp-record-only",
        dest="cdp_record_only",
        action="store_const",
        const=True,
        default=None,
        help="measure and report, never fail a test or the run on a threshold",
    )
    parser.addini("cdp_record_only", "measure and report only (true/false)", default=None)
    group.addoption(
        "--cdp-preset",
        dest="cdp_preset",
        default=None,
        choices=("acceptance",),
        help="session gates of a preset: 'acceptance' (the reference targets)",
    )
    parser.addini("cdp_preset", "session gates of a preset: acceptance", default=None)
    parser.addini(
        "cdp_gates",
        "session gates, one 'metric: threshold' per line, over the whole run",
        default=None,
    )
    group.addoption(
        "--cdp-json",
        dest="cdp_json",
        default=None,
        metavar="PATH",
        help="write every sample and verdict as versioned JSON",
    )
    parser.addini("cdp_json", "path of the JSON report", default=None)
    group.addoption(
        "--cdp-html",
        dest="cdp_html",
        default=None,
        metavar="PATH",
        help="write one self-contained HTML report with charts",
    )
    parser.addini("cdp_html", "path of the HTML report", default=None)
    group.addoption(
        "--cdp-benchmark-json",
        dest="cdp_benchmark_json",
        default=None,
        metavar="PATH",
        help="write latency metrics in pytest-benchmark's JSON format",
    )
    parser.addini("cdp_benchmark_json", "path of the pytest-benchmark JSON", default=None)
    group.addoption(
        "--cdp-save",
        dest="cdp_save",
        default=None,
        metavar="NAME",
        help="save this run's metrics as baseline NAME",
    )
    group.addoption(
        "--cdp-compare",
        dest="cdp_compare",
        default=None,
        metavar="NAME",
        help="compare with baseline NAME (or 'latest'); with none yet, save one",
    )
    parser.addini("cdp_compare", "baseline to compare with (or latest)", default=None)
    group.addoption(
        "--cdp-compare-fail",
        dest="cdp_compare_fail",
        action="append",
        default=None,
        metavar="RULE",
        help="fail on a regression, e.g. 'navigation.p95:10%%' or ':50ms'",
    )
    parser.addini("cdp_compare_fail", "regression rules, one per line", type="linelist")
    parser.addini("cdp_baseline_dir", "where baselines live", default=None)
    group.addoption(
        "--cdp-no-app-check",
        dest="cdp_no_app_check",
        action="store_const",
        const=True,
        default=None,
        help="do not check before the first test that --cdp-base-url answers (for an app "
        "that comes up during the run)",
    )
    parser.addini("cdp_no_app_check", "skip the app check before the first test", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cdp_isolation(mode): page isolation for this test's cdp_page: 'reset' or 'context'",
    )
    for help_text in MARKER_HELP.values():
        config.addinivalue_line("markers", help_text)
    config.pluginmanager.register(CDPAccept(config), PLUGIN_NAME)


def _setting(config: pytest.Config, name: str) -> Any:
    """Option beats ini; both default to None."""
    value = config.getoption(name, default=None)
    if value is None:
        try:
            value = config.getini(name) or None
        except ValueError:  # an option with no ini key (e.g. --cdp-save)
            value = None
    return value


def _convert(name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(
            f"{name} = {value!r} is not a valid {kind.__name__}; fix it in the command line "
            "or the ini file"
        ) from None


def pool_options_from_config(config: pytest.Config) -> PoolOptions:
    """Build the pool's options from command line, ini and env (in that order)."""
    endpoints = tuple(_setting(config, "cdp_endpoints") or ())
    size = _convert("cdp_pool_size", _setting(config, "cdp_pool_size"), int)
    isolation = _setting(config, "cdp_isolation") or "reset"
    if isolation not in ISOLATION_MODES:
        raise pytest.UsageError(
            f"cdp_isolation = {isolation!r}: expected one of {', '.join(ISOLATION_MODES)}"
        )
    values: dict[str, Any] = {
        "executable": _setting(config, "cdp_browser"),
        "args": tuple(_setting(config, "cdp_browser_args") or ()),
        "endpoints": endpoints,
        "size": size if size is not None else max(1, len(endpoints)),
        "isolation": isolation,
        "recycle_after": _convert("cdp_recycle_after", _setting(config, "cdp_recycle_after"), int),
    }
    for name, field in (
        ("cdp_launch_timeout", "launch_timeout"),
        ("cdp_command_timeout", "command_timeout"),
        ("cdp_navigation_timeout", "navigation_timeout"),
        ("cdp_action_timeout", "action_timeout"),
    ):
        value = _convert(name, _setting(config, name), float)
        if value is not None:
            values[field] = value
    try:
        return PoolOptions(**values)
    except CDPAcceptError as exc:
        raise pytest.UsageError(str(exc)) from exc


class CDPAccept:
    """Per-process state: the pool (lazy), the gates, and the run's results."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._pool: SyncPool | None = None
        self.results = Results()
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.is_worker = hasattr(config, "workerinput")
        factor = _convert("cdp_threshold_factor", _setting(config, "cdp_threshold_factor"), float)
        if factor is not None and factor <= 0:
            raise pytest.UsageError(f"--cdp-threshold-factor {factor} must be > 0")
        self.factor = factor or 1.0
        self.record_only = _truthy(_setting(config, "cdp_record_only"))
        try:
            self.gates: list[Threshold] = session_gates(
                config.getini("cdp_gates") or None, _setting(config, "cdp_preset")
            )
        except ThresholdSyntaxError as exc:
            raise pytest.UsageError(f"cdp_gates / --cdp-preset: {exc}") from None
        self.session_failed = False
        try:
            rules = list(_setting(config, "cdp_compare_fail") or ())
            self.fail_rules = _parse_fail_rules(rules) if rules else []
        except CDPAcceptError as exc:
            raise pytest.UsageError(f"--cdp-compare-fail: {exc}") from None
        self.notes: list[str] = []
        self.comparison_lines: list[str] = []
        # What the selected tests can produce (gate.markers.produces), for session gates.
        self.produced: set[str] = set()
        self.deselected = 0
        self.tests_run = 0

    # -- the pool ---------------------------------------------------------------

    def pool(self, options: PoolOptions) -> SyncPool:
        from .engine.sync import SyncPool

        if self._pool is None:
            self._pool = SyncPool(options)
            atexit.register(self._pool.pool.kill_now)
        return self._pool

    def close_pool(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            stats = pool.pool.stats
            self.results.count("browsers_launched", stats.browsers_launched)
            self.results.count("pages_opened", stats.pages_opened)
            pool.close()
            atexit.unregister(pool.pool.kill_now)

    # -- collection: bad markers are usage errors ---------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        ours = _registered_cdp_markers(self.config)
        errors: list[str] = []
        for item in items:
            problems = [
                problem
                for name in dict.fromkeys(m.name for m in item.iter_markers())
                if (problem := unknown_marker(name, ours)) is not None
            ]
            markers = [(m.name, m.args, m.kwargs) for m in item.iter_markers() if m.name in MARKERS]
            if markers:
                try:
                    item.stash[GATE_KEY] = spec_for(markers)
                except ThresholdSyntaxError as exc:
                    problems += [str(problem) for problem in exc.problems]
            if not problems:
                continue
            message = f"{item.nodeid}: " + "\n    ".join(problems)
            if self.is_worker:
                # A usage error raised in an xdist worker's collection crashes the run with
                # an INTERNALERROR that hides the message: the test reports it instead.
                item.stash[MARKER_ERROR_KEY] = message
            else:
                errors.append(message)
        if errors:  # every bad marker of the run, not only the first
            raise pytest.UsageError("\n".join(errors))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            names = set(getattr(getattr(item, "_fixtureinfo", None), "names_closure", ()))
            self.produced |= produces(
                item.stash.get(GATE_KEY, None),
                uses_pages=bool(names & set(PAGE_FIXTURES)),
                records=_holds_recorder(item),
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Under xdist the controller collects nothing: it checks the app before it
        # starts the workers (which would each fail every test on their own).
        if self.config.pluginmanager.get_plugin("dsession") is not None:
            self._check_app()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if self.is_worker or self.config.pluginmanager.get_plugin("dsession") is not None:
            return
        if session.items and any(_uses_app(item) for item in session.items):
            self._check_app()

    def _check_app(self) -> None:
        """Stop the run before its first test when the app under test does not answer."""
        url = _setting(self.config, "cdp_base_url")
        skip = _setting(self.config, "cdp_no_app_check")
        if not url or self.config.option.collectonly or _truthy(skip):
            return
        from .site import check_app

        problem = check_app(str(url))
        if problem is not None:
            raise pytest.UsageError(
                f"cdp-accept: the app under test at {url} does not answer: {problem}. "
                "Start it before the run or fix --cdp-base-url / ini cdp_base_url; pass "
                "--cdp-no-app-check if it comes up during the run."
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self.tests_run += 1

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        error = item.stash.get(MARKER_ERROR_KEY, None)
        if error is not None:
            pytest.fail(f"cdp-accept: usage error: {error}", pytrace=False)

    # -- the test: measure, then judge --------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        spec = item.stash.get(GATE_KEY, None)
        probe = item.stash.get(PROBE_KEY, None)
        if spec is None or not spec.thresholds:
            return (yield)
        if probe is None:
            # Thresholds but no cdp fixture: nothing was measured, which must not pass.
            result = yield
            why = {t.metric: NOTHING_MEASURED for t in spec.thresholds}
            self._judge_test(item, judge_test(spec.thresholds, {}, self.factor, why))
            return result
        probe.before_body(spec.memory)
        try:
            result = yield
        finally:
            probe.after_body()
        samples = probe.recorder.by_name()
        self._judge_test(item, judge_test(spec.thresholds, samples, self.factor, probe.unmeasured))
        return result

    def _judge_test(self, item: pytest.Item, verdicts: list[Verdict]) -> None:
        self.results.add_verdicts("test", item.nodeid, verdicts)
        failed = [v for v in verdicts if not v.passed]
        if failed and not self.record_only:
            lines = "\n".join(f"  {v.line()}" for v in verdicts)
            detail_lines: list[str] = item.stash.get(DETAIL_KEY, [])
            detail = "\n".join(detail_lines)
            pytest.fail(
                f"cdp-accept: {len(failed)} of {len(verdicts)} thresholds missed:\n{lines}"
                + (f"\n{detail}" if detail else ""),
                pytrace=False,
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Stress, recovery and leak gates run the body in a loop of their own."""
        spec = pyfuncitem.stash.get(GATE_KEY, None)
        if spec is None or spec.loop is None:
            return None
        name = f"cdp_{spec.loop}"
        if inspect.iscoroutinefunction(pyfuncitem.obj):
            raise pytest.UsageError(f"{pyfuncitem.nodeid}: {name} needs a plain (sync) test")
        from .engine import stability

        funcargs = pyfuncitem.funcargs
        holder = pyfuncitem.stash.get(HOLDER_KEY, None)
        if holder is None:
            raise pytest.UsageError(f"{pyfuncitem.nodeid}: {name} needs the cdp_page fixture")
        kwargs = {arg: funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}

        def body(page: SyncPage) -> object:
            return pyfuncitem.obj(**{**kwargs, "cdp_page": page})

        recorder: MetricsRecorder = funcargs["cdp_metrics"]  # type: ignore[assignment]
        request = spec.loop_request
        assert request is not None  # spec.loop is set
        detail = stability.run_loop(
            request, body, holder, recorder, self._progress(pyfuncitem), self.factor
        )
        pyfuncitem.stash[DETAIL_KEY] = detail
        return True

    def _progress(self, item: pytest.Item) -> Callable[[str], None] | None:
        """Live progress lines on the terminal (not under xdist: the controller prints)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if self.is_worker or reporter is None or capture is None:
            return None

        def write(text: str) -> None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"    {item.name}: {text}")

        return write

    def test_finished(self, item: pytest.Item, recorder: MetricsRecorder) -> None:
        samples = recorder.all_samples()
        self.results.add_samples(item.nodeid, self.worker, samples)
        for metric, values in recorder.by_name().items():
            stat = "p95" if len(values) > 1 else "value"
            item.user_properties.append(
                (f"cdp.{metric}.{stat}", round(compute_stat(stat, values), 3))
            )

    # -- the run: merge workers, session gates, outputs ---------------------------

    @pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
        if output:
            self.results.merge_wire(output)
        scope = getattr(node, "workeroutput", {}).get(WORKER_SCOPE)
        if scope:
            # Every worker collects the whole selection: any one's view of it will do.
            data = json.loads(scope)
            self.produced |= set(data["produced"])
            self.deselected = max(self.deselected, int(data["deselected"]))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.close_pool()
        if self.is_worker:
            self.config.workeroutput[WORKER_OUTPUT] = self.results.to_wire()  # type: ignore[attr-defined]
            self.config.workeroutput[WORKER_SCOPE] = json.dumps(  # type: ignore[attr-defined]
                {"produced": sorted(self.produced), "deselected": self.deselected}
            )
            return
        if self.config.option.collectonly or not self.tests_run:
            return  # nothing ran: no gate to judge, no report to overwrite
        if self.gates:
            verdicts: list[Verdict] = judge_session(
                self.gates,
                self.results.by_metric(),
                self.produced,
                self.factor,
                self.deselected,
            )
            self.results.add_verdicts("session", "", verdicts)
            self.session_failed = any(not v.passed for v in verdicts)
            if self.session_failed and not self.record_only and session.exitstatus == 0:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self._write_outputs(session)

    def _write_outputs(self, session: pytest.Session) -> None:
        """Baselines, then the JSON, HTML and pytest-benchmark files, from one report dict
        (built, and its writers imported, only when one of them is asked for)."""
        compare_name = _setting(self.config, "cdp_compare")
        save_name = _setting(self.config, "cdp_save")
        targets = {
            option: _setting(self.config, option)
            for option in ("cdp_json", "cdp_html", "cdp_benchmark_json")
        }
        if not (compare_name or save_name or any(targets.values())):
            return
        report = self.results.to_json({"factor": self.factor, "record_only": self.record_only})
        if compare_name or save_name:
            self._baselines(session, report, compare_name, save_name)
        for option, target in targets.items():
            if not target:
                continue
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            if option == "cdp_json":
                path.write_text(json.dumps(report, indent=1))
            elif option == "cdp_html":
                from .gate.html_report import write_html

                write_html(report, path)
            else:
                from .gate.benchmark_export import write_pytest_benchmark

                write_pytest_benchmark(report, path)
            self.notes.append(f"{option.removeprefix('cdp_').replace('_', ' ')} report: {path}")

    def _baselines(
        self,
        session: pytest.Session,
        report: dict[str, Any],
        compare_name: str | None,
        save_name: str | None,
    ) -> None:
        from .gate.baseline import BaselineStore, compare, missing_baseline_message

        folder = _setting(self.config, "cdp_baseline_dir") or self.config.rootpath / BASELINE_DIR
        store = BaselineStore(Path(folder))
        try:
            if compare_name:
                baseline = store.find(compare_name)
                if baseline is None:
                    name = "default" if compare_name == "latest" else compare_name
                    saved = store.save(name, report, cwd=self.config.rootpath)
                    self.notes.append(missing_baseline_message(name, saved))
                else:
                    comparison = compare(report, baseline, self.fail_rules)
                    report["comparison"] = comparison.to_json()
                    self.comparison_lines = comparison.lines()
                    if comparison.failed:
                        self.session_failed = True
                        if not self.record_only and session.exitstatus == 0:
                            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            if save_name:
                saved = store.save(save_name, report, cwd=self.config.rootpath)
                self.notes.append(f"saved baseline {save_name!r} ({saved})")
        except CDPAcceptError as exc:
            raise pytest.UsageError(str(exc)) from None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not (self.results.samples or self.results.verdicts or self.notes):
            return
        title = "cdp-accept"
        if self.factor != 1.0:
            title += f" (time thresholds x{self.factor:g})"
        if self.record_only:
            title += " (record only)"
        terminalreporter.write_sep("=", title)
        for line in self.results.summary_lines():
            terminalreporter.write_line(line)
        if self.comparison_lines:
            terminalreporter.write_line("")
            for line in self.comparison_lines:
                terminalreporter.write_line(f"  {line}")
        for note in self.notes:
            terminalreporter.write_line(f"  {note}")
        if self.session_failed:
            verb = "would fail" if self.record_only else "failed"
            terminalreporter.write_line(f"  the run {verb}: a session gate or baseline was missed")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close_pool()  # normally already closed by the cdp_pool fixture


GATE_KEY = pytest.StashKey[GateSpec]()
HOLDER_KEY: pytest.StashKey[PageHolder] = pytest.StashKey()
DETAIL_KEY = pytest.StashKey[list[str]]()
PROBE_KEY: pytest.StashKey[TestProbe] = pytest.StashKey()
MARKER_ERROR_KEY: pytest.StashKey[str] = pytest.StashKey()
NOTHING_MEASURED = (
    "nothing measured: the test uses no cdp fixture (cdp_page, cdp_async_page, cdp_browser, "
    "cdp_fleet or cdp_metrics)"
)
WORKER_OUTPUT = "cdp_accept_results"
WORKER_SCOPE = "cdp_accept_scope"
APP_FIXTURES = ("cdp_app", "cdp_base_url")


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def _registered_cdp_markers(config: pytest.Config) -> set[str]:
    """Marker names starting with cdp_ registered in this run (ours and the project's)."""
    names = set()
    for line in config.getini("markers"):
        name = str(line).split(":", 1)[0].split("(", 1)[0].strip()
        if name.startswith("cdp_"):
            names.add(name)
    return names


def _uses_app(item: pytest.Item) -> bool:
    names = getattr(getattr(item, "_fixtureinfo", None), "names_closure", ())
    return any(name in APP_FIXTURES for name in names)


def _holds_recorder(item: pytest.Item) -> bool:
    """Whether the test can record metrics of its own: it asks for ``cdp_metrics``
    itself or through a fixture of the project's (ours ask for it only to hand the
    engine the recorder). A test that fetches it with ``request.getfixturevalue`` is
    not seen: name the metric in a marker then."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    if "cdp_metrics" in info.argnames:
        return True
    for name in info.names_closure:
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if "cdp_metrics" in fixturedef.argnames and fixturedef.func.__module__ != __name__:
                return True
    return False


BASELINE_DIR = ".cdp-accept/baselines"


def _parse_fail_rules(rules: list[str]) -> list[Any]:
    from .gate.baseline import parse_fail_rules

    return parse_fail_rules(rules)


def _manager(config: pytest.Config) -> CDPAccept:
    manager = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(manager, CDPAccept)
    return manager


# -- fixtures (each overridable, as in pytest-playwright) --------------------------


@pytest.fixture(scope="session")
def cdp_pool_options(pytestconfig: pytest.Config) -> PoolOptions:
    """The pool's options; override this fixture to set them in code."""
    return pool_options_from_config(pytestconfig)


@pytest.fixture(scope="session")
def cdp_pool(pytestconfig: pytest.Config, cdp_pool_options: PoolOptions) -> Iterator[SyncPool]:
    """The process's browser pool (one per xdist worker); browsers start on first lease."""
    manager = _manager(pytestconfig)
    yield manager.pool(cdp_pool_options)
    # Closed here, at session teardown: an xdist worker reports "finished" after this
    # and may be torn down before pytest_unconfigure has run to the end.
    manager.close_pool()


@pytest.fixture
def cdp_metrics(request: pytest.FixtureRequest) -> Iterator[MetricsRecorder]:
    """This test's recorder: ``timer(name)``, ``record(name, value)``, ``samples(name)``."""
    from .engine.probe import TestProbe

    recorder = MetricsRecorder()
    request.node.stash[PROBE_KEY] = TestProbe(recorder)
    yield recorder
    _manager(request.config).test_finished(request.node, recorder)


def _probe(request: pytest.FixtureRequest) -> TestProbe:
    return request.node.stash[PROBE_KEY]  # type: ignore[no-any-return]


def _isolation(request: pytest.FixtureRequest) -> Isolation | None:
    marker = request.node.get_closest_marker("cdp_isolation")
    if marker is None:
        return None
    mode = marker.args[0] if marker.args else marker.kwargs.get("mode")
    if mode not in ISOLATION_MODES:
        raise pytest.UsageError(
            f"{request.node.nodeid}: cdp_isolation({mode!r}): expected 'reset' or 'context'"
        )
    return mode  # type: ignore[no-any-return]


def _page_needs(request: pytest.FixtureRequest) -> tuple[Isolation | None, bool]:
    """The page's isolation, and whether it needs a browser launched for the test.

    A test whose renderers are measured (``cdp_memory(idle=..., peak=...)``) gets a
    browser context of its own whatever the isolation: a pooled page would bring the
    renderer an earlier test used, and what that test left in it.
    """
    spec = request.node.stash.get(GATE_KEY, None)
    isolation = _isolation(request)
    if spec is not None and spec.fresh_page:
        isolation = "context"
    return isolation, spec is not None and spec.fresh_browser


@pytest.fixture
def cdp_page(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[SyncPage]:
    """A clean page on a pooled browser (see ``--cdp-isolation``)."""
    from .engine import stability

    isolation, fresh_browser = _page_needs(request)
    page, lease = cdp_pool.acquire_page(cdp_metrics, isolation, fresh_browser=fresh_browser)
    _probe(request).use(page._runner, lease.page.browser, lease.page)
    holder = stability.PageHolder(cdp_pool, page, lease)
    request.node.stash[HOLDER_KEY] = holder  # recovery may move the page to a new browser
    try:
        yield page
    finally:
        cdp_pool.release_page(holder.page, holder.lease)


@pytest.fixture
def cdp_async_page(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[AsyncPage]:
    """``cdp_page`` for asyncio tests: the same page, with awaitable methods."""
    from .engine.sync import AsyncPage

    isolation, fresh_browser = _page_needs(request)
    page, lease = cdp_pool.acquire_page(cdp_metrics, isolation, fresh_browser=fresh_browser)
    _probe(request).use(page._runner, lease.page.browser, lease.page)
    try:
        yield AsyncPage(page._runner, lease.page)
    finally:
        cdp_pool.release_page(page, lease)


@pytest.fixture
def cdp_browser(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[SyncBrowser]:
    """A browser leased from the pool; pages it opens close at teardown; replaced if it died."""
    spec = request.node.stash.get(GATE_KEY, None)
    fresh = spec is not None and spec.fresh_browser
    browser = cdp_pool.acquire_browser(cdp_metrics, fresh=fresh)
    probe = _probe(request)
    probe.use(browser._runner, browser._browser)
    browser.on_new_page = lambda page: probe.use(browser._runner, page.browser, page)
    try:
        yield browser
    finally:
        cdp_pool.release_browser(browser)


@pytest.fixture
def cdp_fleet(
    request: pytest.FixtureRequest,
    cdp_pool: SyncPool,
    cdp_pool_options: PoolOptions,
    cdp_metrics: MetricsRecorder,
) -> Iterator[SyncFleet]:
    """With ``cdp_concurrency(browsers=N, pages=M)``: N browsers and M pages, all live."""
    spec = request.node.stash.get(GATE_KEY, None)
    if spec is None or spec.fleet is None:
        raise pytest.UsageError(
            f"{request.node.nodeid}: cdp_fleet needs @pytest.mark.cdp_concurrency(browsers=N, "
            "pages=M)"
        )
    from .engine.fleet import Fleet, SyncFleet

    runner = cdp_pool._runner
    fleet = Fleet(cdp_pool_options, cdp_metrics)
    probe = _probe(request)
    try:
        runner.run(fleet.up(spec.fleet.browsers, spec.fleet.pages))
        for page in fleet.pages:
            probe.use(runner, page.browser, page)
        probe.fleet = fleet
        results = _manager(request.config).results
        results.count("browsers_launched", len(fleet.browsers))
        results.count("pages_opened", len(fleet.pages))
        yield SyncFleet(runner, fleet)
    finally:
        runner.run(fleet.close())


@pytest.fixture(scope="session")
def cdp_base_url(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> str | None:
    """Base URL of the app under test: ``--cdp-base-url`` / ini ``cdp_base_url``, else
    pytest-base-url's ``--base-url`` when that plugin is installed, else None."""
    value = _setting(pytestconfig, "cdp_base_url")
    if value:
        return str(value)
    if pytestconfig.pluginmanager.has_plugin("base_url"):
        return request.getfixturevalue("base_url") or None
    return None


@pytest.fixture(scope="session")
def cdp_app(request: pytest.FixtureRequest, cdp_base_url: str | None) -> LocalSite | AppURL:
    """The app under test, as ``cdp_app.url(path)``: your base URL, or the built-in site."""
    from .site import AppURL

    if cdp_base_url:
        return AppURL(cdp_base_url)
    site: LocalSite = request.getfixturevalue("cdp_site")
    return site


@pytest.fixture(scope="session")
def cdp_site() -> Iterator[LocalSite]:
    """The built-in local test site on 127.0.0.1 (see :mod:`pytest_cdp_accept.site`)."""
    from .site import LocalSite

    site = LocalSite()
    site.start()
    try:
        yield site
    finally:
        site.close()
