"""Journeys: actions, waits and reads on a page, with auto-waiting and real input.

:class:`PageActions` is the part of :class:`~pytest_cdp_accept.engine.browser.Page`
that drives an app the way a user does. Each action is one ``Runtime.evaluate`` of the
injected script (``journeys.js``) in an isolated world of the page, which resolves the
selector, waits inside the page until the element is ready (attached, visible, enabled,
stable, not covered) and answers with the point to aim at; then the input itself goes
through ``Input.dispatchMouseEvent`` / ``dispatchKeyEvent`` / ``insertText``, its events
written back to back and awaited together. See docs/journeys.md for the rules.

Every action records an ``action`` sample (``Page.action_metric``): its wall time,
waiting included. Waits and reads record nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.resources
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from ..errors import (
    ActionError,
    ActionTimeoutError,
    CDPAcceptError,
    CommandError,
    CommandTimeoutError,
    EvaluationError,
    NavigationTimeoutError,
    UsageError,
)
from ..metrics import Recorder
from .connection import CDPSession
from .keys import KeyboardState, mouse_events, parse_modifiers, typed
from .selectors import parse_selector

if TYPE_CHECKING:
    from .browser import Browser, Navigation, Page, _LazyTiming, _NavigationWatch

WaitState = Literal["visible", "attached", "hidden", "detached"]
WAIT_STATES = ("visible", "attached", "hidden", "detached")
URLPattern = str | re.Pattern[str] | Callable[[str], bool]

WORLD_NAME = "__cdp_accept_utility__"
ANSWER_GRACE = 1.0
"""Seconds Python waits past an in-page deadline before it calls the page unresponsive."""
UNRESPONSIVE = (
    "the page did not answer (its main thread is busy, or a dialog or a debugger blocks it)"
)
# What the browser answers when the document an evaluation ran in went away.
_CONTEXT_GONE = (
    "Cannot find context with specified id",
    "Execution context was destroyed",
    "Inspected target navigated or closed",
    "Cannot find default execution context",
    "No frame for given id found",
)
POINTER_STATE = "the element to be visible, enabled, stable and to receive the click"
HOVER_STATE = "the element to be visible, stable and to receive the pointer"


def _script() -> str:
    global _SCRIPT
    if _SCRIPT is None:
        _SCRIPT = importlib.resources.files(__package__).joinpath("journeys.js").read_text("utf-8")
    return _SCRIPT


_SCRIPT: str | None = None


class ExpectedNavigation:
    """What ``expect_navigation()`` gives: the :class:`Navigation`, once the block ended."""

    def __init__(self) -> None:
        self._value: Navigation | None = None
        self._same_document = False

    def __repr__(self) -> str:
        return f"<ExpectedNavigation {self._value!r}>"

    @property
    def value(self) -> Navigation:
        if self._value is None:
            raise UsageError(
                "the navigation is known once the `with page.expect_navigation()` block ends"
            )
        return self._value

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def status(self) -> int | None:
        return self.value.status

    @property
    def elapsed_ms(self) -> float:
        return self.value.elapsed_ms

    @property
    def wait_until(self) -> str:
        return self.value.wait_until

    @property
    def ok(self) -> bool:
        return self.value.ok

    @property
    def same_document(self) -> bool:
        """True for a history API (pushState, replaceState, hash) navigation."""
        return self.value is not None and self._same_document

    @property
    def timing(self) -> dict[str, float]:
        return self.value.timing


class PageActions:
    """Actions, waits and reads: the journey half of the async ``Page``."""

    # Provided by Page.
    browser: Browser
    session: CDPSession
    target_id: str
    context_id: str | None
    recorder: Recorder
    url: str
    navigation_metric: str
    _committed_loader: str

    if TYPE_CHECKING:  # the navigation helpers of the Page this class is mixed into

        async def _stop_loading(self) -> None: ...

        def _input_sent(self) -> None: ...

        async def _wait_network_idle(self, deadline: float) -> float: ...

    @property
    def _page(self) -> Page:
        return cast("Page", self)

    def _init_actions(self) -> None:
        self.action_metric = "action"
        """Where actions record: loops under load use their own name (stress.action)."""
        self._world: tuple[int, str] | None = None  # (execution context id, loader)
        self.viewport: tuple[int, int, float, bool] | None = None
        """What ``set_viewport`` set (the pool clears it between tests), else None."""
        self._mouse_used = False
        # Navigations the page asked for (a link, a form, location.href = ...) and how
        # many of them have settled (committed, stopped without a commit, or failed).
        # A link's navigation is requested in a task after the click, so the click
        # cannot wait for it; the next action sees it and waits for the new document.
        self._nav_requested = 0
        self._nav_settled = 0
        self._nav_waiters: set[asyncio.Future[None]] = set()
        on = self.session.on
        on("Page.frameRequestedNavigation", self._on_navigation_requested)
        on("Page.frameScheduledNavigation", self._on_navigation_requested)
        on("Page.frameNavigated", lambda p: self._on_main_frame((p.get("frame") or {}).get("id")))
        on("Page.navigatedWithinDocument", lambda p: self._on_main_frame(p.get("frameId")))
        on("Page.frameStoppedLoading", lambda p: self._on_main_frame(p.get("frameId")))
        on("Network.loadingFailed", self._on_failed)

    def _on_navigation_requested(self, params: dict[str, Any]) -> None:
        if params.get("frameId") == self.target_id and params.get("disposition") in (
            None,
            "currentTab",
        ):
            self._nav_requested += 1

    def _on_main_frame(self, frame_id: str | None) -> None:
        if frame_id == self.target_id:
            self._settle_navigation()

    def _on_failed(self, params: dict[str, Any]) -> None:
        if params.get("type") == "Document":
            self._settle_navigation()

    def _settle_navigation(self) -> None:
        self._nav_settled = self._nav_requested
        for waiter in self._nav_waiters:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def _navigation_pending(self) -> bool:
        return self._nav_settled < self._nav_requested

    async def _wait_navigation(self, deadline: float) -> bool:
        """Until the navigations the page asked for have settled; False at ``deadline``."""
        loop = asyncio.get_running_loop()
        while self._navigation_pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._nav_waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                return False
            finally:
                self._nav_waiters.discard(waiter)
        return True

    # -- the injected script ------------------------------------------------------------

    async def _world_context(self, timeout: float | None = None) -> tuple[int, bool]:
        """The utility world of the current document: (context id, created just now)."""
        loader = self._committed_loader
        if self._world is not None and self._world[1] == loader:
            return self._world[0], False
        reply = await self.session.send(
            "Page.createIsolatedWorld",
            {"frameId": self.target_id, "worldName": WORLD_NAME},
            timeout=timeout,
        )
        context_id = int(reply["executionContextId"])
        self._world = (context_id, loader)
        return context_id, True

    async def _in_page(
        self, action: str, selector: str | None, spec: dict[str, Any], state: str, timeout: float
    ) -> dict[str, Any]:
        """Run one operation of the injected script; its answer, or the error it means.

        The page waits up to ``timeout``; a document replaced meanwhile (a navigation)
        makes the operation start again in the new one, within the same deadline.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        observation = "nothing checked yet"
        while True:
            if self._navigation_pending and not await self._wait_navigation(deadline):
                observation = "the page is navigating to a document that has not arrived yet"
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ActionTimeoutError(action, selector, state, observation, timeout)
            try:
                reply, fresh = await self._run_script(spec, remaining)
            except CommandError as exc:
                if not exc.message.startswith(_CONTEXT_GONE):
                    raise
                self._world = None
                observation = "the page navigated while waiting"
                continue
            except CommandTimeoutError:
                raise ActionTimeoutError(action, selector, state, UNRESPONSIVE, timeout) from None
            details = reply.get("exceptionDetails")
            if details:
                description = _exception_text(details)
                if "__cdpAccept is not defined" in description and not fresh:
                    self._world = None  # a world we do not know: make ours again
                    continue
                raise ActionError(action, selector, f"the injected script failed: {description}")
            answer: dict[str, Any] = (reply.get("result") or {}).get("value") or {}
            if self._navigation_pending:
                # The page began to leave this document (a link clicked just before):
                # the answer is about the old one; ask the new one.
                observation = str(answer.get("observation", observation))
                continue
            if answer.get("ok"):
                return answer
            error = answer.get("error")
            if error == "selector":
                where = f"{action}({selector!r})"
                raise UsageError(f"{where}: {answer.get('message')}")
            if error is not None:
                raise ActionError(action, selector, str(answer.get("message")))
            raise ActionTimeoutError(
                action, selector, state, str(answer.get("observation", observation)), timeout
            )

    async def _run_script(
        self, spec: dict[str, Any], remaining: float
    ) -> tuple[dict[str, Any], bool]:
        """Send one operation to the injected script in the utility world (with the
        script's source when the world is new); the reply, and whether it was new."""
        context_id, fresh = await self._world_context(remaining + ANSWER_GRACE)
        call = f"__cdpAccept.run({json.dumps({**spec, 'timeout': remaining * 1000.0})})"
        reply = await self.session.send(
            "Runtime.evaluate",
            {
                "expression": f"{_script()}\n;{call}" if fresh else call,
                "contextId": context_id,
                "returnByValue": True,
                "awaitPromise": True,
            },
            timeout=remaining + ANSWER_GRACE,
        )
        return reply, fresh

    async def _act(
        self,
        action: str,
        selector: str,
        op: str,
        awaited: str,
        timeout: float | None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Run ``op`` of the injected script on ``selector``; ``awaited`` names the state
        waited for, for the timeout error."""
        spec = {"op": op, "selector": parse_selector(selector), **extra}
        return await self._in_page(action, selector, spec, awaited, self._timeout(timeout))

    def _timeout(self, timeout: float | None) -> float:
        if timeout is None:
            return self.browser.action_timeout
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise UsageError(f"timeout={timeout!r}: expected seconds > 0")
        return float(timeout)

    def _record(self, start: float) -> None:
        self.recorder.record(self.action_metric, (time.perf_counter() - start) * 1000.0)

    # -- input ----------------------------------------------------------------------

    async def _dispatch(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Send input events back to back and await them together: awaited one by one,
        a ``mouseMoved`` waits for the next frame (~17 ms) before the press may go."""
        self._input_sent()
        await self.session.send_batch(events)

    async def _pointer(
        self,
        action: str,
        selector: str,
        timeout: float | None,
        *,
        button: str = "left",
        click_count: int = 1,
        modifiers: Sequence[str] | None = None,
        hover: bool = False,
        check: bool | None = None,
    ) -> None:
        start = time.perf_counter()
        held = parse_modifiers(modifiers)
        mouse_events(0, 0, button=button, click_count=click_count)  # checks the arguments
        seconds = self._timeout(timeout)
        state = HOVER_STATE if hover else POINTER_STATE
        answer = await self._act(
            action, selector, "pointer", state, seconds, hover=hover, check=check
        )
        if not answer.get("done"):
            self._mouse_used = True
            keyboard = KeyboardState()
            events = [("Input.dispatchKeyEvent", keyboard.down(name)) for name in held]
            events += [
                ("Input.dispatchMouseEvent", event)
                for event in mouse_events(
                    answer["x"],
                    answer["y"],
                    button=button,
                    click_count=click_count,
                    modifiers=keyboard.mask,
                    move_only=hover,
                )
            ]
            events += [("Input.dispatchKeyEvent", e) for e in keyboard.release_all()]
            await self._dispatch(events)
        if check is not None and not answer.get("done"):
            result = await self._act(action, selector, "checked", "the element", seconds)
            if result.get("value") is not check:
                what = "checked" if check else "unchecked"
                raise ActionError(action, selector, f"the click did not leave it {what}")
        self._record(start)

    # -- actions --------------------------------------------------------------------

    async def click(
        self,
        selector: str,
        *,
        button: str = "left",
        click_count: int = 1,
        modifiers: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Click the first visible match, with real mouse events at its centre.

        Waits until it is visible, enabled, stable and not covered; scrolls it into
        view. ``modifiers``: keys held during the click (``["Shift"]``).
        """
        await self._pointer(
            "click", selector, timeout, button=button, click_count=click_count,
            modifiers=modifiers,
        )  # fmt: skip

    async def dblclick(
        self,
        selector: str,
        *,
        button: str = "left",
        modifiers: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Double-click: two press/release pairs, the second with clickCount 2."""
        await self._pointer(
            "dblclick", selector, timeout, button=button, click_count=2, modifiers=modifiers
        )

    async def hover(
        self, selector: str, *, modifiers: Sequence[str] | None = None, timeout: float | None = None
    ) -> None:
        """Move the mouse over the first visible match (visible, stable, not covered)."""
        await self._pointer("hover", selector, timeout, modifiers=modifiers, hover=True)

    async def check(self, selector: str, *, timeout: float | None = None) -> None:
        """Click a checkbox, radio button or ``role=checkbox|radio|switch`` unless it is
        checked already; fails if the click leaves it unchecked."""
        await self._pointer("check", selector, timeout, check=True)

    async def uncheck(self, selector: str, *, timeout: float | None = None) -> None:
        """Click a checkbox unless it is unchecked already; fails if it stays checked."""
        await self._pointer("uncheck", selector, timeout, check=False)

    async def select_option(
        self, selector: str, value: str | Sequence[str], *, timeout: float | None = None
    ) -> list[str]:
        """Choose the options of a ``<select>`` whose value or label is ``value`` (a list
        for ``<select multiple>``); fires ``input`` and ``change``. Returns the values."""
        start = time.perf_counter()
        values = [value] if isinstance(value, str) else list(value)
        if not values or not all(isinstance(v, str) for v in values):
            raise UsageError(f"select_option: value is a string or a list of them, not {value!r}")
        answer = await self._act(
            "select_option", selector, "select", "the element to be visible and enabled, "
            "with the options asked for", timeout, values=values,
        )  # fmt: skip
        self._record(start)
        return list(answer.get("value") or [])

    async def fill(self, selector: str, text: str, *, timeout: float | None = None) -> None:
        """Replace the value of an input, textarea or contenteditable element.

        Focuses it, selects what it holds and inserts ``text`` with ``Input.insertText``:
        the page sees trusted ``beforeinput`` and ``input`` events; ``change`` fires when
        the field loses focus, as after a user's typing. Date, time, color and range
        inputs get their value set, then ``input`` and ``change``.
        """
        start = time.perf_counter()
        if not isinstance(text, str):
            raise UsageError(f"fill: text is a string, not {text!r}")
        seconds = self._timeout(timeout)
        answer = await self._act(
            "fill", selector, "fill", "the element to be visible, enabled and editable",
            seconds, text=text,
        )  # fmt: skip
        if not answer.get("done"):
            if text:
                events = [("Input.insertText", {"text": text})]
            else:
                keyboard = KeyboardState()
                events = [("Input.dispatchKeyEvent", e) for e in keyboard.press("Delete")]
            await self._dispatch(events)
        self._record(start)

    async def type(
        self, selector: str, text: str, *, delay: float = 0, timeout: float | None = None
    ) -> None:
        """Type ``text`` key by key into the element (appending to what it holds).

        Characters of the US layout are key presses (keydown, keypress, input, keyup);
        others are inserted as an input method would. ``delay``: milliseconds between
        keys (0: all events written back to back).
        """
        start = time.perf_counter()
        if not isinstance(text, str):
            raise UsageError(f"type: text is a string, not {text!r}")
        if not isinstance(delay, (int, float)) or delay < 0:
            raise UsageError(f"type: delay={delay!r}: expected milliseconds >= 0")
        seconds = self._timeout(timeout)
        await self._act(
            "type", selector, "type", "the element to be visible, enabled and editable", seconds
        )
        await self._type_text(text, delay)
        self._record(start)

    async def _type_text(self, text: str, delay: float) -> None:
        keyboard = KeyboardState()
        groups: list[list[tuple[str, dict[str, Any]]]] = []
        for kind, value in typed(text):
            if kind == "key":
                groups.append([("Input.dispatchKeyEvent", e) for e in keyboard.press(value)])
            else:
                groups.append([("Input.insertText", {"text": value})])
        if not delay:
            await self._dispatch([event for group in groups for event in group])
            return
        for i, group in enumerate(groups):
            if i:
                await asyncio.sleep(delay / 1000.0)
            await self._dispatch(group)

    async def press(
        self, selector_or_key: str, key: str | None = None, *, timeout: float | None = None
    ) -> None:
        """``press(key)``: press a key or combination (``"Enter"``, ``"Control+A"``) on
        whatever has focus; ``press(selector, key)``: focus the element first."""
        start = time.perf_counter()
        seconds = self._timeout(timeout)
        combination = selector_or_key if key is None else key
        keyboard = KeyboardState()
        events = [("Input.dispatchKeyEvent", e) for e in keyboard.press(combination)]
        if key is not None:
            await self._act("press", selector_or_key, "focus", "the element to be visible", seconds)
        await self._dispatch(events)
        self._record(start)

    async def focus(self, selector: str, *, timeout: float | None = None) -> None:
        """Focus the first visible match (waits for one)."""
        start = time.perf_counter()
        await self._act("focus", selector, "focus", "the element to be visible", timeout)
        self._record(start)

    async def scroll_into_view(self, selector: str, *, timeout: float | None = None) -> None:
        """Scroll the first visible match into view (when it is not already) once stable."""
        start = time.perf_counter()
        await self._act(
            "scroll_into_view", selector, "scroll", "the element to be visible and stable", timeout
        )
        self._record(start)

    # -- waits and reads ----------------------------------------------------------------

    async def wait_for_selector(
        self, selector: str, *, state: WaitState = "visible", timeout: float | None = None
    ) -> int:
        """Wait until a match is visible (default), any is attached, none is visible
        (``hidden``) or none is attached (``detached``). Returns how many match then."""
        if state not in WAIT_STATES:
            raise UsageError(f"state={state!r}: expected one of {', '.join(WAIT_STATES)}")
        answer = await self._act(
            "wait_for_selector", selector, "wait", f"the selector to be {state}", timeout,
            state=state,
        )  # fmt: skip
        return int(answer.get("value") or 0)

    async def text(self, selector: str, *, timeout: float | None = None) -> str:
        """The text of the first visible match (``innerText``: what a user reads), or of
        the first match when none is visible (``textContent``); waits for one to exist."""
        answer = await self._act("text", selector, "read", "the selector to match", timeout)
        return str(answer.get("value", ""))

    async def attribute(
        self, selector: str, name: str, *, timeout: float | None = None
    ) -> str | None:
        """An attribute of the first visible match (or first match); None if absent."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"attribute: name is a non-empty string, not {name!r}")
        answer = await self._act(
            "attribute", selector, "read", "the selector to match", timeout, attribute=name
        )
        value = answer.get("value")
        return None if value is None else str(value)

    async def is_visible(self, selector: str) -> bool:
        """Whether a match is visible now (no waiting)."""
        answer = await self._act("is_visible", selector, "visible", "an answer", None)
        return bool(answer.get("value"))

    async def count(self, selector: str) -> int:
        """How many elements match now, visible or not (no waiting)."""
        answer = await self._act("count", selector, "count", "an answer", None)
        return int(answer.get("value") or 0)

    async def wait_for_function(
        self,
        expression: str,
        *,
        polling: Literal["raf"] | float = "raf",
        timeout: float | None = None,
    ) -> Any:
        """Wait until ``expression`` (or the function it evaluates to, called with no
        arguments; it may return a promise) is truthy in the page's own JavaScript;
        returns that value. ``polling``: every animation frame ("raf") or every N ms."""
        if not isinstance(expression, str) or not expression.strip():
            raise UsageError(f"wait_for_function: expression is JavaScript, not {expression!r}")
        if polling != "raf" and (
            isinstance(polling, bool) or not isinstance(polling, (int, float)) or polling <= 0
        ):
            raise UsageError(f"polling={polling!r}: expected 'raf' or milliseconds > 0")
        seconds = self._timeout(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        state = f"{expression!r} to be truthy"
        last = "nothing evaluated yet"
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ActionTimeoutError("wait_for_function", None, state, last, seconds)
            source = _POLL_FUNCTION % {
                "expression": expression,
                "polling": json.dumps(polling),
                "timeout": remaining * 1000.0,
            }
            try:
                reply = await self.session.send(
                    "Runtime.evaluate",
                    {"expression": source, "returnByValue": True, "awaitPromise": True},
                    timeout=remaining + ANSWER_GRACE,
                )
            except CommandError as exc:
                if exc.message.startswith(_CONTEXT_GONE):
                    last = "the page navigated while waiting"
                    continue
                raise
            except CommandTimeoutError:
                raise ActionTimeoutError(
                    "wait_for_function", None, state, UNRESPONSIVE, seconds
                ) from None
            details = reply.get("exceptionDetails")
            if details:
                raise EvaluationError(expression, _exception_text(details))
            answer = (reply.get("result") or {}).get("value") or {}
            if answer.get("ok"):
                return answer.get("value")
            last = f"it stayed falsy (last value: {answer.get('last')})"
            raise ActionTimeoutError("wait_for_function", None, state, last, seconds)

    async def wait_for_url(
        self,
        url: URLPattern,
        *,
        wait_until: Literal["commit", "load", "domcontentloaded", "networkidle"] = "load",
        timeout: float | None = None,
    ) -> str:
        """Wait until the main frame's URL matches ``url``: a string (``*`` and ``**`` are
        globs, as in Playwright; otherwise the whole URL), a compiled regex (searched), or
        a predicate. A cross-document navigation must also reach ``wait_until``. Returns
        the URL."""
        from .browser import WAIT_UNTIL, _NavigationWatch

        if wait_until != "commit" and wait_until not in WAIT_UNTIL:
            raise UsageError(
                f"wait_until={wait_until!r}: expected commit or one of {', '.join(WAIT_UNTIL)}"
            )
        matches = _url_matcher(url)
        seconds = self._timeout(timeout)
        if matches(self.url):
            return self.url
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        seen: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        offs = self._watch_commits(lambda kind, loader, where: seen.put_nowait((loader, where)))
        watch = _NavigationWatch(self._page)
        try:
            while True:
                remaining = deadline - loop.time()
                try:
                    loader, where = await asyncio.wait_for(seen.get(), max(remaining, 0))
                except asyncio.TimeoutError:
                    raise ActionTimeoutError(
                        "wait_for_url", None, f"the URL to match {url!r}",
                        f"the URL is {self.url}", seconds,
                    ) from None  # fmt: skip
                if not matches(where):
                    continue
                if loader and wait_until != "commit":
                    try:
                        await watch.wait(loader, wait_until, deadline)
                    except asyncio.TimeoutError:
                        raise ActionTimeoutError(
                            "wait_for_url", None, f"{where} to reach {wait_until}",
                            "it committed but did not get there", seconds,
                        ) from None  # fmt: skip
                return where
        finally:
            for off in offs:
                off()
            watch.close()

    def _watch_commits(
        self, on_commit: Callable[[str, str, str], None]
    ) -> list[Callable[[], None]]:
        """Call ``on_commit(kind, loader, url)`` for each main-frame navigation: kind
        "document" with its loader id, or "same" (history API, fragment) with ""."""

        def on_frame(params: dict[str, Any]) -> None:
            frame = params.get("frame") or {}
            if frame.get("id") == self.target_id and not frame.get("parentId"):
                where = frame.get("url", "") + frame.get("urlFragment", "")
                on_commit("document", frame.get("loaderId", ""), where)

        def on_same(params: dict[str, Any]) -> None:
            if params.get("frameId") == self.target_id:
                on_commit("same", "", params.get("url", ""))

        return [
            self.session.on("Page.frameNavigated", on_frame),
            self.session.on("Page.navigatedWithinDocument", on_same),
        ]

    # -- navigations caused by actions ----------------------------------------------------

    @contextlib.asynccontextmanager
    async def expect_navigation(
        self,
        *,
        wait_until: Literal["load", "domcontentloaded", "networkidle"] = "load",
        timeout: float | None = None,
        check_status: bool = True,
    ) -> AsyncIterator[ExpectedNavigation]:
        """``async with page.expect_navigation() as nav: await page.click("a.next")``.

        After the block, waits for the first main-frame navigation that began in it: a
        new document until ``wait_until`` (as ``goto``), or a same-document one (history
        API) at once (``networkidle``: until the network is quiet). ``nav`` then holds the
        :class:`Navigation`, whose ``elapsed_ms`` runs from the start of the block, and
        a ``navigation`` sample is recorded as ``goto`` records one.
        """
        from .browser import WAIT_UNTIL, Navigation, _NavigationWatch

        if wait_until not in WAIT_UNTIL:
            raise UsageError(f"wait_until={wait_until!r}: expected one of {', '.join(WAIT_UNTIL)}")
        seconds = self.browser.navigation_timeout if timeout is None else self._timeout(timeout)
        loop = asyncio.get_running_loop()
        commits: list[tuple[str, str, str, float]] = []
        arrived = asyncio.Event()

        def on_commit(kind: str, loader: str, where: str) -> None:
            commits.append((kind, loader, where, time.perf_counter()))
            arrived.set()

        expected = ExpectedNavigation()
        await self._page.before_navigating()  # the one it may leave
        watch = _NavigationWatch(self._page)
        offs = self._watch_commits(on_commit)
        start = time.perf_counter()
        try:
            yield expected
            deadline = loop.time() + seconds
            try:
                await asyncio.wait_for(arrived.wait(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise NavigationTimeoutError(
                    self.url, wait_until, seconds,
                    hint="no navigation of the page began in the `expect_navigation` block; "
                    "pass expect_navigation(timeout=...) or raise --cdp-navigation-timeout "
                    "if it is just slow",
                ) from None  # fmt: skip
            kind = commits[0][0]
            where, status, end, timing = await self._reach(
                commits[0], watch, wait_until, seconds, deadline
            )
        finally:
            for off in offs:
                off()
            watch.close()
        self.url = where
        nav = Navigation(where, status, (end - start) * 1000.0, wait_until, timing)
        expected._value = nav
        expected._same_document = kind == "same"
        self._page.check_navigation(nav, commits[0][1], check_status)

    async def _reach(
        self,
        commit: tuple[str, str, str, float],
        watch: _NavigationWatch,
        wait_until: str,
        seconds: float,
        deadline: float,
    ) -> tuple[str, int | None, float, dict[str, float] | _LazyTiming]:
        """Wait for a committed navigation to reach ``wait_until``: its final URL, status,
        end time and timing (a same-document one has no status and no timing)."""
        from .browser import _LazyTiming

        kind, loader, where, committed = commit
        if kind != "document":
            end = committed
            if wait_until == "networkidle":
                end = await self._wait_network_idle(deadline)
            return where, None, end, {}
        try:
            end = await watch.wait(loader, wait_until, deadline)
        except (asyncio.TimeoutError, CDPAcceptError) as exc:
            self._page.navigation_failed(loader)
            if not isinstance(exc, asyncio.TimeoutError):
                raise
            await self._stop_loading()
            raise NavigationTimeoutError(where, wait_until, seconds) from None
        status = watch.status.get(loader)
        where = watch.url.get(loader) or where
        return where, status, end, _LazyTiming(self._page, loader, asyncio.get_running_loop())

    # -- screenshots, viewport, content --------------------------------------------------

    async def screenshot(
        self,
        path: str | Path | None = None,
        *,
        full_page: bool = False,
        selector: str | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """A PNG of the viewport, the whole page (``full_page``) or one element
        (``selector``: waited for visible and stable, scrolled into view). Written to
        ``path`` too when given."""
        if full_page and selector is not None:
            raise UsageError("screenshot: pass full_page=True or selector=..., not both")
        params: dict[str, Any] = {"format": "png"}
        if selector is not None:
            box = await self._act(
                "screenshot", selector, "rect", "the element to be visible and stable", timeout
            )
            params["clip"] = {
                "x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"],
                "scale": 1,
            }  # fmt: skip
            params["captureBeyondViewport"] = True
        elif full_page:
            metrics = await self.session.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
            params["clip"] = {
                "x": 0, "y": 0, "width": size.get("width", 0), "height": size.get("height", 0),
                "scale": 1,
            }  # fmt: skip
            params["captureBeyondViewport"] = True
        reply = await self.session.send("Page.captureScreenshot", params)
        data = base64.b64decode(reply["data"])
        if path is not None:
            await asyncio.to_thread(_write, Path(path), data)
        return data

    async def set_viewport(
        self, width: int, height: int, device_scale_factor: float = 1, mobile: bool = False
    ) -> None:
        """Emulate a viewport of ``width`` x ``height`` CSS pixels (the pool resets it
        before the page's next test)."""
        for name, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10_000:
                raise UsageError(f"set_viewport: {name}={value!r}: expected whole pixels 1..10000")
        if not isinstance(device_scale_factor, (int, float)) or not 0 < device_scale_factor <= 10:
            raise UsageError(
                f"set_viewport: device_scale_factor={device_scale_factor!r}: expected 0 < f <= 10"
            )
        self.viewport = (width, height, float(device_scale_factor), bool(mobile))
        await self.session.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": device_scale_factor,
                "mobile": bool(mobile),
                "screenWidth": width,
                "screenHeight": height,
            },
        )

    async def set_content(self, html: str, *, timeout: float | None = None) -> None:
        """Replace the document's HTML (its URL stays) and wait for its ``load`` event."""
        if not isinstance(html, str):
            raise UsageError(f"set_content: html is a string, not {html!r}")
        await self.session.send(
            "Page.setDocumentContent", {"frameId": self.target_id, "html": html}
        )
        seconds = self.browser.navigation_timeout if timeout is None else self._timeout(timeout)
        await self._in_page("set_content", None, {"op": "loaded"}, "the load event", seconds)

    async def reset_journey_state(self) -> None:
        """Undo what journeys leave on a page beyond its document (the pool calls this
        between tests; the document itself is replaced by the wipe)."""
        self._world = None
        if self.viewport is not None:
            self.viewport = None
            await self.session.send("Emulation.clearDeviceMetricsOverride")
        if self._mouse_used:
            # The tab remembers where the mouse was: the next test's document would get
            # :hover and mouseover under it (Playwright's page reuse does the same). After
            # the viewport is back: a resize makes Chromium re-aim hover at that point.
            self._mouse_used = False
            await self.session.send(
                "Input.dispatchMouseEvent",
                {"type": "mouseMoved", "x": -1, "y": -1, "button": "none", "buttons": 0},
            )


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _exception_text(details: dict[str, Any]) -> str:
    exc = details.get("exception") or {}
    text = exc.get("description") or details.get("text") or "unknown error"
    return str(text).split("\n    at ")[0]


def _url_matcher(url: URLPattern) -> Callable[[str], bool]:
    if isinstance(url, re.Pattern):
        return lambda where: url.search(where) is not None
    if callable(url):
        return lambda where: bool(url(where))
    if isinstance(url, str) and url:
        if "*" not in url:
            return lambda where: where == url
        regex = re.compile(_glob_to_regex(url))
        return lambda where: regex.fullmatch(where) is not None
    raise UsageError(f"wait_for_url: expected a URL, a glob, a regex or a predicate, not {url!r}")


def _glob_to_regex(glob: str) -> str:
    """``**`` matches anything, ``*`` anything but ``/``; the rest literally."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


# The main-world poller of wait_for_function: the user's expression is spliced in as
# source (building it with Function() would fail under a page's CSP).
_POLL_FUNCTION = """(async () => {
  const __predicate = () => (%(expression)s
  );
  const polling = %(polling)s;
  const deadline = performance.now() + %(timeout)f;
  let last;
  const check = async () => {
    let value = __predicate();
    if (typeof value === "function") value = value();
    value = await value;
    last = value;
    return value;
  };
  const describe = () => {
    try { return JSON.stringify(last) ?? String(last); } catch (e) { return String(last); }
  };
  const first = await check();
  if (first) return { ok: true, value: first };
  return await new Promise((resolve, reject) => {
    let done = false;
    const finish = (answer) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(answer);
      }
    };
    const tick = async () => {
      if (done) return;
      try {
        const value = await check();
        if (value) return finish({ ok: true, value });
      } catch (e) {
        done = true;
        clearTimeout(timer);
        return reject(e);
      }
      if (performance.now() >= deadline) return finish({ timeout: true, last: describe() });
      schedule();
    };
    const schedule =
      polling === "raf" ? () => requestAnimationFrame(tick) : () => setTimeout(tick, polling);
    const timer = setTimeout(
      () => finish({ timeout: true, last: describe() }),
      Math.max(0, deadline - performance.now())
    );
    schedule();
  });
})()"""
