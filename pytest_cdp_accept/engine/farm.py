"""Talking to a browser farm: resolving its address, waiting for capacity, opening sockets.

A farm launches a browser for every websocket connection and has a limit:
browserless answers the upgrade with HTTP 429 when its sessions and its
queue are full, and holds the upgrade unanswered while a connection waits
in its queue. Neither is breakage. :func:`open_socket` treats them as
back-pressure: it waits for a slot (honouring ``Retry-After``, else a short
jittered backoff) until its deadline, and reports the time spent waiting
(``queue_ms``) apart from the time of the handshake that succeeded
(``connect_ms``, which for a farm includes its browser launch). Where the
farm reports its load (browserless ``GET /pressure``), :class:`PressureGauge`
lets a caller wait for room *before* connecting, so a connection it may
give up on is never put in the farm's queue: browserless launches a browser
for a queued connection even after the client has gone.

Failures come out as :class:`FarmError` subclasses, whose ``retryable`` and
``trips_breaker`` say how a caller's retry loop and circuit breaker treat them:

    LaunchError
    └── FarmError
        ├── FarmAuthError         401/403: wrong credentials (not retried, no breaker trip)
        ├── FarmBusyError         429/503/408 or no answer until the deadline: at capacity
        ├── FarmRequestError      other 4xx: the URL is wrong (not retried)
        └── FarmUnreachableError  refused, reset, DNS, 5xx: transient...
            └── FarmGoneError     ... or the farm that served the run went away

No message of these errors carries a secret, and none is chained to the
websockets or urllib error it replaces: those libraries' frames hold the
URL (token and all) as arguments, which pytest prints in a traceback. The
status, headers and body the farm answered are attributes instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from ..errors import CDPAcceptError, LaunchError
from .connection import CDPSession, Connection, devtools_socket
from .farm_endpoint import (
    WS_LOGGER,
    FarmEndpoint,
    SecretURL,
    classify_status,
    describe_cut,
    redact,
)
from .farm_endpoint import retry_after_seconds as _retry_after
from .options import DEFAULT_COMMAND_TIMEOUT

log = logging.getLogger("pytest_cdp_accept")

LAUNCH_TIMEOUT_SETTING = "--cdp-launch-timeout (ini cdp_launch_timeout)"
BUSY_BACKOFF_FIRST = 0.1
BUSY_BACKOFF_FACTOR = 1.6
BUSY_BACKOFF_CAP = 1.0
PRESSURE_POLL = 0.2
BODY_SHOWN = 200


# -- errors ------------------------------------------------------------------------------


class FarmError(LaunchError):
    """A farm refused or failed a connection; ``endpoint`` is its redacted address."""

    retryable = True
    """Worth another try by a generic retry loop."""
    trips_breaker = True
    """Counts as a failure of the endpoint for its circuit breaker."""

    def __init__(
        self,
        endpoint: FarmEndpoint,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
    ) -> None:
        self.endpoint = endpoint.display
        self.status = status
        self.body = redact(body)
        self.reason = redact(message)
        """The message without the farm's address."""
        super().__init__(f"{endpoint.role} {endpoint.display}: {self.reason}")


class FarmAuthError(FarmError):
    """HTTP 401/403: the farm does not accept these credentials. Retrying cannot help,
    and it says nothing about the farm's health for other credentials."""

    retryable = False
    trips_breaker = False


class FarmBusyError(FarmError):
    """The farm stayed at capacity (429/503/408, or its queue held the connection) until
    the deadline. Capacity is not breakage: it does not trip the breaker."""

    retryable = False  # it already waited as long as the caller allowed
    trips_breaker = False

    def __init__(
        self,
        endpoint: FarmEndpoint,
        message: str,
        *,
        waited_s: float,
        status: int | None = None,
        body: str = "",
    ) -> None:
        self.waited_s = waited_s
        super().__init__(endpoint, message, status=status, body=body)


class FarmRequestError(FarmError):
    """Another 4xx: the farm rejects the request itself (path, query, launch options)."""

    retryable = False
    trips_breaker = False


class FarmUnreachableError(FarmError):
    """Nothing answers (refused, reset, unknown host) or the farm failed (5xx)."""


class FarmGoneError(FarmUnreachableError):
    """A farm that served this run stopped answering: every later lease would fail the
    same way, so the run stops (see the plugin)."""

    retryable = False


# -- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HTTPAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace").strip()


async def http_get(
    endpoint: FarmEndpoint, url: SecretURL, *, timeout: float, what: str
) -> HTTPAnswer:
    """GET ``url`` with the endpoint's headers; any status is an answer. ``what`` names the
    request in errors ("/json/version"). No proxy from the environment is used."""

    def fetch() -> HTTPAnswer:
        request = urllib.request.Request(url, headers=dict(endpoint.headers))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as response:
                return HTTPAnswer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            with contextlib.closing(exc):
                return HTTPAnswer(exc.code, dict(exc.headers or {}), exc.read() or b"")

    try:
        return await asyncio.get_running_loop().run_in_executor(None, fetch)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        error = FarmUnreachableError(endpoint, f"could not reach {what}: {reason}")
    raise error from None  # urllib's frames hold the URL with its secrets


def refusal(endpoint: FarmEndpoint, status: int, body: str, what: str) -> FarmError:
    """The error for an HTTP status the farm answered ``what`` with."""
    kind = classify_status(status)
    shown = body[:BODY_SHOWN].rstrip(". ")
    detail = f" ({shown})" if shown else ""
    if kind == "auth":
        return FarmAuthError(
            endpoint,
            f"{what} answered HTTP {status}{detail}: the farm does not accept these "
            "credentials; check the URL's token or --cdp-farm-header (not retried)",
            status=status,
            body=body,
        )
    if kind == "busy":
        return FarmBusyError(
            endpoint, f"{what} answered HTTP {status}{detail}", waited_s=0.0, status=status
        )
    if kind == "server":
        return FarmUnreachableError(
            endpoint, f"{what} answered HTTP {status}{detail}", status=status, body=body
        )
    return FarmRequestError(
        endpoint,
        f"{what} answered HTTP {status}{detail}; check the URL's path and query",
        status=status,
        body=body,
    )


async def resolve(endpoint: FarmEndpoint, *, timeout: float = 10.0) -> FarmEndpoint:
    """The websocket endpoint of ``endpoint``: itself for ``ws(s)://``, else what
    ``/json/version`` (same path prefix, query and headers) names, with our query and
    host carried onto it (see :meth:`FarmEndpoint.adopt`)."""
    if endpoint.is_websocket:
        return endpoint
    answer = await http_get(endpoint, endpoint.version_url, timeout=timeout, what="/json/version")
    if answer.status != 200:
        raise refusal(endpoint, answer.status, answer.text(), "/json/version")
    try:
        returned = str(json.loads(answer.body)["webSocketDebuggerUrl"])
    except (ValueError, KeyError, TypeError):
        raise FarmRequestError(
            endpoint,
            f"/json/version answered without a webSocketDebuggerUrl: {answer.text()[:BODY_SHOWN]}",
        ) from None
    try:
        return endpoint.adopt(returned)
    except CDPAcceptError as exc:
        raise FarmRequestError(endpoint, str(exc)) from None


# -- websocket -------------------------------------------------------------------------------


@dataclass
class FarmSocket:
    """An open websocket to a farm and what it took to get it."""

    ws: ClientConnection
    endpoint: FarmEndpoint
    queue_ms: float
    """Waiting for capacity: 429/503 answers and the pauses between them."""
    connect_ms: float
    """The handshake that succeeded (a farm launches the browser during it)."""
    refusals: int
    """Busy answers before it succeeded."""


async def _handshake(endpoint: FarmEndpoint, timeout: float) -> ClientConnection:
    return await devtools_socket(
        endpoint.ws_url, timeout=timeout, headers=endpoint.headers, logger=WS_LOGGER
    )


async def _attempt(
    endpoint: FarmEndpoint, timeout: float, started: float, clock: Callable[[], float]
) -> ClientConnection | tuple[FarmError, float | None]:
    """One handshake: the connection, or the farm's refusal with its ``Retry-After``.
    Errors that end the waiting (no answer until the deadline, nothing listening) raise."""
    try:
        return await _handshake(endpoint, timeout)
    except websockets.InvalidStatus as exc:
        response = exc.response
        body = bytes(response.body or b"").decode("utf-8", "replace").strip()
        error = refusal(endpoint, response.status_code, body, "the websocket upgrade")
        return error, _retry_after(response.headers.get("Retry-After"))
    except TimeoutError:
        # The farm kept the upgrade unanswered until the deadline: its queue.
        waited = FarmBusyError(
            endpoint,
            f"no answer to the websocket upgrade within {clock() - started:.0f} s (a farm "
            "holds connections in its queue while its sessions are all taken); raise "
            f"{LAUNCH_TIMEOUT_SETTING} or the farm's capacity",
            waited_s=clock() - started,
        )
        raise waited from None
    except (OSError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
        failed = FarmUnreachableError(endpoint, f"the websocket upgrade failed: {exc}")
        raise failed from None  # websockets' frames hold the URL with its secrets


async def open_socket(
    endpoint: FarmEndpoint,
    *,
    timeout: float,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_busy: Callable[[FarmBusyError, float], None] | None = None,
) -> FarmSocket:
    """Open a websocket to a ``ws(s)://`` farm endpoint, waiting out back-pressure.

    Busy answers (429, 503, 408) are retried after ``Retry-After`` or a jittered
    backoff until ``timeout`` seconds have passed in all; a handshake the farm leaves
    unanswered (its queue) is waited for until then too. ``on_busy(error, delay)`` is
    called before each pause. 401/403 and other 4xx raise at once.
    """
    rng = rng or random.Random()
    start = clock()
    deadline = start + timeout
    backoff = BUSY_BACKOFF_FIRST
    busy: list[FarmBusyError] = []
    while True:
        attempt = clock()
        if attempt >= deadline:
            raise _gave_up(endpoint, timeout, busy[-1] if busy else None)
        outcome = await _attempt(endpoint, deadline - attempt, start, clock)
        if not isinstance(outcome, tuple):
            return FarmSocket(
                outcome,
                endpoint,
                queue_ms=(attempt - start) * 1000.0 if busy else 0.0,
                connect_ms=(clock() - attempt) * 1000.0,
                refusals=len(busy),
            )
        error, retry_after = outcome
        if not isinstance(error, FarmBusyError):
            raise error
        busy.append(error)
        delay = retry_after if retry_after is not None else backoff * rng.uniform(0.75, 1.25)
        backoff = min(backoff * BUSY_BACKOFF_FACTOR, BUSY_BACKOFF_CAP)
        delay = min(delay, max(0.0, deadline - clock()))
        if on_busy is not None:
            on_busy(error, delay)
        await sleep(delay)


def _gave_up(endpoint: FarmEndpoint, timeout: float, last: FarmBusyError | None) -> FarmBusyError:
    status = f" (last answer: HTTP {last.status})" if last is not None and last.status else ""
    return FarmBusyError(
        endpoint,
        f"no free session within {timeout:g} s{status}: the farm stayed at capacity; "
        f"raise {LAUNCH_TIMEOUT_SETTING}, lower --cdp-pool-size or -n, or raise the "
        "farm's limit (browserless: CONCURRENT, QUEUED)",
        waited_s=timeout,
        status=last.status if last is not None else None,
    )


# -- load -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pressure:
    """A farm's load as browserless' ``GET /pressure`` reports it."""

    running: int
    queued: int
    max_concurrent: int
    max_queued: int
    available: bool
    reason: str = ""

    @property
    def has_room(self) -> bool:
        """A connection made now runs at once (no queue, no 429)."""
        return self.room_for(0)

    def room_for(self, pending: int) -> bool:
        """Room for one more connection besides ``pending`` ones of ours still on their
        way (made, but maybe not counted by the farm yet: counting them is cautious)."""
        unlimited = self.max_concurrent < 0
        return self.available and (unlimited or self.running + pending < self.max_concurrent)


class PressureGauge:
    """Reads a farm's load where it reports one; says nothing (None) where it does not.

    The first answer that is not a pressure report (404, another shape) turns the
    gauge off for good; a 401/403 raises :class:`FarmAuthError`.
    """

    def __init__(self, endpoint: FarmEndpoint, *, timeout: float = 5.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.supported: bool | None = None
        self.last: Pressure | None = None

    def __repr__(self) -> str:
        state = {None: "unknown", True: "on", False: "off"}[self.supported]
        return f"<PressureGauge {self.endpoint.display} {state} last={self.last}>"

    async def read(self) -> Pressure | None:
        if self.supported is False:
            return None
        url = self.endpoint.http_url("/pressure")
        try:
            answer = await http_get(self.endpoint, url, timeout=self.timeout, what="/pressure")
        except FarmUnreachableError:
            if self.supported is None:
                self.supported = False
            return None
        if classify_status(answer.status) == "auth":
            raise refusal(self.endpoint, answer.status, answer.text(), "/pressure")
        pressure = _parse_pressure(answer) if answer.status == 200 else None
        if pressure is None:
            if self.supported is None:
                self.supported = False
                log.debug("farm %s reports no pressure; capacity is learnt from 429s", self)
            return None
        self.supported = True
        self.last = pressure
        return pressure

    async def wait_for_room(
        self,
        deadline: float,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll: float = PRESSURE_POLL,
        pending: Callable[[], int] = lambda: 0,
        on_full: Callable[[], None] | None = None,
    ) -> float:
        """Seconds spent waiting for room, from the first reading that had none (0 when
        the farm has room or reports no load), at most until ``deadline``; then the caller
        connects anyway and meets the farm's answer. The readings themselves are not
        waiting: browserless takes ~0.6 s for its first (it samples the CPU).

        ``pending()`` counts the caller's connections still on their way; the check and
        the caller's next step happen with no await in between, so callers that count
        themselves in ``pending`` right after this returns never overbook the farm.
        ``on_full()`` is called at each reading without room.
        """
        full_since: float | None = None
        while True:
            pressure = await self.read()
            now = clock()
            if pressure is None or pressure.room_for(pending()):
                return 0.0 if full_since is None else now - full_since
            if on_full is not None:
                on_full()
            if full_since is None:
                full_since = now
            left = deadline - now
            if left <= 0:
                return now - full_since
            await sleep(min(poll, left))


def _parse_pressure(answer: HTTPAnswer) -> Pressure | None:
    try:
        data: Any = json.loads(answer.body)["pressure"]
        return Pressure(
            running=int(data["running"]),
            queued=int(data["queued"]),
            max_concurrent=int(data["maxConcurrent"]),
            max_queued=int(data["maxQueued"]),
            available=bool(data["isAvailable"]),
            reason=str(data.get("reason") or ""),
        )
    except (ValueError, KeyError, TypeError):
        return None


# -- one pool's farm ----------------------------------------------------------------------------


@dataclass
class FarmLink:
    """One farm connection (one browser) and what it took to get it."""

    connection: Connection
    endpoint: FarmEndpoint
    """What was connected to (with the launch switches and tracking id, if any)."""
    queue_ms: float
    """Waiting for the farm to have room: its reported load, 429/503 answers."""
    connect_ms: float
    """The handshake that succeeded; a farm launches the browser during it."""
    tracking_id: str | None
    opened_at: float
    """``time.monotonic()`` when the handshake succeeded."""

    def age(self) -> float:
        return time.monotonic() - self.opened_at


class FarmConnector:
    """Opens the browsers of one pool on one farm (one address, one set of credentials).

    The address is resolved once (``/json/version`` for an ``http(s)`` URL) and given
    the launch switches, if any. Before each connection the farm's load is read where
    it reports one, so that a connection that would wait in the farm's queue waits
    here instead; the farm is then remembered as *full* for a few seconds
    (:attr:`full`), which lets a pool share the browsers it has rather than ask for
    more. On a farm that speaks browserless' management API each connection gets a
    ``trackingId``, by which :meth:`kill` can end it when ``Browser.crash`` does not.
    """

    FULL_FOR = 5.0
    """Seconds a sighting of no room keeps the farm marked full."""

    def __init__(
        self,
        endpoint: FarmEndpoint,
        *,
        switches: Sequence[str] = (),
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        on_full: Callable[[], None] | None = None,
    ) -> None:
        self.given = endpoint
        self.on_full = on_full
        """Called when the farm is seen without room (a pool wakes its waiting leases)."""
        self.in_flight = 0
        """Connections on their way (admitted, handshake not done)."""
        self.cuts: list[float] = []
        """Ages (s) of the sessions the farm cut (its session timeout)."""
        self.switches = tuple(switches)
        self.command_timeout = command_timeout
        self.gauge: PressureGauge | None = None
        self.opened = 0
        self.refusals = 0
        self._clock = clock
        self._target: FarmEndpoint | None = None
        self._full_at: float | None = None
        self._run = f"{os.getpid() % 16**6:x}-{random.randrange(16**6):06x}"
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        state = "full" if self.full else "room"
        return f"<FarmConnector {self.given.display} opened={self.opened} {state}>"

    @property
    def full(self) -> bool:
        """The farm had no room a moment ago (its load, a 429, a queued connection)."""
        return self._full_at is not None and self._clock() - self._full_at < self.FULL_FOR

    def mark_full(self) -> None:
        self._full_at = self._clock()
        if self.on_full is not None:
            self.on_full()

    @property
    def cut_after(self) -> float | None:
        """The shortest life (s) of a session the farm cut, once it has cut one."""
        return min(self.cuts) if self.cuts else None

    def watch(self, link: FarmLink) -> None:
        """Have the link's connection say so when the farm cuts the session (and note its
        age: a pool replaces browsers before they get that old)."""

        def explain(exc: websockets.ConnectionClosed | None) -> str | None:
            if exc is None:
                return None
            rcvd = exc.rcvd.code if exc.rcvd is not None else None
            sent = exc.sent.code if exc.sent is not None else None
            why = describe_cut(rcvd, sent, link.age())
            if why is not None:
                self.cuts.append(link.age())
            return why

        link.connection.explain_close = explain

    async def target(self, timeout: float) -> FarmEndpoint:
        """The websocket endpoint connections go to (resolved once)."""
        if self._target is None:
            resolved = await resolve(self.given, timeout=timeout)
            self._target = resolved.with_launch_args(self.switches)
            self.gauge = PressureGauge(self._target)
        return self._target

    async def open(self, timeout: float) -> FarmLink:
        """One new browser: wait for room (bounded by ``timeout``), then connect."""
        start = self._clock()
        deadline = start + timeout
        target = await self.target(timeout)
        assert self.gauge is not None
        waited = await self.gauge.wait_for_room(
            deadline, clock=self._clock, pending=lambda: self.in_flight, on_full=self.mark_full
        )
        if self._clock() >= deadline:
            raise _gave_up(target, timeout, None)
        self.in_flight += 1  # in the same step as the check above: no overbooking
        try:
            tracking_id = None
            if self.gauge.supported:
                # browserless: at most 32 of [0-9a-zA-Z-_], unique among live sessions.
                tracking_id = f"cdpa-{self._run}-{next(self._ids)}"
                target = target.with_params(trackingId=tracking_id)
            sock = await open_socket(
                target, timeout=max(0.0, deadline - self._clock()), on_busy=self._on_busy
            )
        finally:
            self.in_flight -= 1
        self.opened += 1
        connection = Connection(sock.ws, target.display, command_timeout=self.command_timeout)
        link = FarmLink(
            connection,
            target,
            queue_ms=waited * 1000.0 + sock.queue_ms,
            connect_ms=sock.connect_ms,
            tracking_id=tracking_id,
            opened_at=time.monotonic(),
        )
        self.watch(link)
        return link

    def _on_busy(self, error: FarmBusyError, delay: float) -> None:
        self.refusals += 1
        self.mark_full()
        if self.refusals == 1:
            log.info("%s; waiting for a free session (back-pressure)", error)

    async def kill(self, link: FarmLink, *, timeout: float = 5.0) -> bool:
        """End a farm browser: ``Browser.crash``, else the farm's kill API."""
        if await crash_browser(link.connection.browser_session, timeout=timeout):
            return True
        if link.tracking_id is not None:
            with contextlib.suppress(FarmError):
                await kill_session(link.endpoint, link.tracking_id, timeout=timeout)
        return link.connection.closed is not None


# -- faults ----------------------------------------------------------------------------------


async def crash_browser(session: CDPSession, *, timeout: float = 5.0) -> bool:
    """Make a remote browser exit with ``Browser.crash``; True once its connection closed.

    The command is never answered: the browser dies first and the farm closes the
    websocket (browserless: 40–60 ms later).
    """
    connection = session.connection
    if connection.closed is not None:
        return True
    closed = asyncio.get_running_loop().create_future()

    def on_close(_: object) -> None:
        if not closed.done():
            closed.set_result(None)

    connection.on_close(on_close)
    sender = asyncio.ensure_future(session.send("Browser.crash", timeout=timeout))
    try:
        await asyncio.wait_for(asyncio.shield(closed), timeout)
    except asyncio.TimeoutError:
        return connection.closed is not None
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
    return True


async def kill_session(endpoint: FarmEndpoint, session_id: str, *, timeout: float = 5.0) -> bool:
    """Ask the farm's management API to end a session (browserless ``GET /kill/<id>``, where
    the id may be a ``trackingId`` given at connect). True if the farm says it did."""
    url = endpoint.http_url(f"/kill/{session_id}")
    answer = await http_get(endpoint, url, timeout=timeout, what="/kill")
    if classify_status(answer.status) == "auth":
        raise refusal(endpoint, answer.status, answer.text(), "/kill")
    return 200 <= answer.status < 300


__all__ = [
    "FarmAuthError",
    "FarmBusyError",
    "FarmConnector",
    "FarmError",
    "FarmGoneError",
    "FarmLink",
    "FarmRequestError",
    "FarmSocket",
    "FarmUnreachableError",
    "HTTPAnswer",
    "Pressure",
    "PressureGauge",
    "crash_browser",
    "http_get",
    "kill_session",
    "open_socket",
    "refusal",
    "resolve",
]
