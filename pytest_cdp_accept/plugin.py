"""pytest glue: options, markers, hooks and fixtures. Thin on purpose.

The hooks and fixtures hand the work to the managers of the run
(:mod:`pytest_cdp_accept.run`), held by one :class:`CDPAccept` per process,
registered in ``pytest_configure``: the settings, the pool keeper, the judge,
the outputs and the progress lines. Every option and ini key comes from one
table (:data:`~pytest_cdp_accept.run.settings.SETTINGS`).
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .engine.options import Isolation, PoolOptions, check_isolation
from .errors import CDPAcceptError
from .gate.markers import MARKER_HELP, PAGE_FIXTURES, GateSpec
from .gate.report import Results
from .metrics import MetricsRecorder
from .run.conditions import Conditions, Marked
from .run.evidence import EVIDENCE_DIR, EvidenceKeeper, Kept
from .run.farm import FarmWatch
from .run.judging import Judge
from .run.monitor import monitor_from
from .run.outputs import Outputs
from .run.pool import PoolKeeper, app_problem
from .run.progress import Progress
from .run.settings import OUTPUTS, SETTINGS, Settings

if TYPE_CHECKING:
    # The engine is imported where it is used (fixtures, hooks of tests that use it), so
    # installing the plugin costs nothing at start-up for suites that never use a browser.
    from .engine.browser import Page
    from .engine.fleet import SyncFleet
    from .engine.probe import TestProbe
    from .engine.sync import AsyncPage, SyncBrowser, SyncPage, SyncPool
    from .engine.throttle import ThrottleProfile
    from .site import AppURL, LocalSite

PLUGIN_NAME = "cdp_accept_manager"

GATE_KEY = pytest.StashKey[GateSpec]()
"""A test's gate spec, from its markers (collection)."""
MARKER_ERROR_KEY = pytest.StashKey[str]()
"""A test's bad markers, reported when it runs (xdist workers cannot stop collection)."""
PROBE_KEY: pytest.StashKey[TestProbe] = pytest.StashKey()
"""What a test used and what it cost (set by ``cdp_metrics``)."""
PAGE_KEY: pytest.StashKey[SyncPage] = pytest.StashKey()
"""The test's ``cdp_page``, which the stability loops run the body on."""
DETAIL_KEY = pytest.StashKey[list[str]]()
"""The lines a stability loop explains its outcome with."""
THROTTLE_KEY = pytest.StashKey[Marked]()
"""A test's ``cdp_throttle`` marker, read at collection (absent: the run's profile)."""
EVIDENCE_KEY = pytest.StashKey[Kept]()
"""What evidence a test kept (set after its body)."""

WORKER_OUTPUT = "cdp_accept_results"
WORKER_SCOPE = "cdp_accept_scope"
WORKER_MONITOR = "cdp_accept_monitor"
ERROR_ATTRIBUTE = "cdp_accept_error"
APP_FIXTURES = ("cdp_app", "cdp_base_url")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cdp-accept", "browser performance gates (pytest-cdp-accept)")
    for setting in SETTINGS:
        if setting.flag is not None:
            group.addoption(setting.flag, **setting.option_kwargs())
        if setting.ini:
            parser.addini(setting.name, **setting.ini_kwargs())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cdp_isolation(mode): page isolation for this test's cdp_page: 'reset' or 'context'",
    )
    config.addinivalue_line(
        "markers",
        'cdp_throttle(profile, cpu=4, latency="150ms", down="1.6Mbps", up="750Kbps"): run '
        "every page of this test under a throttling profile (mobile-slow-4g, fast-3g, "
        "slow-3g, desktop, off) or these values",
    )
    for help_text in MARKER_HELP.values():
        config.addinivalue_line("markers", help_text)
    try:
        manager = CDPAccept(config)
    except CDPAcceptError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(manager, PLUGIN_NAME)


class CDPAccept:
    """The hooks of one pytest process (one xdist worker, or the controller)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.is_worker = hasattr(config, "workerinput")
        settings = Settings(lambda name: config.getoption(name, default=None), config.getini)
        self.settings = settings
        self.results = Results()
        self.pools = PoolKeeper(self.results)
        self.judge = Judge(
            self.results,
            factor=settings.factor,
            record_only=settings.flag("cdp_record_only"),
            gates_text=settings.text("cdp_gates"),
            preset=settings.text("cdp_preset"),
        )
        self.outputs = Outputs(
            self.results,
            root=config.rootpath,
            targets={name: settings.text(name) for name in OUTPUTS},
            compare=settings.text("cdp_compare"),
            save=settings.text("cdp_save"),
            baseline_dir=settings.text("cdp_baseline_dir"),
            rules=settings.lines("cdp_compare_fail"),
            alpha=settings.alpha,
            worker=os.environ.get("PYTEST_XDIST_WORKER", "main"),
        )
        evidence_dir = settings.text("cdp_evidence_dir") or EVIDENCE_DIR
        self.evidence = EvidenceKeeper(settings.evidence, config.rootpath / evidence_dir)
        self.monitor = monitor_from(
            settings.text,
            settings.value("cdp_metrics_port"),
            root=config.rootpath,
            results=self.results,
            pools=self.pools,
            worker=self.outputs.worker,
            workerinput=getattr(config, "workerinput", None),
        )
        # Under xdist the controller prints the progress lines, not the workers.
        self.progress = Progress(None if self.is_worker else self._write_progress)
        self.conditions = Conditions(settings)
        self.farm_watch = FarmWatch()
        self.run_failed = False

    def _write_progress(self, text: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(text)

    # -- collection ---------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        registered = _registered_cdp_markers(self.config)
        errors = []
        for item in items:
            marks = [(m.name, m.args, m.kwargs) for m in item.iter_markers()]
            spec, error = self.judge.read_markers(item.nodeid, marks, registered)
            if spec is not None:
                item.stash[GATE_KEY] = spec
            marked, throttle_error = self.conditions.read_markers(item.nodeid, marks)
            if marked is not None:
                item.stash[THROTTLE_KEY] = marked
            error = "\n    ".join(e for e in (error, throttle_error) if e) or None
            if error is not None and self.is_worker:
                # A usage error raised in an xdist worker's collection crashes the run with
                # an INTERNALERROR that hides the message: the test reports it instead.
                item.stash[MARKER_ERROR_KEY] = error
            elif error is not None:
                errors.append(error)
        if errors:  # every bad marker of the run, not only the first
            raise pytest.UsageError("\n".join(errors))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.judge.deselected += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self.judge.selected(
                item.stash.get(GATE_KEY, None),
                uses_pages=bool(set(_fixture_names(item)) & set(PAGE_FIXTURES)),
                records=_holds_recorder(item),
            )

    # -- the app under test ---------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        distributed = self.config.pluginmanager.get_plugin("dsession") is not None
        if not self.config.option.collectonly:
            try:
                self.monitor.start(distributed=distributed)
            except CDPAcceptError as exc:
                raise pytest.UsageError(str(exc)) from None
        # Under xdist the controller collects nothing: it checks the app before it
        # starts the workers (which would each fail every test on their own).
        if distributed:
            self._check_app()

    @pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput.update(self.monitor.worker_input())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if self.is_worker or self.config.pluginmanager.get_plugin("dsession") is not None:
            return
        if any(set(_fixture_names(item)) & set(APP_FIXTURES) for item in session.items):
            self._check_app()

    def _check_app(self) -> None:
        """Stop the run before its first test when the app under test does not answer."""
        url = self.settings.text("cdp_base_url")
        if not url or self.config.option.collectonly or self.settings.flag("cdp_no_app_check"):
            return
        problem = app_problem(url)
        if problem is not None:
            raise pytest.UsageError(problem)

    # -- each test: measure, then judge -----------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            self.judge.tests_run += 1
        evidence = getattr(report, "cdp_evidence", None)
        if evidence and report.when == "call" and not self.is_worker:
            attach_to_junit(self.config, report, evidence)
        node = getattr(report, "node", None)  # xdist: the worker that ran it
        worker = node.workerinput["workerid"] if node is not None else self.outputs.worker
        error = getattr(report, ERROR_ATTRIBUTE, None)
        self.monitor.test_report(report.nodeid, worker, report.when, report.outcome, error)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed and call.excinfo is not None:
            if self.monitor.enabled:
                # The error's type, for the monitoring counters; an attribute of the
                # report travels with it from an xdist worker to the controller.
                setattr(report, ERROR_ATTRIBUTE, call.excinfo.typename)
            self._watch_farm(item, call.when, call.excinfo.value)
        self._report_evidence(item, report)
        return report

    def _watch_farm(self, item: pytest.Item, when: str, error: BaseException) -> None:
        """Stop the run once when a test failed because the farm refused it or went away."""
        # This test's setup is counted once its report is logged, after this hook.
        ran = self.judge.tests_run + (when == "setup")
        message = self.farm_watch.failed(item.nodeid, error, ran)
        if message is not None:
            # One message for the run, not an error per test: pytest stops after this
            # test (xdist carries it to the controller and stops the other workers).
            item.session.shouldstop = message

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        error = item.stash.get(MARKER_ERROR_KEY, None)
        if error is not None:
            pytest.fail(f"cdp-accept: usage error: {error}", pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        spec = item.stash.get(GATE_KEY, None)
        probe = item.stash.get(PROBE_KEY, None)  # None: the test uses no cdp fixture
        judged = spec is not None and bool(spec.thresholds)
        if probe is not None and judged:
            assert spec is not None
            probe.before_body(spec.memory)
        try:
            result = yield
        except BaseException as exc:
            if probe is not None and judged:
                probe.after_body()
            if not isinstance(exc, (pytest.skip.Exception, pytest.xfail.Exception)):
                kept = self._keep_evidence(item, failed=True)
                if kept is not None:
                    item.add_report_section("call", "cdp-accept evidence", kept.text())
            raise
        if probe is not None and judged:
            probe.after_body()
        failure = None
        if judged:
            assert spec is not None
            detail: list[str] = item.stash.get(DETAIL_KEY, [])
            failure = self.judge.judge_test(
                item.nodeid,
                spec.thresholds,
                None if probe is None else probe.recorder.by_name(),
                None if probe is None else {**self.conditions.unmeasured, **probe.unmeasured},
                detail,
                None if probe is None else probe.basis,
                None if probe is None else probe.inapplicable,
            )
        kept = self._keep_evidence(item, failed=failure is not None)
        if failure is not None:
            pytest.fail(failure + (f"\n{kept.text()}" if kept else ""), pytrace=False)
        return result

    def _keep_evidence(self, item: pytest.Item, *, failed: bool) -> Kept | None:
        """Keep the evidence of a test whose body ended (see :mod:`.run.evidence`)."""
        if not self.evidence.enabled:
            return None
        probe = item.stash.get(PROBE_KEY, None)
        kept = self.evidence.capture(
            item.nodeid,
            failed=failed,
            samples=[] if probe is None else probe.recorder.all_samples(),
            failed_metrics=self.judge.missed_metrics(item.nodeid),
        )
        if kept is not None:
            item.stash[EVIDENCE_KEY] = kept
            self.results.add_evidence(kept.to_json())
        return kept

    def _report_evidence(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """Put the evidence a test kept on its reports (see pytest_runtest_makereport)."""
        kept = item.stash.get(EVIDENCE_KEY, None)
        if kept is not None and report.when == "call":
            # Plain data: under xdist the report travels to the controller.
            report.cdp_evidence = kept.to_json()  # type: ignore[attr-defined]
        elif (
            kept is not None
            and report.when == "teardown"
            and self.config.getini("junit_logging") in JUNIT_STDOUT
        ):
            # junitxml writes the captured stdout of the teardown report.
            text = junit_attachments(kept.to_json())
            report.sections.append(("Captured stdout cdp-accept evidence", text))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        try:
            return (yield)
        finally:
            self.evidence.finish(item.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Stress, recovery and leak gates run the body in a loop of their own."""
        spec = pyfuncitem.stash.get(GATE_KEY, None)
        request = None if spec is None else spec.loop_request
        if spec is None or request is None:
            return None
        where = f"{pyfuncitem.nodeid}: cdp_{spec.loop}"
        if inspect.iscoroutinefunction(pyfuncitem.obj):
            raise pytest.UsageError(f"{where} needs a plain (sync) test")
        page = pyfuncitem.stash.get(PAGE_KEY, None)
        if page is None:
            raise pytest.UsageError(f"{where} needs the cdp_page fixture")
        funcargs = pyfuncitem.funcargs
        # The test function's own arguments, as pytest's own pytest_pyfunc_call picks
        # them: pytest has no public spelling of this list (pytest-asyncio reads it too).
        kwargs = {arg: funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}

        def body(page: SyncPage) -> object:
            return pyfuncitem.obj(**{**kwargs, "cdp_page": page})

        pool: SyncPool = funcargs["cdp_pool"]  # type: ignore[assignment]  # cdp_page's own
        recorder: MetricsRecorder = funcargs["cdp_metrics"]  # type: ignore[assignment]
        pyfuncitem.stash[DETAIL_KEY] = self.progress.run_loop(
            pyfuncitem.name,
            request,
            self.evidence.loop_body(pyfuncitem.nodeid, body),
            pool,
            page,
            recorder,
            self.judge.factor,
            self.monitor.loop_events(pyfuncitem.nodeid),
        )
        return True

    # -- the run: merge workers, session gates, outputs ---------------------------

    @pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {})
        if output.get(WORKER_OUTPUT):
            self.results.merge_wire(output[WORKER_OUTPUT])
        if output.get(WORKER_SCOPE):
            self.judge.merge_scope(output[WORKER_SCOPE])
        self.monitor.worker_finished(node.workerinput["workerid"], output.get(WORKER_MONITOR))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.pools.close()
        if self.is_worker:
            output = self.config.workeroutput  # type: ignore[attr-defined]
            output[WORKER_OUTPUT] = self.results.to_wire()
            output[WORKER_SCOPE] = self.judge.scope_wire()
            output[WORKER_MONITOR] = self.monitor.worker_wire()
            return
        if self.config.option.collectonly or not self.judge.tests_run:
            return  # nothing ran: no gate to judge, no report to overwrite
        missed = self.judge.judge_session()
        try:
            regressed = self.outputs.write(
                {"factor": self.judge.factor, "record_only": self.judge.record_only}
            )
            self.outputs.notes += self.monitor.finish()
        except CDPAcceptError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.run_failed = missed or regressed
        if self.run_failed and not self.judge.record_only and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        summary = self.outputs.summary(
            factor=self.judge.factor, record_only=self.judge.record_only, run_failed=self.run_failed
        )
        if summary is not None:
            title, lines = summary
            terminalreporter.write_sep("=", title)
            for line in lines:
                terminalreporter.write_line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.pools.close()  # normally already closed by the cdp_pool fixture
        self.monitor.close()


def _manager(config: pytest.Config) -> CDPAccept:
    manager = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(manager, CDPAccept)
    return manager


def _fixture_names(item: pytest.Item) -> tuple[str, ...]:
    """Every fixture a test uses, directly or through other fixtures."""
    return tuple(getattr(item, "fixturenames", ()))


def _registered_cdp_markers(config: pytest.Config) -> set[str]:
    """Marker names starting with cdp_ registered in this run (ours and the project's)."""
    names = set()
    for line in config.getini("markers"):
        name = str(line).split(":", 1)[0].split("(", 1)[0].strip()
        if name.startswith("cdp_"):
            names.add(name)
    return names


def _holds_recorder(item: pytest.Item) -> bool:
    """Whether the test can record metrics of its own: it asks for ``cdp_metrics``
    itself or through a fixture of the project's (ours ask for it only to hand the
    engine the recorder). A test that fetches it with ``request.getfixturevalue`` is
    not seen: name the metric in a marker then.

    pytest has no public view of which fixture asks for which: this reads its
    fixture info, as pytest's own hooks do.
    """
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


def pool_options_from_config(config: pytest.Config) -> PoolOptions:
    """The pool's options from the command line and the ini file (option first)."""
    try:
        return _manager(config).settings.pool_options()
    except CDPAcceptError as exc:
        raise pytest.UsageError(str(exc)) from None


# -- fixtures (each overridable, as in pytest-playwright) --------------------------


@pytest.fixture(scope="session")
def cdp_pool_options(pytestconfig: pytest.Config) -> PoolOptions:
    """The pool's options; override this fixture to set them in code."""
    return pool_options_from_config(pytestconfig)


@pytest.fixture(scope="session")
def cdp_pool(pytestconfig: pytest.Config, cdp_pool_options: PoolOptions) -> Iterator[SyncPool]:
    """The process's browser pool (one per xdist worker); browsers start on first lease."""
    pools = _manager(pytestconfig).pools
    yield pools.get(cdp_pool_options)
    # Closed here, at session teardown: an xdist worker reports "finished" after this
    # and may be torn down before pytest_unconfigure has run to the end.
    pools.close()


@pytest.fixture
def cdp_metrics(request: pytest.FixtureRequest) -> Iterator[MetricsRecorder]:
    """This test's recorder: ``timer(name)``, ``record(name, value)``, ``samples(name)``."""
    from .engine.probe import TestProbe

    recorder = MetricsRecorder()
    request.node.stash[PROBE_KEY] = TestProbe(recorder)
    yield recorder
    properties = _manager(request.config).outputs.test_finished(request.node.nodeid, recorder)
    request.node.user_properties.extend(properties)


def _probe(request: pytest.FixtureRequest) -> TestProbe:
    return request.node.stash[PROBE_KEY]  # type: ignore[no-any-return]


def _label_test(request: pytest.FixtureRequest, isolation: str) -> None:
    """The test's page isolation, a label of its monitoring series."""
    _manager(request.config).monitor.test_labels(request.node.nodeid, isolation=isolation)


def _isolation(request: pytest.FixtureRequest) -> Isolation | None:
    marker = request.node.get_closest_marker("cdp_isolation")
    if marker is None:
        return None
    mode = marker.args[0] if marker.args else marker.kwargs.get("mode")
    try:
        return check_isolation(mode, f"{request.node.nodeid}: cdp_isolation")
    except CDPAcceptError as exc:
        raise pytest.UsageError(str(exc)) from None


def _throttle(request: pytest.FixtureRequest) -> ThrottleProfile | None:
    """The test's throttling profile: its marker's, else the run's (option or ini)."""
    return _manager(request.config).conditions.throttle_of(
        request.node.stash.get(THROTTLE_KEY, None)
    )


@contextlib.contextmanager
def _farm_failures() -> Iterator[None]:
    """A farm that refuses, is full or is gone fails the test with its message alone: the
    frames of the pool and the sync layer under it help nobody (and take a second to
    print). The farm's error stays the failure's context, for the run's FarmWatch."""
    try:
        yield
    except CDPAcceptError as exc:
        if type(exc).__name__ not in FARM_FAILURES:
            raise
        failure = pytest.fail.Exception(str(exc), pytrace=False)
        raise failure from None  # shown alone; __context__ still holds the farm's error


FARM_FAILURES = frozenset(
    {"FarmAuthError", "FarmBusyError", "FarmRequestError", "FarmUnreachableError", "FarmGoneError"}
)


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


def _lease_page(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> SyncPage:
    """The test's page, leased as its markers ask, watched by its memory probe; it waits
    at release for a first paint still due when a gate reads fcp or lcp."""
    isolation, fresh_browser = _page_needs(request)
    with _farm_failures():
        page = cdp_pool.acquire_page(
            cdp_metrics, isolation, fresh_browser=fresh_browser, throttle=_throttle(request)
        )
    _probe(request).use(page.runner, page.core.browser, page.core)
    _label_test(request, isolation or cdp_pool.options.isolation)
    page.core.paint_due = _manager(request.config).judge.gates_paint(
        request.node.stash.get(GATE_KEY, None)
    )
    return page


@pytest.fixture
def cdp_page(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[SyncPage]:
    """A clean page on a pooled browser (see ``--cdp-isolation``)."""
    page = _lease_page(request, cdp_pool, cdp_metrics)
    request.node.stash[PAGE_KEY] = page  # for the stability loops
    evidence = _manager(request.config).evidence
    try:
        evidence.watch(request.node.nodeid, page, request.node.stash.get(GATE_KEY, None))
        yield page
    finally:
        evidence.release(request.node.nodeid, page)
        cdp_pool.release_page(page)


@pytest.fixture
def cdp_async_page(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[AsyncPage]:
    """``cdp_page`` for asyncio tests: the same page, with awaitable methods."""
    from .engine.sync import AsyncPage

    page = _lease_page(request, cdp_pool, cdp_metrics)
    evidence = _manager(request.config).evidence
    try:
        evidence.watch(request.node.nodeid, page, request.node.stash.get(GATE_KEY, None))
        yield AsyncPage(page.runner, page.core)
    finally:
        evidence.release(request.node.nodeid, page)
        cdp_pool.release_page(page)


@pytest.fixture
def cdp_browser(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[SyncBrowser]:
    """A browser leased from the pool; pages it opens close at teardown; replaced if it died."""
    spec = request.node.stash.get(GATE_KEY, None)
    fresh = spec is not None and spec.fresh_browser
    with _farm_failures():
        browser = cdp_pool.acquire_browser(cdp_metrics, fresh=fresh)
    browser.throttle = _throttle(request)
    probe = _probe(request)
    probe.use(browser.runner, browser.core)
    evidence = _manager(request.config).evidence
    nodeid = request.node.nodeid

    def opened(page: Page) -> None:
        from .engine.sync import SyncPage

        probe.use(browser.runner, page.browser, page)
        evidence.watch(nodeid, SyncPage(browser.runner, page), spec)

    browser.on_new_page = opened
    try:
        yield browser
    finally:
        evidence.finish(nodeid)  # its pages close with the lease
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

    runner = cdp_pool.runner
    fleet = Fleet(cdp_pool_options, cdp_metrics, _throttle(request))
    probe = _probe(request)
    try:
        with _farm_failures():
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
    value = _manager(pytestconfig).settings.text("cdp_base_url")
    if value:
        return value
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
def cdp_site(pytestconfig: pytest.Config) -> Iterator[LocalSite]:
    """The built-in local test site on 127.0.0.1 (see :mod:`pytest_cdp_accept.site`), or
    where ``--cdp-site-host`` / ``--cdp-site-url`` put it for a farm's browsers."""
    from .engine.farm_endpoint import redact
    from .site import LocalSite, site_port

    settings = _manager(pytestconfig).settings
    public = settings.text("cdp_site_url")
    host = settings.text("cdp_site_host") or "127.0.0.1"
    try:
        site = LocalSite(host, site_port(public) if public else 0, public_url=public)
    except ValueError as exc:
        raise pytest.UsageError(redact(f"--cdp-site-url: {exc}")) from None
    try:
        site.start()
    except OSError as exc:
        raise pytest.UsageError(
            f"--cdp-site-host {host} / --cdp-site-url: the built-in site cannot listen there: {exc}"
        ) from None
    try:
        yield site
    finally:
        site.close()


JUNIT_STDOUT = ("system-out", "out-err", "all")
"""``junit_logging`` values that write the captured stdout to system-out."""


def junit_attachments(evidence: Any) -> str:
    """The evidence paths as ``[[ATTACHMENT|path]]`` lines, the convention Jenkins and
    GitLab read from a test case's system-out."""
    files = evidence.get("files") or [] if isinstance(evidence, dict) else []
    return "\n".join(f"[[ATTACHMENT|{Path(f['path']).resolve()}]]" for f in files)


def attach_to_junit(config: pytest.Config, report: pytest.TestReport, evidence: Any) -> None:
    """Write the attachment lines as the test case's system-out, when pytest writes
    none of its own (``junit_logging`` left at ``no``; otherwise they travel in the
    captured stdout, see ``pytest_runtest_makereport``).

    pytest has no public way to add to a test case's XML: this uses its junitxml
    plugin's node reporter, as pytest's own ``record_*`` fixtures do.
    """
    from xml.etree import ElementTree

    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    text = junit_attachments(evidence)
    if xml is None or not text or config.getini("junit_logging") in JUNIT_STDOUT:
        return
    node = ElementTree.Element("system-out")
    node.text = text
    xml.node_reporter(report).append(node)
