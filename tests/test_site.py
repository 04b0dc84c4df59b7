"""Tests of the built-in local test site, with plain HTTP clients (no browser)."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from pytest_cdp_accept.site import LocalSite


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def text(self) -> str:
        return self.body.decode()


def _connect(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return conn, target


def _exchange(
    conn: http.client.HTTPConnection,
    target: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> Reply:
    conn.request(method, target, headers=headers or {})
    response = conn.getresponse()
    try:
        return Reply(response.status, response.headers, response.read())
    finally:
        response.close()


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request on a fresh connection, closed afterwards."""
    conn, target = _connect(url, timeout)
    try:
        return _exchange(conn, target, method=method, headers=headers)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


@pytest.fixture
def fresh_site() -> Iterator[LocalSite]:
    with LocalSite() as s:
        yield s


def _assert_html(reply: Reply, status: int = 200) -> None:
    assert reply.status == status
    assert reply.content_type.startswith("text/html")
    assert reply.headers["Cache-Control"] == "no-store"
    assert int(reply.headers["Content-Length"]) == len(reply.body)


def _title(reply: Reply) -> str:
    match = re.search(r"<title>(.*?)</title>", reply.text)
    assert match is not None
    return match.group(1)


# ----------------------------------------------------------------- addresses, lifecycle


def test_addresses(site: LocalSite) -> None:
    assert site.host == "127.0.0.1"
    assert 0 < site.port < 65536
    assert site.origin == f"http://127.0.0.1:{site.port}"
    assert site.alt_origin == f"http://localhost:{site.port}"
    assert site.url() == f"http://127.0.0.1:{site.port}/"
    assert site.url("/slow?ms=1") == f"http://127.0.0.1:{site.port}/slow?ms=1"
    assert site.alt_url("/storage") == f"http://localhost:{site.port}/storage"
    assert site.running


def test_alt_url_reaches_the_same_server(site: LocalSite) -> None:
    reply = fetch(site.alt_url("/storage"))
    _assert_html(reply)
    assert _title(reply) == "storage"


def test_a_public_url_is_what_browsers_elsewhere_use() -> None:
    """Bound to every address, told the address a farm reaches it at (here 127.0.0.2,
    another loopback address, stands in for the host's address on the farm's network)."""
    with LocalSite(host="0.0.0.0", public_url="http://127.0.0.2") as public:
        assert public.url("/storage") == f"http://127.0.0.2:{public.port}/storage"
        _assert_html(fetch(public.url("/storage")))
    with LocalSite(public_url="http://farm-side.example:8080/") as mapped:
        assert mapped.origin == "http://farm-side.example:8080"  # a port the farm maps


@pytest.mark.parametrize(
    "url", ["farm-side.example", "ftp://h", "http://h/path", "http://h?x=1", "http://h:99999"]
)
def test_a_bad_public_url(url: str) -> None:
    with pytest.raises(ValueError, match="site URL"):
        LocalSite(public_url=url)


def test_not_started() -> None:
    s = LocalSite()
    assert not s.running
    with pytest.raises(RuntimeError):
        _ = s.port
    with pytest.raises(RuntimeError):
        s.url()
    s.close()  # closing a site never started is harmless


def test_bad_port() -> None:
    with pytest.raises(ValueError, match="port"):
        LocalSite(port=70000)


def test_close_is_idempotent_and_stops_serving() -> None:
    s = LocalSite().start()
    url = s.url()
    assert fetch(url).status == 200
    s.close()
    s.close()
    assert not s.running
    with pytest.raises(ConnectionRefusedError):
        fetch(url, timeout=5)


def test_start_twice_fails_and_restart_works() -> None:
    s = LocalSite()
    with s:
        with pytest.raises(RuntimeError, match="already"):
            s.start()
        assert fetch(s.url()).status == 200
    with s:
        assert fetch(s.url()).status == 200
        assert s.hits("/") == 2  # counts survive a restart


def test_keep_alive(site: LocalSite) -> None:
    conn, _ = _connect(site.url(), 30)
    try:
        first = _exchange(conn, "/")
        sock = conn.sock
        assert sock is not None
        second = _exchange(conn, "/status/204")
        third = _exchange(conn, "/status/404")
        fourth = _exchange(conn, "/storage")
        assert conn.sock is sock  # the same connection served them all
    finally:
        conn.close()
    assert first.headers.get("Connection", "").lower() != "close"
    assert [first.status, second.status, third.status, fourth.status] == [200, 204, 404, 200]


def test_head(site: LocalSite) -> None:
    get = fetch(site.url("/heavy?kb=10"))
    head = fetch(site.url("/heavy?kb=10"), method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(get.body))


def test_post_body_is_discarded(site: LocalSite) -> None:
    conn, _ = _connect(site.url(), 30)
    try:
        conn.request("POST", "/echo-headers", body=b"x" * 5000)
        with conn.getresponse() as response:
            assert response.status == 200
            echoed = json.loads(response.read())
        assert echoed["Content-Length"] == "5000"
        assert _exchange(conn, "/storage").status == 200  # framing intact
    finally:
        conn.close()


# ------------------------------------------------------------------------- routes


def test_index(site: LocalSite) -> None:
    reply = fetch(site.url("/"))
    _assert_html(reply)
    assert _title(reply) == "cdp-accept test site"
    assert 2 * 1024 <= len(reply.body) <= 5 * 1024
    assert reply.text.count("<p>") >= 3
    for route in ("/slow", "/status/", "/flaky", "/heavy", "/leak", "/noleak", "/spa"):
        assert f'href="{route}' in reply.text
    for route in ("/never", "/cacheable", "/sw", "/storage", "/redirect", "/echo-headers"):
        assert f'href="{route}' in reply.text


def test_not_found(site: LocalSite) -> None:
    reply = fetch(site.url("/no/such/page"))
    _assert_html(reply, 404)
    assert "404" in reply.text


def test_slow_takes_at_least_the_delay(site: LocalSite) -> None:
    started = time.monotonic()
    reply = fetch(site.url("/slow?ms=300"))
    elapsed = time.monotonic() - started
    _assert_html(reply)
    assert "300 ms" in reply.text
    assert elapsed >= 0.3


def test_slow_does_not_block_other_requests(fresh_site: LocalSite) -> None:
    done: dict[str, float] = {}

    def slow() -> None:
        fetch(fresh_site.url("/slow?ms=1500"))
        done["slow"] = time.monotonic()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while fresh_site.hits("/slow") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fresh_site.hits("/slow") == 1
        assert fetch(fresh_site.url("/storage")).status == 200
        done["fast"] = time.monotonic()
    finally:
        thread.join(60)
    assert not thread.is_alive()
    assert done["fast"] < done["slow"]


@pytest.mark.parametrize("code", [200, 201, 302, 404, 418, 500, 503, 599])
def test_status(site: LocalSite, code: int) -> None:
    reply = fetch(site.url(f"/status/{code}"))
    _assert_html(reply, code)
    assert str(code) in _title(reply)


@pytest.mark.parametrize("code", [204, 304])
def test_status_without_body(site: LocalSite, code: int) -> None:
    reply = fetch(site.url(f"/status/{code}"))
    assert reply.status == code
    assert reply.body == b""
    assert "Content-Length" not in reply.headers


@pytest.mark.parametrize("raw", ["abc", "99", "150", "600", "", "-1", "2000"])
def test_status_bad(site: LocalSite, raw: str) -> None:
    reply = fetch(site.url(f"/status/{raw}"))
    assert reply.status == 400
    assert reply.content_type.startswith("text/plain")
    assert "'status'" in reply.text


def test_flaky_never_fails(site: LocalSite) -> None:
    conn, _ = _connect(site.url(), 30)
    try:
        statuses = {_exchange(conn, "/flaky?fail=0").status for _ in range(50)}
    finally:
        conn.close()
    assert statuses == {200}


def test_flaky_always_fails(site: LocalSite) -> None:
    conn, _ = _connect(site.url(), 30)
    try:
        replies = [_exchange(conn, "/flaky?fail=1") for _ in range(50)]
    finally:
        conn.close()
    assert {r.status for r in replies} == {500}
    assert all(r.content_type.startswith("text/html") for r in replies)


def test_flaky_half(site: LocalSite) -> None:
    conn, _ = _connect(site.url(), 30)
    try:
        statuses = [_exchange(conn, "/flaky?fail=0.5").status for _ in range(200)]
    finally:
        conn.close()
    assert set(statuses) <= {200, 500}
    assert 60 <= statuses.count(500) <= 140


def test_flaky_seed_is_reproducible() -> None:
    def run() -> list[int]:
        with LocalSite(seed=42) as s:
            conn, _ = _connect(s.url(), 30)
            try:
                return [_exchange(conn, "/flaky?fail=0.5").status for _ in range(30)]
            finally:
                conn.close()

    assert run() == run()


@pytest.mark.parametrize("raw", ["abc", "1.5", "-0.1", "nan", "inf", ""])
def test_flaky_bad(site: LocalSite, raw: str) -> None:
    reply = fetch(site.url(f"/flaky?fail={raw}"))
    assert reply.status == 400
    assert "'fail'" in reply.text


def test_heavy(site: LocalSite) -> None:
    reply = fetch(site.url("/heavy?kb=100"))
    _assert_html(reply)
    assert 100 * 1024 <= len(reply.body) <= 110 * 1024
    assert reply.text.rstrip().endswith("</html>")
    assert reply.text.count("<p") > 100


def test_heavy_default(site: LocalSite) -> None:
    reply = fetch(site.url("/heavy"))
    _assert_html(reply)
    assert 512 * 1024 <= len(reply.body) <= 530 * 1024


@pytest.mark.parametrize("query", ["kb=abc", "kb=-5", "kb=1e3", "kb=100000"])
def test_heavy_bad(site: LocalSite, query: str) -> None:
    reply = fetch(site.url(f"/heavy?{query}"))
    assert reply.status == 400
    assert "'kb'" in reply.text


@pytest.mark.parametrize("route", ["/leak", "/noleak"])
def test_leak_pages(site: LocalSite, route: str) -> None:
    reply = fetch(site.url(f"{route}?kb=64"))
    _assert_html(reply)
    assert _title(reply) == route[1:]
    assert "window.leak = function" in reply.text
    assert "window.leakedCount = function" in reply.text
    assert "var KB = 64;" in reply.text
    assert "Math.random()" in reply.text
    default = fetch(site.url(route))
    assert "var KB = 512;" in default.text


def test_leak_keeps_and_noleak_drops(site: LocalSite) -> None:
    leak = fetch(site.url("/leak")).text
    noleak = fetch(site.url("/noleak")).text
    assert "window.leaked.push(" in leak
    assert "leaked.push(" not in noleak
    assert "window.leaked =" not in noleak


@pytest.mark.parametrize("query", ["kb=abc", "kb=0", "kb=100000"])
def test_leak_bad(site: LocalSite, query: str) -> None:
    for route in ("/leak", "/noleak"):
        reply = fetch(site.url(f"{route}?{query}"))
        assert reply.status == 400
        assert "'kb'" in reply.text


def test_spa(site: LocalSite) -> None:
    reply = fetch(site.url("/spa"))
    _assert_html(reply)
    assert "fetch('/api/data?delay=50'" in reply.text
    assert "spa-done" in reply.text
    assert "window.spaDone = true" in reply.text
    for start in ("0", "100", "250"):
        assert re.search(rf"\b{start}\b", reply.text)
    assert "fetch('/api/data?delay=7'" in fetch(site.url("/spa?delay=7")).text


def test_api_data(site: LocalSite) -> None:
    first = fetch(site.url("/api/data"))
    started = time.monotonic()
    second = fetch(site.url("/api/data?delay=200"))
    elapsed = time.monotonic() - started
    assert elapsed >= 0.2
    for reply in (first, second):
        assert reply.status == 200
        assert reply.content_type.startswith("application/json")
        assert reply.headers["Cache-Control"] == "no-store"
    one, two = json.loads(first.body), json.loads(second.body)
    assert one["ok"] is True
    assert two["ok"] is True
    assert two["n"] > one["n"] >= 1


def test_api_data_bad(site: LocalSite) -> None:
    reply = fetch(site.url("/api/data?delay=soon"))
    assert reply.status == 400
    assert "'delay'" in reply.text


@pytest.mark.parametrize("query", ["ms=abc", "ms=", "ms=-1", "ms=1.5"])
def test_slow_bad(site: LocalSite, query: str) -> None:
    reply = fetch(site.url(f"/slow?{query}"))
    assert reply.status == 400
    assert reply.content_type.startswith("text/plain")
    assert "'ms'" in reply.text


def test_never_sends_headers_then_stalls(site: LocalSite) -> None:
    conn, target = _connect(site.url("/never"), 1.0)
    try:
        conn.request("GET", target)
        with conn.getresponse() as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/html")
            length = int(response.headers["Content-Length"])
            start = response.read(20)
            assert start.startswith(b"<!DOCTYPE html>")
            with pytest.raises(TimeoutError):
                response.read(length)
    finally:
        conn.close()


def test_close_does_not_hang_on_never() -> None:
    s = LocalSite().start()
    conn, target = _connect(s.url("/never"), 10.0)
    try:
        conn.request("GET", target)
        with conn.getresponse() as response:
            assert response.status == 200
            closer = threading.Thread(target=s.close)
            closer.start()
            closer.join(10)
            assert not closer.is_alive(), "LocalSite.close() hangs on /never"
            with pytest.raises(http.client.IncompleteRead):
                response.read()  # the server cut the connection
    finally:
        conn.close()
        s.close()


def test_cacheable(fresh_site: LocalSite) -> None:
    page = fetch(fresh_site.url("/cacheable"))
    _assert_html(page)
    assert '<script src="/cached.js"></script>' in page.text
    script = fetch(fresh_site.url("/cached.js"))
    assert script.status == 200
    assert script.content_type.startswith("application/javascript")
    assert script.headers["Cache-Control"] == "public, max-age=3600"
    etag = script.headers["ETag"]
    assert etag
    assert b"window.cachedHits = (window.cachedHits||0)+1;" in script.body
    revalidated = fetch(fresh_site.url("/cached.js"), headers={"If-None-Match": etag})
    assert revalidated.status == 304
    assert revalidated.body == b""
    assert fresh_site.hits("/cached.js") == 2
    assert fresh_site.hits("/cacheable") == 1


def test_service_worker(site: LocalSite) -> None:
    page = fetch(site.url("/sw"))
    _assert_html(page)
    assert "navigator.serviceWorker.register('/sw.js', {scope: '/'})" in page.text
    worker = fetch(site.url("/sw.js"))
    assert worker.status == 200
    assert worker.content_type.startswith("application/javascript")
    assert b"self.addEventListener('fetch', () => {})" in worker.body


def test_storage(site: LocalSite) -> None:
    reply = fetch(site.url("/storage"))
    _assert_html(reply)
    assert _title(reply) == "storage"


def test_redirect(site: LocalSite) -> None:
    reply = fetch(site.url("/redirect?to=/storage"))
    assert reply.status == 302
    assert reply.headers["Location"] == "/storage"
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    with urllib.request.urlopen(site.url("/redirect?to=/status/201"), timeout=30) as followed:
        assert followed.status == 201
        assert followed.url == site.url("/status/201")
        followed.read()


@pytest.mark.parametrize("to", ["http://example.com/", "//example.com/", "storage", "/a%0d%0ab"])
def test_redirect_bad(site: LocalSite, to: str) -> None:
    reply = fetch(site.url(f"/redirect?to={to}"))
    assert reply.status == 400
    assert "'to'" in reply.text


def test_echo_headers(site: LocalSite) -> None:
    reply = fetch(site.url("/echo-headers"), headers={"X-Cdp-Test": "hello"})
    assert reply.status == 200
    assert reply.content_type.startswith("application/json")
    assert reply.headers["Cache-Control"] == "no-store"
    echoed = json.loads(reply.body)
    assert echoed["X-Cdp-Test"] == "hello"
    assert echoed["Host"] == f"127.0.0.1:{site.port}"


# ------------------------------------------------------------------------ hits


def test_hits(fresh_site: LocalSite) -> None:
    assert fresh_site.hits("/storage") == 0
    for _ in range(3):
        fetch(fresh_site.url("/storage"))
    fetch(fresh_site.url("/slow?ms=0"))
    fetch(fresh_site.url("/slow?ms=abc"))
    fetch(fresh_site.url("/missing"))
    assert fresh_site.hits("/storage") == 3
    assert fresh_site.hits("/slow") == 2
    assert fresh_site.hits("/slow?ms=5") == 2  # the query string is ignored
    assert fresh_site.hits("/missing") == 1
    assert fresh_site.requests == {"/storage": 3, "/slow": 2, "/missing": 1}
    fresh_site.reset_hits()
    assert fresh_site.hits("/storage") == 0
    assert fresh_site.requests == {}


def test_hits_are_thread_safe(fresh_site: LocalSite) -> None:
    def worker() -> None:
        conn, _ = _connect(fresh_site.url(), 30)
        try:
            for _ in range(25):
                _exchange(conn, "/storage")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert fresh_site.hits("/storage") == 200
