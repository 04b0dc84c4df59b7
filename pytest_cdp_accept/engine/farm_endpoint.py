"""Browser farm addresses, their secrets, and what a farm's answers mean: plain code, no sockets.

A farm (browserless and alike) is reached at one URL, and every websocket
connection to it is a new browser. Such a URL carries what the farm needs
to know about the caller: a path, a query (``?token=…``, browserless'
``launch=`` and ``timeout=``) and sometimes headers (``Authorization``).
:class:`FarmEndpoint` keeps all of it end to end:

* ``ws://`` / ``wss://`` URLs are connected to as given;
* ``http(s)://host:port/path?query`` is resolved through
  ``/path/json/version?query`` (same query, same headers), and the query
  and host are carried onto the ``webSocketDebuggerUrl`` it returns when
  that URL lacks them (browserless returns ``ws://host:port`` without the
  token, or a wildcard host when it does not know its outside address).

Secrets (the values of query parameters named like a credential, a URL's
password, every header value) are registered with a process-wide
:class:`Redactor` the moment an endpoint is parsed, so every message, repr
and log line built from them can say ``token=***`` instead.
:class:`RedactingFilter` does that for log records; the URLs handed to
lower layers are :class:`SecretURL` strings whose ``repr`` is redacted, so a
traceback that shows a frame's arguments or locals shows no secret either.

:func:`classify_status` says what an HTTP status from a farm means for the
caller: ``auth`` (401, 403: the credentials are wrong, retrying cannot help),
``busy`` (429, 503, 408: the farm is at capacity, wait for a slot),
``server`` (other 5xx: transient), ``request`` (other 4xx: the URL is wrong).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..errors import UsageError

REDACTED = "***"

# Query parameters whose values are credentials (matched anywhere in the name,
# case-insensitively: token, apiKey, access_token, X-Amz-Signature, ...).
SECRET_PARAM_WORDS = (
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "signature",
    "sig",
    "credential",
    "jwt",
    "session",
)


@functools.cache
def _secret_name() -> re.Pattern[str]:
    return re.compile("|".join(SECRET_PARAM_WORDS), re.IGNORECASE)


@functools.cache
def _secret_pair() -> re.Pattern[str]:
    """Query parameters in free text whose name looks like a credential: catches a secret
    that reached a message without being registered (say, in a URL a farm returned).
    Compiled on first use: importing the plugin stays cheap."""
    words = "|".join(SECRET_PARAM_WORDS)
    return re.compile(
        r"(?P<lead>[?&;])(?P<name>[\w.-]*(?:" + words + r")[\w.-]*)=(?P<value>[^&#\s'\"<>()\[\]]+)",
        re.IGNORECASE,
    )


# Shorter secrets are not replaced in free text (they would shred ordinary words); their
# name=value pairs and headers are still redacted.
MIN_SECRET_LENGTH = 4
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

StatusKind = Literal["auth", "busy", "server", "request"]


class Redactor:
    """The secrets seen in this process, and the function that hides them in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._ordered: list[str] = []
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        """Remember ``secret`` (and its percent-encoded forms) for :meth:`redact`."""
        forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
        forms = {f for f in forms if len(f) >= MIN_SECRET_LENGTH}
        with self._lock:
            if forms <= self._secrets:
                return
            self._secrets |= forms
            # Longest first: a secret that contains another is replaced whole.
            self._ordered = sorted(self._secrets, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every known secret and every credential-like ``name=value`` hidden."""
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return _secret_pair().sub(_hide_pair, text)

    def __len__(self) -> int:
        return len(self._secrets)


def _hide_pair(match: re.Match[str]) -> str:
    return f"{match.group('lead')}{match.group('name')}={REDACTED}"


REDACTOR = Redactor()


def redact(text: str) -> str:
    """``text`` with every secret this process knows of replaced by ``***``."""
    return REDACTOR.redact(text)


class SecretURL(str):
    """A URL that carries a secret: a plain string to the code that uses it, redacted in
    its ``repr`` (tracebacks, ``--showlocals``, reprs of containers holding it)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(redact(str(self)))


class RedactingFilter(logging.Filter):
    """Redacts the message (and the formatted traceback) of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Put one :class:`RedactingFilter` on each logger (idempotent)."""
    for logger in loggers:
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


# Our own logger, and the one our websockets connections log to (their debug lines
# include the request line, query and all).
WS_LOGGER = logging.getLogger("pytest_cdp_accept.websockets")
install_log_redaction(logging.getLogger("pytest_cdp_accept"), WS_LOGGER)


# -- statuses ----------------------------------------------------------------------------


def classify_status(status: int) -> StatusKind:
    """What an HTTP status from a farm (handshake or HTTP route) means for the caller."""
    if status in (401, 403):
        return "auth"
    if status in (408, 429, 503):
        return "busy"
    if status >= 500:
        return "server"
    return "request"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # rare: most farms send seconds

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now is None:
        import time

        now = time.time()
    return max(0.0, when.timestamp() - now)


def describe_cut(rcvd_code: int | None, sent_code: int | None, age_s: float) -> str | None:
    """Why a farm connection ended, when its end says so; None for an ordinary close.

    browserless ends a session at its ``TIMEOUT`` by writing an HTTP 408 response
    into the open websocket: the client reads bytes that are no websocket frame
    and fails the connection itself (close code 1002, nothing received).
    """
    if rcvd_code is None and sent_code == 1002:
        return (
            f"the farm cut the session after {age_s:.1f} s (it wrote a non-websocket "
            "answer, which is how browserless ends a session at its TIMEOUT); raise the "
            "farm's session timeout (browserless: TIMEOUT, or timeout=<ms> in the farm URL)"
        )
    return None


# -- endpoints ---------------------------------------------------------------------------


def parse_header(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` (or ``NAME: VALUE``) of ``--cdp-farm-header``, checked."""
    sep = "=" if "=" in text and (":" not in text or text.index("=") < text.index(":")) else ":"
    name, found, value = text.partition(sep)
    name, value = name.strip(), value.strip()
    if not found or not name or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
        shown = f"{name}=***" if found else "<unparsable>"
        raise UsageError(
            f"--cdp-farm-header {shown}: expected NAME=VALUE, e.g. 'Authorization=Bearer <token>'"
        )
    if "\n" in value or "\r" in value:
        raise UsageError(f"--cdp-farm-header {name}=***: a header value cannot span lines")
    return name, value


def _is_secret_param(name: str) -> bool:
    return bool(_secret_name().search(name))


@dataclass(frozen=True)
class FarmEndpoint:
    """One farm (or remote browser) address: URL with path and query, plus headers.

    Build it with :meth:`parse`. ``repr`` and :attr:`display` never show a secret.
    """

    url: SecretURL
    headers: tuple[tuple[str, str], ...] = ()
    display: str = field(default="", compare=False)
    role: str = field(default="farm", compare=False)
    """What it is, for messages: ``farm`` (``--cdp-farm``) or ``browser`` (``--cdp-endpoint``)."""

    @classmethod
    def parse(
        cls, url: str, headers: Iterable[tuple[str, str]] = (), *, option: str = "--cdp-farm"
    ) -> FarmEndpoint:
        """Check ``url`` and register its secrets (and the headers' values) for redaction."""
        url = url.strip()
        try:
            parts = urllib.parse.urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise UsageError(f"{option} {redact(url)!r}: not a valid URL ({exc})") from None
        for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            if _is_secret_param(name) and value:
                REDACTOR.add(value)
        if parts.password:
            REDACTOR.add(parts.password)
        header_list = tuple((str(n), str(v)) for n, v in headers)
        for _, value in header_list:
            REDACTOR.add(value)
            # 'Bearer <token>': the token alone shows up in other places too.
            scheme, _, credential = value.partition(" ")
            if credential and scheme.isalpha():
                REDACTOR.add(credential.strip())
        if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
            raise UsageError(
                f"{option} {redact(url)!r}: expected ws://host:port/..., wss://..., "
                "http://host:port or https://... (with any path and query the farm needs, "
                "e.g. ?token=...)"
            )
        role = "browser" if option == "--cdp-endpoint" else "farm"
        return cls(SecretURL(url), header_list, _compact(url), role)

    def __repr__(self) -> str:
        headers = f" headers={[n for n, _ in self.headers]}" if self.headers else ""
        return f"<FarmEndpoint {self.display}{headers}>"

    def __str__(self) -> str:
        return self.display

    # -- parts ---------------------------------------------------------------------

    @property
    def _parts(self) -> urllib.parse.SplitResult:
        return urllib.parse.urlsplit(self.url)

    @property
    def is_websocket(self) -> bool:
        """True for ``ws://``/``wss://``: connected to as given, no ``/json/version``."""
        return self._parts.scheme in ("ws", "wss")

    @property
    def query(self) -> list[tuple[str, str]]:
        return urllib.parse.parse_qsl(self._parts.query, keep_blank_values=True)

    def has_param(self, name: str) -> bool:
        return any(n == name for n, _ in self.query)

    @property
    def breaker_key(self) -> str:
        """Where and as whom: two credentials for one farm get two circuit breakers."""
        import hashlib

        parts = self._parts
        digest = hashlib.sha256(
            json.dumps([self.query, list(self.headers), parts.password or ""]).encode()
        ).hexdigest()[:12]
        where = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return f"{redact(where)}#{digest}"

    @property
    def version_url(self) -> SecretURL:
        """``http(s)://host:port/path/json/version?query`` (the same query as given)."""
        parts = self._parts
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        path = parts.path.rstrip("/") + "/json/version"
        return SecretURL(urllib.parse.urlunsplit((scheme, parts.netloc, path, parts.query, "")))

    def http_url(self, path: str, **params: str) -> SecretURL:
        """An HTTP URL on the farm's host (a management route such as ``/pressure``), with
        the credentials of this endpoint's query and ``params``."""
        parts = self._parts
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        query = [(n, v) for n, v in self.query if _is_secret_param(n)]
        query += list(params.items())
        return SecretURL(
            urllib.parse.urlunsplit((scheme, parts.netloc, path, urllib.parse.urlencode(query), ""))
        )

    @property
    def ws_url(self) -> SecretURL:
        """The websocket URL to connect to (``ws``/``wss`` endpoints only; resolve others)."""
        if not self.is_websocket:
            raise UsageError(
                f"{self.display}: an http(s) endpoint is resolved through /json/version first"
            )
        return self.url

    # -- derived endpoints -----------------------------------------------------------

    def with_params(self, **params: str) -> FarmEndpoint:
        """The same endpoint with query parameters added (those it has already are kept)."""
        missing = [(n, v) for n, v in params.items() if not self.has_param(n)]
        if not missing:
            return self
        parts = self._parts
        query = parts.query + ("&" if parts.query else "") + urllib.parse.urlencode(missing)
        url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        return FarmEndpoint(SecretURL(url), self.headers, _compact(url), self.role)

    def with_launch_args(self, args: Sequence[str]) -> FarmEndpoint:
        """Ask the farm to launch its browsers with ``args`` (browserless ``launch=``).

        A ``launch`` the URL has already is the user's and is kept as it is.
        ``--no-startup-window`` leaves no page for puppeteer's launch to wait for:
        without ``waitForInitialPage: false`` browserless' launch hangs until its
        30 s timeout.
        """
        if self.has_param("launch") or not args:
            return self
        options: dict[str, object] = {"args": list(args)}
        if "--no-startup-window" in args:
            options["waitForInitialPage"] = False
        return self.with_params(launch=json.dumps(options, separators=(",", ":")))

    def adopt(self, returned: str) -> FarmEndpoint:
        """The endpoint for the websocket URL ``/json/version`` returned.

        Query parameters of ours that it lacks are carried over (browserless returns
        ``ws://host:port`` without the token), and a wildcard host (``0.0.0.0``), or a
        loopback host when we reached the farm by another name, is replaced by the host
        we reached it at: the farm does not know its outside address.
        """
        try:
            got = urllib.parse.urlsplit(returned)
            got_port = got.port
        except ValueError as exc:
            raise UsageError(
                f"{self.display}: /json/version returned an invalid webSocketDebuggerUrl "
                f"{redact(returned)!r} ({exc})"
            ) from None
        if got.scheme not in ("ws", "wss") or not got.hostname:
            raise UsageError(
                f"{self.display}: /json/version returned {redact(returned)!r}, "
                "not a ws:// or wss:// URL"
            )
        ours = self._parts
        netloc = got.netloc
        host = (got.hostname or "").lower()
        our_host = (ours.hostname or "").lower()
        if host in WILDCARD_HOSTS or (host in LOOPBACK_HOSTS and our_host not in LOOPBACK_HOSTS):
            our_host_text = f"[{ours.hostname}]" if ":" in (ours.hostname or "") else ours.hostname
            netloc = f"{our_host_text}:{got_port}" if got_port else str(our_host_text)
        have = {n for n, _ in urllib.parse.parse_qsl(got.query, keep_blank_values=True)}
        carried = [(n, v) for n, v in self.query if n not in have]
        query = got.query
        if carried:
            query += ("&" if query else "") + urllib.parse.urlencode(carried)
        url = urllib.parse.urlunsplit((got.scheme, netloc, got.path, query, ""))
        option = "--cdp-endpoint" if self.role == "browser" else "--cdp-farm"
        return FarmEndpoint.parse(url, self.headers, option=option)


def _compact(url: str) -> str:
    """The redacted URL, with a long ``launch=`` JSON summarised (it holds ~40 switches)."""
    shown = redact(url)
    try:
        parts = urllib.parse.urlsplit(shown)
    except ValueError:
        return shown
    pairs = []
    for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if name == "launch" and len(value) > 60:
            try:
                count = len(json.loads(value).get("args", []))
                value = f"<{count} switches>"
            except (ValueError, AttributeError):
                value = "<...>"
        pairs.append(f"{name}={value}" if value else name)
    query = "&".join(pairs)
    if not query:
        return shown
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def farm_launch_args(args: Sequence[str]) -> list[str]:
    """The switches worth sending to a farm that launches browsers: ours minus what is the
    farm's to decide (the DevTools port it connects to, headless mode, sandbox, /dev/shm)."""
    from .launcher import merge_feature_switches

    skip = (
        "--remote-debugging-port",
        "--remote-debugging-pipe",
        "--headless",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--user-data-dir",
    )
    kept = [a for a in args if not a.startswith(skip)]
    # browserless passes --disable-features=LocalNetworkAccessChecks; Chromium honours
    # only the last --disable-features, so ours must keep it.
    return merge_feature_switches([*kept, "--disable-features=LocalNetworkAccessChecks"])


__all__ = [
    "REDACTED",
    "REDACTOR",
    "FarmEndpoint",
    "RedactingFilter",
    "SecretURL",
    "classify_status",
    "describe_cut",
    "farm_launch_args",
    "install_log_redaction",
    "parse_header",
    "redact",
    "retry_after_seconds",
]
