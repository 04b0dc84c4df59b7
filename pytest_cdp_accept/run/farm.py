"""A farm that fails the whole run: it stops once, with one message.

When a browser farm refuses the run's credentials (HTTP 401/403) or its
request (another 4xx: a wrong path, a launch option it rejects), or goes away
mid-run, every later test would fail the same way on its own: fifty errors
saying one thing. :class:`FarmWatch` sees the first such error in a test's
report and stops the session there (pytest's ``shouldstop``, which xdist
carries to the controller), with one message: what happened, how many tests
ran, and which were cut by it (tests whose browser connection closed under
them just before).

It recognises the engine's errors by class name, so a run that never uses a
farm never imports the engine for it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

REFUSED = ("FarmAuthError", "FarmRequestError")
GONE = "FarmGoneError"
CUT_BY = ("ConnectionClosedError", "TargetClosedError")
CUT_WINDOW = 30.0
"""Seconds before the farm was found gone in which a closed connection counts as cut by it."""
SHOWN = 10


def _by_name(error: BaseException) -> dict[str, BaseException]:
    """``error`` and the errors it was raised from, by the names of their classes (the
    first in the chain wins)."""
    found: dict[str, BaseException] = {}
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for cls in type(current).__mro__:
            found.setdefault(cls.__name__, current)
        current = current.__cause__ or current.__context__
    return found


@dataclass
class FarmWatch:
    """Watches the tests' errors for a farm that fails the run."""

    stopped: str | None = None
    """The message the run stopped with (None while it goes on)."""

    def __post_init__(self) -> None:
        self._closed: list[tuple[float, str]] = []

    def failed(
        self, nodeid: str, error: BaseException, tests_run: int, *, now: float | None = None
    ) -> str | None:
        """A test failed with ``error`` after ``tests_run`` tests (it included) started:
        the message to stop the run with, the first time a farm fails it."""
        now = time.monotonic() if now is None else now
        chain = _by_name(error)
        if self.stopped is not None:
            return None
        refused = next((chain[name] for name in REFUSED if name in chain), None)
        if refused is not None:
            self.stopped = self._refused_message(refused, tests_run)
            return self.stopped
        if GONE in chain:
            self.stopped = self._gone_message(nodeid, chain[GONE], tests_run, now)
            return self.stopped
        if chain.keys() & set(CUT_BY):
            self._closed.append((now, nodeid))
        return None

    def _refused_message(self, error: BaseException, ran: int) -> str:
        return (
            f"cdp-accept: {_first_line(error)}. The run stops here: every test would fail "
            f"the same way ({ran} test{'s' if ran != 1 else ''} ran)"
        )

    def _gone_message(self, nodeid: str, error: BaseException, ran: int, now: float) -> str:
        cut = [n for t, n in self._closed if now - t <= CUT_WINDOW]
        text = (
            f"cdp-accept: {_first_line(error)}. The run stops here: {ran} "
            f"test{'s' if ran != 1 else ''} ran; cut by it: {_listed(cut)}; "
            f"failed for want of a browser: {nodeid}"
        )
        return text


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0].rstrip(".") if text else type(error).__name__


def _listed(nodeids: Sequence[str]) -> str:
    if not nodeids:
        return "none"
    shown = ", ".join(nodeids[:SHOWN])
    more = len(nodeids) - SHOWN
    return f"{shown} and {more} more" if more > 0 else shown
