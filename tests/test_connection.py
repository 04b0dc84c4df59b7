"""The connection on the real Chromium: commands, their timeouts and errors, events,
and what a crashed target, a detached session or a closed socket does to them."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import psutil
import pytest

from pytest_cdp_accept import (
    Browser,
    CommandError,
    CommandTimeoutError,
    ConnectionClosedError,
    TargetClosedError,
    TargetCrashedError,
)
from pytest_cdp_accept.engine import launcher
from pytest_cdp_accept.engine.sync import SyncPage, SyncPool
from pytest_cdp_accept.site import LocalSite


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


def test_events_nobody_listens_for_are_dropped_until_someone_does(
    page: SyncPage, site: LocalSite
) -> None:
    connection = page.core.session.connection
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
    page = pool.acquire_page()
    core = page.core
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
        pool.release_page(page)


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


def test_command_timeout_covers_writing_the_command(page: SyncPage, run: Any) -> None:
    core = page.core
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
    assert page.evaluate("1 + 1", timeout=60) == 2  # the page first works through the 30 MB command


def test_huge_messages_pass(page: SyncPage) -> None:
    size = 8 * 1024 * 1024  # websockets' default limit is 1 MiB
    assert len(page.evaluate(f"'x'.repeat({size})")) == size


def test_crash_fails_pending_commands_at_once_and_navigation_revives(
    pool: SyncPool, site: LocalSite, run: Any
) -> None:
    page = pool.acquire_page()
    core = page.core
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
    pool.release_page(page)


def test_a_page_closed_from_outside_fails_its_waits_at_once(
    pool: SyncPool, site: LocalSite, run: Any
) -> None:
    page = pool.acquire_page()
    core = page.core

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
    pool.release_page(page)


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
