"""Evidence of what a page did: console errors, failed requests, screenshots, traces.

Three small tools over the :class:`~pytest_cdp_accept.engine.browser.Page` /
:class:`~pytest_cdp_accept.engine.connection.CDPSession` API, none of which
records a sample (evidence must not change the figures it explains):

- :class:`PageLog` listens to one page while a test runs and keeps its console
  errors (``Runtime.consoleAPICalled`` of type error or assert), uncaught
  exceptions (``Runtime.exceptionThrown``), browser log errors
  (``Log.entryAdded`` of level error, except the network ones, which the
  request list says better) and failed or >= 400 requests (URL, status, error,
  time to the answer) from the Network events the page already receives. Both lists are
  bounded; what did not fit is counted.
- :func:`screenshot` writes a PNG of a page (``Page.captureScreenshot``).
- :class:`BrowserTracer` records a Chrome trace of a whole browser in a ring
  buffer (``Tracing.start`` with ``recordContinuously`` and
  ``transferMode: "ReturnAsStream"``), and on request ends it, streams it to a
  file with ``IO.read`` and starts again. Passing tests cost only the recording:
  ending a trace costs 40-60 ms here (a third of a short test), and often 5 s
  more when a renderer process exited while it ran (a cross-site navigation:
  Chromium waits out its flush timeout for the gone process), which per-test
  start/end would pay on every such test. :func:`crop_trace` cuts a saved trace
  down to time windows (the slowest sample of a metric).

The trace clock: trace timestamps (``ts``, µs) are the browser's monotonic clock.
A ``Tracing.recordClockSyncMarker`` right after the start ties that clock to
``time.time()`` (to within the round trip), so a sample's wall-clock time maps
to trace time, for local and remote browsers alike.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CDPAcceptError, TraceClockError
from .browser import Browser, Page
from .connection import CDPSession

__all__ = [
    "TRACE_CATEGORIES",
    "BrowserTracer",
    "ConsoleEntry",
    "FailedRequest",
    "PageLog",
    "crop_trace",
    "sample_window",
    "screenshot",
    "trace_offset",
]

TRACE_CATEGORIES: tuple[str, ...] = (
    "-*",
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "disabled-by-default-devtools.timeline.frame",
    "disabled-by-default-devtools.timeline.stack",
    "v8.execute",
    "blink.console",
    "blink.user_timing",
    "loading",
    "latencyInfo",
)
"""The DevTools Performance panel's categories without ``toplevel`` (every task of
every thread: 3x the trace and ~25 % slower navigations here) and without the V8
sampling profiler (another ~15 %)."""

DEFAULT_TRACE_BUFFER_KB = 64 * 1024
"""The ring buffer: ~270 KB per navigation of a small page, so the last ~240."""

LOG_LIMIT = 200
"""Console entries and failed requests kept per page; the rest are counted."""

_CONSOLE_TYPES = frozenset({"error", "assert"})
_IO_CHUNK = 1 << 20


# -- console errors and failed requests -------------------------------------------------


@dataclass(frozen=True)
class ConsoleEntry:
    """One console error, uncaught exception or browser log error."""

    kind: str
    """``console.error``, ``console.assert``, ``exception`` or ``log.<source>``."""
    text: str
    url: str | None
    line: int | None
    """1-based, as editors count."""
    column: int | None
    time: float
    """Wall-clock time (``time.time()``)."""

    def line_text(self) -> str:
        """One line: the message's first line and where it came from."""
        where = ""
        if self.url:
            where = f" ({self.url}"
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ")"
        first = self.text.splitlines()[0] if self.text else ""
        return f"{self.kind}: {first}{where}"


@dataclass(frozen=True)
class FailedRequest:
    """A request that failed (network error, blocked) or was answered with >= 400."""

    url: str
    method: str
    resource_type: str
    status: int | None
    """HTTP status; None when no response came."""
    error: str | None
    """Chromium's error text (``net::ERR_CONNECTION_REFUSED``) or blocked reason."""
    start: float
    """Wall-clock time the request was sent."""
    duration_ms: float | None
    """From sending to the response's headers, or to the failure."""

    def line_text(self) -> str:
        outcome = str(self.status) if self.status is not None else (self.error or "failed")
        if self.status is not None and self.error:
            outcome += f" {self.error}"
        took = f" after {self.duration_ms:.0f} ms" if self.duration_ms is not None else ""
        return f"{self.method} {self.url} -> {outcome}{took} ({self.resource_type})"


@dataclass
class _Pending:
    url: str
    method: str
    resource_type: str
    start_wall: float
    start_mono: float
    status: int | None = None


def _short(text: str, limit: int = 500) -> str:
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _remote_text(arg: dict[str, Any]) -> str:
    """A console argument as text, the way the DevTools console prints it."""
    if "value" in arg:
        value = arg["value"]
        return value if isinstance(value, str) else json.dumps(value)
    if "unserializableValue" in arg:
        return str(arg["unserializableValue"])
    preview = arg.get("preview")
    if isinstance(preview, dict) and preview.get("properties") is not None:
        props = ", ".join(
            f"{p.get('name')}: {p.get('value', p.get('type'))}" for p in preview["properties"]
        )
        more = ", …" if preview.get("overflow") else ""
        return f"{{{props}{more}}}" if preview.get("subtype") != "array" else f"[{props}{more}]"
    return str(arg.get("description") or arg.get("type") or "")


def _top_frame(params: dict[str, Any]) -> tuple[str | None, int | None, int | None]:
    frames = (params.get("stackTrace") or {}).get("callFrames") or []
    if frames:
        top = frames[0]
        return top.get("url") or None, int(top["lineNumber"]) + 1, int(top["columnNumber"]) + 1
    return None, None, None


_LOGGING_SESSIONS: weakref.WeakSet[CDPSession] = weakref.WeakSet()
"""Page sessions whose Runtime and Log domains a :class:`PageLog` enabled."""


class PageLog:
    """Console errors, exceptions and failed requests of one page while it is watched.

    ``await log.start()`` enables the ``Runtime`` and ``Log`` domains (the page
    already has ``Network``) and starts listening; ``log.stop()`` stops. Only what
    happens from ``start`` on is kept: enabling ``Runtime`` replays the console
    messages the document logged earlier, and those belong to someone else.
    """

    def __init__(self, page: Page, *, limit: int = LOG_LIMIT) -> None:
        self.page = page
        self.limit = limit
        self.console: list[ConsoleEntry] = []
        self.requests: list[FailedRequest] = []
        self.dropped_console = 0
        self.dropped_requests = 0
        self.started_at = 0.0
        self._pending: dict[str, _Pending] = {}
        self._offs: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return (
            f"<PageLog {self.page.target_id[:8]} console={len(self.console)} "
            f"requests={len(self.requests)}>"
        )

    async def start(self) -> None:
        """Listen from now on. The first log of a page session enables the Runtime and
        Log domains (one round trip to the renderer, in parallel); they stay enabled
        for the session's later logs (Chromium keeps a session's domains across
        navigations and renderer swaps), so a pooled page pays that once."""
        self.started_at = time.time()
        session = self.page.session
        self._offs = [
            session.on("Runtime.consoleAPICalled", self._on_console),
            session.on("Runtime.exceptionThrown", self._on_exception),
            session.on("Log.entryAdded", self._on_log),
            session.on("Network.requestWillBeSent", self._on_request),
            session.on("Network.responseReceived", self._on_response),
            session.on("Network.loadingFinished", self._on_finished),
            session.on("Network.loadingFailed", self._on_failed),
        ]
        if session in _LOGGING_SESSIONS:
            return
        try:
            await asyncio.gather(session.send("Runtime.enable"), session.send("Log.enable"))
        except BaseException:
            self.stop()
            raise
        _LOGGING_SESSIONS.add(session)

    def stop(self) -> None:
        """Stop listening (requests still in flight are forgotten)."""
        for off in self._offs:
            off()
        self._offs = []
        self._pending.clear()

    @property
    def empty(self) -> bool:
        return not self.console and not self.requests

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.page.url,
            "console": [asdict(entry) for entry in self.console],
            "failed_requests": [asdict(request) for request in self.requests],
            "dropped": {"console": self.dropped_console, "failed_requests": self.dropped_requests},
        }

    def lines(self, limit: int = 10) -> list[str]:
        """The failure-text lines: at most ``limit`` of each kind, then how many more."""
        lines = [entry.line_text() for entry in self.console[:limit]]
        more = len(self.console) - limit + self.dropped_console
        if more > 0:
            lines.append(f"... and {more} more console errors")
        lines += [request.line_text() for request in self.requests[:limit]]
        more = len(self.requests) - limit + self.dropped_requests
        if more > 0:
            lines.append(f"... and {more} more failed requests")
        return lines

    # -- listeners ------------------------------------------------------------------

    def _add_console(self, entry: ConsoleEntry) -> None:
        if entry.time < self.started_at:
            return  # replayed by Runtime.enable: logged before this log started
        if len(self.console) < self.limit:
            self.console.append(entry)
        else:
            self.dropped_console += 1

    def _on_console(self, params: dict[str, Any]) -> None:
        kind = params.get("type")
        if kind not in _CONSOLE_TYPES:
            return
        args = params.get("args") or []
        text = " ".join(_remote_text(arg) for arg in args)
        if kind == "assert":
            text = "Assertion failed" + (f": {text}" if text else "")
        url, line, column = _top_frame(params)
        stamp = float(params.get("timestamp") or time.time() * 1000.0) / 1000.0
        self._add_console(ConsoleEntry(f"console.{kind}", _short(text), url, line, column, stamp))

    def _on_exception(self, params: dict[str, Any]) -> None:
        details = params.get("exceptionDetails") or {}
        exception = details.get("exception") or {}
        text = str(exception.get("description") or details.get("text") or "exception")
        url, line, column = _top_frame(details)
        if url is None and details.get("url"):
            url = details["url"]
            line = int(details.get("lineNumber", 0)) + 1
            column = int(details.get("columnNumber", 0)) + 1
        stamp = float(params.get("timestamp") or time.time() * 1000.0) / 1000.0
        self._add_console(ConsoleEntry("exception", _short(text), url, line, column, stamp))

    def _on_log(self, params: dict[str, Any]) -> None:
        entry = params.get("entry") or {}
        if entry.get("level") != "error" or entry.get("source") == "network":
            return
        line = entry.get("lineNumber")
        stamp = float(entry.get("timestamp") or time.time() * 1000.0) / 1000.0
        self._add_console(
            ConsoleEntry(
                f"log.{entry.get('source', 'other')}",
                _short(str(entry.get("text", ""))),
                entry.get("url") or None,
                int(line) + 1 if isinstance(line, int) else None,
                None,
                stamp,
            )
        )

    def _on_request(self, params: dict[str, Any]) -> None:
        request_id = params.get("requestId", "")
        request = params.get("request") or {}
        if params.get("redirectResponse") and request_id in self._pending:
            # The same id goes on to the redirect's target: a 3xx is no failure.
            self._pending[request_id].url = str(request.get("url", ""))
            return
        if len(self._pending) >= 4 * self.limit:
            return  # a page flooding requests: enough are watched already
        self._pending[request_id] = _Pending(
            url=str(request.get("url", "")),
            method=str(request.get("method", "GET")),
            resource_type=str(params.get("type", "Other")),
            start_wall=float(params.get("wallTime") or time.time()),
            start_mono=float(params.get("timestamp") or 0.0),
        )

    def _on_response(self, params: dict[str, Any]) -> None:
        # Kept at the response: a body nobody reads (a fetch whose response is not
        # consumed) never brings a loadingFinished.
        request_id = params.get("requestId", "")
        pending = self._pending.get(request_id)
        status = (params.get("response") or {}).get("status")
        if pending is not None and isinstance(status, int | float) and status >= 400:
            del self._pending[request_id]
            pending.status = int(status)
            self._add_request(pending, None, params.get("timestamp"))

    def _on_finished(self, params: dict[str, Any]) -> None:
        self._pending.pop(params.get("requestId", ""), None)

    def _on_failed(self, params: dict[str, Any]) -> None:
        pending = self._pending.pop(params.get("requestId", ""), None)
        if pending is None or params.get("canceled"):
            # Cancelled: the page navigated away or aborted it itself, not a failure.
            return
        error = str(params.get("blockedReason") or params.get("errorText") or "failed")
        self._add_request(pending, error, params.get("timestamp"))

    def _add_request(self, pending: _Pending, error: str | None, end: Any) -> None:
        duration = None
        if isinstance(end, int | float) and pending.start_mono:
            duration = max(0.0, (float(end) - pending.start_mono) * 1000.0)
        if pending.start_wall < self.started_at:
            return
        failed = FailedRequest(
            url=_short(pending.url, 2000),
            method=pending.method,
            resource_type=pending.resource_type,
            status=pending.status,
            error=error,
            start=pending.start_wall,
            duration_ms=duration,
        )
        if len(self.requests) < self.limit:
            self.requests.append(failed)
        else:
            self.dropped_requests += 1


# -- screenshots ------------------------------------------------------------------------


async def screenshot(page: Page, path: str | os.PathLike[str], *, timeout: float = 10.0) -> Path:
    """Write a PNG of the page's viewport to ``path`` and return it.

    ``optimizeForSpeed`` (a faster zlib level): 43 ms instead of 53 ms for a
    1280×720 page here, for a file ~30 % larger.
    """
    result = await page.session.send(
        "Page.captureScreenshot",
        {"format": "png", "optimizeForSpeed": True},
        timeout=timeout,
    )
    data = base64.b64decode(result.get("data", ""))
    target = Path(path)
    await asyncio.get_running_loop().run_in_executor(None, _write, target, data)
    return target


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


# -- traces ---------------------------------------------------------------------------


@dataclass
class BrowserTracer:
    """A ring-buffer Chrome trace of one browser, saved on request.

    Tracing is browser-wide: one tracer per browser, on its browser session.
    :meth:`mark` ties the trace clock to ``time.time()`` (call it when a test
    starts: the ring buffer may overwrite older markers); :meth:`crop` cuts a
    saved trace to wall-clock windows.
    """

    session: CDPSession
    buffer_kb: int = DEFAULT_TRACE_BUFFER_KB
    categories: Sequence[str] = TRACE_CATEGORIES
    running: bool = False
    markers: dict[str, float] = field(default_factory=dict)
    """Clock sync id -> the wall-clock time it was recorded at (the latest 64)."""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _marking: set[asyncio.Future[None]] = field(default_factory=set, repr=False)

    @classmethod
    def of(cls, browser: Browser) -> BrowserTracer:
        """The browser's tracer (made on first use; ``browser.tracer`` holds it)."""
        if browser.tracer is None:
            browser.tracer = cls(browser.session)
        return browser.tracer

    async def start(self) -> None:
        """Start recording (a no-op when already recording)."""
        async with self._lock:
            await self._start()

    async def _start(self) -> None:
        if self.running:
            return
        await self.session.send(
            "Tracing.start",
            {
                "transferMode": "ReturnAsStream",
                "traceConfig": {
                    "recordMode": "recordContinuously",
                    "traceBufferSizeInKb": self.buffer_kb,
                    "includedCategories": list(self.categories),
                },
            },
        )
        self.running = True
        await self._mark()

    async def mark(self) -> None:
        """Record a clock sync marker (one round trip)."""
        async with self._lock:
            if self.running:
                await self._mark()

    def mark_soon(self) -> None:
        """:meth:`mark` in the background, so that a test starts without waiting for
        the browser (busy right after a page's reset); the lock keeps it before any
        later save."""
        task = asyncio.ensure_future(self.mark())
        self._marking.add(task)
        task.add_done_callback(self._marked)

    def _marked(self, task: asyncio.Future[None]) -> None:
        self._marking.discard(task)
        if not task.cancelled():
            task.exception()  # a browser gone meanwhile: the next save says so

    async def _mark(self) -> None:
        sync_id = f"cdp-accept-{uuid.uuid4().hex[:12]}"
        sent = time.time()
        await self.session.send("Tracing.recordClockSyncMarker", {"syncId": sync_id})
        self.markers[sync_id] = (sent + time.time()) / 2.0
        while len(self.markers) > 64:
            del self.markers[next(iter(self.markers))]

    async def save(self, path: str | os.PathLike[str], *, restart: bool = True) -> Path:
        """End the recording, stream all of it to ``path`` (trace-event JSON), record again."""
        async with self._lock:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                handle = await self._end()
                await self._stream(handle, target)
            finally:
                if restart:
                    await self._start()
            return target

    async def stop(self) -> None:
        """End the recording and discard it (quietly when the browser is gone)."""
        async with self._lock:
            if not self.running:
                return
            with contextlib.suppress(CDPAcceptError, asyncio.TimeoutError):
                handle = await self._end()
                await self.session.send("IO.close", {"handle": handle})

    def crop(
        self,
        source: str | os.PathLike[str],
        target: str | os.PathLike[str],
        windows: Iterable[tuple[float, float]],
    ) -> int:
        """:func:`crop_trace` with wall-clock windows, through this tracer's markers."""
        return crop_trace(source, target, windows, clock=self.markers)

    async def _end(self, timeout: float = 30.0) -> str:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[str, Any]] = loop.create_future()

        def complete(params: dict[str, Any]) -> None:
            if not done.done():
                done.set_result(params)

        off = self.session.on("Tracing.tracingComplete", complete)
        try:
            self.running = False
            await self.session.send("Tracing.end")
            params = await asyncio.wait_for(done, timeout)
        finally:
            off()
        return str(params.get("stream", ""))

    async def _stream(self, handle: str, target: Path) -> None:
        partial = target.with_name(target.name + ".part")
        try:
            with partial.open("wb") as out:
                while True:
                    chunk = await self.session.send(
                        "IO.read", {"handle": handle, "size": _IO_CHUNK}
                    )
                    data = chunk.get("data", "")
                    if chunk.get("base64Encoded"):
                        out.write(base64.b64decode(data))
                    else:
                        out.write(data.encode("utf-8"))
                    if chunk.get("eof"):
                        break
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
            with contextlib.suppress(CDPAcceptError):
                await self.session.send("IO.close", {"handle": handle})


def _events(data: Any) -> list[dict[str, Any]]:
    events = data.get("traceEvents") if isinstance(data, dict) else data
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


SAMPLE_MARGIN_BEFORE = 0.05
SAMPLE_MARGIN_AFTER = 0.3
"""Seconds of trace kept around a sample: a navigation's first paint comes after its
load event (the end of a ``load`` sample), ~20-60 ms later here."""


def sample_window(end: float, duration_ms: float) -> tuple[float, float]:
    """The wall-clock window of a sample that ended at ``end`` and lasted ``duration_ms``,
    with the margins around it."""
    return end - duration_ms / 1000.0 - SAMPLE_MARGIN_BEFORE, end + SAMPLE_MARGIN_AFTER


_KEEP_ALWAYS = frozenset({"TracingStartedInBrowser", "TracingStartedInPage", "clock_sync"})


def trace_offset(events: Iterable[dict[str, Any]], clock: Mapping[str, float]) -> float | None:
    """Trace time minus wall-clock time (µs), from the latest known clock sync marker."""
    best: tuple[float, float] | None = None
    for event in events:
        if event.get("name") != "clock_sync":
            continue
        args = event.get("args")
        wall = clock.get(args.get("sync_id", "")) if isinstance(args, dict) else None
        ts = event.get("ts")
        if wall is not None and isinstance(ts, int | float) and (best is None or wall > best[0]):
            best = (wall, float(ts) - wall * 1e6)
    return None if best is None else best[1]


def crop_trace(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    windows: Iterable[tuple[float, float]],
    *,
    clock: Mapping[str, float],
) -> int:
    """Write the events of ``source`` that fall in any of ``windows`` to ``target``.

    ``windows`` are wall-clock ``(start, end)`` times; ``clock`` maps the sync ids
    of clock sync markers to the wall-clock time each was recorded at, which
    places the windows on the trace clock. Metadata events (process and thread
    names) and the trace-start markers are kept whatever their time, so viewers
    label the tracks as in the full trace; complete events (``ph: X``) are kept
    when they overlap a window. Returns the number of events written; raises
    :class:`TraceClockError` when no marker of ``clock`` is in the trace.
    """
    with Path(source).open("rb") as fh:
        data = json.load(fh)
    events = _events(data)
    offset = trace_offset(events, clock)
    if offset is None:
        raise TraceClockError("the trace holds none of this tracer's clock sync markers")
    spans = sorted((low * 1e6 + offset, high * 1e6 + offset) for low, high in windows)
    kept = []
    inside = 0
    for event in events:
        if event.get("ph") == "M" or event.get("name") in _KEEP_ALWAYS:
            kept.append(event)
            continue
        ts = event.get("ts")
        if not isinstance(ts, int | float):
            continue
        end = ts + float(event.get("dur") or 0)
        if any(ts <= high and end >= low for low, high in spans):
            kept.append(event)
            inside += 1
    out: dict[str, Any] = {"traceEvents": kept}
    if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
        out["metadata"] = data["metadata"]
    Path(target).write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    return inside
