"""The pool on the real Chromium: laziness, bounds, healing, recycling and isolation."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from pytest_cdp_accept import PoolOptions, UsageError
from pytest_cdp_accept.engine.pool import HEALTH_CHECK_AFTER, PooledBrowser
from pytest_cdp_accept.engine.sync import SyncBrowser, SyncPage, SyncPool
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite

from .conftest import processes_using, roots_in


def test_pool_is_lazy(fresh_pool: object, pool_root: Path) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    assert pool.pool.browsers == []
    assert not roots_in(pool_root)
    assert "browsers=0/1" in repr(pool)


def test_options_are_validated() -> None:
    with pytest.raises(UsageError, match="pool size must be at least 1"):
        PoolOptions(size=0)
    with pytest.raises(UsageError, match="isolation 'none'"):
        PoolOptions(isolation="none")  # type: ignore[arg-type]


def test_concurrent_leases_launch_browsers_in_parallel_up_to_the_bound(
    fresh_pool: object, site: LocalSite
) -> None:
    pool = fresh_pool(size=2)  # type: ignore[operator]
    recorder = MetricsRecorder()
    leases: list[tuple[SyncPage, object]] = []
    lock = threading.Lock()

    def lease() -> None:
        got = pool.acquire_browser(recorder)
        with lock:
            leases.append(got)

    threads = [threading.Thread(target=lease) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(pool.pool.browsers) == 2
    assert pool.pool.stats.browsers_launched == 2
    assert len({b.pid for b in leases}) == 2  # type: ignore[attr-defined]
    # Every lease that waited for a launch recorded that launch's startup.
    assert len(recorder.samples("startup")) >= 2
    for browser in leases:
        pool.release_browser(browser)  # type: ignore[arg-type]


def test_dead_browser_is_replaced_never_handed_out(fresh_pool: object, site: LocalSite) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    browser = pool.acquire_browser()
    first_pid = browser.pid
    browser.kill()
    pool.release_browser(browser)
    page = pool.acquire_page()
    assert page.browser_pid != first_pid
    assert page.goto(site.url("/")).status == 200
    pool.release_page(page)
    assert pool.pool.stats.browsers_replaced == 1


def test_browser_closed_by_its_user_is_replaced(fresh_pool: object, site: LocalSite) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    browser = pool.acquire_browser()
    first_pid = browser.pid
    browser.close()
    pool.release_browser(browser)
    again = pool.acquire_browser()
    assert again.pid != first_pid
    assert again.is_alive()
    pool.release_browser(again)


def _lease_with_pages(
    pool: SyncPool, site: LocalSite, count: int = 3
) -> tuple[SyncBrowser, list[SyncPage]]:
    """A browser lease with ``count`` pages opened in it, each on the site's page."""
    browser = pool.acquire_browser()
    pages = [browser.new_page() for _ in range(count)]
    for page in pages:
        page.goto(site.url("/"))
    return browser, pages


def test_pages_a_browser_lease_opens_are_closed_at_its_end(
    fresh_pool: object, site: LocalSite
) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    browser, pages = _lease_with_pages(pool, site)
    pool.release_browser(browser)
    pool.close()  # waits for the background closes
    assert all(p.core.closed for p in pages)


def test_every_page_of_a_browser_lease_is_visible_and_paints(
    fresh_pool: object, site: LocalSite
) -> None:
    # Every page of the lease's browser context is visible and paints, not only the
    # newest (how fast they paint: tests/test_frame_rate.py).
    pool = fresh_pool()  # type: ignore[operator]
    browser, pages = _lease_with_pages(pool, site)
    try:
        for page in pages:
            assert page.evaluate("document.visibilityState") == "visible"
            frame = "new Promise(r => requestAnimationFrame(() => r(1)))"
            painted = page.evaluate(frame, timeout=10)
            assert painted == 1
    finally:
        pool.release_browser(browser)


def test_a_burst_of_concurrent_leases_reuses_its_pages(fresh_pool: object, site: LocalSite) -> None:
    # 30 threads taking turns: a page wiped while others wait for one goes to a waiter,
    # not to the bin for being over the idle cap (which made the pool open ~55 pages).
    pool = fresh_pool()  # type: ignore[operator]

    def worker() -> None:
        for _ in range(4):
            page = pool.acquire_page()
            page.goto(site.url("/"))
            pool.release_page(page)

    with ThreadPoolExecutor(max_workers=30) as threads:
        list(threads.map(lambda _: worker(), range(30)))
    assert pool.pool.stats.pages_opened <= 30 + 8
    pooled = pool.pool._browsers[0]
    deadline = time.monotonic() + 10
    while pooled.wiping and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pooled.idle_pages) <= pool.pool.options.max_idle_pages  # the cap holds after


def test_recycle_after_n_leases(fresh_pool: object) -> None:
    pool = fresh_pool(recycle_after=2)  # type: ignore[operator]
    pids = []
    for _ in range(3):
        page = pool.acquire_page()
        pids.append(page.browser_pid)
        pool.release_page(page)
    assert pids[0] == pids[1] != pids[2]


def test_reset_mode_reuses_a_wiped_page(fresh_pool: object, site: LocalSite) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    targets = set()
    for _ in range(4):
        page = pool.acquire_page()
        assert page.url == "about:blank" or page.evaluate("location.href") == "about:blank"
        page.goto(site.url("/"))
        targets.add(page.target_id)
        pool.release_page(page)
    assert len(targets) == 1  # a lease alone gets the page wiped after the one before


@pytest.mark.parametrize("isolation", ["reset", "context"])
def test_a_lease_alone_starts_once_the_pools_chores_are_done(
    fresh_pool: object, site: LocalSite, isolation: str
) -> None:
    """The wipe or disposal of the test before, and the next context, never run beside
    a test's first navigation: they would slow it by an amount set by that test."""
    pool = fresh_pool(isolation=isolation)  # type: ignore[operator]
    core = pool.pool

    async def scenario() -> None:
        for _ in range(3):
            lease = await core.acquire_page()
            assert not lease.owner.chores, "pool chores still running as the lease starts"
            await lease.page.goto(site.url("/"))
            await core.release_page(lease)
            assert lease.owner.chores, "the wipe or disposal runs after the release"

    pool.runner.run(scenario())


def test_reset_pages_are_visible_focused_and_paint(fresh_pool: object, site: LocalSite) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    # the first page, then the same page again and again after its wipes
    # (how fast they paint: tests/test_frame_rate.py)
    for _ in range(6):
        page = pool.acquire_page()
        page.goto(site.url("/"))
        frame = "new Promise(r => requestAnimationFrame(() => r(document.visibilityState)))"
        assert page.evaluate(frame, timeout=10) == "visible"
        assert page.evaluate("document.hasFocus()") is True
        pool.release_page(page)


def test_tainted_and_crashed_pages_are_not_reused(fresh_pool: object, site: LocalSite) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    page = pool.acquire_page()
    page.send("Emulation.setUserAgentOverride", {"userAgent": "tainted/1.0"})
    tainted = page.target_id
    pool.release_page(page)
    page = pool.acquire_page()
    crashed = page.target_id
    page.goto(site.url("/"))
    page.crash()
    pool.release_page(page)
    for _ in range(4):
        page = pool.acquire_page()
        assert page.target_id not in (tainted, crashed)
        assert page.evaluate("navigator.userAgent") != "tainted/1.0"
        pool.release_page(page)


def test_page_open_is_recorded(fresh_pool: object) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    recorder = MetricsRecorder()
    page = pool.acquire_page(recorder)
    pool.release_page(page)
    assert len(recorder.samples("page_open")) == 1
    assert len(recorder.samples("startup")) == 1


# -- isolation: one suite, both modes -------------------------------------------------

WRITE = """(async () => {
  // A document that writes as it goes: the wipe must come after it is gone.
  addEventListener('pagehide', () => {
    document.cookie = 'late=1; max-age=3600';
    localStorage.setItem('late', '1');
  });
  document.cookie = 'c=1; max-age=3600';
  localStorage.setItem('l', '1');
  sessionStorage.setItem('s', '1');
  await new Promise((resolve, reject) => {
    const req = indexedDB.open('db', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('store');
    req.onsuccess = () => { req.result.close(); resolve(); };
    req.onerror = () => reject(req.error);
  });
  const cache = await caches.open('cache');
  await cache.put('/cached-entry', new Response('x'));
  return true;
})()"""

READ = """(async () => ({
  cookie: document.cookie,
  local: localStorage.length,
  session: sessionStorage.length,
  idb: (await indexedDB.databases()).length,
  caches: (await caches.keys()).length,
  sw: (await navigator.serviceWorker.getRegistrations()).length,
}))()"""

CLEAN = {"cookie": "", "local": 0, "session": 0, "idb": 0, "caches": 0, "sw": 0}


@pytest.mark.parametrize("isolation", ["reset", "context"])
def test_nothing_a_test_leaves_is_visible_to_the_next(
    fresh_pool: object, site: LocalSite, isolation: str
) -> None:
    """Four leases back to back, each finding nothing and leaving everything behind:
    in reset mode one page serves them all, wiped between leases."""
    pool = fresh_pool(isolation=isolation)  # type: ignore[operator]
    hits = site.hits("/cached.js")
    seen = set()
    for lease_number in range(4):
        page = pool.acquire_page()
        seen.add(page.target_id)
        # Asked at once, before any navigation gives a wipe still running time to finish.
        assert page.send("Network.getAllCookies")["cookies"] == [], lease_number
        for origin_url in (site.url, site.alt_url):
            page.goto(origin_url("/storage"))
            assert page.evaluate(READ) == CLEAN, (lease_number, origin_url("/storage"))
        page.goto(site.url("/cacheable"))
        assert site.hits("/cached.js") == hits + 1, f"lease {lease_number}: the HTTP cache leaked"
        hits += 1
        for origin_url in (site.url, site.alt_url):
            page.goto(origin_url("/sw"))
            assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            assert page.evaluate(WRITE)
            assert page.evaluate(READ) != CLEAN
        page.goto(site.url("/cacheable"))
        assert site.hits("/cached.js") == hits, "precondition: the HTTP cache serves cached.js"
        pool.release_page(page)
    if isolation == "reset":
        assert len(seen) == 1, "reset mode: the wiped page is handed out again"


JOURNEY_TRACES = """new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() =>
  resolve({
    viewport: [innerWidth, innerHeight, devicePixelRatio, matchMedia('(pointer: coarse)').matches],
    hovered: document.querySelectorAll(':hover').length,
    overs: window.overs || 0,
    focused: document.activeElement ? document.activeElement.tagName : null,
    selection: String(getSelection()),
    scrolled: [scrollX, scrollY],
  }))))"""
COUNT_OVERS = "addEventListener('mouseover', () => window.overs = (window.overs || 0) + 1, true); 1"


@pytest.mark.parametrize("isolation", ["reset", "context"])
def test_what_a_journey_leaves_is_not_seen_by_the_next(
    fresh_pool: object, site: LocalSite, isolation: str
) -> None:
    """Focus, hover, selection, scroll and an emulated viewport stay with their test."""
    pool = fresh_pool(isolation=isolation)  # type: ignore[operator]
    clean = None
    for lease_number in range(4):
        page = pool.acquire_page()
        page.goto(site.url("/app"))
        page.evaluate(COUNT_OVERS)
        traces = page.evaluate(JOURNEY_TRACES)
        if clean is None:
            clean = traces
            assert clean["hovered"] == 0, "precondition: no mouse over a fresh page"
        assert traces == clean, lease_number
        # What a journey leaves behind: a mobile viewport, the mouse over the list, focus
        # and a selection in a field, a scrolled document.
        page.set_viewport(500, 350, device_scale_factor=2, mobile=True)
        page.evaluate("document.body.style.paddingBottom = '3000px'; 1")
        page.hover("#items")
        page.fill("#filter", "milk")
        page.press("#filter", "Shift+Home")
        page.scroll_into_view("text=Load more")
        page.evaluate("scrollTo(0, 1500); 1")
        left = page.evaluate(JOURNEY_TRACES)
        assert left["viewport"] != clean["viewport"], "precondition: the viewport changed"
        assert left["hovered"] > 0, "precondition: the mouse is over the page"
        assert left["focused"] == "INPUT", "precondition: the filter has focus"
        assert left["scrolled"][1] > 0, "precondition: the document is scrolled"
        pool.release_page(page)


# -- resilience ------------------------------------------------------------------------


def test_a_transient_launch_failure_is_retried(
    fresh_pool: object, short_tmp_path: Path, site: LocalSite
) -> None:
    from pytest_cdp_accept.engine import launcher

    marker = short_tmp_path / "failed-once"
    script = short_tmp_path / "flaky-browser"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ ! -e "{marker}" ]; then touch "{marker}"; echo "transient failure" >&2; exit 1; fi\n'
        f'exec "{launcher.find_browser()}" "$@"\n'
    )
    script.chmod(0o755)
    pool = fresh_pool(executable=str(script))  # type: ignore[operator]
    page = pool.acquire_page()
    assert page.goto(site.url("/")).status == 200
    pool.release_page(page)
    assert marker.exists()
    assert pool.pool.stats.browsers_launched == 1


def test_a_dead_endpoint_trips_the_breaker_and_fails_fast(fresh_pool: object) -> None:
    import time

    from pytest_cdp_accept import LaunchError
    from pytest_cdp_accept.engine.resilience import CircuitOpenError

    from .conftest import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    pool = fresh_pool(  # type: ignore[operator]
        endpoints=(endpoint,), launch_attempts=2, breaker_threshold=2, launch_timeout=2
    )
    for _ in range(2):
        with pytest.raises(LaunchError, match=r"browser http:.*could not reach"):
            pool.acquire_page()
    start = time.monotonic()
    with pytest.raises(CircuitOpenError, match=r"failed 2 times in a row.*retrying in"):
        pool.acquire_page()
    assert time.monotonic() - start < 1.0  # fast: no connection attempt at all


def test_recycle_when_memory_passes_the_limit(fresh_pool: object, site: LocalSite) -> None:
    pool = fresh_pool(recycle_memory_mb=1)  # type: ignore[operator]
    pids = []
    for _ in range(2):
        page = pool.acquire_page()
        page.goto(site.url("/"))
        pids.append(page.browser_pid)
        pool.release_page(page)
    assert pids[0] != pids[1]


# -- leases interrupted, browsers stalled ---------------------------------------------


@contextmanager
def stalled(pid: int | None) -> Iterator[None]:
    """The browser stops answering (GC, swap, a starved CPU) until the block ends."""
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the timeout"
        await asyncio.sleep(0.05)


def test_a_lease_cancelled_during_a_launch_leaves_the_pool_its_size(fresh_pool: object) -> None:
    pool = fresh_pool(size=2)  # type: ignore[operator]
    core = pool.pool

    async def scenario() -> tuple[PooledBrowser, PooledBrowser]:
        lease = asyncio.ensure_future(core.acquire_browser())
        await asyncio.sleep(0.05)
        launch = core._launching[0]
        lease.cancel()
        await asyncio.gather(lease, launch, return_exceptions=True)
        await asyncio.sleep(0)
        assert "launching=0" in repr(core)
        first, second = await asyncio.gather(core.acquire_browser(), core.acquire_browser())
        await core.release_browser(first)
        await core.release_browser(second)
        return first, second

    first, second = pool.runner.run(scenario())
    assert first is not second  # the second lease launched the pool's second browser


def test_a_lease_cancelled_during_the_health_check_gives_its_claim_back(
    fresh_pool: object,
) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    core = pool.pool

    async def scenario() -> PooledBrowser:
        pooled = await core.acquire_browser()
        await core.release_browser(pooled)
        pooled.last_used -= 2 * HEALTH_CHECK_AFTER  # the next lease pays for a check
        with stalled(pooled.browser.pid):
            lease = asyncio.ensure_future(core.acquire_browser())
            await asyncio.sleep(0.3)  # in the check, which the stall holds up
            lease.cancel()
            await asyncio.gather(lease, return_exceptions=True)
        return pooled

    pooled = pool.runner.run(scenario())
    assert pooled.active == 0
    assert "pages active=0" in repr(pool)


def test_a_stalled_browser_in_use_is_not_checked_or_closed_under_its_lease(
    fresh_pool: object, site: LocalSite
) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    core = pool.pool

    async def scenario() -> None:
        first = await core.acquire_page()
        await first.page.goto(site.url("/"))
        first.owner.last_used -= 2 * HEALTH_CHECK_AFTER  # a long test
        # Stalled past the 2 s health check, while the first test still runs.
        with stalled(first.owner.browser.pid):
            second = asyncio.ensure_future(core.acquire_page())
            await asyncio.sleep(2.5)
        second_lease = await second
        assert second_lease.owner is first.owner
        assert not first.owner.browser.closed
        assert await first.page.evaluate("1 + 1") == 2
        await core.release_page(first)
        await core.release_page(second_lease)

    pool.runner.run(scenario())


def test_a_browser_failing_its_check_retires_once_the_leases_on_it_end(
    fresh_pool: object,
) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    core = pool.pool

    async def scenario() -> None:
        stale = await core.acquire_browser()
        await core.release_browser(stale)
        stale.last_used -= 2 * HEALTH_CHECK_AFTER
        with stalled(stale.browser.pid):
            checking = asyncio.ensure_future(core.acquire_browser())
            await asyncio.sleep(0.2)
            # Meanwhile a lease takes the browser being checked (size 1: the only one).
            sharing = await core.acquire_browser()
            assert sharing is stale
            replacement = await checking  # the check failed: a new browser was launched
        assert replacement is not stale
        assert not stale.browser.closed  # still in use by `sharing`
        assert await stale.browser.health_check()
        await core.release_browser(sharing)
        assert stale.browser not in core.browsers  # the last lease on it ended
        await until(lambda: stale.browser.closed)
        await core.release_browser(replacement)

    pool.runner.run(scenario())


def test_a_parked_page_that_crashed_is_disposed_with_its_context(
    fresh_pool: object, site: LocalSite
) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    core = pool.pool

    async def scenario() -> None:
        lease = await core.acquire_page()
        await lease.page.goto(site.url("/"))
        pooled = lease.owner
        await core.release_page(lease)
        await until(lambda: len(pooled.idle_pages) == 1)  # the wiped one
        crashed = {page.context_id for page in pooled.idle_pages}
        for page in pooled.idle_pages:
            await page.crash()  # renderers die while parked (the OOM killer, ...)
        lease = await core.acquire_page()
        assert lease.page.context_id not in crashed
        await core.release_page(lease)

        async def contexts() -> set[str]:
            reply = await pooled.browser.session.send("Target.getBrowserContexts")
            return set(reply["browserContextIds"])

        deadline = asyncio.get_running_loop().time() + 5
        while crashed & await contexts():
            assert asyncio.get_running_loop().time() < deadline, "crashed contexts outlived them"
            await asyncio.sleep(0.05)

    pool.runner.run(scenario())


@pytest.mark.parametrize("delay", [0, 0.02])
def test_an_interrupted_close_leaves_kill_now_every_browser(
    fresh_pool: object, pool_root: Path, delay: float
) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    page = pool.acquire_page()
    pool.release_page(page)
    process = page.core.browser.process
    assert process is not None

    async def interrupted_close() -> None:
        closing = asyncio.ensure_future(pool.pool.close())
        await asyncio.sleep(delay)  # the browser's close has begun (or is about to)
        closing.cancel()  # Ctrl-C: SyncPool.close cancels it, then calls kill_now
        await asyncio.gather(closing, return_exceptions=True)

    pool.runner.run(interrupted_close())
    pool.pool.kill_now()
    pool.runner.run(until(lambda: not processes_using(str(pool_root))))
    assert not roots_in(pool_root)
    # Reaped on the loop that started it, or its transport warns when collected.
    pool.runner.run(asyncio.wait_for(process.proc.wait(), 10))
