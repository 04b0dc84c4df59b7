"""Tests of the ``cdp-accept`` command: real runs, real browser, nothing mocked but the
package manager (which must never run here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any, NoReturn

import psutil
import pytest

from pytest_cdp_accept import __version__
from pytest_cdp_accept.cli import main
from pytest_cdp_accept.engine import launcher


def _own_roots() -> list[str]:
    prefix = f"{launcher.ROOT_PREFIX}{os.getpid()}-"
    found = []
    for base in launcher.root_bases():
        with os.scandir(base) as entries:
            found += [e.path for e in entries if e.name.startswith(prefix)]
    return found


@pytest.fixture
def no_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a process (a package manager) fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError(f"tried to run a process: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


@pytest.fixture
def no_browser_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """PATH is an empty dir, HOME is empty, no browser setting: nothing can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(launcher.BROWSER_ENV, raising=False)
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    return empty


def test_doctor_launches_and_leaves_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    path = launcher.find_browser()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"browser: {path}" in out
    assert "browser version: " in out
    assert "started in " in out
    assert " ms" in out
    assert "MB PSS" in out
    assert "✗" not in out
    assert out.rstrip().endswith("Everything needed works.")
    assert psutil.Process().children(recursive=True) == []
    assert _own_roots() == []


def test_doctor_bad_explicit_browser(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--browser", "/nonexistent/chrome", "--no-launch"]) == 1
    out = capsys.readouterr().out
    assert "✗ browser: '/nonexistent/chrome' is not usable" in out
    assert "does not exist or is not executable" in out
    assert "Fix:" in out
    assert "install-browser" in out


def test_doctor_no_browser_anywhere(
    no_browser_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--no-launch"]) == 1
    out = capsys.readouterr().out
    assert "✗ browser: not found" in out
    assert "Searched:" in out
    assert f"PATH ({no_browser_env})" in out
    assert "chromium" in out
    assert "google-chrome" in out
    assert "ms-playwright" in out
    assert "cdp-accept install-browser" in out


def test_doctor_counts_and_sweeps_stale_roots(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(launcher.ROOT_BASE_ENV, str(tmp_path))
    stale = tmp_path / f"{launcher.ROOT_PREFIX}999999999-dead"
    (stale / "profile").mkdir(parents=True)
    (stale / launcher.OWNER_FILE).write_text("999999999 1.0\n")
    live = tmp_path / f"{launcher.ROOT_PREFIX}{os.getpid()}-live"  # ours: not stale
    live.mkdir()
    (live / launcher.OWNER_FILE).write_text(f"{os.getpid()} {psutil.Process().create_time()}\n")

    assert main(["doctor", "--no-launch"]) == 0
    out = capsys.readouterr().out
    assert "stale temp roots: 1 left by killed runs" in out
    assert str(stale) in out
    assert str(live) not in out
    assert "cdp-accept doctor --sweep" in out
    assert stale.exists()

    assert main(["doctor", "--no-launch", "--sweep"]) == 0
    out = capsys.readouterr().out
    assert "stale temp roots: removed 1" in out
    assert not stale.exists()
    assert live.exists()


@pytest.mark.usefixtures("no_subprocesses")
def test_install_browser_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform != "linux" or shutil.which("apt-get") is None:
        pytest.skip("the apt-get plan needs a Debian/Ubuntu machine")
    assert main(["install-browser", "--dry-run", "--force"]) == 0
    out = capsys.readouterr().out
    assert "apt-get update" in out
    assert "apt-get install -y chromium" in out
    assert "DEBIAN_FRONTEND=noninteractive" in out
    assert "nothing was run" in out


@pytest.mark.usefixtures("no_subprocesses")
def test_install_browser_already_installed(capsys: pytest.CaptureFixture[str]) -> None:
    path = launcher.find_browser()
    assert main(["install-browser"]) == 0
    out = capsys.readouterr().out
    assert f"already installed: {path}" in out
    assert "Nothing to do" in out


@pytest.mark.usefixtures("no_subprocesses")
def test_install_browser_without_package_manager(
    no_browser_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # PATH is empty: no browser, no package manager: instructions, and nothing run.
    assert main(["install-browser", "--yes"]) == 1
    out = capsys.readouterr().out
    assert "playwright install chromium" in out
    assert launcher.BROWSER_ENV in out


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cdp-accept {__version__}"


def test_console_script_installed() -> None:
    script = Path(sysconfig.get_path("scripts")) / "cdp-accept"
    command = str(script) if script.exists() else shutil.which("cdp-accept")
    assert command, "the cdp-accept console script is not installed"
    result = subprocess.run(
        [command, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"cdp-accept {__version__}"
