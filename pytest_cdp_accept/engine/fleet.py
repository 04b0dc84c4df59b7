"""A fleet: N browsers and M pages brought up at once, for concurrency gates.

The fleet launches its own browsers (the pool stays as it is; on a farm it
opens one connection per browser), all in parallel, then opens the pages
spread evenly over them, all in parallel, and records how long that took
(``fleet.startup``) along with every launch (``fleet.launch``: parallel
launches, apart from ``startup``) and page (``page_open``).
:meth:`SyncFleet.map` runs a function on every page at once, from one thread
per page (the sync API is thread-safe), and returns the results in page order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from ..errors import CDPAcceptError, UsageError
from ..metrics import NULL_RECORDER, Recorder
from . import launcher
from .browser import Browser, Page
from .pool import PoolOptions, farm_browser, farm_connector, launch_with
from .sync import LoopThread, SyncBrowserView, SyncPage
from .throttle import ThrottleProfile

T = TypeVar("T")


class Fleet:
    """The asyncio side: launch, open, check, close."""

    def __init__(
        self,
        options: PoolOptions,
        recorder: Recorder = NULL_RECORDER,
        throttle: ThrottleProfile | None = None,
    ) -> None:
        self.options = options
        self.recorder = recorder
        self.throttle = throttle
        self.browsers: list[Browser] = []
        self.pages: list[Page] = []
        self.startup_ms = 0.0

    async def up(self, browsers: int, pages: int) -> None:
        if browsers < 1 or pages < browsers:
            raise UsageError(f"a fleet needs 1 <= browsers <= pages, got {browsers}/{pages}")
        if self.options.endpoints:
            raise UsageError(
                "cdp_fleet starts its own browsers; with --cdp-endpoint there are only the "
                "running ones. Use --cdp-farm for a farm that starts a browser per connection"
            )
        start_browser = self._starter()
        start = time.perf_counter()
        slots: list[list[Page]] = [[] for _ in range(browsers)]

        async def open_page(browser: Browser, context_id: str) -> Page:
            opened = time.perf_counter()
            # A window each, in the browser's one context: as tabs of one window, all but
            # one would go undrawn and get about one animation frame a second.
            page = await browser.new_page(context_id)
            await page.set_throttle(self.throttle)
            page.recorder = self.recorder
            page.navigation_metric = "fleet.navigation"
            page.action_metric = "fleet.action"
            self.recorder.record("page_open", (time.perf_counter() - opened) * 1000.0)
            return page

        async def bring_up(index: int) -> None:
            # Each browser opens its pages as soon as it is up: on a few cores the
            # launches and the page openings of different browsers fill each other's gaps.
            browser = await start_browser()
            self.browsers.append(browser)  # closed by close() whatever happens next
            # Ten launches at once on a few cores are not "a browser startup": kept apart.
            self.recorder.record("fleet.launch", browser.startup_ms)
            # One browser context per browser, like a user's profile: in-memory storage
            # and HTTP cache make its pages' navigations cheaper than the on-disk default.
            context_id = await browser.new_context()
            count = len(range(index, pages, browsers))
            slots[index] = list(
                await asyncio.gather(*(open_page(browser, context_id) for _ in range(count)))
            )

        outcomes = await asyncio.gather(
            *(bring_up(i) for i in range(browsers)), return_exceptions=True
        )
        failures = [e for e in outcomes if isinstance(e, BaseException)]
        if failures:
            raise failures[0]
        # Page i lives on browser i % browsers, as map() and the docs promise.
        self.pages = [slots[i % browsers][i // browsers] for i in range(pages)]
        self.startup_ms = (time.perf_counter() - start) * 1000.0
        self.recorder.record("fleet.startup", self.startup_ms)

    def _starter(self) -> Callable[[], Awaitable[Browser]]:
        """How the fleet gets each browser: a local launch, or a connection to the farm
        (one connector for the fleet: it counts its own connections on their way)."""
        options = self.options
        if options.farm is None:
            executable = launcher.find_browser(options.executable)
            return partial(launch_with, options, executable)
        connector = farm_connector(options)

        async def connect() -> Browser:
            link, browser = await farm_browser(connector, options)
            self.recorder.record("farm.queue", link.queue_ms)
            return browser

        return connect

    def health(self) -> tuple[int, int]:
        """(browsers alive, pages alive)."""
        alive = [b for b in self.browsers if b.is_alive()]
        pages = [p for p in self.pages if p.browser in alive and not p.crashed and not p.closed]
        return len(alive), len(pages)

    async def close(self) -> None:
        # The last navigation of each page is recorded first (fleet.lcp, ...).
        with contextlib.suppress(CDPAcceptError):
            await asyncio.gather(*(p.finish_vitals() for p in self.pages), return_exceptions=True)
        browsers, self.browsers = self.browsers, []
        with contextlib.suppress(CDPAcceptError):
            await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)


class SyncFleet:
    """``cdp_fleet``: the browsers and pages of a :class:`Fleet`, blocking API."""

    def __init__(self, runner: LoopThread, fleet: Fleet) -> None:
        self._runner = runner
        self._fleet = fleet
        self.pages = [SyncPage(runner, page) for page in fleet.pages]

    def __repr__(self) -> str:
        alive, pages = self._fleet.health()
        return f"<SyncFleet browsers={alive}/{len(self._fleet.browsers)} pages={pages}>"

    @property
    def browsers(self) -> Sequence[SyncBrowserView]:
        """The fleet's browsers, blocking API (pid, version, is_alive, memory, kill)."""
        return tuple(SyncBrowserView(self._runner, b) for b in self._fleet.browsers)

    @property
    def startup_ms(self) -> float:
        return self._fleet.startup_ms

    def map(self, fn: Callable[[SyncPage], T]) -> list[T]:
        """Run ``fn(page)`` on every page at once; results in page order.

        Every call runs to its end; then the first failure (in page order), if
        any, is raised.
        """
        with ThreadPoolExecutor(max_workers=len(self.pages), thread_name_prefix="fleet") as pool:
            futures = [pool.submit(fn, page) for page in self.pages]
            errors = [f.exception() for f in futures]
        failed = [e for e in errors if e is not None]
        if failed:
            first = failed[0]
            if hasattr(first, "add_note"):
                first.add_note(f"cdp_fleet.map: {len(failed)} of {len(self.pages)} pages failed")
            raise first
        return [f.result() for f in futures]

    def health(self) -> tuple[int, int]:
        return self._fleet.health()
