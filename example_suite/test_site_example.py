"""An example suite against the built-in site: what a first suite of yours looks like.

Run it with ``python -m pytest example_suite``. Point it at your own app by
overriding ``cdp_site`` (or by navigating to your URLs directly).
"""

from __future__ import annotations

import pytest

from pytest_cdp_accept import HTTPStatusError


def test_home_page_loads(cdp_page, cdp_site):
    nav = cdp_page.goto(cdp_site.url("/"))
    assert nav.status == 200
    assert cdp_page.evaluate("document.title") == "cdp-accept test site"


def test_single_page_app_settles(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/spa"), wait_until="networkidle")
    assert cdp_page.evaluate("window.spaDone") is True


def test_error_pages_are_errors(cdp_page, cdp_site):
    with pytest.raises(HTTPStatusError):
        cdp_page.goto(cdp_site.url("/status/503"))


def test_checkout_timing_is_recorded(cdp_page, cdp_site, cdp_metrics):
    cdp_page.goto(cdp_site.url("/"))
    with cdp_metrics.timer("checkout"):
        cdp_page.goto(cdp_site.url("/slow?ms=50"))
    assert cdp_metrics.samples("checkout")[0] >= 50


def test_idle_memory_is_measured(cdp_browser, cdp_site):
    page = cdp_browser.new_page()
    page.goto(cdp_site.url("/"))
    memory = cdp_browser.memory()
    assert memory.pss_mb > 0
    print(f"browser PSS {memory.pss_mb:.0f} MB over {memory.processes} processes")


@pytest.mark.cdp_isolation("context")
def test_fresh_context_when_you_need_it(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/storage"))
    assert cdp_page.evaluate("localStorage.length") == 0
