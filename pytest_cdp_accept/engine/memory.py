"""Reading the memory of browser processes: what a figure counts, and for whom.

The figure every memory gate reads is the **footprint**: the PSS of a
process's anonymous and shared memory (``Pss_Anon + Pss_Shmem`` of
``/proc/PID/smaps_rollup``). It is what the process holds itself (heap, DOM,
JavaScript, caches, graphics buffers), each page that several of the browser's
processes share counted once across them. File-backed pages (the browser's
code, ICU data, fonts) are left out: they are the same for every page, the
kernel can drop and re-read them, and their PSS share depends on how many
other processes on the machine map the same files, so a second browser running
next to this one (another xdist worker, another CI job) halved it. Full PSS
and RSS are read alongside as secondary figures.

Where ``smaps_rollup`` has no ``Pss_Anon`` (Linux before 5.7, macOS, Windows)
the footprint falls back to psutil's USS (private memory), a slightly smaller
figure with the same order independence.

No CDP here: pages are mapped to processes by the caller (see
:meth:`pytest_cdp_accept.engine.browser.Page.renderer_pids`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psutil

MB = 1024.0 * 1024.0
ROLLUP_KEYS = ("Rss", "Pss", "Pss_Anon", "Pss_Shmem")
# The tracing service starts the first time a page's processes are looked up
# (Tracing.start): the measurement's own footprint, never the test's.
MEASUREMENT_PROCESSES = ("tracing.mojom.TracingService",)


@dataclass(frozen=True)
class MemoryInfo:
    """Memory of a set of processes (a browser's tree, or a test's renderers), in MB
    (1 MB = 2**20 bytes)."""

    pss_mb: float
    """Proportional set size summed over the processes, file-backed pages included:
    shared pages counted once, but its share of the browser's code depends on what
    else runs on the machine."""
    rss_mb: float
    """Resident set size summed: counts shared pages in every process (too high)."""
    processes: int
    footprint_mb: float = 0.0
    """PSS of anonymous and shared memory: what the memory gates read (see the module)."""


@dataclass(frozen=True)
class ProcessMemory:
    """One process's figures, in MB."""

    pid: int
    footprint_mb: float
    pss_mb: float
    rss_mb: float


def parse_smaps_rollup(text: str) -> dict[str, int]:
    """The ``kB`` fields of ``/proc/PID/smaps_rollup`` as bytes, by name."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, colon, rest = line.partition(":")
        parts = rest.split()
        if colon and len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name.strip()] = int(parts[0]) * 1024
    return fields


def read_process(pid: int) -> ProcessMemory | None:
    """The figures of one process, or None when it is gone (or not ours to read)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as f:
            fields = parse_smaps_rollup(f.read())
    except FileNotFoundError:
        if psutil.LINUX and not psutil.pid_exists(pid):
            return None
        fields = {}
    except (ProcessLookupError, PermissionError):
        return None
    except OSError:
        fields = {}
    if all(key in fields for key in ROLLUP_KEYS):
        return ProcessMemory(
            pid,
            (fields["Pss_Anon"] + fields["Pss_Shmem"]) / MB,
            fields["Pss"] / MB,
            fields["Rss"] / MB,
        )
    return _read_with_psutil(pid)


def _read_with_psutil(pid: int) -> ProcessMemory | None:
    try:
        info = psutil.Process(pid).memory_full_info()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None
    uss = getattr(info, "uss", info.rss)
    return ProcessMemory(pid, uss / MB, getattr(info, "pss", info.rss) / MB, info.rss / MB)


def total(figures: Iterable[ProcessMemory]) -> MemoryInfo:
    listed = list(figures)
    return MemoryInfo(
        pss_mb=sum(f.pss_mb for f in listed),
        rss_mb=sum(f.rss_mb for f in listed),
        processes=len(listed),
        footprint_mb=sum(f.footprint_mb for f in listed),
    )


def memory_of_pids(pids: Iterable[int]) -> MemoryInfo:
    """The figures summed over ``pids`` (processes that are gone count nothing)."""
    return total(m for m in map(read_process, set(pids)) if m is not None)


def process_role(proc: psutil.Process) -> str:
    """``browser``, ``renderer``, ``gpu-process``, ``zygote``, ``utility:<service>``, ...
    from the process's ``--type`` (and ``--utility-sub-type``) switch."""
    try:
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return "gone"
    role = "browser"
    service = ""
    for arg in cmdline:
        if arg.startswith("--type="):
            role = arg.partition("=")[2]
        elif arg.startswith("--utility-sub-type="):
            service = arg.partition("=")[2]
    return f"{role}:{service}" if service else role


class ProcessRoles:
    """Remembers each process's role (its command line never changes) so that a sampler
    reading a browser's tree ten times a second parses every command line once."""

    def __init__(self) -> None:
        self._roles: dict[tuple[int, float], str] = {}

    def role(self, proc: psutil.Process) -> str:
        try:
            key = (proc.pid, proc.create_time())
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return "gone"
        role = self._roles.get(key)
        if role is None:
            role = self._roles[key] = process_role(proc)
        return role

    def tree(self, main_pid: int) -> list[tuple[int, str]]:
        """(pid, role) of a browser's main process and its descendants, the measurement's
        own processes left out."""
        try:
            main = psutil.Process(main_pid)
            procs = [main, *main.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return []
        found = []
        for proc in procs:
            role = self.role(proc)
            if role == "gone" or role.partition(":")[2] in MEASUREMENT_PROCESSES:
                continue
            found.append((proc.pid, role))
        return found


def tree_memory(main_pid: int, roles: ProcessRoles | None = None) -> MemoryInfo:
    """The figures of a whole browser: every process of its tree but the measurement's own."""
    return memory_of_pids(pid for pid, _ in (roles or ProcessRoles()).tree(main_pid))
