"""Baselines, HTML and pytest-benchmark files through real pytest runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_pytest

SUITE = """
import os
import pytest

@pytest.mark.parametrize("i", range(5))
def test_nav(cdp_page, cdp_site, i):
    cdp_page.goto(cdp_site.url("/slow?ms=" + os.environ.get("PLANTED_MS", "200")))
"""


def test_baseline_save_compare_and_regression(
    pytester: pytest.Pytester, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(SUITE)
    first = run_pytest(pytester, "--cdp-compare=main", "--cdp-compare-fail=navigation.med:50%")
    first.assert_outcomes(passed=5)
    assert first.ret == 0
    first.stdout.fnmatch_lines(["*no baseline 'main' yet: saved this run as main*"])
    saved = json.loads((pytester.path / ".cdp-accept" / "baselines" / "main.json").read_text())
    assert saved["metrics"]["navigation"]["n"] == 5
    assert len(saved["samples"]["navigation"]) == 5  # the raw samples, for distributions

    same = run_pytest(pytester, "--cdp-compare=main", "--cdp-compare-fail=navigation.med:50%")
    assert same.ret == 0
    same.stdout.fnmatch_lines(
        ["*navigation: med * ms -> * ms, shift *, p = *: * limit 50% of the baseline med ✓"]
    )

    monkeypatch.setenv("PLANTED_MS", "4000")  # 20x slower
    slower = run_pytest(pytester, "--cdp-compare=main", "--cdp-compare-fail=navigation.med:50%")
    slower.assert_outcomes(passed=5)
    assert slower.ret == pytest.ExitCode.TESTS_FAILED
    # Five samples a side: the most extreme arrangement gives p = 1/252 < 0.01.
    slower.stdout.fnmatch_lines(
        [
            "*navigation: med * ms -> * ms, shift +*: regressed, limit 50% of the baseline med ✗",
            "*a session gate or baseline*",
        ]
    )


def test_save_and_compare_latest(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(SUITE)
    run_pytest(pytester, "--cdp-save=nightly").stdout.fnmatch_lines(["*saved baseline 'nightly'*"])
    result = run_pytest(pytester, "--cdp-compare=latest")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*nightly*"])


def test_bad_compare_rule_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    pass\n")
    result = run_pytest(pytester, "--cdp-compare-fail=navigation.p95:10")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--cdp-compare-fail*navigation.p95:10*"])


def test_report_files(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makepyfile(SUITE)
    result = run_pytest(
        pytester,
        "--cdp-json=out/report.json",
        "--cdp-html=out/report.html",
        "--cdp-benchmark-json=out/bench.json",
    )
    result.assert_outcomes(passed=5)
    report = json.loads((pytester.path / "out/report.json").read_text())
    assert report["schema"] == "pytest-cdp-accept/1"
    assert sum(1 for s in report["samples"] if s["metric"] == "navigation") == 5
    bench = json.loads((pytester.path / "out/bench.json").read_text())
    names = {b["name"] for b in bench["benchmarks"]}
    assert "test_nav[0-navigation]" in names
    nav = next(b for b in bench["benchmarks"] if b["name"] == "test_nav[0-navigation]")
    assert nav["stats"]["min"] >= 0.2  # seconds: the planted 200 ms
    html = (pytester.path / "out/report.html").read_text()
    assert 'data-metric="navigation"' in html
    assert "http://" not in html.replace(str(report["samples"][0]["test"]), "")
