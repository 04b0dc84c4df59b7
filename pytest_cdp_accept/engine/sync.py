"""Sync and async facades over the asyncio core, which runs on its own loop thread.

The core (connections, pages, the pool) lives on one event loop in a daemon
thread (:class:`LoopThread`). :class:`SyncPage` and friends call into it and
block; they are thread-safe, so stress runs can call them from many threads.
:class:`AsyncPage` and friends do the same for asyncio code running on any
other loop (pytest-asyncio tests): they await the core's result without
blocking their loop. Neither needs an asyncio plugin.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ..errors import PoolClosedError, UsageError
from ..metrics import NULL_RECORDER, Recorder
from .browser import Browser, HeapUsage, MemoryInfo, Navigation, Page, WaitUntil
from .pool import BrowserPool, Isolation, PageLease, PooledBrowser, PoolOptions, PoolState
from .sync_actions import AsyncPageActions, SyncPageActions
from .throttle import ThrottleProfile
from .vitals import Vitals

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self, name: str = "cdp-accept-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def __repr__(self) -> str:
        return f"<LoopThread {self._thread.name} alive={self._thread.is_alive()}>"

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if threading.current_thread() is self._thread:
            coro.close()
            raise UsageError(
                "the sync API was called from inside its own event loop; "
                "use the async fixtures (cdp_async_page, ...) in asyncio code"
            )
        if self.loop.is_closed() or not self._thread.is_alive():
            coro.close()
            raise PoolClosedError(
                "this page or browser belongs to a pool that is closed (its event loop "
                "has stopped): keep using it only inside the test or fixture that got it"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result in this thread."""
        future = self.submit(coro)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Call a plain function on the loop thread and wait for its result: the core's
        bookkeeping (listener counts, say) is the loop thread's alone, unlocked."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        return self.run(_called(fn, *args))

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine that runs on this loop, from another loop."""
        return await asyncio.wrap_future(self.submit(coro))

    def close(self) -> None:
        """Cancel what still runs on the loop (as ``asyncio.run`` does at its end), so no
        task or subprocess transport outlives the loop half-done, then stop it."""
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            settled = asyncio.run_coroutine_threadsafe(_cancel_the_rest(), self.loop)
            with contextlib.suppress(Exception):
                settled.result(timeout=CLOSE_GRACE + 1)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


CLOSE_GRACE = 2.0
"""Seconds the tasks left on a closing loop get to finish their cancellation."""


async def _cancel_the_rest() -> None:
    rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    if rest:
        await asyncio.wait(rest, timeout=CLOSE_GRACE)
    await asyncio.get_running_loop().shutdown_asyncgens()


async def _called(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class _Facade:
    """Shared plumbing: which loop to run on and how (sync or async)."""

    def __init__(self, runner: LoopThread) -> None:
        self._runner = runner

    @property
    def runner(self) -> LoopThread:
        """The loop thread the asyncio core behind this object runs on: code that drives
        the core directly (a fleet, a probe) runs its coroutines there."""
        return self._runner


# -- sync ---------------------------------------------------------------------


class SyncPage(_Facade, SyncPageActions):
    """A page, blocking API. ``cdp_page`` gives one of these.

    A page from :meth:`SyncPool.acquire_page` holds its pool lease until
    :meth:`SyncPool.release_page`. If its browser dies, :meth:`SyncPool.replace_page`
    moves the handle to a page on a healthy browser: whoever holds the handle keeps
    using it.
    """

    def __init__(self, runner: LoopThread, page: Page, lease: PageLease | None = None) -> None:
        super().__init__(runner)
        self._page = page
        self._lease = lease
        self._offs: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return repr(self._page).replace("<Page", "<SyncPage", 1)

    @property
    def core(self) -> Page:
        """The asyncio :class:`~pytest_cdp_accept.engine.browser.Page` behind this handle,
        for coroutines run on :attr:`runner` (it changes when :meth:`SyncPool.replace_page`
        moves the handle)."""
        return self._page

    @property
    def browser(self) -> SyncBrowserView:
        """The browser this page lives on: pid, version, is_alive, memory, kill."""
        return SyncBrowserView(self._runner, self._page.browser)

    @property
    def navigation_metric(self) -> str:
        """The metric :meth:`goto` records into: ``navigation``, or the name a loop under
        load gives its navigations (``stress.navigation``, ``recovery.navigation``)."""
        return self._page.navigation_metric

    @navigation_metric.setter
    def navigation_metric(self, name: str) -> None:
        self._page.navigation_metric = name

    @property
    def action_metric(self) -> str:
        """The metric actions record into: ``action``, or a loop's own
        (``stress.action``, ``recovery.action``)."""
        return self._page.action_metric

    @action_metric.setter
    def action_metric(self, name: str) -> None:
        self._page.action_metric = name

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def target_id(self) -> str:
        return self._page.target_id

    @property
    def crashed(self) -> bool:
        return self._page.crashed

    @property
    def browser_pid(self) -> int | None:
        return self._page.browser.pid

    def goto(
        self,
        url: str,
        *,
        wait_until: WaitUntil = "load",
        timeout: float | None = None,
        check_status: bool = True,
        record: bool = True,
    ) -> Navigation:
        """Navigate; see :meth:`pytest_cdp_accept.engine.browser.Page.goto`.

        ``record=False`` leaves the navigation out of the test's metrics (recovery
        restoring a page after a fault is not the navigation being measured).
        """
        return self._runner.run(
            self._page.goto(
                url,
                wait_until=wait_until,
                timeout=timeout,
                check_status=check_status,
                record=record,
            )
        )

    def evaluate(self, expression: str, *, timeout: float | None = None) -> Any:
        return self._runner.run(self._page.evaluate(expression, timeout=timeout))

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        return self._runner.run(self._page.send(method, params, timeout=timeout))

    def metrics(self) -> dict[str, float]:
        return self._runner.run(self._page.metrics())

    def heap_usage(self) -> HeapUsage:
        """JS heap and DOM counters after a forced garbage collection (leak sampling)."""
        return self._runner.run(self._page.heap_usage())

    def vitals(self) -> Vitals:
        """The Web Vitals and weight of the current navigation so far: ``lcp``, ``cls``,
        ``inp``, ``transfer_kb``, ... (None where not measured yet; see docs/vitals.md).
        The figures recorded for the navigation are the ones it has when it ends."""
        return self._runner.run(self._page.vitals())

    @property
    def throttle(self) -> ThrottleProfile | None:
        """The throttling profile the page runs under (None: full speed)."""
        return self._page.throttle

    def crash(self) -> None:
        self._runner.run(self._page.crash())

    def close(self) -> None:
        self._runner.run(self._page.close())

    def on(self, event: str, handler: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``handler(params)`` (on the loop thread) for every CDP ``event`` of this page.

        Handlers are removed when the page goes back to the pool.
        """
        off = self._runner.call(self._page.session.on, event, handler)
        self._offs.append(off)
        return lambda: self._runner.call(off)

    def wait_for(self, event: str, *, timeout: float = 30.0) -> dict[str, Any]:
        return self._runner.run(self._page.session.wait_for(event, timeout=timeout))

    def _end_lease(self) -> PageLease | None:
        """Drop this handle's event handlers and hand over its lease (None if it has none
        any more)."""
        for off in self._offs:
            self._runner.loop.call_soon_threadsafe(off)
        self._offs.clear()
        lease, self._lease = self._lease, None
        return lease

    def _move_to(self, lease: PageLease) -> None:
        """Point this handle at ``lease``'s page, recording where this one did."""
        lease.page.navigation_metric = self._page.navigation_metric
        lease.page.action_metric = self._page.action_metric
        self._page = lease.page
        self._lease = lease


class SyncBrowserView(_Facade):
    """A browser, blocking API: what it is and what it costs. ``cdp_fleet.browsers``
    gives these; :class:`SyncBrowser` (``cdp_browser``) adds pages and closing."""

    def __init__(self, runner: LoopThread, browser: Browser) -> None:
        super().__init__(runner)
        self._browser = browser

    def __repr__(self) -> str:
        return repr(self._browser).replace("<Browser", f"<{type(self).__name__}", 1)

    @property
    def core(self) -> Browser:
        """The asyncio :class:`~pytest_cdp_accept.engine.browser.Browser` behind this
        handle, for coroutines run on :attr:`runner`."""
        return self._browser

    @property
    def pid(self) -> int | None:
        return self._browser.pid

    @property
    def version(self) -> str:
        return self._browser.version

    @property
    def endpoint(self) -> str:
        return self._browser.endpoint

    def is_alive(self) -> bool:
        return self._browser.is_alive()

    def memory(self) -> MemoryInfo:
        return self._runner.run(self._browser.memory())

    def kill(self) -> None:
        """SIGKILL the browser's main process (to test recovery)."""
        self._runner.run(self._browser.kill())


class SyncBrowser(SyncBrowserView):
    """A pooled browser, blocking API. ``cdp_browser`` gives one of these."""

    def __init__(self, runner: LoopThread, pool: BrowserPool, pooled: PooledBrowser) -> None:
        super().__init__(runner, pooled.browser)
        self._pool = pool
        self._pooled = pooled
        self._context_id: str | None = None
        # Threads may open pages at once: the first creates the lease's context, the
        # others wait for it (two contexts would leave one undisposed at release).
        self._context_lock = asyncio.Lock()
        self.on_new_page: Callable[[Page], None] | None = None
        self.throttle: ThrottleProfile | None = None
        """The throttling profile of the pages it opens (the test's)."""

    def new_page(self) -> SyncPage:
        """Open a page; it is closed when this browser goes back to the pool.

        The pages of one lease share a browser context of their own, disposed with
        them: what one test leaves in cookies or storage, the next does not see.
        """
        page = self._runner.run(self._new_page())
        if self.on_new_page is not None:
            self.on_new_page(page)
        return SyncPage(self._runner, page)

    async def _new_page(self) -> Page:
        async with self._context_lock:
            if self._context_id is None:
                self._context_id = await self._browser.new_context()
        page = await self._browser.new_page(self._context_id)
        await page.set_throttle(self.throttle)
        return page

    def close(self) -> None:
        """Close this browser; the pool replaces it on the next lease."""
        self._runner.run(self._forget_and_close())

    async def _forget_and_close(self) -> None:
        self._pool.forget(self._pooled)
        await self._browser.close()


class SyncPool(_Facade):
    """The process's browser pool, blocking API. ``cdp_pool`` gives this."""

    def __init__(self, options: PoolOptions | None = None, runner: LoopThread | None = None):
        super().__init__(runner or LoopThread())
        self._owns_runner = runner is None
        self.pool = BrowserPool(options)

    def __repr__(self) -> str:
        return repr(self.pool).replace("<BrowserPool", "<SyncPool", 1)

    @property
    def options(self) -> PoolOptions:
        return self.pool.options

    def acquire_page(
        self,
        recorder: Recorder = NULL_RECORDER,
        isolation: Isolation | None = None,
        *,
        fresh_browser: bool = False,
        throttle: ThrottleProfile | None = None,
    ) -> SyncPage:
        """A clean page on a pooled browser (with ``fresh_browser``, on a browser that
        served no lease before), running under ``throttle``; it holds its lease until
        :meth:`release_page`."""
        lease = self._runner.run(
            self.pool.acquire_page(
                recorder, isolation, fresh_browser=fresh_browser, throttle=throttle
            )
        )
        return SyncPage(self._runner, lease.page, lease)

    def release_page(self, page: SyncPage) -> None:
        """Give the page's lease back (its event handlers go with it); a second release
        of the same page does nothing."""
        lease = page._end_lease()
        if lease is not None:
            self._runner.run(self.pool.release_page(lease))

    def replace_page(self, page: SyncPage) -> None:
        """Move ``page`` to a fresh page on a healthy browser (its browser died) and give
        the old lease back.

        The handle keeps working, recording into the same recorder and metric.
        """
        held = page._lease
        if held is None:
            raise UsageError("replace_page needs a page leased by acquire_page, not yet released")
        lease = self._runner.run(
            self.pool.acquire_page(held.page.recorder, held.isolation, throttle=held.page.throttle)
        )
        page._move_to(lease)
        self._runner.run(self.pool.release_page(held))

    def acquire_browser(
        self, recorder: Recorder = NULL_RECORDER, *, fresh: bool = False
    ) -> SyncBrowser:
        pooled = self._runner.run(self.pool.acquire_browser(recorder, fresh=fresh))
        return SyncBrowser(self._runner, self.pool, pooled)

    def release_browser(self, browser: SyncBrowser) -> None:
        self._runner.run(self.pool.release_browser(browser._pooled, browser._context_id))

    def state(self, timeout: float = 2.0) -> PoolState | None:
        """Browsers, pages and leases now (from any thread); None when the pool's loop
        does not answer within ``timeout`` seconds (it is closing)."""
        try:
            future = self._runner.submit(_called(self.pool.state))
        except PoolClosedError:
            return None
        try:
            return future.result(timeout)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            future.cancel()
            return None

    def close(self) -> None:
        """Close every browser (and the loop thread, if this pool started it)."""
        if self._runner.loop.is_closed():
            return
        try:
            self._runner.run(self.pool.close())
        except BaseException:
            self.pool.kill_now()  # interrupted: never leave a browser behind
            raise
        finally:
            if self._owns_runner:
                self._runner.close()

    def __enter__(self) -> SyncPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- async twin -------------------------------------------------------------------


class AsyncPage(_Facade, AsyncPageActions):
    """A page for asyncio code on any loop. ``cdp_async_page`` gives one of these."""

    def __init__(self, runner: LoopThread, page: Page) -> None:
        super().__init__(runner)
        self._page = page

    def __repr__(self) -> str:
        return repr(self._page).replace("<Page", "<AsyncPage", 1)

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def crashed(self) -> bool:
        return self._page.crashed

    def goto(
        self,
        url: str,
        *,
        wait_until: WaitUntil = "load",
        timeout: float | None = None,
        check_status: bool = True,
    ) -> Awaitable[Navigation]:
        return self._runner.arun(
            self._page.goto(url, wait_until=wait_until, timeout=timeout, check_status=check_status)
        )

    def evaluate(self, expression: str, *, timeout: float | None = None) -> Awaitable[Any]:
        return self._runner.arun(self._page.evaluate(expression, timeout=timeout))

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Awaitable[dict[str, Any]]:
        return self._runner.arun(self._page.send(method, params, timeout=timeout))

    def metrics(self) -> Awaitable[dict[str, float]]:
        return self._runner.arun(self._page.metrics())

    def crash(self) -> Awaitable[None]:
        return self._runner.arun(self._page.crash())

    def vitals(self) -> Awaitable[Vitals]:
        """See :meth:`SyncPage.vitals`."""
        return self._runner.arun(self._page.vitals())
