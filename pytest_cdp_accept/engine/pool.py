"""The browser pool: lazy, bounded, health-checked, self-healing.

One pool per process (per xdist worker). Browsers start on first use, in
parallel when several are needed at once, up to ``size``; remote endpoints
(``--cdp-endpoint``) take the place of launches. A browser that died is
never handed out: it is dropped (its processes killed, its temp root
removed) and replaced on the next lease.

Pages are handed out in one of two isolation modes:

``reset``
    Each pooled page lives in a browser context of its own. A released page
    is wiped (navigated to about:blank; storage of every origin, cookies and
    HTTP cache of its context cleared; permissions reset) in the background
    and parked for the next lease. Leases side by side get other pages, whose
    contexts share nothing with the one being wiped. A page that crashed or
    was sent a stateful raw command (emulation, interception, injected
    scripts) is closed (its context disposed) instead of reused.
``context``
    Every lease gets a fresh browser context with one page, made after the
    previous lease (or beside it, for leases side by side); released contexts
    are disposed in the background.

A lease alone on its browser starts once that background work on the browser
is done (:meth:`BrowserPool._quiet`): run beside its first navigation, it would
slow it by an amount set by the test before.

In both, each page is the only tab of its window, where Chromium draws it at
full frame rate whether it is in use, being wiped or parked (see
:meth:`Browser.new_page`).

Like httpcore's pool, state changes happen in one synchronous step and the
awaiting comes after; ``repr(pool)`` shows what is active and idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..errors import CDPAcceptError, PoolClosedError
from ..metrics import NULL_RECORDER, Recorder
from . import launcher
from .browser import Browser, Page, memory_of
from .farm import FarmConnector, FarmGoneError, FarmLink, FarmUnreachableError
from .farm_endpoint import FarmEndpoint, farm_launch_args
from .options import ISOLATION_MODES as ISOLATION_MODES
from .options import Isolation as Isolation
from .options import PoolOptions as PoolOptions
from .options import check_isolation
from .resilience import BreakerBoard, RetryPolicy, retry
from .throttle import ThrottleProfile

log = logging.getLogger("pytest_cdp_accept")

HEALTH_CHECK_AFTER = 5.0  # seconds unused before a lease pays for a CDP round trip


async def launch_with(options: PoolOptions, executable: str) -> Browser:
    """:meth:`Browser.launch` with the switches, timeouts and measurements of ``options``."""
    browser = await Browser.launch(
        executable,
        args=options.args,
        launch_timeout=options.launch_timeout,
        command_timeout=options.command_timeout,
        navigation_timeout=options.navigation_timeout,
        action_timeout=options.action_timeout,
    )
    browser.vitals = options.vitals
    return browser


async def farm_browser(connector: FarmConnector, options: PoolOptions) -> tuple[FarmLink, Browser]:
    """One new browser on the farm: a connection, prepared. Its ``startup_ms`` is the
    handshake (the farm launches the browser during it) and the preparation; the wait
    for room before it is the link's ``queue_ms``."""
    link = await connector.open(options.launch_timeout)
    started = time.perf_counter() - link.connect_ms / 1000.0
    browser = await Browser.attach(
        link.connection,
        endpoint=link.endpoint.display,
        started=started,
        navigation_timeout=options.navigation_timeout,
        action_timeout=options.action_timeout,
        kill=partial(connector.kill, link),
    )
    return link, browser


def farm_connector(
    options: PoolOptions, on_full: Callable[[], None] | None = None
) -> FarmConnector:
    """A connector for ``options.farm``, sending our switches unless they are turned off."""
    assert options.farm is not None
    switches = (
        farm_launch_args(launcher.default_args(options.args)) if options.farm_switches else ()
    )
    return FarmConnector(
        options.farm, switches=switches, command_timeout=options.command_timeout, on_full=on_full
    )


# A farm browser is replaced at release once it is this share of the way to the age at
# which the farm cut a session: the next test gets a fresh one instead of being cut.
FARM_RENEW_AT = 0.8


@dataclass(frozen=True)
class PoolState:
    """What the pool holds at one moment (live monitoring's gauges)."""

    browsers: int
    """Browsers in the pool (launching ones not yet)."""
    pages: int
    """Pages open on them: leased, parked, being wiped, opened by browser leases."""
    leases: int
    """Pages and browsers handed out and not yet given back."""


@dataclass(frozen=True)
class PoolStats:
    browsers_launched: int
    browsers_replaced: int
    pages_opened: int
    leases: int
    startup_ms: tuple[float, ...]
    farm_cuts: tuple[float, ...] = ()
    """Ages (s) of the farm sessions the farm itself ended (its session timeout)."""


class PooledBrowser:
    """A browser in the pool and the pages it keeps ready."""

    def __init__(self, browser: Browser, endpoint_index: int | None) -> None:
        self.browser = browser
        self.endpoint_index = endpoint_index
        self.leases = 0
        self.active = 0
        self.last_used = time.monotonic()
        self.idle_pages: list[Page] = []
        self.wiping: set[asyncio.Task[Page | None]] = set()
        self.spare: asyncio.Task[tuple[str, Page]] | None = None
        self.retiring = False
        self.waiting = 0  # leases waiting for a page that is being wiped
        self.chores: set[asyncio.Task[Any]] = set()
        """The pool's work on this browser still running: wipes, disposals, a spare."""
        self.link: FarmLink | None = None  # a farm's browser: its connection's story
        self.startup_recorded = False  # by the lease that waited for it, or first used it

    def __repr__(self) -> str:
        return (
            f"<PooledBrowser {self.browser!r} active={self.active} idle={len(self.idle_pages)} "
            f"leases={self.leases}>"
        )


@dataclass
class PageLease:
    """One page handed to one user until :meth:`BrowserPool.release_page`."""

    page: Page
    owner: PooledBrowser
    isolation: Isolation
    acquired_ms: float
    context_id: str | None = None


class BrowserPool:
    """Lazily started, bounded, self-healing browsers and the pages on them."""

    def __init__(self, options: PoolOptions | None = None) -> None:
        self.options = options or PoolOptions()
        self._browsers: list[PooledBrowser] = []
        # Out of the pool but not closed yet: kill_now must still find them when a
        # close is interrupted (Ctrl-C) or the interpreter exits meanwhile.
        self._closing: set[PooledBrowser] = set()
        self._launching: list[asyncio.Task[PooledBrowser]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._swept = False
        self._executable: str | None = None
        self._next_endpoint = 0
        self._launched = 0
        self._replaced = 0
        self._pages_opened = 0
        self._leases = 0
        self._held = 0
        self._startups: list[float] = []
        self._farm: FarmConnector | None = None
        # Resolved (and replaced) whenever leases waiting for a launch should look again:
        # a browser was released, or the farm turned out to be full.
        self._changed: asyncio.Future[None] | None = None
        self._breakers = BreakerBoard(
            failure_threshold=self.options.breaker_threshold,
            reset_after=self.options.breaker_reset_after,
        )

    def __repr__(self) -> str:
        active = sum(b.active for b in self._browsers)
        idle = sum(len(b.idle_pages) for b in self._browsers)
        return (
            f"<BrowserPool browsers={len(self._browsers)}/{self.options.size} "
            f"launching={len(self._launching)} pages active={active} idle={idle} "
            f"isolation={self.options.isolation}>"
        )

    # -- state ----------------------------------------------------------------

    @property
    def browsers(self) -> list[Browser]:
        return [b.browser for b in self._browsers]

    @property
    def stats(self) -> PoolStats:
        return PoolStats(
            self._launched,
            self._replaced,
            self._pages_opened,
            self._leases,
            tuple(self._startups),
            tuple(self._farm.cuts) if self._farm is not None else (),
        )

    def state(self) -> PoolState:
        """Browsers, pages and leases now; on the pool's loop thread (the sets it counts
        change there)."""
        return PoolState(
            len(self._browsers), sum(len(b.browser.pages) for b in self._browsers), self._held
        )

    def _spawn(
        self, coro: Coroutine[Any, Any, Any], on: PooledBrowser | None = None
    ) -> asyncio.Task[Any]:
        """Run a chore in the background (``on``: work on that browser's pages)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background_done)
        if on is not None:
            on.chores.add(task)
            task.add_done_callback(on.chores.discard)
        return task

    async def _quiet(self, pooled: PooledBrowser) -> None:
        """Wait until the pool's work on ``pooled`` is done.

        A lease alone on its browser starts only then: a wipe, a disposal or a spare
        being made beside its first navigation slows it (a 22 ms local page read 40 ms
        on 2 cores), by an amount that depends on the test before. Leases that share a
        browser (stress runs) overlap anyway and do not wait.
        """
        while pooled.chores:
            await asyncio.wait(set(pooled.chores))

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("pool chore failed", exc_info=task.exception())

    # -- browsers -------------------------------------------------------------

    async def _start_browser(self) -> PooledBrowser:
        """Launch (or connect to) one browser: retried when transient, behind a breaker."""
        opts = self.options
        if opts.farm is not None:
            return await self._start_farm_browser()
        index: int | None = None
        start: Callable[[], Awaitable[Browser]]
        if opts.endpoints:
            index = self._next_endpoint % len(opts.endpoints)
            self._next_endpoint += 1
            url = opts.endpoints[index]
            # Named by its redacted address (and credentials' digest): a breaker's
            # message must not show the token.
            key = FarmEndpoint.parse(url, opts.headers, option="--cdp-endpoint").breaker_key
            start = partial(
                Browser.connect,
                url,
                timeout=opts.launch_timeout,
                command_timeout=opts.command_timeout,
                navigation_timeout=opts.navigation_timeout,
                action_timeout=opts.action_timeout,
                headers=opts.headers,
            )
        else:
            if not self._swept:
                self._swept = True
                await asyncio.get_running_loop().run_in_executor(None, launcher.sweep_stale)
            if self._executable is None:
                self._executable = launcher.find_browser(opts.executable)
            key = self._executable
            start = partial(launch_with, opts, key)
        policy = RetryPolicy(attempts=opts.launch_attempts, base=0.2, cap=2.0)
        browser = await self._breakers.get(key).call(
            lambda: retry(start, policy, on_retry=_log_retry)
        )
        browser.vitals = opts.vitals
        self._launched += 1
        self._startups.append(browser.startup_ms)
        return PooledBrowser(browser, index)

    def _farm_connector(self) -> FarmConnector:
        if self._farm is None:
            self._farm = farm_connector(self.options, on_full=self._signal_change)
        return self._farm

    async def _start_farm_browser(self) -> PooledBrowser:
        """A new connection to the farm: transient failures retried, capacity waited for
        (inside the connector), a farm that served the run and stopped answering is gone."""
        connector = self._farm_connector()
        policy = RetryPolicy(attempts=self.options.launch_attempts, base=0.2, cap=2.0)
        breaker = self._breakers.get(connector.given.breaker_key)
        try:
            link, browser = await breaker.call(
                lambda: retry(
                    lambda: farm_browser(connector, self.options), policy, on_retry=_log_retry
                )
            )
        except FarmUnreachableError as exc:
            if connector.opened == 0:
                raise
            gone = FarmGoneError(
                connector.given,
                f"the farm stopped answering after serving {connector.opened} "
                f"connection{'s' if connector.opened != 1 else ''} in this run ({exc.reason})",
            )
            raise gone from None
        self._launched += 1
        self._startups.append(browser.startup_ms)
        pooled = PooledBrowser(browser, None)
        pooled.link = link
        return pooled

    def _change_signal(self) -> asyncio.Future[None]:
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    def _signal_change(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None and not changed.done():
            changed.set_result(None)

    def _farm_full(self) -> bool:
        return self._farm is not None and self._farm.full

    def _near_cut(self, pooled: PooledBrowser) -> bool:
        """A farm browser close to the age at which the farm cuts sessions."""
        cut = self._farm.cut_after if self._farm is not None else None
        return (
            cut is not None
            and pooled.link is not None
            and (pooled.link.age() > FARM_RENEW_AT * cut)
        )

    async def _launch_into_pool(self) -> PooledBrowser:
        pooled = await self._start_browser()
        if self._closed:
            await pooled.browser.close()
            raise PoolClosedError("the browser pool was closed during a launch")
        self._browsers.append(pooled)
        return pooled

    def _drop(self, pooled: PooledBrowser) -> None:
        """Take a browser out of the pool and clean it up in the background."""
        self._closing.add(pooled)  # first: kill_now runs on another thread
        if pooled in self._browsers:
            self._browsers.remove(pooled)
            self._replaced += 1
        pooled.retiring = True
        self._spawn(self._close_pooled(pooled))

    async def _close_pooled(self, pooled: PooledBrowser) -> None:
        for task in list(pooled.wiping):
            task.cancel()
        if pooled.spare is not None:
            pooled.spare.cancel()
        with contextlib.suppress(Exception):
            await pooled.browser.close()
        self._closing.discard(pooled)  # not when cancelled: then kill_now finishes the job

    def _retire(self, pooled: PooledBrowser) -> None:
        """A browser failed its health check: closed now, or when the leases still on it
        end (a stall that failed the check may pass; closing it would fail their tests)."""
        if pooled.active > 0 and pooled.browser.is_alive():
            pooled.retiring = True
        else:
            self._drop(pooled)

    async def _healthy(self, pooled: PooledBrowser) -> bool:
        if not pooled.browser.is_alive():
            return False
        if time.monotonic() - pooled.last_used > HEALTH_CHECK_AFTER:
            return await pooled.browser.health_check()
        return True

    async def _choose_browser(self, recorder: Recorder, fresh: bool = False) -> PooledBrowser:
        """The least loaded healthy browser, or a new one while under ``size``.

        ``fresh``: a browser that has served no lease yet, launched for this one if
        need be (an idle used browser is retired to make room), so that what is
        measured of the whole browser is not what earlier tests left in it. When every
        browser is busy and the pool is full, the lease shares one as usual.

        On a farm with no session to spare, the browsers the pool has are shared
        instead (as at ``size``), and a lease waiting for a new connection takes a
        browser that frees up first.
        """
        while True:
            if self._closed:
                raise PoolClosedError("the browser pool is closed")
            for pooled in list(self._browsers):
                stale = pooled.retiring or self._near_cut(pooled)
                if not pooled.browser.is_alive() or (stale and pooled.active == 0):
                    self._drop(pooled)
            live = [b for b in self._browsers if not b.retiring]
            free = [b for b in live if b.active == 0]
            room = len(live) + len(self._launching) < self.options.size
            if fresh:
                unused = [b for b in free if b.leases == 0]
                if unused:
                    free = unused
                elif room:
                    free = []  # launch one below
                elif free:
                    self._drop(min(free, key=lambda b: b.last_used))
                    continue
            if room and live and self._farm_full():
                room = False  # the farm has no session to spare: share what the pool has
            if free or (live and not room):
                claimed = await self._claim(min(free or live, key=lambda b: b.active))
                if claimed is not None:
                    self._record_startup(claimed, recorder)
                    return claimed
                continue
            if room:
                task = asyncio.get_running_loop().create_task(self._launch_into_pool())
                self._launching.append(task)
                # Not in the waiter's hands: every waiter may be cancelled mid-launch, and a
                # finished task left in _launching would take a slot of the pool for good.
                task.add_done_callback(self._launch_done)
            else:
                task = self._launching[0]
            if self.options.farm is None:
                pooled = await asyncio.shield(task)
            else:
                ready = await self._launch_or_change(task)
                if ready is None:
                    continue  # something changed: choose again
                pooled = ready
            self._record_startup(pooled, recorder)
            # Loop: the new browser is now in the pool and is picked like any other.

    @staticmethod
    def _record_startup(pooled: PooledBrowser, recorder: Recorder) -> None:
        """A browser's start-up goes to the lease that waited for it or, when every
        waiter found another browser first (a farm's), to the first lease that uses it."""
        if pooled.startup_recorded:
            return
        pooled.startup_recorded = True
        recorder.record("startup", pooled.browser.startup_ms)
        if pooled.link is not None:
            recorder.record("farm.queue", pooled.link.queue_ms)

    async def _claim(self, pooled: PooledBrowser) -> PooledBrowser | None:
        """Claim a browser in the same step as the choice; None if it failed its check."""
        # A browser other leases are using is demonstrably alive: a stall of its busy
        # main thread must not fail a check and close it under them.
        check = pooled.active == 0
        pooled.active += 1
        try:
            healthy = not check or await self._healthy(pooled)
        except BaseException:  # cancelled during the check: give the claim back
            pooled.active -= 1
            raise
        if healthy:
            return pooled
        pooled.active -= 1
        self._retire(pooled)
        return None

    async def _launch_or_change(self, task: asyncio.Task[PooledBrowser]) -> PooledBrowser | None:
        """The launched browser, or None when a browser was released or the farm turned
        out full first. A failed launch is raised only when the pool has no browser to
        fall back on (or the farm is gone); otherwise the farm counts as full for a while,
        so the leases share what the pool has rather than try again at once."""
        changed = self._change_signal()
        await asyncio.wait((task, changed), return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            return None
        error = task.exception()
        if error is None:
            return task.result()
        if any(not b.retiring for b in self._browsers) and not isinstance(error, FarmGoneError):
            self._farm_connector().mark_full()
            return None
        raise error

    def _launch_done(self, task: asyncio.Task[PooledBrowser]) -> None:
        if task in self._launching:
            self._launching.remove(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("browser launch failed", exc_info=task.exception())

    def _release_browser_slot(self, pooled: PooledBrowser) -> None:
        pooled.active -= 1
        pooled.leases += 1
        pooled.last_used = time.monotonic()
        if (
            pooled.active == 0
            and pooled in self._browsers
            and (pooled.retiring or self._should_recycle(pooled) or self._near_cut(pooled))
        ):
            self._drop(pooled)
        self._signal_change()

    def _should_recycle(self, pooled: PooledBrowser) -> bool:
        recycle = self.options.recycle_after
        if recycle is not None and pooled.leases >= recycle:
            return True
        limit = self.options.recycle_memory_mb
        process = pooled.browser.process
        if limit is not None and process is not None:
            return memory_of(process.process_tree()).pss_mb > limit
        return False

    # -- pages ----------------------------------------------------------------

    async def acquire_page(
        self,
        recorder: Recorder = NULL_RECORDER,
        isolation: Isolation | None = None,
        *,
        fresh_browser: bool = False,
        throttle: ThrottleProfile | None = None,
    ) -> PageLease:
        """A clean page on a healthy pooled browser (with ``fresh_browser``, on one that
        served no lease before: see :meth:`_choose_browser`), running under ``throttle``
        until it is released."""
        isolation = check_isolation(isolation or self.options.isolation)
        for attempt in range(3):
            pooled = await self._choose_browser(recorder, fresh_browser)
            try:
                if pooled.active == 1:
                    await self._quiet(pooled)
                start = time.perf_counter()  # launches are recorded as startup, not here
                if isolation == "context":
                    context_id, page = await self._context_page(pooled)
                else:
                    context_id, page = None, await self._reset_page(pooled)
                await page.set_throttle(throttle)
                break
            except BaseException as exc:
                pooled.active -= 1
                if pooled.browser.is_alive():
                    raise
                # The browser died between the choice and the page: heal and try another.
                self._drop(pooled)
                if attempt == 2 or not isinstance(exc, CDPAcceptError):
                    raise
        page.recorder = recorder
        elapsed = (time.perf_counter() - start) * 1000.0
        recorder.record("page_open", elapsed)
        self._leases += 1
        self._held += 1
        return PageLease(page, pooled, isolation, elapsed, context_id)

    async def _new_page(self, pooled: PooledBrowser, context_id: str | None = None) -> Page:
        page = await pooled.browser.new_page(context_id)
        self._pages_opened += 1
        return page

    async def _reset_page(self, pooled: PooledBrowser) -> Page:
        page = await self._take_reset_page(pooled)
        if pooled.active > 1 and not pooled.idle_pages and not pooled.wiping and not self._closed:
            # Leases side by side: while this one runs, the next one's page is being
            # prepared. (A lease alone takes the page wiped after the one before.)
            task: asyncio.Task[Page | None] = self._spawn(self._prepare_idle_page(pooled), pooled)
            pooled.wiping.add(task)
            task.add_done_callback(pooled.wiping.discard)
        return page

    async def _prepare_idle_page(self, pooled: PooledBrowser) -> Page | None:
        page = await self._new_reset_page(pooled)
        if pooled.retiring or self._closed:
            await self._discard_reset_page(pooled, page)
            return None
        pooled.idle_pages.append(page)
        return page

    def _pop_idle_page(self, pooled: PooledBrowser) -> Page | None:
        """The newest parked page still alive; dead ones on the way are disposed."""
        while pooled.idle_pages:
            page = pooled.idle_pages.pop()
            if not page.crashed and not page.closed:
                return page
            # Disposed with its context, which would otherwise outlive it.
            self._spawn(self._discard_reset_page(pooled, page), pooled)
        return None

    async def _take_reset_page(self, pooled: PooledBrowser) -> Page:
        page = self._pop_idle_page(pooled)
        if page is not None:
            return page
        if len(pooled.wiping) > pooled.waiting:
            # A page being wiped is ready in ~60 ms; a new one costs ~150 ms of browser CPU.
            # But each wipe serves one waiter: the others open pages of their own, or 50
            # concurrent stress runs would queue behind one page.
            pooled.waiting += 1
            try:
                while pooled.wiping and not pooled.idle_pages:
                    done, _ = await asyncio.wait(pooled.wiping, return_when=asyncio.FIRST_COMPLETED)
                    pooled.wiping.difference_update(done)
            finally:
                pooled.waiting -= 1
            page = self._pop_idle_page(pooled)
            if page is not None:
                return page
        return await self._new_reset_page(pooled)

    async def _new_reset_page(self, pooled: PooledBrowser) -> Page:
        """A page in a browser context of its own: its wipe touches nothing another
        lease sees, so it can run while the next test uses the other page."""
        _, page = await self._fresh_context(pooled)
        return page

    async def _discard_reset_page(self, pooled: PooledBrowser, page: Page) -> None:
        if page.context_id is not None:
            await page.browser.dispose_context(page.context_id)
        else:
            await page.close()

    async def _context_page(self, pooled: PooledBrowser) -> tuple[str, Page]:
        spare, pooled.spare = pooled.spare, None
        if spare is not None:
            try:
                context_id, page = await spare
            except CDPAcceptError:
                context_id, page = await self._fresh_context(pooled)
        else:
            context_id, page = await self._fresh_context(pooled)
        if pooled.active > 1:  # leases side by side: the next one's context is on its way
            self._keep_spare(pooled)
        return context_id, page

    def _keep_spare(self, pooled: PooledBrowser) -> None:
        if pooled.spare is None and pooled.browser.is_alive() and not self._closed:
            pooled.spare = self._spawn(self._fresh_context(pooled), pooled)

    async def _fresh_context(self, pooled: PooledBrowser) -> tuple[str, Page]:
        context_id = await pooled.browser.new_context()
        try:
            return context_id, await self._new_page(pooled, context_id)
        except BaseException:
            self._spawn(pooled.browser.dispose_context(context_id), pooled)
            raise

    async def release_page(self, lease: PageLease) -> None:
        """Give a page back: wiped and parked, disposed, or closed (in the background).

        The figures of its last navigation are recorded first, into the test's recorder.
        """
        pooled, page = lease.owner, lease.page
        self._held -= 1
        await page.finish_vitals()
        page.paint_due = False
        page.recorder = NULL_RECORDER
        page.navigation_metric = "navigation"
        page.action_metric = "action"
        self._release_browser_slot(pooled)
        alive = pooled.browser.is_alive() and pooled in self._browsers
        if lease.context_id is not None:
            if alive:
                self._spawn(pooled.browser.dispose_context(lease.context_id), pooled)
                self._keep_spare(pooled)  # the next lease's, ready when it starts
            return
        if not alive:
            return
        if page.crashed or page.closed or page.tainted:
            self._spawn(self._discard_reset_page(pooled, page), pooled)
            return
        task: asyncio.Task[Page | None] = self._spawn(self._wipe(pooled, page), pooled)
        pooled.wiping.add(task)
        task.add_done_callback(pooled.wiping.discard)

    async def _wipe(self, pooled: PooledBrowser, page: Page) -> Page | None:
        try:
            await wipe_page(page)
        except CDPAcceptError:
            await self._discard_reset_page(pooled, page)
            return None
        # Over the idle cap only once every lease waiting for a page has one: binned, the
        # waiters open pages of their own (stress at concurrency 50: 52 pages per 1,000
        # runs with this rule, 126 without).
        spare = len(pooled.idle_pages) - pooled.waiting
        if spare >= self.options.max_idle_pages or pooled.retiring:
            await self._discard_reset_page(pooled, page)
            return None
        pooled.idle_pages.append(page)
        return page

    # -- browser leases -------------------------------------------------------

    async def acquire_browser(
        self, recorder: Recorder = NULL_RECORDER, *, fresh: bool = False
    ) -> PooledBrowser:
        """A healthy pooled browser (``fresh``: one that served no lease before); give it
        back with :meth:`release_browser`."""
        pooled = await self._choose_browser(recorder, fresh)
        self._leases += 1
        self._held += 1
        return pooled

    async def release_browser(self, pooled: PooledBrowser, context_id: str | None = None) -> None:
        """Return a browser: the context the lease opened its pages in is disposed (with
        those pages, whose last navigations are recorded first); a dead browser is
        replaced."""
        if context_id is not None and pooled.browser.is_alive():
            pages = [p for p in pooled.browser.pages if p.context_id == context_id]
            await asyncio.gather(*(p.finish_vitals() for p in pages))
            self._spawn(pooled.browser.dispose_context(context_id), pooled)
        self._held -= 1
        self._release_browser_slot(pooled)
        if not pooled.browser.is_alive() and pooled in self._browsers:
            self._drop(pooled)

    def forget(self, pooled: PooledBrowser) -> None:
        """A leased browser was closed (or killed) by its user: replace it on the next lease."""
        if pooled in self._browsers:
            self._drop(pooled)

    # -- shutdown -------------------------------------------------------------

    def kill_now(self) -> None:
        """Last resort, synchronous and loop-free: SIGKILL every browser we launched and
        remove its temp root. For an interrupted :meth:`close` and for interpreter exit."""
        self._closed = True
        for pooled in [*self._browsers, *self._closing]:
            process = pooled.browser.process
            if process is not None:
                launcher.kill_now(process.pid, process.root)

    async def close(self) -> None:
        """Close every browser and wait for background chores; idempotent."""
        self._closed = True
        self._signal_change()
        for task in list(self._launching):
            if self.options.farm is not None:
                # A farm connection may wait up to the launch timeout for room: nobody
                # needs it any more, and a closed socket tells the farm so.
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        self._launching.clear()
        self._closing.update(self._browsers)  # first: kill_now runs on another thread
        browsers, self._browsers = self._browsers, []
        await asyncio.gather(*(self._close_pooled(b) for b in browsers), return_exceptions=True)
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)


WIPE_TIMEOUT = 10.0


def _log_retry(attempt: int, error: BaseException, delay: float) -> None:
    log.warning("browser start failed (try %d): %s; retrying in %.2f s", attempt, error, delay)


async def wipe_page(page: Page) -> None:
    """Leave nothing of the last test: park on about:blank, then clear every origin.

    The old document goes first: its ``pagehide``/``unload`` handlers may still write
    cookies or storage (a clear sent alongside the navigation can lose that race).
    ``origin="*"`` on the page session clears cookies and the storage of every
    origin of the page's browser context; the HTTP cache needs its own command.
    What journeys leave outside the document (a viewport override) goes too; focus,
    hover, scroll and selection went with the document; a throttling profile goes
    before anything else.
    """
    session = page.session
    await page.set_throttle(None)  # first: the next test's page runs at full speed
    await page.goto("about:blank", record=False, check_status=False, timeout=WIPE_TIMEOUT)
    await asyncio.gather(
        page.reset_journey_state(),
        session.send(
            "Storage.clearDataForOrigin",
            {"origin": "*", "storageTypes": "all"},
            timeout=WIPE_TIMEOUT,
        ),
        session.send("Network.clearBrowserCache", timeout=WIPE_TIMEOUT),
        session.send("Network.clearBrowserCookies", timeout=WIPE_TIMEOUT),
        page.browser.session.send(
            "Browser.resetPermissions",
            {"browserContextId": page.context_id} if page.context_id else {},
            timeout=WIPE_TIMEOUT,
        ),
    )
