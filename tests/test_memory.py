"""Memory figures: reading processes, finding a page's renderers, fresh browsers."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import psutil

from pytest_cdp_accept.engine.memory import (
    MB,
    ProcessRoles,
    parse_smaps_rollup,
    process_role,
    read_process,
    tree_memory,
)
from pytest_cdp_accept.engine.sync import SyncPool
from pytest_cdp_accept.site import LocalSite

ROLLUP = """\
55d0c8a5e000-7ffd3b7f2000 ---p 00000000 00:00 0                          [rollup]
Rss:              124104 kB
Pss:               46110 kB
Pss_Dirty:         13012 kB
Pss_Anon:          11904 kB
Pss_File:          31500 kB
Pss_Shmem:          2400 kB
Shared_Clean:      97600 kB
Private_Dirty:     12200 kB
Swap:                  0 kB
"""


def test_smaps_rollup_fields_are_bytes_by_name() -> None:
    fields = parse_smaps_rollup(ROLLUP)
    assert fields["Pss_Anon"] == 11904 * 1024
    assert fields["Rss"] == 124104 * 1024
    assert "55d0c8a5e000-7ffd3b7f2000 ---p 00000000 00" not in fields


def test_a_process_reads_footprint_within_pss_within_rss() -> None:
    figures = read_process(os.getpid())
    assert figures is not None
    assert 0 < figures.footprint_mb <= figures.pss_mb <= figures.rss_mb
    # The footprint is anonymous and shared memory only: this interpreter's own
    # heap is in it, the shared libraries it maps are not.
    ballast = bytearray(64 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
    grown = read_process(os.getpid())
    assert grown is not None
    assert grown.footprint_mb - figures.footprint_mb > 60
    del ballast


def test_a_process_that_is_gone_reads_none() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert read_process(proc.pid) is None


def test_a_page_and_its_cross_site_iframe_are_found_in_their_renderers(
    pool: SyncPool, site: LocalSite, run: Any
) -> None:
    page = pool.acquire_page()
    try:
        page.goto(site.url("/"))
        alone = run(page.core.renderer_pids())
        page.evaluate(
            "new Promise(r => { const f = document.createElement('iframe');"
            f" f.onload = () => r(true); f.src = {site.alt_url('/')!r};"
            " document.body.appendChild(f); })"
        )
        with_frame = run(page.core.renderer_pids())
        process = page.core.browser.process
        assert process is not None
        roles = dict(ProcessRoles().tree(process.pid))
    finally:
        pool.release_page(page)
    assert len(alone) == 1
    # localhost is another site than 127.0.0.1: its frame has a renderer of its own.
    assert len(with_frame) == 2
    assert alone < with_frame
    assert all(roles.get(pid) == "renderer" for pid in with_frame)


def test_the_tracing_service_a_lookup_starts_is_not_the_browsers(
    pool: SyncPool, site: LocalSite, run: Any
) -> None:
    page = pool.acquire_page()
    try:
        page.goto(site.url("/"))
        run(page.core.renderer_pids())
        process = page.core.browser.process
        assert process is not None
        every = [(p.pid, process_role(p)) for p in process.process_tree()]
        counted = ProcessRoles().tree(process.pid)
    finally:
        pool.release_page(page)
    tracing = [pid for pid, role in every if role.endswith("TracingService")]
    assert tracing  # the lookup started it ...
    assert not set(tracing) & {pid for pid, _ in counted}  # ... and it is not counted
    assert {"browser", "renderer"} <= {role for _, role in counted}
    whole = tree_memory(process.pid)
    assert whole.processes == len(counted)
    assert 0 < whole.footprint_mb < whole.pss_mb < whole.rss_mb


def test_a_fresh_browser_is_one_no_earlier_lease_used(pool: SyncPool, site: LocalSite) -> None:
    page = pool.acquire_page()
    page.goto(site.url("/"))
    used = page.core.browser
    pool.release_page(page)
    fresh_page = pool.acquire_page(fresh_browser=True)
    fresh = fresh_page.core.browser
    try:
        assert fresh is not used
        assert fresh.pid != used.pid
        assert not used.is_alive() or used.closed  # retired to make room (size 1)
        # Until it serves its first lease, the fresh browser is the one a fresh lease gets.
        assert psutil.pid_exists(fresh.pid or 0)
    finally:
        pool.release_page(fresh_page)
    again = pool.acquire_page()
    try:
        assert again.core.browser is fresh  # an ordinary lease takes what is there
    finally:
        pool.release_page(again)


def test_mb_is_binary() -> None:
    assert MB == 1024 * 1024
