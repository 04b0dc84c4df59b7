"""FarmWatch: a farm that fails the run stops it once, with one message (pure logic)."""

from __future__ import annotations

from pytest_cdp_accept.engine.farm import (
    FarmAuthError,
    FarmGoneError,
    FarmRequestError,
    FarmUnreachableError,
)
from pytest_cdp_accept.engine.farm_endpoint import FarmEndpoint
from pytest_cdp_accept.errors import ConnectionClosedError, TargetClosedError
from pytest_cdp_accept.run.farm import CUT_WINDOW, FarmWatch

FARM = FarmEndpoint.parse("ws://farm.example:3000?token=watch-token-5511")


def gone() -> FarmGoneError:
    return FarmGoneError(FARM, "the farm stopped answering after serving 3 connections")


def test_ordinary_failures_go_on() -> None:
    watch = FarmWatch()
    assert watch.failed("t.py::a", AssertionError("boom"), 1) is None
    assert watch.failed("t.py::b", FarmUnreachableError(FARM, "refused"), 2) is None
    assert watch.stopped is None


def test_a_refused_credential_stops_the_run_once() -> None:
    watch = FarmWatch()
    error = FarmAuthError(FARM, "the websocket upgrade answered HTTP 401", status=401)
    message = watch.failed("t.py::a", error, 1)
    assert message is not None
    assert "HTTP 401" in message
    assert "The run stops here" in message
    assert "1 test ran" in message
    assert "watch-token-5511" not in message
    assert watch.failed("t.py::b", error, 2) is None  # once
    assert watch.stopped == message


def test_a_request_the_farm_rejects_stops_the_run_too() -> None:
    error = FarmRequestError(FARM, "the websocket upgrade answered HTTP 400 (bad launch)")
    message = FarmWatch().failed("t.py::a", error, 1)
    assert message is not None
    assert "HTTP 400" in message


def test_a_farm_gone_names_the_tests_it_cut() -> None:
    watch = FarmWatch()
    watch.failed("t.py::old", ConnectionClosedError("1006"), 1, now=100.0)
    watch.failed("t.py::a", ConnectionClosedError("1006"), 5, now=200.0)
    watch.failed("t.py::b", TargetClosedError("connection closed"), 5, now=200.5)
    message = watch.failed("t.py::c", gone(), 6, now=201.0)
    assert message is not None
    assert "6 tests ran" in message
    assert "cut by it: t.py::a, t.py::b;" in message  # t.py::old was long before
    assert "failed for want of a browser: t.py::c" in message
    assert CUT_WINDOW < 201.0 - 100.0


def test_errors_are_recognised_through_their_causes() -> None:
    watch = FarmWatch()
    try:
        try:
            raise gone()
        except FarmGoneError as exc:
            raise RuntimeError("a fixture of the project's wrapped it") from exc
    except RuntimeError as wrapped:
        message = watch.failed("t.py::a", wrapped, 1)
    assert message is not None
    assert "stopped answering" in message


def test_nothing_cut_says_none() -> None:
    message = FarmWatch().failed("t.py::a", gone(), 1)
    assert message is not None
    assert "cut by it: none" in message
