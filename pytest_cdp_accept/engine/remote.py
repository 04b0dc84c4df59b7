"""What CDP tells about a browser that was not launched here: its processes and their memory.

A farm's browser runs elsewhere, so its processes cannot be read from
``/proc`` as a local browser's are. CDP still says a good deal:

* ``SystemInfo.getProcessInfo`` lists the browser's processes (type, pid, CPU
  time). When the browser runs on this host after all (a farm on loopback),
  :func:`local_main_pid` proves it by comparing the browser's command line
  (``SystemInfo.getInfo``) with the local process's: its memory is then read
  like a local browser's, the same figures.
* Anywhere tracing is allowed, a ``memory-infra`` dump
  (``Tracing.requestMemoryDump``) gives Chrome's own *private memory
  footprint* of every process of the browser, by pid (what Chrome's task
  manager shows): :func:`private_footprints`. It is not the footprint read
  from ``/proc`` (anonymous and shared PSS); it counts what each process holds
  privately.
* Per page, ``Performance.getMetrics`` gives the JS heap, everywhere.

A farm may refuse a domain (``SystemInfo`` or ``Tracing``): the readers then
return None, and the caller says which figure it judged instead, or why there
is none.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import psutil

from ..errors import CDPAcceptError
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
    # Chromium quotes arguments with spaces and writes a switch with an empty value
    # without its "=" (Debian's wrapper passes --load-extension=); every local argument
    # must still be there, and the profile switch (unique per browser) among them.
    profile = [a for a in local if a.startswith("--user-data-dir=")]
    return bool(profile) and all(arg.removesuffix("=") in remote for arg in local)


async def local_main_pid(session: CDPSession, *, timeout: float = 5.0) -> int | None:
    """The pid of the browser's main process when it runs on this host, proven by its
    command line; None when it runs elsewhere (another host's pid may name an
    unrelated process here) or the farm does not say."""
    processes = await process_list(session, timeout=timeout)
    main = next((p for p in processes or () if p.type == "browser"), None)
    if main is None:
        return None
    try:
        info = await session.send("SystemInfo.getInfo", timeout=timeout)
    except CDPAcceptError:
        return None
    command_line = str(info.get("commandLine") or "")
    try:
        local = psutil.Process(main.pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return main.pid if command_line and _same_command_line(local, command_line) else None


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


async def private_footprints(
    session: CDPSession, *, timeout: float = DUMP_TIMEOUT
) -> dict[int, float] | None:
    """Chrome's private memory footprint (MB) of every process of the browser, by pid,
    from one memory-infra dump. None when tracing is refused or already running (one
    trace at a time per browser: a test that traces itself keeps its trace)."""
    events = await _memory_dump(session, timeout)
    by_pid = _footprints(events or [])
    return {pid: size / MB for pid, size in by_pid.items()} or None


__all__ = [
    "RemoteProcess",
    "local_main_pid",
    "private_footprints",
    "process_list",
]
