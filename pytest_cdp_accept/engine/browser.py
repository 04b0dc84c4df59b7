"""The asyncio object model: :class:`Browser` and :class:`Page`, as in Puppeteer.

A :class:`Browser` is one connection to one browser, launched here
(:meth:`Browser.launch`) or already running (:meth:`Browser.connect`). A
:class:`Page` is one page target attached with a flattened session.
Everything here runs on one event loop; :mod:`pytest_cdp_accept.sync` wraps it
for plain (threaded) code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import psutil

from ..errors import (
    CDPAcceptError,
    CommandError,
    CommandTimeoutError,
    EvaluationError,
    HTTPStatusError,
    LaunchError,
    NavigationError,
    NavigationTimeoutError,
    TargetClosedError,
    TargetCrashedError,
    UsageError,
)
from ..metrics import NULL_RECORDER, PAINT_METRICS, Recorder, failed_metric
from . import farm, launcher, remote
from .actions import PageActions
from .connection import CDPSession, Connection
from .farm_endpoint import FarmEndpoint
from .memory import MemoryInfo, memory_of_pids, tree_memory
from .options import DEFAULT_ACTION_TIMEOUT, DEFAULT_COMMAND_TIMEOUT, DEFAULT_NAVIGATION_TIMEOUT
from .throttle import ThrottleProfile, apply_throttle, clear_throttle
from .vitals import Vitals, VitalsCollector

if TYPE_CHECKING:
    from .evidence import BrowserTracer

WaitUntil = Literal["load", "domcontentloaded", "networkidle"]
WAIT_UNTIL = ("load", "domcontentloaded", "networkidle")
NETWORK_IDLE_QUIET = 0.5  # no request in flight for this long = network idle

# Raw commands that leave state behind on a page (overrides, interception,
# injected scripts): a pooled page that received one is not reused.
STATEFUL_PREFIXES = (
    "Emulation.",
    "Fetch.",
    "Network.set",
    "Network.emulate",
    "Page.addScriptToEvaluateOnNewDocument",
    "Page.setBypassCSP",
    "Page.setDownloadBehavior",
    "Page.setInterceptFileChooserDialog",
    "Runtime.addBinding",
    "Security.",
    "Debugger.",
    "Overlay.",
    "Target.setAutoAttach",
    "Animation.setPlaybackRate",
    "Input.setIgnoreInputEvents",
)


@dataclass(frozen=True)
class Navigation:
    """What one :meth:`Page.goto` did."""

    url: str
    """The final URL, after redirects."""
    status: int | None
    """HTTP status of the main document (None for about:, data: and same-document URLs)."""
    elapsed_ms: float
    """From sending ``Page.navigate`` to the ``wait_until`` state (for networkidle:
    to the moment the network went quiet, not including the 500 ms quiet window)."""
    wait_until: str
    _timing: dict[str, float] | _LazyTiming = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status is None or self.status < 400

    @property
    def timing(self) -> dict[str, float]:
        """The page's Navigation Timing entry (``performance.getEntriesByType('navigation')``).

        Read from the page on first use, not by ``goto`` itself (read right after the
        load, it costs every goto 4-8 ms while the renderer is busy). Read it before the
        page navigates again: afterwards it raises ``UsageError``.
        """
        if isinstance(self._timing, dict):
            return self._timing
        return self._timing.get()


class _LazyTiming:
    """Reads a navigation's timing entry once, from any thread but the core loop's."""

    def __init__(self, page: Page, loader: str, loop: asyncio.AbstractEventLoop) -> None:
        self._page = page
        self._loader = loader
        self._loop = loop
        self._value: dict[str, float] | None = None

    def get(self) -> dict[str, float]:
        if self._value is None:
            if _running_loop() is self._loop:
                raise UsageError("on the core event loop, use `await page.navigation_timing(nav)`")
            future = asyncio.run_coroutine_threadsafe(self.fetch(), self._loop)
            self._value = future.result(timeout=30)
        return self._value

    async def fetch(self) -> dict[str, float]:
        if self._value is None:
            if self._page._committed_loader != self._loader:
                raise UsageError(
                    "Navigation.timing is only available until the page navigates again: "
                    "read nav.timing before the next goto"
                )
            self._value = await self._page._navigation_timing()
        return self._value


@dataclass(frozen=True)
class HeapUsage:
    """What a page keeps alive after a forced garbage collection."""

    js_heap_kb: float
    """``JSHeapUsedSize`` in KB."""
    dom_nodes: int
    documents: int
    listeners: int
    """JavaScript event listeners."""


def _unserializable(value: str) -> Any:
    special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}
    if value in special:
        return special[value]
    if value.endswith("n"):
        return int(value[:-1])
    return value


class Page(PageActions):
    """One page (tab) of a :class:`Browser`; journeys (click, fill, waits, reads) come
    from :class:`~pytest_cdp_accept.engine.actions.PageActions`."""

    def __init__(self, browser: Browser, session: CDPSession, context_id: str | None) -> None:
        self.browser = browser
        self.session = session
        self.target_id = session.target_id or ""
        self.context_id = context_id
        self.url = "about:blank"
        self.recorder: Recorder = NULL_RECORDER
        self.navigation_metric = "navigation"
        """Where goto records: loops under load (stress, fleet, recovery) use their own name."""
        self.tainted = False
        self.closed = False
        self._perf_enabled = False
        self._inflight: dict[str, str] = {}  # requestId -> loaderId
        self._main_loader = ""
        self._retired_loaders: set[str] = set()
        self._last_net = time.perf_counter()
        self._net_changed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        session.on("Network.requestWillBeSent", self._on_request)
        session.on("Network.loadingFinished", self._on_request_done)
        session.on("Network.loadingFailed", self._on_request_done)
        session.on("Page.javascriptDialogOpening", self._on_dialog)
        session.on("Page.frameNavigated", self._on_frame_navigated)
        session.on("Page.navigatedWithinDocument", self._on_same_document)
        self._committed_loader = ""
        self.throttle: ThrottleProfile | None = None
        """The throttling profile the page runs under (None: full speed)."""
        self.paint_due = False
        """Whether the figures read at release wait for a first paint still due (up to
        ``PAINT_GRACE_MS``): the plugin sets it for a test gated on fcp or lcp."""
        self._vitals = (
            VitalsCollector(session, self.target_id, on_final=self._record_vitals)
            if browser.vitals
            else None
        )
        self._init_actions()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("crashed" if self.crashed else "live")
        return f"<Page {self.target_id[:8]} {self.url} {state}>"

    @property
    def crashed(self) -> bool:
        return self.session.ended is not None

    # -- set-up ---------------------------------------------------------------

    async def _enable(self) -> None:
        # No lifecycle events: Page.domContentEventFired/loadEventFired after the commit
        # (frameNavigated) of a loader say the same with ~5 fewer messages per navigation.
        # Focus emulation gives every page focus and keeps it visible whichever window
        # the system focuses (a headful browser behind --cdp-endpoint has one focused
        # window at most), as Playwright does for each of its pages. It does not make a
        # page drawn: that takes a window of its own (see Browser.new_page).
        await asyncio.gather(
            self.session.send("Page.enable"),
            self.session.send("Network.enable"),
            self.session.send("Emulation.setFocusEmulationEnabled", {"enabled": True}),
            *([self._vitals.install()] if self._vitals is not None else []),
        )

    def _on_request(self, params: dict[str, Any]) -> None:
        loader = params.get("loaderId", "")
        if params.get("type") == "Document" and params.get("frameId") == self.target_id:
            # A new main document: requests of the old one (a late favicon fetch, say)
            # are dropped by Chromium without a loadingFinished/Failed; stop counting them.
            if self._main_loader and self._main_loader != loader:
                self._retired_loaders.add(self._main_loader)
                if len(self._retired_loaders) > 64:
                    self._retired_loaders = {self._main_loader}
            self._main_loader = loader
            self._inflight = {r: lo for r, lo in self._inflight.items() if lo == loader}
        if loader in self._retired_loaders:
            return
        self._inflight[params.get("requestId", "")] = loader
        self._touch_network()

    def _on_request_done(self, params: dict[str, Any]) -> None:
        if self._inflight.pop(params.get("requestId", ""), None) is not None:
            self._touch_network()

    def _touch_network(self) -> None:
        self._last_net = time.perf_counter()
        self._net_changed.set()

    def _on_frame_navigated(self, params: dict[str, Any]) -> None:
        frame = params.get("frame") or {}
        if frame.get("id") == self.target_id and not frame.get("parentId"):
            self._committed_loader = frame.get("loaderId", "")
            self.url = frame.get("url", self.url) + frame.get("urlFragment", "")

    def _on_same_document(self, params: dict[str, Any]) -> None:
        if params.get("frameId") == self.target_id:
            self.url = params.get("url", self.url)

    def _on_dialog(self, params: dict[str, Any]) -> None:
        # Like Playwright: a dialog nobody listens for is dismissed, never left blocking.
        if self.session.listener_count("Page.javascriptDialogOpening") > 1:  # ours + theirs
            return
        self._spawn(self.session.send("Page.handleJavaScriptDialog", {"accept": False}))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # consumed: background chores may fail when a page dies

    # -- the user API ---------------------------------------------------------

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a raw CDP command on this page's session."""
        if method.startswith(STATEFUL_PREFIXES):
            self.tainted = True
        start = time.perf_counter()
        try:
            result = await self.session.send(method, params, timeout=timeout)
        except CDPAcceptError as exc:
            self.recorder.record("command.failed", _ms_since(start))
            if isinstance(exc, CommandTimeoutError):
                raise await self._explain_timeout(exc) from None
            raise
        self.recorder.record("command", _ms_since(start))
        return result

    async def evaluate(
        self, expression: str, *, timeout: float | None = None, record: bool = True
    ) -> Any:
        """Evaluate a JavaScript expression (promises are awaited) and return its value.

        Objects and arrays come back as dicts and lists (JSON rules: ``undefined``
        becomes None, functions and symbols are left out, ``toJSON`` is used), with
        ``NaN``, ``Infinity``, ``-Infinity``, ``-0`` and BigInt kept at any depth as
        floats and ints.
        """
        start = time.perf_counter()
        try:
            value = await self._evaluate(expression, timeout)
        except CDPAcceptError as exc:
            if record:
                self.recorder.record("command.failed", _ms_since(start))
            if isinstance(exc, CommandTimeoutError):
                raise await self._explain_timeout(exc) from None
            raise
        if record:
            self.recorder.record("command", _ms_since(start))
        return value

    async def _evaluate(self, expression: str, timeout: float | None) -> Any:
        # returnByValue is JSON: it turns NaN and Infinity into null and -0 into 0, and
        # refuses BigInt, below the top level. A primitive comes back exactly in one
        # round trip (as fast as returnByValue); an object is serialized in the page by
        # a second call that tags those values (bench/bench_fidelity.py).
        timeout = self.browser.connection.command_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        result = await self.session.send(
            "Runtime.evaluate", {"expression": expression, "awaitPromise": True}, timeout=timeout
        )
        remote = _evaluate_result(expression, result)
        object_id = remote.get("objectId")
        if object_id is None:
            return _primitive(remote)
        try:
            if remote.get("type") != "object":
                return None  # a function or a symbol: nothing to return by value
            converted = await self.session.send(
                "Runtime.callFunctionOn",
                {"functionDeclaration": TO_JSON, "objectId": object_id, "returnByValue": True},
                timeout=max(0.1, deadline - time.monotonic()),
            )
            details = converted.get("exceptionDetails")
            if details:
                raise EvaluationError(
                    expression, "its result cannot be returned by value: " + _describe(details)
                )
            text = (converted.get("result") or {}).get("value")
            return None if text is None else json.loads(text, object_hook=_tagged)
        finally:
            # The page keeps the object for our handle until it is released.
            self._spawn(self.session.send("Runtime.releaseObject", {"objectId": object_id}))

    async def _explain_timeout(self, error: CommandTimeoutError) -> CommandTimeoutError:
        """The error again, saying whether the page (and the browser) still answer: a
        command waiting on a promise that never settles is not a slow browser."""
        try:
            await self.session.send(
                "Runtime.evaluate", {"expression": "0"}, timeout=RESPONSIVENESS_PROBE
            )
        except CommandTimeoutError:
            page_answers = False
        except CDPAcceptError:
            return error  # crashed or closed meanwhile: that error comes with the next call
        else:
            page_answers = True
        browser_answers: bool | None = None
        if not page_answers:
            try:
                await self.browser.session.send("Browser.getVersion", timeout=RESPONSIVENESS_PROBE)
            except CDPAcceptError:
                browser_answers = False
            else:
                browser_answers = True
        return CommandTimeoutError(
            error.method,
            error.timeout,
            error.setting,
            page_responsive=page_answers,
            browser_responsive=browser_answers,
        )

    async def renderer_pids(self, timeout: float = 10.0) -> set[int]:
        """The OS processes rendering this page's frames (the main frame and any
        out-of-process iframes).

        CDP names no process of a target; a trace of the page does: its
        ``TracingStartedInBrowser`` event lists every frame with its ``processId``
        (how Lighthouse finds a page's processes). The first trace in a browser starts
        its tracing service (~100 ms, one utility process); later ones take ~35 ms.
        """
        session = self.session
        found: list[dict[str, Any]] = []
        if self.browser.tracer is not None:
            # A browser runs one trace at a time: an evidence recording gives way.
            await self.browser.tracer.stop()

        def collect(params: dict[str, Any]) -> None:
            found.extend(e for e in params.get("value", ()) if e.get("name") == TRACE_STARTED)

        off = session.on("Tracing.dataCollected", collect)
        complete = asyncio.ensure_future(
            session.wait_for("Tracing.tracingComplete", timeout=timeout)
        )
        try:
            await session.send("Tracing.start", TRACE_FRAMES, timeout=timeout)
            await session.send("Tracing.end", timeout=timeout)
            await complete
        finally:
            off()
            complete.cancel()
            if complete.done() and not complete.cancelled():
                complete.exception()  # retrieved: the start or end already failed
        pids: set[int] = set()
        for event in found:
            for frame in ((event.get("args") or {}).get("data") or {}).get("frames") or ():
                pid = frame.get("processId")
                if isinstance(pid, int) and pid > 0:
                    pids.add(pid)
        return pids

    async def metrics(self) -> dict[str, float]:
        """``Performance.getMetrics`` as a name -> value dict (enables the domain once)."""
        if not self._perf_enabled:
            await self.session.send("Performance.enable")
            self._perf_enabled = True
        result = await self.session.send("Performance.getMetrics")
        return {m["name"]: float(m["value"]) for m in result.get("metrics", [])}

    async def heap_usage(self) -> HeapUsage:
        """JS heap and DOM counters after a forced garbage collection (two passes)."""
        await self.session.send("HeapProfiler.collectGarbage")
        await self.session.send("HeapProfiler.collectGarbage")
        counters = await self.session.send("Memory.getDOMCounters")
        metrics = await self.metrics()
        return HeapUsage(
            js_heap_kb=metrics.get("JSHeapUsedSize", 0.0) / 1024.0,
            dom_nodes=int(counters.get("nodes", 0)),
            documents=int(counters.get("documents", 0)),
            listeners=int(counters.get("jsEventListeners", 0)),
        )

    async def goto(
        self,
        url: str,
        *,
        wait_until: WaitUntil = "load",
        timeout: float | None = None,
        check_status: bool = True,
        record: bool = True,
    ) -> Navigation:
        """Navigate and wait for ``wait_until``; raises NavigationError on failure.

        An HTTP error status (>= 400) raises :class:`HTTPStatusError` unless
        ``check_status=False``; the error carries the :class:`Navigation`. The time is
        recorded as a ``navigation`` sample; a navigation that failed (network error,
        timeout, an HTTP error status that raises) is recorded as ``navigation.failed``
        instead, so the time it took to fail never counts as a page load.
        """
        if wait_until not in WAIT_UNTIL:
            raise UsageError(f"wait_until={wait_until!r}: expected one of {', '.join(WAIT_UNTIL)}")
        timeout = self.browser.navigation_timeout if timeout is None else timeout
        if self._vitals is not None:
            await self._vitals.settle()  # after input: before the clock starts
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        watch = _NavigationWatch(self)
        start = time.perf_counter()
        try:
            navigation = self._navigate(url, wait_until, timeout, deadline, watch, start)
            if self._vitals is not None:  # the figures of the document it leaves
                navigation = self._vitals.navigate_away(navigation)
            nav, http_failed = await navigation
        except CDPAcceptError:
            if record:  # a failed attempt is not a sample of the navigation's time
                self.recorder.record(f"{self.navigation_metric}.failed", _ms_since(start))
            self.navigation_failed(watch.loader)
            raise
        if check_status and http_failed:
            if record:
                self.recorder.record(f"{self.navigation_metric}.failed", nav.elapsed_ms)
            self.navigation_failed(watch.loader)
            raise HTTPStatusError(nav.url, nav.status or 0, nav)
        if record:
            self.recorder.record(self.navigation_metric, nav.elapsed_ms)
        return nav

    async def _navigate(
        self,
        url: str,
        wait_until: str,
        timeout: float,
        deadline: float,
        watch: _NavigationWatch,
        start: float,
    ) -> tuple[Navigation, bool]:
        """The navigation, and whether the server answered with an HTTP error."""
        try:
            try:
                # Navigating a crashed tab revives it; a closed or detached one is gone.
                revive = isinstance(self.session.ended, TargetCrashedError)
                reply = await self.session.send(
                    "Page.navigate", {"url": url}, timeout=timeout, to_ended=revive
                )
            except CommandError as exc:
                raise NavigationError(url, exc.message) from exc
            except CommandTimeoutError:
                await self._stop_loading()
                raise NavigationTimeoutError(url, wait_until, timeout) from None
            loader = reply.get("loaderId")
            watch.loader = loader
            error_text = reply.get("errorText")
            if error_text and error_text != "net::ERR_HTTP_RESPONSE_CODE_FAILURE":
                raise NavigationError(url, error_text)
            if loader is None:  # same-document navigation: nothing to wait for
                end = time.perf_counter()
            else:
                try:
                    end = await watch.wait(loader, wait_until, deadline)
                except asyncio.TimeoutError:
                    await self._stop_loading()
                    raise NavigationTimeoutError(url, wait_until, timeout) from None
            status = watch.status.get(loader or "")
            final_url = watch.url.get(loader or "", url)
        finally:
            watch.close()
        elapsed = (end - start) * 1000.0
        self.url = final_url
        timing: dict[str, float] | _LazyTiming = {}
        if loader:
            timing = _LazyTiming(self, loader, asyncio.get_running_loop())
        nav = Navigation(final_url, status, elapsed, wait_until, timing)
        return nav, bool(error_text) or (status is not None and status >= 400)

    async def _stop_loading(self) -> None:
        with contextlib.suppress(CDPAcceptError):
            await self.session.send("Page.stopLoading", timeout=2)

    async def navigation_timing(self, navigation: Navigation) -> dict[str, float]:
        """``navigation.timing`` for code running on the core's own event loop."""
        if isinstance(navigation._timing, dict):
            return navigation._timing
        return await navigation._timing.fetch()

    async def _navigation_timing(self) -> dict[str, float]:
        with contextlib.suppress(CDPAcceptError):
            value = await self.evaluate(
                "JSON.stringify(performance.getEntriesByType('navigation')[0] || {})",
                timeout=5,
                record=False,
            )
            data = json.loads(value) if isinstance(value, str) else {}
            return {k: float(v) for k, v in data.items() if isinstance(v, (int, float))}
        return {}

    async def _wait_network_idle(self, deadline: float) -> float:
        """Wait until no request has been in flight for 500 ms; return when quiet began."""
        loop = asyncio.get_running_loop()
        while True:
            now = time.perf_counter()
            if not self._inflight:
                quiet_for = now - self._last_net
                if quiet_for >= NETWORK_IDLE_QUIET:
                    return self._last_net
                wait = NETWORK_IDLE_QUIET - quiet_for
            else:
                wait = NETWORK_IDLE_QUIET
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            self._net_changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._net_changed.wait(), min(wait, remaining))

    # -- Web Vitals and throttling ----------------------------------------------

    async def vitals(self) -> Vitals:
        """The Web Vitals and weight of the current navigation so far (see docs/vitals.md)."""
        if self._vitals is None:
            raise UsageError(
                "page.vitals(): the Web Vitals are off in this run (--cdp-vitals off / "
                "ini cdp_vitals = off)"
            )
        current = await self._vitals.read()
        return current if current is not None else Vitals(self.url, measured=False)

    async def before_navigating(self) -> None:
        """Read the figures of the document the page may leave (``expect_navigation``
        calls this before its block: the navigation may not come, so the document's
        pagehide still hands its values over if it does)."""
        if self._vitals is not None:
            await self._vitals.before_navigate()

    def _input_sent(self) -> None:
        if self._vitals is not None:
            self._vitals.note_input()

    def check_navigation(self, nav: Navigation, loader: str, check_status: bool) -> None:
        """Record a navigation an action caused; an HTTP error status raises (with
        ``check_status``), and its document is not measured then."""
        self.recorder.record(self.navigation_metric, nav.elapsed_ms)
        if check_status and nav.status is not None and nav.status >= 400:
            self.navigation_failed(loader)
            raise HTTPStatusError(nav.url, nav.status, nav)

    def navigation_failed(self, loader: str | None) -> None:
        """A navigation the page API waited for failed: its document is not measured
        (failed attempts are not samples)."""
        if self._vitals is not None and loader:
            self._vitals.skip(loader)

    async def finish_vitals(self) -> None:
        """Record the current document's figures now (the page goes back to the pool)."""
        if self._vitals is not None and not self.crashed and not self.closed:
            await self._vitals.finish(paint=self.paint_due)

    def _record_vitals(self, vitals: Vitals) -> None:
        if not vitals.measured:
            return
        # The loops under load record under their prefix (stress.navigation -> stress.lcp).
        prefix = self.navigation_metric.removesuffix("navigation")
        tags = {"page": page_key(vitals.url)}
        if vitals.throttle is not None:
            tags["throttle"] = vitals.throttle
        for name, value in vitals.metrics().items():
            self.recorder.record(prefix + name, value, tags)
        if vitals.blank:  # a failed attempt: the time it stayed blank
            for name in PAINT_METRICS:
                self.recorder.record(failed_metric(prefix + name), vitals.observed_ms, tags)

    async def set_throttle(self, profile: ThrottleProfile | None) -> None:
        """Run the page under ``profile`` from its next navigation on (None: full speed)."""
        if profile == self.throttle:
            return
        if self.throttle is not None:
            await clear_throttle(self.session, self.throttle)
        self.throttle = None
        if profile is not None:
            await apply_throttle(self.session, profile)
        self.throttle = profile
        if self._vitals is not None:
            self._vitals.throttle = None if profile is None else profile.name

    async def crash(self, timeout: float = 10.0) -> None:
        """Crash this page's renderer (``Page.crash``) and wait until the crash is seen."""
        if self.crashed:
            return
        # Chromium never answers Page.crash: the crash event ends the session instead.
        self._spawn(self.session.send("Page.crash", timeout=timeout))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.crashed:
            if loop.time() > deadline:
                raise CommandTimeoutError("Page.crash", timeout, "crash(timeout=)")
            with contextlib.suppress(TargetClosedError, CommandTimeoutError):
                await self.session.wait_for(
                    "Inspector.targetCrashed", timeout=max(0.01, deadline - loop.time())
                )

    async def close(self) -> None:
        """Close the page (its target)."""
        if self.closed:
            return
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(CDPAcceptError):
            await self.browser.session.send(
                "Target.closeTarget", {"targetId": self.target_id}, timeout=5
            )
        self.browser.connection.forget_session(self.session.session_id)
        self.browser._pages.discard(self)


class _NavigationWatch:
    """Collects, per loaderId, when DOMContentLoaded and load fired and the main
    document's response.

    ``Page.domContentEventFired`` / ``Page.loadEventFired`` carry no loaderId; they
    belong to the main frame's document committed last (``Page.frameNavigated``,
    which the page tracks and which always arrives first), so an old document's
    late load event is never taken for the new one's.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.frame_id = page.target_id  # a page target's main frame has the target's id
        self.loader: str | None = None
        """The loader of the navigation watched, once ``Page.navigate`` named it."""
        self.reached: dict[str, dict[str, float]] = {}
        self.status: dict[str, int] = {}
        self.url: dict[str, str] = {}
        self._changed = asyncio.Event()
        session = page.session
        self._offs = [
            session.on("Page.domContentEventFired", self._on_dom_content),
            session.on("Page.loadEventFired", self._on_load),
            session.on("Network.responseReceived", self._on_response),
            session.on("Page.frameNavigated", self._on_frame),
        ]

    def close(self) -> None:
        for off in self._offs:
            off()

    def _reach(self, name: str) -> None:
        loader = self.page._committed_loader
        self.reached.setdefault(loader, {}).setdefault(name, time.perf_counter())
        self._changed.set()

    def _on_dom_content(self, params: dict[str, Any]) -> None:
        self._reach("DOMContentLoaded")

    def _on_load(self, params: dict[str, Any]) -> None:
        self._reach("load")

    def _on_response(self, params: dict[str, Any]) -> None:
        if params.get("type") == "Document" and params.get("frameId") == self.frame_id:
            loader = params.get("loaderId", "")
            response = params.get("response") or {}
            self.status[loader] = int(response.get("status", 0))
            self.url[loader] = response.get("url", "")

    def _on_frame(self, params: dict[str, Any]) -> None:
        frame = params.get("frame") or {}
        if frame.get("id") == self.frame_id and frame.get("loaderId"):
            self.url[frame["loaderId"]] = frame.get("url", "")

    async def wait(self, loader: str, wait_until: str, deadline: float) -> float:
        """Wait for the state; return the perf_counter time it was reached."""
        name = "DOMContentLoaded" if wait_until == "domcontentloaded" else "load"
        loop = asyncio.get_running_loop()
        while name not in self.reached.get(loader, {}):
            ended = self.page.session.ended
            if isinstance(ended, TargetCrashedError):
                raise NavigationError(self.page.url, "the page crashed while loading")
            if ended is not None:
                raise TargetClosedError(ended.reason, "Page.navigate", self.page.target_id)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))
        reached = self.reached[loader][name]
        if wait_until == "networkidle":
            return await self.page._wait_network_idle(deadline)
        return reached


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def page_key(url: str) -> str:
    """The page a URL shows, for grouping figures: the URL without query and fragment."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme.startswith("http"):
        return url.split("?", 1)[0][:200]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _describe(details: dict[str, Any]) -> str:
    exc = details.get("exception") or {}
    description = exc.get("description") or details.get("text") or "unknown error"
    return str(description).split("\n    at ")[0]


def _evaluate_result(expression: str, result: dict[str, Any]) -> dict[str, Any]:
    """The RemoteObject of an evaluation; raises EvaluationError when the page threw."""
    details = result.get("exceptionDetails")
    if details:
        raise EvaluationError(expression, _describe(details))
    remote: dict[str, Any] = result.get("result") or {}
    return remote


def _primitive(remote: dict[str, Any]) -> Any:
    if "unserializableValue" in remote:
        return _unserializable(remote["unserializableValue"])
    return remote.get("value")


SPECIAL_TAG = "\u0000cdp"
"""The key of the one-key objects that stand for values JSON cannot carry."""

TO_JSON = """function () {
  return JSON.stringify(this, function (key, value) {
    if (typeof value === "bigint") return {"\\u0000cdp": value.toString() + "n"};
    if (typeof value === "number") {
      if (value !== value) return {"\\u0000cdp": "NaN"};
      if (value === Infinity) return {"\\u0000cdp": "Infinity"};
      if (value === -Infinity) return {"\\u0000cdp": "-Infinity"};
      if (value === 0 && 1 / value < 0) return {"\\u0000cdp": "-0"};
    }
    return value;
  });
}"""
"""Serializes the evaluated object in the page, tagging NaN, +-Infinity, -0 and BigInt."""


def _tagged(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and SPECIAL_TAG in obj:
        return _unserializable(obj[SPECIAL_TAG])
    return obj


TRACE_STARTED = "TracingStartedInBrowser"
TRACE_FRAMES = {
    "traceConfig": {"includedCategories": ["disabled-by-default-devtools.timeline"]},
    "transferMode": "ReportEvents",
}
RESPONSIVENESS_PROBE = 1.0  # seconds a page gets to answer "0" after a command timed out


class Browser:
    """One browser: launched here (owns its process) or connected to (does not)."""

    def __init__(
        self,
        connection: Connection,
        process: launcher.BrowserProcess | None,
        *,
        endpoint: str,
        startup_ms: float,
        navigation_timeout: float = DEFAULT_NAVIGATION_TIMEOUT,
        action_timeout: float = DEFAULT_ACTION_TIMEOUT,
    ) -> None:
        self.connection = connection
        self.session = connection.browser_session
        self.process = process
        self.endpoint = endpoint
        self.startup_ms = startup_ms
        self.navigation_timeout = navigation_timeout
        self.action_timeout = action_timeout
        """Default timeout of a page's actions, waits and reads (seconds)."""
        self.version = ""
        self.closed = False
        self.vitals = True
        """Whether its pages measure their Web Vitals (set before the first page opens)."""
        self.tracer: BrowserTracer | None = None
        """The evidence recording of this browser, when one was started (see
        :class:`~pytest_cdp_accept.engine.evidence.BrowserTracer`)."""
        self._pages: set[Page] = set()
        self._contexts: set[str] = set()
        self._remote_kill: Callable[[], Awaitable[bool]] | None = None
        self.local_pid: int | None = process.pid if process is not None else None
        """The main process when it runs on this host (launched here, or a remote browser
        whose command line proves it is the local process with that pid): what memory
        is read from. None for a browser on another host."""
        if process is not None:
            connection.close_hint = process.describe_exit
            connection.before_close_hint = process.proc.wait

    def __repr__(self) -> str:
        where = f"pid {self.pid}" if self.pid else self.endpoint
        state = "closed" if self.closed else ("alive" if self.is_alive() else "dead")
        return f"<Browser {where} {state} pages={len(self._pages)}>"

    # -- construction ---------------------------------------------------------

    @classmethod
    async def launch(
        cls,
        executable: str | None = None,
        *,
        args: Sequence[str] = (),
        launch_timeout: float = 30.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        navigation_timeout: float = DEFAULT_NAVIGATION_TIMEOUT,
        action_timeout: float = DEFAULT_ACTION_TIMEOUT,
    ) -> Browser:
        """Start a local browser; on any failure nothing is left running."""
        executable = executable or launcher.find_browser()
        start = time.perf_counter()
        process = await launcher.spawn(
            executable, launcher.default_args(args), timeout=launch_timeout
        )
        try:
            connection = await Connection.open(
                process.ws_url, timeout=launch_timeout, command_timeout=command_timeout
            )
            browser = cls(
                connection,
                process,
                endpoint=process.ws_url,
                startup_ms=0.0,
                navigation_timeout=navigation_timeout,
                action_timeout=action_timeout,
            )
            await browser._prepare()
        except BaseException as exc:
            await process.stop(grace=0)
            if isinstance(exc, LaunchError) and not exc.output:
                raise LaunchError(str(exc), list(process.output)) from exc
            raise
        browser.startup_ms = (time.perf_counter() - start) * 1000.0
        return browser

    @classmethod
    async def connect(
        cls,
        endpoint: str,
        *,
        timeout: float = 10.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        navigation_timeout: float = DEFAULT_NAVIGATION_TIMEOUT,
        action_timeout: float = DEFAULT_ACTION_TIMEOUT,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Browser:
        """Connect to a running browser: ``ws://...`` as given, or ``http(s)://host:port``
        resolved through ``/json/version`` (path, query and ``headers`` kept throughout)."""
        start = time.perf_counter()
        given = FarmEndpoint.parse(endpoint, headers, option="--cdp-endpoint")
        target = await farm.resolve(given, timeout=timeout)
        sock = await farm.open_socket(target, timeout=timeout)
        connection = Connection(sock.ws, target.display, command_timeout=command_timeout)
        return await cls.attach(
            connection,
            endpoint=given.display,
            started=start,
            navigation_timeout=navigation_timeout,
            action_timeout=action_timeout,
        )

    @classmethod
    async def attach(
        cls,
        connection: Connection,
        *,
        endpoint: str,
        started: float,
        navigation_timeout: float = DEFAULT_NAVIGATION_TIMEOUT,
        action_timeout: float = DEFAULT_ACTION_TIMEOUT,
        kill: Callable[[], Awaitable[bool]] | None = None,
    ) -> Browser:
        """A browser on an open connection to a browser we did not launch (remote, or a
        farm's); closed again if it does not answer. ``started`` is the
        ``time.perf_counter()`` its start-up is counted from; ``kill`` ends it (a farm's
        browser) for :meth:`kill`."""
        browser = cls(
            connection,
            None,
            endpoint=endpoint,
            startup_ms=0.0,
            navigation_timeout=navigation_timeout,
            action_timeout=action_timeout,
        )
        browser._remote_kill = kill
        try:
            await browser._prepare()
            browser.local_pid = await remote.local_main_pid(browser.session)
        except BaseException:
            await connection.close()
            raise
        browser.startup_ms = (time.perf_counter() - started) * 1000.0
        return browser

    async def _prepare(self) -> None:
        # Target.targetCrashed needs target discovery; the version doubles as the first
        # round trip that proves the browser answers.
        replies: tuple[dict[str, Any], dict[str, Any]] = await asyncio.gather(
            self.session.send("Browser.getVersion"),
            self.session.send("Target.setDiscoverTargets", {"discover": True}),
        )
        self.version = str(replies[0].get("product", ""))

    # -- state ----------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def pages(self) -> list[Page]:
        return list(self._pages)

    def is_alive(self) -> bool:
        """Cheap check with no round trip: connection open and process running.

        A browser killed a moment ago still has an open websocket for ~20 ms and
        is not reaped yet; the process table already knows, so ask it too.
        """
        if self.closed or self.connection.closed is not None:
            return False
        return self.process is None or self.process.running()

    async def health_check(self, timeout: float = 2.0) -> bool:
        """A cheap CDP round trip with a short timeout."""
        if not self.is_alive():
            return False
        try:
            await self.session.send("Browser.getVersion", timeout=timeout)
        except CDPAcceptError:
            return False
        return True

    async def memory(self) -> MemoryInfo:
        """The figures of the browser's whole process tree (see
        :mod:`pytest_cdp_accept.engine.memory`): a browser launched here, or a remote one
        that runs on this host."""
        if self.local_pid is None:
            raise UsageError(
                f"memory() reads the processes of a browser on this host; {self.endpoint} "
                "runs elsewhere"
            )
        return await asyncio.get_running_loop().run_in_executor(None, tree_memory, self.local_pid)

    # -- pages and contexts -----------------------------------------------------

    async def new_context(self) -> str:
        """A fresh browser context (incognito-like profile); returns its id."""
        result = await self.session.send("Target.createBrowserContext", {"disposeOnDetach": True})
        context_id = str(result["browserContextId"])
        self._contexts.add(context_id)
        return context_id

    async def dispose_context(self, context_id: str) -> None:
        self._contexts.discard(context_id)
        for page in [p for p in self._pages if p.context_id == context_id]:
            page.closed = True
            self._pages.discard(page)
            self.connection.forget_session(page.session.session_id)
        with contextlib.suppress(CDPAcceptError):
            await self.session.send(
                "Target.disposeBrowserContext", {"browserContextId": context_id}, timeout=10
            )

    async def new_page(self, context_id: str | None = None) -> Page:
        """Open a page (in ``context_id`` or the default context), attached and ready.

        Each page is the only tab of a window of its own. Chromium draws a window's
        active tab alone; a tab behind another stays "visible" to its scripts under
        focus emulation, but its frames go undrawn and the compositor then grants it
        about one animation frame a second, and its first paint comes seconds late or
        never: paint timings, screenshots, animations and frame-driven waits of every
        page but the newest of a window would be wrong. A window costs ~45 ms more
        browser CPU to open than a tab in an existing one (docs/measurement.md).
        """
        params: dict[str, Any] = {"url": "about:blank", "newWindow": True}
        if context_id:
            params["browserContextId"] = context_id
        created = await self.session.send("Target.createTarget", params)
        target_id = created["targetId"]
        try:
            attached = await self.session.send(
                "Target.attachToTarget", {"targetId": target_id, "flatten": True}
            )
            session = self.connection.session(attached["sessionId"], target_id)
            page = Page(self, session, context_id)
            await page._enable()
        except BaseException:
            with contextlib.suppress(CDPAcceptError):
                await self.session.send("Target.closeTarget", {"targetId": target_id}, timeout=5)
            raise
        self._pages.add(page)
        return page

    async def close(self) -> None:
        """``Browser.close``, then kill the process group, reap, and remove the temp root.

        The kill follows the answer to ``Browser.close`` at once: the browser's orderly
        shutdown (~130 ms on 2 cores) only saves a profile that is about to be deleted.
        """
        if self.closed:
            return
        self.closed = True
        if self.process is not None:
            if self.connection.closed is None:
                # No answer comes when the browser exits first.
                with contextlib.suppress(CDPAcceptError):
                    await self.session.send("Browser.close", timeout=2)
            await self.process.stop(grace=0)
            await self.connection.close()
        else:
            for page in list(self._pages):
                await page.close()
            for context_id in list(self._contexts):
                await self.dispose_context(context_id)
            await self.connection.close()

    @property
    def killable(self) -> bool:
        """:meth:`kill` works: a browser launched here, or a farm's."""
        return self.process is not None or self._remote_kill is not None

    async def kill(self) -> None:
        """End the browser abruptly (fault injection): SIGKILL of a local browser's main
        process; a farm's browser is crashed over CDP (or by the farm's kill API)."""
        if self.process is None:
            if self._remote_kill is None:
                raise UsageError(
                    f"kill() needs a browser launched here or on a farm (--cdp-farm); "
                    f"{self.endpoint} is a running browser nobody would start again"
                )
            if not await self._remote_kill():
                raise LaunchError(f"the farm browser at {self.endpoint} did not end when killed")
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.proc.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.proc.wait(), 10)


def memory_of(procs: Sequence[psutil.Process]) -> MemoryInfo:
    """The figures (see :mod:`pytest_cdp_accept.engine.memory`) summed over ``procs``."""
    return memory_of_pids(proc.pid for proc in procs)


__all__ = [
    "WAIT_UNTIL",
    "Browser",
    "HeapUsage",
    "MemoryInfo",
    "Navigation",
    "Page",
    "WaitUntil",
]
