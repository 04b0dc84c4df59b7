"""What CDP tells about a browser that was not launched here: its processes and their memory.

A farm's browser runs elsewhere, so its processes cannot be read with psutil
as a local browser's are. CDP still says a good deal, and each reading here
names the figure it is:

``pss``
    ``SystemInfo.getProcessInfo`` lists the browser's processes (type, pid,
    CPU time). When the browser runs on this host after all (a farm on
    loopback), the pids are ours to read: :func:`local_processes` proves it
    by comparing the browser's command line (``SystemInfo.getInfo``) with
    the local process's, and memory is then the PSS of those processes, the
    same figure as for a local browser.
``private_footprint``
    Anywhere tracing is allowed: a ``memory-infra`` dump
    (``Tracing.requestMemoryDump``) gives Chrome's own *private memory
    footprint* of every process of the browser (what Chrome's task manager
    shows). It is not PSS: shared pages count in no process.
``js_heap``
    Per page, ``Performance.getMetrics`` (``JSHeapUsedSize``): what every
    browser answers, and the floor when neither of the above is allowed.

A farm may refuse a domain (``SystemInfo`` or ``Tracing``): the readers
then return None, and the caller says which figure it judged instead, or
why there is none.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import psutil

from ..errors import CDPAcceptError
from .browser import MemoryInfo, memory_of
from .connection import CDPSession

MB = 1024.0 * 1024.0
DUMP_TIMEOUT = 10.0
MEMORY_INFRA = "disabled-by-default-memory-infra"
TRACE_PARAMS: dict[str, Any] = {
    # Periodic dumps off: one dump, on request.
    "traceConfig": {"includedCategories": [MEMORY_INFRA], "memoryDumpConfig": {"triggers": []}},
    "transferMode": "ReportEvents",
}


@dataclass(frozen=True)
class RemoteProcess:
    type: str
    pid: int
    cpu_time: float


@dataclass(frozen=True)
class RemoteMemory:
    """A memory reading of a remote browser, with the figure it is."""

    figure: str
    """``pss`` (read locally, the browser runs on this host) or ``private_footprint``."""
    mb: float
    processes: int
    rss_mb: float | None = None
    """Only for ``pss``: the RSS of the same processes."""


async def process_list(session: CDPSession, *, timeout: float = 5.0) -> list[RemoteProcess] | None:
    """The browser's processes (``SystemInfo.getProcessInfo``); None where it is refused."""
    try:
        result = await session.send("SystemInfo.getProcessInfo", timeout=timeout)
    except CDPAcceptError:
        return None
    found = []
    for info in result.get("processInfo") or ():
        with contextlib.suppress(KeyError, TypeError, ValueError):
            found.append(
                RemoteProcess(str(info["type"]), int(info["id"]), float(info.get("cpuTime", 0)))
            )
    return found or None


def _same_command_line(local: list[str], remote: str) -> bool:
    if not local:
        return False
    if " ".join(local) == remote:
        return True
    # Chromium quotes arguments with spaces; every local argument must still be there,
    # and the profile switch (unique per browser) among them.
    profile = [a for a in local if a.startswith("--user-data-dir=")]
    return bool(profile) and all(arg in remote for arg in local)


async def local_processes(
    session: CDPSession, *, timeout: float = 5.0
) -> list[psutil.Process] | None:
    """The browser's processes as local ``psutil`` objects, when it runs on this host.

    None when the browser is elsewhere (or the pids cannot be proven to be its own:
    another host's pid may name an unrelated process here).
    """
    processes = await process_list(session, timeout=timeout)
    if not processes:
        return None
    try:
        info = await session.send("SystemInfo.getInfo", timeout=timeout)
    except CDPAcceptError:
        return None
    command_line = str(info.get("commandLine") or "")
    main = next((p for p in processes if p.type == "browser"), None)
    if main is None or not command_line:
        return None
    try:
        browser = psutil.Process(main.pid)
        if not _same_command_line(browser.cmdline(), command_line):
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    found = [browser]
    for proc in processes:
        if proc.pid == main.pid:
            continue
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            found.append(psutil.Process(proc.pid))
    return found


async def local_memory(session: CDPSession, *, timeout: float = 5.0) -> RemoteMemory | None:
    """PSS of a remote browser that runs on this host; None when it does not."""
    procs = await local_processes(session, timeout=timeout)
    if procs is None:
        return None
    info: MemoryInfo = await asyncio.get_running_loop().run_in_executor(None, memory_of, procs)
    return RemoteMemory("pss", info.pss_mb, info.processes, info.rss_mb)


async def _memory_dump(session: CDPSession, timeout: float) -> list[dict[str, Any]] | None:
    """The memory-dump events (``ph: v``) of one memory-infra trace; None when refused."""
    events: list[dict[str, Any]] = []

    def collect(params: dict[str, Any]) -> None:
        events.extend(e for e in params.get("value") or () if e.get("ph") == "v")

    off = session.on("Tracing.dataCollected", collect)
    try:
        try:
            await session.send("Tracing.start", TRACE_PARAMS, timeout=timeout)
        except CDPAcceptError:
            return None
        complete = asyncio.ensure_future(
            session.wait_for("Tracing.tracingComplete", timeout=timeout)
        )
        try:
            dumped = await session.send(
                "Tracing.requestMemoryDump",
                {"deterministic": False, "levelOfDetail": "background"},
                timeout=timeout,
            )
        except CDPAcceptError:
            dumped = {}
        finally:
            with contextlib.suppress(CDPAcceptError):
                await session.send("Tracing.end", timeout=timeout)
        try:
            await complete
        except CDPAcceptError:
            return None
        return events if dumped.get("success") else None
    finally:
        off()


def _footprints(events: list[dict[str, Any]]) -> dict[int, int]:
    """pid -> private footprint in bytes (a process may appear in several dumps)."""
    by_pid: dict[int, int] = {}
    for event in events:
        totals = ((event.get("args") or {}).get("dumps") or {}).get("process_totals") or {}
        value = totals.get("private_footprint_bytes")
        if value is None:
            continue
        with contextlib.suppress(TypeError, ValueError):
            size = int(value, 16) if isinstance(value, str) else int(value)
            pid = int(event.get("pid", 0))
            by_pid[pid] = max(by_pid.get(pid, 0), size)
    return by_pid


async def private_footprint(
    session: CDPSession, *, timeout: float = DUMP_TIMEOUT
) -> RemoteMemory | None:
    """Chrome's private memory footprint of every process, from a memory-infra dump.

    None when tracing is refused or already running (one trace at a time per browser:
    a test that traces itself keeps its trace).
    """
    events = await _memory_dump(session, timeout)
    by_pid = _footprints(events or [])
    if not by_pid:
        return None
    return RemoteMemory("private_footprint", sum(by_pid.values()) / MB, len(by_pid))


async def browser_memory(
    session: CDPSession, *, timeout: float = DUMP_TIMEOUT
) -> RemoteMemory | None:
    """The best memory figure for a remote browser: PSS when it runs on this host, else its
    private footprint; None when CDP gives neither."""
    local = await local_memory(session, timeout=timeout)
    if local is not None:
        return local
    return await private_footprint(session, timeout=timeout)


__all__ = [
    "RemoteMemory",
    "RemoteProcess",
    "browser_memory",
    "local_memory",
    "local_processes",
    "private_footprint",
    "process_list",
]
