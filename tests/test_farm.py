"""The farm core against a real browserless on 127.0.0.1 (see tests/farm_support.py).

Skipped, with the reason, where Node >= 24 or browserless cannot be had (failed
instead under CDP_ACCEPT_REQUIRE_FARM, as in .ci/run).
"""

from __future__ import annotations

import asyncio
import json
import traceback
import urllib.parse
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import websockets

from pytest_cdp_accept.engine import farm, remote
from pytest_cdp_accept.engine.connection import Connection
from pytest_cdp_accept.engine.farm_endpoint import (
    FarmEndpoint,
    describe_cut,
    farm_launch_args,
)
from pytest_cdp_accept.engine.launcher import default_args

from .farm_support import BrowserlessFarm, running_farm

T = TypeVar("T")
WRONG = "wrong-token-5e1f0d"


def arun(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def bl() -> Iterator[BrowserlessFarm]:
    """One farm with browserless' default limits, for the tests that do not change them."""
    with running_farm() as started:
        yield started


async def connected(endpoint: FarmEndpoint, timeout: float = 30.0) -> Connection:
    sock = await farm.open_socket(endpoint, timeout=timeout)
    return Connection(sock.ws, endpoint.display)


async def version_over(endpoint: FarmEndpoint) -> str:
    connection = await connected(endpoint)
    try:
        reply = await connection.send("Browser.getVersion")
        return str(reply["product"])
    finally:
        await connection.close()


# -- addresses and credentials ----------------------------------------------------------------


def test_ws_url_with_token_connects(bl: BrowserlessFarm) -> None:
    assert arun(version_over(FarmEndpoint.parse(bl.ws_url))).startswith("Chrome/")


def test_http_url_resolves_with_its_query_and_keeps_it(bl: BrowserlessFarm) -> None:
    endpoint = FarmEndpoint.parse(f"{bl.http_url}&timeout=60000")
    resolved = arun(farm.resolve(endpoint))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(resolved.url).query))
    # browserless returns ws://127.0.0.1:<port> alone: the token and timeout are ours.
    assert query == {"token": bl.token, "timeout": "60000"}
    assert arun(version_over(resolved)).startswith("Chrome/")


def test_header_authentication(bl: BrowserlessFarm) -> None:
    url = f"ws://127.0.0.1:{bl.port}"
    good = FarmEndpoint.parse(url, [("Authorization", f"Bearer {bl.token}")])
    assert arun(version_over(good)).startswith("Chrome/")
    bad = FarmEndpoint.parse(url, [("Authorization", f"Bearer {WRONG}")])
    with pytest.raises(farm.FarmAuthError):
        arun(farm.open_socket(bad, timeout=10))
    resolved = arun(farm.resolve(FarmEndpoint.parse(f"http://127.0.0.1:{bl.port}", good.headers)))
    assert arun(version_over(resolved)).startswith("Chrome/")


def test_wrong_token_fails_once_clearly_and_shows_no_token(bl: BrowserlessFarm) -> None:
    before = bl.log_tail(10_000).count("not properly authorized")
    endpoint = FarmEndpoint.parse(f"ws://127.0.0.1:{bl.port}?token={WRONG}")
    busy: list[object] = []
    with pytest.raises(farm.FarmAuthError) as info:
        arun(farm.open_socket(endpoint, timeout=30, on_busy=lambda e, d: busy.append(e)))
    error = info.value
    assert error.status == 401
    assert not error.retryable
    assert not error.trips_breaker
    assert not busy
    # One attempt reached the farm: nothing retried.
    assert bl.log_tail(10_000).count("not properly authorized") == before + 1
    message = str(error)
    assert "401" in message
    assert "token=***" in message
    shown = "".join(traceback.format_exception(error)) + repr(error) + repr(endpoint)
    assert WRONG not in shown
    assert error.__cause__ is None  # websockets' frames hold the URL: not chained


def test_wrong_token_on_json_version(bl: BrowserlessFarm) -> None:
    endpoint = FarmEndpoint.parse(f"http://127.0.0.1:{bl.port}?token={WRONG}")
    with pytest.raises(farm.FarmAuthError, match="HTTP 401") as info:
        arun(farm.resolve(endpoint))
    assert WRONG not in "".join(traceback.format_exception(info.value))


def test_unreachable_farm() -> None:
    from .farm_support import free_port

    endpoint = FarmEndpoint.parse(f"ws://127.0.0.1:{free_port()}?token={WRONG}")
    with pytest.raises(farm.FarmUnreachableError) as info:
        arun(farm.open_socket(endpoint, timeout=5))
    assert info.value.retryable
    assert info.value.trips_breaker
    assert WRONG not in "".join(traceback.format_exception(info.value))


def test_a_rejected_request_is_not_retried(bl: BrowserlessFarm) -> None:
    endpoint = FarmEndpoint.parse(f"{bl.ws_url}&launch=not-json")
    with pytest.raises(farm.FarmRequestError, match="HTTP 400"):
        arun(farm.open_socket(endpoint, timeout=10))


# -- capacity ----------------------------------------------------------------------------------


async def hold_then_release(endpoint: FarmEndpoint, seconds: float) -> None:
    connection = await connected(endpoint)
    await asyncio.sleep(seconds)
    await connection.close()


def test_429_is_back_pressure_until_a_slot_frees() -> None:
    with running_farm(concurrent=1, queued=0) as small:
        endpoint = FarmEndpoint.parse(small.ws_url)

        async def scenario() -> farm.FarmSocket:
            holder = asyncio.ensure_future(hold_then_release(endpoint, 1.5))
            await asyncio.sleep(0.8)  # the holder has the only slot (its browser is up)
            busy: list[farm.FarmBusyError] = []
            sock = await farm.open_socket(endpoint, timeout=30, on_busy=lambda e, d: busy.append(e))
            await holder
            await sock.ws.close()
            assert busy
            assert {e.status for e in busy} == {429}
            return sock

        sock = arun(scenario())
    assert sock.refusals >= 1
    assert sock.queue_ms > 0  # the wait is queue time, the successful handshake is apart
    assert sock.connect_ms > 0


def test_capacity_that_never_frees_ends_at_the_deadline_with_advice() -> None:
    with running_farm(concurrent=1, queued=0) as small:
        endpoint = FarmEndpoint.parse(small.ws_url)

        async def scenario() -> None:
            holder = await connected(endpoint)
            try:
                await farm.open_socket(endpoint, timeout=1.5)
            finally:
                await holder.close()

        with pytest.raises(farm.FarmBusyError) as info:
            arun(scenario())
    error = info.value
    assert error.status == 429
    assert not error.trips_breaker
    assert "CONCURRENT" in str(error)
    assert "--cdp-launch-timeout" in str(error)


def test_a_queued_connection_waits_for_its_turn() -> None:
    with running_farm(concurrent=1, queued=1) as small:
        endpoint = FarmEndpoint.parse(small.ws_url)
        gauge = farm.PressureGauge(endpoint)

        async def scenario() -> tuple[farm.Pressure | None, farm.FarmSocket, float]:
            holder = asyncio.ensure_future(hold_then_release(endpoint, 2.0))
            await asyncio.sleep(0.8)
            full = await gauge.read()
            loop = asyncio.get_running_loop()
            waited = await gauge.wait_for_room(loop.time() + 20)
            sock = await farm.open_socket(endpoint, timeout=30)
            await holder
            await sock.ws.close()
            return full, sock, waited

        full, sock, waited = arun(scenario())
    assert full is not None
    assert full.max_concurrent == 1
    assert not full.has_room
    assert waited > 0  # the gauge waited for room instead of joining the farm's queue
    assert sock.refusals == 0
    assert gauge.supported


def test_queued_connection_without_a_gauge_is_held_by_the_farm() -> None:
    with running_farm(concurrent=1, queued=1) as small:
        endpoint = FarmEndpoint.parse(small.ws_url)

        async def scenario() -> farm.FarmSocket:
            holder = asyncio.ensure_future(hold_then_release(endpoint, 1.5))
            await asyncio.sleep(0.8)
            sock = await farm.open_socket(endpoint, timeout=30)
            await holder
            await sock.ws.close()
            return sock

        sock = arun(scenario())
    assert sock.refusals == 0  # no 429: the farm held the upgrade in its queue
    assert sock.connect_ms > sock.queue_ms  # so the wait is inside the handshake


def test_a_farm_without_a_pressure_route() -> None:
    with running_farm(routes=("chromium",)) as bare:
        gauge = farm.PressureGauge(FarmEndpoint.parse(bare.ws_url))
        assert arun(gauge.read()) is None
        assert gauge.supported is False
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        arun(gauge.wait_for_room(1e12, sleep=sleep))  # no load reported: no waiting
        assert slept == []


# -- launch switches ----------------------------------------------------------------------------


def test_our_switches_reach_the_farm_browser(bl: BrowserlessFarm) -> None:
    args = [*farm_launch_args(default_args()), "--cdp-accept-marker-switch"]
    endpoint = FarmEndpoint.parse(bl.ws_url).with_launch_args(args)

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        connection = await connected(endpoint)
        try:
            info = await connection.send("SystemInfo.getInfo")
            targets = await connection.send("Target.getTargets")
            return str(info["commandLine"]), targets["targetInfos"]
        finally:
            await connection.close()

    command_line, targets = arun(scenario())
    assert "--cdp-accept-marker-switch" in command_line
    assert "--disable-back-forward-cache" in command_line
    assert not [t for t in targets if t["type"] == "page"]  # --no-startup-window


# -- faults --------------------------------------------------------------------------------------


def test_browser_crash_ends_the_remote_browser(bl: BrowserlessFarm) -> None:
    endpoint = FarmEndpoint.parse(bl.ws_url)

    async def scenario() -> tuple[bool, Connection]:
        connection = await connected(endpoint)
        await connection.send("Browser.getVersion")
        return await farm.crash_browser(connection.browser_session), connection

    crashed, connection = arun(scenario())
    assert crashed
    assert connection.closed is not None


def test_kill_api_by_tracking_id(bl: BrowserlessFarm) -> None:
    endpoint = FarmEndpoint.parse(f"{bl.ws_url}&trackingId=cdpaccept-kill-1")

    async def scenario() -> tuple[bool, bool, Connection]:
        connection = await connected(endpoint)
        await connection.send("Browser.getVersion")
        killed = await farm.kill_session(endpoint, "cdpaccept-kill-1")
        for _ in range(100):
            if connection.closed is not None:
                break
            await asyncio.sleep(0.05)
        missing = await farm.kill_session(endpoint, "cdpaccept-kill-1")
        return killed, missing, connection

    killed, missing, connection = arun(scenario())
    assert killed
    assert not missing  # 404 once it is gone
    assert connection.closed is not None


def test_the_farm_session_timeout_is_recognised() -> None:
    with running_farm(timeout_ms=1500) as short:
        endpoint = FarmEndpoint.parse(short.ws_url)

        async def scenario() -> str | None:
            sock = await farm.open_socket(endpoint, timeout=30)
            loop = asyncio.get_running_loop()
            opened = loop.time()
            await sock.ws.send(json.dumps({"id": 1, "method": "Browser.getVersion"}))
            try:
                while True:
                    await asyncio.wait_for(sock.ws.recv(), 20)
            except websockets.ConnectionClosed as exc:
                rcvd = exc.rcvd.code if exc.rcvd else None
                sent = exc.sent.code if exc.sent else None
            return describe_cut(rcvd, sent, loop.time() - opened)

        why = arun(scenario())
    assert why is not None
    assert "TIMEOUT" in why


# -- memory over CDP -------------------------------------------------------------------------------


def test_remote_processes_and_memory(bl: BrowserlessFarm) -> None:
    endpoint = FarmEndpoint.parse(bl.ws_url)

    async def scenario() -> tuple[Any, Any, Any]:
        connection = await connected(endpoint)
        try:
            session = connection.browser_session
            processes = await remote.process_list(session)
            main_pid = await remote.local_main_pid(session)
            footprints = await remote.private_footprints(session)
            return processes, main_pid, footprints
        finally:
            await connection.close()

    processes, main_pid, footprints = arun(scenario())
    seen = f"processes={processes} main_pid={main_pid} footprints={footprints}"
    assert processes is not None, seen
    browser = [p.pid for p in processes if p.type == "browser"]
    # The farm runs on this host: its browser's pid is provably the local process's.
    assert main_pid == browser[0], seen
    assert footprints is not None, seen
    # Every process has a figure (and the tracing service the dump itself starts).
    assert {p.pid for p in processes} <= set(footprints), seen
    assert sum(footprints.values()) > 10, seen


# -- one pool's connector ------------------------------------------------------------------------


def test_connector_resolves_once_and_sends_switches(bl: BrowserlessFarm) -> None:
    args = farm_launch_args(default_args())
    connector = farm.FarmConnector(FarmEndpoint.parse(bl.http_url), switches=args)

    async def scenario() -> tuple[farm.FarmLink, farm.FarmLink, str, bool]:
        first = await connector.open(30)
        second = await connector.open(30)
        info = await first.connection.send("SystemInfo.getInfo")
        killed = await connector.kill(second)
        await first.connection.close()
        return first, second, str(info["commandLine"]), killed

    first, second, command_line, killed = arun(scenario())
    assert first.queue_ms == 0  # room at once: no waiting counted
    assert first.tracking_id
    assert first.tracking_id != second.tracking_id
    assert first.endpoint.is_websocket
    assert "--disable-back-forward-cache" in command_line
    assert killed
    assert second.connection.closed is not None
    assert connector.opened == 2
    assert bl.token not in repr(connector) + repr(first.connection)


def test_connector_waits_for_room_as_queue_time() -> None:
    with running_farm(concurrent=1, queued=1) as small:
        connector = farm.FarmConnector(FarmEndpoint.parse(small.ws_url))

        async def scenario() -> farm.FarmLink:
            held = await connector.open(30)

            async def release_later() -> None:
                await asyncio.sleep(1.5)
                await held.connection.close()

            releaser = asyncio.ensure_future(release_later())
            link = await connector.open(30)
            await releaser
            await link.connection.close()
            return link

        link = arun(scenario())
    assert link.queue_ms > 0  # waited for the first one to end, outside the handshake
    assert connector.refusals == 0  # never queued in the farm, never refused


def test_connector_gives_up_at_the_deadline_without_joining_the_queue() -> None:
    with running_farm(concurrent=1, queued=1) as small:
        connector = farm.FarmConnector(FarmEndpoint.parse(small.ws_url))

        async def scenario() -> None:
            held = await connector.open(30)
            try:
                await connector.open(1.5)
            finally:
                await held.connection.close()

        with pytest.raises(farm.FarmBusyError, match="no free session"):
            arun(scenario())
        assert connector.full
        assert small.log_tail(10_000).count("Concurrency is at capacity, queueing") == 0
