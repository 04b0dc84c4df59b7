"""Evidence of failing tests: what the pages a test held looked like and logged, and
where its slowest samples spent their time (see docs/evidence.md).

The keeper watches each page a test leases (a :class:`PageLog` per page; on
browsers of tests with latency thresholds, the browser's ring-buffer trace) and,
when the test fails (``on-failure``) or always, writes one folder per test:

``page-N.png``
    a screenshot of each page the test held, taken at the failure;
``trace-<metric>.json``
    the trace around the test's slowest sample of each failed latency metric;
``log.json``
    each page's console errors, exceptions and failed or >= 400 requests.

Stress and recovery loops keep the screenshot and log of the first failing run of
each error group instead (``group-N.png``, ``group-N.json``). A passing test in
``on-failure`` mode leaves nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CDPAcceptError
from ..metrics import Sample, kind_of

# asyncio and the engine are imported in the functions that use them: the plugin
# imports this module at start-up, and a suite that never uses a browser loads neither.

if TYPE_CHECKING:
    from ..engine.browser import Browser, Page
    from ..engine.evidence import PageLog
    from ..engine.sync import SyncPage
    from ..gate.markers import GateSpec

EVIDENCE_DIR = ".cdp-accept/evidence"
LINES_SHOWN = 10
"""Console and network lines in the failure text, per kind (the rest in log.json)."""
CAPTURE_TIMEOUT = 10.0
TRACED_FAILURES = 10
"""Failing tests per process (xdist worker) whose traces ``on-failure`` keeps: saving
and cutting a trace costs a failing test 1-4 s, so a run where everything fails stays
within ~40 s of that work per process. Later failing tests keep screenshots and logs."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def folder_name(nodeid: str) -> str:
    """A folder name for a test: its node id with ``::`` as ``--`` and anything a
    file system might refuse as ``-`` (long ids are cut and given a hash)."""
    name = _UNSAFE.sub("-", nodeid.replace("::", "--")).strip("-.") or "test"
    if len(name) > 120:
        digest = hashlib.sha1(nodeid.encode()).hexdigest()[:10]
        name = f"{name[:108]}-{digest}"
    return name


@dataclass
class Kept:
    """The evidence kept for one test: files, the lines worth reading, and notes on
    what could not be kept."""

    test: str
    folder: str
    files: list[tuple[str, str]] = field(default_factory=list)
    """(what, path): ``screenshot``, ``trace <metric>``, ``log``, ``group N ...``."""
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The block appended to the failure text (paths relative to the current
        directory when they are below it)."""
        out = [f"cdp-accept evidence: {_shown(self.folder)}"]
        out += [f"  {what}: {_shown(path)}" for what, path in self.files]
        out += [f"  ({note})" for note in self.notes]
        out += [f"  {line}" for line in self.lines]
        return "\n".join(out)

    def attachments(self) -> str:
        """The JUnit attachment lines Jenkins and GitLab read from system-out."""
        return "\n".join(f"[[ATTACHMENT|{Path(path).resolve()}]]" for _, path in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "folder": self.folder,
            "files": [{"what": what, "path": path} for what, path in self.files],
            "lines": list(self.lines),
            "notes": list(self.notes),
        }


@dataclass
class _Watch:
    """One test's pages and their logs."""

    nodeid: str
    trace_metrics: frozenset[str]
    untraced: str | None
    """Why this test's browsers are not traced (None: they are, or it has no
    latency threshold to trace for)."""
    pages: list[SyncPage] = field(default_factory=list)
    logs: dict[int, PageLog] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    """Error group -> its number, for loops (stress, recovery)."""
    loop_kept: Kept | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class EvidenceKeeper:
    """Evidence of one process's tests; ``mode`` is off, on-failure or always."""

    def __init__(self, mode: str, folder: Path) -> None:
        self.mode = mode
        self.folder = folder
        self._watches: dict[str, _Watch] = {}
        self.traced_failures = 0
        """Failing tests whose traces were saved (see :data:`TRACED_FAILURES`)."""

    def __repr__(self) -> str:
        return f"<EvidenceKeeper {self.mode} {self.folder} watching={len(self._watches)}>"

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def test_folder(self, nodeid: str) -> Path:
        return self.folder / folder_name(nodeid)

    # -- watching -----------------------------------------------------------------

    def watch(self, nodeid: str, page: SyncPage, spec: GateSpec | None) -> None:
        """Watch a page the test leased: its console and network, and (for a test with
        latency thresholds) its browser's trace."""
        if not self.enabled:
            return
        watch = self._watches.get(nodeid)
        if watch is None:
            watch = self._begin(nodeid, spec)
        if any(held is page for held in watch.pages):
            return
        watch.pages.append(page)
        page.runner.run(self._start_watching(watch, page))

    async def _start_watching(self, watch: _Watch, page: SyncPage) -> None:
        """The page's log and its browser's recording, started side by side."""
        import asyncio

        from ..engine.evidence import PageLog

        core = page.core
        log = PageLog(core)
        work = [_within(log.start())]
        if watch.trace_metrics or watch.untraced is not None:
            work.append(_start_tracing(core.browser, trace=watch.untraced is None))
        started = await asyncio.gather(*work, return_exceptions=True)
        if not isinstance(started[0], BaseException):
            watch.logs[id(core)] = log
        elif not isinstance(started[0], (CDPAcceptError, asyncio.TimeoutError)):
            raise started[0]  # a page that does not answer: its failure will say so

    def _begin(self, nodeid: str, spec: GateSpec | None) -> _Watch:
        shutil.rmtree(self.test_folder(nodeid), ignore_errors=True)  # an earlier run's
        metrics = frozenset(
            t.metric for t in (spec.thresholds if spec else ()) if kind_of(t.metric) == "latency"
        )
        untraced = None
        if spec is not None and spec.memory:
            # The recording's buffers live in the browser's processes: they would count
            # in the memory figures, and the probe runs traces of its own.
            untraced = "no trace: tests with cdp_memory gates are not recorded"
        watch = _Watch(nodeid, metrics, untraced)
        self._watches[nodeid] = watch
        return watch

    def release(self, nodeid: str, page: SyncPage) -> None:
        """The test gives a page back: stop watching it."""
        watch = self._watches.get(nodeid)
        if watch is None:
            return
        log = watch.logs.pop(id(page.core), None)
        if log is not None:
            page.runner.call(log.stop)
        watch.pages = [held for held in watch.pages if held is not page]

    def finish(self, nodeid: str) -> None:
        """The test is over: forget it (its pages' logs stop with their release)."""
        watch = self._watches.pop(nodeid, None)
        if watch is None:
            return
        for page in watch.pages:
            log = watch.logs.pop(id(page.core), None)
            if log is not None:
                page.runner.call(log.stop)

    # -- keeping ------------------------------------------------------------------

    def capture(
        self,
        nodeid: str,
        *,
        failed: bool,
        samples: Sequence[Sample],
        failed_metrics: Iterable[str],
    ) -> Kept | None:
        """Keep the evidence of a test whose body just ended (None: nothing to keep).

        ``failed_metrics``: the latency metrics whose thresholds it missed (their
        slowest samples are traced); in ``always`` mode a passing test's traced
        metrics are kept too.
        """
        watch = self._watches.get(nodeid)
        if watch is None or not (failed or self.mode == "always"):
            if watch is not None and watch.loop_kept is not None:
                shutil.rmtree(self.test_folder(nodeid), ignore_errors=True)
            return None
        if watch.loop_kept is not None:
            return watch.loop_kept
        pages = [page for page in watch.pages if not page.core.closed]
        if not pages:
            return None
        folder = self.test_folder(nodeid)
        kept = Kept(nodeid, str(folder))
        runner = pages[0].runner
        runner.run(self._keep_pages(watch, pages, folder, kept))
        metrics = set(failed_metrics) if failed else set(watch.trace_metrics)
        metrics &= set(watch.trace_metrics)
        if metrics:
            if watch.untraced is not None:
                kept.notes.append(watch.untraced)
            elif self.mode == "on-failure" and self.traced_failures >= TRACED_FAILURES:
                kept.notes.append(
                    f"no trace: this process kept the traces of {TRACED_FAILURES} failing "
                    "tests already"
                )
            else:
                self.traced_failures += failed
                slowest = _slowest(samples, metrics)
                runner.run(_keep_traces(pages, slowest, folder, kept))
        kept.files.sort(key=_file_order)
        return kept

    async def _keep_pages(
        self, watch: _Watch, pages: Sequence[SyncPage], folder: Path, kept: Kept
    ) -> None:
        import asyncio

        from ..engine.evidence import screenshot

        logs = []
        for number, page in enumerate(pages, 1):
            core = page.core
            try:
                path = await _within(screenshot(core, folder / f"page-{number}.png"))
                kept.files.append(
                    ("screenshot" if len(pages) == 1 else f"page {number}", str(path))
                )
            except (CDPAcceptError, asyncio.TimeoutError) as exc:
                kept.notes.append(f"page {number}: no screenshot ({_reason(exc)})")
            log = watch.logs.get(id(core))
            if log is not None:
                logs.append(log.to_json())
                kept.lines += log.lines(LINES_SHOWN)
        if any(entry["console"] or entry["failed_requests"] for entry in logs):
            path = folder / "log.json"
            await asyncio.get_running_loop().run_in_executor(None, _write_json, path, logs)
            kept.files.append(("log", str(path)))

    # -- loops: the first failing run of each error group ----------------------------

    def loop_body(
        self, nodeid: str, body: Callable[[SyncPage], object]
    ) -> Callable[[SyncPage], object]:
        """``body`` for a stress or recovery loop, keeping the screenshot and log of the
        first failing run of each error group (``group-N.png``, ``group-N.json``)."""
        watch = self._watches.get(nodeid)
        if watch is None:
            return body
        from ..engine.stability import error_key

        def watched(page: SyncPage) -> object:
            log = _run_log(page)
            try:
                return body(page)
            except Exception as exc:
                self._keep_group(watch, page, log, error_key(exc))
                raise
            finally:
                if log is not None:
                    page.runner.call(log.stop)

        return watched

    def _keep_group(self, watch: _Watch, page: SyncPage, log: PageLog | None, key: str) -> None:
        with watch.lock:
            if key in watch.groups:
                return
            number = watch.groups[key] = len(watch.groups) + 1
            folder = self.test_folder(watch.nodeid)
            if watch.loop_kept is None:
                watch.loop_kept = Kept(watch.nodeid, str(folder))
            kept = watch.loop_kept
        page.runner.run(_keep_group_files(page.core, log, folder, number, key, kept))


def _run_log(page: SyncPage) -> PageLog | None:
    import asyncio

    from ..engine.evidence import PageLog

    log = PageLog(page.core)
    try:
        page.runner.run(_within(log.start()))
    except (CDPAcceptError, asyncio.TimeoutError):
        return None
    return log


async def _keep_group_files(
    core: Page, log: PageLog | None, folder: Path, number: int, key: str, kept: Kept
) -> None:
    import asyncio

    from ..engine.evidence import screenshot

    try:
        path = await _within(screenshot(core, folder / f"group-{number}.png"))
        kept.files.append((f"group {number} ({key})", str(path)))
    except (CDPAcceptError, asyncio.TimeoutError) as exc:
        kept.notes.append(f"group {number} ({key}): no screenshot ({_reason(exc)})")
    if log is not None and not log.empty:
        data = {"group": key, **log.to_json()}
        path = folder / f"group-{number}.json"
        await asyncio.get_running_loop().run_in_executor(None, _write_json, path, data)
        kept.files.append((f"group {number} log", str(path)))


async def _start_tracing(browser: Browser, *, trace: bool) -> None:
    """Start the browser's recording (or, for a test the memory probe traces, stop it)
    and mark the trace clock."""
    import asyncio

    from ..engine.evidence import BrowserTracer

    tracer = BrowserTracer.of(browser)
    with contextlib.suppress(CDPAcceptError, asyncio.TimeoutError):
        if not trace:
            await _within(tracer.stop())
            return
        if tracer.running:
            tracer.mark_soon()
        else:
            await _within(tracer.start())  # marks the clock as it starts


def _slowest(samples: Sequence[Sample], metrics: Iterable[str]) -> dict[str, Sample]:
    """The slowest sample of each metric (by value)."""
    slowest: dict[str, Sample] = {}
    for sample in samples:
        if sample.name in metrics:
            best = slowest.get(sample.name)
            if best is None or sample.value > best.value:
                slowest[sample.name] = sample
    return slowest


async def _keep_traces(
    pages: Sequence[SyncPage], slowest: dict[str, Sample], folder: Path, kept: Kept
) -> None:
    """Save each traced browser's recording once and cut out each metric's slowest sample."""
    import asyncio

    from ..engine.evidence import sample_window

    browsers = list({id(p.core.browser): p.core.browser for p in pages}.values())
    tracers = [b.tracer for b in browsers if b.tracer is not None and b.tracer.running]
    for metric in sorted(set(slowest)):
        if not tracers:
            kept.notes.append(f"no trace of {metric}: the browser was not recording")
    if not tracers or not slowest:
        return
    loop = asyncio.get_running_loop()
    found: dict[str, str] = {}
    for number, tracer in enumerate(tracers, 1):
        raw = folder / f".trace-{number}.json"
        try:
            await tracer.save(raw)
        except (CDPAcceptError, asyncio.TimeoutError) as exc:
            kept.notes.append(f"no trace: saving it failed ({_reason(exc)})")
            continue
        for metric, sample in slowest.items():
            if metric in found:
                continue
            window = sample_window(sample.time, sample.value)
            target = folder / f"trace-{metric}.json"
            crop = tracer.crop
            try:
                inside = await loop.run_in_executor(None, crop, raw, target, [window])
            except (CDPAcceptError, ValueError, OSError) as exc:
                kept.notes.append(f"no trace of {metric}: {_reason(exc)}")
                continue
            if inside:
                found[metric] = str(target)
            else:
                target.unlink(missing_ok=True)
        raw.unlink(missing_ok=True)
    for metric, sample in sorted(slowest.items()):
        if metric in found:
            what = f"trace of the slowest {metric} ({sample.value:.0f} ms)"
            kept.files.append((what, found[metric]))
        else:
            kept.notes.append(f"no trace of {metric}: its slowest sample is older than the buffer")


async def _within(awaitable: Any) -> Any:
    import asyncio

    return await asyncio.wait_for(awaitable, CAPTURE_TIMEOUT)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _shown(path: str) -> str:
    with contextlib.suppress(ValueError):
        return str(Path(path).relative_to(Path.cwd()))
    return path


_FILE_ORDER = ("screenshot", "page", "group", "trace", "log")


def _file_order(entry: tuple[str, str]) -> int:
    what = entry[0]
    return next((i for i, kind in enumerate(_FILE_ORDER) if what.startswith(kind)), 99)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
