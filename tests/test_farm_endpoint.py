"""Farm addresses, secrets and status meanings: pure logic, no sockets."""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest

from pytest_cdp_accept.engine.farm_endpoint import (
    REDACTOR,
    FarmEndpoint,
    RedactingFilter,
    SecretURL,
    classify_status,
    describe_cut,
    farm_launch_args,
    parse_header,
    redact,
    retry_after_seconds,
)
from pytest_cdp_accept.engine.launcher import default_args
from pytest_cdp_accept.errors import UsageError

TOKEN = "tok-51c7e0a9-unit"


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# -- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"ws://farm.example:3000?token={TOKEN}",
        f"wss://farm.example/chromium?token={TOKEN}&timeout=60000",
        f"http://127.0.0.1:3000?token={TOKEN}",
        "https://farm.example:8443/prefix/",
    ],
)
def test_parse_keeps_the_url_whole(url: str) -> None:
    endpoint = FarmEndpoint.parse(url)
    assert endpoint.url == url
    assert isinstance(endpoint.url, SecretURL)


@pytest.mark.parametrize(
    "url", ["farm.example:3000", "ftp://farm.example", "ws://", "http://host:notaport"]
)
def test_parse_rejects_what_is_no_farm_url(url: str) -> None:
    with pytest.raises(UsageError, match="--cdp-farm"):
        FarmEndpoint.parse(url)


def test_a_bad_url_is_shown_without_its_secret() -> None:
    with pytest.raises(UsageError) as info:
        FarmEndpoint.parse(f"ftp://farm.example/?token={TOKEN}")
    assert TOKEN not in str(info.value)
    assert "token=***" in str(info.value)


def test_version_url_keeps_path_prefix_and_query() -> None:
    endpoint = FarmEndpoint.parse(f"https://farm.example:8443/chrome/?token={TOKEN}&x=1")
    assert (
        endpoint.version_url == f"https://farm.example:8443/chrome/json/version?token={TOKEN}&x=1"
    )
    ws = FarmEndpoint.parse(f"wss://farm.example?token={TOKEN}")
    assert ws.version_url == f"https://farm.example/json/version?token={TOKEN}"


def test_ws_url_of_an_http_endpoint_needs_resolving() -> None:
    assert FarmEndpoint.parse(f"ws://h:1?token={TOKEN}").ws_url == f"ws://h:1?token={TOKEN}"
    with pytest.raises(UsageError, match="json/version"):
        FarmEndpoint.parse("http://h:1").ws_url  # noqa: B018


def test_http_url_carries_only_credentials() -> None:
    endpoint = FarmEndpoint.parse(f"ws://h:1/chromium?token={TOKEN}&timeout=5000&launch=%7B%7D")
    assert endpoint.http_url("/pressure") == f"http://h:1/pressure?token={TOKEN}"
    assert endpoint.http_url("/kill/abc") == f"http://h:1/kill/abc?token={TOKEN}"
    secure = FarmEndpoint.parse("wss://h/x")
    assert secure.http_url("/pressure") == "https://h/pressure"


# -- /json/version's answer ------------------------------------------------------------------


def test_adopt_carries_the_query_the_farm_left_out() -> None:
    endpoint = FarmEndpoint.parse(f"http://127.0.0.1:3000?token={TOKEN}&timeout=60000")
    adopted = endpoint.adopt("ws://127.0.0.1:3000")
    assert adopted.is_websocket
    assert query_of(adopted.url) == {"token": TOKEN, "timeout": "60000"}


def test_adopt_keeps_what_the_farm_returned() -> None:
    endpoint = FarmEndpoint.parse(f"http://h:9222?token={TOKEN}")
    adopted = endpoint.adopt("ws://h:9222/devtools/browser/abc?token=theirs")
    assert urllib.parse.urlsplit(adopted.url).path == "/devtools/browser/abc"
    assert query_of(adopted.url) == {"token": "theirs"}


@pytest.mark.parametrize(
    ("ours", "returned", "netloc"),
    [
        ("http://farm.internal:3000", "ws://0.0.0.0:3000", "farm.internal:3000"),
        ("http://farm.internal:3000", "ws://localhost:3000", "farm.internal:3000"),
        ("http://10.1.2.3:3000", "ws://127.0.0.1:3000/x", "10.1.2.3:3000"),
        ("http://127.0.0.1:3000", "ws://localhost:3000", "localhost:3000"),
        ("http://[::1]:3000", "ws://[::]:3000", "[::1]:3000"),
        ("http://farm.internal:3000", "ws://other.host:4000", "other.host:4000"),
    ],
)
def test_adopt_replaces_a_host_the_caller_cannot_reach(ours: str, returned: str, netloc: str):
    adopted = FarmEndpoint.parse(ours).adopt(returned)
    assert urllib.parse.urlsplit(adopted.url).netloc == netloc


def test_adopt_rejects_a_url_that_is_no_websocket() -> None:
    with pytest.raises(UsageError, match="not a ws://"):
        FarmEndpoint.parse("http://h:1").adopt("http://h:1/json")


# -- launch switches -------------------------------------------------------------------------


def test_launch_args_go_into_the_launch_parameter() -> None:
    args = farm_launch_args(default_args())
    endpoint = FarmEndpoint.parse(f"ws://h:1?token={TOKEN}").with_launch_args(args)
    launch = json.loads(query_of(endpoint.url)["launch"])
    assert launch["args"] == args
    assert launch["waitForInitialPage"] is False  # --no-startup-window leaves no first page
    assert query_of(endpoint.url)["token"] == TOKEN
    assert "<" in endpoint.display
    assert "switches>" in endpoint.display


def test_a_launch_parameter_of_the_user_wins() -> None:
    endpoint = FarmEndpoint.parse('ws://h:1?launch={"headless":false}')
    assert endpoint.with_launch_args(["--mute-audio"]) is endpoint


def test_farm_switches_leave_the_farm_its_own() -> None:
    args = farm_launch_args([*default_args(), "--disable-features=Foo"])
    assert not [a for a in args if a.startswith(("--remote-debugging", "--headless"))]
    assert "--no-sandbox" not in args
    disabled = [a for a in args if a.startswith("--disable-features=")]
    assert len(disabled) == 1  # Chromium honours only the last one: merged into one
    features = disabled[0].split("=", 1)[1].split(",")
    assert "LocalNetworkAccessChecks" in features  # browserless' own, kept
    assert "Foo" in features
    assert "RenderDocument" in features  # ours


# -- secrets --------------------------------------------------------------------------------


def test_repr_and_display_never_show_secrets() -> None:
    header = ("Authorization", "Bearer hdr-secret-7f3a")
    endpoint = FarmEndpoint.parse(
        f"wss://user:pw-9d2c1@farm.example/x?token={TOKEN}&apiKey=k-88a1b2&trackingId=t1",
        [header],
    )
    for text in (repr(endpoint), str(endpoint), endpoint.display, repr(endpoint.url)):
        assert TOKEN not in text
        assert "k-88a1b2" not in text
        assert "pw-9d2c1" not in text
        assert "hdr-secret-7f3a" not in text
    assert "token=***" in endpoint.display
    assert "trackingId=t1" in endpoint.display  # not a credential
    assert "Authorization" in repr(endpoint)  # the header's name, not its value


def test_known_secrets_are_hidden_in_any_text() -> None:
    FarmEndpoint.parse(f"ws://h:1?token={TOKEN}", [("X-Farm-Key", "value-0c9e41")])
    text = f"failed {TOKEN} / {urllib.parse.quote(TOKEN)} header value-0c9e41 and Bearer x"
    shown = redact(text)
    assert TOKEN not in shown
    assert "value-0c9e41" not in shown
    assert "***" in shown


def test_unregistered_credential_parameters_are_hidden_in_urls() -> None:
    shown = redact("ws://h:1/?access_token=zzz-unregistered&sessions=3&Signature=abc&x=1")
    assert "zzz-unregistered" not in shown
    assert "Signature=***" in shown
    assert "x=1" in shown


def test_plain_text_keeps_its_words() -> None:
    text = "<Connection ws://h:1 open sessions=3 pending=0> key=value"
    assert redact(text) == text


def test_bearer_tokens_are_registered_on_their_own() -> None:
    FarmEndpoint.parse("ws://h:1", [("Authorization", "Bearer only-the-token-42")])
    assert redact("token only-the-token-42 leaked") == "token *** leaked"


def test_short_secrets_are_not_replaced_in_free_text() -> None:
    before = len(REDACTOR)
    FarmEndpoint.parse("ws://h:1?token=ab")
    assert len(REDACTOR) == before
    assert redact("ws://h:1?token=ab") == "ws://h:1?token=***"
    assert redact("a cab") == "a cab"


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    FarmEndpoint.parse(f"ws://h:1?token={TOKEN}")
    logger = logging.getLogger("pytest_cdp_accept")
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)
    with caplog.at_level(logging.WARNING, logger="pytest_cdp_accept"):
        logger.warning("connect to %s failed", f"ws://h:1?token={TOKEN}")
        try:
            raise RuntimeError(f"boom {TOKEN}")
        except RuntimeError:
            logger.exception("with a traceback")
    assert TOKEN not in caplog.text
    assert "connect to ws://h:1?token=*** failed" in caplog.text


# -- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization=Bearer abc", ("Authorization", "Bearer abc")),
        ("X-Api-Key: k=v=w", ("X-Api-Key", "k=v=w")),
        ("X-Token=a:b", ("X-Token", "a:b")),
    ],
)
def test_parse_header(text: str, expected: tuple[str, str]) -> None:
    assert parse_header(text) == expected


@pytest.mark.parametrize(
    "text", ["novalue", "=secret-v1", "bad name=secret-v2", "X-A=secret-v3\nx"]
)
def test_parse_header_rejects_bad_input_without_showing_the_value(text: str) -> None:
    with pytest.raises(UsageError, match="--cdp-farm-header") as info:
        parse_header(text)
    assert "secret-v" not in str(info.value)


# -- statuses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, "auth"),
        (403, "auth"),
        (429, "busy"),
        (503, "busy"),
        (408, "busy"),
        (500, "server"),
        (502, "server"),
        (400, "request"),
        (404, "request"),
    ],
)
def test_classify_status(status: int, kind: str) -> None:
    assert classify_status(status) == kind


def test_retry_after() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


def test_describe_cut() -> None:
    cut = describe_cut(None, 1002, 30.2)
    assert cut is not None
    assert "30.2 s" in cut
    assert "TIMEOUT" in cut
    assert describe_cut(None, None, 3.0) is None  # 1006: the browser or farm went away
    assert describe_cut(1000, 1000, 3.0) is None  # an orderly close


def test_breaker_key_differs_per_credential_but_hides_it() -> None:
    a = FarmEndpoint.parse(f"ws://h:1?token={TOKEN}")
    b = FarmEndpoint.parse("ws://h:1?token=another-token-123")
    assert a.breaker_key != b.breaker_key
    assert TOKEN not in a.breaker_key
    assert a.breaker_key == FarmEndpoint.parse(f"ws://h:1?token={TOKEN}").breaker_key
