"""A journey against the built-in app: what a user does, timed and gated.

Run it with ``python -m pytest example_suite/test_journey_example.py``. Every action
waits for the app by itself (no sleeps) and records an ``action`` sample; the named
journey is one more metric of the test's own.
"""

from __future__ import annotations

import pytest


@pytest.mark.cdp_latency(action="p95<300ms", add_item="p95<1500ms")
def test_add_an_item(cdp_page, cdp_site, cdp_metrics):
    cdp_page.goto(cdp_site.url("/app"))
    with cdp_metrics.timer("add_item"):
        cdp_page.click("text=New item")
        cdp_page.fill("#title", "Ship it")
        cdp_page.check("#urgent")
        cdp_page.select_option("#priority", "High")
        cdp_page.click("#add")
        cdp_page.wait_for_selector("#status >> text=Saved")
    assert cdp_page.text("#items li:last-child .title") == "Ship it (urgent)"


def test_delete_asks_first(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/app"))
    cdp_page.click("li.item >> text=Delete")
    cdp_page.wait_for_selector("dialog#confirm")
    cdp_page.click("#confirm-delete")
    cdp_page.wait_for_selector("dialog#confirm", state="hidden")
    assert cdp_page.count("li.item") == 1


def test_done_link_navigates(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/app"))
    with cdp_page.expect_navigation() as nav:
        cdp_page.click("text=Done")
    assert nav.status == 200
    assert cdp_page.text("h1") == "All done"


def test_screenshot_of_the_list(cdp_page, cdp_site, tmp_path):
    cdp_page.goto(cdp_site.url("/app"))
    png = cdp_page.screenshot(tmp_path / "list.png", selector="#items")
    assert png.startswith(b"\x89PNG")
