"""Retry with backoff and circuit breakers, on a fake clock: nothing here really sleeps."""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pytest_cdp_accept.engine.resilience import (
    BreakerBoard,
    CircuitBreaker,
    CircuitOpenError,
    RetryPolicy,
    is_test_outcome,
    retry,
)
from pytest_cdp_accept.errors import (
    CDPAcceptError,
    CommandError,
    ConnectionClosedError,
    LaunchError,
    UsageError,
)


class FakeSleep:
    """An ``asyncio.sleep`` stand-in that only records what it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Flaky:
    """An async operation that raises the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def run_retry(fn: Callable[[], Awaitable[Any]], policy: RetryPolicy, **kwargs: Any) -> Any:
    return asyncio.run(retry(fn, policy, rng=random.Random(1), **kwargs))


# --- RetryPolicy ---------------------------------------------------------------------------


def test_delays_grow_exponentially_and_are_capped() -> None:
    policy = RetryPolicy(attempts=7, base=0.1, factor=2.0, cap=1.0, jitter=0.0)
    assert list(policy.delays(random.Random(0))) == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_there_is_one_delay_fewer_than_attempts() -> None:
    assert list(RetryPolicy(attempts=1).delays(random.Random(0))) == []
    assert len(list(RetryPolicy().delays(random.Random(0)))) == 2


def test_a_cap_below_base_caps_the_first_delay_too() -> None:
    policy = RetryPolicy(attempts=3, base=5.0, cap=1.0, jitter=0.0)
    assert list(policy.delays(random.Random(0))) == [1.0, 1.0]


def test_many_attempts_do_not_overflow() -> None:
    policy = RetryPolicy(attempts=3000, base=1.0, factor=10.0, cap=2.0, jitter=0.0)
    assert set(policy.delays(random.Random(0))) == {1.0, 2.0}


def test_jitter_stays_within_bounds_and_varies() -> None:
    policy = RetryPolicy(attempts=6, base=0.1, factor=2.0, cap=1.0, jitter=0.5)
    nominal = [0.1, 0.2, 0.4, 0.8, 1.0]
    seen: list[list[float]] = []
    for seed in range(500):
        delays = list(policy.delays(random.Random(seed)))
        for delay, d in zip(delays, nominal, strict=True):
            assert 0.5 * d <= delay <= 1.5 * d
        seen.append(delays)
    firsts = [delays[0] for delays in seen]
    assert len(set(firsts)) > 400  # not constant
    assert min(firsts) < 0.06  # and spread over the range
    assert max(firsts) > 0.14
    assert sum(firsts) / len(firsts) == pytest.approx(0.1, rel=0.05)  # centred on the backoff


def test_full_jitter_never_goes_negative() -> None:
    policy = RetryPolicy(attempts=20, base=0.1, jitter=1.0)
    for seed in range(200):
        assert all(d >= 0 for d in policy.delays(random.Random(seed)))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"attempts": 0}, "at least 1, got 0"),
        ({"attempts": 2.0}, "attempts must be an int"),
        ({"attempts": True}, "attempts must be an int"),
        ({"base": -0.1}, "retry base must be a finite number of seconds >= 0"),
        ({"cap": float("inf")}, "retry cap must be a finite number"),
        ({"cap": "1"}, "retry cap must be a number of seconds"),
        ({"factor": 0.5}, "retry factor must be a finite number >= 1"),
        ({"factor": float("nan")}, "retry factor"),
        ({"jitter": 1.5}, "jitter is a fraction from 0 to 1"),
        ({"jitter": -0.1}, "jitter is a fraction from 0 to 1"),
        (
            {"retry_on": OSError},
            r"retry_on must be a tuple of exception classes, e\.g\. \(OSError,\)",
        ),
        ({"retry_on": (OSError, "x")}, "retry_on must be a tuple"),
    ],
)
def test_policy_is_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RetryPolicy(**options)


def test_usage_error_is_a_library_error() -> None:
    with pytest.raises(CDPAcceptError):
        RetryPolicy(attempts=0)


# --- retry ---------------------------------------------------------------------------------


def test_retry_succeeds_on_the_third_attempt_with_two_sleeps() -> None:
    sleep = FakeSleep()
    retried: list[tuple[int, BaseException, float]] = []
    fn = Flaky(LaunchError("no DevTools URL yet"), LaunchError("still nothing"))
    policy = RetryPolicy(attempts=3, base=0.1, factor=2.0, jitter=0.0)

    result = run_retry(fn, policy, sleep=sleep, on_retry=lambda *a: retried.append(a))

    assert result == "ok"
    assert fn.calls == 3
    assert sleep.delays == pytest.approx([0.1, 0.2])
    assert [(n, str(e), d) for n, e, d in retried] == [
        (1, "no DevTools URL yet", pytest.approx(0.1)),
        (2, "still nothing", pytest.approx(0.2)),
    ]


def test_retry_sleeps_the_policys_jittered_delays() -> None:
    sleep = FakeSleep()
    policy = RetryPolicy(attempts=4)
    run_retry(Flaky(OSError(), OSError(), OSError()), policy, sleep=sleep)
    assert sleep.delays == list(policy.delays(random.Random(1)))


def test_retry_does_not_sleep_when_the_first_try_works() -> None:
    sleep = FakeSleep()
    assert run_retry(Flaky(), RetryPolicy(), sleep=sleep) == "ok"
    assert sleep.delays == []


def test_retry_gives_up_after_attempts_with_a_note() -> None:
    sleep = FakeSleep()
    errors = [ConnectionClosedError(f"reset {i}") for i in range(5)]
    fn = Flaky(*errors)

    with pytest.raises(ConnectionClosedError, match="reset 3") as caught:
        run_retry(fn, RetryPolicy(attempts=4, jitter=0.0), sleep=sleep)

    assert caught.value is errors[3]  # the last error, not a new one
    assert fn.calls == 4
    assert len(sleep.delays) == 3
    if sys.version_info >= (3, 11):
        assert caught.value.__notes__ == ["gave up after 4 attempts"]


def test_one_attempt_means_no_retry() -> None:
    sleep = FakeSleep()
    fn = Flaky(OSError("refused"))
    with pytest.raises(OSError, match="refused") as caught:
        run_retry(fn, RetryPolicy(attempts=1), sleep=sleep)
    assert fn.calls == 1
    assert sleep.delays == []
    if sys.version_info >= (3, 11):
        assert caught.value.__notes__ == ["gave up after 1 attempt"]


def test_errors_outside_retry_on_are_not_retried() -> None:
    sleep = FakeSleep()
    error = CommandError("Page.navigate", -32000, "Cannot navigate to invalid URL")
    fn = Flaky(error)
    with pytest.raises(CommandError) as caught:
        run_retry(fn, RetryPolicy(), sleep=sleep)
    assert fn.calls == 1
    assert sleep.delays == []
    assert not getattr(caught.value, "__notes__", [])


class Refused(LaunchError):
    """A launch error that says of itself it is not worth another try (a farm's 401)."""

    retryable = False
    trips_breaker = False


def test_an_error_that_says_it_is_not_retryable_is_not_retried() -> None:
    sleep = FakeSleep()
    fn = Flaky(Refused("HTTP 401"))
    with pytest.raises(Refused):
        run_retry(fn, RetryPolicy(attempts=5), sleep=sleep)
    assert fn.calls == 1
    assert sleep.delays == []


def test_a_non_retryable_error_after_a_retry_propagates_at_once() -> None:
    sleep = FakeSleep()
    fn = Flaky(OSError("refused"), ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        run_retry(fn, RetryPolicy(attempts=5), sleep=sleep)
    assert fn.calls == 2
    assert len(sleep.delays) == 1


def _fake_pytest_failed() -> BaseException:
    cls: type[Exception] = type("Failed", (Exception,), {"__module__": "_pytest.outcomes"})
    return cls("looks like pytest's")


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(AssertionError("assert 1 == 2"), id="AssertionError"),
        pytest.param(pytest.fail.Exception("failed"), id="pytest.fail"),
        pytest.param(pytest.skip.Exception("skipped"), id="pytest.skip"),
        pytest.param(pytest.exit.Exception("exit"), id="pytest.exit"),
        pytest.param(_fake_pytest_failed(), id="Failed-by-name"),
        pytest.param(KeyboardInterrupt(), id="KeyboardInterrupt"),
        pytest.param(SystemExit(1), id="SystemExit"),
        pytest.param(asyncio.CancelledError(), id="CancelledError"),
    ],
)
def test_test_outcomes_and_interrupts_are_never_retried(error: BaseException) -> None:
    # Even with a policy that would retry anything at all.
    sleep = FakeSleep()
    fn = Flaky(error, error)
    with pytest.raises(type(error)):
        run_retry(fn, RetryPolicy(retry_on=(BaseException,)), sleep=sleep)
    assert fn.calls == 1
    assert sleep.delays == []
    assert is_test_outcome(error)


def test_pytest_failed_is_recognised_although_it_claims_to_be_a_builtin() -> None:
    # pytest sets Failed.__module__ = "builtins"; its base class still gives it away.
    from _pytest.outcomes import Failed, OutcomeException

    assert issubclass(Failed, OutcomeException)
    assert is_test_outcome(Failed("x"))
    assert not is_test_outcome(LaunchError("x"))
    assert not is_test_outcome(type("Failed", (Exception,), {})("not pytest's"))


def test_an_open_circuit_is_not_retried() -> None:
    sleep = FakeSleep()
    breaker = CircuitBreaker("ws://127.0.0.1:9222", failure_threshold=1, clock=FakeClock())
    breaker.record_failure(OSError("refused"))
    fn = Flaky()

    with pytest.raises(CircuitOpenError):
        run_retry(lambda: breaker.call(fn), RetryPolicy(), sleep=sleep)
    assert fn.calls == 0
    assert sleep.delays == []


def test_cancellation_while_sleeping_is_not_chained_to_the_retried_error() -> None:
    async def cancelled_sleep(delay: float) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError) as caught:
        run_retry(Flaky(OSError("refused")), RetryPolicy(), sleep=cancelled_sleep)
    assert caught.value.__context__ is None


# --- CircuitBreaker ------------------------------------------------------------------------


ENDPOINT = "http://127.0.0.1:9222"


def make_breaker(clock: FakeClock, **options: Any) -> CircuitBreaker:
    return CircuitBreaker(ENDPOINT, clock=clock, **options)


def fail_n(breaker: CircuitBreaker, n: int, message: str = "connection refused") -> None:
    for _ in range(n):
        with pytest.raises(OSError, match=message):
            asyncio.run(breaker.call(Flaky(OSError(message))))


def test_breaker_opens_after_threshold_failures_and_fails_fast() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, failure_threshold=3, reset_after=30.0)
    fail_n(breaker, 2)
    assert breaker.state == "closed"
    fail_n(breaker, 1)
    assert breaker.state == "open"

    clock.now += 17.7
    fn = Flaky()
    with pytest.raises(CircuitOpenError) as caught:
        asyncio.run(breaker.call(fn))
    assert fn.calls == 0
    message = str(caught.value)
    assert ENDPOINT in message
    assert "the endpoint failed 3 times in a row" in message
    assert "last error: OSError: connection refused" in message
    assert "retrying in 12.3 s" in message
    assert caught.value.endpoint == ENDPOINT
    assert caught.value.failures == 3
    assert caught.value.retry_in == pytest.approx(12.3)
    assert isinstance(caught.value, LaunchError)


def test_a_success_in_between_resets_the_count() -> None:
    breaker = make_breaker(FakeClock(), failure_threshold=3)
    fail_n(breaker, 2)
    assert asyncio.run(breaker.call(Flaky())) == "ok"
    assert breaker.failures == 0
    fail_n(breaker, 2)
    assert breaker.state == "closed"
    fail_n(breaker, 1)
    assert breaker.state == "open"


def test_after_reset_after_one_trial_goes_through_and_its_success_closes() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, failure_threshold=2, reset_after=10.0)
    fail_n(breaker, 2)
    clock.now += 10.0

    async def scenario() -> None:
        release = asyncio.Event()
        trial_started = asyncio.Event()

        async def slow_ok() -> str:
            trial_started.set()
            await release.wait()
            return "ok"

        trial = asyncio.create_task(breaker.call(slow_ok))
        await trial_started.wait()
        assert breaker.state == "half-open"

        second = Flaky()
        with pytest.raises(CircuitOpenError, match="a trial call is under way") as caught:
            await breaker.call(second)
        assert second.calls == 0
        assert caught.value.retry_in is None

        release.set()
        assert await trial == "ok"

    asyncio.run(scenario())
    assert breaker.state == "closed"
    assert breaker.failures == 0
    assert asyncio.run(breaker.call(Flaky())) == "ok"


def test_a_failed_trial_reopens_immediately() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, failure_threshold=3, reset_after=10.0)
    fail_n(breaker, 3)
    clock.now += 11.0
    fail_n(breaker, 1, "still refused")
    assert breaker.state == "open"
    assert breaker.failures == 4
    assert breaker.retry_in == pytest.approx(10.0)

    clock.now += 4.0
    with pytest.raises(CircuitOpenError, match=r"4 times in a row .*still refused.*in 6\.0 s"):
        breaker.before_call()


def test_a_stale_failure_does_not_decide_the_trial() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, failure_threshold=1, reset_after=5.0)
    slow = breaker.before_call()  # admitted while closed, still running
    breaker.record_failure(OSError("refused"))
    assert breaker.state == "open"

    clock.now += 5.0
    trial = breaker.before_call()
    breaker.record_failure(OSError("late"), slow)  # belongs to the old state
    assert breaker.state == "half-open"
    assert breaker.last_error == "OSError: refused"
    breaker.record_success(trial)
    assert breaker.state == "closed"


def test_a_cancelled_trial_lets_the_next_caller_try() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, failure_threshold=1, reset_after=5.0)
    fail_n(breaker, 1)
    clock.now += 5.0

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(breaker.call(Flaky(asyncio.CancelledError())))
    assert breaker.state == "half-open"
    assert breaker.failures == 1
    assert asyncio.run(breaker.call(Flaky())) == "ok"
    assert breaker.state == "closed"


def test_assertion_errors_do_not_count_as_endpoint_failures() -> None:
    breaker = make_breaker(FakeClock(), failure_threshold=1)
    with pytest.raises(AssertionError):
        asyncio.run(breaker.call(Flaky(AssertionError("the page is wrong"))))
    assert breaker.state == "closed"
    assert breaker.failures == 0


def test_errors_that_do_not_trip_the_breaker_leave_it_closed() -> None:
    breaker = make_breaker(FakeClock(), failure_threshold=1)
    for _ in range(3):
        with pytest.raises(Refused):
            asyncio.run(breaker.call(Flaky(Refused("HTTP 429: at capacity"))))
    assert breaker.state == "closed"
    assert breaker.failures == 0
    with pytest.raises(LaunchError):
        asyncio.run(breaker.call(Flaky(LaunchError("refused"))))
    assert breaker.state == "open"


def test_reading_the_state_changes_nothing() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, failure_threshold=1, reset_after=5.0)
    breaker.record_failure(LaunchError("boom\n  last browser output:\n    ..."))
    clock.now += 60
    assert breaker.state == "open"
    assert breaker.retry_in == 0.0
    assert breaker.last_error == "LaunchError: boom"


def test_breaker_repr_shows_state_and_counts() -> None:
    clock = FakeClock()
    breaker = make_breaker(clock, failure_threshold=2, reset_after=30.0)
    assert repr(breaker) == f"<CircuitBreaker {ENDPOINT!r} closed failures=0/2>"
    fail_n(breaker, 2)
    clock.now += 7.5
    assert repr(breaker) == f"<CircuitBreaker {ENDPOINT!r} open failures=2/2 retry_in=22.5s>"
    clock.now += 30
    breaker.before_call()
    assert repr(breaker) == f"<CircuitBreaker {ENDPOINT!r} half-open failures=2/2 trial=running>"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be an int >= 1, got 0"),
        ({"failure_threshold": 1.5}, "failure_threshold must be an int >= 1"),
        ({"reset_after": -1.0}, "reset_after must be a finite number of seconds >= 0"),
        ({"reset_after": float("nan")}, "reset_after must be a finite number"),
    ],
)
def test_breaker_settings_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        CircuitBreaker(ENDPOINT, **options)
    with pytest.raises(UsageError, match=message):
        BreakerBoard(**options)


# --- BreakerBoard --------------------------------------------------------------------------


def test_board_keeps_one_breaker_per_key_with_its_settings() -> None:
    clock = FakeClock()
    board = BreakerBoard(failure_threshold=1, reset_after=5.0, clock=clock)
    a = board.get("ws://a")
    assert board.get("ws://a") is a
    b = board.get("ws://b")
    assert b is not a
    assert (a.name, a.failure_threshold, a.reset_after) == ("ws://a", 1, 5.0)
    assert len(board) == 2
    assert list(board) == [a, b]

    a.record_failure(OSError("refused"))
    assert a.state == "open"
    assert b.state == "closed"
    clock.now += 5.0
    a.before_call()
    assert a.state == "half-open"  # the board's clock drives its breakers
    assert "breakers=2 not_closed=1" in repr(board)
