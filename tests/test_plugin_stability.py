"""Planted cases for stress, recovery and leaks, through real pytest runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_pytest


def test_stress_success_rate_and_grouped_failures(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import itertools
        import pytest

        counter = itertools.count()

        def body(cdp_page, cdp_site):
            n = next(counter)
            cdp_page.goto(cdp_site.url("/"))
            assert n % 4 != 3, f"run {n} fails on purpose"

        @pytest.mark.cdp_stress(runs=40, concurrency=4, success=">=95%")
        def test_strict(cdp_page, cdp_site):
            body(cdp_page, cdp_site)

        @pytest.mark.cdp_stress(runs=40, concurrency=4, success=">=70%")
        def test_lenient(cdp_page, cdp_site):
            body(cdp_page, cdp_site)
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_strict*",
            "*✗ stress.success rate >= 95 %: 75.0 % (n=40)*",
            "stress: 30/40 passed = 75.0 %",
            "  10 x AssertionError: run N fails on purpose",
            "*-- first AssertionError: run N fails on purpose --*",
        ]
    )


def test_stress_counts_every_run_exactly_once(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="module")
        def hits(cdp_site):
            cdp_site.reset_hits()
            yield cdp_site
            assert cdp_site.hits("/status/200") == 100, "a run was lost or counted twice"

        @pytest.mark.cdp_stress(runs=100, concurrency=10, success=">=100%")
        def test_many(cdp_page, hits):
            assert cdp_page.goto(hits.url("/status/200")).status == 200
        """
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(passed=1)
    report = json.loads((pytester.path / "out.json").read_text())
    assert report["metrics"]["stress.success"]["n"] == 100
    assert report["metrics"]["stress.run"]["n"] == 100
    assert report["metrics"]["stress.navigation"]["n"] == 100
    assert "navigation" not in report["metrics"]  # loops under load record apart


def test_stress_on_a_flaky_site(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_stress(runs=30, concurrency=5, success=">=99%")
        def test_flaky(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/flaky?fail=0.5"))
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*x HTTPStatusError: navigation to *flaky* failed: HTTP N*"])


def test_recovery_from_crashes_and_kills_and_the_next_test(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_recovery(crashes=5, kind="renderer", success=">=80%", within="60s")
        def test_renderer(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
            assert cdp_page.evaluate("1 + 1") == 2

        @pytest.mark.cdp_recovery(crashes=4, kind="browser", success=">=80%", within="60s")
        def test_browser(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200

        @pytest.mark.cdp_recovery(crashes=4, kind="mixed", success=">=80%", within="60s")
        def test_mixed(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200

        def test_next_gets_a_healthy_page(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(passed=4)
    report = json.loads((pytester.path / "out.json").read_text())
    assert report["metrics"]["recovery.success"]["n"] == 13
    assert report["metrics"]["recovery.success"]["min"] == 1.0
    assert report["metrics"]["recovery.renderer"]["n"] == 7
    assert report["metrics"]["recovery.browser"]["n"] == 6


def test_a_body_that_can_never_pass_fails_the_recovery_gate(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        state = {"calls": 0}

        @pytest.mark.cdp_recovery(crashes=3, kind="renderer", success=">=80%", within="60s")
        def test_broken_after_first(cdp_page, cdp_site):
            state["calls"] += 1
            cdp_page.goto(cdp_site.url("/"))
            assert state["calls"] == 1, "this app never comes back"
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*✗ recovery.success rate >= 80 %: 0.0 % (n=3)*",
            "recovery: 0/3 passed = 0.0 %",
            "  3 x AssertionError: this app never comes back",
        ]
    )


def test_threshold_factor_scales_the_recovery_time_limit(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    # No recovery takes under 1 ms; scaled 100,000 times, the limit is 100 s.
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_recovery(crashes=2, kind="renderer", success=">=100%", within="1ms")
        def test_renderer(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    run_pytest(pytester).assert_outcomes(failed=1)
    run_pytest(pytester, "--cdp-threshold-factor=100000").assert_outcomes(passed=1)


def test_leak_is_found_and_a_healthy_page_is_not_flagged(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        def body(page, site, path):
            if path not in page.url:
                page.goto(site.url(path + "?kb=512"))
            page.evaluate("leak()")

        @pytest.mark.cdp_leaks(runs=12, warmup=3, js_heap="<64KB/run", dom_nodes="<5/run")
        def test_leaky(cdp_page, cdp_site):
            body(cdp_page, cdp_site, "/leak")

        @pytest.mark.cdp_leaks(runs=12, warmup=3, js_heap="<64KB/run", dom_nodes="<5/run")
        def test_healthy(cdp_page, cdp_site):
            body(cdp_page, cdp_site, "/noleak")
        """
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        ["*✗ leaks.js_heap value < 64 KB/run: * KB/run (n=1)*", "*JS heap after GC (KB):*"]
    )
    report = json.loads((pytester.path / "out.json").read_text())
    slopes = {
        s["test"].split("::")[1]: s["value"]
        for s in report["samples"]
        if s["metric"] == "leaks.js_heap"
    }
    assert 400 < slopes["test_leaky"] < 650  # 512 KB planted per run
    assert abs(slopes["test_healthy"]) < 64


def test_python_side_leaks_via_memray(pytester: pytest.Pytester, isolated: Path) -> None:
    pytest.importorskip("memray")
    pytester.makepyfile(
        """
        import pytest

        kept = []

        @pytest.mark.cdp_leaks(runs=8, warmup=2, js_heap="<64KB/run", python="<1MB")
        def test_python_leak(cdp_page, cdp_site):
            kept.append(bytearray(512 * 1024))  # 512 KB kept per run: 3 MB over 6 runs

        @pytest.mark.cdp_leaks(runs=8, warmup=2, js_heap="<64KB/run", python="<1MB")
        def test_python_clean(cdp_page, cdp_site):
            scratch = bytearray(512 * 1024)
            del scratch
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_python_leak*",
            "*✗ leaks.python value < 1 MB: * MB (n=1)*",
            "*Python: * KB still alive after the runs*",
            "*KB at *test_python_side_leaks_via_memray.py:*",
        ]
    )
