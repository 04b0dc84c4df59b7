"""The object model and bad input, on the real Chromium."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from pytest_cdp_accept import (
    Browser,
    CommandError,
    CommandTimeoutError,
    ConnectionClosedError,
    EvaluationError,
    HTTPStatusError,
    LaunchError,
    NavigationError,
    NavigationTimeoutError,
    TargetClosedError,
    TargetCrashedError,
    UsageError,
)
from pytest_cdp_accept.engine import launcher
from pytest_cdp_accept.engine.sync import SyncPage, SyncPool
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite

from .conftest import free_port, processes_using, roots_in


@pytest.fixture
def page(pool: SyncPool) -> Any:
    page, lease = pool.acquire_page()
    yield page
    pool.release_page(page, lease)


def test_a_cancelled_command_is_forgotten(run: Any) -> None:
    # A command cancelled while waiting gets no reply anyone awaits: its bookkeeping
    # must go with it, or every cancelled wait leaks an entry for the browser's life.
    async def cancel_a_command_that_never_answers() -> tuple[int, int]:
        browser = await Browser.launch(launcher.find_browser())
        try:
            page = await browser.new_page()
            protocol = browser.connection._protocol
            never = page.session.send(
                "Runtime.evaluate", {"expression": "new Promise(() => {})", "awaitPromise": True}
            )
            task = asyncio.ensure_future(never)
            await asyncio.sleep(0.2)
            in_flight = protocol.pending_count
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return in_flight, protocol.pending_count
        finally:
            await browser.close()

    assert run(cancel_a_command_that_never_answers()) == (1, 0)


# -- navigation -----------------------------------------------------------------


def test_goto_reports_status_url_elapsed_and_timing(page: SyncPage, site: LocalSite) -> None:
    nav = page.goto(site.url("/"))
    assert nav.status == 200
    assert nav.url == site.url("/")
    assert nav.elapsed_ms > 0
    assert nav.ok
    assert {"responseStart", "domContentLoadedEventEnd", "loadEventEnd"} <= set(nav.timing)
    assert page.evaluate("document.title") == "cdp-accept test site"


def test_events_nobody_listens_for_are_dropped_until_someone_does(
    page: SyncPage, site: LocalSite
) -> None:
    connection = page._page.session.connection
    before = connection.skipped
    page.goto(site.url("/"))
    assert connection.skipped > before  # e.g. Network.dataReceived, the ExtraInfo events
    seen: list[dict[str, Any]] = []
    off = page.on("Network.dataReceived", seen.append)
    page.goto(site.url("/"))
    assert seen
    assert seen[0]["dataLength"] > 0
    off()
    count = len(seen)
    page.goto(site.url("/"))
    assert len(seen) == count


def test_goto_follows_redirects_to_the_final_url(page: SyncPage, site: LocalSite) -> None:
    nav = page.goto(site.url("/redirect?to=/storage"))
    assert nav.url == site.url("/storage")
    assert nav.status == 200


def test_planted_delay_is_measured_not_hidden(page: SyncPage, site: LocalSite) -> None:
    nav = page.goto(site.url("/slow?ms=300"))
    # A lower bound only: the machine is shared, so upper bounds live in bench/.
    assert nav.elapsed_ms >= 300


@pytest.mark.parametrize("wait_until", ["load", "domcontentloaded", "networkidle"])
def test_wait_until_states(page: SyncPage, site: LocalSite, wait_until: str) -> None:
    nav = page.goto(site.url("/"), wait_until=wait_until)  # type: ignore[arg-type]
    assert nav.status == 200
    assert nav.wait_until == wait_until


def test_networkidle_waits_for_late_fetches(page: SyncPage, site: LocalSite) -> None:
    # /spa fetches at 0, 100 and 250 ms after load; only network idle sees them all.
    page.goto(site.url("/spa"), wait_until="networkidle")
    assert page.evaluate("window.spaDone === true && document.title") == "spa-done"


def test_networkidle_times_out_on_a_page_that_never_finishes(
    page: SyncPage, site: LocalSite
) -> None:
    with pytest.raises(NavigationTimeoutError, match=r"networkidle.*cdp-navigation-timeout"):
        page.goto(site.url("/never"), wait_until="networkidle", timeout=1.5)
    assert page.goto(site.url("/")).status == 200  # the page is usable again


def test_a_page_that_never_loads_times_out_and_the_page_recovers(
    page: SyncPage, site: LocalSite
) -> None:
    with pytest.raises(NavigationTimeoutError) as info:
        page.goto(site.url("/never"), timeout=1)
    assert "'load' not reached within 1 s" in str(info.value)
    assert page.goto(site.url("/")).status == 200


def test_connection_refused_names_the_network_error(page: SyncPage) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(NavigationError, match="net::ERR_CONNECTION_REFUSED") as info:
        page.goto(url)
    assert info.value.url == url


def test_invalid_url_is_a_navigation_error(page: SyncPage) -> None:
    with pytest.raises(NavigationError, match="invalid URL"):
        page.goto("not a url")


def test_http_error_status_raises_with_the_navigation(page: SyncPage, site: LocalSite) -> None:
    with pytest.raises(HTTPStatusError, match=r"HTTP 500.*check_status=False") as info:
        page.goto(site.url("/status/500"))
    assert info.value.status == 500
    assert info.value.navigation.status == 500
    nav = page.goto(site.url("/status/404"), check_status=False)
    assert nav.status == 404
    assert not nav.ok


def test_bad_wait_until_is_a_usage_error(page: SyncPage, site: LocalSite) -> None:
    with pytest.raises(UsageError, match="wait_until='idle'"):
        page.goto(site.url("/"), wait_until="idle")  # type: ignore[arg-type]


# -- evaluate and raw commands ----------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1+1", 2),
        ("'a' + 'b'", "ab"),
        ("({a: [1, 2, {b: null}]})", {"a": [1, 2, {"b": None}]}),
        ("undefined", None),
        ("Promise.resolve(42)", 42),
        ("-0", -0.0),
        ("Infinity", float("inf")),
        ("10n ** 20n", 10**20),
    ],
)
def test_evaluate_returns_values(page: SyncPage, expression: str, expected: Any) -> None:
    assert page.evaluate(expression) == expected


def test_evaluate_nan(page: SyncPage) -> None:
    value = page.evaluate("NaN")
    assert value != value


def test_evaluate_keeps_special_numbers_at_any_depth(page: SyncPage) -> None:
    # JSON (returnByValue) turns these into null and 0, and refuses BigInt, below the top.
    value = page.evaluate(
        "({a: NaN, b: [Infinity, -Infinity, -0, 10n ** 20n, undefined, 1.5],"
        " c: {d: {e: [NaN, {f: -0}]}}, g: 'NaN', h: null, i: undefined})"
    )
    assert math.isnan(value["a"])
    assert value["b"][:2] == [math.inf, -math.inf]
    assert value["b"][2] == 0
    assert math.copysign(1, value["b"][2]) == -1
    assert value["b"][3:] == [10**20, None, 1.5]
    assert isinstance(value["b"][3], int)
    assert math.isnan(value["c"]["d"]["e"][0])
    assert math.copysign(1, value["c"]["d"]["e"][1]["f"]) == -1
    assert (value["g"], value["h"]) == ("NaN", None)
    assert "i" not in value  # JSON rules: an undefined property is left out
    arrays = page.evaluate("Promise.resolve([[NaN], [[-Infinity]], 7n])")
    assert math.isnan(arrays[0][0])
    assert arrays[1] == [[-math.inf]]
    assert arrays[2] == 7


def test_evaluate_of_a_cyclic_object_names_the_cycle(page: SyncPage) -> None:
    with pytest.raises(EvaluationError, match=r"cannot be returned by value.*circular"):
        page.evaluate("(() => { const o = {}; o.self = o; return o })()")
    assert page.evaluate("({ok: true})") == {"ok": True}  # the page is fine afterwards


def test_evaluated_objects_are_released_in_the_page(page: SyncPage, run: Any) -> None:
    # An object is serialized through a handle: a handle never released would keep
    # every returned object alive in the page (and in its memory figures).
    assert page.evaluate(
        "(() => { const o = {big: 'x'.repeat(100000)}; globalThis.ref = new WeakRef(o);"
        " return {size: o.big.length} })()"
    ) == {"size": 100000}
    assert page.evaluate(
        "(() => { const o = {n: 1}; globalThis.ref = new WeakRef(o); return o })()"
    ) == {"n": 1}
    time.sleep(0.3)  # the release goes out in the background
    run(page._page.session.send("HeapProfiler.collectGarbage"))
    assert page.evaluate("globalThis.ref.deref() === undefined") is True


def test_javascript_errors_are_evaluation_errors(page: SyncPage) -> None:
    with pytest.raises(EvaluationError, match="Error: boom"):
        page.evaluate("(() => { throw new Error('boom') })()")
    with pytest.raises(EvaluationError, match="nope"):
        page.evaluate("Promise.reject(new Error('nope'))")


def test_cdp_errors_name_method_and_code(page: SyncPage) -> None:
    with pytest.raises(CommandError) as info:
        page.send("Page.noSuchMethod")
    assert info.value.method == "Page.noSuchMethod"
    assert info.value.code == -32601
    assert "Page.noSuchMethod" in str(info.value)


def test_a_never_settling_promise_is_not_called_a_slow_browser(page: SyncPage) -> None:
    for call in (
        lambda: page.send(
            "Runtime.evaluate",
            {"expression": "new Promise(() => {})", "awaitPromise": True},
            timeout=0.5,
        ),
        lambda: page.evaluate("new Promise(() => {})", timeout=0.5),
    ):
        with pytest.raises(CommandTimeoutError) as info:
            call()
        message = str(info.value)
        assert message.startswith("Runtime.evaluate got no answer within 0.5 s")
        assert "the page still answers" in message
        assert "promise it awaits never settled" in message
        assert "just slow" not in message
        assert info.value.page_responsive is True
    assert page.evaluate("1") == 1


def test_a_busy_page_is_named_as_the_cause_of_a_timeout(pool: SyncPool, run: Any) -> None:
    page, lease = pool.acquire_page()
    core = page._page
    try:
        with pytest.raises(CommandTimeoutError) as info:
            page.evaluate("for (;;) {}", timeout=0.5)
        assert info.value.page_responsive is False
        assert info.value.browser_responsive is True
        assert "main thread is busy or hung" in str(info.value)
        assert "just slow" not in str(info.value)
    finally:
        # Stops the endless script from the I/O thread; the page answers again.
        run(core.session.send("Runtime.terminateExecution", timeout=5))
        assert page.evaluate("2", timeout=10) == 2
        pool.release_page(page, lease)


def test_internal_timeouts_keep_the_plain_message() -> None:
    error = CommandTimeoutError("Page.navigate", 2, "--cdp-command-timeout")
    assert str(error) == (
        "Page.navigate got no answer within 2 s; raise --cdp-command-timeout if the browser "
        "is just slow"
    )
    stalled = CommandTimeoutError(
        "DOM.getDocument",
        3,
        "--cdp-command-timeout",
        page_responsive=False,
        browser_responsive=False,
    )
    assert "neither the page nor the browser answered" in str(stalled)
    assert "raise --cdp-command-timeout" in str(stalled)


def test_failed_navigations_and_commands_are_not_samples(pool: SyncPool, site: LocalSite) -> None:
    recorder = MetricsRecorder()
    page, lease = pool.acquire_page(recorder)
    try:
        page.goto(site.url("/"))
        with pytest.raises(HTTPStatusError):
            page.goto(site.url("/status/500"))
        with pytest.raises(NavigationError):
            page.goto(f"http://127.0.0.1:{free_port()}/")
        with pytest.raises(NavigationTimeoutError):
            page.goto(site.url("/slow?ms=3000"), timeout=0.3)
        # An error status the test accepts is a page load like any other (k6's
        # "expected response").
        page.goto(site.url("/status/404"), check_status=False)
        page.evaluate("1")
        with pytest.raises(EvaluationError):
            page.evaluate("null.boom")
        with pytest.raises(CommandError):
            page.send("Page.noSuchMethod")
    finally:
        pool.release_page(page, lease)
    assert len(recorder["navigation"]) == 2
    assert len(recorder["navigation.failed"]) == 3
    assert all(v < 1000 for v in recorder["navigation.failed"][:2])
    assert len(recorder["command"]) == 1
    assert len(recorder["command.failed"]) == 2


def test_command_timeout_covers_writing_the_command(page: SyncPage, run: Any) -> None:
    core = page._page
    pid = page.browser_pid
    assert pid is not None

    async def evaluate_on_a_stalled_browser() -> tuple[BaseException | None, float]:
        # Stopped, the browser reads nothing: a frame larger than the socket buffers
        # cannot be written until it resumes.
        os.kill(pid, signal.SIGSTOP)
        loop = asyncio.get_running_loop()
        resume = loop.call_later(15, os.kill, pid, signal.SIGCONT)
        start = loop.time()
        try:
            await core.evaluate("'" + "x" * 30_000_000 + "'.length", timeout=1)
        except BaseException as exc:
            return exc, loop.time() - start
        finally:
            resume.cancel()
            os.kill(pid, signal.SIGCONT)
        return None, loop.time() - start

    error, elapsed = run(evaluate_on_a_stalled_browser())
    assert isinstance(error, CommandTimeoutError), error
    assert elapsed < 5  # not the 15 s the stall lasts
    assert page.evaluate("1 + 1", timeout=10) == 2


def test_huge_messages_pass(page: SyncPage) -> None:
    size = 8 * 1024 * 1024  # websockets' default limit is 1 MiB
    assert len(page.evaluate(f"'x'.repeat({size})")) == size


def test_metrics_are_performance_get_metrics(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/"))
    metrics = page.metrics()
    assert metrics["JSHeapUsedSize"] > 0
    assert metrics["Nodes"] > 0


def test_events_on_and_wait_for(page: SyncPage, site: LocalSite) -> None:
    seen: list[str] = []
    page.on("Network.requestWillBeSent", lambda params: seen.append(params["request"]["url"]))
    page.goto(site.url("/storage"))
    assert site.url("/storage") in seen


def test_sync_api_is_thread_safe(pool: SyncPool, site: LocalSite) -> None:
    leases = [pool.acquire_page() for _ in range(4)]
    errors: list[BaseException] = []

    def work(page: SyncPage, n: int) -> None:
        try:
            page.goto(site.url("/"))
            for i in range(50):
                assert page.evaluate(f"{i} * {n}") == i * n
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p, n)) for n, (p, _) in enumerate(leases)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for page, lease in leases:
        pool.release_page(page, lease)
    assert not errors


def test_handlers_added_and_removed_from_many_threads_are_all_counted(
    page: SyncPage, site: LocalSite
) -> None:
    # Events are dropped undecoded by a connection-wide count of their listeners: a count
    # changed off the loop thread lost updates, and events with handlers were dropped.
    event = "Page.frameStartedLoading"  # one the package itself does not listen for
    wanted = page._page.session.connection._wanted
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


# -- crashes and closed connections -------------------------------------------------------


def test_crash_fails_pending_commands_at_once_and_navigation_revives(
    pool: SyncPool, site: LocalSite, run: Any
) -> None:
    page, lease = pool.acquire_page()
    core = lease.page
    page.goto(site.url("/"))

    async def crash_while_pending() -> BaseException | None:
        pending = asyncio.ensure_future(core.evaluate("new Promise(() => {})"))
        await asyncio.sleep(0.1)
        await core.crash()
        try:
            await asyncio.wait_for(pending, 5)  # far less than the 30 s command timeout
        except BaseException as exc:
            return exc
        return None

    error = run(crash_while_pending())
    assert isinstance(error, TargetCrashedError), error
    assert "crashed" in str(error)
    assert page.crashed
    with pytest.raises(TargetCrashedError, match=r"Runtime.evaluate"):
        page.evaluate("1")
    assert page.goto(site.url("/")).status == 200  # navigating a crashed tab revives it
    assert page.evaluate("2+2") == 4
    pool.release_page(page, lease)


def test_a_page_closed_from_outside_fails_its_waits_at_once(
    pool: SyncPool, site: LocalSite, run: Any
) -> None:
    page, lease = pool.acquire_page()
    core = lease.page

    async def close_while_waiting() -> list[BaseException | dict[str, Any]]:
        # Neither ever completes on its own: /never holds back the load event.
        waiting = asyncio.ensure_future(core.session.wait_for("Page.loadEventFired"))
        loading = asyncio.ensure_future(core.goto(site.url("/never")))
        await asyncio.sleep(0.5)
        await core.browser.session.send("Target.closeTarget", {"targetId": core.target_id})
        both = asyncio.gather(waiting, loading, return_exceptions=True)
        return await asyncio.wait_for(both, 5)  # far less than the 30 s timeouts

    errors = run(close_while_waiting())
    assert [type(e) for e in errors] == [TargetClosedError, TargetClosedError], errors
    with pytest.raises(TargetClosedError, match=r"Page\.navigate: target detached"):
        page.goto(site.url("/"))
    with pytest.raises(TargetClosedError):
        page.wait_for("Page.loadEventFired", timeout=5)
    pool.release_page(page, lease)


def test_closed_connection_fails_everything_with_one_clear_error(site: LocalSite) -> None:
    async def scenario() -> None:
        browser = await Browser.launch()
        try:
            page = await browser.new_page()
            await page.goto(site.url("/"))
            pending = asyncio.ensure_future(page.evaluate("new Promise(() => {})"))
            await asyncio.sleep(0.1)
            await browser.kill()
            with pytest.raises(ConnectionClosedError, match="killed by SIGKILL"):
                await asyncio.wait_for(pending, 10)
            with pytest.raises(ConnectionClosedError, match=r"Runtime.evaluate"):
                await page.evaluate("1")
            assert not browser.is_alive()
        finally:
            await browser.close()
        assert browser.process is not None
        assert not browser.process.root.exists()
        assert not psutil.pid_exists(browser.process.pid) or (
            psutil.Process(browser.process.pid).status() == psutil.STATUS_ZOMBIE
        )

    asyncio.run(scenario())


# -- launching ---------------------------------------------------------------------


def test_launch_and_close_leave_nothing(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = short_tmp_path
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(tmp_path))

    async def scenario() -> tuple[int, float]:
        browser = await Browser.launch()
        memory = await browser.memory()
        assert browser.version.startswith(("Chrome/", "HeadlessChrome/"))
        assert memory.processes >= 3
        assert 0 < memory.pss_mb < memory.rss_mb
        root = browser.process.root if browser.process else None
        assert root is not None
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        pid = browser.pid or 0
        await browser.close()
        return pid, browser.startup_ms

    pid, startup_ms = asyncio.run(scenario())
    assert startup_ms > 0
    assert not processes_using(str(tmp_path))
    assert not roots_in(tmp_path)
    assert not any(tmp_path.glob("**/org.chromium.Chromium.*"))
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-browser"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_browser_that_fails_to_start_shows_its_output(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = short_tmp_path
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(tmp_path))
    exe = _script(tmp_path, 'echo "fatal: cannot open display" >&2; exit 3')
    with pytest.raises(LaunchError) as info:
        asyncio.run(Browser.launch(exe))
    text = str(info.value)
    assert "exited before DevTools was ready" in text
    assert "exited with code 3" in text
    assert "fatal: cannot open display" in text
    assert not roots_in(tmp_path)


def test_browser_that_hangs_at_start_times_out_and_is_killed(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = short_tmp_path
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(tmp_path))
    exe = _script(tmp_path, 'echo "starting..." >&2; exec sleep 600')
    with pytest.raises(LaunchError, match=r"within 1 s.*cdp-launch-timeout") as info:
        asyncio.run(Browser.launch(exe, launch_timeout=1))
    assert "starting..." in str(info.value)
    assert not roots_in(tmp_path)
    assert not processes_using(str(tmp_path))


def test_missing_browser_names_what_was_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_cdp_accept import BrowserNotFoundError
    from pytest_cdp_accept.engine import launcher

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CDP_ACCEPT_BROWSER", raising=False)
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    with pytest.raises(BrowserNotFoundError) as info:
        launcher.find_browser()
    text = str(info.value)
    assert "chromium" in text
    assert "google-chrome" in text
    assert "Playwright" in text
    assert "cdp-accept install-browser" in text


def test_explicit_browser_that_does_not_exist_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_cdp_accept.engine import launcher

    with pytest.raises(LaunchError, match=r"/no/such/chrome.*does not exist"):
        launcher.find_browser("/no/such/chrome")
    monkeypatch.setenv("CDP_ACCEPT_BROWSER", "/no/such/env-chrome")
    with pytest.raises(LaunchError, match="CDP_ACCEPT_BROWSER"):
        launcher.find_browser()


def test_feature_switches_are_merged() -> None:
    from pytest_cdp_accept.engine import launcher

    args = launcher.default_args(["--disable-features=Foo", "--enable-features=RenderDocument"])
    disables = [a for a in args if a.startswith("--disable-features=")]
    enables = [a for a in args if a.startswith("--enable-features=")]
    assert len(disables) == 1
    assert len(enables) == 1
    assert "Foo" in disables[0]
    assert "Translate" in disables[0]
    assert "RenderDocument" not in disables[0]
    assert enables[0] == "--enable-features=RenderDocument"


# -- remote browsers -------------------------------------------------------------------


def test_remote_endpoint_is_used_and_not_killed(remote_browser: Any, site: LocalSite) -> None:
    from pytest_cdp_accept.engine.pool import PoolOptions

    proc, endpoint = remote_browser
    with SyncPool(PoolOptions(endpoints=(endpoint,))) as remote_pool:
        page, lease = remote_pool.acquire_page()
        assert page.goto(site.url("/")).status == 200
        assert page.browser_pid is None  # not ours: we did not launch it
        remote_pool.release_page(page, lease)
    assert proc.poll() is None, "closing the pool must not stop a browser it did not launch"


def test_unreachable_endpoint_is_a_clear_launch_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LaunchError, match=f"could not reach the browser at {url}"):
        asyncio.run(Browser.connect(url, timeout=2))
    with pytest.raises(LaunchError, match="expected ws://"):
        asyncio.run(Browser.connect("ftp://nope"))


def test_timing_is_read_on_first_use_and_only_for_the_current_document(
    page: SyncPage, site: LocalSite
) -> None:
    first = page.goto(site.url("/"))
    assert first.timing["loadEventEnd"] > 0
    assert first.timing is first.timing  # read once, then kept
    stale = page.goto(site.url("/storage"))
    page.goto(site.url("/"))
    with pytest.raises(UsageError, match="before the next goto"):
        _ = stale.timing


def test_a_dialog_nobody_listens_for_is_dismissed(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/"))
    assert page.evaluate("alert('hi'); confirm('sure?')") is False  # dismissed, not blocking


def test_a_new_context_starts_one_renderer_and_no_browser_ui(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New headless opens omnibox pop-up WebUI pages per context and a spare renderer
    unless told not to: three renderer processes per context instead of one."""
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(short_tmp_path))

    def renderers(browser: Browser) -> int:
        assert browser.process is not None
        procs = browser.process.process_tree()
        return sum(1 for p in procs if "--type=renderer" in p.cmdline())

    async def scenario() -> tuple[list[int], list[str]]:
        browser = await Browser.launch()
        try:
            counts = [renderers(browser)]
            for _ in range(2):
                context = await browser.new_context()
                await browser.new_page(context)
                await asyncio.sleep(0.5)  # a spare renderer would start after the page
                counts.append(renderers(browser))
            targets = await browser.session.send("Target.getTargets")
            kinds = [t["type"] for t in targets["targetInfos"]]
        finally:
            await browser.close()
        return counts, kinds

    counts, kinds = asyncio.run(scenario())
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2], counts
    assert kinds == ["page", "page"], kinds
