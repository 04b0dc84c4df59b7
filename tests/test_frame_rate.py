"""Every page a test gets renders at full frame rate, on the real Chromium.

A page that is not drawn (a tab behind another tab of its window) stays "visible" to
its scripts under focus emulation, but Chromium gives it about one animation frame a
second and reports its first paint seconds late or never: every figure driven by
frames or paint (FCP, LCP, Event Timing, screenshots, animations) would be wrong.
Each check counts the animation frames of half a second on a freshly navigated page
(full rate: ~30, undrawn: 1-2) and reads its first contentful paint after them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept import PoolOptions
from pytest_cdp_accept.engine.fleet import Fleet, SyncFleet
from pytest_cdp_accept.engine.sync import LoopThread, SyncPage, SyncPool
from pytest_cdp_accept.site import LocalSite

from .conftest import processes_using, roots_in

# Animation frames in 500 ms of the page's own clock, then its paint entries. Full rate
# is ~30 frames; an undrawn page gets 1-2. The bar sits well clear of both, so a busy
# machine that drops frames does not fail it and a throttled page cannot pass it.
FRAMES_AND_PAINT = """new Promise((resolve) => {
  let frames = 0;
  const start = performance.now();
  const frame = () => {
    frames += 1;
    if (performance.now() - start < 500) {
      requestAnimationFrame(frame);
      return;
    }
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    resolve({ frames, fcp: fcp ? fcp.startTime : null });
  };
  requestAnimationFrame(frame);
})"""
MIN_FRAMES = 8


def frames_and_paint(page: SyncPage, site: LocalSite) -> dict[str, Any]:
    """Navigate ``page`` afresh; its frames in 500 ms and its first contentful paint."""
    page.goto(site.url("/"))
    result: dict[str, Any] = page.evaluate(FRAMES_AND_PAINT, timeout=20)
    return result


def assert_full_rate(measured: list[dict[str, Any]]) -> None:
    slow = [i for i, m in enumerate(measured) if m["frames"] < MIN_FRAMES]
    unpainted = [i for i, m in enumerate(measured) if m["fcp"] is None]
    assert not slow, f"pages {slow} got fewer than {MIN_FRAMES} frames in 500 ms: {measured}"
    assert not unpainted, f"pages {unpainted} had no first paint 500 ms after load: {measured}"


@pytest.fixture
def fresh_pool(pool_root: Path) -> Iterator[SyncPool]:
    created = SyncPool(PoolOptions())
    try:
        yield created
    finally:
        created.close()
    assert not processes_using(str(pool_root))
    assert not roots_in(pool_root)


def test_every_reset_lease_renders_at_full_rate(fresh_pool: SyncPool, site: LocalSite) -> None:
    # The first page, the one prepared ahead, then both again and again after their wipes.
    measured = []
    for _ in range(6):
        page = fresh_pool.acquire_page()
        measured.append(frames_and_paint(page, site))
        fresh_pool.release_page(page)
    assert_full_rate(measured)


def test_every_context_lease_renders_at_full_rate(fresh_pool: SyncPool, site: LocalSite) -> None:
    measured = []
    for _ in range(3):
        page = fresh_pool.acquire_page(isolation="context")
        measured.append(frames_and_paint(page, site))
        fresh_pool.release_page(page)
    assert_full_rate(measured)


def test_every_page_of_a_browser_lease_renders_at_full_rate(
    fresh_pool: SyncPool, site: LocalSite
) -> None:
    # The pages of one lease share a browser context; each is measured after the others
    # were opened, the first one last as well as first.
    browser = fresh_pool.acquire_browser()
    try:
        pages = [browser.new_page() for _ in range(3)]
        measured = [frames_and_paint(page, site) for page in [*pages, pages[0]]]
    finally:
        fresh_pool.release_browser(browser)
    assert_full_rate(measured)


def test_every_fleet_page_renders_at_full_rate(pool_root: Path, site: LocalSite) -> None:
    runner = LoopThread()
    fleet = Fleet(PoolOptions())
    try:
        runner.run(fleet.up(1, 3))  # three pages in one browser context
        pages = SyncFleet(runner, fleet).pages
        measured = [frames_and_paint(page, site) for page in pages]
    finally:
        runner.run(fleet.close())
        runner.close()
    assert_full_rate(measured)
    assert not processes_using(str(pool_root))
    assert not roots_in(pool_root)
