"""What honest figures cost: evaluate's special-number handling, and memory lookups.

    flock /work/coord/bench.lock python bench/bench_fidelity.py [--rounds N]

1. ``evaluate``: ``Page.evaluate`` (primitives in one round trip; objects serialized
   in the page by a second call that keeps NaN, +-Infinity, -0 and BigInt) against
   one ``Runtime.evaluate`` with ``returnByValue`` (which turns those into null or 0
   below the top level), side by side on one page, interleaved
   round by round. Reported: median per call and the ratio evaluate/returnByValue.
2. ``renderer lookup``: one trace of a page (``Page.renderer_pids``), the first in a
   browser (it starts the tracing service) and the later ones.
3. ``memory sample``: one read of every renderer of a browser from
   ``/proc/PID/smaps_rollup``, what the peak sampler does every 100 ms or more.

Prints numbers; gates nothing. The machine is shared: compare ratios, not times.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from pytest_cdp_accept.engine.browser import Browser, Page
from pytest_cdp_accept.engine.memory import ProcessRoles, read_process
from pytest_cdp_accept.site import LocalSite

EXPRESSIONS = {
    "1+1": "1+1",
    "small object": "({a: 1, b: 'two', c: [3, 4]})",
    "1000 objects": "Array.from({length: 1000}, (_, i) => ({i, s: 'x' + i, n: [i, i / 2]}))",
}


async def by_value(page: Page, expression: str) -> object:
    """One Runtime.evaluate with returnByValue: JSON, specials lost below the top."""
    reply = await page.session.send(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
    )
    return reply["result"].get("value")


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


async def bench_evaluate(page: Page, rounds: int) -> None:
    print("1. evaluate: ms per call, median (ratio evaluate / returnByValue)")
    for name, expression in EXPRESSIONS.items():
        calls = 200 if name != "1000 objects" else 20
        old: list[float] = []
        new: list[float] = []
        await timed(lambda e=expression: page.evaluate(e), 5)  # warm-up
        await timed(lambda e=expression: by_value(page, e), 5)
        for index in range(rounds):
            order = [("new", new), ("old", old)]
            if index % 2:
                order.reverse()
            for which, into in order:
                if which == "new":
                    into += await timed(lambda e=expression: page.evaluate(e), calls)
                else:
                    into += await timed(lambda e=expression: by_value(page, e), calls)
        a, b = statistics.median(old), statistics.median(new)
        print(f"   {name:<14} returnByValue {a:7.3f}  evaluate {b:7.3f}  ratio {b / a:5.2f}")


async def bench_lookup(browser: Browser, site: LocalSite, rounds: int) -> None:
    page = await browser.new_page(await browser.new_context())
    await page.goto(site.url("/"))
    start = time.perf_counter()
    await page.renderer_pids()
    first = (time.perf_counter() - start) * 1000.0
    later = await timed(page.renderer_pids, 5 * rounds)
    print("2. renderer lookup (one trace of a page)")
    print(
        f"   first in the browser {first:7.1f} ms; later: median {statistics.median(later):.1f} ms"
    )


def bench_sample(browser: Browser, rounds: int) -> None:
    assert browser.process is not None
    roles = ProcessRoles()
    tree = roles.tree(browser.process.pid)
    renderers = [pid for pid, role in tree if role == "renderer"]
    took = []
    for _ in range(20 * rounds):
        start = time.perf_counter()
        for pid, role in roles.tree(browser.process.pid):
            if role == "renderer":
                read_process(pid)
        took.append((time.perf_counter() - start) * 1000.0)
    whole = []
    for _ in range(5 * rounds):
        start = time.perf_counter()
        for pid, _ in roles.tree(browser.process.pid):
            read_process(pid)
        whole.append((time.perf_counter() - start) * 1000.0)
    print(f"3. memory sample ({len(renderers)} renderers of {len(tree)} processes)")
    print(f"   renderers: median {statistics.median(took):.1f} ms per sample")
    print(f"   whole browser: median {statistics.median(whole):.1f} ms per sample")


async def main(rounds: int) -> None:
    with LocalSite() as site:
        browser = await Browser.launch()
        try:
            page = await browser.new_page(await browser.new_context())
            await page.goto(site.url("/"))
            await bench_evaluate(page, rounds)
            await bench_lookup(browser, site, rounds)
            bench_sample(browser, rounds)
        finally:
            await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    asyncio.run(main(parser.parse_args().rounds))
