"""The Web Vitals of planted pages, read by the real Chromium through a pooled page.

Each planted page makes one vital happen at a known time or size (see
:mod:`pytest_cdp_accept.planted`). Scores and sizes are checked against what the
page planted; times only from below and against each other, since the machine is
shared: the issue's upper bounds (FCP 300-450 ms, LCP 800-1000 ms, ...) are
checked side by side in ``bench/bench_vitals.py``.
"""

from __future__ import annotations

import pytest

from pytest_cdp_accept.engine.sync import SyncPage, SyncPool
from pytest_cdp_accept.engine.throttle import parse_throttle
from pytest_cdp_accept.engine.vitals import Vitals
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite


def painted(page: SyncPage, ready: str) -> None:
    """Wait until ``ready`` holds in the page, its load event is over and two more
    frames are painted (paint entries are delivered after the frame is shown)."""
    page.wait_for_function(f"!!({ready}) && document.readyState === 'complete'", timeout=15)
    page.evaluate(
        "window.__framed = false; const frame = (f) => requestAnimationFrame(() => setTimeout(f));"
        " frame(() => frame(() => { window.__framed = true; }))"
    )
    page.wait_for_function("window.__framed")


def settled(page: SyncPage, ready: str) -> Vitals:
    """The page's figures once it is :func:`painted`."""
    painted(page, ready)
    return page.vitals()


def test_fcp_of_text_painted_at_300_ms(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/vitals/text?ms=300"))
    vitals = settled(page, "document.getElementById('text')")
    assert vitals.fcp is not None
    assert vitals.fcp >= 300
    assert vitals.lcp is not None
    assert vitals.lcp >= vitals.fcp
    assert vitals.ttfb is not None
    assert 0 < vitals.ttfb < vitals.fcp


def test_lcp_of_an_image_inserted_at_800_ms(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/vitals/hero?ms=800"))
    vitals = settled(page, "document.getElementById('hero')")
    assert vitals.fcp is not None
    assert vitals.lcp is not None
    assert vitals.lcp >= 800
    assert vitals.fcp < 800 <= vitals.lcp  # the heading painted first, the hero last


def test_a_planted_shift_reads_its_score_and_a_still_page_zero(
    page: SyncPage, site: LocalSite
) -> None:
    page.goto(site.url("/vitals/shift?score=0.25&at=300"))
    vitals = settled(page, "window.plantedShiftDone")
    planted = page.evaluate("window.plantedShift")
    assert planted == pytest.approx(0.25, abs=0.01)  # the page's own computed score
    assert vitals.cls == pytest.approx(planted, abs=0.01)
    page.goto(site.url("/vitals/text?ms=0"))
    assert settled(page, "document.getElementById('text')").cls == 0


def test_tbt_of_a_300_ms_task_after_first_paint(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/vitals/longtask?ms=300"))
    vitals = settled(page, "window.plantedBusyDone")
    assert vitals.tbt is not None
    assert vitals.tbt >= 250 - 40
    page.goto(site.url("/vitals/text?ms=0"))
    assert settled(page, "document.getElementById('text')").tbt == 0


def test_inp_of_a_slow_and_a_cheap_handler(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/vitals/input?block=250"))
    assert page.vitals().inp is None  # nobody interacted yet
    page.click("#slow")
    slow = page.vitals()
    assert slow.inp is not None
    assert slow.inp >= 250
    assert slow.interactions >= 1
    page.goto(site.url("/vitals/input?block=250"))
    page.click("#fast")
    cheap = page.vitals()
    assert cheap.inp is not None
    assert cheap.inp < slow.inp - 150


def test_transfer_size_matches_the_bytes_the_site_sent(page: SyncPage, site: LocalSite) -> None:
    site.reset_hits()
    page.goto(site.url("/vitals/weight?kb=300"))
    vitals = settled(page, "window.plantedWeight")
    parts = page.evaluate("window.plantedWeight")
    sent = site.bytes_sent()
    assert sent > 300 * 1024
    assert vitals.transfer_kb * 1024 == pytest.approx(sent, rel=0.05)
    assert vitals.requests == 5  # the document, its script, stylesheet, image and font
    for kind in ("js", "css", "image", "font"):
        body_kb = parts[kind] / 1024
        assert body_kb <= getattr(vitals, f"{kind}_kb") <= body_kb + 1  # + headers


def test_a_throttled_page_is_slow_and_the_next_lease_full_speed(
    pool: SyncPool, site: LocalSite
) -> None:
    url = site.url("/vitals/weight?kb=300")
    profile = parse_throttle("mobile-slow-4g")
    page = pool.acquire_page(throttle=profile)
    target = page.core.target_id
    try:
        assert page.throttle == profile
        page.goto(url, timeout=60)
        slow = settled(page, "window.plantedWeight")
        assert slow.throttle == "mobile-slow-4g"
    finally:
        pool.release_page(page)
    # 300 KiB at 1.47 Mbit/s is 1.7 s of transfer alone, behind 562.5 ms of latency.
    assert slow.load is not None
    assert slow.load >= 1500
    assert slow.fcp is not None
    assert slow.fcp >= 562.5
    # Leases held at once: the spare page first, then the throttled one once wiped.
    held = [pool.acquire_page()]
    try:
        while held[-1].core.target_id != target and len(held) < 3:
            held.append(pool.acquire_page())
        page = held[-1]
        assert page.core.target_id == target, "the throttled page did not come back"
        assert all(p.throttle is None for p in held)
        page.goto(url)
        fast = settled(page, "window.plantedWeight")
    finally:
        for leased in held:
            pool.release_page(leased)
    assert fast.throttle is None
    # Side by side: the throttled load is bandwidth-bound (>= 1.7 s for 300 KiB); the
    # same page at full speed loads it in tens of ms (halved leaves room for a busy host).
    assert fast.load is not None
    assert fast.load < slow.load / 2


def test_each_navigation_is_one_sample_however_it_came(pool: SyncPool, site: LocalSite) -> None:
    """goto, a navigation awaited with expect_navigation, and one the page started by
    itself (same site: handed over on pagehide) each record their own figures."""
    recorder = MetricsRecorder()
    page = pool.acquire_page(recorder)
    try:
        page.goto(site.url("/vitals/text?ms=0"))
        settled(page, "document.getElementById('text')")
        with page.expect_navigation():
            page.evaluate("location.href = '/vitals/shift?score=0.25&at=0'")
        painted(page, "window.plantedShiftDone")  # not read: it hands its figures over
        page.evaluate("setTimeout(() => { location.href = '/vitals/text?ms=10'; })")
        page.wait_for_url("**/vitals/text?ms=10")
        settled(page, "document.getElementById('text')")
    finally:
        pool.release_page(page)
    samples = recorder.all_samples()
    pages = [s.tags["page"].rsplit("/", 1)[-1] for s in samples if s.name == "fcp"]
    assert pages == ["text", "shift", "text"]
    assert [s.value for s in samples if s.name == "cls"] == [0, pytest.approx(0.25, abs=0.01), 0]
    assert len([s for s in samples if s.name == "transfer_kb"]) == 3
