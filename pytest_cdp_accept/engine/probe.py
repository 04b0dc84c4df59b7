"""Per-test measurement of what a test used: memory, JS heap, fleet health.

A :class:`TestProbe` is told which browsers and pages a test leased and which
memory figures it asks for (see :mod:`pytest_cdp_accept.engine.memory` for
what a figure counts):

``memory.idle`` / ``memory.peak``
    The footprint of the processes that render the test's pages. They are found
    by a trace of each page (:meth:`Page.renderer_pids`) before the body and
    after it; no CDP traffic disturbs the body itself. While the body runs a
    background thread reads the footprint of every renderer of the test's
    browsers from ``/proc``; once the body is over, the peak is the highest sum,
    at one sampling moment, over the renderers found before or after it. Idle is
    read after the body, once the pages' garbage is collected and the figure
    settles.
``memory.browser_idle`` / ``memory.browser_peak``
    The same for every process of the test's browsers (the tracing service the
    lookups start left out). The plugin hands such a test a browser launched for
    it, so the figure does not carry what earlier tests did.
``memory.js_heap``
    The largest ``JSHeapUsedSize`` among the test's live pages, read before the
    garbage collection.

Browsers that were not launched here are read the same way when they run on
this host (a farm on loopback: :attr:`Browser.local_pid`). A farm's browser
on another host is read once after the body, from a ``memory-infra`` dump of
Chrome's *private memory footprint* per process (idle: the test's renderers;
browser_idle: every process), and :attr:`TestProbe.basis` says so; the peaks,
sampled from ``/proc`` while the body runs, are not measurable there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterable

from ..errors import CDPAcceptError
from ..metrics import MetricsRecorder
from . import remote
from .browser import Browser, Page
from .fleet import Fleet
from .memory import MemoryInfo, ProcessMemory, ProcessRoles, memory_of_pids, read_process, total
from .sync import LoopThread

PEAK_INTERVAL = 0.1  # seconds between samples while the body runs (at least)
PEAK_LOAD = 3.0  # ... and at least this many times what the last sample took to read
SETTLE_STEP = 0.1
SETTLE_MAX = 2.0  # at most this long waiting for memory to settle after the body
SETTLE_TOLERANCE_MB = 1.0  # settled: changed by less than this (or 2 %) in one step
SETTLE_TOLERANCE_SHARE = 0.02
LOOKUP_TIMEOUT = 10.0
MB = 1024.0 * 1024.0
REMOTE = (
    "not measurable here: the test's browsers run on another host and refuse memory-infra "
    "tracing (the only remote memory figure); gate memory where the browser is launched, or "
    "on a farm that allows Tracing"
)
REMOTE_PEAK = (
    "not measurable here: a peak is sampled from local processes while the body runs, and the "
    "test's browsers run on another host (their idle memory is read after the body)"
)
REMOTE_BASIS = (
    "Chrome's private memory footprint (memory-infra dump of the remote browser), not the "
    "footprint read from /proc"
)
NO_PAGE = "not measurable: the test has no live page whose renderer could be read"
TEST_FIGURES = frozenset({"idle", "peak"})
BROWSER_FIGURES = frozenset({"browser_idle", "browser_peak"})


def pss_of(browsers: Iterable[Browser]) -> MemoryInfo:
    """The figures summed over the process trees of local browsers (remote ones count 0)."""
    roles = ProcessRoles()
    pids = []
    for browser in browsers:
        if browser.local_pid is not None and browser.is_alive():
            pids += [pid for pid, _ in roles.tree(browser.local_pid)]
    return memory_of_pids(pids)


async def _finish_all(pages: Iterable[Page]) -> None:
    await asyncio.gather(*(page.finish_vitals() for page in pages))


class _Sample:
    """One sampling moment: each renderer's figures, and each whole tree's."""

    __slots__ = ("renderers", "trees")

    def __init__(self) -> None:
        self.renderers: dict[int, ProcessMemory] = {}
        self.trees = MemoryInfo(0.0, 0.0, 0)


class TestProbe:
    """What one test used, and what it cost."""

    __test__ = False  # not a pytest test class

    def __init__(self, recorder: MetricsRecorder) -> None:
        self.recorder = recorder
        self.fleet: Fleet | None = None
        self.browsers: list[Browser] = []
        self.pages: list[Page] = []
        self.figures: frozenset[str] = frozenset()
        self._runner: LoopThread | None = None
        self._roles = ProcessRoles()
        self._start_pids: set[int] = set()
        self._lookup_error = ""
        self._samples: list[_Sample] = []
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        # Why a metric got no samples, for the verdict: metric -> reason.
        self.unmeasured: dict[str, str] = {}
        # What a metric's samples are, when not the usual figure: metric -> description.
        self.basis: dict[str, str] = {}
        # What cannot be measured where the test ran (n/a, with the reason): metric -> why.
        self.inapplicable: dict[str, str] = {}

    def use(self, runner: LoopThread, browser: Browser, page: Page | None = None) -> None:
        self._runner = runner
        if browser not in self.browsers:
            self.browsers.append(browser)
        if page is not None and page not in self.pages:
            self.pages.append(page)

    def finish_vitals(self) -> None:
        """Record the Web Vitals of each page's last navigation, before the test is judged
        (the pool would record them only when the page goes back, after the verdict)."""
        pages = [p for p in self.pages if not (p.closed or p.crashed)]
        if pages and self._runner is not None:
            with contextlib.suppress(CDPAcceptError):
                self._runner.run(_finish_all(pages))

    def _local_browsers(self) -> list[Browser]:
        """The test's browsers whose processes are on this host."""
        return [b for b in self.browsers if b.local_pid is not None]

    def _live_pages(self, *, local: bool = True) -> list[Page]:
        return [
            p
            for p in self.pages
            if (p.browser.local_pid is not None) == local and not (p.closed or p.crashed)
        ]

    # -- around the body ---------------------------------------------------------------

    def before_body(self, figures: Iterable[str]) -> None:
        """Find the renderers the body starts with and start sampling, as ``figures``
        (any of idle, peak, js_heap, browser_idle, browser_peak) need."""
        self.figures = frozenset(figures)
        if "peak" in self.figures:
            self._start_pids = self._renderer_pids()
        if self.figures & {"peak", "browser_peak"} and self._local_browsers():
            self._stop.clear()
            self._sampler = threading.Thread(target=self._sample, name="cdp-peak", daemon=True)
            self._sampler.start()

    def after_body(self) -> None:
        """Stop sampling; record every figure asked for (and the fleet's health)."""
        self._stop_sampler()
        self.finish_vitals()
        self.measure_fleet()
        if "js_heap" in self.figures:
            self.measure_js_heap()
        memory = self.figures & (TEST_FIGURES | BROWSER_FIGURES)
        if not memory:
            return
        if not self._local_browsers():
            if self.browsers:
                self._record_remote(memory)
            return
        if memory & {"idle", "browser_idle"}:
            self._collect_garbage()
        end_pids = self._renderer_pids() if memory & TEST_FIGURES else set()
        if memory & TEST_FIGURES:
            self._record_renderers(memory, end_pids)
        settled = 0.0  # the idle reading counts as a sample of the peak
        if "browser_idle" in memory:
            settled = self._settled(self._trees).footprint_mb
            self.recorder.record("memory.browser_idle", settled)
        if "browser_peak" in memory:
            final = self._take_sample()
            highest = max(s.trees.footprint_mb for s in [*self._samples, final])
            self.recorder.record("memory.browser_peak", max(highest, settled))

    # -- sampling while the body runs ----------------------------------------------------

    def _sample(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            with contextlib.suppress(Exception):  # a browser may die mid-sample
                self._samples.append(self._take_sample())
            took = time.perf_counter() - start
            # Reading /proc costs a few ms per process: never more than a third of a core.
            self._stop.wait(max(PEAK_INTERVAL, PEAK_LOAD * took))

    def _take_sample(self) -> _Sample:
        sample = _Sample()
        whole = "browser_peak" in self.figures
        tree_figures: list[ProcessMemory] = []
        for browser in self._local_browsers():
            assert browser.local_pid is not None
            for pid, role in self._roles.tree(browser.local_pid):
                if role != "renderer" and not whole:
                    continue
                figures = read_process(pid)
                if figures is None:
                    continue
                if role == "renderer":
                    sample.renderers[pid] = figures
                tree_figures.append(figures)
        if whole:
            sample.trees = total(tree_figures)
        return sample

    def _stop_sampler(self) -> None:
        if self._sampler is None:
            return
        self._stop.set()
        self._sampler.join(5)
        self._sampler = None

    def _record_renderers(self, memory: frozenset[str], end_pids: set[int]) -> None:
        why = NO_PAGE
        if self._lookup_error:
            why = (
                "not measurable: the renderer of the test's pages was not found "
                f"({self._lookup_error})"
            )
        idle: MemoryInfo | None = None
        if "idle" in memory:
            if end_pids:
                idle = self._settled(lambda: memory_of_pids(end_pids))
                self.recorder.record("memory.idle", idle.footprint_mb)
                self.recorder.record("memory.idle_rss", idle.rss_mb)  # secondary figure
            else:
                self.unmeasured["memory.idle"] = why
        if "peak" in memory:
            if self._start_pids or end_pids:
                self._record_peak(self._start_pids | end_pids, floor=idle)
            else:
                self.unmeasured["memory.peak"] = why

    def _record_peak(self, pids: set[int], *, floor: MemoryInfo | None) -> None:
        """The highest footprint of the samples; the idle reading, taken once the body's
        work died down, counts as a sample too (a page still growing at the body's end
        holds more after it than in any sample taken while it ran)."""
        samples = [*self._samples, self._take_sample()]
        footprint = floor.footprint_mb if floor else 0.0
        rss = floor.rss_mb if floor else 0.0
        for sample in samples:
            mine = [sample.renderers[pid] for pid in pids if pid in sample.renderers]
            footprint = max(footprint, sum(m.footprint_mb for m in mine))
            rss = max(rss, sum(m.rss_mb for m in mine))
        self.recorder.record("memory.peak", footprint)
        self.recorder.record("memory.peak_rss", rss)  # secondary figure

    # -- after the body --------------------------------------------------------------------

    def _trees(self) -> MemoryInfo:
        pids: list[int] = []
        for browser in self._local_browsers():
            assert browser.local_pid is not None
            pids += [pid for pid, _ in self._roles.tree(browser.local_pid)]
        return memory_of_pids(pids)

    @staticmethod
    def _settled(read: Callable[[], MemoryInfo]) -> MemoryInfo:
        """Read until the footprint changes by less than 1 MB (or 2 %) in 100 ms (2 s
        at most): what the processes hold once the body's work has died down."""
        deadline = time.monotonic() + SETTLE_MAX
        last = read()
        while time.monotonic() < deadline:
            time.sleep(SETTLE_STEP)
            now = read()
            tolerance = max(SETTLE_TOLERANCE_MB, SETTLE_TOLERANCE_SHARE * last.footprint_mb)
            settled = abs(now.footprint_mb - last.footprint_mb) < tolerance
            last = now
            if settled:
                break
        return last

    def _record_remote(self, memory: frozenset[str]) -> None:
        """Browsers on another host: one memory-infra dump each after the body."""
        for figure in memory & {"peak", "browser_peak"}:
            self.inapplicable[f"memory.{figure}"] = REMOTE_PEAK
        wanted = memory & {"idle", "browser_idle"}
        if not wanted or self._runner is None:
            return
        self._collect_garbage(local=False)
        renderers = self._renderer_pids(local=False) if "idle" in wanted else set()
        browsers = [b for b in self.browsers if b.is_alive()]

        async def dumps() -> list[dict[int, float] | None]:
            return list(
                await asyncio.gather(*(remote.private_footprints(b.session) for b in browsers))
            )

        readings = [r for r in self._runner.run(dumps()) if r is not None]
        if not readings:
            for figure in wanted:
                self.inapplicable[f"memory.{figure}"] = REMOTE
            return
        if "browser_idle" in wanted:
            self.recorder.record("memory.browser_idle", sum(sum(r.values()) for r in readings))
            self.basis["memory.browser_idle"] = REMOTE_BASIS
        if "idle" in wanted:
            mine = [mb for r in readings for pid, mb in r.items() if pid in renderers]
            if mine:
                self.recorder.record("memory.idle", sum(mine))
                self.basis["memory.idle"] = REMOTE_BASIS
            else:
                self.unmeasured["memory.idle"] = NO_PAGE

    def _renderer_pids(self, *, local: bool = True) -> set[int]:
        """The processes rendering the test's live pages (traced one page at a time per
        browser: a browser runs one trace at once)."""
        pages = self._live_pages(local=local)
        if self._runner is None or not pages:
            return set()

        async def lookup() -> set[int]:
            by_browser: dict[Browser, list[Page]] = {}
            for page in pages:
                by_browser.setdefault(page.browser, []).append(page)

            async def one_browser(listed: list[Page]) -> set[int]:
                found: set[int] = set()
                for page in listed:
                    try:
                        found |= await page.renderer_pids(timeout=LOOKUP_TIMEOUT)
                    except (CDPAcceptError, asyncio.TimeoutError) as exc:
                        self._lookup_error = f"{type(exc).__name__}: {exc}"
                return found

            results = await asyncio.gather(*(one_browser(p) for p in by_browser.values()))
            return set().union(*results)

        return self._runner.run(lookup())

    def _collect_garbage(self, *, local: bool = True) -> None:
        """Collect the garbage of the test's pages, so that when V8 last did does not
        decide the figure."""
        pages = self._live_pages(local=local)
        if self._runner is None or not pages:
            return

        async def collect() -> None:
            async def one(page: Page) -> None:
                with contextlib.suppress(CDPAcceptError):
                    await page.session.send("HeapProfiler.collectGarbage", timeout=10)

            await asyncio.gather(*(one(page) for page in pages))

        self._runner.run(collect())

    def measure_fleet(self) -> None:
        """How much of the fleet is still healthy after the body."""
        if self.fleet is not None:
            browsers, pages = self.fleet.health()
            self.recorder.record("fleet.browsers", browsers)
            self.recorder.record("fleet.pages", pages)

    def measure_js_heap(self) -> None:
        """The largest ``JSHeapUsedSize`` among the test's live pages, in MB."""
        if self._runner is None:
            return
        sizes = []
        for page in self.pages:
            if page.closed or page.crashed:
                continue
            with contextlib.suppress(CDPAcceptError):
                metrics = self._runner.run(page.metrics())
                sizes.append(metrics.get("JSHeapUsedSize", 0.0) / MB)
        if sizes:
            self.recorder.record("memory.js_heap", max(sizes))
