"""The launcher: discovery, switches, spawn, the DevTools wait, and clean-up."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import psutil
import pytest

from pytest_cdp_accept import Browser, LaunchError

from .conftest import processes_using, roots_in


def test_launch_and_close_leave_nothing(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = short_tmp_path
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(tmp_path))

    async def scenario() -> tuple[int, float]:
        browser = await Browser.launch()
        memory = await browser.memory()
        assert browser.version.startswith(("Chrome/", "HeadlessChrome/"))
        assert memory.processes >= 3
        assert 0 < memory.pss_mb < memory.rss_mb
        root = browser.process.root if browser.process else None
        assert root is not None
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        pid = browser.pid or 0
        await browser.close()
        return pid, browser.startup_ms

    pid, startup_ms = asyncio.run(scenario())
    assert startup_ms > 0
    assert not processes_using(str(tmp_path))
    assert not roots_in(tmp_path)
    assert not any(tmp_path.glob("**/org.chromium.Chromium.*"))
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "fake-browser"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_browser_that_fails_to_start_shows_its_output(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = short_tmp_path
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(tmp_path))
    exe = _script(tmp_path, 'echo "fatal: cannot open display" >&2; exit 3')
    with pytest.raises(LaunchError) as info:
        asyncio.run(Browser.launch(exe))
    text = str(info.value)
    assert "exited before DevTools was ready" in text
    assert "exited with code 3" in text
    assert "fatal: cannot open display" in text
    assert not roots_in(tmp_path)


def test_browser_that_hangs_at_start_times_out_and_is_killed(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = short_tmp_path
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(tmp_path))
    exe = _script(tmp_path, 'echo "starting..." >&2; exec sleep 600')
    with pytest.raises(LaunchError, match=r"within 1 s.*cdp-launch-timeout") as info:
        asyncio.run(Browser.launch(exe, launch_timeout=1))
    assert "starting..." in str(info.value)
    assert not roots_in(tmp_path)
    assert not processes_using(str(tmp_path))


def test_missing_browser_names_what_was_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_cdp_accept import BrowserNotFoundError
    from pytest_cdp_accept.engine import launcher

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CDP_ACCEPT_BROWSER", raising=False)
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    with pytest.raises(BrowserNotFoundError) as info:
        launcher.find_browser()
    text = str(info.value)
    assert "chromium" in text
    assert "google-chrome" in text
    assert "Playwright" in text
    assert "cdp-accept install-browser" in text


def test_explicit_browser_that_does_not_exist_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_cdp_accept.engine import launcher

    with pytest.raises(LaunchError, match=r"/no/such/chrome.*does not exist"):
        launcher.find_browser("/no/such/chrome")
    monkeypatch.setenv("CDP_ACCEPT_BROWSER", "/no/such/env-chrome")
    with pytest.raises(LaunchError, match="CDP_ACCEPT_BROWSER"):
        launcher.find_browser()


def test_feature_switches_are_merged() -> None:
    from pytest_cdp_accept.engine import launcher

    args = launcher.default_args(["--disable-features=Foo", "--enable-features=RenderDocument"])
    disables = [a for a in args if a.startswith("--disable-features=")]
    enables = [a for a in args if a.startswith("--enable-features=")]
    assert len(disables) == 1
    assert len(enables) == 1
    assert "Foo" in disables[0]
    assert "Translate" in disables[0]
    assert "RenderDocument" not in disables[0]
    assert enables[0] == "--enable-features=RenderDocument"


def test_a_new_context_starts_one_renderer_and_no_browser_ui(
    short_tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New headless opens omnibox pop-up WebUI pages per context and a spare renderer
    unless told not to: three renderer processes per context instead of one."""
    monkeypatch.setenv("CDP_ACCEPT_TMPDIR", str(short_tmp_path))

    def renderers(browser: Browser) -> int:
        assert browser.process is not None
        procs = browser.process.process_tree()
        return sum(1 for p in procs if "--type=renderer" in p.cmdline())

    async def scenario() -> tuple[list[int], list[str]]:
        browser = await Browser.launch()
        try:
            counts = [renderers(browser)]
            for _ in range(2):
                context = await browser.new_context()
                await browser.new_page(context)
                await asyncio.sleep(0.5)  # a spare renderer would start after the page
                counts.append(renderers(browser))
            targets = await browser.session.send("Target.getTargets")
            kinds = [t["type"] for t in targets["targetInfos"]]
        finally:
            await browser.close()
        return counts, kinds

    counts, kinds = asyncio.run(scenario())
    assert counts == [counts[0], counts[0] + 1, counts[0] + 2], counts
    assert kinds == ["page", "page"], kinds
