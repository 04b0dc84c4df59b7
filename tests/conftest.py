"""Shared fixtures for the project's own tests.

Integration tests use the real Chromium through one module-scoped pool per
test module; tests that need their own browser launch it and close it.
Every browser started here is tracked by its temp root, so tests can assert
that nothing of theirs is left running.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from pytest_cdp_accept.engine import launcher
from pytest_cdp_accept.engine.pool import PoolOptions
from pytest_cdp_accept.engine.sync import SyncPage, SyncPool
from pytest_cdp_accept.site import LocalSite

T = TypeVar("T")


def processes_using(marker: str) -> list[psutil.Process]:
    """Live (non-zombie) processes whose command line mentions ``marker``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if marker in " ".join(proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def roots_in(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{launcher.ROOT_PREFIX}*"))


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def site() -> Iterator[LocalSite]:
    with LocalSite() as running:
        yield running


@contextmanager
def short_tmp() -> Iterator[Path]:
    """A private, short temp dir (Chromium's socket paths must stay under 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="cdpt-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def short_tmp_path() -> Iterator[Path]:
    with short_tmp() as path:
        yield path


@pytest.fixture(scope="module")
def pool_root() -> Iterator[Path]:
    """A private temp base for this module's browsers, checked empty at the end."""
    with short_tmp() as base:
        yield from _with_root_base(base)


def _with_root_base(base: Path) -> Iterator[Path]:
    old = os.environ.get(launcher.ROOT_BASE_ENV)
    os.environ[launcher.ROOT_BASE_ENV] = str(base)
    try:
        yield base
    finally:
        if old is None:
            os.environ.pop(launcher.ROOT_BASE_ENV, None)
        else:
            os.environ[launcher.ROOT_BASE_ENV] = old


@pytest.fixture(scope="module")
def pool(pool_root: Path) -> Iterator[SyncPool]:
    sync_pool = SyncPool(PoolOptions())
    try:
        yield sync_pool
    finally:
        sync_pool.close()
    assert not processes_using(str(pool_root)), "a browser outlived its pool"
    assert not roots_in(pool_root), "a temp root outlived its browser"


@pytest.fixture
def page(pool: SyncPool) -> Iterator[SyncPage]:
    """A page leased from the module's pool for one test."""
    leased = pool.acquire_page()
    yield leased
    pool.release_page(leased)


@pytest.fixture
def fresh_pool(pool_root: Path) -> Iterator[SyncPool]:
    """A pool of its own, for tests that count launches or kill browsers."""
    pools: list[SyncPool] = []

    def make(**options: object) -> SyncPool:
        created = SyncPool(PoolOptions(**options))  # type: ignore[arg-type]
        pools.append(created)
        return created

    yield make  # type: ignore[misc]
    for created in pools:
        created.close()
    assert not processes_using(str(pool_root))
    assert not roots_in(pool_root)


@pytest.fixture
def run(pool: SyncPool) -> Any:
    """Run a coroutine on the pool's loop (for tests of the async core)."""

    def runner(coro: Coroutine[Any, Any, T]) -> T:
        return pool.runner.run(coro)

    return runner


# -- running pytest inside a test (pytester, subprocess mode) ------------------------------

INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:playwright", "-p", "no:base_url")


@pytest.fixture
def isolated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Browsers of the inner run get a private temp base, checked empty afterwards."""
    with short_tmp() as base:
        monkeypatch.setenv(launcher.ROOT_BASE_ENV, str(base))
        yield base
        assert not processes_using(str(base)), "the inner run left a browser running"
        assert not roots_in(base), "the inner run left a temp root behind"


def run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*INNER_ARGS, *args, timeout=600)


@pytest.fixture
def remote_browser() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Chromium the test starts itself with --remote-debugging-port: (process, http URL)."""
    with short_tmp() as base:
        profile = base / "profile"
        args = [a for a in launcher.default_args() if "--remote-debugging-port" not in a]
        proc = subprocess.Popen(
            [
                launcher.find_browser(),
                *args,
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "TMPDIR": str(base)},
        )
        try:
            port_file = profile / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text().strip()):
                assert time.monotonic() < deadline, "the remote browser did not start"
                time.sleep(0.05)
            yield proc, f"http://127.0.0.1:{port_file.read_text().split()[0]}"
        finally:
            os.killpg(proc.pid, 9)
            proc.wait(10)
            launcher.kill_processes_using([str(base)])
