"""Web Vitals gates, throttling and reports through real pytest runs (pytester,
subprocess mode) on the built-in site's planted pages."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept.metrics import VITALS as VITALS_METRICS

from .conftest import run_pytest

VITALS = """
import time

import pytest

@pytest.mark.cdp_vitals(lcp="p75<500ms")
def test_late_hero(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/vitals/hero?ms=800"))
    cdp_page.wait_for_selector("#hero")
    time.sleep(0.3)

@pytest.mark.cdp_vitals(cls="p75<0.1")
def test_shifting(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/vitals/shift?score=0.25&at=100"))
    cdp_page.wait_for_function("window.plantedShiftDone")

@pytest.mark.cdp_vitals(fcp="<1800ms")
def test_never_painted(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/vitals/text?ms=60000"))

@pytest.mark.cdp_vitals(fcp="<60000ms", cls="<0.1", transfer_kb="<100", requests="<=1")
def test_still_text(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/vitals/text?ms=0"))
    cdp_page.wait_for_selector("#text")
    time.sleep(0.2)

@pytest.mark.cdp_throttle("mobile-slow-4g")
@pytest.mark.cdp_vitals(transfer_kb="<1000")
def test_throttled(cdp_page, cdp_site):
    assert cdp_page.throttle.name == "mobile-slow-4g"
    cdp_page.goto(cdp_site.url("/vitals/weight?kb=300"), timeout=60)

def test_after_throttled(cdp_page, cdp_site):
    assert cdp_page.throttle is None
    cdp_page.goto(cdp_site.url("/vitals/weight?kb=300"))
    cdp_page.click("#font")
"""


def test_vitals_gates_throttling_and_reports(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(VITALS)
    result = run_pytest(
        pytester, "-p", "no:randomly", "--cdp-json=out.json", "--cdp-html=out.html",
        "--junitxml=junit.xml",
    )  # fmt: skip
    result.assert_outcomes(failed=3, passed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*✗ lcp p75 < 500 ms: * ms (n=1)*",
            "*✗ cls p75 < 0.1: 0.25* (n=1)*",
            "*✗ fcp p75 < 1800 ms*never painted: 1 of 1 navigation*",
            "*throttled: mobile-slow-4g*",
        ]
    )
    report = json.loads((pytester.path / "out.json").read_text())
    verdicts = {v["test"].split("::")[1]: v["passed"] for v in report["verdicts"]}
    assert verdicts == {
        "test_late_hero": False,
        "test_shifting": False,
        "test_never_painted": False,
        "test_still_text": True,
        "test_throttled": True,
    }
    samples: dict[tuple[str, str], dict[str, Any]] = {
        (s["test"].split("::")[1], s["metric"]): s for s in report["samples"]
    }
    assert samples[("test_late_hero", "lcp")]["value"] >= 800
    throttled = samples[("test_throttled", "load")]
    assert throttled["tags"]["throttle"] == "mobile-slow-4g"
    assert throttled["tags"]["page"].endswith("/vitals/weight")  # without its query
    after = samples[("test_after_throttled", "load")]
    assert "throttle" not in after["tags"]
    assert after["value"] < throttled["value"] / 2  # bandwidth-bound vs full speed
    assert ("test_after_throttled", "inp") in samples  # it clicked
    assert ("test_still_text", "inp") not in samples  # nobody interacted
    # The vitals block: per page and profile, p75 and Google's band.
    assert report["vitals"]["throttle"] == ["mobile-slow-4g"]
    by_page = {(p["page"].rsplit("/", 1)[-1], p["throttle"]): p for p in report["vitals"]["pages"]}
    assert by_page[("shift", None)]["metrics"]["cls"]["band"] == "needs-improvement"
    assert by_page[("weight", "mobile-slow-4g")]["metrics"]["fcp"]["n"] == 1
    assert by_page[("weight", None)]["metrics"]["fcp"]["band"] == "good"
    # JUnit: a vital's p75 (or value) per test, and the profile.
    properties = {
        (case.get("name"), prop.get("name")): prop.get("value")
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
        for prop in case.iter("property")
    }
    assert float(properties[("test_shifting", "cdp.cls.value")]) == pytest.approx(0.25, abs=0.01)
    assert properties[("test_throttled", "cdp.throttle")] == "mobile-slow-4g"
    assert ("test_after_throttled", "cdp.throttle") not in properties
    html = (pytester.path / "out.html").read_text()
    assert 'id="vitals"' in html
    assert '<td class="num band good"' in html
    assert '<td class="num band needs-improvement"' in html  # the shift's 0.25
    assert 'data-metric="cls"' in html
    assert "mobile-slow-4g" in html


OFF_AND_PRESET = """
import time

import pytest

@pytest.mark.cdp_vitals(lcp="<2500ms")
def test_gated(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/vitals/text?ms=0"))
    cdp_page.wait_for_selector("#text")
    time.sleep(0.2)
"""


def test_vitals_off_and_the_web_vitals_preset(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(OFF_AND_PRESET)
    result = run_pytest(pytester, "--cdp-preset=web-vitals", "--cdp-json=out.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines_random(
        [
            "*✓ lcp p75 <= 2500 ms*",
            "*✓ cls p75 <= 0.1*",
            "*inp*n/a: no test interacted*",
        ]
    )
    result = run_pytest(pytester, "--cdp-vitals=off", "--cdp-json=off.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*lcp*not measured: the Web Vitals are off in this run*"])
    report = json.loads((pytester.path / "off.json").read_text())
    recorded = {s["metric"] for s in report["samples"]}
    assert "navigation" in recorded
    assert not recorded & {*VITALS_METRICS, "lcp.failed", "fcp.failed"}
    result = run_pytest(pytester, "--cdp-throttle=3g")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cdp-throttle / ini cdp_throttle:*3g*"])


QUICK = """
import pytest

@pytest.mark.cdp_vitals(fcp="<60000ms", lcp="<60000ms")
@pytest.mark.parametrize("i", range(5))
def test_gated(cdp_page, cdp_site, i):
    cdp_page.goto(cdp_site.url(f"/slow?ms=0&i={i}"))

@pytest.mark.parametrize("i", range(5))
def test_ungated(cdp_page, cdp_site, i):
    cdp_page.goto(cdp_site.url(f"/slow?ms=0&j={i}"))
    cdp_page.goto(cdp_site.url(f"/slow?ms=0&k={i}"))
"""


def test_a_page_left_at_its_load_event_is_not_counted_as_never_painted(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    """A small page paints a frame or two after its load event. A test gated on fcp or
    lcp that ends right there still gets the paint (the read at release waits for it);
    a page left sooner without a gate has no paint figures, not a failed paint."""
    pytester.makepyfile(QUICK)
    result = run_pytest(pytester, "-p", "no:randomly", "--cdp-json=out.json")
    result.assert_outcomes(passed=10)
    samples = json.loads((pytester.path / "out.json").read_text())["samples"]
    gated = [s for s in samples if s["test"].split("::")[1].startswith("test_gated")]
    assert sorted(s["metric"] for s in gated if s["metric"] in ("fcp", "lcp")) == 5 * [
        "fcp"
    ] + 5 * ["lcp"]
    failed = [(s["test"], s["metric"]) for s in samples if s["metric"].endswith(".failed")]
    assert failed == []
