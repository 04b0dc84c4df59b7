"""The sync facade: thread safety, leases owned by their pages, and a closed pool."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept import PoolClosedError, PoolOptions, UsageError
from pytest_cdp_accept.engine.sync import SyncPage, SyncPool
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite


@pytest.fixture
def pool(pool_root: Path) -> Iterator[SyncPool]:
    """A pool per test in this module: the tests on pools of their own (``fresh_pool``)
    check that no other browser of the module is running."""
    with SyncPool(PoolOptions()) as sync_pool:
        yield sync_pool


def test_sync_api_is_thread_safe(pool: SyncPool, site: LocalSite) -> None:
    pages = [pool.acquire_page() for _ in range(4)]
    errors: list[BaseException] = []

    def work(page: SyncPage, n: int) -> None:
        try:
            page.goto(site.url("/"))
            for i in range(50):
                assert page.evaluate(f"{i} * {n}") == i * n
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p, n)) for n, p in enumerate(pages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for page in pages:
        pool.release_page(page)
    assert not errors


def test_handlers_added_and_removed_from_many_threads_are_all_counted(
    page: SyncPage, site: LocalSite
) -> None:
    # Events are dropped undecoded by a connection-wide count of their listeners: a count
    # changed off the loop thread would lose updates and drop events that have handlers.
    event = "Page.frameStartedLoading"  # one the package itself does not listen for
    wanted = page.core.session.connection._wanted
    before = wanted.get(event, 0)
    seen: list[dict[str, Any]] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the GIL changes hands often: a race shows at once
    try:
        with ThreadPoolExecutor(max_workers=4) as threads:
            offs = list(threads.map(lambda _: page.on(event, seen.append), range(20_000)))
            list(threads.map(lambda off: off(), offs[1:]))
    finally:
        sys.setswitchinterval(interval)
    assert wanted[event] == before + 1
    page.goto(site.url("/"))
    assert len(seen) == 1


def test_a_page_used_after_its_pool_closed_says_so(fresh_pool: object) -> None:
    # Not asyncio's bare RuntimeError('Event loop is closed'), which names no cause.
    pool = fresh_pool()  # type: ignore[operator]
    page = pool.acquire_page()
    pool.release_page(page)
    pool.close()
    with pytest.raises(PoolClosedError, match="belongs to a pool that is closed"):
        page.evaluate("1 + 1")


def test_pages_opened_from_many_threads_share_the_lease_context_and_all_close(
    fresh_pool: object,
) -> None:
    # The sync API is thread-safe: four threads opening the lease's first pages at once
    # must get one context between them, or a second context outlives the lease.
    pool = fresh_pool()  # type: ignore[operator]
    browser = pool.acquire_browser()
    with ThreadPoolExecutor(max_workers=4) as threads:
        pages = list(threads.map(lambda _: browser.new_page(), range(4)))
    contexts = {page.core.context_id for page in pages}
    pool.release_browser(browser)
    pool.close()  # waits for the background closes
    assert len(contexts) == 1, contexts
    assert all(page.core.closed for page in pages)


def test_event_handlers_do_not_outlive_the_lease(fresh_pool: object, site: LocalSite) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    seen: list[str] = []
    page = pool.acquire_page()
    page.on("Page.loadEventFired", lambda params: seen.append("first"))
    page.goto(site.url("/"))
    pool.release_page(page)
    count = len(seen)
    for _ in range(2):
        page = pool.acquire_page()
        page.goto(site.url("/"))
        pool.release_page(page)
    assert len(seen) == count


# -- a page owns its lease ---------------------------------------------------------------


def test_a_page_gives_its_lease_back_once(fresh_pool: object) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    page = pool.acquire_page()
    assert "pages active=1" in repr(pool)
    pool.release_page(page)
    pool.release_page(page)  # a second release is a no-op, not a second slot given back
    assert "pages active=0" in repr(pool)
    with pytest.raises(UsageError, match="not yet released"):
        pool.replace_page(page)


def test_replace_page_moves_the_handle_to_a_healthy_browser(
    fresh_pool: object, site: LocalSite
) -> None:
    pool = fresh_pool()  # type: ignore[operator]
    recorder = MetricsRecorder()
    page = pool.acquire_page(recorder)
    page.navigation_metric = "recovery.navigation"
    page.goto(site.url("/"), record=False)
    assert recorder.samples("recovery.navigation") == []
    dead = page.browser
    dead.kill()
    assert not dead.is_alive()
    pool.replace_page(page)  # the same handle, behind it a page on a new browser
    assert page.browser.is_alive()
    assert page.browser.pid != dead.pid
    assert page.goto(site.url("/")).status == 200
    assert len(recorder.samples("recovery.navigation")) == 1  # the handle's metric moved too
    assert recorder.samples("navigation") == []
    pool.release_page(page)
    assert "pages active=0" in repr(pool)


def test_only_a_leased_page_can_be_replaced(pool: SyncPool) -> None:
    browser = pool.acquire_browser()
    try:
        with pytest.raises(UsageError, match="leased by acquire_page"):
            pool.replace_page(browser.new_page())
    finally:
        pool.release_browser(browser)


def test_heap_usage_sees_what_a_page_keeps_alive(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/leak?kb=4096"))
    before = page.heap_usage()
    page.evaluate("leak()")
    after = page.heap_usage()
    assert after.js_heap_kb - before.js_heap_kb > 2048  # 4 MiB kept; half is a wide margin
    assert after.dom_nodes > 0
    assert after.documents >= 1
