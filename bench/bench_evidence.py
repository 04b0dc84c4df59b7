"""What evidence costs, side by side in one run (engine level, no pytest).

    flock /work/coord/bench.lock python bench/bench_evidence.py [--rounds N] [--only NAME,...]

Items (``--only`` names):

- ``trace``: 50 "tests" (navigate a pooled-style page to the built-in site's ``/``,
  then wipe it back to about:blank) on a browser with nothing recording vs a browser
  recording the ring-buffer trace with a clock sync marker and a PageLog per test
  (what ``--cdp-evidence on-failure`` does for a passing test). Rounds alternate
  the order; the ratio of medians is the figure (target <= 1.25).
- ``categories``: the same with other category sets (with ``toplevel``; with the V8
  sampling profiler), to show why they are left out.
- ``screenshot``: ``Page.captureScreenshot`` PNG of a 1280x720 viewport (target
  <= 100 ms), with and without ``optimizeForSpeed``.
- ``save``: ending the ring buffer and streaming it to disk after 50 tests, and
  cropping it to one navigation.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from pytest_cdp_accept.engine.browser import Browser, Page
from pytest_cdp_accept.engine.evidence import (
    TRACE_CATEGORIES,
    BrowserTracer,
    PageLog,
    sample_window,
    screenshot,
)
from pytest_cdp_accept.site import LocalSite

TESTS = 50


async def suite(page: Page, site: LocalSite, tracer: BrowserTracer | None) -> float:
    """Wall seconds for TESTS short tests on ``page``."""
    start = time.perf_counter()
    for _ in range(TESTS):
        log = None
        if tracer is not None:
            await tracer.mark()
            log = PageLog(page)
            await log.start()
        await page.goto(site.url("/"))
        if log is not None:
            log.stop()
        await page.goto("about:blank")
    return time.perf_counter() - start


async def open_page(browser: Browser) -> Page:
    return await browser.new_page(await browser.new_context())


async def item_trace(site: LocalSite, rounds: int, variants: dict[str, Sequence[str]]) -> None:
    names = ["off", *variants]
    browsers = {name: await Browser.launch() for name in names}
    try:
        pages = {name: await open_page(b) for name, b in browsers.items()}
        tracers = {
            name: BrowserTracer(browsers[name].session, categories=cats)
            for name, cats in variants.items()
        }
        for tracer in tracers.values():
            await tracer.start()
        for name in names:  # warm up
            await suite(pages[name], site, tracers.get(name))
        times: dict[str, list[float]] = {name: [] for name in names}
        for r in range(rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                times[name].append(await suite(pages[name], site, tracers.get(name)))
        base = statistics.median(times["off"])
        for name in names:
            med = statistics.median(times[name])
            runs = " ".join(f"{t:.2f}" for t in times[name])
            print(f"  {name:28s} {med:6.2f} s  x{med / base:.3f}   ({runs})")
        for tracer in tracers.values():
            await tracer.stop()
    finally:
        for b in browsers.values():
            await b.close()


async def item_screenshot(site: LocalSite, shots: int) -> None:
    browser = await Browser.launch()
    try:
        page = await open_page(browser)
        await page.session.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 720, "deviceScaleFactor": 1, "mobile": False},
        )
        with tempfile.TemporaryDirectory() as tmp:
            for path in ("/", "/heavy?kb=500"):
                await page.goto(site.url(path))
                for fast in (True, False):
                    times = []
                    for i in range(shots):
                        start = time.perf_counter()
                        if fast:
                            await screenshot(page, Path(tmp) / f"{i}.png")
                        else:
                            await page.session.send("Page.captureScreenshot", {"format": "png"})
                        times.append((time.perf_counter() - start) * 1000)
                    label = "screenshot()" if fast else "plain PNG"
                    print(
                        f"  {path:14s} {label:13s} median {statistics.median(times):5.1f} ms"
                        f"  max {max(times):5.1f} ms  (n={shots})"
                    )
    finally:
        await browser.close()


async def item_save(site: LocalSite, rounds: int) -> None:
    browser = await Browser.launch()
    try:
        page = await open_page(browser)
        tracer = BrowserTracer(browser.session)
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(rounds):
                await tracer.start()
                await suite(page, site, tracer)
                nav = await page.goto(site.url("/slow?ms=300"))
                window = sample_window(time.time(), nav.elapsed_ms)
                start = time.perf_counter()
                raw = await tracer.save(Path(tmp) / "raw.json", restart=False)
                saved = time.perf_counter() - start
                start = time.perf_counter()
                kept = tracer.crop(raw, Path(tmp) / "crop.json", [window])
                cropped = time.perf_counter() - start
                size = raw.stat().st_size / 2**20
                small = (Path(tmp) / "crop.json").stat().st_size / 2**10
                print(
                    f"  round {r}: save {saved * 1000:6.0f} ms ({size:.1f} MB), "
                    f"crop {cropped * 1000:5.0f} ms ({kept} events, {small:.0f} KB)"
                )
    finally:
        await browser.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--only", default="trace,categories,screenshot,save")
    args = parser.parse_args()
    only = set(args.only.split(","))
    with LocalSite() as site:
        if "trace" in only:
            print(f"trace: {TESTS} tests, off vs on-failure recording (medians of rounds)")
            await item_trace(site, args.rounds, {"on-failure": TRACE_CATEGORIES})
        if "categories" in only:
            print("categories: the same, other category sets")
            await item_trace(
                site,
                args.rounds,
                {
                    "ours + toplevel": (*TRACE_CATEGORIES, "toplevel"),
                    "ours + toplevel + v8 sampling": (
                        *TRACE_CATEGORIES,
                        "toplevel",
                        "disabled-by-default-v8.cpu_profiler",
                    ),
                },
            )
        if "screenshot" in only:
            print("screenshot: 1280x720 viewport")
            await item_screenshot(site, 20)
        if "save" in only:
            print(f"save: the ring buffer after {TESTS} tests, then a crop to one navigation")
            await item_save(site, 3)


if __name__ == "__main__":
    asyncio.run(main())
