"""The object model and bad input, on the real Chromium."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept import (
    Browser,
    CommandError,
    EvaluationError,
    HTTPStatusError,
    LaunchError,
    NavigationError,
    NavigationTimeoutError,
    UsageError,
)
from pytest_cdp_accept.engine.sync import SyncPage, SyncPool
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite

from .conftest import free_port

# -- navigation -----------------------------------------------------------------


def test_goto_reports_status_url_elapsed_and_timing(page: SyncPage, site: LocalSite) -> None:
    nav = page.goto(site.url("/"))
    assert nav.status == 200
    assert nav.url == site.url("/")
    assert nav.elapsed_ms > 0
    assert nav.ok
    assert {"responseStart", "domContentLoadedEventEnd", "loadEventEnd"} <= set(nav.timing)
    assert page.evaluate("document.title") == "cdp-accept test site"


def test_goto_follows_redirects_to_the_final_url(page: SyncPage, site: LocalSite) -> None:
    nav = page.goto(site.url("/redirect?to=/storage"))
    assert nav.url == site.url("/storage")
    assert nav.status == 200


def test_planted_delay_is_measured_not_hidden(page: SyncPage, site: LocalSite) -> None:
    nav = page.goto(site.url("/slow?ms=300"))
    # A lower bound only: the machine is shared, so upper bounds live in bench/.
    assert nav.elapsed_ms >= 300


# DOMContentLoaded comes while a slow image still loads; load waits for the image; the
# load handler then starts a slow fetch, which only network idle waits for. Each delay
# (1.5 s) is the margin between two states, far more than a goto's return takes.
STATES_PAGE = """<!doctype html>
<title>states</title>
<script>
  window.events = [];
  document.addEventListener("DOMContentLoaded", () => events.push("domcontentloaded"));
  addEventListener("load", () => {
    events.push("load");
    fetch("%(data)s", {mode: "no-cors"}).then(() => events.push("fetched"));
  });
</script>
<img src="%(image)s">
"""


@pytest.mark.parametrize(
    ("wait_until", "seen", "ready_state"),
    [
        ("domcontentloaded", ["domcontentloaded"], "interactive"),
        ("load", ["domcontentloaded", "load"], "complete"),
        ("networkidle", ["domcontentloaded", "load", "fetched"], "complete"),
    ],
)
def test_wait_until_states(
    page: SyncPage,
    site: LocalSite,
    tmp_path: Path,
    wait_until: str,
    seen: list[str],
    ready_state: str,
) -> None:
    # A file page: it may load the site's slow resources (a data: page's requests to
    # 127.0.0.1 fail at once).
    planted = tmp_path / "states.html"
    slow = {"image": site.url("/slow?ms=1500"), "data": site.url("/api/data?delay=1500")}
    planted.write_text(STATES_PAGE % slow)
    nav = page.goto(planted.as_uri(), wait_until=wait_until)  # type: ignore[arg-type]
    assert nav.status == 200
    assert nav.wait_until == wait_until
    assert page.evaluate("[window.events, document.readyState]") == [seen, ready_state]


def test_networkidle_waits_for_late_fetches(page: SyncPage, site: LocalSite) -> None:
    # /spa fetches at 0, 100 and 250 ms after load; only network idle sees them all.
    page.goto(site.url("/spa"), wait_until="networkidle")
    assert page.evaluate("window.spaDone === true && document.title") == "spa-done"


def test_networkidle_times_out_on_a_page_that_never_finishes(
    page: SyncPage, site: LocalSite
) -> None:
    with pytest.raises(NavigationTimeoutError, match=r"networkidle.*cdp-navigation-timeout"):
        page.goto(site.url("/never"), wait_until="networkidle", timeout=1.5)
    assert page.goto(site.url("/")).status == 200  # the page is usable again


def test_a_page_that_never_loads_times_out_and_the_page_recovers(
    page: SyncPage, site: LocalSite
) -> None:
    with pytest.raises(NavigationTimeoutError) as info:
        page.goto(site.url("/never"), timeout=1)
    assert "'load' not reached within 1 s" in str(info.value)
    assert page.goto(site.url("/")).status == 200


def test_connection_refused_names_the_network_error(page: SyncPage) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(NavigationError, match="net::ERR_CONNECTION_REFUSED") as info:
        page.goto(url)
    assert info.value.url == url


def test_invalid_url_is_a_navigation_error(page: SyncPage) -> None:
    with pytest.raises(NavigationError, match="invalid URL"):
        page.goto("not a url")


def test_http_error_status_raises_with_the_navigation(page: SyncPage, site: LocalSite) -> None:
    with pytest.raises(HTTPStatusError, match=r"HTTP 500.*check_status=False") as info:
        page.goto(site.url("/status/500"))
    assert info.value.status == 500
    assert info.value.navigation.status == 500
    nav = page.goto(site.url("/status/404"), check_status=False)
    assert nav.status == 404
    assert not nav.ok


def test_bad_wait_until_is_a_usage_error(page: SyncPage, site: LocalSite) -> None:
    with pytest.raises(UsageError, match="wait_until='idle'"):
        page.goto(site.url("/"), wait_until="idle")  # type: ignore[arg-type]


# -- evaluate and raw commands ----------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1+1", 2),
        ("'a' + 'b'", "ab"),
        ("({a: [1, 2, {b: null}]})", {"a": [1, 2, {"b": None}]}),
        ("undefined", None),
        ("Promise.resolve(42)", 42),
        ("-0", -0.0),
        ("Infinity", float("inf")),
        ("10n ** 20n", 10**20),
    ],
)
def test_evaluate_returns_values(page: SyncPage, expression: str, expected: Any) -> None:
    assert page.evaluate(expression) == expected


def test_evaluate_nan(page: SyncPage) -> None:
    value = page.evaluate("NaN")
    assert value != value


def test_evaluate_keeps_special_numbers_at_any_depth(page: SyncPage) -> None:
    # JSON (returnByValue) turns these into null and 0, and refuses BigInt, below the top.
    value = page.evaluate(
        "({a: NaN, b: [Infinity, -Infinity, -0, 10n ** 20n, undefined, 1.5],"
        " c: {d: {e: [NaN, {f: -0}]}}, g: 'NaN', h: null, i: undefined})"
    )
    assert math.isnan(value["a"])
    assert value["b"][:2] == [math.inf, -math.inf]
    assert value["b"][2] == 0
    assert math.copysign(1, value["b"][2]) == -1
    assert value["b"][3:] == [10**20, None, 1.5]
    assert isinstance(value["b"][3], int)
    assert math.isnan(value["c"]["d"]["e"][0])
    assert math.copysign(1, value["c"]["d"]["e"][1]["f"]) == -1
    assert (value["g"], value["h"]) == ("NaN", None)
    assert "i" not in value  # JSON rules: an undefined property is left out
    arrays = page.evaluate("Promise.resolve([[NaN], [[-Infinity]], 7n])")
    assert math.isnan(arrays[0][0])
    assert arrays[1] == [[-math.inf]]
    assert arrays[2] == 7


def test_evaluate_of_a_cyclic_object_names_the_cycle(page: SyncPage) -> None:
    with pytest.raises(EvaluationError, match=r"cannot be returned by value.*circular"):
        page.evaluate("(() => { const o = {}; o.self = o; return o })()")
    assert page.evaluate("({ok: true})") == {"ok": True}  # the page is fine afterwards


def test_evaluated_objects_are_released_in_the_page(page: SyncPage, run: Any) -> None:
    # An object is serialized through a handle: a handle never released would keep
    # every returned object alive in the page (and in its memory figures).
    assert page.evaluate(
        "(() => { const o = {big: 'x'.repeat(100000)}; globalThis.ref = new WeakRef(o);"
        " return {size: o.big.length} })()"
    ) == {"size": 100000}
    assert page.evaluate(
        "(() => { const o = {n: 1}; globalThis.ref = new WeakRef(o); return o })()"
    ) == {"n": 1}
    time.sleep(0.3)  # the release goes out in the background
    run(page.core.session.send("HeapProfiler.collectGarbage"))
    assert page.evaluate("globalThis.ref.deref() === undefined") is True


def test_javascript_errors_are_evaluation_errors(page: SyncPage) -> None:
    with pytest.raises(EvaluationError, match="Error: boom"):
        page.evaluate("(() => { throw new Error('boom') })()")
    with pytest.raises(EvaluationError, match="nope"):
        page.evaluate("Promise.reject(new Error('nope'))")


def test_failed_navigations_and_commands_are_not_samples(pool: SyncPool, site: LocalSite) -> None:
    recorder = MetricsRecorder()
    page = pool.acquire_page(recorder)
    try:
        page.goto(site.url("/"))
        with pytest.raises(HTTPStatusError):
            page.goto(site.url("/status/500"))
        with pytest.raises(NavigationError):
            page.goto(f"http://127.0.0.1:{free_port()}/")
        with pytest.raises(NavigationTimeoutError):
            page.goto(site.url("/slow?ms=3000"), timeout=0.3)
        # An error status the test accepts is a page load like any other (k6's
        # "expected response").
        page.goto(site.url("/status/404"), check_status=False)
        page.evaluate("1")
        with pytest.raises(EvaluationError):
            page.evaluate("null.boom")
        with pytest.raises(CommandError):
            page.send("Page.noSuchMethod")
    finally:
        pool.release_page(page)
    assert len(recorder["navigation"]) == 2
    assert len(recorder["navigation.failed"]) == 3
    assert all(v < 1000 for v in recorder["navigation.failed"][:2])
    assert len(recorder["command"]) == 1
    assert len(recorder["command.failed"]) == 2


def test_metrics_are_performance_get_metrics(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/"))
    metrics = page.metrics()
    assert metrics["JSHeapUsedSize"] > 0
    assert metrics["Nodes"] > 0


def test_events_on_and_wait_for(page: SyncPage, site: LocalSite) -> None:
    seen: list[str] = []
    page.on("Network.requestWillBeSent", lambda params: seen.append(params["request"]["url"]))
    page.goto(site.url("/storage"))
    assert site.url("/storage") in seen


# -- remote browsers -------------------------------------------------------------------


def test_remote_endpoint_is_used_and_not_killed(remote_browser: Any, site: LocalSite) -> None:
    from pytest_cdp_accept.engine.pool import PoolOptions

    proc, endpoint = remote_browser
    with SyncPool(PoolOptions(endpoints=(endpoint,))) as remote_pool:
        page = remote_pool.acquire_page()
        assert page.goto(site.url("/")).status == 200
        assert page.browser_pid is None  # not ours: we did not launch it
        remote_pool.release_page(page)
    assert proc.poll() is None, "closing the pool must not stop a browser it did not launch"


def test_unreachable_endpoint_is_a_clear_launch_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LaunchError, match=f"browser {url}: could not reach /json/version"):
        asyncio.run(Browser.connect(url, timeout=2))
    with pytest.raises(UsageError, match="--cdp-endpoint 'ftp://nope': expected ws://"):
        asyncio.run(Browser.connect("ftp://nope"))


def test_timing_is_read_on_first_use_and_only_for_the_current_document(
    page: SyncPage, site: LocalSite
) -> None:
    first = page.goto(site.url("/"))
    assert first.timing["loadEventEnd"] > 0
    assert first.timing is first.timing  # read once, then kept
    stale = page.goto(site.url("/storage"))
    page.goto(site.url("/"))
    with pytest.raises(UsageError, match="before the next goto"):
        _ = stale.timing


def test_a_dialog_nobody_listens_for_is_dismissed(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/"))
    assert page.evaluate("alert('hi'); confirm('sure?')") is False  # dismissed, not blocking
