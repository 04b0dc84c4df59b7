"""What a drawn page costs: a reset page's navigate-and-wipe cycle, per placement.

    flock /work/coord/bench.lock python bench/bench_frames.py [--rounds N] [--cycles N]

Each placement gets a browser of its own with two pages in contexts of their own
(as the reset pool keeps them, taking turns); the placements run their blocks of
``--cycles`` cycles (goto the built-in site's page, then the pool's ``wipe_page``)
one after another, the order reversed every round, and each block's CPU of the
browser's process tree is summed by process kind:

``window``
    the page is the only tab of its window (what every page gets): drawn.
``front tab``
    an idle about:blank tab opened after it is its window's active tab: the page is
    not drawn, the window's toolbar does not follow its navigations.
``activate``
    behind a front tab, but ``Target.activateTarget`` makes the page active for the
    navigation and the front tab again for the wipe.
``fullscreen``
    a window of its own in fullscreen (no toolbar): drawn, but the viewport is the
    screen and ``display-mode: fullscreen`` matches.

After the cycles each page is navigated once more and reports its animation frames in
500 ms (~30 when drawn) and its first contentful paint. Prints numbers; gates nothing.
The machine is shared: compare the placements of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field

import psutil

from pytest_cdp_accept.engine.browser import Browser, Page
from pytest_cdp_accept.engine.pool import wipe_page
from pytest_cdp_accept.site import LocalSite

FRAMES_AND_PAINT = """new Promise((resolve) => {
  let frames = 0;
  const start = performance.now();
  const frame = () => {
    frames += 1;
    if (performance.now() - start < 500) return requestAnimationFrame(frame);
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    resolve([frames, fcp ? Math.round(fcp.startTime) : null, innerWidth, innerHeight]);
  };
  requestAnimationFrame(frame);
})"""


def cpu_by_kind(pid: int) -> dict[str, float]:
    """User+system CPU seconds of the browser's process tree, by process kind."""
    totals: dict[str, float] = {}
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return totals
    for proc in procs:
        try:
            cmdline = " ".join(proc.cmdline())
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        if proc.pid == pid:
            kind = "browser"
        elif "--type=renderer" in cmdline:
            kind = "renderer"
        elif "--type=gpu-process" in cmdline:
            kind = "gpu"
        else:
            kind = "other"
        totals[kind] = totals.get(kind, 0.0) + times.user + times.system
    return totals


@dataclass
class Placement:
    name: str
    browser: Browser
    pages: list[Page] = field(default_factory=list)
    fronts: dict[str, str] = field(default_factory=dict)  # page target -> front tab target
    cpu: dict[str, float] = field(default_factory=dict)
    cycles: int = 0

    async def activate(self, target_id: str) -> None:
        await self.browser.session.send("Target.activateTarget", {"targetId": target_id})

    async def before_goto(self, page: Page) -> None:
        if self.name == "activate":
            await self.activate(page.target_id)

    async def after_wipe(self, page: Page) -> None:
        if self.name == "activate":
            await self.activate(self.fronts[page.target_id])


async def open_page(placement: Placement) -> None:
    browser = placement.browser
    context_id = await browser.new_context()
    page = await browser.new_page(context_id)
    if placement.name in ("front tab", "activate"):
        front = await browser.session.send(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context_id}
        )
        placement.fronts[page.target_id] = str(front["targetId"])
    elif placement.name == "fullscreen":
        window = await browser.session.send(
            "Browser.getWindowForTarget", {"targetId": page.target_id}
        )
        await browser.session.send(
            "Browser.setWindowBounds",
            {"windowId": window["windowId"], "bounds": {"windowState": "fullscreen"}},
        )
    placement.pages.append(page)


async def cycle(placement: Placement, page: Page, url: str) -> None:
    await placement.before_goto(page)
    await page.goto(url)
    await wipe_page(page)
    await placement.after_wipe(page)


HEADER = "placement   CPU/cycle  browser   gpu renderer  other   [frames/500ms, FCP, viewport]"


def line(placement: Placement, seen: list[object]) -> str:
    per = {kind: s / placement.cycles * 1000 for kind, s in placement.cpu.items()}
    figures = " ".join(
        f"{per.get(kind, 0.0):{width}.1f}"
        for kind, width in (("browser", 7), ("gpu", 5), ("renderer", 8), ("other", 6))
    )
    return f"{placement.name:11s} {sum(per.values()):6.1f} ms {figures}   {seen}"


async def main(rounds: int, cycles: int) -> None:
    names = ["window", "front tab", "activate", "fullscreen"]
    placements: list[Placement] = []
    with LocalSite() as site:
        url = site.url("/")
        try:
            for name in names:
                placements.append(Placement(name, await Browser.launch()))
                for _ in range(2):
                    await open_page(placements[-1])
                for page in placements[-1].pages:  # warm: each page navigated and wiped once
                    await cycle(placements[-1], page, url)
            for r in range(rounds):
                for placement in placements if r % 2 == 0 else placements[::-1]:
                    await asyncio.sleep(0.3)  # the last block's processes settle
                    pid = placement.browser.pid
                    assert pid is not None
                    before = cpu_by_kind(pid)
                    for i in range(cycles):
                        await cycle(placement, placement.pages[i % 2], url)
                    await asyncio.sleep(0.2)
                    after = cpu_by_kind(pid)
                    for kind, seconds in after.items():
                        spent = seconds - before.get(kind, 0.0)
                        placement.cpu[kind] = placement.cpu.get(kind, 0.0) + spent
                    placement.cycles += cycles
            print(f"{rounds} rounds x {cycles} cycles per placement, blocks interleaved")
            print(HEADER)
            for placement in placements:
                seen = []
                for page in placement.pages:
                    await placement.before_goto(page)
                    await page.goto(url)
                    seen.append(await page.evaluate(FRAMES_AND_PAINT, timeout=20))
                print(line(placement, seen))
        finally:
            await asyncio.gather(*(p.browser.close() for p in placements), return_exceptions=True)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="blocks per placement (6)")
    parser.add_argument("--cycles", type=int, default=20, help="cycles per block (20)")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    started = time.perf_counter()
    asyncio.run(main(args.rounds, args.cycles))
    print(f"total {time.perf_counter() - started:.0f} s")
