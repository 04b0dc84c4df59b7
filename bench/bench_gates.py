"""Benchmarks of the gates at the contract's scale: fleet, xdist, stress, recovery.

    python bench/bench_gates.py [--quick] [--only NAME,...] [--json PATH]

Items (``--only`` names):

* fleet: 10 browsers + 50 pages up, 50 concurrent gotos, PSS; ours (``Fleet.up``)
  against Playwright (10 parallel ``chromium.launch``) given our switches and with
  its own, and a raw CDP floor, interleaved over rounds;
* xdist: 50 navigation tests in one process vs ``-n 2`` (plain, with a session
  gate + ``--cdp-json``, and 50 browserless tests for xdist's own cost);
* stress: ``cdp_stress(runs=1000, concurrency=50)`` against the built-in site,
  every run and every server hit counted;
* recovery: ``cdp_recovery`` renderer crashes and browser kills, time to a
  passing body.

Conventions (statistics, tables, interleaving, ``--json``) are bench_engine.py's;
see bench/README.md for what each item measures exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.metadata
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import (
    ARGS,
    EXECUTABLE,
    OURS_TEST,
    REQUIRED_SWITCHES,
    SCRATCH,
    Item,
    Ratio,
    RawBrowser,
    Series,
    fmt,
    item_json,
    no_nan,
    ratio_line,
    rotated,
    run_pytest,
    scratch_env,
    tail,
)
from bench_engine import print_item as engine_print_item

from pytest_cdp_accept.engine import launcher
from pytest_cdp_accept.engine.browser import memory_of
from pytest_cdp_accept.engine.fleet import Fleet
from pytest_cdp_accept.engine.pool import PoolOptions
from pytest_cdp_accept.engine.probe import pss_of
from pytest_cdp_accept.engine.sync import LoopThread
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite

BROWSERS, PAGES = 10, 50
SETTLE = 1.0  # seconds after the 50 gotos before PSS is read (both contenders)
# -- checks against absolute targets, items, printing -----------------------------------


@dataclass
class Check:
    """An absolute target (a count, a rate, a p95): measured text, target text, verdict."""

    label: str
    measured: str
    target: str
    ok: bool | None  # None: informational

    @property
    def verdict(self) -> str:
        return "info" if self.ok is None else ("PASS" if self.ok else "MISS")


@dataclass
class GItem(Item):
    checks: list[Check] = field(default_factory=list)


def check_line(c: Check, width: int) -> str:
    return f"{c.label:<{width}} {c.measured:>26}  {c.target:>9}  {c.verdict}"


def print_item(item: GItem) -> None:
    engine_print_item(item, ["  check " + check_line(c, item_width(item) - 6) for c in item.checks])


def item_width(item: Item) -> int:
    return max([len(s.label) for s in item.series.values()] + [24])


def print_summary(items: list[GItem]) -> None:
    print("\n== summary (ratios: ratio of medians, paired = median of per-round ratios) ==")
    labels = [f"{i.key}: {r.label}" for i in items for r in i.ratios]
    labels += [f"{i.key}: {c.label}" for i in items for c in i.checks]
    width = max([len(s) for s in labels] + [20])
    for item in items:
        for r in item.ratios:
            r2 = Ratio(f"{item.key}: {r.label}", r.num, r.ref, r.target, r.value, r.paired)
            print("  " + ratio_line(r2, width))
        for c in item.checks:
            c2 = Check(f"{item.key}: {c.label}", c.measured, c.target, c.ok)
            print("  " + check_line(c2, width))


# -- subprocess pytest runs -------------------------------------------------------------


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def samples_of(data: dict[str, Any], metric: str, test: str = "") -> list[float]:
    return [
        s["value"] for s in data["samples"] if s["metric"] == metric and test in s.get("test", "")
    ]


PYTEST_BASE = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:playwright",
    "-p",
    "no:base_url",
]
OURS_BASE = [*PYTEST_BASE, f"--cdp-browser={EXECUTABLE}"]


# -- context ------------------------------------------------------------------------------


@dataclass
class Config:
    rounds: int  # fleet and xdist
    recovery_rounds: int
    stress_runs: int
    quick: bool


@dataclass
class Bench:
    cfg: Config
    runner: LoopThread
    site: LocalSite
    pw: Any | None  # playwright.async_api.Playwright (driver started once, not timed)
    driver_pid: int | None


# -- 1. fleet -----------------------------------------------------------------------------


LAUNCH_METRICS = ("fleet.launch", "startup")  # what Fleet.up records per launch (new, old)


class PhaseRecorder(MetricsRecorder):
    """Notes when each metric is last recorded: Fleet.up records every launch
    (``fleet.launch``) as soon as that browser is up, so the last such sample marks
    the end of the launch phase."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, float] = {}

    def record(self, name: str, value: float) -> None:
        self.last[name] = time.perf_counter()
        super().record(name, value)


def pw_browser_trees(driver_pid: int | None) -> list[list[psutil.Process]]:
    """Each Playwright browser's process tree: the driver's children that are Chromium."""
    if driver_pid is None:
        return []
    trees = []
    with contextlib.suppress(psutil.NoSuchProcess):
        for child in psutil.Process(driver_pid).children():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                cmd = " ".join(child.cmdline())
                if "--remote-debugging-pipe" in cmd or "chrom" in child.name().lower():
                    trees.append([child, *child.children(recursive=True)])
    return trees


class RawMux:
    """The raw floor for a fleet: a bare CDP client whose calls may overlap (one reader
    task hands replies to their callers and wakes whoever waits for an event)."""

    def __init__(self, browser: RawBrowser) -> None:
        assert browser.ws is not None
        self.ws = browser.ws
        self.next_id = 0
        self.replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.waiting: dict[tuple[str, str], asyncio.Future[None]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            data = json.loads(frame)
            if "id" in data:
                reply = self.replies.pop(data["id"])
                if "error" in data:
                    reply.set_exception(RuntimeError(str(data["error"])))
                else:
                    reply.set_result(data.get("result") or {})
            else:
                waiter = self.waiting.pop((data.get("sessionId", ""), data["method"]), None)
                if waiter is not None:
                    waiter.set_result(None)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, session: str = ""
    ) -> dict[str, Any]:
        self.next_id += 1
        reply = asyncio.get_running_loop().create_future()
        self.replies[self.next_id] = reply
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.ws.send(json.dumps(message, separators=(",", ":")))
        return await reply

    def event(self, session: str, method: str) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[(session, method)] = waiter
        return waiter

    async def bring_up(self, pages: int) -> list[str]:
        """A context, then its pages each in a window of its own, attached, Page.enable and
        focus emulation only."""
        context = await self.call("Target.createBrowserContext", {"disposeOnDetach": True})

        async def page() -> str:
            target = await self.call(
                "Target.createTarget",
                {
                    "url": "about:blank",
                    "browserContextId": context["browserContextId"],
                    "newWindow": True,
                },
            )
            attached = await self.call(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )
            session = str(attached["sessionId"])
            # Drawn, visible pages, like ours (see Browser.new_page, Page._enable): as tabs
            # of one window, 4 of every 5 would go undrawn at ~1 frame a second, and
            # without focus emulation hidden, both cheaper and different outcomes.
            await asyncio.gather(
                self.call("Page.enable", session=session),
                self.call("Emulation.setFocusEmulationEnabled", {"enabled": True}, session),
            )
            return session

        return list(await asyncio.gather(*(page() for _ in range(pages))))

    async def goto(self, session: str, url: str) -> None:
        loaded = self.event(session, "Page.loadEventFired")
        await self.call("Page.navigate", {"url": url}, session)
        await loaded


async def item_fleet(bench: Bench) -> GItem:
    item = GItem("fleet", f"1. fleet: {BROWSERS} browsers + {PAGES} pages, {PAGES} gotos", "ms")
    phases = ("launch", "pages", "nav", "total")
    labels = {
        "launch": f"{BROWSERS} launches (parallel)",
        "pages": f"{PAGES} pages (parallel)",
        "nav": f"{PAGES} concurrent goto('/')",
        "total": "total: launch + pages + gotos",
    }
    who = {"ours": "ours", "pw": "playwright"}
    for phase in phases:
        for c in who:
            item.add(f"{c}_{phase}", f"{who[c]}: {labels[phase]}", distribution=False)
    item.add("ours_up", "  ours fleet.startup_ms (Fleet.up)", distribution=False, info=True)
    item.add("ours_launch1", "  ours: one browser's startup_ms", info=True)
    item.add("pw_launch1", "  playwright: one chromium.launch()", info=True)
    item.add("ours_page1", "  ours: one page_open", info=True)
    item.add("pw_page1", "  playwright: one new_page()", info=True)
    item.add("ours_goto1", "  ours: one goto of the 50", info=True)
    item.add("pw_goto1", "  playwright: one goto of the 50", info=True)
    item.add("ours_close", "  ours: Fleet.close()", distribution=False, info=True)
    item.add("pw_close", "  playwright: 10 x browser.close()", distribution=False, info=True)
    for phase in ("launch", "pages", "nav", "total"):
        item.add(
            f"pw_own_{phase}",
            f"  playwright, its own switches: {labels[phase].split(':')[0]}",
            distribution=False,
            info=True,
        )
    item.add("raw_total", "  raw CDP floor (same switches): total", distribution=False, info=True)
    item.add("ours_pss", "ours: PSS of the 10 browser trees (MB)", distribution=False)
    item.add("pw_pss", "playwright: PSS of the 10 browser trees (MB)", distribution=False)
    item.add("pw_own_pss", "  playwright, own switches: PSS (MB)", distribution=False, info=True)
    item.add("ours_procs", "  ours: processes in those trees", distribution=False, info=True)
    item.add("pw_procs", "  playwright: processes in those trees", distribution=False, info=True)
    if bench.pw is None:
        item.notes.append("Playwright is not installed: ours only, no ratio.")
    else:
        # The target is judged against Playwright as its users run it (its own switches),
        # as the issue measured it; against Playwright given our switches even the raw
        # floor stays above 0.8x (see the README), so that ratio is shown, not targeted.
        item.ratios.append(
            Ratio("total ours / playwright own switches", "ours_total", "pw_own_total", 0.80)
        )
        item.ratios.append(
            Ratio("PSS ours / playwright own switches", "ours_pss", "pw_own_pss", None)
        )
        item.ratios.append(Ratio("total ours / playwright", "ours_total", "pw_total", None))
        for phase in ("launch", "pages", "nav"):
            item.ratios.append(
                Ratio(f"{phase} ours / playwright", f"ours_{phase}", f"pw_{phase}", None)
            )
        item.ratios.append(Ratio("PSS ours / playwright", "ours_pss", "pw_pss", None))
        item.ratios.append(Ratio("total raw floor / playwright", "raw_total", "pw_total", None))
    item.ratios.append(Ratio("total ours / raw floor", "ours_total", "raw_total", None))
    url = bench.site.url("/")
    # What a Playwright user runs: its own switches, plus only what this machine needs.
    own_args = [*REQUIRED_SWITCHES, *(["--no-sandbox"] if os.geteuid() == 0 else [])]

    async def ours_round() -> None:
        recorder = PhaseRecorder()
        fleet = Fleet(PoolOptions(executable=EXECUTABLE), recorder)
        loop = asyncio.get_running_loop()
        try:
            bench.site.reset_hits()
            t0 = time.perf_counter()
            await fleet.up(BROWSERS, PAGES)
            t1 = time.perf_counter()
            navs = await asyncio.gather(*(page.goto(url) for page in fleet.pages))
            t2 = time.perf_counter()
            assert all(nav.status == 200 for nav in navs), [nav.status for nav in navs]
            assert len(fleet.browsers) == BROWSERS
            assert len(fleet.pages) == PAGES
            await asyncio.sleep(SETTLE)
            mem = await loop.run_in_executor(None, pss_of, fleet.browsers)
        finally:
            c0 = time.perf_counter()
            await fleet.close()
            close_ms = (time.perf_counter() - c0) * 1e3
        # Fleet.up opens a browser's pages as soon as it is up: the launch phase ends with
        # the last launch, and pages opened before that overlap it.
        launch_end = max(recorder.last[m] for m in LAUNCH_METRICS if m in recorder.last)
        s = item.series
        s["ours_launch"].add_round([(launch_end - t0) * 1e3])
        s["ours_pages"].add_round([(t1 - launch_end) * 1e3])
        s["ours_nav"].add_round([(t2 - t1) * 1e3])
        s["ours_total"].add_round([(t2 - t0) * 1e3])
        s["ours_up"].add_round([fleet.startup_ms])
        s["ours_launch1"].add_round([v for m in LAUNCH_METRICS for v in recorder.samples(m)])
        s["ours_page1"].add_round(recorder.samples("page_open"))
        # Fleet pages may record their gotos as "fleet.navigation" rather than "navigation".
        s["ours_goto1"].add_round(
            recorder.samples("navigation") + recorder.samples("fleet.navigation")
        )
        s["ours_close"].add_round([close_ms])
        s["ours_pss"].add_round([mem.pss_mb])
        s["ours_procs"].add_round([float(mem.processes)])

    async def ours() -> None:
        await bench.runner.arun(ours_round())
        assert bench.site.hits("/") == PAGES, bench.site.hits("/")

    async def pw(key: str = "pw", args: list[str] = ARGS) -> None:
        assert bench.pw is not None
        env = scratch_env()
        browsers: list[Any] = []
        launch_ms: list[float] = []
        page_ms: list[float] = []
        goto_ms: list[float] = []

        async def launch() -> Any:
            s0 = time.perf_counter()
            browser = await bench.pw.chromium.launch(executable_path=EXECUTABLE, args=args, env=env)
            launch_ms.append((time.perf_counter() - s0) * 1e3)
            return browser

        async def new_page(context: Any) -> Any:
            s0 = time.perf_counter()
            page = await context.new_page()
            page_ms.append((time.perf_counter() - s0) * 1e3)
            return page

        async def goto(page: Any) -> int:
            s0 = time.perf_counter()
            response = await page.goto(url)
            goto_ms.append((time.perf_counter() - s0) * 1e3)
            return response.status if response is not None else 0

        try:
            bench.site.reset_hits()
            t0 = time.perf_counter()
            launched = await asyncio.gather(
                *(launch() for _ in range(BROWSERS)), return_exceptions=True
            )
            browsers = [b for b in launched if not isinstance(b, BaseException)]
            failures = [e for e in launched if isinstance(e, BaseException)]
            if failures:
                raise failures[0]
            t1 = time.perf_counter()
            contexts = await asyncio.gather(*(b.new_context() for b in browsers))
            pages = await asyncio.gather(*(new_page(contexts[i % BROWSERS]) for i in range(PAGES)))
            t2 = time.perf_counter()
            statuses = await asyncio.gather(*(goto(p) for p in pages))
            t3 = time.perf_counter()
            assert all(st == 200 for st in statuses), statuses
            await asyncio.sleep(SETTLE)
            trees = await asyncio.to_thread(pw_browser_trees, bench.driver_pid)
            assert len(trees) == BROWSERS, f"found {len(trees)} Playwright browsers"
            mem = await asyncio.to_thread(memory_of, [p for tree in trees for p in tree])
        finally:
            c0 = time.perf_counter()
            await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)
            close_ms = (time.perf_counter() - c0) * 1e3
        assert bench.site.hits("/") == PAGES, bench.site.hits("/")
        s = item.series
        s[f"{key}_launch"].add_round([(t1 - t0) * 1e3])
        s[f"{key}_pages"].add_round([(t2 - t1) * 1e3])
        s[f"{key}_nav"].add_round([(t3 - t2) * 1e3])
        s[f"{key}_total"].add_round([(t3 - t0) * 1e3])
        s[f"{key}_pss"].add_round([mem.pss_mb])
        if key != "pw":  # an info contender: its phases and PSS only
            return
        s["pw_launch1"].add_round(launch_ms)
        s["pw_page1"].add_round(page_ms)
        s["pw_goto1"].add_round(goto_ms)
        s["pw_close"].add_round([close_ms])
        s["pw_procs"].add_round([float(mem.processes)])

    async def raw() -> None:
        # The least any CDP client can do with the same switches for 50 drawn, loaded
        # pages: 10 bare launches, a context each, 5 windows each (createTarget,
        # attach, Page.enable, focus emulation), then 50 Page.navigate waiting for
        # Page.loadEventFired. No Network domain, so no status.
        browsers: list[RawBrowser] = []
        muxes: list[RawMux] = []

        async def bring_up() -> list[tuple[RawMux, str]]:
            browser = await RawBrowser.start()
            browsers.append(browser)
            mux = RawMux(browser)
            muxes.append(mux)
            return [(mux, session) for session in await mux.bring_up(PAGES // BROWSERS)]

        try:
            bench.site.reset_hits()
            t0 = time.perf_counter()
            per_browser = await asyncio.gather(*(bring_up() for _ in range(BROWSERS)))
            await asyncio.gather(
                *(mux.goto(session, url) for pages in per_browser for mux, session in pages)
            )
            t1 = time.perf_counter()
        finally:
            for mux in muxes:
                mux.reader.cancel()
            await asyncio.gather(*(b.stop() for b in browsers), return_exceptions=True)
        assert bench.site.hits("/") == PAGES, bench.site.hits("/")
        item.series["raw_total"].add_round([(t1 - t0) * 1e3])

    contenders: list[tuple[str, Callable[[], Awaitable[None]]]] = [("ours", ours), ("raw", raw)]
    if bench.pw is not None:
        contenders.append(("pw", pw))
        contenders.append(("pw_own", lambda: pw("pw_own", own_args)))
    for r in range(bench.cfg.rounds):
        for _, run in rotated(contenders, r):
            gc.collect()
            await run()
            await asyncio.sleep(1.0)  # let the closed browsers' processes finish exiting
    if bench.pw is None:
        for key in [k for k in item.series if k.startswith("pw_")]:
            del item.series[key]
    # What dominates: each phase's share of the total, and where the gap is.
    shares = []
    for c in [c for c, _ in contenders if c in who]:
        total = item.series[f"{c}_total"].median
        parts = ", ".join(
            f"{p} {item.series[f'{c}_{p}'].median / 1e3:.2f} s "
            f"({100 * item.series[f'{c}_{p}'].median / total:.0f} %)"
            for p in ("launch", "pages", "nav")
        )
        shares.append(f"{who[c]}: {parts}")
    item.notes.append("phase medians and share of the total: " + "; ".join(shares) + ".")
    if bench.pw is not None:
        gaps = {
            p: item.series[f"ours_{p}"].median - item.series[f"pw_{p}"].median
            for p in ("launch", "pages", "nav")
        }
        biggest = max(gaps, key=lambda p: abs(gaps[p]))
        item.notes.append(
            "gap ours - playwright per phase: "
            + ", ".join(f"{p} {g / 1e3:+.2f} s" for p, g in gaps.items())
            + f"; the {biggest} phase dominates the difference."
        )
    item.notes.append(
        "ours: Fleet(PoolOptions(executable=...), recorder).up(10, 50) on the LoopThread (each "
        "browser opens its context and 5 pages as soon as it is up), the launch phase ending "
        "when the last browser is up (pages opened before then overlap it), then "
        "asyncio.gather of 50 Page.goto (wait_until='load'). Playwright: "
        "gather of 10 chromium.launch(executable_path, args=the same switches), then 10 "
        "new_context() + 50 new_page() (5 per context) in parallel, then 50 "
        "page.goto (a context's 5 pages are tabs of one window: 4 of them go undrawn at "
        "about one animation frame a second, less work than ours and the floor's 50 drawn "
        "pages); 'its own switches': the same with args= only the machine's no-network "
        "switches and --no-sandbox. PSS after 1 s settle: pss_of(fleet.browsers) / the "
        "Playwright driver's Chromium children and their descendants. Closing is not in the "
        "total. The raw CDP floor (same switches) is a bare websockets client doing the least "
        "work that gives the same 50 drawn, loaded pages: 10 launches, a context and 5 "
        "windows each (createTarget newWindow, attachToTarget, Page.enable, "
        "Emulation.setFocusEmulationEnabled), 50 Page.navigate waiting for "
        "Page.loadEventFired; no Network domain, so no status. What it costs, no CDP client "
        "with these switches can save."
    )
    return item


# -- 2. xdist -------------------------------------------------------------------------------


PLAIN_TEST = """\
import time

import pytest


@pytest.mark.parametrize("i", range(50))
def test_plain(i):
    time.sleep(0.05)
"""

GATE_INI = "[pytest]\ncdp_gates = navigation: p95<5s\n"
IMPORT_PROBE = (
    "import time, pytest; t = time.perf_counter(); import pytest_cdp_accept.plugin; "
    "print(time.perf_counter() - t)"
)


def import_seconds() -> float:
    """What loading the plugin costs each process (controller and every worker)."""
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=scratch_env(),
    )
    return float(out.stdout.strip().splitlines()[-1])


async def item_xdist(bench: Bench) -> GItem:
    item = GItem("xdist", "2. xdist: 50 tests, one process vs -n 2 (subprocess wall)", "s")
    variants = {
        "nav": "50 x goto (cdp_page)",
        "gate": "50 x goto + cdp_gates + --cdp-json",
        "plain": "50 x sleep(0.05), no browser",
        "bare": "50 x sleep(0.05), -p no:cdp_accept",
    }
    for v, label in variants.items():
        item.add(f"{v}_1", f"{label}: one process", distribution=False)
        item.add(f"{v}_n2", f"{label}: -n 2", distribution=False)
    for v in variants:
        for mode in ("1", "n2"):
            item.add(
                f"{v}_{mode}_cpu", f"  CPU s of the tree: {v} {mode}", distribution=False, info=True
            )
    item.add(
        "import",
        "  import pytest_cdp_accept.plugin, pytest already in",
        distribution=False,
        info=True,
    )
    item.add("nav1_ms", "  gate run, one process: navigation (ms)", info=True)
    item.add("navn2_ms", "  gate run, -n 2: navigation (ms)", info=True)
    item.add("open1_ms", "  gate run, one process: page_open (ms)", info=True)
    item.add("openn2_ms", "  gate run, -n 2: page_open (ms)", info=True)
    item.add("start1_ms", "  gate run, one process: startup (ms)", info=True)
    item.add("startn2_ms", "  gate run, -n 2: startup (ms, per worker)", info=True)
    item.ratios += [
        Ratio("-n 2 / one: 50 x goto", "nav_n2", "nav_1", None),
        Ratio("-n 2 / one: 50 x goto + gate + json", "gate_n2", "gate_1", None),
        Ratio("-n 2 / one: 50 x sleep, no browser", "plain_n2", "plain_1", None),
        Ratio("-n 2 / one: 50 x sleep, plugin off", "bare_n2", "bare_1", None),
        Ratio("plugin loaded / off: 50 x sleep, -n 2", "plain_n2", "bare_n2", None),
        Ratio("gate + json / plain run: one process", "gate_1", "nav_1", None),
        Ratio("gate + json / plain run: -n 2", "gate_n2", "nav_n2", None),
    ]
    json_counts: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-xdist-", dir=SCRATCH[0]) as tmp:
        dirs = {v: Path(tmp, v) for v in variants}
        for v, d in dirs.items():
            d.mkdir()
            (d / "pytest.ini").write_text(GATE_INI if v == "gate" else "[pytest]\n")
        (dirs["nav"] / "test_nav.py").write_text(OURS_TEST)
        (dirs["gate"] / "test_nav.py").write_text(OURS_TEST)
        (dirs["plain"] / "test_plain.py").write_text(PLAIN_TEST)
        (dirs["bare"] / "test_plain.py").write_text(PLAIN_TEST)
        commands: dict[str, tuple[list[str], Path]] = {}
        for v in variants:
            base = [*PYTEST_BASE, "-p", "no:cdp_accept"] if v == "bare" else OURS_BASE
            extra = ["--cdp-json", "out.json"] if v == "gate" else []
            test = "test_nav.py" if v in ("nav", "gate") else "test_plain.py"
            commands[f"{v}_1"] = ([*base, *extra, test], dirs[v])
            commands[f"{v}_n2"] = ([*base, "-n", "2", *extra, test], dirs[v])
        failed: set[str] = set()
        for r in range(bench.cfg.rounds):
            for key in rotated(list(commands), r):
                if key in failed:
                    continue
                cmd, cwd = commands[key]
                out_json = cwd / "out.json"
                out_json.unlink(missing_ok=True)
                run = await asyncio.to_thread(run_pytest, cmd, cwd)
                if run.rc != 0 or "50 passed" not in run.out:
                    failed.add(key)
                    item.notes.append(f"{key} FAILED (exit {run.rc}): ... {tail(run.out)}")
                    continue
                item.series[key].add_round([run.wall])
                item.series[f"{key}_cpu"].add_round([run.cpu])
                if key.startswith("plain_1"):
                    item.series["import"].add_round([await asyncio.to_thread(import_seconds)])
                if key.startswith("gate"):
                    data = read_json(out_json)
                    mode = "1" if key == "gate_1" else "n2"
                    item.series[f"nav{mode}_ms"].add_round(samples_of(data, "navigation"))
                    item.series[f"open{mode}_ms"].add_round(samples_of(data, "page_open"))
                    item.series[f"start{mode}_ms"].add_round(samples_of(data, "startup"))
                    workers = sorted({s["worker"] for s in data["samples"]})
                    session = [v for v in data["verdicts"] if v["scope"] == "session"]
                    json_counts.setdefault(key, []).append(
                        f"{len(samples_of(data, 'navigation'))} navigation samples from "
                        f"{'/'.join(workers)}, browsers launched "
                        f"{data['counters'].get('browsers_launched', 0):.0f}, session gate "
                        + ("passed" if session and all(v["passed"] for v in session) else "MISSED")
                    )
    for key, lines in json_counts.items():
        item.notes.append(f"{key} --cdp-json: " + "; ".join(sorted(set(lines))))
    s = item.series
    if (
        s["plain_1"].samples
        and s["plain_n2"].samples
        and s["nav_1"].samples
        and s["nav_n2"].samples
    ):
        # -n 2 saves half of the 2.5 s of sleeping: the rest of the difference is xdist's cost.
        xdist_cost = s["plain_n2"].median - (s["plain_1"].median - 1.25)
        bare_cost = (
            s["bare_n2"].median - (s["bare_1"].median - 1.25)
            if s["bare_n2"].samples and s["bare_1"].samples
            else math.nan
        )
        nav_extra = s["nav_n2"].median - s["nav_1"].median
        gate_extra = (
            s["gate_n2"].median - s["gate_1"].median
            if s["gate_n2"].samples and s["gate_1"].samples
            else math.nan
        )
        item.notes.append(
            f"xdist's own fixed cost here (two workers to start, no browser): {xdist_cost:+.2f} s "
            f"with the plugin loaded, {bare_cost:+.2f} s with -p no:cdp_accept (sleep -n 2 "
            "minus sleep in one process, the 1.25 s of sleep -n 2 saves added back). "
            f"-n 2 minus one process: 50 x goto {nav_extra:+.2f} s, with gate + json "
            f"{gate_extra:+.2f} s. Importing the plugin (pytest already imported) takes "
            f"{s['import'].median:.2f} s per process: the controller and each worker pay it."
        )
        cpu1, cpu2 = s["nav_1_cpu"].median, s["nav_n2_cpu"].median
        item.notes.append(
            f"CPU of the whole tree (pytest + workers + Chromium, getrusage of reaped "
            f"children): 50 x goto one process {cpu1:.1f} s in {s['nav_1'].median:.1f} s wall "
            f"({cpu1 / s['nav_1'].median / (os.cpu_count() or 1) * 100:.0f} % of "
            f"{os.cpu_count()} cores), -n 2 {cpu2:.1f} s in {s['nav_n2'].median:.1f} s "
            f"({cpu2 / s['nav_n2'].median / (os.cpu_count() or 1) * 100:.0f} %)."
        )
        if s["nav1_ms"].samples and s["navn2_ms"].samples:
            item.notes.append(
                f"per test (gate run's JSON): navigation median {s['nav1_ms'].median:.0f} ms in "
                f"one process vs {s['navn2_ms'].median:.0f} ms under -n 2; page_open "
                f"{s['open1_ms'].median:.1f} vs {s['openn2_ms'].median:.1f} ms; each -n 2 "
                f"worker launches its own browser ({s['startn2_ms'].median:.0f} ms median vs "
                f"{s['start1_ms'].median:.0f} ms alone)."
            )
    item.notes.append(
        f"each: {' '.join(OURS_BASE[1:])} [-n 2] test file, in a dir of its own with a "
        "pytest.ini (the gate dir's has 'cdp_gates = navigation: p95<5s' and the run adds "
        "--cdp-json out.json, so workers' samples travel to the controller and are merged). "
        "Wall time includes interpreter start, imports, browser launch and teardown."
    )
    return item


# -- 3. stress --------------------------------------------------------------------------------

STRESS_TEST = """\
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def site(cdp_site):
    cdp_site.reset_hits()
    yield cdp_site
    hits = cdp_site.hits("/status/200")
    print(f"HITS={{hits}}")
    Path(os.environ["BENCH_HITS_FILE"]).write_text(str(hits))


@pytest.mark.cdp_stress(runs={runs}, concurrency={concurrency}, success=">=100%")
def test_stress(cdp_page, site):
    assert cdp_page.goto(site.url("/status/200")).status == 200
"""


def in_flight(intervals: list[tuple[float, float]], span: float) -> tuple[float, float]:
    """Peak and time-averaged number of overlapping samples, each (end stamp in s, ms)."""
    if not intervals or not span or math.isnan(span):
        return math.nan, math.nan
    events = sorted(
        [(end - ms / 1e3, 1) for end, ms in intervals] + [(end, -1) for end, _ in intervals]
    )
    peak = level = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return float(peak), sum(ms for _, ms in intervals) / 1e3 / span


async def item_stress(bench: Bench) -> GItem:
    runs, concurrency = bench.cfg.stress_runs, 50
    item = GItem(
        "stress",
        f"3. stress: {runs} navigations over {concurrency} pages at concurrency {concurrency}",
        "ms",
    )
    item.add("run", "stress.run (acquire + goto + release)")
    item.add("nav", "stress.navigation (goto only)")
    item.add("open", "page_open", info=True)
    with tempfile.TemporaryDirectory(prefix="bench-stress-", dir=SCRATCH[0]) as tmp:
        d = Path(tmp)
        (d / "pytest.ini").write_text("[pytest]\n")
        (d / "test_stress.py").write_text(STRESS_TEST.format(runs=runs, concurrency=concurrency))
        hits_file = d / "hits.txt"
        os.environ["BENCH_HITS_FILE"] = str(hits_file)  # scratch_env() copies os.environ
        try:
            cmd = [*OURS_BASE, "-s", "--cdp-pool-size", "1", "--cdp-json", "out.json"]
            run = await asyncio.to_thread(run_pytest, [*cmd, "test_stress.py"], d)
        finally:
            os.environ.pop("BENCH_HITS_FILE", None)
        if not (d / "out.json").exists():
            item.notes.append(f"FAILED, no JSON (exit {run.rc}): ... {tail(run.out, 12)}")
            item.checks.append(Check("run", f"exit {run.rc}", "json", False))
            return item
        data = read_json(d / "out.json")
        hits = int(hits_file.read_text()) if hits_file.exists() else -1
    success = samples_of(data, "stress.success")
    run_ms = samples_of(data, "stress.run")
    item.series["run"].add_round(run_ms)
    # The loop records its gotos as "stress.navigation"; checkouts older than b051ceb
    # name them "navigation". Both are read, so the bench measures either.
    nav_names = [m for m in ("stress.navigation", "navigation") if samples_of(data, m)]
    item.series["nav"].add_round([v for m in nav_names for v in samples_of(data, m)])
    item.series["open"].add_round(samples_of(data, "page_open"))
    n_nav = len(item.series["nav"].samples)
    ok = sum(1 for v in success if v == 1.0)
    rate = 100.0 * ok / len(success) if success else 0.0
    # The loop's own span, from the samples' wall-clock stamps (each stamped at its end).
    runs_at = [(s["time"], s["value"]) for s in data["samples"] if s["metric"] == "stress.run"]
    span = (
        max(t for t, _ in runs_at) - min(t - v / 1e3 for t, v in runs_at) if runs_at else math.nan
    )
    item.series["_span"] = Series("  stress loop span (s)", [span], distribution=False, info=True)
    item.series["_wall"] = Series(
        "  pytest subprocess wall (s)", [run.wall], distribution=False, info=True
    )
    item.series["_nps"] = Series(
        "  navigations / s (loop span)",
        [n_nav / span if span else math.nan],
        distribution=False,
        info=True,
    )
    item.series["_cpu"] = Series("  CPU s of the tree", [run.cpu], distribution=False, info=True)
    # How many gotos were really in flight at once (the pool hands out the pages).
    navs_at = [(s["time"], s["value"]) for s in data["samples"] if s["metric"] in nav_names]
    peak, mean = in_flight(navs_at, span)
    item.series["_peak"] = Series("  gotos in flight: peak", [peak], distribution=False, info=True)
    item.series["_mean"] = Series(
        "  gotos in flight: time-average", [mean], distribution=False, info=True
    )
    item.checks += [
        Check(
            "success rate",
            f"{ok}/{len(success)} = {rate:.1f} %",
            ">= 100%",
            rate >= 100.0 and ok == runs,
        ),
        Check("stress.success samples", f"{len(success)}", f"== {runs}", len(success) == runs),
        Check(
            "navigation samples",
            f"{n_nav} ({'+'.join(nav_names) or 'none'})",
            f"== {runs}",
            n_nav == runs,
        ),
        Check("server hits /status/200", f"{hits}", f"== {runs}", hits == runs),
        Check("pytest exit code", f"{run.rc}", "== 0", run.rc == 0),
        Check("gotos in flight: peak / average", f"{peak:.0f} / {mean:.1f}", "", None),
    ]
    item.notes.append(
        f"{runs} runs in {span:.1f} s = {n_nav / span:.1f} navigations/s "
        f"(subprocess wall {run.wall:.1f} s, CPU of the tree {run.cpu:.1f} s = "
        f"{run.cpu / runs * 1e3:.0f} ms per run); browsers launched "
        f"{data['counters'].get('browsers_launched', 0):.0f}, pages opened "
        f"{data['counters'].get('pages_opened', 0):.0f}."
    )
    run_med, open_med = item.series["run"].median, item.series["open"].median
    item.notes.append(
        f"page_open is {100 * open_med / run_med:.0f} % of a run's median: the {concurrency} "
        f"threads wait for a page; gotos in flight at once: peak {peak:.0f}, time-average "
        f"{mean:.1f} (from the samples' stamps)."
    )
    item.notes.append(
        f"{' '.join(OURS_BASE[1:])} -s --cdp-pool-size 1 --cdp-json out.json test_stress.py: "
        f'@pytest.mark.cdp_stress(runs={runs}, concurrency={concurrency}, success=">=100%"), body '
        "goto(site.url('/status/200')).status == 200, 'site' a module fixture over cdp_site that "
        "resets the hit counts and writes hits('/status/200') at teardown."
    )
    if run.rc != 0:
        item.notes.append(f"pytest exit {run.rc}: ... {tail(run.out, 12)}")
    return item


# -- 4. recovery ------------------------------------------------------------------------------

RECOVERY_TESTS = {
    "test_renderer.py": """\
import pytest


@pytest.mark.cdp_recovery(crashes=20, kind="renderer", within="5s")
def test_renderer(cdp_page, cdp_site):
    assert cdp_page.goto(cdp_site.url("/")).status == 200
""",
    "test_browser.py": """\
import pytest


@pytest.mark.cdp_recovery(crashes=10, kind="browser", within="5s")
def test_browser(cdp_page, cdp_site):
    assert cdp_page.goto(cdp_site.url("/")).status == 200
""",
}
RECOVERY_TARGET_MS = {"renderer": 500.0, "browser": 1500.0}


async def item_recovery(bench: Bench) -> GItem:
    item = GItem("recovery", "4. recovery: injected fault -> passing body", "ms")
    item.add("renderer", "renderer crash (Page.crash) -> body passes")
    item.add("browser", "browser SIGKILL -> body passes")
    item.add("relaunch", "  browser kill: replacement launch (startup)", info=True)
    item.add("rnav", "  renderer test: body goto after recovery", info=True)
    item.add("bnav", "  browser test: body goto after recovery", info=True)
    success: dict[str, list[float]] = {"renderer": [], "browser": []}
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-recovery-", dir=SCRATCH[0]) as tmp:
        d = Path(tmp)
        (d / "pytest.ini").write_text("[pytest]\n")
        for name, text in RECOVERY_TESTS.items():
            (d / name).write_text(text)
        for _ in range(bench.cfg.recovery_rounds):
            (d / "out.json").unlink(missing_ok=True)
            cmd = [*OURS_BASE, "--cdp-json", "out.json", *RECOVERY_TESTS]
            run = await asyncio.to_thread(run_pytest, cmd, d)
            walls.append(run.wall)
            if run.rc != 0:
                item.notes.append(f"pytest exit {run.rc}: ... {tail(run.out, 12)}")
            if not (d / "out.json").exists():
                continue
            data = read_json(d / "out.json")
            for kind in ("renderer", "browser"):
                item.series[kind].add_round(samples_of(data, f"recovery.{kind}"))
                success[kind] += samples_of(data, "recovery.success", f"test_{kind}")
            item.series["relaunch"].add_round(samples_of(data, "startup", "test_browser"))
            for key, test in (("rnav", "test_renderer"), ("bnav", "test_browser")):
                navs = samples_of(data, "recovery.navigation", test)
                item.series[key].add_round(navs or samples_of(data, "navigation", test))
    item.series["_wall"] = Series(
        "  pytest subprocess wall (s)", walls, distribution=False, info=True
    )
    for kind in ("renderer", "browser"):
        s = item.series[kind]
        target = RECOVERY_TARGET_MS[kind]
        item.checks.append(
            Check(
                f"{kind} p95",
                f"{fmt(s.p95)} ms (n={len(s.samples)})",
                f"< {target:.0f} ms",
                s.p95 < target,
            )
        )
        ok, n = sum(1 for v in success[kind] if v == 1.0), len(success[kind])
        rate = 100.0 * ok / n if n else math.nan
        item.checks.append(Check(f"{kind} success", f"{ok}/{n} = {rate:.0f} %", "", None))
    item.notes.append(
        f"{' '.join(OURS_BASE[1:])} --cdp-json out.json test_renderer.py test_browser.py "
        "(cdp_recovery crashes=20 kind=renderer / crashes=10 kind=browser, within=5s; body "
        "goto(cdp_site.url('/')).status == 200), "
        f"{bench.cfg.recovery_rounds} run(s); samples recovery.renderer / recovery.browser: "
        "from just before the fault is injected to the end of the passing body (includes "
        "re-navigating to the page's last URL and, for a browser kill, replacing the browser)."
    )
    return item


# -- main ------------------------------------------------------------------------------------

ITEMS = ("fleet", "xdist", "stress", "recovery")


async def run(cfg: Config, only: list[str]) -> list[GItem]:
    items: list[GItem] = []
    runner = LoopThread("bench-gates-loop")
    site = LocalSite().start()
    pw_cm = None
    pw = None
    driver_pid = None
    try:
        if "fleet" in only:
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                async_playwright = None  # type: ignore[assignment]
            if async_playwright is not None:
                # The driver's own temp files (Playwright's profile dirs) go to our scratch too.
                saved = os.environ.get("TMPDIR")
                os.environ["TMPDIR"] = scratch_env()["TMPDIR"]
                try:
                    before = {p.pid for p in psutil.Process().children()}
                    pw_cm = async_playwright()
                    pw = await pw_cm.start()
                    new = [p for p in psutil.Process().children() if p.pid not in before]
                    driver_pid = new[0].pid if len(new) == 1 else None
                finally:
                    if saved is None:
                        os.environ.pop("TMPDIR", None)
                    else:
                        os.environ["TMPDIR"] = saved
        bench = Bench(cfg, runner, site, pw, driver_pid)
        steps = {
            "fleet": item_fleet,
            "xdist": item_xdist,
            "stress": item_stress,
            "recovery": item_recovery,
        }
        for key, step in steps.items():
            if key not in only:
                continue
            t0 = time.perf_counter()
            item = await step(bench)
            item.seconds = time.perf_counter() - t0
            item.finish()
            print_item(item)
            items.append(item)
    finally:
        if pw_cm is not None:
            with contextlib.suppress(Exception):
                await pw_cm.__aexit__(None, None, None)
        site.close()
        runner.close()
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (< 3 min)")
    parser.add_argument("--only", default="", help=f"comma list of: {','.join(ITEMS)}")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of items 1-2")
    parser.add_argument("--recovery-rounds", type=int, default=None, help="runs of item 4")
    parser.add_argument("--stress-runs", type=int, default=None, help="runs of item 3")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    opts = parser.parse_args()
    only = [s.strip() for s in opts.only.split(",") if s.strip()] or list(ITEMS)
    unknown = [s for s in only if s not in ITEMS]
    if unknown:
        parser.error(f"unknown item(s) {unknown}; choose from {', '.join(ITEMS)}")
    cfg = Config(
        rounds=opts.rounds or (1 if opts.quick else 2),
        recovery_rounds=opts.recovery_rounds or (1 if opts.quick else 2),
        stress_runs=opts.stress_runs or (200 if opts.quick else 1000),
        quick=opts.quick,
    )
    try:
        pw_version = importlib.metadata.version("playwright")
    except importlib.metadata.PackageNotFoundError:
        pw_version = "not installed"
    version = launcher.browser_version(EXECUTABLE)
    print(f"bench_gates: {version} ({EXECUTABLE}), Python {platform.python_version()},")
    print(
        f"  playwright {pw_version}, {os.cpu_count()} CPUs, rounds={cfg.rounds} "
        f"recovery_rounds={cfg.recovery_rounds} stress_runs={cfg.stress_runs} quick={cfg.quick}"
    )
    print(
        textwrap.fill(
            "switches (launcher.default_args(), ours and Playwright's args=): " + " ".join(ARGS),
            100,
            subsequent_indent="    ",
        )
    )
    t0 = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="bench-gates-", dir=launcher.root_bases()[0]))
    (scratch / "tmp").mkdir()
    SCRATCH.append(scratch)
    try:
        items = asyncio.run(run(cfg, only))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_summary(items)
    total = time.perf_counter() - t0
    print(f"\ntotal {total:.0f} s")
    if opts.json:
        data = {
            "browser": version,
            "executable": EXECUTABLE,
            "args": ARGS,
            "playwright": pw_version,
            "config": cfg.__dict__,
            "total_s": total,
            "items": [
                {
                    **item_json(it),
                    "checks": [
                        {
                            "label": c.label,
                            "measured": c.measured,
                            "target": c.target,
                            "verdict": c.verdict,
                        }
                        for c in it.checks
                    ],
                }
                for it in items
            ],
        }
        Path(opts.json).write_text(json.dumps(no_nan(data), indent=1, allow_nan=False))
        print(f"wrote {opts.json}")


if __name__ == "__main__":
    main()
