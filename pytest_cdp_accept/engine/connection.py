"""The websocket transport: one connection to one browser, and the sessions on it.

All routing lives here, in :meth:`Connection._dispatch`: replies resolve the
future of their command, events go to the session they name, and the end of
a session (crash, detach, close) fails that session's pending commands at
once. When the websocket closes, every pending command fails with one
:class:`~pytest_cdp_accept.errors.ConnectionClosedError`.

websockets and OSError errors are translated to this library's errors here
and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection, connect

from ..errors import (
    CommandTimeoutError,
    ConnectionClosedError,
    LaunchError,
    ProtocolError,
    TargetClosedError,
)
from .options import DEFAULT_COMMAND_TIMEOUT
from .protocol import BROWSER_SESSION, CDPProtocol, Event, Reply, SessionEnded

log = logging.getLogger("pytest_cdp_accept")
T = TypeVar("T")

COMMAND_TIMEOUT_SETTING = "--cdp-command-timeout (ini cdp_command_timeout)"
MAX_MESSAGE_SIZE = 256 * 1024 * 1024  # screenshots and large evaluate results
MAX_IN_FLIGHT = 512
# Events the protocol core itself acts on (session ends, crashes): always decoded.
CORE_EVENT_PREFIXES = ("Target.", "Inspector.")
EVENT_PREFIX = '{"method":"'
_METHOD_START = len(EVENT_PREFIX)


class CDPSession:
    """One CDP session: the browser session, or a page attached with ``flatten``."""

    def __init__(self, connection: Connection, session_id: str, target_id: str | None) -> None:
        self.connection = connection
        self.session_id = session_id
        self.target_id = target_id
        self.ended: TargetClosedError | None = None
        self._handlers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        self._waiters: set[asyncio.Future[Any]] = set()

    def __repr__(self) -> str:
        state = f"ended: {self.ended.reason}" if self.ended else "live"
        return f"<CDPSession {self.session_id or 'browser'} target={self.target_id} {state}>"

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        to_ended: bool = False,
    ) -> dict[str, Any]:
        """Send a command on this session and return its result."""
        return await self.connection.send(
            method, params, self.session_id, timeout=timeout, to_ended=to_ended
        )

    async def send_batch(
        self, calls: Sequence[tuple[str, dict[str, Any]]], *, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Send several commands on this session back to back; all their results."""
        return await self.connection.send_batch(calls, self.session_id, timeout=timeout)

    def on(self, event: str, handler: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``handler(params)`` for every ``event``; returns a function that unsubscribes."""
        handlers = self._handlers.setdefault(event, [])
        handlers.append(handler)
        wanted = self.connection._wanted
        wanted[event] = wanted.get(event, 0) + 1

        def off() -> None:
            if handler in handlers:
                handlers.remove(handler)
                wanted[event] -= 1

        return off

    def listener_count(self, event: str) -> int:
        return len(self._handlers.get(event, ()))

    async def wait_for(
        self,
        event: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> dict[str, Any]:
        """Wait for the next ``event`` matching ``predicate``; fails at once if the session ends."""
        if self.ended is not None:
            raise self._ended_error(event)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def handler(params: dict[str, Any]) -> None:
            if not fut.done() and (predicate is None or predicate(params)):
                fut.set_result(params)

        off = self.on(event, handler)
        self._waiters.add(fut)
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise CommandTimeoutError(f"waiting for {event}", timeout, "the timeout=") from None
        finally:
            off()
            self._waiters.discard(fut)

    def _ended_error(self, method: str) -> TargetClosedError:
        assert self.ended is not None
        return type(self.ended)(self.ended.reason, method=method, target_id=self.target_id)

    def _dispatch(self, event: Event) -> None:
        for handler in list(self._handlers.get(event.method, ())):
            try:
                handler(event.params)
            except Exception:  # a broken listener must not kill the reader
                log.exception("listener for %s raised", event.method)

    def _end(self, error: TargetClosedError) -> None:
        self.ended = error
        for fut in list(self._waiters):
            if not fut.done():
                fut.set_exception(self._ended_error("waiting for an event"))

    def _revive(self) -> None:
        self.ended = None


async def devtools_socket(
    url: str,
    *,
    timeout: float,
    headers: Sequence[tuple[str, str]] = (),
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
) -> ClientConnection:
    """The websocket handshake with a DevTools endpoint, on the settings every CDP
    connection uses: large messages, no queue bound, no compression, no pings (a busy
    browser answers pings late), no proxy, no User-Agent header."""
    return await connect(
        url,
        additional_headers=list(headers) or None,
        max_size=MAX_MESSAGE_SIZE,
        max_queue=None,
        compression=None,
        ping_interval=None,
        open_timeout=timeout,
        close_timeout=2,
        proxy=None,
        user_agent_header=None,
        logger=logger,
    )


class Connection:
    """A websocket to one browser's DevTools endpoint, with its sessions."""

    def __init__(
        self,
        ws: ClientConnection,
        url: str,
        *,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.url = url
        self.command_timeout = command_timeout
        self._ws = ws
        self._protocol = CDPProtocol()
        self._futures: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._slots = asyncio.Semaphore(max_in_flight)
        self._sessions: dict[str, CDPSession] = {}
        self._wanted: dict[str, int] = {}  # event -> listeners on any session
        self.skipped = 0
        """Events dropped undecoded because nothing listens for them."""
        self.browser_session = CDPSession(self, BROWSER_SESSION, None)
        self._sessions[BROWSER_SESSION] = self.browser_session
        self.closed: ConnectionClosedError | None = None
        self.close_hint: Callable[[], str] | None = None
        """Says why the other side went away (e.g. how the browser process ended)."""
        self.before_close_hint: Callable[[], Awaitable[object]] | None = None
        """Awaited (at most 0.5 s) before ``close_hint`` is asked: lets the process be reaped."""
        self.explain_close: Callable[[websockets.ConnectionClosed | None], str | None] | None = None
        """Says why the websocket ended when its close frames tell (a farm cutting the
        session); None leaves the ordinary description."""
        self._on_close: list[Callable[[ConnectionClosedError], None]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())

    def __repr__(self) -> str:
        state = f"closed ({self.closed.reason})" if self.closed else "open"
        return (
            f"<Connection {self.url} {state} sessions={len(self._sessions) - 1} "
            f"pending={self._protocol.pending_count}>"
        )

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        timeout: float = 10.0,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> Connection:
        """Connect to a DevTools websocket URL."""
        try:
            ws = await devtools_socket(url, timeout=timeout)
        except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as exc:
            raise LaunchError(f"could not connect to DevTools at {url}: {exc}") from exc
        return cls(ws, url, command_timeout=command_timeout)

    # -- sessions -------------------------------------------------------------

    def session(self, session_id: str, target_id: str | None) -> CDPSession:
        """The session object for an attached session id (created on first use)."""
        existing = self._sessions.get(session_id)
        if existing is not None:
            return existing
        created = CDPSession(self, session_id, target_id)
        self._sessions[session_id] = created
        return created

    def forget_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def on_close(self, callback: Callable[[ConnectionClosedError], None]) -> None:
        self._on_close.append(callback)

    # -- commands -------------------------------------------------------------

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str = BROWSER_SESSION,
        *,
        timeout: float | None = None,
        to_ended: bool = False,
    ) -> dict[str, Any]:
        """Send one command and wait for its result (bounded by ``timeout``)."""
        if self.closed is not None:
            raise ConnectionClosedError(self.closed.reason, method)
        timeout = self.command_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._slots.locked():  # all in flight: waiting for a slot counts against the timeout
            try:
                await _by(deadline, self._slots.acquire())
            except asyncio.TimeoutError:
                raise CommandTimeoutError(method, timeout, COMMAND_TIMEOUT_SETTING) from None
        else:
            await self._slots.acquire()
        try:
            msg_id, frame = self._protocol.encode(method, params, session_id, to_ended=to_ended)
            fut: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._futures[msg_id] = fut
            try:
                # The write is bounded too: a stalled browser stops reading, and a large
                # frame then waits on a full socket buffer for as long as the stall lasts.
                return await _by(deadline, self._round_trip(method, msg_id, frame, fut))
            except asyncio.TimeoutError:
                raise CommandTimeoutError(method, timeout, COMMAND_TIMEOUT_SETTING) from None
            finally:
                self._futures.pop(msg_id, None)
                # Timed out or cancelled, nobody waits for its reply (a no-op once it came).
                self._protocol.forget(msg_id)
        finally:
            self._slots.release()

    async def send_batch(
        self,
        calls: Sequence[tuple[str, dict[str, Any]]],
        session_id: str = BROWSER_SESSION,
        *,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Write several commands back to back, then wait for every reply, all within one
        ``timeout``: one round trip for commands the browser runs in order (the input
        events of a click), without a task per command. The first failure raises."""
        if self.closed is not None:
            raise ConnectionClosedError(self.closed.reason, calls[0][0] if calls else None)
        timeout = self.command_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        sent: list[tuple[int, str, asyncio.Future[dict[str, Any]]]] = []
        held = 0

        async def write_then_wait() -> list[dict[str, Any]]:
            nonlocal held
            for method, params in calls:
                await self._slots.acquire()
                held += 1
                msg_id, frame = self._protocol.encode(method, params, session_id)
                fut: asyncio.Future[dict[str, Any]] = loop.create_future()
                self._futures[msg_id] = fut
                sent.append((msg_id, method, fut))
                try:
                    await self._ws.send(frame)
                except websockets.ConnectionClosed as exc:
                    hint = self.close_hint() if self.close_hint else ""
                    reason = self._describe_close(exc) + (f": {hint}" if hint else "")
                    raise ConnectionClosedError(reason, method) from exc
            return [await fut for _, _, fut in sent]

        try:
            return await _by(deadline, write_then_wait())
        except asyncio.TimeoutError:
            waiting = next((m for _, m, f in sent if not f.done()), calls[-1][0])
            raise CommandTimeoutError(waiting, timeout, COMMAND_TIMEOUT_SETTING) from None
        finally:
            for msg_id, _, fut in sent:
                self._futures.pop(msg_id, None)
                self._protocol.forget(msg_id)
                if fut.done() and not fut.cancelled():
                    fut.exception()  # retrieved: a later command's failure is not logged
            for _ in range(held):
                self._slots.release()

    async def _round_trip(
        self, method: str, msg_id: int, frame: str, fut: asyncio.Future[dict[str, Any]]
    ) -> dict[str, Any]:
        try:
            await self._ws.send(frame)
        except websockets.ConnectionClosed as exc:
            self._protocol.forget(msg_id)
            hint = self.close_hint() if self.close_hint else ""
            reason = self._describe_close(exc) + (f": {hint}" if hint else "")
            raise ConnectionClosedError(reason, method) from exc
        return await fut

    async def close(self) -> None:
        """Close the websocket; pending commands fail with ConnectionClosedError."""
        try:
            await self._ws.close()
        except Exception:  # closing a broken socket: nothing more to do
            log.debug("error while closing %s", self.url, exc_info=True)
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), 2)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._reader.cancel()
        self._closed("connection closed by the client")

    # -- reading --------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "connection closed"
        try:
            async for frame in self._ws:
                self._dispatch(frame)
            reason = self._describe_close(None)
        except websockets.ConnectionClosed as exc:
            reason = self._describe_close(exc)
        except Exception as exc:  # never leave callers hanging on a dead reader
            log.exception("CDP reader failed")
            reason = f"reader failed: {exc!r}"
        finally:
            if self.closed is None and self.before_close_hint is not None:
                with contextlib.suppress(Exception, asyncio.TimeoutError):
                    await asyncio.wait_for(self.before_close_hint(), 0.5)
            hint = self.close_hint() if self.close_hint else ""
            self._closed(f"{reason}: {hint}" if hint else reason)

    def _dispatch(self, frame: str | bytes) -> None:
        # Chromium writes events as {"method":"Domain.event",...}: one nobody listens for
        # (a Network.dataReceived, an ExtraInfo, ...) is dropped before json.loads. Any
        # other shape is decoded in full.
        if type(frame) is str and frame.startswith(EVENT_PREFIX):
            method = frame[_METHOD_START : frame.find('"', _METHOD_START)]
            if not self._wanted.get(method) and not method.startswith(CORE_EVENT_PREFIXES):
                self.skipped += 1
                return
        try:
            messages = self._protocol.feed(frame)
        except ProtocolError:
            log.warning("ignoring an invalid frame from %s", self.url, exc_info=True)
            return
        detached: list[str] = []
        for message in messages:
            if isinstance(message, Reply):
                fut = self._futures.get(message.id)
                if fut is not None and not fut.done():
                    if message.error is not None:
                        fut.set_exception(message.error)
                    else:
                        fut.set_result(message.result or {})
            elif isinstance(message, Event):
                session = self._sessions.get(message.session_id)
                if session is not None:
                    if message.method == "Inspector.targetReloadedAfterCrash":
                        session._revive()
                    session._dispatch(message)
                if message.session_id != BROWSER_SESSION:
                    continue
                if message.method in ("Target.detachedFromTarget",):
                    detached.append(message.params.get("sessionId", ""))
            elif isinstance(message, SessionEnded):
                self._session_ended(message)
        # Forgotten only now: the core yields a detach's SessionEnded after the event,
        # and the session must be there to end (failing its waiters) before it goes.
        for session_id in detached:
            self._sessions.pop(session_id, None)

    def _session_ended(self, ended: SessionEnded) -> None:
        for msg_id, method in ended.failed:
            fut = self._futures.get(msg_id)
            if fut is not None and not fut.done():
                fut.set_exception(
                    type(ended.error)(ended.error.reason, method=method, target_id=ended.target_id)
                )
        session = self._sessions.get(ended.session_id)
        if session is not None:
            session._end(ended.error)

    def _describe_close(self, exc: websockets.ConnectionClosed | None) -> str:
        explained = self.explain_close(exc) if self.explain_close is not None else None
        if explained:
            return explained
        if exc is not None and exc.rcvd is None:
            text = "websocket closed without a close frame (code 1006)"
        elif exc is not None and exc.rcvd is not None:
            text = f"websocket closed with code {exc.rcvd.code}"
        else:
            text = "websocket closed"
        return text

    def _closed(self, reason: str) -> None:
        if self.closed is not None:
            return
        error = ConnectionClosedError(reason)
        self.closed = error
        for msg_id, method in self._protocol.fail_all():
            fut = self._futures.get(msg_id)
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionClosedError(reason, method))
        closed_target = TargetClosedError(f"connection closed: {reason}")
        for session in self._sessions.values():
            if session.ended is None:
                session._end(closed_target)
        for callback in self._on_close:
            try:
                callback(error)
            except Exception:
                log.exception("on_close callback raised")


async def _by(deadline: float, awaitable: Awaitable[T]) -> T:
    """Await until the loop time ``deadline``, then raise TimeoutError."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout_at(deadline):  # no task per command, unlike wait_for
            return await awaitable
    loop = asyncio.get_running_loop()  # pragma: no cover - Python 3.10
    return await asyncio.wait_for(awaitable, max(0.0, deadline - loop.time()))
