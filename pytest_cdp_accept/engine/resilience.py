"""Retrying with backoff, and circuit breakers per endpoint.

Two small pieces of pure logic for talking to browsers that may be slow to
come up or gone for good. Both take their clock, sleep and randomness as
arguments, so tests drive them without waiting.

:class:`RetryPolicy` and :func:`retry`
    Try an operation a few times, sleeping a growing, jittered delay in
    between, but only for errors that a second try can fix (by default
    :class:`~.errors.LaunchError`, :class:`~.errors.ConnectionClosedError`
    and :class:`OSError`). Test outcomes (``AssertionError``, pytest's
    ``fail``/``skip``/``exit``), cancellation and interrupts are never
    retried, whatever ``retry_on`` says.

:class:`CircuitBreaker` and :class:`BreakerBoard`
    The circuit breaker of Michael Nygard's *Release It!*: after
    ``failure_threshold`` failures in a row an endpoint is left alone for
    ``reset_after`` seconds (calls fail fast with :class:`CircuitOpenError`
    instead of each test paying for a launch timeout), then one trial call is
    let through; its outcome closes the circuit or opens it again. A board
    keeps one breaker per endpoint.

The two compose with the breaker inside the retry, so that an open circuit
stops the retrying at once (:class:`CircuitOpenError` is never retried)::

    breaker = board.get(endpoint)
    browser = await retry(lambda: breaker.call(lambda: connect(endpoint)), policy)

Everything here runs on one event loop and is not thread-safe; it is
correct for coroutines that interleave at their ``await`` points.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

from ..errors import ConnectionClosedError, LaunchError, UsageError

log = logging.getLogger("pytest_cdp_accept")

T = TypeVar("T")

BreakerState = Literal["closed", "open", "half-open"]

# pytest's outcome exceptions, recognised by name so that this module does not
# import pytest. pytest sets ``__module__ = "builtins"`` on Failed and Skipped
# (for display), so both module names are accepted; the check walks the MRO, so
# subclasses and anything derived from OutcomeException are caught too.
_PYTEST_OUTCOME_MODULES = frozenset({"_pytest.outcomes", "builtins"})
_PYTEST_OUTCOME_NAMES = frozenset({"OutcomeException", "Failed", "Skipped", "Exit", "XFailed"})


class CircuitOpenError(LaunchError):
    """A call was refused because the endpoint's circuit breaker is open.

    Raised without calling the endpoint: it failed ``failures`` times in a
    row, most recently with ``last_error``. ``retry_in`` is the number of
    seconds until a trial call is let through, or ``None`` while a trial call
    is already under way.
    """

    def __init__(
        self, endpoint: str, failures: int, last_error: str, retry_in: float | None
    ) -> None:
        self.endpoint = endpoint
        self.failures = failures
        self.last_error = last_error
        self.retry_in = retry_in
        times = "time" if failures == 1 else "times"
        if retry_in is None:
            when = "a trial call is under way; later calls fail fast until it succeeds"
        else:
            when = f"failing fast, retrying in {retry_in:.1f} s"
        super().__init__(
            f"circuit open for {endpoint}: the endpoint failed {failures} {times} in a row "
            f"(last error: {last_error}); {when}"
        )


def is_test_outcome(exc: BaseException) -> bool:
    """True for errors that end a test or the run rather than report a flaky call.

    That is ``AssertionError``, pytest's outcome exceptions (``pytest.fail``,
    ``skip``, ``exit``, ``xfail``; detected without importing pytest),
    ``asyncio.CancelledError``, ``KeyboardInterrupt``, ``SystemExit`` and
    anything else that is not an :class:`Exception`. Such errors are never
    retried and never count as an endpoint failure.
    """
    if not isinstance(exc, Exception) or isinstance(exc, AssertionError):
        return True
    return any(
        cls.__name__ in _PYTEST_OUTCOME_NAMES and cls.__module__ in _PYTEST_OUTCOME_MODULES
        for cls in type(exc).__mro__
    )


def _add_note(exc: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:  # pragma: no cover - Python 3.10: same attribute, shown by pytest
        notes = getattr(exc, "__notes__", None)
        if isinstance(notes, list):
            notes.append(note)
        else:
            exc.__notes__ = [note]  # type: ignore[attr-defined]


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try, how long to wait in between, and which errors to retry.

    The delay before retry ``i`` (0-based) is ``min(cap, base * factor**i)``,
    multiplied by a factor drawn uniformly from ``[1 - jitter, 1 + jitter]``.

    About the jitter: Marc Brooker's AWS Architecture Blog article
    "Exponential Backoff And Jitter"
    (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)
    compares "Full Jitter" (``random(0, d)``), "Equal Jitter"
    (``d/2 + random(0, d/2)``) and "Decorrelated Jitter". The scheme here is
    closest to Equal Jitter: with the default ``jitter=0.5`` a delay is never
    below half the backoff ``d``, so retries keep backing off, and it is
    spread over ``[d/2, 3d/2]``, so workers that failed together do not retry
    together. Unlike Equal Jitter it is centred on ``d``, so ``base``,
    ``factor`` and ``cap`` give the *average* wait; ``jitter=1`` spans
    ``[0, 2d]`` like Full Jitter, ``jitter=0`` turns jitter off. The cap is
    applied before the jitter, so the longest single sleep is
    ``cap * (1 + jitter)``.

    Note that :class:`TimeoutError` is a subclass of :class:`OSError`, so
    the default ``retry_on`` also retries :class:`~.errors.CommandTimeoutError`
    and :class:`~.errors.NavigationTimeoutError` (and, from Python 3.11 on,
    ``asyncio.TimeoutError``).
    """

    attempts: int = 3
    """Total number of tries (not retries); 1 means no retrying."""
    base: float = 0.1
    """Seconds to wait before the first retry, before jitter."""
    factor: float = 2.0
    """Each further wait is this many times the previous one."""
    cap: float = 2.0
    """Longest wait in seconds, before jitter."""
    jitter: float = 0.5
    """Fraction by which each wait is randomly stretched or shrunk, 0 to 1."""
    retry_on: tuple[type[BaseException], ...] = (LaunchError, ConnectionClosedError, OSError)
    """Errors worth another try. Test outcomes and cancellation never are."""

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise UsageError(f"retry attempts must be an int, got {self.attempts!r}")
        if self.attempts < 1:
            raise UsageError(
                f"retry attempts is the total number of tries and must be at least 1, "
                f"got {self.attempts}"
            )
        _check_seconds("retry base", self.base)
        _check_seconds("retry cap", self.cap)
        if not (math.isfinite(self.factor) and self.factor >= 1.0):
            raise UsageError(f"retry factor must be a finite number >= 1, got {self.factor!r}")
        if not (0.0 <= self.jitter <= 1.0):
            raise UsageError(f"retry jitter is a fraction from 0 to 1, got {self.jitter!r}")
        if not isinstance(self.retry_on, tuple) or not all(
            isinstance(cls, type) and issubclass(cls, BaseException) for cls in self.retry_on
        ):
            raise UsageError(
                f"retry_on must be a tuple of exception classes, e.g. (OSError,), "
                f"got {self.retry_on!r}"
            )

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The ``attempts - 1`` sleeps between tries, in seconds, jittered with ``rng``."""
        backoff = min(self.base, self.cap)
        for _ in range(self.attempts - 1):
            spread = rng.uniform(1.0 - self.jitter, 1.0 + self.jitter) if self.jitter else 1.0
            yield max(0.0, backoff * spread)
            backoff = min(backoff * self.factor, self.cap)

    def should_retry(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another try under this policy.

        An error that says ``retryable = False`` of itself (a farm's 401, or a wait
        for capacity that already used the whole deadline) never is.
        """
        if is_test_outcome(exc) or isinstance(exc, CircuitOpenError):
            return False
        if getattr(exc, "retryable", True) is False:
            return False
        return isinstance(exc, self.retry_on)


def _check_seconds(what: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{what} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(f"{what} must be a finite number of seconds >= 0, got {value!r}")


async def retry(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Await ``fn()``, trying again after errors ``policy`` says are worth it.

    ``fn`` is called afresh for every try. An error that is not retryable
    (see :meth:`RetryPolicy.should_retry`; :class:`CircuitOpenError` never
    is) propagates at once, unchanged. When the last try fails with a
    retryable error, that error is re-raised with the note
    ``"gave up after N attempts"``.

    ``on_retry(attempt, error, delay)`` is called before each sleep, with the
    1-based number of the try that just failed; use it for logging.
    ``sleep`` and ``rng`` are there for tests.
    """
    delays = policy.delays(rng if rng is not None else random.Random())
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except BaseException as exc:
            if not policy.should_retry(exc):
                raise
            delay = next(delays, None)
            if delay is None:
                _add_note(exc, f"gave up after {attempt} attempt{'' if attempt == 1 else 's'}")
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
        # Sleep outside the except block, so that an error raised while sleeping
        # (cancellation) is not chained to the error being retried.
        await sleep(delay)


class CircuitBreaker:
    """Closed / open / half-open circuit breaker for one endpoint (Nygard, *Release It!*).

    *closed*
        Calls go through. ``failure_threshold`` failures in a row open the
        circuit; a success resets the count.
    *open*
        :meth:`before_call` raises :class:`CircuitOpenError` without calling
        the endpoint, until ``reset_after`` seconds have passed since it
        opened; the next call then moves the breaker to half-open.
    *half-open*
        Exactly one trial call is let through; other callers fail fast while
        it runs. Its success closes the circuit, its failure opens it again
        for another ``reset_after`` seconds.

    Prefer :meth:`call`. Used by hand, every admitted :meth:`before_call`
    must be followed by :meth:`record_success` or :meth:`record_failure`
    (otherwise a half-open breaker waits for its trial forever); pass them the
    ticket :meth:`before_call` returned, so that a call that was admitted
    before the state changed (say, a slow call still running when the circuit
    opened) cannot decide the outcome of the trial. Results without a ticket
    always apply to the current state.
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 3,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (
            isinstance(failure_threshold, bool)
            or not isinstance(failure_threshold, int)
            or failure_threshold < 1
        ):
            raise UsageError(
                f"circuit breaker failure_threshold must be an int >= 1, got {failure_threshold!r}"
            )
        _check_seconds("circuit breaker reset_after", reset_after)
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._last_error = ""
        self._opened_at = 0.0
        self._trial_running = False
        # Bumped on every state change; a ticket is the epoch a call was admitted in.
        self._epoch = 0

    @property
    def state(self) -> BreakerState:
        """``"closed"``, ``"open"`` or ``"half-open"``.

        Reading it changes nothing: an open breaker whose ``reset_after`` has
        passed stays ``"open"`` until the next :meth:`before_call`.
        """
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures recorded since the last success."""
        return self._failures

    @property
    def last_error(self) -> str:
        """First line of the most recent failure, ``""`` if there was none."""
        return self._last_error

    @property
    def retry_in(self) -> float:
        """Seconds until an open breaker lets a trial call through; 0 otherwise."""
        if self._state != "open":
            return 0.0
        return max(0.0, self._opened_at + self.reset_after - self._clock())

    def before_call(self) -> int:
        """Admit a call or raise :class:`CircuitOpenError`; returns the call's ticket."""
        if self._state == "open":
            retry_in = self.retry_in
            if retry_in > 0:
                raise CircuitOpenError(self.name, self._failures, self._last_error, retry_in)
            self._enter("half-open")
            self._trial_running = True
            log.info("circuit for %s half-open: trying one call", self.name)
        elif self._state == "half-open":
            if self._trial_running:
                raise CircuitOpenError(self.name, self._failures, self._last_error, None)
            self._trial_running = True
        return self._epoch

    def record_success(self, ticket: int | None = None) -> None:
        """The call succeeded: close the circuit and forget past failures."""
        if ticket is not None and ticket != self._epoch:
            return
        if self._state != "closed":
            log.info("circuit for %s closed: the endpoint answered again", self.name)
            self._enter("closed")
        self._failures = 0

    def record_failure(self, exc: BaseException, ticket: int | None = None) -> None:
        """The call failed with ``exc``: count it, and open the circuit at the threshold."""
        if ticket is not None and ticket != self._epoch:
            return
        self._failures += 1
        self._last_error = _first_line(exc)
        if self._state == "half-open" or (
            self._state == "closed" and self._failures >= self.failure_threshold
        ):
            self._enter("open")
            self._opened_at = self._clock()
            log.warning(
                "circuit for %s opened after %d failures in a row (last error: %s); "
                "calls fail fast for %g s",
                self.name,
                self._failures,
                self._last_error,
                self.reset_after,
            )

    def _abandon(self, ticket: int) -> None:
        """The call ended without a verdict (cancelled, or a test outcome)."""
        if ticket == self._epoch and self._state == "half-open":
            self._trial_running = False  # the next caller runs the trial

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """``await fn()`` if the circuit lets it through, recording the outcome.

        Every :class:`Exception` counts as a failure, except test outcomes
        (see :func:`is_test_outcome`) and errors that say ``trips_breaker =
        False`` of themselves (a farm at capacity, credentials it refuses: the
        endpoint is not broken); those, and cancellation, leave the count alone
        and hand a half-open trial to the next caller.
        """
        ticket = self.before_call()
        try:
            result = await fn()
        except BaseException as exc:
            if is_test_outcome(exc) or getattr(exc, "trips_breaker", True) is False:
                self._abandon(ticket)
            else:
                self.record_failure(exc, ticket)
            raise
        self.record_success(ticket)
        return result

    def _enter(self, state: BreakerState) -> None:
        self._state = state
        self._epoch += 1
        self._trial_running = False

    def __repr__(self) -> str:
        detail = f"failures={self._failures}/{self.failure_threshold}"
        if self._state == "open":
            detail += f" retry_in={self.retry_in:.1f}s"
        elif self._state == "half-open":
            detail += f" trial={'running' if self._trial_running else 'pending'}"
        return f"<CircuitBreaker {self.name!r} {self._state} {detail}>"


class BreakerBoard:
    """One :class:`CircuitBreaker` per endpoint key, created on first use."""

    def __init__(
        self,
        failure_threshold: int = 3,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Validate now rather than on the first get().
        CircuitBreaker("settings", failure_threshold, reset_after, clock)
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, key: str) -> CircuitBreaker:
        """The breaker for ``key``, the same object every time."""
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(key, self.failure_threshold, self.reset_after, self._clock)
            self._breakers[key] = breaker
        return breaker

    def __len__(self) -> int:
        return len(self._breakers)

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(list(self._breakers.values()))

    def __repr__(self) -> str:
        not_closed = [b for b in self._breakers.values() if b.state != "closed"]
        return (
            f"<BreakerBoard breakers={len(self._breakers)} not_closed={len(not_closed)} "
            f"threshold={self.failure_threshold} reset_after={self.reset_after:g}s>"
        )
