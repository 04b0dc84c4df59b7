"""Errors raised by pytest-cdp-accept.

Every error the library raises derives from :class:`CDPAcceptError`::

    CDPAcceptError
    ├── ProtocolError            malformed or unexpected CDP traffic
    │   └── CommandError         the browser answered a command with an error
    ├── CommandTimeoutError      no answer within the command timeout
    ├── ConnectionClosedError    the websocket to the browser is gone
    ├── TargetClosedError        the page/session a command was sent to is gone
    │   └── TargetCrashedError   ... because its renderer crashed
    ├── EvaluationError          the page's JavaScript threw
    ├── ActionError              a journey action cannot be done (not an input, no such option)
    │   └── ActionTimeoutError       ... or its element was not ready in time
    ├── NavigationError          a navigation failed (net::ERR_*, invalid URL)
    │   ├── NavigationTimeoutError   ... or did not finish in time
    │   └── HTTPStatusError          ... or answered with an HTTP error status
    ├── LaunchError              a browser could not be started or reached
    │   ├── BrowserNotFoundError     no browser executable was found
    │   ├── CircuitOpenError         an endpoint failed repeatedly: failing fast
    │   │                            (defined in resilience.py)
    │   └── FarmError                a browser farm refused or failed a connection
    │       ├── FarmAuthError            401/403: credentials refused (not retried)
    │       ├── FarmBusyError            at capacity until the launch timeout
    │       ├── FarmRequestError         another 4xx: the URL is wrong
    │       └── FarmUnreachableError     nothing answers, or a 5xx
    │           └── FarmGoneError        ... after the farm had served the run
    │                                (defined in engine/farm.py)
    ├── PoolClosedError          the pool was closed while a lease was wanted
    ├── TraceClockError          a saved trace holds no clock marker to place samples on
    └── UsageError               the library was called with bad arguments

Errors carry data (method, code, target, recent browser output) as
attributes, and library errors (websockets, OSError) are translated at one
boundary and chained with ``raise ... from ...``.
"""

from __future__ import annotations

from typing import Any


class CDPAcceptError(Exception):
    """Root of every error raised by pytest-cdp-accept."""


class ProtocolError(CDPAcceptError):
    """The browser sent something that is not valid CDP."""


class CommandError(ProtocolError):
    """The browser answered a command with an error object."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        detail = f" ({data})" if data else ""
        super().__init__(f"{method} failed: {message} [code {code}]{detail}")


class CommandTimeoutError(CDPAcceptError, TimeoutError):
    """A command got no answer within its timeout."""

    def __init__(
        self,
        method: str,
        timeout: float,
        setting: str,
        *,
        page_responsive: bool | None = None,
        browser_responsive: bool | None = None,
    ) -> None:
        self.method = method
        self.timeout = timeout
        self.setting = setting
        self.page_responsive = page_responsive
        """Whether the page answered a check right after (None: not checked)."""
        self.browser_responsive = browser_responsive
        """Whether the browser answered a check right after (None: not checked)."""
        head = f"{method} got no answer within {timeout:g} s"
        if page_responsive:
            if method in ("Runtime.evaluate", "Runtime.callFunctionOn"):
                cause = (
                    "the page still answers other commands, so the browser is not slow: "
                    "the promise it awaits never settled (make it settle, or pass "
                    "timeout= to wait longer)"
                )
            else:
                cause = (
                    "the page still answers other commands, so the browser is not slow: "
                    f"{method} itself waits for something that did not happen; pass "
                    "timeout= to wait longer"
                )
        elif page_responsive is False and browser_responsive:
            cause = (
                "and the page did not answer a check either while the browser did: the "
                "page's main thread is busy or hung (a long-running or endless script)"
            )
        elif page_responsive is False:
            cause = (
                "and neither the page nor the browser answered a check: the browser is "
                f"stalled or overloaded; raise {setting} if it is just slow"
            )
        else:
            cause = f"raise {setting} if the browser is just slow"
        super().__init__(f"{head}; {cause}")


class ConnectionClosedError(CDPAcceptError):
    """The connection to the browser closed; every pending command fails with this."""

    def __init__(self, reason: str, method: str | None = None) -> None:
        self.reason = reason
        self.method = method
        prefix = f"{method}: " if method else ""
        super().__init__(f"{prefix}connection to the browser closed: {reason}")


class TargetClosedError(CDPAcceptError):
    """The target (page) a command was sent to was closed or detached."""

    def __init__(self, reason: str, method: str | None = None, target_id: str | None = None):
        self.reason = reason
        self.method = method
        self.target_id = target_id
        prefix = f"{method}: " if method else ""
        super().__init__(f"{prefix}{reason}")


class TargetCrashedError(TargetClosedError):
    """The target's renderer process crashed."""


class EvaluationError(CDPAcceptError):
    """The page's JavaScript threw while evaluating an expression."""

    def __init__(self, expression: str, description: str) -> None:
        self.expression = expression
        self.description = description
        short = expression if len(expression) < 80 else expression[:77] + "..."
        super().__init__(f"evaluate({short!r}) threw: {description}")


class ActionError(CDPAcceptError):
    """A journey action (click, fill, ...) cannot be done on the element it found."""

    def __init__(self, action: str, selector: str | None, message: str) -> None:
        self.action = action
        self.selector = selector
        self.message = message
        where = f"{action}({selector!r})" if selector is not None else f"{action}()"
        super().__init__(f"{where}: {message}")


ACTION_TIMEOUT_SETTING = "--cdp-action-timeout (ini cdp_action_timeout)"


class ActionTimeoutError(ActionError, TimeoutError):
    """An action's element did not reach the state it needs within the timeout.

    ``observation`` is the last thing the page saw while waiting ("matched nothing",
    "... is covered by <div class=\"modal-backdrop\">", "... is not enabled").
    """

    def __init__(
        self, action: str, selector: str | None, state: str, observation: str, timeout: float
    ) -> None:
        self.state = state
        self.observation = observation
        self.timeout = timeout
        self.setting = ACTION_TIMEOUT_SETTING
        super().__init__(
            action,
            selector,
            f"waited {timeout:g} s for {state}; last seen: {observation}. "
            f"Pass {action}(timeout=...) or raise {ACTION_TIMEOUT_SETTING} if the app "
            "is just slow",
        )


class NavigationError(CDPAcceptError):
    """A navigation failed."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"navigation to {url} failed: {reason}")


class NavigationTimeoutError(NavigationError, TimeoutError):
    """A navigation did not reach its ``wait_until`` state in time."""

    def __init__(
        self, url: str, wait_until: str, timeout: float, *, hint: str | None = None
    ) -> None:
        self.wait_until = wait_until
        self.timeout = timeout
        hint = hint or (
            "pass goto(timeout=...) or raise --cdp-navigation-timeout if the page is just slow"
        )
        super().__init__(url, f"'{wait_until}' not reached within {timeout:g} s; {hint}")


class HTTPStatusError(NavigationError):
    """The main document answered with an HTTP error status (>= 400)."""

    def __init__(self, url: str, status: int, navigation: Any) -> None:
        self.status = status
        self.navigation = navigation
        super().__init__(
            url, f"HTTP {status}; pass goto(check_status=False) to accept error statuses"
        )


class LaunchError(CDPAcceptError):
    """A browser could not be started (or a remote one could not be reached)."""

    def __init__(self, message: str, output: list[str] | None = None) -> None:
        self.output = list(output or [])
        if self.output:
            tail = "\n".join(f"    {line}" for line in self.output[-15:])
            message = f"{message}\n  last browser output:\n{tail}"
        super().__init__(message)


class BrowserNotFoundError(LaunchError):
    """No browser executable was found."""

    def __init__(self, searched: list[str]) -> None:
        self.searched = searched
        where = "\n".join(f"    {s}" for s in searched)
        super().__init__(
            "no Chromium-based browser found. Searched:\n"
            f"{where}\n"
            "  Fix: run `cdp-accept install-browser` (Debian/Ubuntu: apt-get install chromium), "
            "or point --cdp-browser / ini cdp_browser / env CDP_ACCEPT_BROWSER at one."
        )


class PoolClosedError(CDPAcceptError):
    """The browser pool is closed."""


class TraceClockError(CDPAcceptError):
    """A saved trace holds none of the clock sync markers its tracer recorded (the ring
    buffer overwrote them), so wall-clock times cannot be placed on it."""


class UsageError(CDPAcceptError, ValueError):
    """The library was called with invalid arguments."""
