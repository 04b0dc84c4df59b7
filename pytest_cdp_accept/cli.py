"""The ``cdp-accept`` command: ``doctor`` checks the setup, ``install-browser`` gets Chromium.

``cdp-accept doctor`` prints one line per check, marked ``✓`` (fine), ``!``
(worth knowing, not a failure), ``-`` (optional, not installed) or ``✗``
(broken), and exits 1 when something needed does not work. Unless
``--no-launch`` is given it really starts the browser, opens a page, and
closes it again.

``cdp-accept install-browser`` installs Chromium with the system package
manager (apt-get, dnf, pacman, apk, Homebrew), or says how to get one.

``cdp-accept compare A B`` sets run B against run A (each a saved baseline, by
name or path, or a ``--cdp-json`` report), metric by metric, by their
distributions (see docs/compare.md), and exits 1 when a ``--fail`` rule finds a
regression.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .engine import launcher
from .engine.browser import Browser
from .errors import LaunchError, UsageError
from .gate.stats import NOISE_FLOOR_MS, NOISE_FLOOR_PERCENT

PROG = "cdp-accept"
SMALL_SHM_BYTES = 512 * 1024**2
LOW_DISK_BYTES = 256 * 1024**2
LAUNCH_TIMEOUT = 30.0
# Launch, one page, one navigation, one evaluation, memory, close: far less than this.
LAUNCH_CHECK_TIMEOUT = 90.0
REQUIRED_DISTS = ("websockets", "psutil")
OPTIONAL_DISTS = (
    ("pytest-xdist", "xdist"),
    ("memray", "memray"),
    ("pytest-benchmark", "benchmark"),
)
CHROME_DEB = "https://dl.google.com/linux/direct/google-chrome-stable_current_amd64.deb"


# -- output -----------------------------------------------------------------------


class Report:
    """Plain, line-per-check output; ASCII marks when stdout cannot encode ✓/✗."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        encoding = getattr(self.stream, "encoding", None) or "ascii"
        try:
            "✓✗".encode(encoding)
            self.ok_mark, self.fail_mark = "✓", "✗"
        except (UnicodeEncodeError, LookupError):
            self.ok_mark, self.fail_mark = "OK", "XX"
        self.failed = False

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def ok(self, text: str) -> None:
        self.line(f"{self.ok_mark} {text}")

    def warn(self, text: str) -> None:
        self.line(f"! {text}")

    def skip(self, text: str) -> None:
        self.line(f"- {text}")

    def fail(self, text: str) -> None:
        self.failed = True
        self.line(f"{self.fail_mark} {text}")

    def detail(self, text: str) -> None:
        """Indented follow-up lines (error text, how to fix)."""
        for part in text.splitlines():
            self.line(f"    {part}")


def _mb(n_bytes: float) -> str:
    mb = n_bytes / 1024**2
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# -- doctor ---------------------------------------------------------------------


def doctor(explicit: str | None, *, launch: bool, sweep: bool) -> int:
    out = Report()
    _check_environment(out)
    path = _check_browser(out, explicit)
    if path is None:
        return 1
    _check_temp_and_shm(out)
    if launch:
        _check_launch(out, path)
    else:
        out.skip("launch check skipped (--no-launch)")
    _check_stale_roots(out, sweep=sweep)
    out.line()
    if out.failed:
        out.line(f"Something needed does not work; see the {out.fail_mark} lines above.")
        return 1
    out.line("Everything needed works.")
    return 0


def _check_environment(out: Report) -> None:
    impl = platform.python_implementation()
    out.ok(f"Python {platform.python_version()} ({impl}) at {sys.executable}")
    out.ok(f"platform: {platform.platform()}")
    out.ok(f"pytest-cdp-accept {__version__}")
    for name in REQUIRED_DISTS:
        version = _dist_version(name)
        if version:
            out.ok(f"{name} {version}")
        else:
            out.fail(f"{name}: not installed (required): pip install {name}")
    for dist, extra in OPTIONAL_DISTS:
        version = _dist_version(dist)
        if version:
            out.ok(f"{dist} {version}")
        else:
            out.skip(f"{dist}: not installed (optional: pip install 'pytest-cdp-accept[{extra}]')")


def _check_browser(out: Report, explicit: str | None) -> str | None:
    try:
        path = launcher.find_browser(explicit)
    except LaunchError as exc:
        out.fail(f"browser: {explicit!r} is not usable" if explicit else "browser: not found")
        out.detail(str(exc))
        if explicit:
            out.detail(
                "  Fix: pass --browser the path of a Chromium/Chrome executable, leave it out "
                f"to search, or run `{PROG} install-browser`."
            )
        return None
    out.ok(f"browser: {path}")
    try:
        version = launcher.browser_version(path)
    except (OSError, subprocess.SubprocessError) as exc:
        out.fail(f"browser version: `{path} --version` failed: {exc}")
    else:
        if version:
            out.ok(f"browser version: {version}")
        else:
            out.fail(f"browser version: `{path} --version` printed nothing")
    return path


def _check_temp_and_shm(out: Report) -> None:
    base = launcher.root_bases()[0]
    if not os.path.isdir(base) or not os.access(base, os.W_OK | os.X_OK):
        out.fail(f"temp root base: {base} is not a writable directory")
        if os.environ.get(launcher.ROOT_BASE_ENV):
            out.detail(f"  Fix: point {launcher.ROOT_BASE_ENV} at a writable directory.")
    else:
        free = shutil.disk_usage(base).free
        text = f"temp root base: {base} ({_mb(free)} free)"
        if free < LOW_DISK_BYTES:
            out.warn(f"{text}: low; each browser profile needs tens of MB")
        else:
            out.ok(text)
    try:
        st = os.statvfs(launcher.SHM)
    except (OSError, AttributeError):
        pass  # no /dev/shm (macOS, Windows): nothing to say
    else:
        size = st.f_blocks * st.f_frsize
        if size < SMALL_SHM_BYTES:
            out.warn(
                f"/dev/shm: {_mb(size)}, under 512 MB (typical in containers); "
                "--disable-dev-shm-usage is passed automatically"
            )
        else:
            out.ok(f"/dev/shm: {_mb(size)}")
    if _is_root():
        out.warn("running as root: --no-sandbox is passed automatically")
    else:
        out.ok("not running as root: the browser keeps its sandbox")


@dataclass
class LaunchResult:
    startup_ms: float = 0.0
    version: str = ""
    navigation_ms: float = 0.0
    user_agent: str = ""
    pss_mb: float = 0.0
    processes: int = 0
    steps: list[str] = field(default_factory=list)


async def _launch_check(path: str, result: LaunchResult) -> None:
    result.steps.append("launch")
    browser = await Browser.launch(path, launch_timeout=LAUNCH_TIMEOUT)
    try:
        result.startup_ms = browser.startup_ms
        result.version = browser.version
        result.steps.append("open a page")
        page = await browser.new_page()
        result.steps.append("navigate")
        nav = await page.goto("data:text/html,<title>cdp-accept doctor</title>", timeout=20)
        result.navigation_ms = nav.elapsed_ms
        result.steps.append("evaluate")
        result.user_agent = str(await page.evaluate("navigator.userAgent", timeout=10))
        result.steps.append("measure memory")
        memory = await browser.memory()
        result.pss_mb, result.processes = memory.pss_mb, memory.processes
        result.steps.append("close")
    finally:
        await browser.close()


def _check_launch(out: Report, path: str) -> None:
    result = LaunchResult()
    start = time.perf_counter()
    try:
        asyncio.run(asyncio.wait_for(_launch_check(path, result), LAUNCH_CHECK_TIMEOUT))
    except asyncio.TimeoutError:
        step = result.steps[-1] if result.steps else "launch"
        out.fail(f"launch check: no result within {LAUNCH_CHECK_TIMEOUT:g} s (at: {step})")
        return
    except Exception as exc:
        step = result.steps[-1] if result.steps else "launch"
        out.fail(f"launch check failed at: {step}")
        out.detail(f"{type(exc).__name__}: {exc}")
        return
    total_ms = (time.perf_counter() - start) * 1000.0
    out.ok(f"launch: {result.version or 'browser'} started in {result.startup_ms:.0f} ms")
    out.ok(f"page: navigated in {result.navigation_ms:.0f} ms, userAgent {result.user_agent}")
    out.ok(f"memory: {result.pss_mb:.0f} MB PSS over {result.processes} processes")
    out.ok(f"closed cleanly (whole check {total_ms:.0f} ms)")


def _stale_roots() -> list[Path]:
    stale: list[Path] = []
    for base in launcher.root_bases():
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(launcher.ROOT_PREFIX):
                continue
            root = Path(entry.path)
            if entry.is_dir(follow_symlinks=False) and not launcher.owner_alive(root):
                stale.append(root)
    return stale


def _check_stale_roots(out: Report, *, sweep: bool) -> None:
    bases = ", ".join(launcher.root_bases())
    if sweep:
        removed = launcher.sweep_stale()
        if removed:
            out.ok(f"stale temp roots: removed {len(removed)} left by killed runs")
            for removed_root in removed:
                out.detail(removed_root)
        else:
            out.ok(f"stale temp roots: none under {bases}")
        return
    stale = _stale_roots()
    if not stale:
        out.ok(f"stale temp roots: none under {bases}")
        return
    out.warn(f"stale temp roots: {len(stale)} left by killed runs under {bases}")
    for root in stale[:5]:
        out.detail(str(root))
    if len(stale) > 5:
        out.detail(f"... and {len(stale) - 5} more")
    out.detail(
        f"Remove them (and any browser still using them) with `{PROG} doctor --sweep`; "
        "the next test run also removes them."
    )


# -- install-browser ------------------------------------------------------------------


@dataclass
class InstallPlan:
    manager: str
    commands: list[list[str]]
    env: dict[str, str] = field(default_factory=dict)
    # Index of the command whose exit code is the result (earlier ones may fail: `apt-get update`).
    main_index: int = -1


def _os_release() -> dict[str, str]:
    info: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                info[key.strip()] = value.strip().strip('"')
    return info


def _is_ubuntu() -> bool:
    info = _os_release()
    return "ubuntu" in (info.get("ID", "") + " " + info.get("ID_LIKE", "")).lower().split()


def _install_plan() -> InstallPlan | None:
    """The commands that install Chromium here, or None when no known package manager exists."""
    if sys.platform == "darwin":
        if shutil.which("brew"):
            return InstallPlan("brew", [["brew", "install", "--cask", "chromium"]])
        return None
    if not sys.platform.startswith("linux"):
        return None
    sudo: list[str] = []
    if not _is_root() and shutil.which("sudo"):
        sudo = ["sudo"]
    if shutil.which("apt-get"):
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        # sudo resets the environment; `env VAR=value` passes it through every policy.
        prefix = [*sudo, "env", "DEBIAN_FRONTEND=noninteractive"] if sudo else []
        return InstallPlan(
            "apt-get",
            [
                [*prefix, "apt-get", "update"],
                [*prefix, "apt-get", "install", "-y", "chromium"],
            ],
            env=env,
        )
    if shutil.which("dnf"):
        return InstallPlan("dnf", [[*sudo, "dnf", "install", "-y", "chromium"]])
    if shutil.which("pacman"):
        return InstallPlan("pacman", [[*sudo, "pacman", "-S", "--noconfirm", "chromium"]])
    if shutil.which("apk"):
        return InstallPlan("apk", [[*sudo, "apk", "add", "chromium"]])
    return None


def _show(cmd: Sequence[str], env: dict[str, str]) -> str:
    shown = shlex.join(cmd)
    if env and "env" not in cmd:
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + shown
    return shown


def _manual_instructions(out: Report) -> None:
    out.line("No supported package manager found here. To get a browser:")
    out.line("  - install Google Chrome or Chromium from your OS vendor, or")
    out.line("  - pip install playwright && playwright install chromium")
    out.line(
        f"  then, if it is not found on PATH, point {launcher.BROWSER_ENV} at the executable "
        "(or pass --cdp-browser PATH to pytest)."
    )
    out.line(f"Check with: {PROG} doctor")


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def install_browser(*, dry_run: bool, yes: bool, force: bool) -> int:
    out = Report()
    if not force and _already_installed(out):
        return 0
    plan = _install_plan()
    if plan is None:
        _manual_instructions(out)
        return 1
    needs_root = plan.manager != "brew"
    if needs_root and not _is_root() and plan.commands[0][0] != "sudo":
        out.fail(f"installing with {plan.manager} needs root, and sudo was not found")
        out.line("Run as root:")
        for cmd in plan.commands:
            out.line(f"  {_show(cmd, plan.env)}")
        return 1
    out.line(f"{'Would run' if dry_run else 'Running'} ({plan.manager}):")
    for cmd in plan.commands:
        out.line(f"  {_show(cmd, plan.env)}")
    if dry_run:
        out.line("(dry run: nothing was run)")
        return 0
    if not yes and sys.stdin.isatty() and not _confirm("Install Chromium now?"):
        out.line("Aborted; nothing was installed.")
        return 1
    code = _run_plan(out, plan)
    if code != 0:
        return code
    try:
        path = launcher.find_browser()
    except LaunchError as exc:
        out.fail(f"{plan.manager} succeeded, but no browser is found yet")
        out.detail(str(exc))
        return 1
    out.ok(f"browser installed: {path}")
    out.line(f"Check it with: {PROG} doctor")
    return 0


def _already_installed(out: Report) -> bool:
    try:
        path = launcher.find_browser()
    except LaunchError:
        return False
    out.ok(f"a browser is already installed: {path}")
    out.line(f"Nothing to do (--force installs anyway). Check it with: {PROG} doctor")
    return True


def _run_plan(out: Report, plan: InstallPlan) -> int:
    """Run the plan's commands in order, going on past a failing one but the last;
    return the exit code of the last (127 if one could not be started)."""
    env = {**os.environ, **plan.env}
    code = 0
    for index, cmd in enumerate(plan.commands):
        out.line(f"$ {_show(cmd, plan.env)}")
        try:
            code = subprocess.run(cmd, env=env, check=False).returncode
        except OSError as exc:
            out.fail(f"could not run {cmd[0]}: {exc}")
            return 127
        last = index == len(plan.commands) - 1
        if code != 0 and not last:
            out.warn(f"`{shlex.join(cmd)}` exited with {code}; trying to go on")
    if code != 0:
        out.fail(f"{plan.manager} exited with {code}; Chromium was not installed")
        if plan.manager == "apt-get" and _is_ubuntu():
            out.detail(
                "On Ubuntu, `chromium` is a transitional package for the snap, which needs "
                "snapd (often missing in containers). Try instead:\n"
                "  apt-get install -y chromium-browser\n"
                "or Google Chrome's .deb:\n"
                f"  curl -fLO {CHROME_DEB} && apt-get install -y ./{CHROME_DEB.rsplit('/', 1)[1]}"
            )
    return code


# -- entry point ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check and set up pytest-cdp-accept's browser; compare two runs.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    doc = sub.add_parser(
        "doctor",
        help="check Python, packages, the browser, temp dirs; launch the browser once",
        description="Check the setup step by step and launch the browser once. "
        "Exit 0 when everything needed works, 1 otherwise.",
    )
    doc.add_argument(
        "--browser",
        metavar="PATH",
        help=f"browser executable to check (default: ${launcher.BROWSER_ENV}, PATH, "
        "Playwright's cache)",
    )
    doc.add_argument("--no-launch", action="store_true", help="do not start the browser")
    doc.add_argument(
        "--sweep",
        action="store_true",
        help="remove temp roots (and stop browsers) left by killed runs",
    )
    inst = sub.add_parser(
        "install-browser",
        help="install Chromium with the system package manager",
        description="Install Chromium with apt-get, dnf, pacman, apk or Homebrew, "
        "or say how to get one. Does nothing when a browser is already found.",
    )
    inst.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    inst.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    inst.add_argument(
        "--force", action="store_true", help="install even when a browser is already found"
    )
    _add_compare_parser(sub)
    return parser


def _add_compare_parser(sub: Any) -> None:
    """``compare``'s subcommand on ``sub`` (the parser's subparsers)."""
    comp = sub.add_parser(
        "compare",
        help="compare two runs (saved baselines or --cdp-json reports) metric by metric",
        # A description is not %-formatted (a help text is): a plain % sign.
        description="Set run B against run A by the distributions of their samples: the "
        "Hodges-Lehmann shift with its 95% interval, the one-sided Mann-Whitney p and a "
        "verdict per metric (without a --fail rule, a shift counts only when its 95% interval "
        f"lies beyond {NOISE_FLOOR_PERCENT:g}% of A's median, for a time at least "
        f"{NOISE_FLOOR_MS:.3g} ms). Exit 1 when a --fail rule finds "
        "a regression, 2 on bad input.",
    )
    comp.add_argument("a", metavar="A", help="the reference run: baseline name or JSON file")
    comp.add_argument("b", metavar="B", help="the run to judge: baseline name or JSON file")
    comp.add_argument(
        "--fail",
        action="append",
        default=[],
        metavar="RULE",
        help="fail on a regression beyond RULE, e.g. 'navigation.p95:10%%'; repeatable",
    )
    comp.add_argument("--alpha", type=float, default=0.01, help="significance level (default 0.01)")
    comp.add_argument(
        "--baseline-dir",
        default=".cdp-accept/baselines",
        metavar="DIR",
        help="where baselines named by A or B live (default .cdp-accept/baselines)",
    )
    comp.add_argument("--json", metavar="PATH", help="also write the comparison as JSON")


def compare_runs(
    a: str, b: str, *, rules: Sequence[str], alpha: float, baseline_dir: str, json_path: str | None
) -> int:
    """``cdp-accept compare``: 0 no regression, 1 a rule failed, 2 bad input."""
    from .gate.baseline import BaselineStore, compare, parse_fail_rules

    try:
        if not 0.0 < alpha < 0.5:
            raise UsageError(f"--alpha {alpha:g} must be between 0 and 0.5")
        store = BaselineStore(baseline_dir)
        reference, judged = _load_run(a, store), _load_run(b, store)
        comparison = compare(
            judged,
            reference,
            parse_fail_rules(rules),
            alpha=alpha,
            fingerprint=judged.get("machine") or {},
        )
    except UsageError as exc:
        print(f"{PROG} compare: {exc}", file=sys.stderr)
        return 2
    print(f"{b} against {a}:")
    for line in comparison.lines():
        print(line)
    if json_path:
        data = {"alpha": alpha, "rows": comparison.to_json(), "shifts": comparison.shifts_json()}
        Path(json_path).write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 1 if comparison.failed else 0


def _load_run(spec: str, store: Any) -> dict[str, Any]:
    """A baseline or a JSON report, from a file path or a baseline name."""
    path = Path(spec)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{spec}: not readable JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
            raise UsageError(f"{spec}: neither a baseline nor a --cdp-json report (no metrics)")
        data.setdefault("name", path.stem)
        return data
    if store.resolve(spec) is not None:
        loaded: dict[str, Any] = store.load(spec)
        return loaded
    raise UsageError(f"{spec}: no such file, and no baseline of that name in {store.root}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command == "doctor":
            return doctor(args.browser, launch=not args.no_launch, sweep=args.sweep)
        if args.command == "install-browser":
            return install_browser(dry_run=args.dry_run, yes=args.yes, force=args.force)
        if args.command == "compare":
            return compare_runs(
                args.a,
                args.b,
                rules=args.fail,
                alpha=args.alpha,
                baseline_dir=args.baseline_dir,
                json_path=args.json,
            )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
