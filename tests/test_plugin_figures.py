"""Figures a team can trust (issue 13), planted through real pytest runs on Chromium:
memory that belongs to the test, failed attempts kept apart, session gates scoped
to what ran, typos caught, values and messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import free_port, run_pytest

# -- memory that belongs to the test --------------------------------------------------

ORDER = """
import time

import pytest

IDLE_PAGE = "/heavy?kb=512"

def heavy(page, site):
    for i in range(20):
        page.goto(site.url(f"/heavy?kb=2048&i={i}"))

@pytest.mark.cdp_memory(idle="<8GB")
def test_idle_first(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url(IDLE_PAGE))

def test_heavy(cdp_page, cdp_site):
    heavy(cdp_page, cdp_site)

def test_pause():
    # The heavy test's page is wiped and parked meanwhile: the pool hands it out next.
    time.sleep(1)

@pytest.mark.cdp_memory(idle="<8GB", peak="<8GB")
def test_idle_after_heavy(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url(IDLE_PAGE))

@pytest.mark.cdp_memory(browser_idle="<8GB", browser_peak="<8GB")
def test_browser_idle_after_heavy(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url(IDLE_PAGE))
"""


def _figures(pytester: pytest.Pytester, *args: str) -> dict[tuple[str, str], float]:
    result = run_pytest(pytester, "--cdp-json=out.json", *args)
    assert result.ret == 0, result.stdout.str()
    report = json.loads((pytester.path / "out.json").read_text())
    return {
        (s["test"].split("::")[1], s["metric"]): s["value"]
        for s in report["samples"]
        if s["metric"].startswith("memory.")
    }


def _near(value: float, reference: float) -> bool:
    """Within 10 % (and never closer than 2 MB is asked of a small figure)."""
    return abs(value - reference) <= max(0.10 * reference, 2.0)


def test_the_same_idle_page_reads_the_same_whatever_ran_before(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(ORDER)
    in_order = _figures(pytester)
    alone = _figures(pytester, "-k", "after_heavy")  # the heavy tests deselected
    in_contexts = _figures(pytester, "--cdp-isolation=context")

    reference = alone["test_idle_after_heavy", "memory.idle"]
    readings = {
        "first": in_order["test_idle_first", "memory.idle"],
        "after 20 heavy navigations": in_order["test_idle_after_heavy", "memory.idle"],
        "after them, context isolation": in_contexts["test_idle_after_heavy", "memory.idle"],
    }
    assert reference > 5  # a 512 KB page is more than an empty renderer
    assert all(_near(v, reference) for v in readings.values()), (reference, readings)
    peak = in_order["test_idle_after_heavy", "memory.peak"]
    assert peak >= 0.9 * in_order["test_idle_after_heavy", "memory.idle"]

    browser_reference = alone["test_browser_idle_after_heavy", "memory.browser_idle"]
    browser_readings = {
        "after heavy": in_order["test_browser_idle_after_heavy", "memory.browser_idle"],
        "after heavy, context isolation": in_contexts[
            "test_browser_idle_after_heavy", "memory.browser_idle"
        ],
    }
    # The whole browser (browser, GPU, network, renderers) is more than one renderer.
    assert browser_reference > 3 * reference
    assert all(_near(v, browser_reference) for v in browser_readings.values()), (
        browser_reference,
        browser_readings,
    )
    assert in_order["test_browser_idle_after_heavy", "memory.browser_peak"] >= (
        0.9 * browser_readings["after heavy"]
    )


def test_memory_figures_in_the_summary_and_the_report(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_memory(idle="<1MB")
        def test_impossible(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))

        @pytest.mark.cdp_memory(browser_idle="<1MB")
        def test_impossible_browser(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))

        @pytest.mark.cdp_memory(idle="<8GB", peak="<8GB", browser_idle="<8GB")
        def test_pages_of_a_leased_browser(cdp_browser, cdp_site):
            first = cdp_browser.new_page()
            first.goto(cdp_site.url("/"))
            second = cdp_browser.new_page()
            second.goto(cdp_site.alt_url("/heavy?kb=512"))
        """
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*✗ memory.idle value < 1 MB: * MB (n=1)*",
            "*✗ memory.browser_idle value < 1 MB: * MB (n=1)*",
            "*session: *peak memory * MB (RSS * MB), whole browser * MB*",
        ]
    )
    samples = json.loads((pytester.path / "out.json").read_text())["samples"]
    leased = {s["metric"]: s["value"] for s in samples if s["test"].endswith("leased_browser")}
    single = {s["metric"]: s["value"] for s in samples if s["test"].endswith("::test_impossible")}
    # Two pages on two sites: two renderers, more than the one page of "/" alone.
    assert leased["memory.idle"] > single["memory.idle"] + 5
    assert leased["memory.peak"] >= 0.9 * leased["memory.idle"]
    assert leased["memory.browser_idle"] > leased["memory.idle"]
    assert leased["startup"] > 0  # a browser launched for it


def test_a_test_whose_page_crashed_has_no_renderer_to_measure(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_memory(idle="<8GB", peak="<8GB")
        def test_crash(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))
            cdp_page.crash()
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1)
    # The peak still has the renderer the body started with; idle has none to read.
    result.stdout.fnmatch_lines(
        ["*✗ memory.idle value < 8192 MB: not measurable: the test has no live page*"]
    )
    result.stdout.fnmatch_lines(["*✓ memory.peak value < 8192 MB: * MB (n=1)*"])


# -- failed attempts kept apart -----------------------------------------------------------


def test_a_timer_whose_body_raises_is_a_failed_attempt_not_a_sample(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makeini(
        "[pytest]\ncdp_gates =\n    ui_ready: p95<2000ms\n    checkout: p95<2000ms\n"
        "    navigation: p95<5000ms\n"
    )
    pytester.makepyfile(
        f"""
        import pytest

        def test_app_down(cdp_metrics, cdp_page):
            with pytest.raises(ConnectionError):
                with cdp_metrics.timer("ui_ready"):
                    raise ConnectionError("the app is down")
            with pytest.raises(Exception):
                cdp_page.goto("http://127.0.0.1:{free_port()}/")

        @pytest.mark.cdp_latency(checkout="p95<2s")
        def test_some_fail(cdp_metrics):
            for attempt in range(3):
                try:
                    with cdp_metrics.timer("checkout"):
                        if attempt == 1:
                            raise TimeoutError("slow")
                except TimeoutError:
                    pass
        """
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*metric * n failed *",
            "*checkout * 2 * 1 *",
            "*navigation * 0 * 1 * - *",
            "*ui_ready * 0 * 1 * - *",
            "*session gates:*",
        ]
    )
    result.stdout.fnmatch_lines(["*✓ checkout p95 < 2000 ms: * ms (n=2, 1 failed)*"])
    result.stdout.fnmatch_lines(["*✗ ui_ready p95 < 2000 ms: every attempt failed (1)*"])
    result.stdout.fnmatch_lines(["*✗ navigation p95 < 5000 ms: every attempt failed (1)*"])
    report = json.loads((pytester.path / "out.json").read_text())
    assert "ui_ready" not in report["metrics"]
    assert report["metrics"]["ui_ready.failed"]["n"] == 1
    assert "navigation" not in report["metrics"]


# -- gates scoped to the run ------------------------------------------------------------------

SUITE = """
import pytest

def test_home(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/"))

@pytest.mark.cdp_memory(browser_idle="<8GB")
def test_memory(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/"))

@pytest.mark.cdp_stress(runs=4, concurrency=2)
def test_stress(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/"))

def test_records(cdp_metrics):
    with cdp_metrics.timer("ui_ready"):
        pass

def test_plain():
    pass
"""


def test_session_gates_judge_only_what_the_selected_tests_produce(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makeini("[pytest]\ncdp_gates = ui_ready: p95<2s\n")
    pytester.makepyfile(SUITE)
    result = run_pytest(pytester, "--cdp-preset=acceptance", "-k", "test_home")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*session gates:*",
            "*✓ navigation p95 < 500 ms: * ms (n=1)*",
            "*– memory.browser_idle value < 500 MB: n/a (not run: it comes from tests marked"
            " cdp_memory(browser_idle=...), and no selected test is one; 4 deselected)*",
            "*– fleet.browsers value >= 10: n/a (not run: it comes from tests marked "
            "cdp_concurrency*",
            "*– stress.success rate >= 95 %: n/a (not run: *",
            "*– ui_ready p95 < 2000 ms: n/a (not run: it comes from tests that ask for "
            "cdp_metrics or name it in a marker*",
        ]
    )
    assert "the run failed" not in result.stdout.str()
    # Selected tests that could produce a metric and produced nothing still fail it.
    pytester.makeini("[pytest]\ncdp_gates = checkout: p95<2s\n")
    result = run_pytest(pytester, "-k", "test_records or test_home")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*✗ checkout p95 < 2000 ms: no samples*"])


def test_session_gates_are_scoped_under_xdist_too(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(SUITE)
    # The factor keeps a loaded machine's navigations inside the time gate: what is tested
    # is which gates apply, not how fast the machine is.
    result = run_pytest(
        pytester,
        "-n",
        "2",
        "--cdp-preset=acceptance",
        "--cdp-threshold-factor=20",
        "-k",
        "home or plain",
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*✓ navigation p95 < 10000 ms*",
            "*– memory.browser_idle value < 500 MB: n/a (not run: *; 3 deselected)*",
        ]
    )


def test_collect_only_and_empty_selections_write_nothing_and_judge_nothing(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(SUITE)
    (pytester.path / "out.json").write_text("earlier report")
    for args, code in (
        (("--collect-only",), pytest.ExitCode.OK),
        (("-k", "no_such_test"), pytest.ExitCode.NO_TESTS_COLLECTED),
    ):
        result = run_pytest(
            pytester, "--cdp-preset=acceptance", "--cdp-json=out.json", "--cdp-html=out.html", *args
        )
        assert result.ret == code, result.stdout.str()
        assert "session gates" not in result.stdout.str()
        assert "no samples" not in result.stdout.str()
        assert (pytester.path / "out.json").read_text() == "earlier report"
        assert not (pytester.path / "out.html").exists()


# -- typos caught ------------------------------------------------------------------------------


def test_a_misspelt_cdp_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    cdp_team: a mark of the project's own\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_latncy(navigation="p95<500ms")
        def test_typo(cdp_page):
            pass

        @pytest.mark.cdp_team
        @pytest.mark.cdp_isolation("context")
        def test_registered(cdp_page):
            pass
        """
    )
    result = run_pytest(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*test_typo: unknown marker 'cdp_latncy': did you mean 'cdp_latency'?*"]
    )
    assert "test_registered" not in result.stderr.str()


def test_every_bad_threshold_of_the_run_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncdp_gates =\n    navigation: p95<<1ms\n    startup: soon\n")
    pytester.makepyfile("def test_one():\n    pass\n")
    result = run_pytest(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*gate line 1*p95<<1ms*", "*gate line 2*soon*"])

    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_latency(navigation="p95<<1ms", checkout="fast")
        def test_a(cdp_page):
            pass

        @pytest.mark.cdp_memory(idel="<1MB", peak="<1ms")
        @pytest.mark.cdp_stress(runs=0)
        def test_b(cdp_page):
            pass
        """
    )
    result = run_pytest(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    for fragment in (
        '"p95<<1ms"',
        '"fast"',
        "unknown keyword 'idel'",
        "did you mean 'idle'",
        '"<1ms"',
        "runs=0 must be a whole number",
    ):
        assert fragment in errors, errors
    assert "test_a" in errors
    assert "test_b" in errors


def test_bad_markers_under_xdist_error_their_tests_with_every_problem(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_latncy(navigation="p95<500ms")
        def test_typo():
            pass

        def test_good():
            pass
        """
    )
    result = run_pytest(pytester, "-n", "2")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*usage error: *unknown marker 'cdp_latncy': did you mean*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_no_samples_says_what_the_test_did_record(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_latency(tri_it="p95<1s")
        def test_swagger(cdp_metrics):
            with cdp_metrics.timer("try_it"):
                pass
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*✗ tri_it p95 < 1000 ms: no samples: did you mean 'try_it'? this test recorded try_it*"]
    )


# -- values and messages --------------------------------------------------------------------------


def test_an_unreachable_base_url_stops_the_run_once_before_the_first_test(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    pytester.makepyfile(
        """
        def test_one(cdp_page, cdp_app):
            cdp_page.goto(cdp_app.url("/"))

        def test_two(cdp_page, cdp_app):
            cdp_page.goto(cdp_app.url("/"))
        """
    )
    for extra in ((), ("-n", "2")):
        result = run_pytest(pytester, f"--cdp-base-url={url}", "--cdp-json=out.json", *extra)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
        errors = result.stderr.str()
        assert errors.count("does not answer") == 1, errors
        assert f"the app under test at {url} does not answer: ConnectionRefusedError" in errors
        assert "--cdp-no-app-check" in errors
        assert "Traceback" not in errors + result.stdout.str()
        assert not re.search(r"\b(passed|failed)\b", result.stdout.str())
        assert not (pytester.path / "out.json").exists()
    # Opted out: the tests run (and fail on their own, naming the refused connection).
    result = run_pytest(pytester, f"--cdp-base-url={url}", "--cdp-no-app-check")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*ERR_CONNECTION_REFUSED*"])


def test_a_run_that_does_not_use_the_app_is_not_stopped_by_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_unit():\n    pass\n")
    result = run_pytest(pytester, f"--cdp-base-url=http://127.0.0.1:{free_port()}/")
    result.assert_outcomes(passed=1)


def test_stress_failures_are_grouped_by_url_not_folded_into_it(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    down = free_port()
    pytester.makepyfile(
        f"""
        import itertools
        import pytest

        counter = itertools.count()

        @pytest.mark.cdp_stress(runs=8, concurrency=2, success=">=100%")
        def test_two_hosts(cdp_page, cdp_site):
            n = next(counter)
            url = "http://127.0.0.1:{down}/" if n % 2 else cdp_site.url("/status/503")
            cdp_page.goto(url)
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*4 x NavigationError: navigation to http://127.0.0.1:{down}/ failed*"]
    )
    result.stdout.fnmatch_lines(
        ["*4 x HTTPStatusError: navigation to http://127.0.0.1:*/status/503*"]
    )
