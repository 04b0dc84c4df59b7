"""Per-test measurement of the browsers a test used: memory, JS heap, health.

A :class:`TestProbe` is told which browsers and pages a test leased. For
``cdp_memory`` it samples the PSS of those browsers' process trees in a
background thread while the body runs (``memory.peak``), waits for memory to
settle after the body (``memory.idle``), and reads each page's JS heap
(``memory.js_heap``). PSS comes from psutil, so no CDP traffic disturbs the
test while it runs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable

from ..errors import CDPAcceptError
from ..metrics import MetricsRecorder
from .browser import Browser, MemoryInfo, Page, memory_of
from .fleet import Fleet
from .sync import LoopThread

PEAK_INTERVAL = 0.1  # seconds between PSS samples while the body runs
SETTLE_STEP = 0.1
SETTLE_MAX = 2.0  # at most this long waiting for memory to settle after the body
SETTLE_TOLERANCE_MB = 2.0
MB = 1024.0 * 1024.0
REMOTE = (
    "not measurable: the test's browsers are remote (--cdp-endpoint), and PSS is read "
    "from local processes; gate memory where the browser is launched"
)


def pss_of(browsers: Iterable[Browser]) -> MemoryInfo:
    """PSS/RSS summed over the process trees of local browsers (remote ones count 0)."""
    procs = []
    for browser in browsers:
        if browser.process is not None and browser.is_alive():
            procs += browser.process.process_tree()
    return memory_of(procs)


class TestProbe:
    """What one test used, and what it cost."""

    __test__ = False  # not a pytest test class

    def __init__(self, recorder: MetricsRecorder) -> None:
        self.recorder = recorder
        self.fleet: Fleet | None = None
        self.browsers: list[Browser] = []
        self.pages: list[Page] = []
        self._runner: LoopThread | None = None
        self._peak = 0.0
        self._peak_rss = 0.0
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        # Why a metric got no samples, for the verdict: metric -> reason.
        self.unmeasured: dict[str, str] = {}

    def use(self, runner: LoopThread, browser: Browser, page: Page | None = None) -> None:
        self._runner = runner
        if browser not in self.browsers:
            self.browsers.append(browser)
        if page is not None and page not in self.pages:
            self.pages.append(page)

    def _local_browsers(self, metric: str) -> list[Browser]:
        """The test's browsers whose processes we can read; notes why when there are none."""
        local = [b for b in self.browsers if b.process is not None]
        if self.browsers and not local:
            self.unmeasured[metric] = REMOTE
        return local

    # -- peak ---------------------------------------------------------------------

    def start_peak(self) -> None:
        self._stop.clear()
        self._sampler = threading.Thread(target=self._sample, name="cdp-peak", daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a browser may die mid-sample
                self._take_peak_sample()
            self._stop.wait(PEAK_INTERVAL)

    def _take_peak_sample(self) -> None:
        memory = pss_of(list(self.browsers))
        self._peak = max(self._peak, memory.pss_mb)
        self._peak_rss = max(self._peak_rss, memory.rss_mb)

    def stop_peak(self) -> None:
        if self._sampler is None:
            return
        self._stop.set()
        self._sampler.join(5)
        self._sampler = None
        with contextlib.suppress(Exception):
            self._take_peak_sample()
        if self._local_browsers("memory.peak"):
            self.recorder.record("memory.peak", self._peak)
            self.recorder.record("memory.peak_rss", self._peak_rss)  # secondary figure

    # -- after the body -----------------------------------------------------------------

    def measure_idle(self) -> None:
        """Wait (up to 2 s) until PSS changes by less than 2 MB in 100 ms; record it."""
        browsers = self._local_browsers("memory.idle")
        if not browsers:
            return
        deadline = time.monotonic() + SETTLE_MAX
        last = pss_of(browsers)
        while time.monotonic() < deadline:
            time.sleep(SETTLE_STEP)
            now = pss_of(browsers)
            settled = abs(now.pss_mb - last.pss_mb) < SETTLE_TOLERANCE_MB
            last = now
            if settled:
                break
        self.recorder.record("memory.idle", last.pss_mb)
        self.recorder.record("memory.idle_rss", last.rss_mb)  # secondary figure

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
