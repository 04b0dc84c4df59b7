"""Stress, crash recovery and leak detection: the loops behind the stability gates.

Each runner takes the test body as a plain callable of one page and records
into a :class:`~pytest_cdp_accept.metrics.MetricsRecorder`; the gate judges
the samples afterwards. No pytest here.

Metrics recorded:

* stress: ``stress.success`` (1 or 0 per run), ``stress.run`` (ms per run);
* recovery: ``recovery.success`` (1 or 0 per fault), ``recovery.time`` (ms from
  the injected fault to the end of the passing body);
* leaks: ``leaks.js_heap`` (KB/run) and ``leaks.dom_nodes`` (/run): the slope
  of a least-squares line through the samples taken after each run (after a
  forced garbage collection), warm-up runs left out.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import CDPAcceptError, UsageError
from ..metrics import (
    NULL_LOOP_EVENTS,
    LeaksRequest,
    LoopEvents,
    LoopRequest,
    MetricsRecorder,
    RecoveryRequest,
    StressRequest,
)
from .sync import SyncPage, SyncPool

Body = Callable[[SyncPage], object]
Progress = Callable[[str], None]

MAX_GROUPS_SHOWN = 10


@dataclass
class FailureGroup:
    key: str
    count: int
    example: str


@dataclass
class Outcomes:
    """Runs that passed and failures grouped by error, with one traceback each."""

    passed: int = 0
    failed: int = 0
    groups: dict[str, FailureGroup] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, error: BaseException | None) -> None:
        with self.lock:
            if error is None:
                self.passed += 1
                return
            self.failed += 1
            key = error_key(error)
            group = self.groups.get(key)
            if group is None:
                example = format_failure(error)
                self.groups[key] = FailureGroup(key, 1, example)
            else:
                group.count += 1

    @property
    def total(self) -> int:
        return self.passed + self.failed

    def describe(self, what: str) -> list[str]:
        rate = 100.0 * self.passed / self.total if self.total else 0.0
        lines = [f"{what}: {self.passed}/{self.total} passed = {rate:.1f} %"]
        groups = sorted(self.groups.values(), key=lambda g: -g.count)
        for group in groups[:MAX_GROUPS_SHOWN]:
            lines.append(f"  {group.count} x {group.key}")
        if len(groups) > MAX_GROUPS_SHOWN:
            lines.append(f"  ... and {len(groups) - MAX_GROUPS_SHOWN} more kinds of failure")
        for group in groups[:3]:
            lines.append(f"-- first {group.key} --")
            lines.append(group.example)
        return lines


# Kept as written: URLs and network addresses (an IP or localhost, with its port).
_KEPT = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"
    r"|\blocalhost:\d+\b"
    r"|\[[0-9A-Fa-f:.]+\](?::\d+)?"
)
# Folded: memory addresses and other numbers (a run index, a duration, a count).
_FOLDED = re.compile(r"\b0x[0-9A-Fa-f]+\b|\d+(?:\.\d+)?")
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fold_numbers(text: str) -> str:
    """``text`` with numbers replaced by N (hex addresses by 0xN), URLs and network
    addresses left as they are: ``run 7 failed after 1.5 s`` reads ``run N failed
    after N s``, ``http://127.0.0.1:59999/`` stays itself."""

    def fold(part: str) -> str:
        return _FOLDED.sub(lambda m: "0xN" if m.group().startswith("0x") else "N", part)

    pieces = []
    position = 0
    for kept in _KEPT.finditer(text):
        pieces += [fold(text[position : kept.start()]), kept.group()]
        position = kept.end()
    pieces.append(fold(text[position:]))
    return "".join(pieces)


def error_key(error: BaseException) -> str:
    """One line that groups equal failures: the type and the first line of the message
    with numbers folded (``run 3 failed`` and ``run 7 failed`` are one kind) but URLs
    and addresses kept (a failure against another host or port is another kind)."""
    text = str(error).strip()
    first = fold_numbers(text.splitlines()[0])[:160] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def format_failure(error: BaseException) -> str:
    """The traceback from the test's own frames on (this package's frames left out)."""
    tb = error.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb)).rstrip()


def _call(body: Body, page: SyncPage) -> BaseException | None:
    try:
        body(page)
    except Exception as exc:  # a failing run is data here, not the end of the test
        return exc
    return None


# -- stress ---------------------------------------------------------------------


def run_stress(
    body: Body,
    pool: SyncPool,
    recorder: MetricsRecorder,
    *,
    runs: int,
    concurrency: int,
    duration: float | None = None,
    progress: Progress | None = None,
    events: LoopEvents = NULL_LOOP_EVENTS,
) -> Outcomes:
    """Run ``body`` ``runs`` times (or for ``duration`` s), ``concurrency`` at once, each on
    its own page; every run's outcome and time are recorded, and told to ``events``."""
    outcomes = Outcomes()
    deadline = time.monotonic() + duration if duration else None
    counter = iter(range(10**9 if deadline else runs))
    counter_lock = threading.Lock()
    report_every = max(1, runs // 10)

    def next_run() -> int | None:
        with counter_lock:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            return next(counter, None)

    def worker() -> None:
        while (index := next_run()) is not None:
            start = time.perf_counter()
            error: BaseException | None
            try:
                page = pool.acquire_page(recorder)
            except CDPAcceptError as exc:
                error = exc
            else:
                page.navigation_metric = "stress.navigation"
                page.action_metric = "stress.action"
                try:
                    error = _call(body, page)
                finally:
                    pool.release_page(page)
            recorder.record("stress.run", (time.perf_counter() - start) * 1000.0)
            recorder.record("stress.success", 0.0 if error else 1.0)
            outcomes.add(error)
            events.run_ended("stress", type(error).__name__ if error else None)
            if progress is not None and (index + 1) % report_every == 0:
                progress(
                    f"stress: {outcomes.total} runs, {outcomes.failed} failed"
                    + (f" of {runs}" if deadline is None else "")
                )

    threads = [
        threading.Thread(target=worker, name=f"cdp-stress-{i}", daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


# -- recovery -----------------------------------------------------------------------


FAULT_KINDS = ("renderer", "browser", "mixed")


@dataclass
class RecoveryRun:
    kind: str
    ok: bool
    ms: float
    error: str = ""


def run_recovery(
    body: Body,
    pool: SyncPool,
    page: SyncPage,
    recorder: MetricsRecorder,
    *,
    crashes: int,
    kind: str,
    within_ms: float,
    progress: Progress | None = None,
    events: LoopEvents = NULL_LOOP_EVENTS,
) -> tuple[Outcomes, list[RecoveryRun]]:
    """Run the body, then for each fault: inject, recover, run the body again.

    ``page`` is a lease of ``pool``: a browser fault moves it to a new browser.
    """
    body(page)  # the body must pass before any fault: a failure here is the test's
    page.navigation_metric = "recovery.navigation"
    page.action_metric = "recovery.action"
    outcomes = Outcomes()
    runs: list[RecoveryRun] = []
    for index in range(crashes):
        fault = kind if kind != "mixed" else ("renderer", "browser")[index % 2]
        url = page.url
        start = time.perf_counter()
        error: BaseException | None = None
        try:
            inject(page, fault)
            recover(pool, page, fault, url)
            error = _call(body, page)
        except Exception as exc:
            error = exc
        elapsed = (time.perf_counter() - start) * 1000.0
        if error is None and elapsed > within_ms:
            error = TimeoutError(
                f"recovered, but only after {elapsed:.0f} ms (within={within_ms:.0f} ms)"
            )
        ok = error is None
        recorder.record("recovery.success", 1.0 if ok else 0.0)
        recorder.record("recovery.time", elapsed)
        recorder.record(f"recovery.{fault}", elapsed)
        outcomes.add(error)
        events.run_ended("recovery", type(error).__name__ if error else None, fault)
        runs.append(RecoveryRun(fault, ok, elapsed, error_key(error) if error else ""))
        if progress is not None:
            progress(f"recovery: {index + 1}/{crashes} faults, {outcomes.failed} not recovered")
    return outcomes, runs


def inject(page: SyncPage, fault: str) -> None:
    """Crash the page's renderer (``Page.crash``) or SIGKILL its browser."""
    if fault == "renderer":
        page.crash()
    elif fault == "browser":
        page.browser.kill()
    else:
        raise ValueError(f"fault kind {fault!r}: expected renderer or browser")


def recover(pool: SyncPool, page: SyncPage, fault: str, url: str) -> None:
    """Bring the page back where it was: revive the crashed tab, or a new browser's page."""
    if fault == "browser" or not page.browser.is_alive():
        pool.replace_page(page)
    if url and url != "about:blank":
        page.goto(url, record=False, check_status=False)
    elif page.crashed:
        page.goto("about:blank", record=False)


# -- leaks -----------------------------------------------------------------------------


@dataclass
class LeakSeries:
    js_heap_kb: list[float] = field(default_factory=list)
    dom_nodes: list[float] = field(default_factory=list)
    documents: list[float] = field(default_factory=list)
    listeners: list[float] = field(default_factory=list)
    python_kb: float | None = None
    python_top: list[str] = field(default_factory=list)


MEMRAY_HINT = "cdp_leaks(python=...) needs memray: pip install 'pytest-cdp-accept[memray]'"


@contextmanager
def python_leak_tracking(series: LeakSeries) -> Iterator[None]:
    """Track the test process's allocations with memray (Python allocators traced, as
    pytest-memray's ``limit_leaks`` needs); what is still alive at the end, after a full
    garbage collection, is the leak."""
    try:
        import memray
    except ImportError as exc:  # checked at collection too; this is the last line of defence
        raise UsageError(MEMRAY_HINT) from exc
    folder = tempfile.mkdtemp(prefix="cdp-accept-memray-")
    path = os.path.join(folder, "leaks.bin")
    try:
        try:
            tracker = memray.Tracker(path, trace_python_allocators=True)
            tracker.__enter__()
        except RuntimeError as exc:  # another Tracker (pytest-memray) is active
            raise UsageError(
                f"cdp_leaks(python=...) cannot track while another memray tracker runs "
                f"(pytest-memray?): {exc}"
            ) from exc
        try:
            yield
            gc.collect()
        finally:
            tracker.__exit__(None, None, None)
        reader = memray.FileReader(path)
        try:
            leaked = list(reader.get_leaked_allocation_records(merge_threads=True))
        finally:
            reader.close()
        series.python_kb = sum(r.size for r in leaked) / 1024.0
        for record in sorted(leaked, key=lambda r: -r.size)[:3]:
            frames = record.stack_trace()
            where = f"{frames[0][1]}:{frames[0][2]} in {frames[0][0]}" if frames else "?"
            series.python_top.append(f"{record.size / 1024:.1f} KB at {where}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def slope(values: Sequence[float]) -> float:
    """Least-squares growth per run of ``values`` (0 for fewer than two points)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2.0
    mean_y = sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    den = sum((i - mean_x) ** 2 for i in range(n))
    return num / den


def run_leaks(
    body: Body,
    page: SyncPage,
    recorder: MetricsRecorder,
    *,
    runs: int,
    warmup: int,
    python: bool = False,
    progress: Progress | None = None,
) -> LeakSeries:
    """Run the body ``runs`` times on one page, sampling after each; record the slopes.

    With ``python``, the runs after the warm-up also run under memray, and what
    they left alive in this process is recorded as ``leaks.python`` (MB, total).
    """
    series = LeakSeries()

    def one(index: int) -> None:
        body(page)  # a failing body fails the test: leak figures of a broken body mean nothing
        usage = page.heap_usage()
        series.js_heap_kb.append(usage.js_heap_kb)
        series.dom_nodes.append(float(usage.dom_nodes))
        series.documents.append(float(usage.documents))
        series.listeners.append(float(usage.listeners))
        if progress is not None and (index + 1) % max(1, runs // 5) == 0:
            progress(f"leaks: {index + 1}/{runs} runs")

    for index in range(warmup):
        one(index)
    tracking = python_leak_tracking(series) if python else contextlib.nullcontext()
    with tracking:
        for index in range(warmup, runs):
            one(index)
    recorder.record("leaks.js_heap", slope(series.js_heap_kb[warmup:]))
    recorder.record("leaks.dom_nodes", slope(series.dom_nodes[warmup:]))
    if series.python_kb is not None:
        recorder.record("leaks.python", series.python_kb / 1024.0)
    return series


# -- dispatch ------------------------------------------------------------------------


def run_loop(
    request: LoopRequest,
    body: Body,
    pool: SyncPool,
    page: SyncPage,
    recorder: MetricsRecorder,
    progress: Progress | None = None,
    factor: float = 1.0,
    events: LoopEvents = NULL_LOOP_EVENTS,
) -> list[str]:
    """Run the loop the request asks for; return the lines that explain its outcome.

    ``page`` is the test's own page, a lease of ``pool`` (stress leases pages of its own).

    ``factor`` (``--cdp-threshold-factor``) scales the recovery time limit, as it
    scales every other time threshold. ``events`` hears of each stress run and
    recovery as it ends.
    """
    if isinstance(request, StressRequest):
        outcomes = run_stress(
            body,
            pool,
            recorder,
            runs=request.runs,
            concurrency=request.concurrency,
            duration=request.duration_s,
            progress=progress,
            events=events,
        )
        return outcomes.describe("stress")
    if isinstance(request, RecoveryRequest):
        outcomes, runs = run_recovery(
            body,
            pool,
            page,
            recorder,
            crashes=request.crashes,
            kind=request.kind,
            within_ms=request.within_ms * factor,
            progress=progress,
            events=events,
        )
        faults = ", ".join(f"{r.kind} {r.ms:.0f} ms{'' if r.ok else ' ✗'}" for r in runs)
        return [*outcomes.describe("recovery"), f"faults: {faults}"]
    return _describe_leaks(
        request,
        run_leaks(
            body,
            page,
            recorder,
            runs=request.runs,
            warmup=request.warmup,
            python=request.python,
            progress=progress,
        ),
    )


def _describe_leaks(request: LeaksRequest, series: LeakSeries) -> list[str]:
    lines = [
        f"leaks: {request.runs} runs, the first {request.warmup} left out of the slope",
        "  JS heap after GC (KB): " + ", ".join(f"{v:.0f}" for v in series.js_heap_kb),
        "  DOM nodes: " + ", ".join(f"{v:.0f}" for v in series.dom_nodes),
        "  JS event listeners: " + ", ".join(f"{v:.0f}" for v in series.listeners),
    ]
    if series.python_kb is not None:
        lines.append(f"  Python: {series.python_kb:.1f} KB still alive after the runs")
        lines += [f"    {entry}" for entry in series.python_top]
    return lines
