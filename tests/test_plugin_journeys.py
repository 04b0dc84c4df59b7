"""Journeys through real pytest runs: the action gate, the timeout option and ini, and
journeys under stress, leak detection and crash recovery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_pytest

JOURNEY = """
def journey(page, site):
    page.goto(site.url("/app?delay=20"))
    page.click("text=New item")
    page.fill("#title", "Ship it")
    page.check("#urgent")
    page.click("#add")
    page.wait_for_selector("#status >> text=Saved")
    assert page.count("li.item") == 3
"""


def test_cdp_latency_gates_the_action_metric(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        JOURNEY
        + """
import pytest

@pytest.mark.cdp_latency(action="p95<60s")
def test_generous(cdp_page, cdp_site):
    journey(cdp_page, cdp_site)

@pytest.mark.cdp_latency(action="max<0.001ms")
def test_impossible(cdp_page, cdp_site):
    journey(cdp_page, cdp_site)

def test_no_gate(cdp_page, cdp_site):
    journey(cdp_page, cdp_site)
"""
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_impossible*", "*✗ action max < 0.001 ms: * ms (n=4)*"])
    report = json.loads((pytester.path / "out.json").read_text())
    assert report["metrics"]["action"]["n"] == 12  # 4 actions x 3 tests
    assert report["metrics"]["navigation"]["n"] == 3


def test_a_misspelt_action_gate_is_a_usage_error(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_latency(acton="p95<200ms")
        def test_typo(cdp_page):
            pass
        """
    )
    result = run_pytest(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*did you mean 'action'*"])


TIMEOUT_TEST = """
import time
import pytest
from pytest_cdp_accept import ActionTimeoutError

def test_timeout(cdp_page):
    cdp_page.set_content("<p>nothing</p>")
    start = time.monotonic()
    with pytest.raises(ActionTimeoutError) as caught:
        cdp_page.click("#missing")
    print(f"TIMEOUT={caught.value.timeout} WAITED={time.monotonic() - start:.1f}")
    assert "--cdp-action-timeout (ini cdp_action_timeout)" in str(caught.value)
"""


def test_the_action_timeout_defaults_to_10_s_and_option_beats_ini(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        def test_default(cdp_page):
            print(f"DEFAULT={cdp_page.core.browser.action_timeout}")
        """
    )
    result = run_pytest(pytester, "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*DEFAULT=10.0*"])

    pytester.makepyfile(TIMEOUT_TEST)
    pytester.makeini("[pytest]\ncdp_action_timeout = 0.6\n")
    result = run_pytest(pytester, "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*TIMEOUT=0.6 WAITED=0.*"])
    result = run_pytest(pytester, "-s", "--cdp-action-timeout=0.3")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*TIMEOUT=0.3 WAITED=0.*"])


def test_a_bad_action_timeout_is_a_usage_error(pytester: pytest.Pytester, isolated: Path) -> None:
    # Like every pool option, checked when the first test asks for a page.
    pytester.makepyfile("def test_x(cdp_page):\n    pass\n")
    result = run_pytest(pytester, "--cdp-action-timeout=0")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*action timeout must be > 0 s, got 0 (--cdp-action-timeout*"])
    pytester.makeini("[pytest]\ncdp_action_timeout = soon\n")
    result = run_pytest(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cdp_action_timeout = 'soon' is not a valid float*"])


def test_journeys_under_stress_on_ten_concurrent_pages(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        JOURNEY
        + """
import pytest

@pytest.mark.cdp_stress(runs=20, concurrency=10, success=">=95%")
def test_stress(cdp_page, cdp_site):
    journey(cdp_page, cdp_site)
"""
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(passed=1)
    report = json.loads((pytester.path / "out.json").read_text())
    assert report["metrics"]["stress.success"]["n"] == 20
    assert report["metrics"]["stress.success"]["min"] == 1.0
    assert report["metrics"]["stress.action"]["n"] == 80  # loops under load record apart
    assert "action" not in report["metrics"]


def test_a_dialog_opened_and_closed_leaks_nothing_and_a_growing_list_is_caught(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import pytest

        def open_app(page, site):
            if "/app" not in page.url:
                page.goto(site.url("/app?delay=0"))

        @pytest.mark.cdp_leaks(runs=12, warmup=3, js_heap="<64KB/run", dom_nodes="<5/run")
        def test_dialog(cdp_page, cdp_site):
            open_app(cdp_page, cdp_site)
            cdp_page.click("li.item >> text=Delete")
            cdp_page.wait_for_selector("dialog#confirm")
            cdp_page.click("#confirm-cancel")
            cdp_page.wait_for_selector("dialog#confirm", state="hidden")

        @pytest.mark.cdp_leaks(runs=12, warmup=3, js_heap="<64KB/run", dom_nodes="<5/run")
        def test_load_more(cdp_page, cdp_site):
            open_app(cdp_page, cdp_site)
            before = cdp_page.count("li.item")
            cdp_page.click("#more")
            cdp_page.wait_for_function(f"document.querySelectorAll('li.item').length > {before}")
        """
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_load_more*", "*✗ leaks.dom_nodes value < 5/run*"])
    report = json.loads((pytester.path / "out.json").read_text())
    slopes = {
        s["test"].split("::")[1]: s["value"]
        for s in report["samples"]
        if s["metric"] == "leaks.dom_nodes"
    }
    assert abs(slopes["test_dialog"]) < 5
    assert slopes["test_load_more"] >= 10  # three <li> of four nodes each per run


def test_a_journey_runs_again_after_crashes(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(
        JOURNEY
        + """
import pytest

@pytest.mark.cdp_recovery(crashes=4, kind="mixed", success=">=80%", within="60s")
def test_recovery(cdp_page, cdp_site):
    journey(cdp_page, cdp_site)

def test_next_journey(cdp_page, cdp_site):
    journey(cdp_page, cdp_site)
"""
    )
    result = run_pytest(pytester, "--cdp-json=out.json")
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / "out.json").read_text())
    assert report["metrics"]["recovery.success"]["n"] == 4
    assert report["metrics"]["recovery.success"]["min"] == 1.0
    assert report["metrics"]["recovery.action"]["n"] == 16
