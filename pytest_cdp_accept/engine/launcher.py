"""Finding, starting and stopping local browsers, and cleaning up after them.

A launch is a straight line, as in Puppeteer: compute the arguments, spawn
the browser in its own process group with its own temp root, wait for
``DevTools listening on ws://...`` (keeping the last lines of its output for
the error), connect; on any failure, stop what was started.

Every browser gets one temp root, ``<tmp>/cdp-accept-<pid>-<random>/`` (mode
0700), holding its profile (``profile/``), its ``TMPDIR`` (``tmp/``: Chromium
puts its ``org.chromium.Chromium.*`` singleton dirs there instead of in /tmp),
its XDG config and cache dirs, and an ``owner`` file naming the process that
launched it. Removing the root removes everything the browser wrote. A run
that was killed outright cannot clean up; the next run's :func:`sweep_stale`
removes roots whose owner is gone, and stops any browser still using them.

On Linux the browser also gets ``PR_SET_PDEATHSIG`` = SIGKILL, so it dies
with the process that launched it, even when that process is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from ..errors import BrowserNotFoundError, LaunchError

ROOT_PREFIX = "cdp-accept-"
OWNER_FILE = "owner"
BROWSER_ENV = "CDP_ACCEPT_BROWSER"
PATH_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "chrome-headless-shell",
    "microsoft-edge",
)
DEVTOOLS_RE = re.compile(r"DevTools listening on (ws://\S+)")
OUTPUT_LINES_KEPT = 60
LAUNCH_TIMEOUT_SETTING = "--cdp-launch-timeout (ini cdp_launch_timeout)"

# Switches every launched browser gets. Chromium here has no outside network,
# so everything that phones home is off; --no-startup-window saves the initial
# about:blank tab (spawn-to-ready 164 ms with it, 276 ms without, on 2 cores); the
# back-forward cache would keep old pages alive in pooled tabs.
BASE_ARGS = (
    "--headless",
    "--no-startup-window",
    "--remote-debugging-port=0",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-crash-reporter",
    "--disable-breakpad",
    "--disable-back-forward-cache",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-hang-monitor",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-ipc-flooding-protection",
    # RenderDocument (a new frame host per navigation) costs ~19 % more browser CPU
    # per navigate-and-wipe cycle (230 ms of CPU and 134 ms wall with it, 187 and 116
    # without, on 2 cores). New headless opens two omnibox pop-up WebUI pages per
    # browser context (window) and keeps a spare renderer warm: without those, a new
    # context starts one renderer instead of three (50 tests in context mode: 10-12 s
    # instead of 17-20 s).
    "--disable-features=Translate,MediaRouter,OptimizationHints,AcceptCHFrame,RenderDocument,"
    "WebUIOmniboxPopup,WebUIOmniboxAimPopup,SpareRendererForSitePerProcess",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
)


# -- discovery ----------------------------------------------------------------


def playwright_cache_candidates() -> list[str]:
    """Chromium builds in Playwright's browser cache, newest first."""
    roots = []
    if os.environ.get("PLAYWRIGHT_BROWSERS_PATH"):
        roots.append(os.environ["PLAYWRIGHT_BROWSERS_PATH"])
    home = Path.home()
    if sys.platform == "darwin":
        roots.append(str(home / "Library" / "Caches" / "ms-playwright"))
    elif sys.platform == "win32":
        roots.append(os.path.join(os.environ.get("LOCALAPPDATA", str(home)), "ms-playwright"))
    else:
        roots.append(str(home / ".cache" / "ms-playwright"))
    patterns = (
        "chromium-*/chrome-linux*/chrome",
        "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
        "chromium-*/chrome-win*/chrome.exe",
        "chromium_headless_shell-*/chrome-*/headless_shell",
        "chromium_headless_shell-*/chrome-*/chrome-headless-shell",
        "chromium_headless_shell-*/chrome-*/headless_shell.exe",
    )
    found: list[str] = []
    for root in roots:
        for pattern in patterns:
            found.extend(sorted(glob.glob(os.path.join(root, pattern)), reverse=True))
    return found


def find_browser(explicit: str | None = None) -> str:
    """The browser executable: explicit setting, then env, then PATH, then Playwright's cache.

    ``explicit`` is what ``--cdp-browser`` / ini ``cdp_browser`` gave. Raises
    :class:`BrowserNotFoundError` naming every place searched.
    """
    searched: list[str] = []
    for origin, value in (("--cdp-browser/cdp_browser", explicit), (BROWSER_ENV, None)):
        if origin == BROWSER_ENV:
            value = os.environ.get(BROWSER_ENV) or None
        if value:
            resolved = shutil.which(value) or (value if os.path.isfile(value) else None)
            if resolved and os.access(resolved, os.X_OK):
                return resolved
            # An explicit choice that does not exist is an error, not a reason to guess.
            raise LaunchError(
                f"browser {value!r} given by {origin} does not exist or is not executable; "
                "fix the path or unset it to search PATH"
            )
        searched.append(f"{origin}: not set")
    for name in PATH_NAMES:
        path = shutil.which(name)
        if path:
            return path
    searched.append(f"PATH ({os.environ.get('PATH', '')}): {', '.join(PATH_NAMES)}")
    cache = playwright_cache_candidates()
    for candidate in cache:
        if os.access(candidate, os.X_OK):
            return candidate
    searched.append(
        "Playwright's browser cache (PLAYWRIGHT_BROWSERS_PATH or ~/.cache/ms-playwright)"
    )
    raise BrowserNotFoundError(searched)


def browser_version(executable: str, timeout: float = 20.0) -> str:
    """``chromium --version`` output, e.g. ``Chromium 156.0.8078.108``."""
    out = subprocess.run(
        [executable, "--version"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    return lines[-1].strip() if lines else out.stderr.strip()


# -- arguments ----------------------------------------------------------------


def default_args(extra: Sequence[str] = ()) -> list[str]:
    """The switches for one launch: the base set, sandbox and /dev/shm fixes, then ``extra``."""
    args = list(BASE_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    if _small_dev_shm():
        args.append("--disable-dev-shm-usage")  # containers often give /dev/shm 64 MB
    args.extend(extra)
    return merge_feature_switches(args)


def merge_feature_switches(args: Sequence[str]) -> list[str]:
    """Chromium honours only the last ``--enable-features`` / ``--disable-features``: merge them.

    A feature both enabled and disabled ends up enabled (the user's explicit wish wins
    over our defaults, which come first).
    """
    merged: dict[str, list[str]] = {"--enable-features": [], "--disable-features": []}
    rest: list[str] = []
    for arg in args:
        name, sep, value = arg.partition("=")
        if sep and name in merged:
            merged[name].extend(v for v in value.split(",") if v and v not in merged[name])
        else:
            rest.append(arg)
    enabled = set(merged["--enable-features"])
    disabled = [f for f in merged["--disable-features"] if f not in enabled]
    if merged["--enable-features"]:
        rest.append("--enable-features=" + ",".join(merged["--enable-features"]))
    if disabled:
        rest.append("--disable-features=" + ",".join(disabled))
    return rest


def _small_dev_shm() -> bool:
    try:
        st = os.statvfs("/dev/shm")
    except (OSError, AttributeError):
        return False
    return st.f_blocks * st.f_frsize < 512 * 1024 * 1024


# -- temp roots -----------------------------------------------------------------


def _process_start(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


ROOT_BASE_ENV = "CDP_ACCEPT_TMPDIR"
SHM = "/dev/shm"


def root_bases() -> list[str]:
    """Where temp roots may live, preferred first.

    ``CDP_ACCEPT_TMPDIR`` if set; else, on Linux, ``/dev/shm`` when it is a
    tmpfs with at least 1 GiB free (profiles in RAM: clearing storage between
    tests costs 35 ms instead of 52 ms on disk); then the system temp dir.
    """
    if os.environ.get(ROOT_BASE_ENV):
        return [os.environ[ROOT_BASE_ENV]]
    bases = []
    try:
        st = os.statvfs(SHM)
        if st.f_bavail * st.f_frsize >= 1024**3 and os.access(SHM, os.W_OK | os.X_OK):
            bases.append(SHM)
    except (OSError, AttributeError):
        pass
    bases.append(tempfile.gettempdir())
    return bases


# Chromium puts a Unix socket at <TMPDIR>/org.chromium.Chromium.XXXXXX/SingletonSocket and
# aborts (SIGABRT, "Socket path too long") when that exceeds the 107-byte sun_path limit.
_SOCKET_SUFFIX = "/tmp/org.chromium.Chromium.XXXXXX/SingletonSocket"
_SUN_PATH_MAX = 107


def make_root(base: str | None = None) -> Path:
    """A fresh 0700 temp root marked as owned by this process."""
    base = base or root_bases()[0]
    root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-", dir=base))
    if len(str(root)) + len(_SOCKET_SUFFIX) > _SUN_PATH_MAX:
        shutil.rmtree(root, ignore_errors=True)
        raise LaunchError(
            f"temp dir {base!r} is too long for Chromium's singleton socket "
            f"(at most {_SUN_PATH_MAX - len(_SOCKET_SUFFIX) - 20} characters); "
            f"set {ROOT_BASE_ENV} to a shorter directory, e.g. /tmp"
        )
    (root / OWNER_FILE).write_text(f"{os.getpid()} {_process_start(os.getpid()) or 0}\n")
    for sub in ("profile", "tmp", "config", "cache"):
        (root / sub).mkdir(mode=0o700)
    return root


def owner_alive(root: Path) -> bool:
    """Whether the process that made temp root ``root`` still runs (if not, it is stale)."""
    try:
        pid_text, start_text = (root / OWNER_FILE).read_text().split()
        pid, start = int(pid_text), float(start_text)
    except (OSError, ValueError):
        # No readable owner file: a root being created right now, or not ours to judge.
        # Only treat it as stale once it is old.
        try:
            return time.time() - root.stat().st_mtime < 60
        except OSError:
            return False
    actual = _process_start(pid)
    return actual is not None and abs(actual - start) < 1.0


def remove_root(root: Path) -> None:
    for _ in range(3):
        shutil.rmtree(root, ignore_errors=True)
        if not root.exists():
            return
        time.sleep(0.05)  # a process that is being reaped may still be writing


def kill_processes_using(markers: Sequence[str]) -> int:
    """SIGKILL every process (but this one) whose command line mentions one of ``markers``."""
    killed = 0
    me = os.getpid()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or ())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if proc.info["pid"] != me and any(marker in cmdline for marker in markers):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                proc.kill()
                killed += 1
    return killed


def sweep_stale(base: str | None = None) -> list[str]:
    """Remove temp roots (and stop browsers) left by runs of ours that died.

    Returns the roots removed. Cheap when there is nothing to sweep.
    """
    candidates: list[Path] = []
    for folder in [base] if base else root_bases():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        candidates += [Path(e.path) for e in entries if e.name.startswith(ROOT_PREFIX)]
    stale = [root for root in candidates if root.is_dir() and not owner_alive(root)]
    if not stale:
        return []
    markers = [str(root) for root in stale]
    kill_processes_using(markers)
    for root in stale:
        remove_root(root)
    return markers


# -- the process ------------------------------------------------------------------


def _resolve_prctl() -> Any:
    """libc's prctl, looked up once in the parent (importing ctypes in every forked child
    cost ~7 ms per launch)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _resolve_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL the browser when the launching thread's process dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_setpriv: list[str | None] = []


def _pdeathsig_wrapper() -> str | None:
    """util-linux ``setpriv`` when it can set the parent-death signal, looked up once.

    Exec'ing the browser through ``setpriv --pdeathsig KILL --`` (same PID: setpriv
    execs it) sets the signal without a ``preexec_fn``, which forces Python to fork
    the whole parent instead of vfork: 5 ms per launch from a 30 MB process, 14 ms from
    a 200 MB one, with the event loop blocked meanwhile; and a ``preexec_fn`` is not
    safe in a process with threads, as ours has.
    """
    if not _setpriv:
        found = shutil.which("setpriv") if _PRCTL is not None else None
        if found is not None:
            try:
                usage = subprocess.run(
                    [found, "--help"], capture_output=True, text=True, timeout=5, check=False
                ).stdout
            except (OSError, subprocess.SubprocessError):
                usage = ""
            if "--pdeathsig" not in usage:
                found = None
        _setpriv.append(found)
    return _setpriv[0]


@dataclass
class BrowserProcess:
    """A running local browser process and the temp root it owns."""

    executable: str
    args: list[str]
    root: Path
    proc: asyncio.subprocess.Process
    ws_url: str = ""
    output: deque[str] = field(default_factory=lambda: deque(maxlen=OUTPUT_LINES_KEPT))
    _drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def running(self) -> bool:
        """True while the main process runs (a zombie, not yet reaped, is not running)."""
        if self.proc.returncode is not None:
            return False
        try:
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def describe_exit(self) -> str:
        code = self.proc.returncode
        if code is None:
            return f"browser (pid {self.pid}) is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"browser (pid {self.pid}) was killed by {name}"
        return f"browser (pid {self.pid}) exited with code {code}"

    def process_tree(self) -> list[psutil.Process]:
        """The browser's main process and its descendants."""
        try:
            main = psutil.Process(self.pid)
            return [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    async def stop(self, grace: float = 2.0) -> None:
        """Wait up to ``grace`` s for the browser to exit, then kill its group; reap; clean up."""
        tree_pids = [p.pid for p in self.process_tree()]
        if self.proc.returncode is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), grace)
        if hasattr(os, "killpg"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        for pid in tree_pids:  # anything that left the group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        # chrome_crashpad_handler (two per browser) calls setsid and is re-parented to
        # PID 1, out of reach of the group kill; it names our temp root in its
        # --database switch. (--disable-crashpad-for-testing would stop it starting,
        # but makes every new page's first navigation fail with net::ERR_ABORTED.)
        kill_processes_using([str(self.root)])
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 10)
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._drain
        remove_root(self.root)


def kill_now(pid: int, root: Path) -> None:
    """Synchronously SIGKILL a browser's group and helpers and remove its temp root."""
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    kill_processes_using([str(root)])
    remove_root(root)


def _command(executable: str, argv: list[str]) -> list[str]:
    """The command line: through ``setpriv --pdeathsig KILL`` where it is available
    (which then cannot report a missing browser as an OSError, so it is checked here)."""
    wrapper = _pdeathsig_wrapper()
    if wrapper is None:
        return [executable, *argv]
    if shutil.which(executable) is None:
        raise LaunchError(f"could not start browser {executable}: not an executable file")
    return [wrapper, "--pdeathsig", "KILL", "--", executable, *argv]


async def spawn(
    executable: str,
    args: Sequence[str],
    *,
    timeout: float = 30.0,
    root_base: str | None = None,
) -> BrowserProcess:
    """Start a browser and wait until its DevTools endpoint is announced."""
    root = make_root(root_base)
    argv = [*args, f"--user-data-dir={root / 'profile'}"]
    env = dict(os.environ)
    env.update(
        TMPDIR=str(root / "tmp"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_CACHE_HOME=str(root / "cache"),
    )
    kwargs: dict[str, object] = {}
    try:
        command = _command(executable, argv)
    except LaunchError:
        remove_root(root)
        raise
    if command[0] == executable and _PRCTL is not None:
        kwargs["preexec_fn"] = _die_with_parent
    if os.name == "posix":
        kwargs["start_new_session"] = True
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            **kwargs,  # type: ignore[arg-type]
        )
    except OSError as exc:
        remove_root(root)
        raise LaunchError(f"could not start browser {executable}: {exc}") from exc
    except BaseException:  # cancelled: asyncio has already killed and reaped the process
        remove_root(root)
        raise
    browser = BrowserProcess(executable, argv, root, proc)
    try:
        browser.ws_url = await asyncio.wait_for(_read_devtools_url(browser), timeout)
    except asyncio.TimeoutError:
        await browser.stop(grace=0)
        raise LaunchError(
            f"browser {executable} did not announce its DevTools endpoint within {timeout:g} s; "
            f"raise {LAUNCH_TIMEOUT_SETTING} if the machine is just slow",
            list(browser.output),
        ) from None
    except BaseException:
        await browser.stop(grace=0)
        raise
    browser._drain = asyncio.get_running_loop().create_task(_drain(browser))
    return browser


async def _read_devtools_url(browser: BrowserProcess) -> str:
    stream = browser.proc.stderr
    assert stream is not None
    while True:
        line = await stream.readline()
        if not line:
            await browser.proc.wait()
            raise LaunchError(
                f"browser {browser.executable} exited before DevTools was ready "
                f"({browser.describe_exit()})",
                list(browser.output),
            )
        text = line.decode(errors="replace").rstrip()
        browser.output.append(text)
        match = DEVTOOLS_RE.search(text)
        if match:
            return match.group(1)


async def _drain(browser: BrowserProcess) -> None:
    """Keep reading the browser's output so it never blocks on a full pipe."""
    stream = browser.proc.stderr
    assert stream is not None
    while True:
        line = await stream.readline()
        if not line:
            return
        browser.output.append(line.decode(errors="replace").rstrip())
