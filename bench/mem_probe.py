"""Memory probe, run by bench_engine.py in a fresh subprocess (one mode per process).

    python bench/mem_probe.py MODE URL EXECUTABLE ARGS_JSON

MODE is one of:

``baseline``
    Python + psutil only: the floor any driver sits on.
``ours``
    import pytest_cdp_accept, launch through ``SyncPool``, lease the browser
    (``acquire_browser``), open ONE page (``SyncBrowser.new_page``), go to URL.
``ours-lease``
    The same through ``SyncPool.acquire_page`` (what ``cdp_page`` does); in
    reset mode the pool also prepares the NEXT test's page in the background,
    so the browser holds two pages.
``playwright``
    Playwright's sync API: launch (executable_path, args), new_context,
    new_page, goto URL.

After the goto it sleeps SETTLE seconds, then prints one JSON line: this
Python process's RSS, and PSS/RSS of the browser's process tree (plus, for
Playwright, its node driver). URL is served by the parent process, so the
site's server costs this process nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import Any

import psutil

SETTLE = 1.0
MB = 1024.0 * 1024.0


def tree_memory(procs: Iterable[psutil.Process]) -> dict[str, float]:
    pss = rss = 0
    count = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        pss += getattr(info, "pss", info.rss)
        rss += info.rss
        count += 1
    return {"pss_mb": pss / MB, "rss_mb": rss / MB, "processes": count}


def python_rss() -> float:
    return psutil.Process().memory_info().rss / MB


def run_baseline() -> dict[str, Any]:
    return {"python_rss_mb": python_rss()}


def run_ours(url: str, executable: str, lease: bool) -> dict[str, Any]:
    import pytest_cdp_accept  # noqa: F401  (the whole package, as a test run imports it)
    from pytest_cdp_accept import PoolOptions, SyncPool

    pool = SyncPool(PoolOptions(executable=executable))
    try:
        if lease:
            page = pool.acquire_page()
            page.goto(url)
            time.sleep(SETTLE)
            rss = python_rss()
            mem = page.browser.memory()
            pages = len(page.core.browser.pages)
            pool.release_page(page)
        else:
            sync_browser = pool.acquire_browser()
            page = sync_browser.new_page()
            page.goto(url)
            time.sleep(SETTLE)
            rss = python_rss()
            mem = sync_browser.memory()
            pages = len(sync_browser.core.pages)
            pool.release_browser(sync_browser)
    finally:
        pool.close()
    return {
        "python_rss_mb": rss,
        "browser": {"pss_mb": mem.pss_mb, "rss_mb": mem.rss_mb, "processes": mem.processes},
        "pages": pages,
    }


def run_playwright(url: str, executable: str, args: list[str]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=args)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)
            time.sleep(SETTLE)
            rss = python_rss()
            me = psutil.Process()
            drivers = me.children()
            browser_procs = [
                p
                for driver in drivers
                for p in driver.children(recursive=True)
                if "chrom" in p.name().lower()
            ]
            result = {
                "python_rss_mb": rss,
                "browser": tree_memory(browser_procs),
                "driver": tree_memory(d for d in drivers if "chrom" not in d.name().lower()),
                "pages": len(context.pages),
            }
        finally:
            browser.close()
    return result


def main() -> None:
    mode, url, executable, args_json = sys.argv[1:5]
    args = json.loads(args_json)
    if mode == "baseline":
        result = run_baseline()
    elif mode in ("ours", "ours-lease"):
        result = run_ours(url, executable, lease=mode == "ours-lease")
    elif mode == "playwright":
        result = run_playwright(url, executable, args)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
