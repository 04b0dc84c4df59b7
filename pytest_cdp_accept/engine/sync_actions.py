"""The journey API of :class:`~pytest_cdp_accept.engine.sync.SyncPage` (blocking) and
:class:`~pytest_cdp_accept.engine.sync.AsyncPage` (awaitable from any loop).

Each method runs the async :class:`~pytest_cdp_accept.engine.actions.PageActions`
method of the same name on the core's loop thread; the docstrings there say what
each one does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .actions import ExpectedNavigation, URLPattern, WaitState

if TYPE_CHECKING:
    from .browser import Page
    from .sync import LoopThread

NavWaitUntil = Literal["load", "domcontentloaded", "networkidle"]
UrlWaitUntil = Literal["commit", "load", "domcontentloaded", "networkidle"]


class SyncPageActions:
    """Actions, waits and reads of a :class:`SyncPage`; blocking, thread-safe."""

    _runner: LoopThread
    _page: Page

    def click(
        self,
        selector: str,
        *,
        button: str = "left",
        click_count: int = 1,
        modifiers: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Click the first visible match once it is visible, enabled, stable and not
        covered; real mouse events at its centre (scrolled into view first)."""
        self._runner.run(
            self._page.click(
                selector, button=button, click_count=click_count, modifiers=modifiers,
                timeout=timeout,
            )
        )  # fmt: skip

    def dblclick(
        self,
        selector: str,
        *,
        button: str = "left",
        modifiers: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self._runner.run(
            self._page.dblclick(selector, button=button, modifiers=modifiers, timeout=timeout)
        )

    def hover(
        self, selector: str, *, modifiers: Sequence[str] | None = None, timeout: float | None = None
    ) -> None:
        self._runner.run(self._page.hover(selector, modifiers=modifiers, timeout=timeout))

    def check(self, selector: str, *, timeout: float | None = None) -> None:
        self._runner.run(self._page.check(selector, timeout=timeout))

    def uncheck(self, selector: str, *, timeout: float | None = None) -> None:
        self._runner.run(self._page.uncheck(selector, timeout=timeout))

    def select_option(
        self, selector: str, value: str | Sequence[str], *, timeout: float | None = None
    ) -> list[str]:
        return self._runner.run(self._page.select_option(selector, value, timeout=timeout))

    def fill(self, selector: str, text: str, *, timeout: float | None = None) -> None:
        """Replace the field's value (trusted ``input`` events; ``change`` on blur)."""
        self._runner.run(self._page.fill(selector, text, timeout=timeout))

    def type(
        self, selector: str, text: str, *, delay: float = 0, timeout: float | None = None
    ) -> None:
        """Type key by key; ``delay`` in milliseconds between keys."""
        self._runner.run(self._page.type(selector, text, delay=delay, timeout=timeout))

    def press(
        self, selector_or_key: str, key: str | None = None, *, timeout: float | None = None
    ) -> None:
        """``press("Enter")`` on the focused element, or ``press(selector, "Control+A")``."""
        self._runner.run(self._page.press(selector_or_key, key, timeout=timeout))

    def focus(self, selector: str, *, timeout: float | None = None) -> None:
        self._runner.run(self._page.focus(selector, timeout=timeout))

    def scroll_into_view(self, selector: str, *, timeout: float | None = None) -> None:
        self._runner.run(self._page.scroll_into_view(selector, timeout=timeout))

    def wait_for_selector(
        self, selector: str, *, state: WaitState = "visible", timeout: float | None = None
    ) -> int:
        return self._runner.run(
            self._page.wait_for_selector(selector, state=state, timeout=timeout)
        )

    def wait_for_function(
        self,
        expression: str,
        *,
        polling: Literal["raf"] | float = "raf",
        timeout: float | None = None,
    ) -> Any:
        return self._runner.run(
            self._page.wait_for_function(expression, polling=polling, timeout=timeout)
        )

    def wait_for_url(
        self, url: URLPattern, *, wait_until: UrlWaitUntil = "load", timeout: float | None = None
    ) -> str:
        return self._runner.run(
            self._page.wait_for_url(url, wait_until=wait_until, timeout=timeout)
        )

    def text(self, selector: str, *, timeout: float | None = None) -> str:
        return self._runner.run(self._page.text(selector, timeout=timeout))

    def attribute(self, selector: str, name: str, *, timeout: float | None = None) -> str | None:
        return self._runner.run(self._page.attribute(selector, name, timeout=timeout))

    def is_visible(self, selector: str) -> bool:
        return self._runner.run(self._page.is_visible(selector))

    def count(self, selector: str) -> int:
        return self._runner.run(self._page.count(selector))

    @contextlib.contextmanager
    def expect_navigation(
        self,
        *,
        wait_until: NavWaitUntil = "load",
        timeout: float | None = None,
        check_status: bool = True,
    ) -> Iterator[ExpectedNavigation]:
        """``with page.expect_navigation() as nav: page.click("a.next")``; afterwards
        ``nav.status``, ``nav.elapsed_ms``, ``nav.timing`` (see ``Page.expect_navigation``)."""
        manager = self._page.expect_navigation(
            wait_until=wait_until, timeout=timeout, check_status=check_status
        )
        expected = self._runner.run(manager.__aenter__())
        try:
            yield expected
        except BaseException as exc:
            self._runner.run(manager.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        self._runner.run(manager.__aexit__(None, None, None))

    def screenshot(
        self,
        path: str | Path | None = None,
        *,
        full_page: bool = False,
        selector: str | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """A PNG of the viewport (or ``full_page``, or one ``selector``)."""
        return self._runner.run(
            self._page.screenshot(path, full_page=full_page, selector=selector, timeout=timeout)
        )

    def set_viewport(
        self, width: int, height: int, device_scale_factor: float = 1, mobile: bool = False
    ) -> None:
        self._runner.run(self._page.set_viewport(width, height, device_scale_factor, mobile))

    def set_content(self, html: str, *, timeout: float | None = None) -> None:
        self._runner.run(self._page.set_content(html, timeout=timeout))


class AsyncPageActions:
    """Actions, waits and reads of an :class:`AsyncPage`: awaitables for any loop."""

    _runner: LoopThread
    _page: Page

    def click(
        self,
        selector: str,
        *,
        button: str = "left",
        click_count: int = 1,
        modifiers: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> Awaitable[None]:
        return self._runner.arun(
            self._page.click(
                selector, button=button, click_count=click_count, modifiers=modifiers,
                timeout=timeout,
            )
        )  # fmt: skip

    def dblclick(
        self,
        selector: str,
        *,
        button: str = "left",
        modifiers: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> Awaitable[None]:
        return self._runner.arun(
            self._page.dblclick(selector, button=button, modifiers=modifiers, timeout=timeout)
        )

    def hover(
        self, selector: str, *, modifiers: Sequence[str] | None = None, timeout: float | None = None
    ) -> Awaitable[None]:
        return self._runner.arun(self._page.hover(selector, modifiers=modifiers, timeout=timeout))

    def check(self, selector: str, *, timeout: float | None = None) -> Awaitable[None]:
        return self._runner.arun(self._page.check(selector, timeout=timeout))

    def uncheck(self, selector: str, *, timeout: float | None = None) -> Awaitable[None]:
        return self._runner.arun(self._page.uncheck(selector, timeout=timeout))

    def select_option(
        self, selector: str, value: str | Sequence[str], *, timeout: float | None = None
    ) -> Awaitable[list[str]]:
        return self._runner.arun(self._page.select_option(selector, value, timeout=timeout))

    def fill(self, selector: str, text: str, *, timeout: float | None = None) -> Awaitable[None]:
        return self._runner.arun(self._page.fill(selector, text, timeout=timeout))

    def type(
        self, selector: str, text: str, *, delay: float = 0, timeout: float | None = None
    ) -> Awaitable[None]:
        return self._runner.arun(self._page.type(selector, text, delay=delay, timeout=timeout))

    def press(
        self, selector_or_key: str, key: str | None = None, *, timeout: float | None = None
    ) -> Awaitable[None]:
        return self._runner.arun(self._page.press(selector_or_key, key, timeout=timeout))

    def focus(self, selector: str, *, timeout: float | None = None) -> Awaitable[None]:
        return self._runner.arun(self._page.focus(selector, timeout=timeout))

    def scroll_into_view(self, selector: str, *, timeout: float | None = None) -> Awaitable[None]:
        return self._runner.arun(self._page.scroll_into_view(selector, timeout=timeout))

    def wait_for_selector(
        self, selector: str, *, state: WaitState = "visible", timeout: float | None = None
    ) -> Awaitable[int]:
        return self._runner.arun(
            self._page.wait_for_selector(selector, state=state, timeout=timeout)
        )

    def wait_for_function(
        self,
        expression: str,
        *,
        polling: Literal["raf"] | float = "raf",
        timeout: float | None = None,
    ) -> Awaitable[Any]:
        return self._runner.arun(
            self._page.wait_for_function(expression, polling=polling, timeout=timeout)
        )

    def wait_for_url(
        self, url: URLPattern, *, wait_until: UrlWaitUntil = "load", timeout: float | None = None
    ) -> Awaitable[str]:
        return self._runner.arun(
            self._page.wait_for_url(url, wait_until=wait_until, timeout=timeout)
        )

    def text(self, selector: str, *, timeout: float | None = None) -> Awaitable[str]:
        return self._runner.arun(self._page.text(selector, timeout=timeout))

    def attribute(
        self, selector: str, name: str, *, timeout: float | None = None
    ) -> Awaitable[str | None]:
        return self._runner.arun(self._page.attribute(selector, name, timeout=timeout))

    def is_visible(self, selector: str) -> Awaitable[bool]:
        return self._runner.arun(self._page.is_visible(selector))

    def count(self, selector: str) -> Awaitable[int]:
        return self._runner.arun(self._page.count(selector))

    @contextlib.asynccontextmanager
    async def expect_navigation(
        self,
        *,
        wait_until: NavWaitUntil = "load",
        timeout: float | None = None,
        check_status: bool = True,
    ) -> AsyncIterator[ExpectedNavigation]:
        """``async with page.expect_navigation() as nav: await page.click("a.next")``."""
        manager = self._page.expect_navigation(
            wait_until=wait_until, timeout=timeout, check_status=check_status
        )
        expected = await self._runner.arun(manager.__aenter__())
        try:
            yield expected
        except BaseException as exc:
            await self._runner.arun(manager.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        await self._runner.arun(manager.__aexit__(None, None, None))

    def screenshot(
        self,
        path: str | Path | None = None,
        *,
        full_page: bool = False,
        selector: str | None = None,
        timeout: float | None = None,
    ) -> Awaitable[bytes]:
        return self._runner.arun(
            self._page.screenshot(path, full_page=full_page, selector=selector, timeout=timeout)
        )

    def set_viewport(
        self, width: int, height: int, device_scale_factor: float = 1, mobile: bool = False
    ) -> Awaitable[None]:
        return self._runner.arun(
            self._page.set_viewport(width, height, device_scale_factor, mobile)
        )

    def set_content(self, html: str, *, timeout: float | None = None) -> Awaitable[None]:
        return self._runner.arun(self._page.set_content(html, timeout=timeout))


__all__ = ["AsyncPageActions", "SyncPageActions"]
