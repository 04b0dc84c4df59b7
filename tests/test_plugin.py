"""The plugin through real pytest runs (pytester, subprocess mode)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_cdp_accept.run.settings import SETTINGS, Setting, Settings

from .conftest import INNER_ARGS, processes_using, roots_in, run_pytest


def test_the_readme_example_passes(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        def test_home(cdp_page, cdp_site):
            nav = cdp_page.goto(cdp_site.url("/"))
            assert nav.status == 200
            assert cdp_page.evaluate("1+1") == 2
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(passed=1)


def test_the_plugin_works_with_plugin_autoload_off_and_no_xdist(
    pytester: pytest.Pytester, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loaded alone (-p), with xdist absent: its xdist hook must be optional."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        """
        def test_home(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "pytest_cdp_accept.plugin", timeout=600
    )
    result.assert_outcomes(passed=1)
    assert "INTERNALERROR" not in result.stdout.str()


def test_plugin_is_silent_and_launches_nothing_for_other_tests(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    with_plugin = run_pytest(pytester)
    with_plugin.assert_outcomes(passed=1)
    without = run_pytest(pytester, "-p", "no:cdp_accept")
    assert not roots_in(isolated)

    def significant(lines: list[str]) -> list[str]:
        # Only the plugin list (it names every installed plugin) and the timing may differ.
        return [
            line
            for line in lines
            if line.strip() and " in " not in line and not line.startswith("plugins:")
        ]

    assert significant(with_plugin.outlines) == significant(without.outlines)


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_isolation("context")
        def test_marked():
            pass
        """
    )
    run_pytest(pytester, "--strict-markers").assert_outcomes(passed=1)
    result = run_pytest(pytester, "--markers")
    result.stdout.fnmatch_lines(["*cdp_isolation(mode)*"])


def test_options_are_listed(pytester: pytest.Pytester) -> None:
    result = run_pytest(pytester, "--help")
    result.stdout.fnmatch_lines(
        ["*--cdp-browser=*", "*--cdp-pool-size=*", "*--cdp-isolation=*", "*--cdp-endpoint=*"]
    )


_SIDES = {"ini": ("2", "1.5", "false"), "option": ("3", "2.5", "true")}


def _given(setting: Setting, side: str) -> str:
    """A valid value of ``setting`` as the ``side`` ("ini" or "option") spells it, each
    side's different from the other's (a single choice aside)."""
    whole, fraction, flag = _SIDES[side]
    if setting.choices:
        return setting.choices[0 if side == "ini" else -1]
    return {"int": whole, "float": fraction, "flag": flag}.get(setting.kind, side)


def _typed(setting: Setting, side: str) -> object:
    text = _given(setting, side)
    converters = {
        "int": int,
        "float": float,
        "flag": lambda t: t == "true",
        "lines": lambda t: (t,),
    }
    return converters.get(setting.kind, str)(text)


def test_every_setting_falls_back_to_the_ini_file_and_the_option_wins(
    pytester: pytest.Pytester,
) -> None:
    ini = [f"{s.name} = {_given(s, 'ini')}" for s in SETTINGS if s.ini]
    pytester.makeini("[pytest]\n" + "\n".join(ini) + "\n")
    blank = pytester.parseconfig()
    read = Settings(lambda name: blank.getoption(name, default=None), blank.getini)
    for setting in SETTINGS:
        if setting.flag:  # every option defaults to None; its dest is the ini key
            assert blank.getoption(setting.name) is None, setting.name
        expected = _typed(setting, "ini") if setting.ini else read.value(setting.name)
        assert read.value(setting.name) == expected, setting.name
    args = [s.flag for s in SETTINGS if s.flag and s.kind == "flag"]
    args += [f"{s.flag}={_given(s, 'option')}" for s in SETTINGS if s.flag and s.kind != "flag"]
    given = pytester.parseconfig(*args)
    read = Settings(lambda name: given.getoption(name, default=None), given.getini)
    for setting in SETTINGS:
        if setting.flag:
            assert read.value(setting.name) == _typed(setting, "option"), setting.name


def test_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncdp_isolation = sometimes\n")
    pytester.makepyfile("def test_page(cdp_page):\n    pass\n")
    result = run_pytest(pytester)
    result.stdout.fnmatch_lines(["*cdp_isolation = 'sometimes': expected one of reset, context*"])
    assert result.ret != 0


def test_bad_isolation_marker_is_a_usage_error(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_isolation("sometimes")
        def test_page(cdp_page):
            pass
        """
    )
    result = run_pytest(pytester)
    result.stdout.fnmatch_lines(
        ["*test_page: cdp_isolation 'sometimes': expected one of reset, context*"]
    )
    assert result.ret != 0


def test_ini_is_the_fallback_and_the_option_wins(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makeini("[pytest]\ncdp_isolation = context\ncdp_pool_size = 2\n")
    pytester.makepyfile(
        """
        def test_options(cdp_pool_options):
            print("ISOLATION", cdp_pool_options.isolation, cdp_pool_options.size)
        """
    )
    run_pytest(pytester, "-s").stdout.fnmatch_lines(["*ISOLATION context 2*"])
    run_pytest(pytester, "-s", "--cdp-isolation=reset").stdout.fnmatch_lines(
        ["*ISOLATION reset 2*"]
    )


def test_every_pool_setting_reaches_the_pool_options(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makeini("[pytest]\ncdp_recycle_after = 7\ncdp_browser_args = --lang=de\n")
    pytester.makepyfile(
        """
        def test_options(cdp_pool_options):
            o = cdp_pool_options
            print("POOL", o.recycle_after, o.recycle_memory_mb, o.args, o.navigation_timeout)
        """
    )
    result = run_pytest(pytester, "-s", "--cdp-recycle-memory=900", "--cdp-navigation-timeout=12.5")
    result.stdout.fnmatch_lines(["*POOL 7 900.0 ('--lang=de',) 12.5*"])


def test_missing_browser_is_one_clear_error_per_test_and_no_hang(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        def test_one(cdp_page):
            pass

        def test_two(cdp_page):
            pass
        """
    )
    result = run_pytest(pytester, "--cdp-browser=/no/such/chromium")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*/no/such/chromium*does not exist or is not executable*"])


def test_both_isolation_modes_keep_tests_apart(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(params=["reset", "context"])
        def mode(request):
            return request.param

        def test_a_writes(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/storage"))
            cdp_page.evaluate("localStorage.setItem('x', '1'); document.cookie = 'y=1'; 1")

        def test_b_reads(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/storage"))
            assert cdp_page.evaluate("localStorage.length") == 0
            assert cdp_page.evaluate("document.cookie") == ""

        @pytest.mark.cdp_isolation("context")
        def test_c_context_marker(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/storage"))
            assert cdp_page.evaluate("localStorage.length") == 0
        """
    )
    run_pytest(pytester).assert_outcomes(passed=3)
    run_pytest(pytester, "--cdp-isolation=context").assert_outcomes(passed=3)


def test_a_test_that_kills_its_browser_does_not_hurt_the_next(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_kill(cdp_browser):
            cdp_browser.kill()

        def test_crash(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))
            cdp_page.crash()

        def test_next(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200

        def test_browser_pages_are_closed(cdp_browser, cdp_site):
            page = cdp_browser.new_page()
            assert page.goto(cdp_site.url("/")).status == 200
            page.evaluate("document.cookie = 'left=1; max-age=3600'")
            assert cdp_browser.new_page().send("Network.getAllCookies")["cookies"]

        def test_the_next_browser_lease_sees_none_of_it(cdp_browser):
            assert cdp_browser.new_page().send("Network.getAllCookies")["cookies"] == []
        """
    )
    run_pytest(pytester, "-p", "no:randomly").assert_outcomes(passed=5)


def test_failures_name_their_cause(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        def test_status(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/status/500"))

        def test_never(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/never"), timeout=1)

        def test_after(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*HTTPStatusError: navigation to http://127.0.0.1:*/status/500 failed: HTTP 500*",
            "*NavigationTimeoutError: navigation to *never failed: 'load' not reached within 1 s*",
        ]
    )


def test_async_twin_without_an_asyncio_plugin(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        import asyncio

        def test_async(cdp_async_page, cdp_site):
            async def body():
                nav = await cdp_async_page.goto(cdp_site.url("/"))
                assert nav.status == 200
                assert await cdp_async_page.evaluate("6 * 7") == 42
            asyncio.run(body())
        """
    )
    run_pytest(pytester).assert_outcomes(passed=1)


def test_metrics_fixture_records_engine_and_user_samples(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        def test_metrics(cdp_page, cdp_site, cdp_metrics):
            cdp_page.goto(cdp_site.url("/"))
            with cdp_metrics.timer("checkout"):
                cdp_page.evaluate("1")
            cdp_metrics.record("custom", 5)
            assert len(cdp_metrics.samples("navigation")) == 1
            assert len(cdp_metrics.samples("page_open")) == 1
            assert len(cdp_metrics.samples("checkout")) == 1
            assert cdp_metrics.samples("custom") == [5.0]
            assert cdp_metrics.samples("command")
        """
    )
    run_pytest(pytester).assert_outcomes(passed=1)


def test_xdist_workers_each_have_their_own_pool(pytester: pytest.Pytester, isolated: Path) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_nav(cdp_page, cdp_site, i):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
            print("WORKER", os.environ.get("PYTEST_XDIST_WORKER"), cdp_page.browser_pid)
        """
    )
    result = run_pytest(pytester, "-n", "2")
    result.assert_outcomes(passed=6)


def test_remote_endpoint_option(
    pytester: pytest.Pytester, isolated: Path, remote_browser: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, endpoint = remote_browser
    pytester.makepyfile(
        """
        def test_remote(cdp_page, cdp_site):
            assert cdp_page.browser_pid is None
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    run_pytest(pytester, f"--cdp-endpoint={endpoint}").assert_outcomes(passed=1)
    assert proc.poll() is None, "the pool must not stop a browser it did not launch"


# -- hygiene: killed browsers, killed runs ---------------------------------------------


def test_a_killed_pytest_run_leaves_no_browser_and_the_next_run_sweeps(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        test_hang="""
        import time

        def test_hang(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))
            print("BROWSER-READY", flush=True)
            time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *INNER_ARGS, "-s", "test_hang.py"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if "BROWSER-READY" in line:
                break
            assert time.monotonic() < deadline, "the inner run never got its browser"
        assert processes_using(str(isolated)), "precondition: a browser is running"
        proc.kill()  # SIGKILL: no cleanup code of ours runs
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    deadline = time.monotonic() + 10
    while processes_using(str(isolated)):
        assert time.monotonic() < deadline, "a browser outlived its killed pytest process"
        time.sleep(0.1)
    assert roots_in(isolated), "precondition: the killed run could not clean its temp root"

    pytester.makepyfile(test_next="def test_next(cdp_page):\n    pass\n")
    run_pytest(pytester, "test_next.py").assert_outcomes(passed=1)
    assert not roots_in(isolated), "the next run did not sweep the dead run's temp root"


def test_importing_the_plugin_does_not_import_the_engine() -> None:
    """Start-up stays cheap for suites that never use a browser (measured: ~290 ms -> ~35 ms)."""
    code = (
        "import sys, pytest, pytest_cdp_accept.plugin\n"
        "heavy = [m for m in ('pytest_cdp_accept.engine.browser', 'pytest_cdp_accept.engine.sync', "
        "'websockets', 'asyncio', 'http.server', 'pytest_cdp_accept.gate.html_report') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
