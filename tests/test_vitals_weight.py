"""Page weight and the Vitals object, from planted Network events (no browser)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pytest_cdp_accept.engine.vitals import METRICS, WEIGHTS, PageWeight, Vitals, WeightMeter

MAIN = "FRAME"


def request(
    rid: str,
    url: str,
    kind: str,
    loader: str = "L1",
    frame: str = MAIN,
    redirect_bytes: int | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "requestId": rid,
        "loaderId": loader,
        "frameId": frame,
        "type": kind,
        "request": {"url": url},
    }
    if redirect_bytes is not None:
        params["redirectResponse"] = {"status": 302, "encodedDataLength": redirect_bytes}
    return params


def finished(rid: str, size: int) -> dict[str, Any]:
    return {"requestId": rid, "encodedDataLength": size}


def load_page(meter: WeightMeter, loader: str = "L1") -> None:
    meter.on_request(request("doc", "http://a.test/", "Document", loader))
    meter.on_request(request("js", "http://a.test/app.js", "Script", loader))
    meter.on_request(request("css", "http://a.test/app.css", "Stylesheet", loader))
    meter.on_request(request("img", "http://a.test/hero.png", "Image", loader))
    meter.on_request(request("font", "http://a.test/f.woff2", "Font", loader))
    meter.on_request(request("xhr", "http://a.test/api", "Fetch", loader))
    for rid, size in [("doc", 2048), ("js", 10240), ("css", 5120), ("img", 20480)]:
        meter.on_finished(finished(rid, size))
    meter.on_finished(finished("font", 4096))
    meter.on_finished(finished("xhr", 1024))


def test_bytes_by_type_in_kib() -> None:
    meter = WeightMeter(MAIN)
    load_page(meter)
    assert meter.weight("L1") == PageWeight(
        requests=6, transfer_kb=42.0, js_kb=10.0, css_kb=5.0, image_kb=20.0, font_kb=4.0
    )


def test_each_document_has_its_own_tally() -> None:
    meter = WeightMeter(MAIN)
    load_page(meter, "L1")
    meter.on_request(request("doc2", "http://a.test/next", "Document", "L2"))
    # A request of the first document that finishes late stays with it.
    meter.on_request(request("late", "http://a.test/beacon", "Ping", "L1"))
    meter.on_finished(finished("doc2", 1024))
    meter.on_finished(finished("late", 512))
    assert meter.weight("L2") == PageWeight(requests=1, transfer_kb=1.0)
    assert meter.weight("L1").requests == 7
    assert meter.weight("L1").transfer_kb == 42.5


def test_iframe_and_worker_requests_go_to_the_current_main_document() -> None:
    meter = WeightMeter(MAIN)
    meter.on_request(request("doc", "http://a.test/", "Document", "L1"))
    meter.on_request(request("frame", "http://b.test/", "Document", "IF", frame="CHILD"))
    meter.on_request(request("sub", "http://b.test/x.js", "Script", "IF", frame="CHILD"))
    for rid in ("doc", "frame", "sub"):
        meter.on_finished(finished(rid, 1024))
    assert meter.weight("L1") == PageWeight(requests=3, transfer_kb=3.0, js_kb=1.0)


def test_redirect_hops_are_requests_with_their_bytes() -> None:
    meter = WeightMeter(MAIN)
    meter.on_request(request("doc", "http://a.test/old", "Document"))
    meter.on_request(request("doc", "http://a.test/new", "Document", redirect_bytes=300))
    meter.on_finished(finished("doc", 724))
    assert meter.weight("L1") == PageWeight(requests=2, transfer_kb=1.0)


def test_failed_requests_count_without_bytes_and_data_urls_not_at_all() -> None:
    meter = WeightMeter(MAIN)
    meter.on_request(request("doc", "http://a.test/", "Document"))
    meter.on_request(request("gone", "http://a.test/404.png", "Image"))
    meter.on_request(request("inline", "data:image/png;base64,AAAA", "Image"))
    meter.on_request(request("blob", "blob:http://a.test/1234", "Script"))
    meter.on_failed({"requestId": "gone", "errorText": "net::ERR_ABORTED"})
    meter.on_finished(finished("doc", 1024))
    meter.on_finished(finished("inline", 4096))  # never counted: not on the wire
    assert meter.weight("L1") == PageWeight(requests=2, transfer_kb=1.0)


def test_nothing_before_the_first_document_and_unknown_loaders_are_empty() -> None:
    meter = WeightMeter(MAIN)
    meter.on_request(request("early", "http://a.test/x.js", "Script", "L0"))
    meter.on_finished(finished("early", 1024))
    assert meter.weight("L0") == PageWeight()
    assert meter.weight("nope") == PageWeight()


def test_forget_drops_a_document_and_its_requests_in_flight() -> None:
    meter = WeightMeter(MAIN)
    meter.on_request(request("doc", "http://a.test/", "Document", "L1"))
    meter.on_request(request("slow", "http://a.test/slow.js", "Script", "L1"))
    meter.forget("L1")
    meter.on_finished(finished("slow", 1024))
    assert meter.weight("L1") == PageWeight()
    assert "in flight=0" in repr(meter)


def test_the_meter_keeps_a_bounded_number_of_documents() -> None:
    meter = WeightMeter(MAIN)
    for n in range(WeightMeter.MAX_DOCUMENTS + 5):
        meter.on_request(request(f"d{n}", "http://a.test/", "Document", f"L{n}"))
        meter.on_finished(finished(f"d{n}", 1024))
    assert meter.weight("L0") == PageWeight()  # the oldest went
    assert meter.weight(f"L{WeightMeter.MAX_DOCUMENTS + 4}").requests == 1


# -- the Vitals object ---------------------------------------------------------------------


OBSERVED = {
    "id": "x1",
    "url": "http://a.test/",
    "ttfb": 12.5,
    "fcp": 120,
    "lcp": 480,
    "cls": 0.05,
    "inp": None,
    "tbt": 0,
    "dom_content_loaded": 90,
    "load": 150,
    "interactions": 0,
}


def test_vitals_from_observed_values_and_weight() -> None:
    weight = PageWeight(requests=3, transfer_kb=10.0, js_kb=4.0)
    vitals = Vitals.from_values("http://a.test/", OBSERVED, weight, "mobile-slow-4g")
    assert vitals.painted
    assert vitals.measured
    assert vitals.throttle == "mobile-slow-4g"
    metrics = vitals.metrics()
    # No interaction: no inp sample; everything else in catalogue order.
    assert list(metrics) == [m for m in METRICS if m != "inp"]
    assert metrics["lcp"] == 480.0
    assert metrics["cls"] == 0.05
    assert metrics["js_kb"] == 4.0
    assert metrics["requests"] == 3.0


def test_a_page_that_never_painted_has_no_fcp_or_lcp() -> None:
    values = dict(OBSERVED, fcp=None, lcp=None, tbt=None)
    vitals = Vitals.from_values("http://a.test/", values, PageWeight())
    assert not vitals.painted
    assert {"fcp", "lcp", "tbt"}.isdisjoint(vitals.metrics())
    assert vitals.metrics()["cls"] == 0.05  # shifts are measured all the same


def test_a_document_that_never_reported_keeps_only_its_weight() -> None:
    vitals = Vitals.from_values("http://a.test/", None, PageWeight(requests=1, transfer_kb=2.0))
    assert not vitals.measured
    assert not vitals.painted
    assert set(vitals.metrics()) == set(WEIGHTS)


@pytest.mark.parametrize("bad", ["12", True, math.inf, math.nan, [1], {"a": 1}])
def test_values_that_are_not_finite_numbers_are_not_measured(bad: Any) -> None:
    vitals = Vitals.from_values("http://a.test/", dict(OBSERVED, lcp=bad), PageWeight())
    assert vitals.lcp is None
