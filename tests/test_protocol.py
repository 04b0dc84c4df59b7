"""Tests for the network-free CDP core (sans-I/O): ids, frames, routing, sessions.

No browser, no sockets, no asyncio: frames go in as strings/bytes, messages come out.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from pytest_cdp_accept.engine.protocol import (
    BROWSER_SESSION,
    CDPProtocol,
    Event,
    Reply,
    SessionEnded,
)
from pytest_cdp_accept.errors import (
    CDPAcceptError,
    CommandError,
    ProtocolError,
    TargetClosedError,
    TargetCrashedError,
)

# --------------------------------------------------------------------------- helpers


def frame(**message: Any) -> str:
    """A browser frame: compact JSON of the given keys (``sessionId`` spelled as is)."""
    return json.dumps(message, separators=(",", ":"))


def reply_frame(msg_id: int, result: dict[str, Any] | None = None, **extra: Any) -> str:
    return frame(id=msg_id, result={} if result is None else result, **extra)


def event_frame(method: str, params: dict[str, Any] | None = None, session: str = "") -> str:
    message: dict[str, Any] = {"method": method}
    if params is not None:
        message["params"] = params
    if session:
        message["sessionId"] = session
    return frame(**message)


def attach(proto: CDPProtocol, session_id: str, target_id: str) -> list[Any]:
    """Feed the browser-session ``Target.attachedToTarget`` event for a page."""
    return proto.feed(
        event_frame(
            "Target.attachedToTarget",
            {
                "sessionId": session_id,
                "targetInfo": {"targetId": target_id, "type": "page", "url": "about:blank"},
                "waitingForDebugger": False,
            },
        )
    )


def ended_of(messages: list[Any]) -> list[SessionEnded]:
    return [m for m in messages if isinstance(m, SessionEnded)]


@pytest.fixture
def proto() -> CDPProtocol:
    return CDPProtocol()


@pytest.fixture
def two_pages(proto: CDPProtocol) -> CDPProtocol:
    """A protocol with page sessions A (target TA) and B (target TB) attached."""
    attach(proto, "A", "TA")
    attach(proto, "B", "TB")
    return proto


# --------------------------------------------------------------------------- encoding


def test_ids_start_at_one_and_increase(proto: CDPProtocol) -> None:
    ids = [proto.encode("Runtime.enable")[0] for _ in range(5)]
    assert ids == [1, 2, 3, 4, 5]


def test_ids_are_shared_across_sessions(proto: CDPProtocol) -> None:
    ids = [
        proto.encode("M", session_id=session)[0] for session in ["", "A", "B", "", "A", "C", "B"]
    ]
    assert ids == list(range(1, 8))


def test_separate_connections_count_separately() -> None:
    first, second = CDPProtocol(), CDPProtocol()
    first.encode("M")
    first.encode("M")
    assert second.encode("M")[0] == 1
    assert first.encode("M")[0] == 3


@pytest.mark.parametrize(
    ("method", "params", "session_id", "expected"),
    [
        (
            "Browser.getVersion",
            None,
            BROWSER_SESSION,
            '{"id":1,"method":"Browser.getVersion","params":{}}',
        ),
        (
            "Target.createTarget",
            {"url": "about:blank"},
            BROWSER_SESSION,
            '{"id":1,"method":"Target.createTarget","params":{"url":"about:blank"}}',
        ),
        (
            "Page.navigate",
            {"url": "http://x/"},
            "S1",
            '{"id":1,"method":"Page.navigate","params":{"url":"http://x/"},"sessionId":"S1"}',
        ),
        (
            "Page.enable",
            None,
            "S1",
            '{"id":1,"method":"Page.enable","params":{},"sessionId":"S1"}',
        ),
        (
            "Page.enable",
            {},
            "S1",
            '{"id":1,"method":"Page.enable","params":{},"sessionId":"S1"}',
        ),
        (
            "Runtime.evaluate",
            {"expression": "1 + 1", "nested": {"a": [1, 2]}},
            "",
            '{"id":1,"method":"Runtime.evaluate",'
            '"params":{"expression":"1 + 1","nested":{"a":[1,2]}}}',
        ),
    ],
    ids=[
        "browser-no-params",
        "browser-params",
        "session-params",
        "session-no-params",
        "session-empty-params",
        "nested-params",
    ],
)
def test_encoded_frame(
    proto: CDPProtocol,
    method: str,
    params: dict[str, Any] | None,
    session_id: str,
    expected: str,
) -> None:
    msg_id, text = proto.encode(method, params, session_id)
    assert msg_id == 1
    assert text == expected  # compact: no spaces after separators
    decoded = json.loads(text)
    assert decoded["id"] == msg_id
    assert decoded["method"] == method
    assert decoded["params"] == (params or {})
    if session_id:
        assert decoded["sessionId"] == session_id
    else:
        assert "sessionId" not in decoded


def test_encode_default_session_is_browser(proto: CDPProtocol) -> None:
    msg_id, text = proto.encode("Target.getTargets")
    assert "sessionId" not in json.loads(text)
    assert proto.pending_ids(BROWSER_SESSION) == [msg_id]


def test_encode_registers_pending(proto: CDPProtocol) -> None:
    assert proto.pending_count == 0
    assert proto.pending_ids() == []
    a, _ = proto.encode("Page.enable", session_id="A")
    b, _ = proto.encode("Runtime.enable", session_id="B")
    c, _ = proto.encode("Target.getTargets")
    assert proto.pending_count == 3
    assert proto.pending_ids() == [a, b, c]
    assert proto.pending_ids("A") == [a]
    assert proto.pending_ids("B") == [b]
    assert proto.pending_ids(BROWSER_SESSION) == [c]
    assert proto.pending_ids("unknown") == []
    assert proto.method_of(a) == "Page.enable"
    assert proto.method_of(c) == "Target.getTargets"
    assert proto.method_of(999) is None


# --------------------------------------------------------------------------- replies


def test_reply_routed_to_its_id(proto: CDPProtocol) -> None:
    first, _ = proto.encode("Browser.getVersion")
    second, _ = proto.encode("Page.navigate", {"url": "http://x/"}, "S1")
    (message,) = proto.feed(reply_frame(second, {"frameId": "F1"}, sessionId="S1"))
    assert message == Reply(second, "Page.navigate", "S1", result={"frameId": "F1"})
    assert message.error is None
    (message,) = proto.feed(reply_frame(first, {"product": "Chrome/1"}))
    assert message == Reply(
        first, "Browser.getVersion", BROWSER_SESSION, result={"product": "Chrome/1"}
    )


def test_reply_session_is_the_one_it_was_sent_on(proto: CDPProtocol) -> None:
    """The reply reports the command's session, not whatever the frame claims."""
    msg_id, _ = proto.encode("DOM.enable", session_id="S1")
    (message,) = proto.feed(reply_frame(msg_id, sessionId="OTHER"))
    assert isinstance(message, Reply)
    assert message.session_id == "S1"
    assert message.method == "DOM.enable"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"id":1,"result":{"a":1}}', {"a": 1}),
        ('{"id":1,"result":{}}', {}),
        ('{"id":1,"result":null}', {}),
        ('{"id":1}', {}),
    ],
    ids=["result", "empty", "null", "missing"],
)
def test_reply_result_shapes(proto: CDPProtocol, raw: str, expected: dict[str, Any]) -> None:
    proto.encode("M")
    (message,) = proto.feed(raw)
    assert isinstance(message, Reply)
    assert message.result == expected
    assert message.error is None


def test_reply_decrements_pending(proto: CDPProtocol) -> None:
    ids = [proto.encode("M")[0] for _ in range(3)]
    assert proto.pending_count == 3
    proto.feed(reply_frame(ids[1]))
    assert proto.pending_count == 2
    assert proto.pending_ids() == [ids[0], ids[2]]
    assert proto.method_of(ids[1]) is None
    proto.feed(reply_frame(ids[0]))
    proto.feed(reply_frame(ids[2]))
    assert proto.pending_count == 0
    assert proto.pending_ids() == []


def test_replied_command_is_no_longer_pending_and_a_second_reply_is_ignored(
    proto: CDPProtocol,
) -> None:
    msg_id, _ = proto.encode("M", session_id="S")
    assert len(proto.feed(reply_frame(msg_id))) == 1
    assert msg_id not in proto.pending_ids()
    assert proto.feed(reply_frame(msg_id)) == []
    assert proto.pending_count == 0


@pytest.mark.parametrize(
    ("error", "code", "text", "data"),
    [
        (
            {"code": -32000, "message": "Cannot navigate to invalid URL"},
            -32000,
            "Cannot navigate to invalid URL",
            None,
        ),
        (
            {"code": -32602, "message": "Invalid parameters", "data": "url: string value expected"},
            -32602,
            "Invalid parameters",
            "url: string value expected",
        ),
        (
            {"code": -32601, "message": "'Nope.nope' wasn't found"},
            -32601,
            "'Nope.nope' wasn't found",
            None,
        ),
        ({"message": "no code"}, 0, "no code", None),
        ({"code": 7}, 7, "", None),
        ({}, 0, "", None),
    ],
    ids=["plain", "with-data", "method-not-found", "no-code", "no-message", "empty"],
)
def test_error_reply_becomes_command_error(
    proto: CDPProtocol, error: dict[str, Any], code: int, text: str, data: Any
) -> None:
    proto.encode("Other.first")
    msg_id, _ = proto.encode("Page.navigate", {"url": "bad"}, "S1")
    (message,) = proto.feed(frame(id=msg_id, error=error, sessionId="S1"))
    assert isinstance(message, Reply)
    assert (message.id, message.method, message.session_id) == (msg_id, "Page.navigate", "S1")
    assert message.result is None
    err = message.error
    assert isinstance(err, CommandError)
    assert isinstance(err, ProtocolError)
    assert isinstance(err, CDPAcceptError)
    assert (err.method, err.code, err.message, err.data) == ("Page.navigate", code, text, data)
    rendered = str(err)
    assert "Page.navigate" in rendered
    assert str(code) in rendered
    assert text in rendered
    if data is not None:
        assert str(data) in rendered
    assert proto.pending_count == 1  # only Other.first is left


def test_error_reply_text_exact(proto: CDPProtocol) -> None:
    msg_id, _ = proto.encode("DOM.querySelector", session_id="S")
    (message,) = proto.feed(
        frame(id=msg_id, error={"code": -32000, "message": "Could not find node", "data": "x"})
    )
    assert str(message.error) == "DOM.querySelector failed: Could not find node [code -32000] (x)"


@pytest.mark.parametrize(
    "raw",
    [
        '{"id":42,"result":{}}',
        '{"id":42,"error":{"code":-32000,"message":"late"}}',
        '{"id":42,"result":{},"sessionId":"S"}',
        '{"id":0,"result":{}}',
    ],
    ids=["result", "error", "session", "zero"],
)
def test_reply_for_unknown_id_yields_nothing(proto: CDPProtocol, raw: str) -> None:
    proto.encode("M")
    assert proto.feed(raw) == []
    assert proto.pending_count == 1


def test_reply_for_forgotten_id_yields_nothing(proto: CDPProtocol) -> None:
    """The timeout case: the caller gave up, then the answer arrives."""
    msg_id, _ = proto.encode("Page.captureScreenshot", session_id="S")
    other, _ = proto.encode("Page.enable", session_id="S")
    proto.forget(msg_id)
    assert proto.pending_ids() == [other]
    assert proto.pending_count == 1
    assert proto.method_of(msg_id) is None
    assert proto.feed(reply_frame(msg_id, {"data": "..."})) == []
    assert proto.pending_ids() == [other]


def test_forget_unknown_id_is_harmless(proto: CDPProtocol) -> None:
    msg_id, _ = proto.encode("M")
    proto.forget(12345)
    proto.forget(msg_id)
    proto.forget(msg_id)
    assert proto.pending_count == 0


def test_attach_to_target_reply_keeps_mapping(proto: CDPProtocol) -> None:
    msg_id, _ = proto.encode("Target.attachToTarget", {"targetId": "T1", "flatten": True})
    attach(proto, "S1", "T1")  # the event usually arrives before the reply
    (message,) = proto.feed(reply_frame(msg_id, {"sessionId": "S1"}))
    assert message == Reply(msg_id, "Target.attachToTarget", "", result={"sessionId": "S1"})
    assert proto.target_of("S1") == "T1"
    assert proto.session_of("T1") == "S1"


def test_attach_to_target_reply_without_event_records_nothing(proto: CDPProtocol) -> None:
    msg_id, _ = proto.encode("Target.attachToTarget", {"targetId": "T1", "flatten": True})
    (message,) = proto.feed(reply_frame(msg_id, {"sessionId": "S1"}))
    assert isinstance(message, Reply)
    assert proto.target_of("S1") is None
    assert proto.session_of("T1") is None


# --------------------------------------------------------------------------- events


@pytest.mark.parametrize(
    ("raw", "method", "params", "session_id"),
    [
        (
            '{"method":"Page.loadEventFired","params":{"timestamp":1.5},"sessionId":"S1"}',
            "Page.loadEventFired",
            {"timestamp": 1.5},
            "S1",
        ),
        (
            '{"method":"Target.targetCreated","params":{"targetInfo":{"targetId":"T"}}}',
            "Target.targetCreated",
            {"targetInfo": {"targetId": "T"}},
            BROWSER_SESSION,
        ),
        (
            '{"method":"Page.domContentEventFired","sessionId":"S2"}',
            "Page.domContentEventFired",
            {},
            "S2",
        ),
        (
            '{"method":"Runtime.executionContextsCleared"}',
            "Runtime.executionContextsCleared",
            {},
            "",
        ),
        (
            '{"method":"Page.frameResized","params":null,"sessionId":"S1"}',
            "Page.frameResized",
            {},
            "S1",
        ),
        ('{"method":"Page.frameResized","params":{},"sessionId":""}', "Page.frameResized", {}, ""),
        ('{"method":"Page.frameResized","sessionId":null}', "Page.frameResized", {}, ""),
    ],
    ids=[
        "session-params",
        "browser-params",
        "session-no-params",
        "browser-no-params",
        "null-params",
        "empty-session-id",
        "null-session-id",
    ],
)
def test_event_routing(
    proto: CDPProtocol, raw: str, method: str, params: dict[str, Any], session_id: str
) -> None:
    assert proto.feed(raw) == [Event(method, params, session_id)]


def test_event_does_not_touch_pending(proto: CDPProtocol) -> None:
    msg_id, _ = proto.encode("Page.enable", session_id="S1")
    proto.feed(event_frame("Page.loadEventFired", {"timestamp": 1}, "S1"))
    assert proto.pending_ids() == [msg_id]


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        ("", "not JSON"),
        ("not json", "not JSON"),
        ('{"id": 1', "not JSON"),
        ("{'id': 1}", "not JSON"),
        (b"\x80\x81garbage", "not JSON"),
        (b"{broken", "not JSON"),
        ("[]", "not a JSON object"),
        ('[{"id":1}]', "not a JSON object"),
        ("1", "not a JSON object"),
        ("3.5", "not a JSON object"),
        ('"text"', "not a JSON object"),
        ("null", "not a JSON object"),
        ("true", "not a JSON object"),
        (b"[1,2]", "not a JSON object"),
        ("{}", "neither id nor method"),
        ('{"result":{}}', "neither id nor method"),
        ('{"params":{},"sessionId":"S"}', "neither id nor method"),
        ('{"method":null}', "neither id nor method"),
        ('{"method":5}', "neither id nor method"),
        (b'{"sessionId":"S"}', "neither id nor method"),
    ],
)
def test_malformed_frames_raise_protocol_error(
    proto: CDPProtocol, raw: str | bytes, what: str
) -> None:
    msg_id, _ = proto.encode("M")
    with pytest.raises(ProtocolError, match=what) as info:
        proto.feed(raw)
    assert not isinstance(info.value, CommandError)
    assert proto.pending_ids() == [msg_id]  # nothing changed


def test_malformed_non_json_chains_the_decoder_error(proto: CDPProtocol) -> None:
    with pytest.raises(ProtocolError) as info:
        proto.feed("nope")
    assert isinstance(info.value.__cause__, ValueError)


def test_malformed_frame_is_quoted_but_truncated(proto: CDPProtocol) -> None:
    raw = "x" * 5000
    with pytest.raises(ProtocolError) as info:
        proto.feed(raw)
    assert "xxxx" in str(info.value)
    assert len(str(info.value)) < 400


def test_malformed_object_is_quoted_but_truncated(proto: CDPProtocol) -> None:
    raw = frame(junk="y" * 5000)
    with pytest.raises(ProtocolError) as info:
        proto.feed(raw)
    assert "junk" in str(info.value)
    assert len(str(info.value)) < 400


def test_bytes_frames_work(proto: CDPProtocol) -> None:
    msg_id, _ = proto.encode("Page.navigate", session_id="S1")
    (reply,) = proto.feed(reply_frame(msg_id, {"frameId": "F"}).encode())
    assert reply == Reply(msg_id, "Page.navigate", "S1", result={"frameId": "F"})
    (event,) = proto.feed(event_frame("Page.loadEventFired", {"t": 1}, "S1").encode())
    assert event == Event("Page.loadEventFired", {"t": 1}, "S1")
    (event,) = proto.feed('{"method":"Log.entryAdded","params":{"text":"héllo ✓"}}'.encode())
    assert event == Event("Log.entryAdded", {"text": "héllo ✓"}, "")


def test_bytes_attached_event_records_session(proto: CDPProtocol) -> None:
    raw = event_frame(
        "Target.attachedToTarget", {"sessionId": "S", "targetInfo": {"targetId": "T"}}
    ).encode()
    proto.feed(raw)
    assert proto.target_of("S") == "T"


@pytest.mark.parametrize(
    "raw",
    [
        '{"id":[1],"result":{}}',
        '{"id":1,"error":"boom"}',
        '{"id":1,"error":{"code":"x","message":"m"}}',
        '{"method":"Target.attachedToTarget","params":[1]}',
        '{"method":"Target.attachedToTarget","params":{"sessionId":"S","targetInfo":"T"}}',
        '{"method":"Target.targetDestroyed","params":{"targetId":["T"]}}',
    ],
    ids=[
        "unhashable-id",
        "error-not-object",
        "error-code-not-int",
        "params-not-object",
        "target-info-not-object",
        "target-id-unhashable",
    ],
)
def test_wrongly_typed_fields_raise_protocol_error(proto: CDPProtocol, raw: str) -> None:
    proto.encode("M")
    with pytest.raises(ProtocolError):
        proto.feed(raw)


# --------------------------------------------------------------------------- sessions


def test_attached_to_target_records_mapping(proto: CDPProtocol) -> None:
    assert proto.target_of("S1") is None
    assert proto.session_of("T1") is None
    messages = attach(proto, "S1", "T1")
    assert len(messages) == 1
    (event,) = messages
    assert isinstance(event, Event)
    assert event.method == "Target.attachedToTarget"
    assert event.session_id == BROWSER_SESSION
    assert event.params["sessionId"] == "S1"
    assert proto.target_of("S1") == "T1"
    assert proto.session_of("T1") == "S1"
    attach(proto, "S2", "T2")
    assert proto.target_of("S2") == "T2"
    assert proto.session_of("T2") == "S2"
    assert proto.target_of("S1") == "T1"


def test_attached_to_target_on_a_page_session_records_mapping(proto: CDPProtocol) -> None:
    """Auto-attach (flatten) reports child targets on the parent's session."""
    attach(proto, "P", "TP")
    proto.feed(
        event_frame(
            "Target.attachedToTarget",
            {"sessionId": "W", "targetInfo": {"targetId": "TW", "type": "worker"}},
            session="P",
        )
    )
    assert proto.target_of("W") == "TW"
    assert proto.session_of("TW") == "W"


def test_session_attached_directly(proto: CDPProtocol) -> None:
    proto.session_attached("S", "T")
    assert proto.target_of("S") == "T"
    assert proto.session_of("T") == "S"


def test_reattach_revives_an_ended_session(proto: CDPProtocol) -> None:
    attach(proto, "S", "T")
    proto.feed(event_frame("Target.detachedFromTarget", {"sessionId": "S"}))
    with pytest.raises(TargetClosedError):
        proto.encode("M", session_id="S")
    attach(proto, "S", "T")
    assert proto.encode("M", session_id="S")[0] == 1


def test_browser_session_is_never_ended_by_inspector_events(proto: CDPProtocol) -> None:
    msg_id, _ = proto.encode("Target.getTargets")
    messages = proto.feed(event_frame("Inspector.targetCrashed"))
    assert messages == [Event("Inspector.targetCrashed", {}, BROWSER_SESSION)]
    assert proto.pending_ids() == [msg_id]
    proto.encode("Browser.getVersion")


# --------------------------------------------------------------------------- crash / detach


def _pending_on_two_pages(proto: CDPProtocol) -> dict[str, list[tuple[int, str]]]:
    sent: dict[str, list[tuple[int, str]]] = {"A": [], "B": [], "": []}
    for session, method in [
        ("A", "Page.enable"),
        ("B", "Page.enable"),
        ("", "Target.getTargets"),
        ("A", "Runtime.evaluate"),
        ("B", "Runtime.evaluate"),
        ("A", "Page.navigate"),
    ]:
        msg_id, _ = proto.encode(method, session_id=session)
        sent[session].append((msg_id, method))
    return sent


def test_inspector_target_crashed_fails_only_that_session(two_pages: CDPProtocol) -> None:
    proto = two_pages
    sent = _pending_on_two_pages(proto)
    messages = proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    assert len(messages) == 2
    event, ended = messages
    assert event == Event("Inspector.targetCrashed", {}, "A")
    assert isinstance(ended, SessionEnded)
    assert ended.session_id == "A"
    assert ended.target_id == "TA"
    assert ended.failed == tuple(sent["A"])
    assert type(ended.error) is TargetCrashedError
    assert isinstance(ended.error, TargetClosedError)
    assert ended.error.target_id == "TA"
    assert "crash" in str(ended.error)
    # B's and the browser's commands are untouched
    assert proto.pending_ids("A") == []
    assert proto.pending_ids("B") == [i for i, _ in sent["B"]]
    assert proto.pending_ids("") == [i for i, _ in sent[""]]
    assert proto.pending_count == len(sent["B"]) + len(sent[""])


def test_late_reply_for_a_failed_command_is_ignored(two_pages: CDPProtocol) -> None:
    proto = two_pages
    msg_id, _ = proto.encode("Page.navigate", session_id="A")
    proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    assert proto.feed(reply_frame(msg_id, sessionId="A")) == []


def test_encode_to_crashed_session_raises_at_once(two_pages: CDPProtocol) -> None:
    proto = two_pages
    proto.encode("Page.enable", session_id="A")  # id 1
    proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    with pytest.raises(TargetCrashedError) as info:
        proto.encode("Runtime.evaluate", {"expression": "1"}, session_id="A")
    err = info.value
    assert type(err) is TargetCrashedError
    assert err.method == "Runtime.evaluate"
    assert err.target_id == "TA"
    assert "Runtime.evaluate" in str(err)
    assert "crash" in str(err)
    assert proto.pending_count == 0  # nothing registered
    # the refused command did not use up an id; other sessions still work
    assert proto.encode("Page.enable", session_id="B")[0] == 2
    assert proto.encode("Target.getTargets")[0] == 3


def test_encode_to_ended_session_with_to_ended(two_pages: CDPProtocol) -> None:
    """Navigating a crashed tab is how it is revived."""
    proto = two_pages
    proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    msg_id, text = proto.encode("Page.navigate", {"url": "about:blank"}, "A", to_ended=True)
    assert json.loads(text) == {
        "id": msg_id,
        "method": "Page.navigate",
        "params": {"url": "about:blank"},
        "sessionId": "A",
    }
    assert proto.pending_ids("A") == [msg_id]
    # still ended for ordinary commands
    with pytest.raises(TargetCrashedError):
        proto.encode("Runtime.evaluate", session_id="A")
    (reply,) = proto.feed(reply_frame(msg_id, {"frameId": "F"}, sessionId="A"))
    assert reply == Reply(msg_id, "Page.navigate", "A", result={"frameId": "F"})


def test_to_ended_on_a_live_session_is_ordinary(proto: CDPProtocol) -> None:
    msg_id, text = proto.encode("Page.enable", session_id="S", to_ended=True)
    assert msg_id == 1
    assert json.loads(text)["sessionId"] == "S"


def test_target_reloaded_after_crash_revives(two_pages: CDPProtocol) -> None:
    proto = two_pages
    proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    with pytest.raises(TargetCrashedError):
        proto.encode("Page.enable", session_id="A")
    messages = proto.feed(event_frame("Inspector.targetReloadedAfterCrash", {}, "A"))
    assert messages == [Event("Inspector.targetReloadedAfterCrash", {}, "A")]
    msg_id, _ = proto.encode("Page.enable", session_id="A")
    assert proto.pending_ids("A") == [msg_id]
    # and a second crash is reported again
    messages = proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    assert [m.failed for m in ended_of(messages)] == [((msg_id, "Page.enable"),)]


def test_revive_session_directly(proto: CDPProtocol) -> None:
    proto.end_session("S", TargetCrashedError("boom"))
    with pytest.raises(TargetCrashedError):
        proto.encode("M", session_id="S")
    proto.revive_session("S")
    assert proto.encode("M", session_id="S")[0] == 1
    proto.revive_session("never-ended")  # harmless


@pytest.mark.parametrize(
    ("status", "expected_text"),
    [("crashed", "renderer crashed"), ("killed", "renderer killed"), (None, "renderer crashed")],
)
def test_browser_target_crashed_ends_the_mapped_session(
    two_pages: CDPProtocol, status: str | None, expected_text: str
) -> None:
    proto = two_pages
    sent = _pending_on_two_pages(proto)
    params: dict[str, Any] = {"targetId": "TB", "errorCode": 9}
    if status is not None:
        params["status"] = status
    messages = proto.feed(event_frame("Target.targetCrashed", params))
    assert messages[0] == Event("Target.targetCrashed", params, BROWSER_SESSION)
    (ended,) = ended_of(messages)
    assert len(messages) == 2
    assert ended.session_id == "B"
    assert ended.target_id == "TB"
    assert ended.failed == tuple(sent["B"])
    assert type(ended.error) is TargetCrashedError
    assert ended.error.target_id == "TB"
    assert expected_text in str(ended.error)
    assert proto.pending_ids("A") == [i for i, _ in sent["A"]]
    with pytest.raises(TargetCrashedError, match=r"Page\.enable"):
        proto.encode("Page.enable", session_id="B")


@pytest.mark.parametrize(
    ("method", "params", "target_id"),
    [
        ("Target.detachedFromTarget", {"sessionId": "A"}, "TA"),
        ("Target.detachedFromTarget", {"sessionId": "A", "targetId": "TA"}, "TA"),
        ("Target.detachedFromTarget", {"targetId": "TA"}, "TA"),  # deprecated form
        ("Target.targetDestroyed", {"targetId": "TA"}, "TA"),
    ],
    ids=["detached-session", "detached-both", "detached-target-only", "destroyed"],
)
def test_detach_and_destroy_end_with_target_closed(
    two_pages: CDPProtocol, method: str, params: dict[str, Any], target_id: str
) -> None:
    proto = two_pages
    sent = _pending_on_two_pages(proto)
    messages = proto.feed(event_frame(method, params))
    assert messages[0] == Event(method, params, BROWSER_SESSION)
    (ended,) = ended_of(messages)
    assert len(messages) == 2
    assert ended.session_id == "A"
    assert ended.target_id == target_id
    assert ended.failed == tuple(sent["A"])
    assert type(ended.error) is TargetClosedError  # not the crashed subclass
    assert not isinstance(ended.error, TargetCrashedError)
    assert proto.pending_ids("A") == []
    assert proto.pending_ids("B") == [i for i, _ in sent["B"]]
    with pytest.raises(TargetClosedError) as info:
        proto.encode("Page.reload", session_id="A")
    assert type(info.value) is TargetClosedError
    assert info.value.method == "Page.reload"
    assert "Page.reload" in str(info.value)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            ("Inspector.targetCrashed", {}, "A"),
            ("Target.targetCrashed", {"targetId": "TA", "status": "crashed"}, ""),
        ),
        (
            ("Target.targetCrashed", {"targetId": "TA", "status": "crashed"}, ""),
            ("Inspector.targetCrashed", {}, "A"),
        ),
        (("Inspector.targetCrashed", {}, "A"), ("Inspector.targetCrashed", {}, "A")),
        (
            ("Inspector.targetCrashed", {}, "A"),
            ("Target.detachedFromTarget", {"sessionId": "A"}, ""),
        ),
        (("Inspector.targetCrashed", {}, "A"), ("Target.targetDestroyed", {"targetId": "TA"}, "")),
        (
            ("Target.detachedFromTarget", {"sessionId": "A"}, ""),
            ("Target.targetDestroyed", {"targetId": "TA"}, ""),
        ),
        (
            ("Target.targetDestroyed", {"targetId": "TA"}, ""),
            ("Target.detachedFromTarget", {"sessionId": "A"}, ""),
        ),
        (
            ("Target.detachedFromTarget", {"sessionId": "A"}, ""),
            ("Target.detachedFromTarget", {"sessionId": "A"}, ""),
        ),
    ],
    ids=[
        "inspector-then-target-crash",
        "target-then-inspector-crash",
        "crash-twice",
        "crash-then-detach",
        "crash-then-destroy",
        "detach-then-destroy",
        "destroy-then-detach",
        "detach-twice",
    ],
)
def test_an_ended_session_is_not_reported_twice(
    two_pages: CDPProtocol,
    first: tuple[str, dict[str, Any], str],
    second: tuple[str, dict[str, Any], str],
) -> None:
    proto = two_pages
    sent = _pending_on_two_pages(proto)
    first_messages = proto.feed(event_frame(*first))
    (ended,) = ended_of(first_messages)
    assert ended.failed == tuple(sent["A"])
    error_type = type(ended.error)
    second_messages = proto.feed(event_frame(*second))
    assert second_messages == [Event(second[0], second[1], second[2])]
    # the first end's error is the one that sticks
    with pytest.raises(error_type) as info:
        proto.encode("M", session_id="A")
    assert type(info.value) is error_type
    assert proto.pending_ids("B") == [i for i, _ in sent["B"]]


@pytest.mark.parametrize(
    ("method", "params", "session"),
    [
        ("Target.targetCrashed", {"targetId": "T-unknown", "status": "crashed"}, ""),
        ("Target.targetDestroyed", {"targetId": "T-unknown"}, ""),
        ("Target.detachedFromTarget", {"targetId": "T-unknown"}, ""),
        ("Target.targetCrashed", {}, ""),
        ("Target.targetDestroyed", {}, ""),
        ("Target.detachedFromTarget", {}, ""),
        ("Inspector.targetCrashed", {}, ""),
    ],
    ids=[
        "crashed-unknown",
        "destroyed-unknown",
        "detached-unknown-target",
        "crashed-no-target",
        "destroyed-no-target",
        "detached-nothing",
        "inspector-crash-on-browser",
    ],
)
def test_end_for_unknown_target_is_just_the_event(
    two_pages: CDPProtocol, method: str, params: dict[str, Any], session: str
) -> None:
    proto = two_pages
    sent = _pending_on_two_pages(proto)
    before = proto.pending_ids()
    assert proto.feed(event_frame(method, params, session)) == [Event(method, params, session)]
    assert proto.pending_ids() == before
    for session_id in sent:
        proto.encode("M", session_id=session_id)  # nothing ended


def test_reloaded_after_crash_on_a_live_session_is_just_the_event(
    two_pages: CDPProtocol,
) -> None:
    proto = two_pages
    msg_id, _ = proto.encode("M", session_id="A")
    messages = proto.feed(event_frame("Inspector.targetReloadedAfterCrash", {}, "A"))
    assert messages == [Event("Inspector.targetReloadedAfterCrash", {}, "A")]
    assert proto.pending_ids() == [msg_id]


def test_end_session_directly(two_pages: CDPProtocol) -> None:
    proto = two_pages
    sent = _pending_on_two_pages(proto)
    error = TargetClosedError("gone")
    ended = proto.end_session("A", error)
    assert ended == SessionEnded("A", "TA", error, tuple(sent["A"]))
    ended = proto.end_session("unmapped", TargetClosedError("gone"))
    assert ended.target_id is None
    assert ended.failed == ()


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("Target.targetDestroyed", {"targetId": "TA"}),
        ("Target.detachedFromTarget", {"sessionId": "A"}),
    ],
    ids=["destroyed", "detached"],
)
def test_command_sent_to_ended_session_fails_when_target_goes(
    two_pages: CDPProtocol, method: str, params: dict[str, Any]
) -> None:
    proto = two_pages
    proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    msg_id, _ = proto.encode("Page.navigate", {"url": "about:blank"}, "A", to_ended=True)
    messages = proto.feed(event_frame(method, params))
    failed = [pair for ended in ended_of(messages) for pair in ended.failed]
    assert failed == [(msg_id, "Page.navigate")]
    assert proto.pending_ids("A") == []


# --------------------------------------------------------------------------- fail_all


def test_fail_all_returns_every_pending_and_clears(two_pages: CDPProtocol) -> None:
    proto = two_pages
    sent = _pending_on_two_pages(proto)
    every = sorted(sent["A"] + sent["B"] + sent[""])
    proto.feed(reply_frame(every[0][0]))  # one is answered before the socket dies
    failed = proto.fail_all()
    assert sorted(failed) == every[1:]
    assert proto.pending_count == 0
    assert proto.pending_ids() == []
    assert proto.fail_all() == []
    for msg_id, _ in every:
        assert proto.feed(reply_frame(msg_id)) == []


def test_fail_all_on_empty(proto: CDPProtocol) -> None:
    assert proto.fail_all() == []


def test_fail_all_includes_commands_sent_to_ended_sessions(two_pages: CDPProtocol) -> None:
    proto = two_pages
    proto.feed(event_frame("Inspector.targetCrashed", {}, "A"))
    msg_id, _ = proto.encode("Page.navigate", session_id="A", to_ended=True)
    assert proto.fail_all() == [(msg_id, "Page.navigate")]


def test_ids_keep_increasing_after_fail_all(proto: CDPProtocol) -> None:
    proto.encode("M")
    proto.encode("M")
    proto.fail_all()
    assert proto.encode("M")[0] == 3


# --------------------------------------------------------------------------- property


@pytest.mark.parametrize("seed", range(12))
def test_random_interleaving_resolves_every_id_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    proto = CDPProtocol()
    sessions = {"A": "TA", "B": "TB", "C": "TC"}
    for session_id, target_id in sessions.items():
        attach(proto, session_id, target_id)

    sent: dict[int, tuple[str, str]] = {}  # id -> (method, session)
    resolutions: dict[int, list[str]] = {}  # id -> how it was resolved, in order
    crashed: str | None = None
    crash_step = rng.randrange(10, 50)
    crash_fed = False
    refused = 0
    revived = False

    def record(messages: list[Any]) -> None:
        for message in messages:
            if isinstance(message, Reply):
                resolutions.setdefault(message.id, []).append("reply")
                method, session_id = sent[message.id]
                assert message.method == method
                assert message.session_id == session_id
            elif isinstance(message, SessionEnded):
                assert message.session_id == crashed
                assert type(message.error) is TargetCrashedError
                for msg_id, method in message.failed:
                    resolutions.setdefault(msg_id, []).append("ended")
                    assert sent[msg_id] == (method, message.session_id)

    for step in range(80):
        if step == crash_step:
            crashed = rng.choice(sorted(sessions))
            if rng.random() < 0.5:
                raw = event_frame("Inspector.targetCrashed", {}, crashed)
            else:
                raw = event_frame("Target.targetCrashed", {"targetId": sessions[crashed]})
            messages = proto.feed(raw)
            ends = ended_of(messages)
            assert [e.session_id for e in ends] == [crashed]
            assert not proto.pending_ids(crashed)
            crash_fed = True
            record(messages)
            continue
        if crash_fed and not revived and rng.random() < 0.03:
            assert crashed is not None
            proto.feed(event_frame("Inspector.targetReloadedAfterCrash", {}, crashed))
            revived = True
            continue
        action = rng.random()
        pending = proto.pending_ids()
        if action < 0.5 or not pending:
            session_id = rng.choice(sorted(sessions))
            method = rng.choice(["Page.enable", "Runtime.evaluate", "Page.navigate"])
            to_ended = rng.random() < 0.2
            expected_id = len(sent) + 1
            if session_id == crashed and not revived and not to_ended:
                with pytest.raises(TargetCrashedError):
                    proto.encode(method, session_id=session_id)
                refused += 1
                continue
            msg_id, text = proto.encode(method, {"n": step}, session_id, to_ended=to_ended)
            assert msg_id == expected_id  # refused encodes use no id
            assert msg_id not in sent
            assert json.loads(text)["sessionId"] == session_id
            sent[msg_id] = (method, session_id)
        elif action < 0.9:
            msg_id = rng.choice(pending)
            record(proto.feed(reply_frame(msg_id, {"step": step}, sessionId=sent[msg_id][1])))
        else:
            # a duplicate or late reply for something already resolved (or unknown)
            done = [i for i in sent if i not in pending] or [10_000]
            assert proto.feed(reply_frame(rng.choice(done))) == []

    assert crash_fed

    still_pending = set(proto.pending_ids())
    for msg_id in sent:
        how = resolutions.get(msg_id, [])
        assert len(how) <= 1, f"id {msg_id} resolved more than once: {how}"
        assert bool(how) != (msg_id in still_pending), (
            f"id {msg_id}: resolved={how}, pending={msg_id in still_pending}"
        )
    assert set(resolutions) <= set(sent)
    assert still_pending <= set(sent)
    assert proto.pending_count == len(still_pending)

    # finally the connection dies: whatever is left fails exactly once
    for msg_id, method in proto.fail_all():
        assert msg_id in still_pending
        assert sent[msg_id][0] == method
        resolutions.setdefault(msg_id, []).append("fail_all")
    assert all(len(resolutions.get(i, [])) == 1 for i in sent)
    assert proto.pending_count == 0


@pytest.mark.parametrize("first", ["Inspector.targetCrashed", "Target.targetCrashed"])
def test_the_second_crash_notice_does_not_fail_the_reviving_navigation(
    two_pages: CDPProtocol, first: str
) -> None:
    """Chromium reports one crash twice; the tab is being revived in between."""
    proto = two_pages
    notices = {
        "Inspector.targetCrashed": event_frame("Inspector.targetCrashed", {}, session="A"),
        "Target.targetCrashed": event_frame(
            "Target.targetCrashed", {"targetId": "TA", "status": "crashed"}
        ),
    }
    second = next(m for m in notices if m != first)
    proto.feed(notices[first])
    revive_id, _ = proto.encode("Page.navigate", {"url": "http://x/"}, "A", to_ended=True)
    assert ended_of(proto.feed(notices[second])) == []
    assert revive_id in proto.pending_ids("A")
    assert proto.feed(reply_frame(revive_id, {"loaderId": "L"}, sessionId="A"))
