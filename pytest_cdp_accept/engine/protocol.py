"""Network-free core of the CDP client.

Feed it the text frames the browser sends and it tells you what they mean;
ask it to encode a command and it gives you the frame to send. It owns the
bookkeeping that must be right regardless of the transport:

* message ids (one counter per connection) and which session each pending
  command belongs to;
* telling replies from events, routed by ``sessionId`` (flattened sessions);
* which sessions ended, and so which pending commands must fail at once: a
  crashed or detached target fails only its own commands, a closed connection
  fails everything.

No sockets, no asyncio: :class:`~pytest_cdp_accept.connection.Connection`
maps the ids this core hands out to futures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import CommandError, ProtocolError, TargetClosedError, TargetCrashedError

BROWSER_SESSION = ""
"""The session id of the browser-level session (messages without ``sessionId``)."""


@dataclass(frozen=True)
class Reply:
    """The answer to one command: a ``result`` or an ``error``."""

    id: int
    method: str
    session_id: str
    result: dict[str, Any] | None = None
    error: CommandError | None = None


@dataclass(frozen=True)
class Event:
    """An event, routed to the session it belongs to."""

    method: str
    params: dict[str, Any]
    session_id: str


@dataclass(frozen=True)
class SessionEnded:
    """A session is gone; the commands in ``failed`` must fail with ``error``."""

    session_id: str
    target_id: str | None
    error: TargetClosedError
    failed: tuple[tuple[int, str], ...]  # (id, method) of each failed command


Message = Reply | Event | SessionEnded


@dataclass
class _Pending:
    method: str
    session_id: str


@dataclass
class CDPProtocol:
    """Message ids, encoding, decoding and session bookkeeping for one connection."""

    _next_id: int = 0
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _target_of_session: dict[str, str] = field(default_factory=dict)
    _session_of_target: dict[str, str] = field(default_factory=dict)
    _ended: dict[str, TargetClosedError] = field(default_factory=dict)

    # -- outgoing -------------------------------------------------------------

    def encode(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str = BROWSER_SESSION,
        *,
        to_ended: bool = False,
    ) -> tuple[int, str]:
        """Allocate an id for a command and return ``(id, frame)``.

        Raises the session's error at once when the session already ended, so
        a command to a crashed page never waits for an answer that will not
        come. ``to_ended=True`` sends anyway: navigating a crashed tab is how
        it is brought back.
        """
        ended = self._ended.get(session_id)
        if ended is not None and not to_ended:
            raise type(ended)(ended.reason, method=method, target_id=ended.target_id)
        self._next_id += 1
        msg_id = self._next_id
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        self._pending[msg_id] = _Pending(method, session_id)
        return msg_id, json.dumps(message, separators=(",", ":"))

    def forget(self, msg_id: int) -> None:
        """Stop tracking a command (it timed out or was cancelled)."""
        self._pending.pop(msg_id, None)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def pending_ids(self, session_id: str | None = None) -> list[int]:
        """Ids of commands still waiting, for one session or all of them."""
        return [
            i for i, p in self._pending.items() if session_id is None or p.session_id == session_id
        ]

    def method_of(self, msg_id: int) -> str | None:
        pending = self._pending.get(msg_id)
        return pending.method if pending else None

    # -- session bookkeeping --------------------------------------------------

    def session_attached(self, session_id: str, target_id: str) -> None:
        self._target_of_session[session_id] = target_id
        self._session_of_target[target_id] = session_id
        self._ended.pop(session_id, None)

    def target_of(self, session_id: str) -> str | None:
        return self._target_of_session.get(session_id)

    def session_of(self, target_id: str) -> str | None:
        return self._session_of_target.get(target_id)

    def end_session(self, session_id: str, error: TargetClosedError) -> SessionEnded:
        """Mark a session as ended and collect the commands that must fail."""
        target_id = self._target_of_session.get(session_id)
        self._ended[session_id] = error
        failed = tuple(
            (i, p.method) for i, p in self._pending.items() if p.session_id == session_id
        )
        for msg_id, _ in failed:
            del self._pending[msg_id]
        return SessionEnded(session_id, target_id, error, failed)

    def _end_once(self, session_id: str | None, error: TargetClosedError) -> list[Message]:
        """End a session that goes away, unless it already ended and nothing was sent to
        it since (commands sent to a crashed tab with ``to_ended`` fail when the tab goes)."""
        if not session_id:
            return []
        if session_id in self._ended and not self.pending_ids(session_id):
            return []
        if session_id in self._ended:
            error = self._ended[session_id]
        return [self.end_session(session_id, error)]

    def revive_session(self, session_id: str) -> None:
        """A crashed target was reloaded: its session takes commands again."""
        self._ended.pop(session_id, None)

    def fail_all(self) -> list[tuple[int, str]]:
        """The connection is gone: return ``(id, method)`` of every pending command."""
        failed = [(i, p.method) for i, p in self._pending.items()]
        self._pending.clear()
        return failed

    # -- incoming -------------------------------------------------------------

    def feed(self, frame: str | bytes) -> list[Message]:
        """Decode one frame from the browser into the messages it implies."""
        try:
            data = json.loads(frame)
        except ValueError as exc:
            raise ProtocolError(f"browser sent a frame that is not JSON: {frame[:200]!r}") from exc
        if not isinstance(data, dict):
            raise ProtocolError(f"browser sent a frame that is not a JSON object: {frame[:200]!r}")
        try:
            session_id = data.get("sessionId") or BROWSER_SESSION
            if "id" in data:
                return self._reply(data, session_id)
            method = data.get("method")
            if not isinstance(method, str):
                raise ProtocolError(
                    f"browser sent a message with neither id nor method: {data!r:.200}"
                )
            params = data.get("params") or {}
            if not isinstance(params, dict):
                raise ProtocolError(f"event {method} has params that are not an object")
            return self._event(Event(method, params, session_id))
        except (TypeError, AttributeError, ValueError, KeyError) as exc:
            # Chromium never sends these; a broken peer must not kill the reader.
            raise ProtocolError(f"browser sent a malformed message: {data!r:.200}") from exc

    def _reply(self, data: dict[str, Any], session_id: str) -> list[Message]:
        msg_id = data["id"]
        pending = self._pending.pop(msg_id, None)
        if pending is None:
            # An answer to a command we gave up on (timeout): nothing waits for it.
            return []
        error = data.get("error")
        if error is not None:
            err = CommandError(
                pending.method,
                int(error.get("code", 0)),
                str(error.get("message", "")),
                error.get("data"),
            )
            return [Reply(msg_id, pending.method, pending.session_id, error=err)]
        result = data.get("result") or {}
        if pending.method == "Target.attachToTarget" and "sessionId" in result:
            target_id = self._target_of_session.get(result["sessionId"])
            if target_id:  # attachedToTarget usually arrives first and recorded it
                self.session_attached(result["sessionId"], target_id)
        return [Reply(msg_id, pending.method, pending.session_id, result=result)]

    def _event(self, event: Event) -> list[Message]:
        out: list[Message] = [event]
        method, params = event.method, event.params
        if method == "Target.attachedToTarget":
            info = params.get("targetInfo") or {}
            self.session_attached(params.get("sessionId", ""), info.get("targetId", ""))
        elif method == "Target.detachedFromTarget":
            sid = params.get("sessionId") or self._session_of_target.get(params.get("targetId", ""))
            out.extend(self._end_once(sid, TargetClosedError("target detached")))
        elif method == "Target.targetDestroyed":
            sid = self._session_of_target.get(params.get("targetId", ""))
            out.extend(self._end_once(sid, TargetClosedError("target closed")))
        elif method == "Target.targetCrashed":
            # Chromium reports one crash twice (here and as Inspector.targetCrashed): the
            # second notice must not fail the Page.navigate that is already reviving the tab.
            sid = self._session_of_target.get(params.get("targetId", ""))
            if sid and sid not in self._ended:
                status = params.get("status", "crashed")
                out.append(self.end_session(sid, _crashed(status, params.get("targetId"))))
        elif method == "Inspector.targetCrashed":
            sid = event.session_id
            if sid and sid not in self._ended:
                out.append(self.end_session(sid, _crashed("crashed", self.target_of(sid))))
        elif method == "Inspector.targetReloadedAfterCrash":
            self.revive_session(event.session_id)
        return out


def _crashed(status: str, target_id: str | None) -> TargetCrashedError:
    return TargetCrashedError(f"page crashed (renderer {status})", target_id=target_id)
