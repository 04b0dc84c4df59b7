"""The evidence core on the real Chromium: page logs, screenshots and traces."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept.engine.browser import Page
from pytest_cdp_accept.engine.evidence import (
    SAMPLE_MARGIN_AFTER,
    BrowserTracer,
    PageLog,
    crop_trace,
    sample_window,
    screenshot,
)
from pytest_cdp_accept.engine.sync import SyncPool
from pytest_cdp_accept.errors import TraceClockError
from pytest_cdp_accept.site import LocalSite

from .conftest import free_port


@pytest.fixture
def page(pool: SyncPool) -> Iterator[Page]:
    sync_page = pool.acquire_page()
    yield sync_page.core
    pool.release_page(sync_page)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking every chunk's CRC and inflating the image."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, image, size = 8, b"", (0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            image += body
        pos += 12 + length
    width, height = size
    assert len(zlib.decompress(image)) >= width * height * 3  # RGB(A) rows
    return width, height


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the page's events"
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- PageLog


def test_page_log_keeps_errors_exceptions_and_failed_requests(
    page: Page, site: LocalSite, run: Any
) -> None:
    refused = f"http://127.0.0.1:{free_port()}/gone"

    async def scenario() -> PageLog:
        await page.goto(site.url("/"))
        await page.evaluate("console.error('logged before the log started'); 1")
        log = PageLog(page)
        await log.start()
        await page.evaluate(
            "console.log('fine'); console.warn('only a warning');"
            "console.error('checkout failed', {code: 42});"
            "console.assert(1 === 2, 'one is not two');"
            "setTimeout(() => { throw new RangeError('bad range') }, 0);"
            f"fetch('/status/503'); fetch('{refused}').catch(() => 0);"
            "fetch('/redirect?to=/status/200');"
            "1"
        )
        await wait_until(lambda: len(log.console) >= 3 and len(log.requests) >= 2)
        await page.goto(site.url("/status/404"), check_status=False)
        await wait_until(lambda: len(log.requests) >= 3)
        await asyncio.sleep(0.2)  # anything else would have come by now
        log.stop()
        await page.evaluate("console.error('logged after the log stopped'); 1")
        await asyncio.sleep(0.1)
        return log

    log = run(scenario())
    kinds = [(entry.kind, entry.text) for entry in log.console]
    assert ("console.error", "checkout failed {code: 42}") in kinds
    assert ("console.assert", "Assertion failed: one is not two") in kinds
    exception = next(entry for entry in log.console if entry.kind == "exception")
    assert exception.text.startswith("RangeError: bad range")
    assert len(log.console) == 3, kinds  # not the log, the warning, the replayed or late error

    by_url = {request.url: request for request in log.requests}
    assert set(by_url) == {site.url("/status/503"), refused, site.url("/status/404")}
    assert by_url[site.url("/status/503")].status == 503
    assert by_url[site.url("/status/503")].resource_type == "Fetch"
    assert by_url[site.url("/status/404")].resource_type == "Document"
    assert by_url[refused].status is None
    assert by_url[refused].error == "net::ERR_CONNECTION_REFUSED"
    assert all(r.duration_ms is not None for r in log.requests)
    assert all(r.duration_ms >= 0 for r in log.requests if r.duration_ms is not None)

    lines = log.lines()
    assert "console.error: checkout failed {code: 42}" in lines
    assert any(line.startswith(f"GET {refused} -> net::ERR_CONNECTION_REFUSED") for line in lines)
    assert any(line.startswith(f"GET {site.url('/status/503')} -> 503") for line in lines)
    data = json.loads(json.dumps(log.to_json()))
    assert len(data["console"]) == 3
    assert len(data["failed_requests"]) == 3


def test_page_log_is_bounded_and_ignores_cancelled_requests(
    page: Page, site: LocalSite, run: Any
) -> None:
    async def scenario() -> PageLog:
        await page.goto(site.url("/"))
        log = PageLog(page, limit=3)
        await log.start()
        await page.evaluate("for (let i = 0; i < 5; i++) console.error('e' + i); 1")
        await page.evaluate("fetch('/slow?ms=3000').catch(() => 0); 1")
        await wait_until(lambda: len(log.console) + log.dropped_console >= 5)
        await page.goto(site.url("/"))  # cancels the slow fetch: not a failure
        await asyncio.sleep(0.2)
        log.stop()
        return log

    log = run(scenario())
    assert [entry.text for entry in log.console] == ["e0", "e1", "e2"]
    assert log.dropped_console == 2
    assert log.requests == []
    assert log.lines(limit=2)[-1] == "... and 3 more console errors"


# --------------------------------------------------------------------------- screenshots


def test_screenshot_is_a_png_of_the_viewport(
    page: Page, site: LocalSite, run: Any, tmp_path: Path
) -> None:
    async def scenario() -> tuple[Path, Any]:
        await page.goto(site.url("/"))
        viewport = await page.evaluate("[innerWidth, innerHeight]")
        return await screenshot(page, tmp_path / "deep" / "shot.png"), viewport

    path, (width, height) = run(scenario())
    assert png_size(path.read_bytes()) == (width, height)


# --------------------------------------------------------------------------- traces


def trace_events(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    events = data["traceEvents"]
    assert isinstance(events, list)
    assert events
    for event in events:  # the trace-event format's required fields
        assert isinstance(event["ph"], str), event
        assert isinstance(event["pid"], int), event
    return events


def sent_urls(events: list[dict[str, Any]]) -> set[str]:
    return {e["args"]["data"]["url"] for e in events if e["name"] == "ResourceSendRequest"}


def test_tracer_saves_a_trace_and_crops_the_slowest_navigation(
    page: Page, site: LocalSite, run: Any, tmp_path: Path
) -> None:
    fast, slow, after = site.url("/slow?ms=10"), site.url("/slow?ms=300"), site.url("/?after")

    async def scenario() -> tuple[BrowserTracer, tuple[float, float]]:
        tracer = BrowserTracer(page.browser.session)
        await tracer.start()
        await tracer.mark()
        await page.goto(fast)
        navigation = await page.goto(slow)
        window = sample_window(time.time(), navigation.elapsed_ms)
        await asyncio.sleep(SAMPLE_MARGIN_AFTER + 0.2)
        await page.goto(after)
        await tracer.save(tmp_path / "whole.json", restart=False)
        assert not tracer.running
        return tracer, window

    tracer, window = run(scenario())
    whole = trace_events(tmp_path / "whole.json")
    assert {fast, slow, after} <= sent_urls(whole)
    assert "Paint" in {e["name"] for e in whole}

    inside = tracer.crop(tmp_path / "whole.json", tmp_path / "slowest.json", [window])
    cropped = trace_events(tmp_path / "slowest.json")
    assert 0 < inside < len(cropped) < len(whole)
    # The slow navigation, not the one after it. The one before may show on a loaded
    # machine: Chromium emits a document's ResourceSendRequest when its response
    # starts, which can fall inside the window's margin.
    assert slow in sent_urls(cropped)
    assert sent_urls(cropped) <= {fast, slow}
    assert "Paint" in {e["name"] for e in cropped}
    assert any(e["ph"] == "M" and e["name"] == "thread_name" for e in cropped)

    # Nothing is left recording: the browser takes a new trace at once.
    run(tracer.start())
    run(tracer.stop())
    assert not tracer.running


def test_tracer_keeps_recording_after_a_save(
    page: Page, site: LocalSite, run: Any, tmp_path: Path
) -> None:
    async def scenario() -> None:
        tracer = BrowserTracer(page.browser.session)
        await tracer.start()
        await page.goto(site.url("/?first"))
        await tracer.save(tmp_path / "first.json")
        assert tracer.running
        await page.goto(site.url("/?second"))
        await tracer.save(tmp_path / "second.json", restart=False)

    run(scenario())
    assert sent_urls(trace_events(tmp_path / "first.json")) == {site.url("/?first")}
    assert sent_urls(trace_events(tmp_path / "second.json")) == {site.url("/?second")}


def test_crop_trace_places_wall_windows_on_the_trace_clock(tmp_path: Path) -> None:
    # Trace clock = wall clock * 1e6 + 5e6 (µs): a marker recorded at wall 100.0 s.
    events = [
        {"name": "clock_sync", "ph": "c", "pid": 1, "ts": 105e6, "args": {"sync_id": "a"}},
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "ts": 0, "args": {"name": "B"}},
        {"name": "before", "ph": "I", "pid": 1, "tid": 1, "ts": 105.5e6},
        {"name": "inside", "ph": "I", "pid": 1, "tid": 1, "ts": 106.5e6},
        {"name": "overlaps", "ph": "X", "pid": 1, "tid": 1, "ts": 105.9e6, "dur": 0.2e6},
        {"name": "after", "ph": "I", "pid": 1, "tid": 1, "ts": 107.5e6},
    ]
    source = tmp_path / "trace.json"
    source.write_text(json.dumps({"traceEvents": events, "metadata": {"x": 1}}))
    target = tmp_path / "cropped.json"
    assert crop_trace(source, target, [(101.0, 102.0)], clock={"a": 100.0, "b": 50.0}) == 2
    data = json.loads(target.read_text())
    assert [e["name"] for e in data["traceEvents"]] == [
        "clock_sync",
        "process_name",
        "inside",
        "overlaps",
    ]
    assert data["metadata"] == {"x": 1}
    with pytest.raises(TraceClockError):
        crop_trace(source, target, [(101.0, 102.0)], clock={"other": 100.0})
