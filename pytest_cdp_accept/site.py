"""A built-in local HTTP test site for browser tests.

:class:`LocalSite` is a small threaded HTTP/1.1 server (standard library
only) that serves pages with known, controllable behaviour: slow, failing,
heavy, leaking, never-finishing, cacheable, service-worker and storage
pages. Use it as a context manager, or call :meth:`LocalSite.start` and
:meth:`LocalSite.close`::

    with LocalSite() as site:
        page.goto(site.url("/slow?ms=500"))
        assert site.hits("/slow") == 1

The server listens on ``127.0.0.1`` and a random free port by default.
:meth:`LocalSite.url` gives ``http://127.0.0.1:PORT/path`` and
:meth:`LocalSite.alt_url` the same path on a second origin of the same
server, ``http://localhost:PORT/path``: a different host name is a
different origin for the browser (separate cookies, storage, caches and
service workers), which is how isolation tests use two origins.

Every response carries a correct ``Content-Length`` (so connections are
kept alive), and every response except ``/cached.js`` carries
``Cache-Control: no-store``. Query parameters are parsed with
:mod:`urllib.parse`; when a parameter is repeated the last value wins, and
a bad value is answered with ``400`` and a plain-text message naming the
parameter. Pages link ``data:,`` as their icon, so browsers do not request
``/favicon.ico``.

Routes
------

``/``
    A small HTML page (about 3 KB) titled ``cdp-accept test site``, with a
    few paragraphs and links to the other routes.
``/slow?ms=N``
    A small HTML page, sent after sleeping ``N`` milliseconds (default
    1000, capped at 120000). Other requests keep being served meanwhile.
``/status/N``
    Answers with status ``N`` (200..599) and a small HTML body naming it;
    ``204`` and ``304`` have no body (and no ``Content-Length``).
``/flaky?fail=P``
    Answers ``500`` with probability ``P`` (0..1, default 0.1), otherwise
    ``200`` with a small page. ``fail=0`` never fails, ``fail=1`` always
    fails. ``LocalSite(seed=...)`` makes the sequence reproducible.
``/heavy?kb=N``
    An HTML page whose body is ``N`` KiB (default 512, at most 65536) of
    paragraphs of text.
``/leak?kb=N``
    An HTML page defining ``window.leak()``: each call allocates ``N`` KiB
    (default 512, 1..65536) of fresh doubles on the JS heap, in arrays of
    1024 numbers, and keeps them reachable from the global array
    ``window.leaked``; it returns the number of chunks held.
    ``window.leakedCount()`` returns that number too.
``/noleak?kb=N``
    The same page, but its ``leak()`` allocates the same amount and drops
    it (nothing stays reachable); ``leak()`` and ``leakedCount()`` return 0.
    The pair is used to test leak detection.
``/spa?delay=MS``
    A page whose script calls ``fetch('/api/data?delay=MS')`` three times,
    started 0, 100 and 250 ms after it runs (``MS`` defaults to 50). When
    all three have finished it sets ``document.title = 'spa-done'`` and
    ``window.spaDone = true`` (``window.spaResults`` holds the ``n``
    values). If a fetch fails, ``window.spaError`` describes it and the
    title becomes ``spa-error``; ``window.spaDone`` is still set.
``/api/data?delay=MS``
    JSON ``{"ok": true, "n": <counter>}`` sent after ``MS`` milliseconds
    (default 0, capped at 120000); the counter counts ``/api/data``
    answers over the site's life (``reset_hits()`` does not reset it).
``/never``
    Sends the headers (announcing a 64 KiB body) and the first part of an
    HTML page, then never finishes the body, so the page's ``load`` event
    never fires. The connection is held open until the client goes away,
    the site is closed, or 300 s have passed.
``/cacheable``
    An HTML page that includes ``<script src="/cached.js"></script>``.
``/cached.js``
    ``window.cachedHits = (window.cachedHits||0)+1;`` with
    ``Cache-Control: public, max-age=3600`` and an ``ETag`` (a matching
    ``If-None-Match`` gets ``304``). ``hits("/cached.js")`` tells whether
    the browser's HTTP cache served it.
``/sw``
    An HTML page that registers the service worker ``/sw.js`` with scope
    ``/``. It sets ``window.swRegistered`` on registration, then
    ``window.swReady`` and the title ``sw-ready`` once the worker is
    active; on failure ``window.swError`` and the title ``sw-error``.
``/sw.js``
    A trivial service worker (``self.addEventListener('fetch', () => {})``)
    served as ``application/javascript``.
``/storage``
    A small blank HTML page titled ``storage``, for setting and reading
    cookies, localStorage, sessionStorage, IndexedDB and the Cache API
    from JS.
``/redirect?to=PATH``
    ``302`` to ``PATH`` on the same server (default ``/``); ``PATH`` must
    start with a single ``/``.
``/echo-headers``
    JSON object of the request headers (name as sent -> value; repeated
    headers are joined with ``", "``).
``/app?delay=MS``, ``/app/new``
    A small single-page app for journeys (clicks, typing, waits): a list of
    items (``ul#items``, each ``li.item`` with a title and a *Delete* button
    that asks in a modal ``dialog#confirm``: *Delete* / *Cancel*), and a
    form (*New item* link, ``history.pushState`` to ``/app/new``):
    ``input#title``, ``select#priority`` (low, normal, high),
    ``input#urgent`` (checkbox), ``textarea#notes`` and ``button#add``
    (*Add item*, enabled once the title is not empty). Adding fetches
    ``/api/data?delay=MS`` (``MS`` defaults to 50), then shows the list
    with the new item and ``#status`` reads *Saved*. ``input#filter``
    filters the list as one types; *Load more* (``button#more``) fetches
    and appends three items; the *Done* link goes to ``/app/done``.
    ``window.appEvents`` logs what the app saw (input, change, keydown,
    clicks) for tests.
``/app/done``
    A small page titled ``app-done`` (a cross-document navigation target).
``/vitals/...``
    Planted pages whose Web Vitals are known in advance: a text that first
    paints at a given time (``/vitals/text?ms=300``), a hero image inserted at a
    given time (``/vitals/hero?ms=800``), a layout shift of a given score
    (``/vitals/shift?score=0.25``), a long task after the first paint
    (``/vitals/longtask?ms=300``), a slow and a cheap button
    (``/vitals/input?block=250``) and a page of a given weight
    (``/vitals/weight?kb=300``), with their assets. See
    :mod:`pytest_cdp_accept.planted`.
anything else
    ``404`` with a small HTML body.

``GET``, ``HEAD`` and ``POST`` (its body is discarded) are served alike;
other methods get the standard library's ``501`` answer.
:meth:`LocalSite.hits` counts the requests received per path (query
string excluded), whatever their outcome, and :meth:`LocalSite.bytes_sent`
the bytes of the answers (status line, headers and body).
"""

from __future__ import annotations

import contextlib
import html
import http.client
import json
import math
import random
import re
import select
import socket
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from . import planted

__all__ = ["LocalSite"]

MAX_SLEEP_MS = 120_000
"""Cap on ``/slow?ms=`` and ``/api/data?delay=``."""
MAX_KB = 65_536
"""Cap on ``/heavy?kb=``, ``/leak?kb=`` and ``/noleak?kb=``."""
NEVER_MAX_SECONDS = 300.0
"""Longest time ``/never`` holds a connection open."""
DEFAULT_HEAVY_KB = 512
DEFAULT_LEAK_KB = 512
DEFAULT_SLOW_MS = 1000
DEFAULT_SPA_DELAY_MS = 50
DEFAULT_FLAKY_FAIL = 0.1
CACHED_JS_ETAG = '"cdp-accept-cached-js-v1"'

_HTML = "text/html; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"
_JS = "application/javascript"
_NO_STORE = "no-store"

_IDLE_TIMEOUT = 120.0
"""Socket timeout of server-side connections (idle keep-alive, stalled writes)."""
_HANDLER_JOIN_SECONDS = 5.0
"""How long :meth:`LocalSite.close` waits, in total, for request threads."""
_MAX_DISCARDED_BODY = 16 * 1024 * 1024
_NEVER_POLL = 0.1
_NEVER_ANNOUNCED_LENGTH = 64 * 1024

_DISCONNECT_ERRORS: tuple[type[BaseException], ...] = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    TimeoutError,
)
_DIGITS = re.compile(r"[0-9]{1,9}")


# --------------------------------------------------------------------------- state


class _SiteState:
    """Counters that outlive one server run (restarting keeps them)."""

    def __init__(self, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._bytes: Counter[str] = Counter()
        self._api_calls = 0
        self._rng = random.Random(seed)

    def record_hit(self, path: str) -> None:
        with self._lock:
            self._hits[path] += 1

    def record_bytes(self, path: str, sent: int) -> None:
        with self._lock:
            self._bytes[path] += sent

    def bytes_snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._bytes)

    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._hits)

    def reset_hits(self) -> None:
        with self._lock:
            self._hits.clear()
            self._bytes.clear()

    def next_api_call(self) -> int:
        with self._lock:
            self._api_calls += 1
            return self._api_calls

    def chance(self, probability: float) -> bool:
        """True with ``probability`` (exactly never for 0, always for 1)."""
        with self._lock:
            return self._rng.random() < probability


class _CountingWriter:
    """A handler's ``wfile`` that counts the bytes written through it."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return int(self._raw.write(data) or len(data))

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        self._raw.close()

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)


# ------------------------------------------------------------------------ content


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = _HTML
    cache_control: str = _NO_STORE
    headers: list[tuple[str, str]] = field(default_factory=list)


class _BadParameter(Exception):
    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"bad value for parameter {name!r}: {value!r} (expected {expected})\n")
        self.name = name


def _page(title: str, body: str, *, head: str = "") -> bytes:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"{head}"
        "</head>\n"
        "<body>\n"
        f"{body}\n"
        "</body>\n"
        "</html>\n"
    ).encode()


def _html(status: int, title: str, body: str, *, head: str = "") -> _Response:
    return _Response(status, _page(title, body, head=head))


def _json(status: int, payload: object) -> _Response:
    return _Response(status, json.dumps(payload).encode(), content_type=_JSON)


def _status_phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


_ROUTE_LINKS: tuple[tuple[str, str], ...] = (
    ("/slow?ms=1000", "a page that answers after a delay"),
    ("/status/404", "any status code, here 404"),
    ("/flaky?fail=0.5", "a page that fails with status 500 half of the time"),
    ("/heavy?kb=512", "a page of about 512 KiB of text"),
    ("/leak?kb=512", "a page whose leak() keeps 512 KiB of JS heap per call"),
    ("/noleak?kb=512", "the same page, but its leak() keeps nothing"),
    ("/spa", "a page that finishes loading data with fetch() after its load event"),
    ("/never", "a page whose body never finishes, so load never fires"),
    ("/cacheable", "a page with a script the browser may cache for an hour"),
    ("/sw", "a page that registers a service worker"),
    ("/storage", "a blank page for storage isolation tests"),
    ("/redirect?to=/storage", "a redirect to /storage"),
    ("/echo-headers", "the request headers as JSON"),
    ("/app", "a small single-page app with a form and a list, for journeys"),
    (
        "/broken?ms=300",
        "a page that answers after a delay, then logs a console error, throws an uncaught "
        "error and loads a missing image",
    ),
)

_INDEX_PARAGRAPHS = (
    "This site is served by pytest-cdp-accept for its own tests and for the tests of "
    "its users. Every route has a known, controllable behaviour, so that a test "
    "about page load time, failures, memory or isolation measures the browser and "
    "the library rather than the accidents of a real web site.",
    "The server is a threaded HTTP/1.1 server from the Python standard library. It "
    "keeps connections alive, announces the length of every body and forbids "
    "caching, except for the one script that exists to be cached. A slow request "
    "never holds up the others: each connection has a thread of its own.",
    "The same server is reachable under two host names, 127.0.0.1 and localhost. For "
    "a browser these are two different origins, with separate cookies, local and "
    "session storage, IndexedDB databases, caches and service workers, which is what "
    "isolation tests need.",
    "The site counts the requests it receives on each path, so that a test can tell "
    "whether a resource came from the network or from the browser's cache, how "
    "often a flaky page was retried, or whether a page was loaded at all.",
    "Parameters are given in the query string. A bad value is answered with status "
    "400 and a short plain-text message that names the parameter, so that a mistake "
    "in a test shows up as a clear failure instead of a page that behaves in some "
    "other, unexpected way. Large delays are capped at two minutes.",
)


def _index_page() -> _Response:
    paragraphs = "\n".join(f"<p>{html.escape(text)}</p>" for text in _INDEX_PARAGRAPHS)
    links = "\n".join(
        f'<li><a href="{html.escape(href)}">{html.escape(href)}</a>: {html.escape(text)}</li>'
        for href, text in _ROUTE_LINKS
    )
    body = (
        "<h1>cdp-accept test site</h1>\n"
        f"{paragraphs}\n"
        "<h2>Routes</h2>\n"
        f'<ul id="routes">\n{links}\n</ul>\n'
        "<p>Anything else is answered with status 404.</p>"
    )
    return _html(200, "cdp-accept test site", body)


_FILLER = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
    "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
    "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur."
)


def _heavy_page(kb: int) -> _Response:
    """A page of exactly ``kb`` KiB (or the bare page, if that is larger)."""
    shell = _page("heavy", f'<h1>heavy page, {kb} KiB</h1>\n<div id="content">\n@@</div>')
    before, _, after = shell.partition(b"@@")
    room = kb * 1024 - len(before) - len(after)
    parts: list[bytes] = []
    size = 0
    n = 0
    while True:
        n += 1
        paragraph = f'<p id="p{n}">{n}. {_FILLER}</p>\n'.encode()
        if size + len(paragraph) > room:
            break
        parts.append(paragraph)
        size += len(paragraph)
    rest = room - size
    if rest >= len(b"<p></p>\n"):
        parts.append(b"<p>" + b"x" * (rest - len(b"<p></p>\n")) + b"</p>\n")
    elif rest > 0:
        parts.append(b"\n" * rest)
    return _Response(200, before + b"".join(parts) + after)


_LEAK_SCRIPT = """\
<script>
(function () {
  "use strict";
  var KB = %(kb)d;
  var DOUBLES = KB * 128;  // 8 bytes per double
  var ROW = 1024;          // doubles per array (8 KiB)
  // KB kibibytes of fresh (non-shared) doubles, in arrays of 1024 numbers.
  function allocate() {
    var rows = Math.ceil(DOUBLES / ROW);
    var chunk = new Array(rows);
    for (var r = 0; r < rows; r++) {
      var length = Math.min(ROW, DOUBLES - r * ROW);
      var row = new Array(length);
      for (var i = 0; i < length; i++) {
        row[i] = i + Math.random();
      }
      chunk[r] = row;
    }
    return chunk;
  }
  window.leakKb = KB;
%(body)s
})();
</script>"""

_LEAK_BODY = """\
  window.leaked = [];
  window.leak = function () {
    window.leaked.push(allocate());
    return window.leaked.length;
  };
  window.leakedCount = function () {
    return window.leaked.length;
  };"""

_NOLEAK_BODY = """\
  var sink = 0;
  window.leak = function () {
    var chunk = allocate();  // dropped when leak() returns
    sink += chunk.length + chunk[0][0];
    return 0;
  };
  window.leakedCount = function () {
    return 0;
  };"""


def _leak_page(kb: int, *, leaking: bool) -> _Response:
    name = "leak" if leaking else "noleak"
    script = _LEAK_SCRIPT % {"kb": kb, "body": _LEAK_BODY if leaking else _NOLEAK_BODY}
    what = "keeps" if leaking else "allocates and drops"
    body = f"<h1>{name}</h1>\n<p>Each call of window.leak() {what} {kb} KiB of JS heap.</p>"
    return _html(200, name, body, head=script + "\n")


_SPA_SCRIPT = """\
<script>
(function () {
  "use strict";
  var starts = [0, 100, 250];
  var pending = starts.length;
  window.spaDone = false;
  window.spaResults = [];
  function finished() {
    pending -= 1;
    if (pending === 0) {
      document.title = window.spaError ? "spa-error" : "spa-done";
      window.spaDone = true;
    }
  }
  starts.forEach(function (at) {
    setTimeout(function () {
      fetch('/api/data?delay=%(delay)d', {cache: "no-store"})
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          window.spaResults.push(data.n);
        })
        .catch(function (error) {
          window.spaError = String(error);
        })
        .then(finished);
    }, at);
  });
})();
</script>"""


def _spa_page(delay: int) -> _Response:
    body = '<h1>spa</h1>\n<p id="status">Loading data after the load event.</p>'
    return _html(200, "spa-loading", body, head=_SPA_SCRIPT % {"delay": delay} + "\n")


_APP_STYLE = """\
<style>
body { font-family: sans-serif; margin: 16px; }
nav a { margin-right: 12px; }
.view[hidden] { display: none; }
li.item { margin: 4px 0; }
li.item button { margin-left: 8px; }
label { display: block; margin: 6px 0; }
dialog::backdrop { background: rgba(0, 0, 0, 0.3); }
</style>
"""

_APP_BODY = """\
<nav>
  <a id="nav-list" href="/app">List</a>
  <a id="nav-new" href="/app/new">New item</a>
  <a id="nav-done" href="/app/done">Done</a>
</nav>
<p id="status" role="status"></p>
<section id="list-view" class="view">
  <h1>Items</h1>
  <label>Filter <input id="filter" type="search" autocomplete="off"></label>
  <ul id="items">
    <li class="item"><span class="title">Buy milk</span>
      <button class="delete">Delete</button></li>
    <li class="item"><span class="title">Write report</span>
      <button class="delete">Delete</button></li>
  </ul>
  <button id="more">Load more</button>
</section>
<section id="form-view" class="view" hidden>
  <h1>New item</h1>
  <form id="form">
    <label>Title <input id="title" name="title" autocomplete="off"></label>
    <label>Priority
      <select id="priority" name="priority">
        <option value="low">Low</option>
        <option value="normal" selected>Normal</option>
        <option value="high">High</option>
      </select>
    </label>
    <label><input id="urgent" name="urgent" type="checkbox"> Urgent</label>
    <label>Notes <textarea id="notes" name="notes"></textarea></label>
    <button id="add" type="submit" disabled>Add item</button>
    <button id="back" type="button">Back to list</button>
  </form>
</section>
<dialog id="confirm">
  <p>Delete <b id="confirm-title"></b>?</p>
  <button id="confirm-delete">Delete</button>
  <button id="confirm-cancel">Cancel</button>
</dialog>
"""

_APP_SCRIPT = """\
<script>
(function () {
  "use strict";
  var delay = %(delay)d;
  var events = window.appEvents = [];
  var $ = function (id) { return document.getElementById(id); };
  var pendingDelete = null;
  var more = 0;
  function log(what) { events.push(what); }
  function show(path) {
    var form = path === "/app/new";
    $("form-view").hidden = !form;
    $("list-view").hidden = form;
    document.title = form ? "app: new item" : "app: items";
  }
  function go(path) {
    if (location.pathname !== path) history.pushState({}, "", path);
    show(path);
  }
  function item(title) {
    var li = document.createElement("li");
    li.className = "item";
    var span = document.createElement("span");
    span.className = "title";
    span.textContent = title;
    var button = document.createElement("button");
    button.className = "delete";
    button.textContent = "Delete";
    li.append(span, " ", button);
    return li;
  }
  function fetchData() {
    return fetch("/api/data?delay=" + delay, {cache: "no-store"}).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  $("nav-new").addEventListener("click", function (e) { e.preventDefault(); go("/app/new"); });
  $("nav-list").addEventListener("click", function (e) { e.preventDefault(); go("/app"); });
  $("back").addEventListener("click", function () { go("/app"); });
  window.addEventListener("popstate", function () { show(location.pathname); });
  $("title").addEventListener("input", function () {
    log("input:" + this.value);
    $("add").disabled = this.value.trim() === "";
  });
  $("title").addEventListener("change", function () { log("change:" + this.value); });
  $("title").addEventListener("keydown", function (e) { log("keydown:" + e.key); });
  $("priority").addEventListener("change", function () { log("priority:" + this.value); });
  $("urgent").addEventListener("change", function () { log("urgent:" + this.checked); });
  $("form").addEventListener("submit", function (e) {
    e.preventDefault();
    var title = $("title").value.trim();
    if (!title) return;
    log("submit:" + title);
    $("status").textContent = "Saving...";
    $("add").disabled = true;
    fetchData().then(function (data) {
      var label = title + ($("urgent").checked ? " (urgent)" : "");
      $("items").append(item(label));
      $("form").reset();
      $("status").textContent = "Saved";
      log("saved:" + data.n);
      go("/app");
    }, function (error) {
      $("status").textContent = "Error: " + error.message;
      $("add").disabled = false;
    });
  });
  $("items").addEventListener("click", function (e) {
    var button = e.target.closest("button.delete");
    if (!button) return;
    pendingDelete = button.closest("li");
    $("confirm-title").textContent = pendingDelete.querySelector(".title").textContent;
    $("confirm").showModal();
    log("confirm:open");
  });
  $("confirm-delete").addEventListener("click", function () {
    if (pendingDelete) pendingDelete.remove();
    pendingDelete = null;
    $("confirm").close();
    $("status").textContent = "Deleted";
    log("confirm:delete");
  });
  $("confirm-cancel").addEventListener("click", function () {
    pendingDelete = null;
    $("confirm").close();
    log("confirm:cancel");
  });
  $("filter").addEventListener("input", function () {
    var needle = this.value.toLowerCase();
    Array.prototype.forEach.call(document.querySelectorAll("#items li"), function (li) {
      li.hidden = needle !== "" && li.textContent.toLowerCase().indexOf(needle) < 0;
    });
  });
  $("more").addEventListener("click", function () {
    $("more").disabled = true;
    $("status").textContent = "Loading...";
    fetchData().then(function (data) {
      for (var i = 0; i < 3; i++) $("items").append(item("Item " + (++more)));
      $("status").textContent = "Loaded " + data.n;
      $("more").disabled = false;
    });
  });
  show(location.pathname);
})();
</script>
"""


def _app_page(delay: int) -> _Response:
    return _html(200, "app: items", _APP_BODY + _APP_SCRIPT % {"delay": delay}, head=_APP_STYLE)


_NEVER_HEAD = _page(
    "never",
    "<h1>never</h1>\n<p>This page starts to arrive but never finishes.</p>\n@@",
).partition(b"@@")[0]

_CACHED_JS = b"window.cachedHits = (window.cachedHits||0)+1;\n"

_SW_JS = b"self.addEventListener('fetch', () => {});\n"

_SW_SCRIPT = """\
<script>
(function () {
  "use strict";
  function fail(error) {
    window.swError = String(error);
    document.title = "sw-error";
  }
  if (!("serviceWorker" in navigator)) {
    fail("navigator.serviceWorker is not available");
    return;
  }
  navigator.serviceWorker.register('/sw.js', {scope: '/'})
    .then(function () {
      window.swRegistered = true;
      return navigator.serviceWorker.ready;
    })
    .then(function () {
      window.swReady = true;
      document.title = "sw-ready";
    })
    .catch(fail);
})();
</script>"""


# ------------------------------------------------------------------------ params


def _last(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _int_param(
    params: dict[str, list[str]], name: str, default: int, low: int, high: int, *, cap: bool
) -> int:
    """An integer parameter in ``low..high``; ``cap`` clamps large values instead of refusing."""
    raw = _last(params, name)
    if raw is None:
        return default
    expected = f"an integer {low}..{high}"
    if not _DIGITS.fullmatch(raw):
        raise _BadParameter(name, raw, expected)
    value = int(raw)
    if value > high and cap:
        return high
    if not low <= value <= high:
        raise _BadParameter(name, raw, expected)
    return value


def _probability_param(params: dict[str, list[str]], name: str, default: float) -> float:
    raw = _last(params, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise _BadParameter(name, raw, "a number 0..1")
    return value


def _redirect_target(params: dict[str, list[str]]) -> str:
    raw = _last(params, "to")
    if raw is None:
        return "/"
    if (
        not raw.startswith("/")
        or raw.startswith(("//", "/\\"))
        or not raw.isascii()
        or not raw.isprintable()
        or " " in raw
    ):
        raise _BadParameter("to", raw, "a path on this server starting with a single '/'")
    return raw


# ------------------------------------------------------------------------- server


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    # Request threads are tracked and joined (with a deadline) by LocalSite.close().
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: _SiteState) -> None:
        self.state = state
        self.stop_event = threading.Event()
        self._active_lock = threading.Lock()
        self._active: dict[socket.socket, threading.Thread] = {}
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), a possibly slow DNS lookup.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, connection: socket.socket) -> None:
        with self._active_lock:
            self._active[connection] = threading.current_thread()
        if self.stop_event.is_set():
            _abort(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._active_lock:
            self._active.pop(connection, None)

    def abort_connections(self) -> None:
        """Shut down every open connection, waking the threads blocked on them."""
        with self._active_lock:
            connections = list(self._active)
        for connection in connections:
            _abort(connection)

    def join_handlers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._active_lock:
            threads = list(self._active.values())
        current = threading.current_thread()
        for thread in threads:
            if thread is not current:
                thread.join(max(deadline - time.monotonic(), 0.0))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Disconnects, and anything after close() started, are expected: stay quiet.
        error = sys.exc_info()[1]
        if isinstance(error, _DISCONNECT_ERRORS) or self.stop_event.is_set():
            return
        super().handle_error(request, client_address)


def _abort(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cdp-accept-site/1.0"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    # Headers and body are separate writes: without TCP_NODELAY, Nagle's algorithm
    # and delayed ACKs add ~40 ms to every response after the first on a connection.
    disable_nagle_algorithm = True

    _head = False

    @property
    def _site_server(self) -> _SiteServer:
        return cast(_SiteServer, self.server)

    # -- plumbing

    def setup(self) -> None:
        super().setup()
        self._site_server.track(self.connection)
        self.wfile = _CountingWriter(self.wfile)  # type: ignore[assignment]

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._site_server.untrack(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except _DISCONNECT_ERRORS:
            self.close_connection = True
        except OSError:
            if not self._site_server.stop_event.is_set():
                raise
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Request logging is silenced."""

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        self._dispatch(head=False)

    def _discard_request_body(self) -> None:
        if self.headers.get("Transfer-Encoding"):
            # Not parsed: answer, then close, so the framing cannot go wrong.
            self.close_connection = True
            return
        raw = self.headers.get("Content-Length")
        if raw is None:
            return
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_DISCARDED_BODY:
            self.close_connection = True
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)

    def _dispatch(self, *, head: bool) -> None:
        self._head = head
        self._discard_request_body()
        raw = self.path
        if raw.startswith("/"):
            path, _, query = raw.partition("?")
            path = path.partition("#")[0]
        else:  # absolute-form request target
            parts = urlsplit(raw)
            path, query = parts.path or "/", parts.query
        self._site_server.state.record_hit(path)
        params = parse_qs(query, keep_blank_values=True)
        try:
            response = self._route(path, params)
        except (_BadParameter, planted.PlantedParameterError) as error:
            response = _Response(400, str(error).encode(), content_type=_TEXT)
        if response is not None:
            writer = cast(_CountingWriter, self.wfile)
            before = writer.written
            self._send(response)
            self._site_server.state.record_bytes(path, writer.written - before)

    def _send(self, response: _Response) -> None:
        status = response.status
        self.send_response(status, _status_phrase(status))
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", response.cache_control)
        for name, value in response.headers:
            self.send_header(name, value)
        bodiless = status in (204, 304)
        if not bodiless:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and not bodiless and not self._head:
            self.wfile.write(response.body)

    def _sleep(self, seconds: float) -> bool:
        """Sleep; False (and the connection is to close) if the site is closing."""
        if self._site_server.stop_event.wait(seconds):
            self.close_connection = True
            return False
        return True

    # -- routes

    def _route(self, path: str, params: dict[str, list[str]]) -> _Response | None:
        if path.startswith("/status/"):
            return self._status(path[len("/status/") :])
        page = planted.route(path, params)
        if page is not None:
            return _Response(200, page.body, content_type=page.content_type)
        handler = _ROUTES.get(path)
        if handler is None:
            return _html(
                404, "404 Not Found", f"<h1>404 Not Found</h1>\n<p>{html.escape(path)}</p>"
            )
        return handler(self, params)

    def _index(self, params: dict[str, list[str]]) -> _Response:
        return _index_page()

    def _slow(self, params: dict[str, list[str]]) -> _Response | None:
        ms = _int_param(params, "ms", DEFAULT_SLOW_MS, 0, MAX_SLEEP_MS, cap=True)
        if not self._sleep(ms / 1000):
            return None
        return _html(200, "slow", f"<h1>slow</h1>\n<p>Answered after {ms} ms.</p>")

    def _broken(self, params: dict[str, list[str]]) -> _Response | None:
        ms = _int_param(params, "ms", 0, 0, MAX_SLEEP_MS, cap=True)
        if not self._sleep(ms / 1000):
            return None
        body = (
            "<h1>broken</h1>\n<p>This page has problems on purpose.</p>\n"
            '<img src="/status/404?missing.png" alt="missing">\n'
            "<script>\n"
            'console.error("broken page: checkout failed", {code: 42});\n'
            'setTimeout(function () { throw new TypeError("broken page: bad state"); }, 0);\n'
            "</script>"
        )
        return _html(200, "broken", body)

    def _status(self, raw: str) -> _Response:
        if not _DIGITS.fullmatch(raw) or not 200 <= int(raw) <= 599:
            raise _BadParameter("status", raw, "an integer 200..599")
        code = int(raw)
        if code in (204, 304):
            return _Response(code)
        text = f"{code} {_status_phrase(code)}"
        return _html(code, text, f"<h1>{html.escape(text)}</h1>\n<p>Status {code}.</p>")

    def _flaky(self, params: dict[str, list[str]]) -> _Response:
        fail = _probability_param(params, "fail", DEFAULT_FLAKY_FAIL)
        if self._site_server.state.chance(fail):
            return _html(500, "flaky: failed", "<h1>flaky: failed</h1>\n<p>Status 500.</p>")
        return _html(200, "flaky: ok", "<h1>flaky: ok</h1>\n<p>Status 200.</p>")

    def _heavy(self, params: dict[str, list[str]]) -> _Response:
        return _heavy_page(_int_param(params, "kb", DEFAULT_HEAVY_KB, 0, MAX_KB, cap=False))

    def _leak(self, params: dict[str, list[str]]) -> _Response:
        kb = _int_param(params, "kb", DEFAULT_LEAK_KB, 1, MAX_KB, cap=False)
        return _leak_page(kb, leaking=True)

    def _noleak(self, params: dict[str, list[str]]) -> _Response:
        kb = _int_param(params, "kb", DEFAULT_LEAK_KB, 1, MAX_KB, cap=False)
        return _leak_page(kb, leaking=False)

    def _spa(self, params: dict[str, list[str]]) -> _Response:
        delay = _int_param(params, "delay", DEFAULT_SPA_DELAY_MS, 0, MAX_SLEEP_MS, cap=True)
        return _spa_page(delay)

    def _api_data(self, params: dict[str, list[str]]) -> _Response | None:
        delay = _int_param(params, "delay", 0, 0, MAX_SLEEP_MS, cap=True)
        if delay and not self._sleep(delay / 1000):
            return None
        return _json(200, {"ok": True, "n": self._site_server.state.next_api_call()})

    def _never(self, params: dict[str, list[str]]) -> None:
        self.send_response(200, "OK")
        self.send_header("Content-Type", _HTML)
        self.send_header("Cache-Control", _NO_STORE)
        self.send_header("Content-Length", str(_NEVER_ANNOUNCED_LENGTH))
        self.end_headers()
        if self._head:
            return
        self.wfile.write(_NEVER_HEAD)
        self.close_connection = True  # the body is never completed
        deadline = time.monotonic() + NEVER_MAX_SECONDS
        stop = self._site_server.stop_event
        while not stop.is_set() and time.monotonic() < deadline:
            if self._client_gone():
                return

    def _client_gone(self) -> bool:
        """Wait up to 0.1 s for the client to close its side; True if it did."""
        try:
            readable, _, _ = select.select([self.connection], [], [], _NEVER_POLL)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return True
        except OSError:
            return True
        if readable:  # the client sent something: do not spin on it
            self._site_server.stop_event.wait(_NEVER_POLL)
        return False

    def _cacheable(self, params: dict[str, list[str]]) -> _Response:
        body = (
            "<h1>cacheable</h1>\n<p>This page includes a script the browser may cache.</p>\n"
            '<script src="/cached.js"></script>'
        )
        return _html(200, "cacheable", body)

    def _cached_js(self, params: dict[str, list[str]]) -> _Response:
        cache = "public, max-age=3600"
        headers = [("ETag", CACHED_JS_ETAG)]
        if self.headers.get("If-None-Match", "").strip() in (CACHED_JS_ETAG, "*"):
            return _Response(304, content_type=_JS, cache_control=cache, headers=headers)
        return _Response(200, _CACHED_JS, content_type=_JS, cache_control=cache, headers=headers)

    def _sw(self, params: dict[str, list[str]]) -> _Response:
        body = "<h1>sw</h1>\n<p>This page registers the service worker /sw.js.</p>"
        return _html(200, "sw", body, head=_SW_SCRIPT + "\n")

    def _sw_js(self, params: dict[str, list[str]]) -> _Response:
        return _Response(200, _SW_JS, content_type=_JS)

    def _storage(self, params: dict[str, list[str]]) -> _Response:
        return _html(200, "storage", "")

    def _redirect(self, params: dict[str, list[str]]) -> _Response:
        target = _redirect_target(params)
        escaped = html.escape(target)
        body = f'<h1>302 Found</h1>\n<p><a href="{escaped}">{escaped}</a></p>'
        response = _html(302, "302 Found", body)
        response.headers.append(("Location", target))
        return response

    def _app(self, params: dict[str, list[str]]) -> _Response:
        delay = _int_param(params, "delay", DEFAULT_SPA_DELAY_MS, 0, MAX_SLEEP_MS, cap=True)
        return _app_page(delay)

    def _app_done(self, params: dict[str, list[str]]) -> _Response:
        body = '<h1>All done</h1>\n<p><a id="again" href="/app">Back to the app</a></p>'
        return _html(200, "app-done", body)

    def _echo_headers(self, params: dict[str, list[str]]) -> _Response:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return _json(200, headers)


_Route = Callable[[_Handler, dict[str, list[str]]], "_Response | None"]
_ROUTES: dict[str, _Route] = {
    "/": _Handler._index,
    "/slow": _Handler._slow,
    "/broken": _Handler._broken,
    "/flaky": _Handler._flaky,
    "/heavy": _Handler._heavy,
    "/leak": _Handler._leak,
    "/noleak": _Handler._noleak,
    "/spa": _Handler._spa,
    "/api/data": _Handler._api_data,
    "/never": _Handler._never,
    "/cacheable": _Handler._cacheable,
    "/cached.js": _Handler._cached_js,
    "/sw": _Handler._sw,
    "/sw.js": _Handler._sw_js,
    "/storage": _Handler._storage,
    "/redirect": _Handler._redirect,
    "/echo-headers": _Handler._echo_headers,
    "/app": _Handler._app,
    "/app/new": _Handler._app,
    "/app/done": _Handler._app_done,
}


# --------------------------------------------------------------------------- site


class LocalSite:
    """The built-in test site: a threaded local HTTP server (see the module docstring).

    ``LocalSite(host="127.0.0.1", port=0)``: port 0 picks a random free port
    when :meth:`start` binds. ``seed`` seeds the random numbers of
    ``/flaky``. ``public_url`` is the address browsers elsewhere (a farm's)
    use to reach the site, e.g. ``http://host.docker.internal``: :meth:`url`
    builds on it, with the bound port when it names none (bind ``host`` to an
    address they can reach, e.g. ``0.0.0.0``). :meth:`close` may be called any
    number of times, and a closed site may be started again (on a new port if
    ``port`` is 0); the hit counts survive restarts.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int | None = None,
        public_url: str | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, not {port!r}")
        self.public = _public_base(public_url) if public_url else None
        self.host = host
        self._requested_port = port
        self._state = _SiteState(seed)
        self._lock = threading.Lock()
        self._server: _SiteServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> LocalSite:
        """Bind and serve in a daemon thread; returns ``self``."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("LocalSite is already started")
            server = _SiteServer((self.host, self._requested_port), self._state)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"cdp-accept-site:{server.server_port}",
                daemon=True,
            )
            self._server, self._thread = server, thread
            thread.start()
        return self

    def close(self) -> None:
        """Stop serving, close every connection and join the server thread; idempotent."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.stop_event.set()  # first: /never and /slow stop waiting
        server.shutdown()
        server.server_close()
        server.abort_connections()
        thread.join()
        server.join_handlers(_HANDLER_JOIN_SECONDS)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self.origin if self._server is not None else "not started"
        return f"<LocalSite {state}>"

    # -- addresses

    @property
    def port(self) -> int:
        """The bound port (raises :class:`RuntimeError` before :meth:`start`)."""
        server = self._server
        if server is None:
            raise RuntimeError("LocalSite is not started")
        return server.server_port

    @property
    def _url_host(self) -> str:
        if self.host in ("", "0.0.0.0"):
            return "127.0.0.1"
        if self.host == "::":
            return "[::1]"
        if ":" in self.host:
            return f"[{self.host}]"
        return self.host

    @property
    def _alt_host(self) -> str:
        return "127.0.0.1" if self._url_host == "localhost" else "localhost"

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``, or the public URL's origin (its port, else ours)."""
        if self.public is not None:
            scheme, host, port = self.public
            return f"{scheme}://{host}:{port or self.port}"
        return f"http://{self._url_host}:{self.port}"

    @property
    def alt_origin(self) -> str:
        """``http://localhost:PORT``: the same server as another origin."""
        return f"http://{self._alt_host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """``http://127.0.0.1:PORT{path}``."""
        return self.origin + _as_path(path)

    def alt_url(self, path: str = "/") -> str:
        """``http://localhost:PORT{path}``: ``path`` on the second origin."""
        return self.alt_origin + _as_path(path)

    # -- request counts

    def hits(self, path: str) -> int:
        """Requests received for ``path`` (any query string in ``path`` is ignored)."""
        return self._state.hits(_count_key(path))

    @property
    def requests(self) -> dict[str, int]:
        """A snapshot of the request counts per path."""
        return self._state.snapshot()

    def bytes_sent(self, path: str | None = None) -> int:
        """Bytes sent in answers (status line, headers and body) for ``path`` (its query
        ignored), or for every path."""
        sent = self._state.bytes_snapshot()
        return sum(sent.values()) if path is None else sent.get(_count_key(path), 0)

    def reset_hits(self) -> None:
        """Forget all request counts (and the bytes sent)."""
        self._state.reset_hits()


def site_port(public_url: str) -> int:
    """The port to listen on for ``--cdp-site-url``: the one it names, else 0 (any)."""
    return _public_base(public_url)[2] or 0


def _public_base(url: str) -> tuple[str, str, int | None]:
    """(scheme, host as written in a URL, port or None) of ``--cdp-site-url``."""
    parts = urllib.parse.urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ValueError(
            f"site URL {url!r}: expected http://host[:port], the address the browsers use "
            "to reach the built-in site"
        )
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"site URL {url!r}: a site URL is an origin, with no path or query")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, host, port


def _as_path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _count_key(path: str) -> str:
    return _as_path(path).partition("?")[0].partition("#")[0]


class AppURL:
    """URLs of an app under test that runs elsewhere: ``AppURL(base).url(path)``."""

    def __init__(self, base: str) -> None:
        parsed = urllib.parse.urlsplit(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base URL {base!r}: expected http(s)://host[:port][/path]")
        self.base = base if base.endswith("/") else base + "/"
        self.origin = f"{parsed.scheme}://{parsed.netloc}"

    def __repr__(self) -> str:
        return f"<AppURL {self.base}>"

    def url(self, path: str = "/") -> str:
        """``path`` relative to the base URL (a leading slash keeps the base's path)."""
        return urllib.parse.urljoin(self.base, path.lstrip("/"))


APP_CHECK_TIMEOUT = 10.0


def check_app(base: str, timeout: float = APP_CHECK_TIMEOUT) -> str | None:
    """Whether the app at ``base`` answers: None when it does, else what went wrong.

    Any HTTP answer counts, an error status included (the app is up; what its pages
    say is for the tests to judge); a refused or reset connection, a name that does
    not resolve, a timeout or a malformed URL does not. No proxy is used, as for
    the browser's own traffic to 127.0.0.1.
    """
    try:
        app = AppURL(base)
    except ValueError as exc:
        return str(exc)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(app.base, method="GET")
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(1)
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as exc:
        return _reason(exc.reason)
    except (OSError, http.client.HTTPException) as exc:
        return _reason(exc)
    return None


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return "no answer within the time limit"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return str(reason)
