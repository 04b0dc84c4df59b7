"""The pool in farm mode against a real browserless: every connection a new browser.

Capacity as back-pressure, credentials, faults (kill, farm gone, the farm's own
session timeout). Skipped with the reason where browserless cannot be had
(failed instead under CDP_ACCEPT_REQUIRE_FARM, as in .ci/run).
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from pytest_cdp_accept.engine import farm
from pytest_cdp_accept.engine.farm_endpoint import FarmEndpoint
from pytest_cdp_accept.engine.options import PoolOptions
from pytest_cdp_accept.engine.pool import BrowserPool, PageLease
from pytest_cdp_accept.errors import ConnectionClosedError, TargetClosedError, UsageError
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite

from .farm_support import BrowserlessFarm, running_farm

T = TypeVar("T")
WRONG = "wrong-token-77aa10"


@pytest.fixture(scope="module")
def bl() -> Iterator[BrowserlessFarm]:
    with running_farm(concurrent=10, queued=10) as started:
        yield started


def options(url: str, **kw: Any) -> PoolOptions:
    kw.setdefault("launch_timeout", 30.0)
    return PoolOptions(farm=FarmEndpoint.parse(url), **kw)


def with_pool(opts: PoolOptions, body: Callable[[BrowserPool], Awaitable[T]]) -> T:
    async def main() -> T:
        pool = BrowserPool(opts)
        try:
            return await body(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


async def visit(pool: BrowserPool, url: str, recorder: MetricsRecorder) -> int | None:
    lease: PageLease = await pool.acquire_page(recorder)
    try:
        nav = await lease.page.goto(url)
        return nav.status
    finally:
        await pool.release_page(lease)


def test_farm_and_endpoint_cannot_be_combined() -> None:
    with pytest.raises(UsageError, match="--cdp-farm and --cdp-endpoint"):
        PoolOptions(farm=FarmEndpoint.parse("ws://h:1"), endpoints=("ws://h:2",))


def test_pages_on_farm_browsers_with_our_switches(bl: BrowserlessFarm, site: LocalSite) -> None:
    recorder = MetricsRecorder()

    async def body(pool: BrowserPool) -> tuple[list[int | None], str, Any]:
        statuses = [await visit(pool, site.url("/"), recorder) for _ in range(3)]
        info = await pool.browsers[0].session.send("SystemInfo.getInfo")
        return statuses, str(info["commandLine"]), pool.stats

    statuses, command_line, stats = with_pool(options(bl.http_url), body)
    assert statuses == [200, 200, 200]
    assert "--disable-back-forward-cache" in command_line
    assert stats.browsers_launched == 1
    assert len(recorder.samples("startup")) == 1
    assert recorder.samples("farm.queue") == [0.0]


def test_switches_off_leaves_the_farm_its_own(bl: BrowserlessFarm) -> None:
    async def body(pool: BrowserPool) -> str:
        lease = await pool.acquire_page()
        await pool.release_page(lease)
        info = await pool.browsers[0].session.send("SystemInfo.getInfo")
        return str(info["commandLine"])

    command_line = with_pool(options(bl.ws_url, farm_switches=False), body)
    assert "--disable-back-forward-cache" not in command_line
    assert "--enable-automation" in command_line  # puppeteer's default set


def test_capacity_is_shared_not_broken(site: LocalSite) -> None:
    """Farm of 2 sessions + 2 queued, pool of 5, 10 leases at once: all succeed on the two
    browsers the farm has room for; the farm's queue is never entered."""
    with running_farm(concurrent=2, queued=2) as small:
        recorder = MetricsRecorder()

        async def body(pool: BrowserPool) -> tuple[list[int | None], int, Any]:
            statuses = await asyncio.gather(
                *(visit(pool, site.url("/"), recorder) for _ in range(10))
            )
            return list(statuses), len(pool.browsers), pool.stats

        statuses, browsers, stats = with_pool(options(small.ws_url, size=5), body)
        log = small.log_tail(100_000)
    assert statuses == [200] * 10
    assert browsers <= 2
    assert stats.browsers_launched <= 2
    assert "Concurrency is at capacity, queueing" not in log
    assert "Too many requests" not in log
    assert len(recorder.samples("farm.queue")) >= 1
    # startup is each connection's own time (the farm's launch), recorded once per
    # browser by the lease that used it first; the waiting is farm.queue.
    startups = recorder.samples("startup")
    assert 1 <= len(startups) <= stats.browsers_launched
    assert set(startups) <= set(stats.startup_ms)


def test_leases_beyond_the_farms_capacity_share_its_browsers() -> None:
    """Four pages held at once on a farm of two sessions: the leases over capacity share
    the two browsers instead of waiting for sessions that never free up."""
    with running_farm(concurrent=2, queued=0) as small:

        async def body(pool: BrowserPool) -> tuple[int, list[int]]:
            leases = await asyncio.wait_for(
                asyncio.gather(*(pool.acquire_page() for _ in range(4))), 20
            )
            per_browser = sorted(
                sum(1 for lease in leases if lease.page.browser is b) for b in pool.browsers
            )
            for lease in leases:
                await pool.release_page(lease)
            return len(pool.browsers), per_browser

        browsers, per_browser = with_pool(options(small.ws_url, size=5), body)
    assert browsers <= 2
    assert sum(per_browser) == 4


def test_wrong_token_fails_at_once_without_retries(bl: BrowserlessFarm) -> None:
    before = bl.log_tail(100_000).count("not properly authorized")
    opts = options(f"ws://127.0.0.1:{bl.port}?token={WRONG}", launch_attempts=3)

    async def body(pool: BrowserPool) -> list[BaseException]:
        errors = []
        for _ in range(2):
            try:
                await pool.acquire_page()
            except farm.FarmAuthError as exc:
                errors.append(exc)
        return errors

    errors = with_pool(opts, body)
    assert len(errors) == 2  # the breaker stays closed: no CircuitOpenError the second time
    # /pressure answered 401 before any websocket: one refusal per lease, no retries.
    assert bl.log_tail(100_000).count("not properly authorized") == before + 2
    shown = "".join(traceback.format_exception(errors[0]))
    assert "401" in shown
    assert WRONG not in shown


def test_a_killed_farm_browser_is_replaced_by_a_new_connection(
    bl: BrowserlessFarm, site: LocalSite
) -> None:
    async def body(pool: BrowserPool) -> tuple[bool, int | None, int]:
        pooled = await pool.acquire_browser()
        killable = pooled.browser.killable
        await pooled.browser.kill()
        await pool.release_browser(pooled)
        status = await visit(pool, site.url("/"), MetricsRecorder())
        return killable, status, pool.stats.browsers_launched

    killable, status, launched = with_pool(options(bl.ws_url), body)
    assert killable
    assert status == 200
    assert launched == 2


def test_a_farm_that_goes_away_is_gone_for_the_pool(site: LocalSite) -> None:
    with running_farm() as doomed:

        async def body(pool: BrowserPool) -> BaseException:
            await visit(pool, site.url("/"), MetricsRecorder())
            doomed.kill_hard()
            # The pool may not have seen its connection close yet: this lease can still
            # get the old browser, whose page then fails; the lease after it cannot.
            for _ in range(2):
                try:
                    lease = await pool.acquire_page()
                except farm.FarmGoneError as exc:
                    return exc
                try:
                    await lease.page.goto(site.url("/"))
                except (ConnectionClosedError, TargetClosedError):
                    pass
                finally:
                    await pool.release_page(lease)
            raise AssertionError("a lease succeeded on a dead farm")

        error = with_pool(options(doomed.ws_url, launch_attempts=2), body)
    assert "stopped answering after serving 1 connection" in str(error)
    assert doomed.token not in str(error)


def test_the_farms_session_timeout_is_reported_and_outgrown(site: LocalSite) -> None:
    with running_farm(timeout_ms=2500) as short:

        async def body(pool: BrowserPool) -> tuple[str, int | None, Any]:
            lease = await pool.acquire_page()
            await asyncio.sleep(3.5)
            try:
                await lease.page.goto(site.url("/"))
                cut = ""
            except (ConnectionClosedError, TargetClosedError) as exc:
                cut = str(exc)
            await pool.release_page(lease)
            status = await visit(pool, site.url("/"), MetricsRecorder())
            return cut, status, pool.stats

        cut, status, stats = with_pool(options(short.ws_url), body)
    assert "the farm cut the session after" in cut
    assert "TIMEOUT" in cut
    assert status == 200  # the next lease connected again
    assert len(stats.farm_cuts) == 1


def test_a_fleet_opens_one_connection_per_browser(bl: BrowserlessFarm, site: LocalSite) -> None:
    from pytest_cdp_accept.engine.fleet import Fleet

    recorder = MetricsRecorder()

    async def main() -> tuple[tuple[int, int], list[int | None], set[int]]:
        fleet = Fleet(options(bl.ws_url), recorder)
        try:
            await fleet.up(3, 6)
            statuses = [(await p.goto(site.url("/"))).status for p in fleet.pages]
            ids = set()
            for browser in fleet.browsers:
                info = await browser.session.send("SystemInfo.getProcessInfo")
                ids |= {p["id"] for p in info["processInfo"] if p["type"] == "browser"}
            return fleet.health(), statuses, ids
        finally:
            await fleet.close()

    health, statuses, browser_pids = asyncio.run(main())
    assert health == (3, 6)
    assert statuses == [200] * 6
    assert len(browser_pids) == 3  # three browsers on the farm, not three pages on one
    assert len(recorder.samples("farm.queue")) == 3
    assert len(recorder.samples("fleet.launch")) == 3


def test_a_fleet_larger_than_the_farm_says_so() -> None:
    from pytest_cdp_accept.engine.fleet import Fleet

    with running_farm(concurrent=2, queued=0) as small:

        async def main() -> None:
            fleet = Fleet(options(small.ws_url, launch_timeout=3.0))
            try:
                await fleet.up(3, 3)
            finally:
                await fleet.close()

        with pytest.raises(farm.FarmBusyError, match="no free session within 3 s"):
            asyncio.run(main())


# -- memory gates on a farm ----------------------------------------------------------------------


def probe_farm(farm_url: str, site: LocalSite, figures: set[str]) -> Any:
    """Lease a page on the farm, load the built-in site, and probe ``figures`` after it."""
    from pytest_cdp_accept.engine.probe import TestProbe
    from pytest_cdp_accept.engine.sync import LoopThread

    runner = LoopThread()
    pool = BrowserPool(options(farm_url))
    try:
        lease = runner.run(pool.acquire_page())
        probe = TestProbe(MetricsRecorder())
        probe.use(runner, lease.page.browser, lease.page)
        probe.before_body(figures)
        runner.run(lease.page.goto(site.url("/")))
        probe.after_body()
        local_pid = lease.page.browser.local_pid
        runner.run(pool.release_page(lease))
        return probe, local_pid
    finally:
        runner.run(pool.close())
        runner.close()


def test_memory_of_a_farm_on_this_host_is_read_like_a_local_browsers(
    bl: BrowserlessFarm, site: LocalSite
) -> None:
    probe, local_pid = probe_farm(bl.ws_url, site, {"idle", "peak", "browser_idle", "js_heap"})
    samples = probe.recorder.by_name()
    assert local_pid is not None  # proven by its command line: the farm's pids are ours
    assert samples["memory.idle"][0] > 1
    assert samples["memory.peak"][0] >= samples["memory.idle"][0] * 0.5
    assert samples["memory.browser_idle"][0] > samples["memory.idle"][0]
    assert samples["memory.js_heap"][0] > 0
    assert probe.basis == {}  # the usual figures
    assert probe.unmeasured == {}


def test_memory_of_a_farm_elsewhere_is_its_private_footprint(site: LocalSite) -> None:
    with running_farm(own_pids=True) as elsewhere:
        probe, local_pid = probe_farm(
            elsewhere.ws_url, site, {"idle", "peak", "browser_idle", "browser_peak", "js_heap"}
        )
    samples = probe.recorder.by_name()
    assert local_pid is None  # its pids are another namespace's: not readable here
    assert samples["memory.idle"][0] > 1
    assert samples["memory.browser_idle"][0] > samples["memory.idle"][0]
    assert samples["memory.js_heap"][0] > 0
    assert "private memory footprint" in probe.basis["memory.idle"]
    assert "private memory footprint" in probe.basis["memory.browser_idle"]
    # Peaks are sampled from /proc while the body runs: n/a with the reason, never a pass.
    assert "memory.peak" not in samples
    assert "another host" in probe.inapplicable["memory.peak"]
    assert "another host" in probe.inapplicable["memory.browser_peak"]
