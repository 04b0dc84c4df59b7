"""Side-by-side engine benchmark: raw CDP floor vs pytest_cdp_accept vs Playwright.

    python bench/bench_engine.py [--rounds N] [--quick] [--only NAME,...] [--json PATH]

Items (``--only`` names): startup, acquire, evaluate, goto, click, fill, wait, pytest,
journeys, memory.

Every contender runs the SAME Chromium (/usr/bin/chromium) with the SAME switch
list, ``launcher.default_args()`` (Playwright adds its own defaults in front of
it). Contenders are interleaved round by round, in a rotating order, so that
machine noise hits all of them alike; each item prints medians (and p95 where
it is a distribution) and the ratio to its reference, against a target.
See bench/README.md for what each item measures exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import gc
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect

from pytest_cdp_accept.engine import launcher
from pytest_cdp_accept.engine.browser import Browser, Page
from pytest_cdp_accept.engine.pool import BrowserPool, PageLease, PoolOptions
from pytest_cdp_accept.engine.sync import LoopThread, SyncPage
from pytest_cdp_accept.site import LocalSite

EXECUTABLE = "/usr/bin/chromium"
REQUIRED_SWITCHES = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
HERE = Path(__file__).resolve().parent
EVAL_EXPR = "1+1"
EVAL_PARAMS = {"expression": EVAL_EXPR, "returnByValue": True, "awaitPromise": True}
TIMING_PARAMS = {  # the expression Page.goto(record=True) evaluates after load
    "expression": "JSON.stringify(performance.getEntriesByType('navigation')[0] || {})",
    "returnByValue": True,
    "awaitPromise": True,
}


def switch_set() -> list[str]:
    """The one switch list every contender gets."""
    args = launcher.default_args()
    missing = [s for s in REQUIRED_SWITCHES if s not in args]
    if os.geteuid() == 0 and "--no-sandbox" not in args:
        missing.append("--no-sandbox")
    return args + missing


ARGS = switch_set()
RAW_PIDS: set[int] = set()  # raw-floor browsers alive, killed at exit whatever happens
SCRATCH: list[Path] = []  # the run's own temp dir, removed at exit


def scratch_env() -> dict[str, str]:
    """The environment for Playwright's browsers and the subprocesses: TMPDIR in our temp dir.

    Chromium puts its org.chromium.Chromium.* singleton dir in TMPDIR and leaves it behind
    when it is killed (Playwright's driver kills it on Ctrl-C); ours and the raw floor set
    TMPDIR inside their own temp roots already.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    if SCRATCH:
        env["TMPDIR"] = str(SCRATCH[0] / "tmp")
    return env


# -- statistics and reporting --------------------------------------------------------


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return math.nan
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def p95(xs: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    s = sorted(xs)
    if not s:
        return math.nan
    return s[min(len(s) - 1, max(0, math.ceil(0.95 * len(s)) - 1))]


@dataclass
class Series:
    label: str
    samples: list[float] = field(default_factory=list)
    distribution: bool = True  # print p95
    info: bool = False  # informational contender
    rounds: list[list[float]] = field(default_factory=list)  # the samples, per round

    def add_round(self, values: list[float]) -> None:
        self.samples.extend(values)
        self.rounds.append(list(values))

    def drop_first_round(self) -> None:
        first = self.rounds.pop(0)
        del self.samples[: len(first)]

    @property
    def median(self) -> float:
        return median(self.samples)

    @property
    def p95(self) -> float:
        return p95(self.samples)


@dataclass
class Ratio:
    label: str
    num: str
    ref: str
    target: float | None  # None: informational
    value: float = math.nan  # ratio of the medians: what the verdict is on
    paired: float = math.nan  # median over rounds of (round median / round median)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        if math.isnan(self.value):
            return "n/a"
        return "PASS" if self.value <= self.target else "MISS"


@dataclass
class Item:
    key: str
    title: str
    unit: str
    series: dict[str, Series] = field(default_factory=dict)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, key: str, label: str, **kw: Any) -> Series:
        self.series[key] = Series(label, **kw)
        return self.series[key]

    def finish(self) -> None:
        for r in self.ratios:
            a, b = self.series.get(r.num), self.series.get(r.ref)
            if a and b and a.samples and b.samples and b.median > 0:
                r.value = a.median / b.median
            if a and b and a.rounds and len(a.rounds) == len(b.rounds):
                pairs = zip(a.rounds, b.rounds, strict=True)
                r.paired = median([median(x) / median(y) for x, y in pairs])


def fmt(x: float) -> str:
    if math.isnan(x):
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio_line(r: Ratio, width: int) -> str:
    target = f"<= {r.target:.2f}x" if r.target is not None else ""
    value = "-" if math.isnan(r.value) else f"{r.value:.3f}x"
    paired = "" if math.isnan(r.paired) else f"(paired {r.paired:.3f}x)"
    return f"{r.label:<{width}} {value:>8} {paired:>17}  {target:>9}  {r.verdict}"


def print_item(item: Item, extra: Sequence[str] = ()) -> None:
    """An item's table: series, ratios, then ``extra`` lines (bench_gates' checks), notes."""
    print(f"\n== {item.title} [{item.unit}] ({item.seconds:.0f} s) ==")
    width = max([len(s.label) for s in item.series.values()] + [24])
    print(f"  {'contender':<{width}} {'n':>5} {'median':>10} {'p95':>10}")
    for s in item.series.values():
        p = fmt(s.p95) if s.distribution else ""
        tag = "  (info)" if s.info else ""
        print(f"  {s.label:<{width}} {len(s.samples):>5} {fmt(s.median):>10} {p:>10}{tag}")
    for r in item.ratios:
        print("  ratio " + ratio_line(r, width - 6))
    for line in extra:
        print(line)
    for note in item.notes:
        print(textwrap.fill(note, 100, initial_indent="  * ", subsequent_indent="    "))
    sys.stdout.flush()


def print_summary(items: list[Item]) -> None:
    print("\n== summary (ratio of medians; paired = median of per-round ratios) ==")
    rows = [(item, r) for item in items for r in item.ratios]
    width = max([len(f"{i.key}: {r.label}") for i, r in rows] + [20])
    for item, r in rows:
        labelled = Ratio(f"{item.key}: {r.label}", r.num, r.ref, r.target, r.value, r.paired)
        print("  " + ratio_line(labelled, width))


def item_json(it: Item) -> dict[str, Any]:
    """One item's series and ratios as plain data (bench_gates adds its checks)."""
    return {
        "key": it.key,
        "title": it.title,
        "unit": it.unit,
        "seconds": it.seconds,
        "series": {
            k: {
                "label": s.label,
                "info": s.info,
                "n": len(s.samples),
                "median": s.median,
                "p95": s.p95 if s.distribution else None,
                "samples": s.samples,
            }
            for k, s in it.series.items()
        },
        "ratios": [
            {
                "label": r.label,
                "num": r.num,
                "ref": r.ref,
                "value": r.value,
                "paired": r.paired,
                "target": r.target,
                "verdict": r.verdict,
            }
            for r in it.ratios
        ],
        "notes": it.notes,
    }


def rotated(seq: list[Any], k: int) -> list[Any]:
    """A different order each round: a seeded shuffle, not a rotation (a rotation keeps
    the cyclic order, so the same contender would always run right after the same other
    one and inherit its after-load work: that biased goto by ~4 ms)."""
    order = list(seq)
    random.Random(k).shuffle(order)
    return order


async def interleave(
    rounds: int,
    contenders: list[tuple[str, Callable[[], Awaitable[list[float]]]]],
    item: Item,
    warmup: bool = True,
) -> None:
    """Run every contender's batch once per round, in a shuffled order."""
    if warmup:
        for _, batch in contenders:
            await batch()
    for r in range(rounds):
        for key, batch in rotated(contenders, r):
            gc.collect()
            item.series[key].add_round(await batch())


# -- the raw floor ---------------------------------------------------------------------


class RawCDP:
    """The least a CDP client can do: send a command, read frames until its reply."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        until_event: str | None = None,
    ) -> dict[str, Any]:
        self.next_id += 1
        msg_id = self.next_id
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        await self.ws.send(json.dumps(message, separators=(",", ":")))
        result: dict[str, Any] | None = None
        seen_event = until_event is None
        while result is None or not seen_event:
            data = json.loads(await self.ws.recv())
            if data.get("id") == msg_id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                result = data.get("result") or {}
            elif (
                until_event is not None
                and data.get("method") == until_event
                and data.get("sessionId") == session_id
            ):
                seen_event = True
        return result

    async def call_all(
        self, calls: Sequence[tuple[str, dict[str, Any]]], session_id: str
    ) -> list[dict[str, Any]]:
        """Write several commands back to back, then read until every reply is in."""
        ids = []
        for method, params in calls:
            self.next_id += 1
            ids.append(self.next_id)
            message = {"id": self.next_id, "method": method, "params": params}
            message["sessionId"] = session_id
            await self.ws.send(json.dumps(message, separators=(",", ":")))
        results: dict[int, dict[str, Any]] = {}
        while len(results) < len(ids):
            data = json.loads(await self.ws.recv())
            if data.get("id") in ids:
                if "error" in data:
                    raise RuntimeError(f"{data['id']}: {data['error']}")
                results[data["id"]] = data.get("result") or {}
        return [results[i] for i in ids]


@dataclass
class RawBrowser:
    proc: asyncio.subprocess.Process
    profile: str
    ws: ClientConnection | None = None
    cdp: RawCDP | None = None
    session_id: str = ""
    drain: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, phases: dict[str, float] | None = None) -> RawBrowser:
        """Spawn, read ``DevTools listening on``, connect, one Browser.getVersion."""
        t0 = time.perf_counter()
        # Same filesystem as ours (launcher.root_bases()); TMPDIR inside it too, or Chromium
        # leaves its org.chromium.Chromium.* dir in /tmp when killed.
        root = tempfile.mkdtemp(prefix="bench-raw-", dir=launcher.root_bases()[0])
        os.mkdir(os.path.join(root, "tmp"))
        proc = await asyncio.create_subprocess_exec(
            EXECUTABLE,
            *ARGS,
            f"--user-data-dir={root}/profile",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "TMPDIR": os.path.join(root, "tmp")},
            start_new_session=True,  # its own group, so that the kill below gets every child
        )
        RAW_PIDS.add(proc.pid)
        raw = cls(proc, root)
        try:
            assert proc.stderr is not None
            ws_url = ""
            while not ws_url:
                line = await asyncio.wait_for(proc.stderr.readline(), 30)
                if not line:
                    raise RuntimeError("raw browser exited before DevTools was ready")
                text = line.decode(errors="replace")
                if "DevTools listening on ws://" in text:
                    ws_url = text.split("DevTools listening on ", 1)[1].strip()
            t1 = time.perf_counter()
            raw.ws = await connect(
                ws_url, max_size=None, compression=None, ping_interval=None, proxy=None
            )
            t2 = time.perf_counter()
            raw.cdp = RawCDP(raw.ws)
            await raw.cdp.call("Browser.getVersion")
            t3 = time.perf_counter()
        except BaseException:
            await raw.stop()
            raise
        if phases is not None:
            phases.update(
                spawn=(t1 - t0) * 1e3, connect=(t2 - t1) * 1e3, first_reply=(t3 - t2) * 1e3
            )
        raw.drain = asyncio.get_running_loop().create_task(raw._drain())
        return raw

    async def _drain(self) -> None:
        assert self.proc.stderr is not None
        while await self.proc.stderr.readline():
            pass

    async def open_page(self) -> None:
        """One page target, attached with a flattened session, Page.enable only."""
        assert self.cdp is not None
        created = await self.cdp.call("Target.createTarget", {"url": "about:blank"})
        attached = await self.cdp.call(
            "Target.attachToTarget", {"targetId": created["targetId"], "flatten": True}
        )
        self.session_id = attached["sessionId"]
        await self.cdp.call("Page.enable", session_id=self.session_id)

    async def stop(self) -> None:
        """Kill by PID (its process group, then every PID of its tree), reap, remove profile."""
        pid = self.proc.pid
        try:
            tree = [pid] + [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = [pid]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        for p in tree:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGKILL)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 10)
        RAW_PIDS.discard(pid)
        if self.ws is not None:
            self.ws.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.wait_closed(), 2)
        if self.drain is not None:
            self.drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.drain
        shutil.rmtree(self.profile, ignore_errors=True)


def kill_raw_leftovers() -> None:
    for pid in list(RAW_PIDS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        RAW_PIDS.discard(pid)


# -- context shared by the items -------------------------------------------------------


@dataclass
class Config:
    rounds: int
    quick: bool
    pytest_rounds: int
    memory_rounds: int
    all_plugins: bool = False


@dataclass
class Bench:
    cfg: Config
    runner: LoopThread
    site: LocalSite
    pw: Any | None  # playwright.async_api.Playwright, started once (driver not timed)
    have_pw: bool = False  # Playwright + pytest-playwright importable (items 5 and 6)

    @property
    def url(self) -> str:
        return self.site.url("/")

    def ours(self, coro: Any) -> Awaitable[Any]:
        """Run a coroutine on our loop thread (where the plugin runs the engine)."""
        return self.runner.arun(coro)


@contextlib.asynccontextmanager
async def playwright_browser(bench: Bench) -> AsyncIterator[Any]:
    assert bench.pw is not None
    browser = await bench.pw.chromium.launch(
        executable_path=EXECUTABLE, args=ARGS, env=scratch_env()
    )
    try:
        yield browser
    finally:
        await browser.close()


# -- 1. startup ----------------------------------------------------------------------------


async def item_startup(bench: Bench) -> Item:
    item = Item("startup", "1. startup: spawn -> CDP ready", "ms")
    item.add("raw", "raw floor (spawn+DevTools line+ws+getVersion)")
    item.add("ours", "ours Browser.launch() wall")
    item.add("ours_ms", "ours browser.startup_ms", info=True)
    item.add("raw_spawn", "  raw: spawn -> DevTools line", info=True)
    item.add("raw_rest", "  raw: ws connect + getVersion", info=True)
    item.add("ours_spawn", "  ours: launcher.spawn()", info=True)
    item.add("ours_rest", "  ours: Connection.open + _prepare", info=True)
    if bench.pw is not None:
        item.add("pw", "playwright chromium.launch() wall", info=True)
    item.ratios.append(Ratio("ours wall / raw floor", "ours", "raw", 1.10))
    item.ratios.append(Ratio("ours startup_ms / raw floor", "ours_ms", "raw", None))
    if bench.pw is not None:
        item.ratios.append(Ratio("playwright / raw floor", "pw", "raw", None))

    settle = 0.25  # let the previous browser's children finish exiting

    async def raw() -> list[float]:
        phases: dict[str, float] = {}
        t0 = time.perf_counter()
        browser = await RawBrowser.start(phases)
        t1 = time.perf_counter()
        await browser.stop()
        item.series["raw_spawn"].add_round([phases["spawn"]])
        item.series["raw_rest"].add_round([phases["connect"] + phases["first_reply"]])
        await asyncio.sleep(settle)
        return [(t1 - t0) * 1e3]

    async def ours() -> list[float]:
        # Time launcher.spawn inside Browser.launch (browser.py calls it as launcher.spawn).
        spawn_ms: list[float] = []
        original = launcher.spawn

        async def timed_spawn(*a: Any, **kw: Any) -> launcher.BrowserProcess:
            s = time.perf_counter()
            try:
                return await original(*a, **kw)
            finally:
                spawn_ms.append((time.perf_counter() - s) * 1e3)

        launcher.spawn = timed_spawn  # type: ignore[assignment]
        try:
            t0 = time.perf_counter()
            browser = await Browser.launch(EXECUTABLE)
            t1 = time.perf_counter()
        finally:
            launcher.spawn = original  # type: ignore[assignment]
        try:
            item.series["ours_ms"].add_round([browser.startup_ms])
            item.series["ours_spawn"].add_round([spawn_ms[0]])
            item.series["ours_rest"].add_round([browser.startup_ms - spawn_ms[0]])
        finally:
            await browser.close()
        await asyncio.sleep(settle)
        return [(t1 - t0) * 1e3]

    async def pw() -> list[float]:
        assert bench.pw is not None
        t0 = time.perf_counter()
        browser = await bench.pw.chromium.launch(
            executable_path=EXECUTABLE, args=ARGS, env=scratch_env()
        )
        t1 = time.perf_counter()
        await browser.close()
        await asyncio.sleep(settle)
        return [(t1 - t0) * 1e3]

    contenders: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
        ("raw", raw),
        ("ours", ours),
    ]
    if bench.pw is not None:
        contenders.append(("pw", pw))
    await interleave(bench.cfg.rounds, contenders, item)
    # The warm-up round also filled the phase series: drop its first sample.
    for key in ("raw_spawn", "raw_rest", "ours_spawn", "ours_rest", "ours_ms"):
        item.series[key].drop_first_round()
    item.notes.append(
        "Playwright's node driver was started once beforehand and is not in its time; its "
        "launch connects over --remote-debugging-pipe and sets up its own session "
        "(Browser.getVersion, Target.setAutoAttach, ...). Informational."
    )
    return item


# -- 2. page acquisition ------------------------------------------------------------------


async def item_acquire(bench: Bench) -> Item:
    item = Item("acquire", "2. page acquisition, steady state (acquire; goto '/'; release)", "ms")
    item.add("reset", "ours acquire_page() reset")
    item.add("context", "ours acquire_page() context")
    item.add("reset_cycle", "  ours reset: release+acquire+goto", info=True)
    item.add("context_cycle", "  ours context: release+acquire+goto", info=True)
    if bench.pw is not None:
        item.add("pw", "playwright new_context()+new_page()")
        item.add("pw_cycle", "  playwright: ctx.close+new ctx/page+goto", info=True)
        item.ratios.append(Ratio("ours reset / playwright", "reset", "pw", 0.25))
        item.ratios.append(Ratio("ours context / playwright", "context", "pw", None))
        item.ratios.append(Ratio("cycle: reset / playwright", "reset_cycle", "pw_cycle", None))
        item.ratios.append(Ratio("cycle: context / playwright", "context_cycle", "pw_cycle", None))
    n = 5
    url = bench.url
    pools = {
        "reset": BrowserPool(PoolOptions(executable=EXECUTABLE, isolation="reset")),
        "context": BrowserPool(PoolOptions(executable=EXECUTABLE, isolation="context")),
    }
    held: dict[str, PageLease | None] = {"reset": None, "context": None}

    async def pool_batch(mode: str) -> tuple[list[float], list[float]]:
        pool = pools[mode]
        acquire_ms, cycle_ms = [], []
        for _ in range(n):
            c0 = time.perf_counter()
            lease = held[mode]
            if lease is not None:  # the previous page is released right before
                held[mode] = None
                await pool.release_page(lease)
            t0 = time.perf_counter()
            lease = await pool.acquire_page()
            t1 = time.perf_counter()
            held[mode] = lease
            nav = await lease.page.goto(url)
            assert nav.status == 200
            acquire_ms.append((t1 - t0) * 1e3)
            cycle_ms.append((time.perf_counter() - c0) * 1e3)
        return acquire_ms, cycle_ms

    def ours(mode: str) -> Callable[[], Awaitable[list[float]]]:
        async def batch() -> list[float]:
            acquire_ms, cycle_ms = await bench.ours(pool_batch(mode))
            item.series[f"{mode}_cycle"].add_round(cycle_ms)
            return acquire_ms

        return batch

    try:
        async with contextlib.AsyncExitStack() as stack:
            contenders = [("reset", ours("reset")), ("context", ours("context"))]
            if bench.pw is not None:
                pw_browser = await stack.enter_async_context(playwright_browser(bench))
                pw_held: list[Any] = []

                async def pw() -> list[float]:
                    acquire_ms, cycle_ms = [], []
                    for _ in range(n):
                        c0 = time.perf_counter()
                        if pw_held:
                            await pw_held.pop().close()
                        t0 = time.perf_counter()
                        context = await pw_browser.new_context()
                        page = await context.new_page()
                        t1 = time.perf_counter()
                        pw_held.append(context)
                        response = await page.goto(url)
                        assert response is not None
                        assert response.status == 200
                        acquire_ms.append((t1 - t0) * 1e3)
                        cycle_ms.append((time.perf_counter() - c0) * 1e3)
                    item.series["pw_cycle"].add_round(cycle_ms)
                    return acquire_ms

                contenders.append(("pw", pw))
            # Warm-up: launch the pools' browsers and reach steady state (samples dropped).
            await interleave(bench.cfg.rounds, contenders, item, warmup=False)
            for series in item.series.values():
                series.drop_first_round()
            while pw_held:
                await pw_held.pop().close()
    finally:
        for mode, pool in pools.items():
            lease = held[mode]
            if lease is not None:
                with contextlib.suppress(Exception):
                    await bench.ours(pool.release_page(lease))
            await bench.ours(pool.close())
    item.notes.append(
        "ours: time of BrowserPool.acquire_page() only, on the loop thread, right after "
        "release_page() of the previous lease; the first round (browser launch, warm-up) is "
        "dropped. Ours wipes/disposes in the background, so the cycle lines show what the "
        "whole loop costs."
    )
    return item


# -- 3 and 4. evaluate and goto on long-lived pages -----------------------------------


@dataclass
class Engines:
    raw: RawBrowser
    ours_browser: Browser
    ours_page: Page
    pw_page: Any | None


@contextlib.asynccontextmanager
async def engines(bench: Bench) -> AsyncIterator[Engines]:
    async with contextlib.AsyncExitStack() as stack:
        raw = await RawBrowser.start()
        stack.push_async_callback(raw.stop)
        await raw.open_page()
        ours_browser = await bench.ours(Browser.launch(EXECUTABLE))
        stack.push_async_callback(lambda: bench.ours(ours_browser.close()))
        ours_page = await bench.ours(ours_browser.new_page())
        pw_page = None
        if bench.pw is not None:
            pw_browser = await stack.enter_async_context(playwright_browser(bench))
            context = await pw_browser.new_context()
            pw_page = await context.new_page()
        # All three pages start on the same document.
        assert raw.cdp is not None
        await raw.cdp.call(
            "Page.navigate", {"url": bench.url}, raw.session_id, until_event="Page.loadEventFired"
        )
        await bench.ours(ours_page.goto(bench.url))
        if pw_page is not None:
            await pw_page.goto(bench.url)
        yield Engines(raw, ours_browser, ours_page, pw_page)


async def item_evaluate(bench: Bench, eng: Engines) -> Item:
    item = Item("evaluate", f'3. evaluate("{EVAL_EXPR}") round trip', "us")
    item.add("raw", "raw CDP Runtime.evaluate (flattened session)")
    item.add("async", "ours async Page.evaluate")
    item.add("sync", "ours sync SyncPage.evaluate (loop thread)")
    if eng.pw_page is not None:
        item.add("pw", "playwright async page.evaluate", info=True)
    item.ratios.append(Ratio("ours async / raw", "async", "raw", 1.25))
    item.ratios.append(Ratio("ours sync / raw", "sync", "raw", None))
    if eng.pw_page is not None:
        item.ratios.append(Ratio("playwright / raw", "pw", "raw", None))
    n = 60 if bench.cfg.quick else 120
    raw, page = eng.raw, eng.ours_page
    assert raw.cdp is not None

    async def raw_batch() -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            result = await raw.cdp.call("Runtime.evaluate", EVAL_PARAMS, raw.session_id)  # type: ignore[union-attr]
            out.append((time.perf_counter() - t0) * 1e6)
        assert result["result"]["value"] == 2
        return out

    async def ours_loop() -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            value = await page.evaluate(EVAL_EXPR)
            out.append((time.perf_counter() - t0) * 1e6)
        assert value == 2
        return out

    async def ours_async() -> list[float]:
        return await bench.ours(ours_loop())  # type: ignore[no-any-return]

    sync_page = SyncPage(bench.runner, page)

    async def ours_sync() -> list[float]:
        out = []
        for _ in range(n):  # blocking calls from this (main) thread, as a test makes them
            t0 = time.perf_counter()
            value = sync_page.evaluate(EVAL_EXPR)
            out.append((time.perf_counter() - t0) * 1e6)
        assert value == 2
        return out

    async def pw() -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            value = await eng.pw_page.evaluate(EVAL_EXPR)
            out.append((time.perf_counter() - t0) * 1e6)
        assert value == 2
        return out

    contenders: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
        ("raw", raw_batch),
        ("async", ours_async),
        ("sync", ours_sync),
    ]
    if eng.pw_page is not None:
        contenders.append(("pw", pw))
    await interleave(bench.cfg.rounds, contenders, item)
    return item


async def item_goto(bench: Bench, eng: Engines) -> Item:
    item = Item("goto", "4. goto(load) of the local '/' page", "ms")
    item.add("raw", "raw CDP Page.navigate + Page.loadEventFired")
    item.add("ours", "ours Page.goto")
    item.add("ours_norec", "  ours Page.goto(record=False)", info=True)
    item.add("raw_timing", "  raw + the same Navigation Timing evaluate", info=True)
    if eng.pw_page is not None:
        item.add("pw", "playwright page.goto", info=True)
    item.ratios.append(Ratio("ours / raw", "ours", "raw", 1.05))
    item.ratios.append(Ratio("ours record=False / raw", "ours_norec", "raw", None))
    item.ratios.append(Ratio("ours / raw + timing evaluate", "ours", "raw_timing", None))
    if eng.pw_page is not None:
        item.ratios.append(Ratio("playwright / raw", "pw", "raw", None))
    n = 5 if bench.cfg.quick else 8
    url = bench.url
    raw, page = eng.raw, eng.ours_page

    def raw_nav(timing: bool) -> Callable[[], Awaitable[list[float]]]:
        async def batch() -> list[float]:
            assert raw.cdp is not None
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                reply = await raw.cdp.call(
                    "Page.navigate", {"url": url}, raw.session_id, until_event="Page.loadEventFired"
                )
                if timing:  # what ours does after load when record=True
                    await raw.cdp.call("Runtime.evaluate", TIMING_PARAMS, raw.session_id)
                out.append((time.perf_counter() - t0) * 1e3)
                assert "errorText" not in reply, reply
            return out

        return batch

    def ours(record: bool) -> Callable[[], Awaitable[list[float]]]:
        async def loop() -> list[float]:
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                nav = await page.goto(url, record=record)
                out.append((time.perf_counter() - t0) * 1e3)
                assert nav.status == 200
            return out

        async def batch() -> list[float]:
            return await bench.ours(loop())  # type: ignore[no-any-return]

        return batch

    async def pw() -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            response = await eng.pw_page.goto(url)
            out.append((time.perf_counter() - t0) * 1e3)
            assert response.status == 200
        return out

    contenders: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
        ("raw", raw_nav(False)),
        ("ours", ours(True)),
        ("ours_norec", ours(False)),
        ("raw_timing", raw_nav(True)),
    ]
    if eng.pw_page is not None:
        contenders.append(("pw", pw))
    await interleave(bench.cfg.rounds, contenders, item)
    item.notes.append(
        "ours goto = Page.navigate, wait for Page.loadEventFired after the commit of the new "
        "loader (Page.enable + Network.enable are on: the status comes from the document's "
        "Network.responseReceived); the Navigation Timing "
        "entry is read only when nav.timing is used, so neither ours variant pays for it."
    )
    return item


# -- 7-9. journeys: click, fill, wait_for_selector -------------------------------------------

CLICK_HTML = """<!doctype html><body style="margin:0">
<style>button { position: absolute; left: 40px; width: 120px; height: 40px; }</style>
<button id="b" style="top:40px">Go</button>
<button id="w" style="top:120px">Write</button>
<p id="out" style="position:absolute; top:200px">0</p>
<input id="i" style="position:absolute; left:40px; top:260px; width:300px">
<script>
  window.clicks = 0;
  document.querySelector('#b').addEventListener('click', () => { window.clicks++; });
  document.querySelector('#w').addEventListener('click', () => {
    window.clicks++;
    document.querySelector('#out').textContent = window.clicks;
  });
</script>
</body>"""
CLICK_URL = "data:text/html," + urllib.parse.quote(CLICK_HTML)
BUTTON_POINT = {
    "expression": "(() => { const r = document.querySelector('#b').getBoundingClientRect(); "
    "return [r.x + r.width / 2, r.y + r.height / 2]; })()",
    "returnByValue": True,
}
FOCUS_AND_SELECT = {
    "expression": "(() => { const i = document.querySelector('#i'); i.focus(); i.select(); })()",
    "returnByValue": True,
}
CLICKS = {"expression": "window.clicks", "returnByValue": True}
VALUE = {"expression": "document.querySelector('#i').value", "returnByValue": True}
TEXT20 = "journeys: twenty ch."
INSERT_LATE = (
    "document.querySelector('#late')?.remove(); setTimeout(() => { const d = "
    "document.createElement('div'); d.id = 'late'; d.textContent = 'late'; "
    "document.body.append(d); }, 100); 1"
)
RAW_WAIT = {  # the least a client can do: one evaluate whose promise a MutationObserver settles
    "expression": "new Promise((resolve) => { const found = () => "
    "document.querySelector('#late'); if (found()) return resolve(true); const o = new "
    "MutationObserver(() => { if (found()) { o.disconnect(); resolve(true); } }); "
    "o.observe(document, {childList: true, subtree: true}); })",
    "returnByValue": True,
    "awaitPromise": True,
}


def raw_click_events(x: float, y: float) -> list[tuple[str, dict[str, Any]]]:
    common = {"x": x, "y": y, "modifiers": 0}
    return [
        ("Input.dispatchMouseEvent", {"type": "mouseMoved", "button": "none", **common}),
        ("Input.dispatchMouseEvent", {"type": "mousePressed", "button": "left", "buttons": 1,
                                      "clickCount": 1, **common}),
        ("Input.dispatchMouseEvent", {"type": "mouseReleased", "button": "left", "buttons": 0,
                                      "clickCount": 1, **common}),
    ]  # fmt: skip


async def open_click_page(bench: Bench, eng: Engines) -> None:
    """All contenders on the same document (a data: URL, so no server in the way)."""
    assert eng.raw.cdp is not None
    await eng.raw.cdp.call(
        "Page.navigate", {"url": CLICK_URL}, eng.raw.session_id, until_event="Page.loadEventFired"
    )
    await bench.ours(eng.ours_page.goto(CLICK_URL))
    if eng.pw_page is not None:
        await eng.pw_page.goto(CLICK_URL)


async def item_click(bench: Bench, eng: Engines) -> Item:
    item = Item("click", "7. click on a ready button, until its handler has run", "ms")
    pw_page: Any = eng.pw_page
    item.add("raw", "raw floor: evaluate(its centre) + 3 mouse events written together")
    item.add("ours", "ours async Page.click")
    item.add("sync", "ours sync SyncPage.click (loop thread)", info=True)
    item.add("ours_dom", "  ours, a handler that writes to the DOM", info=True)
    if eng.pw_page is not None:
        item.add("pw", "playwright page.click")
        item.ratios.append(Ratio("ours / playwright", "ours", "pw", 0.60))
    item.ratios.insert(0, Ratio("ours / raw floor", "ours", "raw", 1.20))
    item.ratios.append(Ratio("ours sync / raw floor", "sync", "raw", None))
    item.ratios.append(Ratio("ours, DOM-writing handler / raw floor", "ours_dom", "raw", None))
    n = 20 if bench.cfg.quick else 40
    await open_click_page(bench, eng)
    raw, page = eng.raw, eng.ours_page
    assert raw.cdp is not None
    sync_page = SyncPage(bench.runner, page)

    async def raw_batch() -> list[float]:
        cdp = raw.cdp
        assert cdp is not None
        before = (await cdp.call("Runtime.evaluate", CLICKS, raw.session_id))["result"]["value"]
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            point = await cdp.call("Runtime.evaluate", BUTTON_POINT, raw.session_id)
            await cdp.call_all(raw_click_events(*point["result"]["value"]), raw.session_id)
            out.append((time.perf_counter() - t0) * 1e3)
        after = (await cdp.call("Runtime.evaluate", CLICKS, raw.session_id))["result"]["value"]
        assert after == before + n, (before, after)
        return out

    def ours_loop(selector: str) -> Callable[[], Awaitable[list[float]]]:
        async def loop() -> list[float]:
            before = await page.evaluate("window.clicks")
            out = []
            for _ in range(n):
                t0 = time.perf_counter()
                await page.click(selector)
                out.append((time.perf_counter() - t0) * 1e3)
            assert await page.evaluate("window.clicks") == before + n
            return out

        async def batch() -> list[float]:
            return await bench.ours(loop())  # type: ignore[no-any-return]

        return batch

    async def ours_sync() -> list[float]:
        before = sync_page.evaluate("window.clicks")
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            sync_page.click("#b")
            out.append((time.perf_counter() - t0) * 1e3)
        assert sync_page.evaluate("window.clicks") == before + n
        return out

    async def pw() -> list[float]:
        before = await pw_page.evaluate("window.clicks")
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await pw_page.click("#b")
            out.append((time.perf_counter() - t0) * 1e3)
        assert await pw_page.evaluate("window.clicks") == before + n
        return out

    contenders: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
        ("raw", raw_batch),
        ("ours", ours_loop("#b")),
        ("sync", ours_sync),
        ("ours_dom", ours_loop("#w")),
    ]
    if eng.pw_page is not None:
        contenders.append(("pw", pw))
    await interleave(bench.cfg.rounds, contenders, item)
    item.notes.append(
        "Each batch clicks the same ready button n times and then checks that its click "
        "handler ran n times (the reply to mouseReleased comes after the handler). The raw "
        "floor finds the button's centre with one Runtime.evaluate and writes mouseMoved, "
        "mousePressed, mouseReleased back to back (awaited one by one, mouseMoved waits for "
        "a frame). Ours: one Runtime.evaluate in an isolated world (selector, visible, "
        "enabled, stable, hit test, centre) and the same three events. The DOM-writing "
        "handler line: each click changes the DOM, so the next one samples the box over "
        "an animation frame before it is called stable."
    )
    return item


async def item_fill(bench: Bench, eng: Engines) -> Item:
    item = Item("fill", f"8. fill of a {len(TEXT20)}-character value into an input", "ms")
    pw_page: Any = eng.pw_page
    item.add("raw", "raw floor: evaluate(focus, select) + Input.insertText")
    item.add("ours", "ours async Page.fill")
    if eng.pw_page is not None:
        item.add("pw", "playwright page.fill")
        item.ratios.append(Ratio("ours / playwright", "ours", "pw", 0.60))
    item.ratios.append(Ratio("ours / raw floor", "ours", "raw", None))
    n = 20 if bench.cfg.quick else 40
    await open_click_page(bench, eng)
    raw, page = eng.raw, eng.ours_page

    async def raw_batch() -> list[float]:
        cdp = raw.cdp
        assert cdp is not None
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await cdp.call("Runtime.evaluate", FOCUS_AND_SELECT, raw.session_id)
            await cdp.call("Input.insertText", {"text": TEXT20}, raw.session_id)
            out.append((time.perf_counter() - t0) * 1e3)
        assert (await cdp.call("Runtime.evaluate", VALUE, raw.session_id))["result"][
            "value"
        ] == TEXT20
        return out

    async def ours_loop() -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await page.fill("#i", TEXT20)
            out.append((time.perf_counter() - t0) * 1e3)
        assert await page.evaluate("document.querySelector('#i').value") == TEXT20
        return out

    async def ours() -> list[float]:
        return await bench.ours(ours_loop())  # type: ignore[no-any-return]

    async def pw() -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            await pw_page.fill("#i", TEXT20)
            out.append((time.perf_counter() - t0) * 1e3)
        assert await pw_page.input_value("#i") == TEXT20
        return out

    contenders: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
        ("raw", raw_batch),
        ("ours", ours),
    ]
    if eng.pw_page is not None:
        contenders.append(("pw", pw))
    await interleave(bench.cfg.rounds, contenders, item)
    item.notes.append(
        "Each fill replaces the whole value (the same 20 characters every time); the value "
        "is checked after each batch. Ours and Playwright also check that the input is "
        "visible, enabled and editable."
    )
    return item


async def item_wait(bench: Bench, eng: Engines) -> Item:
    item = Item("wait", "9. wait_for_selector of an element inserted 100 ms after the call", "ms")
    pw_page: Any = eng.pw_page
    item.add("ours", "ours async Page.wait_for_selector")
    item.add("raw", "raw: one evaluate settled by a MutationObserver", info=True)
    if eng.pw_page is not None:
        item.add("pw", "playwright page.wait_for_selector", info=True)
    item.series["_limit"] = Series("target: 100 ms + 20 ms", [120.0], distribution=False, info=True)
    item.ratios.append(Ratio("ours / (100 + 20 ms)", "ours", "_limit", 1.0))
    item.ratios.append(Ratio("ours / raw", "ours", "raw", None))
    if eng.pw_page is not None:
        item.ratios.append(Ratio("ours / playwright", "ours", "pw", None))
    n = 5 if bench.cfg.quick else 8
    await open_click_page(bench, eng)
    raw, page = eng.raw, eng.ours_page
    insert = {"expression": INSERT_LATE, "returnByValue": True}

    async def raw_batch() -> list[float]:
        cdp = raw.cdp
        assert cdp is not None
        out = []
        for _ in range(n):
            await cdp.call("Runtime.evaluate", insert, raw.session_id)
            t0 = time.perf_counter()
            await cdp.call("Runtime.evaluate", RAW_WAIT, raw.session_id)
            out.append((time.perf_counter() - t0) * 1e3)
        return out

    async def ours_loop() -> list[float]:
        out = []
        for _ in range(n):
            await page.evaluate(INSERT_LATE)
            t0 = time.perf_counter()
            await page.wait_for_selector("#late")
            out.append((time.perf_counter() - t0) * 1e3)
        return out

    async def ours() -> list[float]:
        return await bench.ours(ours_loop())  # type: ignore[no-any-return]

    async def pw() -> list[float]:
        out = []
        for _ in range(n):
            await pw_page.evaluate(INSERT_LATE)
            t0 = time.perf_counter()
            await pw_page.wait_for_selector("#late")
            out.append((time.perf_counter() - t0) * 1e3)
        return out

    contenders: list[tuple[str, Callable[[], Awaitable[list[float]]]]] = [
        ("raw", raw_batch),
        ("ours", ours),
    ]
    if eng.pw_page is not None:
        contenders.append(("pw", pw))
    await interleave(bench.cfg.rounds, contenders, item)
    item.notes.append(
        "The element is inserted by a setTimeout(100) the page starts just before the "
        "timer starts (the evaluate that starts it has answered), so 100 ms is the floor "
        "minus a fraction of a millisecond."
    )
    return item


# -- 5. pytest runs -------------------------------------------------------------------------

OURS_TEST = """\
import pytest


@pytest.mark.parametrize("i", range(50))
def test_navigate(cdp_page, cdp_site, i):
    assert cdp_page.goto(cdp_site.url("/")).status == 200
"""

PW_CONFTEST = """\
import pytest

from pytest_cdp_accept.site import LocalSite

EXECUTABLE = {executable!r}
ARGS = {args!r}


@pytest.fixture(scope="session")
def site():
    s = LocalSite().start()
    yield s
    s.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {{**browser_type_launch_args, "executable_path": EXECUTABLE, "args": ARGS}}
"""

PW_TEST = """\
import pytest


@pytest.mark.parametrize("i", range(50))
def test_navigate(page, site, i):
    assert page.goto(site.url("/")).status == 200
"""


@dataclass
class PytestRun:
    wall: float
    cpu: float  # user+sys CPU s of the run's reaped process tree
    rc: int
    out: str


def run_pytest(
    cmd: list[str], cwd: Path, timeout: float = 600.0, env: dict[str, str] | None = None
) -> PytestRun:
    """One pytest subprocess: wall time, CPU of its tree, exit code, output.

    Its whole tree is killed by PID if anything goes wrong (timeout, Ctrl-C).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env or scratch_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(psutil.NoSuchProcess):
            for p in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return PytestRun(wall, cpu, proc.returncode, out)


def tail(out: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in out.strip().splitlines()[-lines:])[-700:]


async def item_pytest(bench: Bench) -> Item:
    item = Item("pytest", "5. pytest run, 50 tests x one goto each (subprocess wall)", "s")
    item.add("reset", "ours cdp_page (reset)", distribution=False)
    item.add("context", "ours cdp_page --cdp-isolation=context", distribution=False)
    item.add(
        "bare", "  ours reset, --cdp-vitals=off --cdp-evidence=off", distribution=False, info=True
    )
    have_pw = bench.have_pw
    if have_pw:
        item.add("pw", "pytest-playwright page", distribution=False)
        item.add("pw_own", "  pytest-playwright, its own switches", distribution=False, info=True)
        item.ratios.append(Ratio("ours reset / playwright", "reset", "pw", 0.30))
        item.ratios.append(Ratio("ours context / playwright", "context", "pw", 0.80))
        item.ratios.append(Ratio("ours reset / playwright own switches", "reset", "pw_own", None))
        item.ratios.append(
            Ratio("ours context / playwright own switches", "context", "pw_own", None)
        )
        item.ratios.append(
            Ratio("ours reset, vitals and evidence off / playwright", "bare", "pw", None)
        )
    await run_pytest_contenders(
        bench,
        item,
        OURS_TEST,
        PW_TEST,
        "50 passed",
        ours={
            "reset": [],
            "context": ["--cdp-isolation=context"],
            "bare": ["--cdp-vitals=off", "--cdp-evidence=off"],
        },
    )
    return item


async def run_pytest_contenders(
    bench: Bench,
    item: Item,
    ours_test: str,
    pw_test: str,
    expect: str,
    *,
    ours: dict[str, list[str]],
) -> None:
    """Run the same suite under our plugin (one series per entry of ``ours``: its extra
    arguments) and under pytest-playwright (``pw``, ``pw_own``), rounds interleaved."""
    have_pw = bench.have_pw
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    # Both plugins run from compiled bytecode, as pip leaves a wheel it installs. This
    # machine sets PYTHONDONTWRITEBYTECODE=1, so an editable checkout of ours would
    # otherwise compile every module on every run (~65 ms) while Playwright's site-packages
    # already hold their .pyc files.
    compiled = compileall.compile_dir(
        str(Path(launcher.__file__).parent), quiet=1, force=False, legacy=False
    )
    if not compiled:
        item.notes.append("compiling pytest_cdp_accept's bytecode failed; runs compile it")
    with tempfile.TemporaryDirectory(prefix="bench-pytest-") as tmp:
        ours_dir, pw_dir, pw_own_dir = Path(tmp, "ours"), Path(tmp, "pw"), Path(tmp, "pw_own")
        for d in (ours_dir, pw_dir, pw_own_dir):
            d.mkdir()
            (d / "pytest.ini").write_text("[pytest]\n")
        (ours_dir / "test_ours.py").write_text(ours_test)
        (pw_dir / "conftest.py").write_text(PW_CONFTEST.format(executable=EXECUTABLE, args=ARGS))
        # What a pytest-playwright user runs: its own switches, plus only what this
        # machine requires (no network; --no-sandbox as root).
        own = [*REQUIRED_SWITCHES, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
        (pw_own_dir / "conftest.py").write_text(PW_CONFTEST.format(executable=EXECUTABLE, args=own))
        for d in (pw_dir, pw_own_dir):
            (d / "test_pw.py").write_text(pw_test)
        # Each contender loads its own plugin and nothing else: this machine's other
        # pytest plugins (hypothesis, xdist, benchmark, ...) add ~1.3 s of imports to every
        # run of both, which measures the environment, not the plugins (--all-plugins
        # keeps them).
        env = scratch_env()
        if bench.cfg.all_plugins:
            ours_plugin, pw_plugin = ["-p", "no:playwright"], ["-p", "no:cdp_accept"]
        else:
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
            ours_plugin = ["-p", "pytest_cdp_accept.plugin"]
            pw_plugin = ["-p", "pytest_playwright.pytest_playwright"]
        ours_base = [*base, *ours_plugin, f"--cdp-browser={EXECUTABLE}"]
        commands = {
            key: ([*ours_base, *extra, "test_ours.py"], str(ours_dir))
            for key, extra in ours.items()
        }
        if have_pw:
            commands["pw"] = ([*base, *pw_plugin, "test_pw.py"], str(pw_dir))
            commands["pw_own"] = ([*base, *pw_plugin, "test_pw.py"], str(pw_own_dir))
        keys = list(commands)
        failed: set[str] = set()
        for r in range(bench.cfg.pytest_rounds):
            for key in rotated(keys, r):
                if key in failed:
                    continue
                cmd, cwd = commands[key]
                run = await asyncio.to_thread(run_pytest, cmd, Path(cwd), env=env)
                if run.rc != 0 or expect not in run.out:
                    failed.add(key)
                    item.notes.append(f"{key} FAILED: exit {run.rc}: ... {tail(run.out)}")
                    continue
                item.series[key].add_round([run.wall])
    loading = (
        "all installed plugins, the other contender's disabled with -p no:"
        if bench.cfg.all_plugins
        else "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, each contender's own plugin with -p"
    )
    item.notes.append(
        f"each: {' '.join(base[1:])}, {loading}; ours --cdp-browser=..., playwright "
        "(conftest: browser_type_launch_args with executable_path and the same args; "
        "'its own switches': args= only the machine's no-network switches and --no-sandbox; "
        "session fixture serving LocalSite). Wall time includes interpreter start, "
        "imports, browser launch and teardown. Both plugins' bytecode is compiled first "
        "(compileall), as a pip install of a wheel leaves it."
    )


OURS_JOURNEY_TEST = """\
import pytest


@pytest.mark.parametrize("i", range(20))
def test_journey(cdp_page, cdp_site, i):
    cdp_page.goto(cdp_site.url("/app"))
    cdp_page.click("text=New item")
    cdp_page.fill("#title", f"item {i}")
    cdp_page.click("#urgent")
    cdp_page.click("#add")
    cdp_page.wait_for_selector("#status >> text=Saved")
"""

PW_JOURNEY_TEST = """\
import pytest


@pytest.mark.parametrize("i", range(20))
def test_journey(page, site, i):
    page.goto(site.url("/app"))
    page.click("text=New item")
    page.fill("#title", f"item {i}")
    page.click("#urgent")
    page.click("#add")
    page.wait_for_selector("#status >> text=Saved")
"""


async def item_journeys(bench: Bench) -> Item:
    item = Item("journeys", "10. pytest run, 20 journeys (load, 3 clicks, a fill, a wait)", "s")
    item.add("ours", "ours cdp_page (reset)", distribution=False)
    if bench.have_pw:
        item.add("pw", "pytest-playwright page", distribution=False)
        item.add("pw_own", "  pytest-playwright, its own switches", distribution=False, info=True)
        item.ratios.append(Ratio("ours / playwright", "ours", "pw", 0.50))
        item.ratios.append(Ratio("ours / playwright own switches", "ours", "pw_own", None))
    await run_pytest_contenders(
        bench, item, OURS_JOURNEY_TEST, PW_JOURNEY_TEST, "20 passed", ours={"ours": []}
    )
    item.notes.append(
        "The journey on the built-in /app: goto, click 'New item' (a pushState route), fill "
        "the title, click the Urgent checkbox, click Add item (a fetch of /api/data?delay=50 "
        "behind it), wait for 'Saved'."
    )
    return item


# -- 6. memory -----------------------------------------------------------------------------------


def probe(mode: str, url: str) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / "mem_probe.py"), mode, url, EXECUTABLE, json.dumps(ARGS)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, check=False, env=scratch_env()
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mem_probe {mode} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def item_memory(bench: Bench) -> Item:
    item = Item("memory", "6. memory, one browser with one idle page (fresh subprocess)", "MB")
    s = {
        "py_base": item.add("py_base", "python + psutil only (floor)", info=True),
        "py_ours": item.add("py_ours", "ours: Python RSS (SyncPool, 1 page)"),
        "py_lease": item.add("py_lease", "  ours acquire_page(): Python RSS", info=True),
        "br_ours": item.add("br_ours", "ours: browser tree PSS (Browser.memory)"),
        "br_lease": item.add("br_lease", "  ours acquire_page(): browser PSS (2 pages)", info=True),
    }
    have_pw = bench.have_pw
    if have_pw:
        s["py_pw"] = item.add("py_pw", "playwright: Python RSS (sync API)")
        s["br_pw"] = item.add("br_pw", "playwright: browser tree PSS")
        s["drv_pw"] = item.add("drv_pw", "playwright: node driver PSS", info=True)
        item.ratios.append(Ratio("Python RSS ours / playwright", "py_ours", "py_pw", None))
        item.ratios.append(Ratio("browser PSS ours / playwright", "br_ours", "br_pw", None))
    for series in s.values():
        series.distribution = False
    modes = ["baseline", "ours", "ours-lease"] + (["playwright"] if have_pw else [])
    pages: dict[str, int] = {}
    failed: set[str] = set()
    for r in range(bench.cfg.memory_rounds):
        for mode in rotated(modes, r):
            if mode in failed:
                continue
            try:
                result = await asyncio.to_thread(probe, mode, bench.url)
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                failed.add(mode)
                item.notes.append(f"{mode} FAILED: {exc}")
                continue
            if mode == "baseline":
                s["py_base"].add_round([result["python_rss_mb"]])
            elif mode == "ours":
                s["py_ours"].add_round([result["python_rss_mb"]])
                s["br_ours"].add_round([result["browser"]["pss_mb"]])
            elif mode == "ours-lease":
                s["py_lease"].add_round([result["python_rss_mb"]])
                s["br_lease"].add_round([result["browser"]["pss_mb"]])
            else:
                s["py_pw"].add_round([result["python_rss_mb"]])
                s["br_pw"].add_round([result["browser"]["pss_mb"]])
                s["drv_pw"].add_round([result["driver"]["pss_mb"]])
            if "pages" in result:
                pages[mode] = result["pages"]
    item.series["_50mb"] = Series("target: ours Python RSS", [50.0], distribution=False, info=True)
    item.ratios.insert(0, Ratio("ours Python RSS / 50 MB", "py_ours", "_50mb", 1.0))
    item.notes.append(
        f"pages open when measured: {pages}. Each probe is a fresh interpreter that goes to "
        "the same local page, sleeps 1 s, then reads psutil RSS (Python) and sums "
        "memory_full_info().pss over the browser's process tree (Playwright: the node "
        "driver's children whose name contains 'chrom')."
    )
    return item


# -- main -----------------------------------------------------------------------------------

ITEMS = (
    "startup", "acquire", "evaluate", "goto", "click", "fill", "wait", "pytest", "journeys",
    "memory",
)  # fmt: skip
ENGINE_ITEMS = ("evaluate", "goto", "click", "fill", "wait")


async def run(cfg: Config, only: list[str]) -> list[Item]:
    items: list[Item] = []
    runner = LoopThread("bench-ours-loop")
    site = LocalSite().start()
    pw_cm = None
    pw = None
    try:
        needs_pw = any(k in only for k in ("startup", "acquire", *ENGINE_ITEMS))
        try:
            from playwright.async_api import async_playwright
        except ImportError:
            async_playwright = None  # type: ignore[assignment]
        if async_playwright is not None and needs_pw:
            pw_cm = async_playwright()
            pw = await pw_cm.start()
        bench = Bench(cfg, runner, site, pw, have_pw=async_playwright is not None)

        async def timed(coro: Awaitable[Item]) -> Item:
            t0 = time.perf_counter()
            item = await coro
            item.seconds = time.perf_counter() - t0
            item.finish()
            print_item(item)
            items.append(item)
            return item

        if "startup" in only:
            await timed(item_startup(bench))
        if "acquire" in only:
            await timed(item_acquire(bench))
        if any(k in only for k in ENGINE_ITEMS):
            async with engines(bench) as eng:
                if "evaluate" in only:
                    await timed(item_evaluate(bench, eng))
                if "goto" in only:
                    await timed(item_goto(bench, eng))
                if "click" in only:
                    await timed(item_click(bench, eng))
                if "fill" in only:
                    await timed(item_fill(bench, eng))
                if "wait" in only:
                    await timed(item_wait(bench, eng))
        if "pytest" in only:
            await timed(item_pytest(bench))
        if "journeys" in only:
            await timed(item_journeys(bench))
        if "memory" in only:
            await timed(item_memory(bench))
    finally:
        if pw_cm is not None:
            with contextlib.suppress(Exception):
                await pw_cm.__aexit__(None, None, None)
        kill_raw_leftovers()
        site.close()
        runner.close()
    return items


def no_nan(value: Any) -> Any:
    """NaN (no data) as null, so that the JSON is strict."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [no_nan(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="rounds for items 1-4, 7-9")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (< 2 min)")
    parser.add_argument("--only", default="", help=f"comma list of: {','.join(ITEMS)}")
    parser.add_argument("--pytest-rounds", type=int, default=None, help="rounds for items 5, 10")
    parser.add_argument("--memory-rounds", type=int, default=None, help="rounds for item 6")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument(
        "--all-plugins",
        action="store_true",
        help="item 5: load every installed pytest plugin (default: each contender's own only)",
    )
    opts = parser.parse_args()
    only = [s.strip() for s in opts.only.split(",") if s.strip()] or list(ITEMS)
    unknown = [s for s in only if s not in ITEMS]
    if unknown:
        parser.error(f"unknown item(s) {unknown}; choose from {', '.join(ITEMS)}")
    cfg = Config(
        rounds=opts.rounds or (3 if opts.quick else 12),
        quick=opts.quick,
        pytest_rounds=opts.pytest_rounds or (1 if opts.quick else 2),
        memory_rounds=opts.memory_rounds or (1 if opts.quick else 2),
        all_plugins=opts.all_plugins,
    )
    try:
        pw_version = importlib.metadata.version("playwright")
    except importlib.metadata.PackageNotFoundError:
        pw_version = "not installed"
    version = launcher.browser_version(EXECUTABLE)
    print(f"bench_engine: {version} ({EXECUTABLE}), Python {platform.python_version()}, ")
    print(
        f"  playwright {pw_version}, {os.cpu_count()} CPUs, rounds={cfg.rounds} "
        f"pytest_rounds={cfg.pytest_rounds} memory_rounds={cfg.memory_rounds} "
        f"quick={cfg.quick}"
    )
    print(
        textwrap.fill(
            "switches (launcher.default_args(), given to ours, the raw floor and Playwright's "
            "args=): " + " ".join(ARGS),
            100,
            subsequent_indent="    ",
        )
    )
    print(
        textwrap.fill(
            "note: Playwright puts its own defaults IN FRONT of these (its chromiumSwitches, "
            "--headless, --hide-scrollbars, --mute-audio, --blink-settings=..., "
            "--remote-debugging-pipe, --no-startup-window, its own --user-data-dir); since "
            "Chromium honours only the last --disable-features, ours replaces Playwright's "
            "list, while its --enable-features and --remote-debugging-pipe stay "
            "(--remote-debugging-port=0 from our list also opens an unused port there).",
            100,
            subsequent_indent="    ",
        )
    )
    t0 = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="bench-engine-", dir=launcher.root_bases()[0]))
    (scratch / "tmp").mkdir()
    SCRATCH.append(scratch)
    try:
        items = asyncio.run(run(cfg, only))
    finally:
        kill_raw_leftovers()
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
            "items": [item_json(it) for it in items],
        }
        Path(opts.json).write_text(json.dumps(no_nan(data), indent=1, allow_nan=False))
        print(f"wrote {opts.json}")


if __name__ == "__main__":
    main()
