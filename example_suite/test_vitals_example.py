"""Web Vitals gates against the built-in site's planted pages (docs/vitals.md).

Run it with ``python -m pytest example_suite/test_vitals_example.py``; add
``--cdp-preset web-vitals`` for Google's "good" limits over the whole run, or
``--cdp-throttle mobile-slow-4g`` to run every page as Lighthouse's phone does.
"""

from __future__ import annotations

import pytest


@pytest.mark.cdp_vitals(fcp="p75<1800ms", lcp="p75<2500ms", cls="p75<0.1", ttfb="p75<800ms")
def test_hero_paints_in_time(cdp_page, cdp_site):
    # The hero image is inserted 800 ms after navigation start. The figures are the
    # page's when the test ends: wait for what you gate on (here, the hero painted).
    cdp_page.goto(cdp_site.url("/vitals/hero?ms=800"))
    cdp_page.wait_for_selector("#hero")
    cdp_page.wait_for_function("performance.now() > 1200")
    vitals = cdp_page.vitals()  # the figures so far, as a typed object
    assert vitals.lcp is not None
    assert vitals.lcp >= 800


@pytest.mark.cdp_vitals(inp="<500ms", tbt="<600ms")
def test_a_cheap_button_answers_at_once(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/vitals/input?block=250"))
    cdp_page.click("#fast")


@pytest.mark.cdp_vitals(transfer_kb="<400", js_kb="<150", requests="<=5")
def test_page_weight_budget(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/vitals/weight?kb=300"))


@pytest.mark.cdp_throttle("mobile-slow-4g")
@pytest.mark.cdp_vitals(lcp="p75<4000ms", transfer_kb="<400")
def test_weight_on_a_slow_phone(cdp_page, cdp_site):
    # 300 KB over Lighthouse's slow 4G: about 2 s to the first paint, within "poor" (4 s).
    cdp_page.goto(cdp_site.url("/vitals/weight?kb=300"), timeout=60)
