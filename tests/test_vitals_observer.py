"""The observer's definitions (CLS session windows, INP's 98th percentile, TBT clipping),
run by the real Chromium on planted entry values in the observer's own isolated world."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_cdp_accept.engine.browser import Page
from pytest_cdp_accept.engine.sync import SyncPool
from pytest_cdp_accept.engine.vitals import GLOBAL, WORLD, observer_source


@pytest.fixture(scope="module")
def algorithms(pool: SyncPool) -> Any:
    """Calls ``__cdpAcceptVitals.algorithms`` in the observer's world of a real page."""
    run = pool.runner.run
    page = pool.acquire_page()
    inner: Page = page.core

    async def prepare() -> int:
        await inner.session.send(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": observer_source(push=False), "worldName": WORLD},
        )
        await inner.goto("data:text/html,<p>algorithms</p>")
        world = await inner.session.send(
            "Page.createIsolatedWorld", {"frameId": inner.target_id, "worldName": WORLD}
        )
        return int(world["executionContextId"])

    context = run(prepare())

    def call(expression: str) -> Any:
        async def evaluate() -> Any:
            reply = await inner.session.send(
                "Runtime.evaluate",
                {
                    "expression": f"JSON.stringify((({{addShift, addInteraction, inpOf, tbtOf}})"
                    f" => {expression})(globalThis.{GLOBAL}.algorithms))",
                    "contextId": context,
                    "returnByValue": True,
                },
            )
            assert "exceptionDetails" not in reply, reply
            return json.loads(reply["result"]["value"])

        return run(evaluate())

    try:
        yield call
    finally:
        inner.tainted = True  # it carries an extra injected script: not for the next test
        pool.release_page(page)


def cls_of(call: Any, shifts: list[tuple[float, float, bool]]) -> float:
    walk = "".join(f"s = addShift(s, {t}, {v}, {str(r).lower()}); " for t, v, r in shifts)
    result: float = call(
        f"(() => {{ let s = {{cls: 0, session: 0, first: -1, last: -1}}; {walk}return s.cls; }})()"
    )
    return result


def test_cls_sums_one_session_window(algorithms: Any) -> None:
    assert cls_of(algorithms, [(100, 0.1, False), (900, 0.05, False)]) == pytest.approx(0.15)


def test_cls_a_gap_of_one_second_starts_a_new_window(algorithms: Any) -> None:
    # 0.1 + 0.05, then a 1 s gap: a window of 0.08 + 0.02; the largest window wins.
    shifts = [(100, 0.1, False), (900, 0.05, False), (1900, 0.08, False), (2500, 0.02, False)]
    assert cls_of(algorithms, shifts) == pytest.approx(0.15)
    shifts.append((3000, 0.2, False))  # the second window grows past the first
    assert cls_of(algorithms, shifts) == pytest.approx(0.30)


def test_cls_a_window_spans_at_most_five_seconds(algorithms: Any) -> None:
    # One shift every 900 ms: never a 1 s gap, but the window closes at 5 s.
    shifts = [(t * 900.0, 0.01, False) for t in range(8)]  # 0 .. 6300 ms
    # Window 1: 0, 900, ..., 4500 (6 shifts, 4500 - 0 < 5000); window 2: 5400, 6300.
    assert cls_of(algorithms, shifts) == pytest.approx(0.06)


def test_cls_ignores_shifts_after_recent_input(algorithms: Any) -> None:
    assert cls_of(algorithms, [(100, 0.3, True), (200, 0.05, False)]) == pytest.approx(0.05)
    assert cls_of(algorithms, [(100, 0.3, True)]) == 0


def inp_of(call: Any, durations: list[float], count: int, first_input: float | None = None) -> Any:
    adds = "".join(f"addInteraction(m, {i + 1}, {d}); " for i, d in enumerate(durations))
    first = "null" if first_input is None else first_input
    return call(
        f"(() => {{ const m = new Map(); {adds}return inpOf(m.values(), {count}, {first}); }})()"
    )


def test_inp_is_the_worst_interaction_below_fifty(algorithms: Any) -> None:
    assert inp_of(algorithms, [40, 300, 120], 3) == 300
    assert inp_of(algorithms, [40, 300, 120], 49) == 300


def test_inp_skips_one_of_the_worst_per_fifty_interactions(algorithms: Any) -> None:
    durations = [500, 400, 300, 200] + [16] * 96
    assert inp_of(algorithms, durations, 50) == 400  # p98 of 50: the second worst
    assert inp_of(algorithms, durations, 100) == 300
    assert inp_of(algorithms, durations, 120) == 300  # floor(120 / 50) = 2


def test_inp_keeps_the_longest_entry_of_an_interaction(algorithms: Any) -> None:
    result = algorithms(
        "(() => { const m = new Map(); addInteraction(m, 7, 24); addInteraction(m, 7, 256);"
        " addInteraction(m, 7, 40); addInteraction(m, 0, 900);"
        " return inpOf(m.values(), 1, null); })()"
    )
    assert result == 256  # interactionId 0 (not an interaction) does not count


def test_inp_without_interactions_is_not_measured(algorithms: Any) -> None:
    assert inp_of(algorithms, [], 0) is None
    assert inp_of(algorithms, [], 1, first_input=8) == 8  # only shorter than 16 ms


def test_inp_keeps_the_ten_longest(algorithms: Any) -> None:
    assert algorithms(
        "(() => { const m = new Map(); for (let i = 1; i <= 30; i++) addInteraction(m, i, i * 10);"
        " return Array.from(m.values()).sort((a, b) => a - b); })()"
    ) == [210, 220, 230, 240, 250, 260, 270, 280, 290, 300]


@pytest.mark.parametrize(
    ("tasks", "fcp", "end", "tbt"),
    [
        ([[1000, 300]], 500, 5000, 250),  # one 300 ms task after FCP
        ([[1000, 50]], 500, 5000, 0),  # exactly 50 ms blocks nothing
        ([[400, 200]], 500, 5000, 50),  # straddles FCP: only 100 ms count (Lighthouse)
        ([[100, 200]], 500, 5000, 0),  # all before FCP
        ([[4900, 300]], 500, 5000, 50),  # clipped to the 100 ms before the end
        ([[1000, 120], [2000, 80], [3000, 45]], 500, 5000, 100),
    ],
)
def test_tbt_clips_each_task_to_fcp_and_the_end(
    algorithms: Any, tasks: list[list[float]], fcp: float, end: float, tbt: float
) -> None:
    assert algorithms(f"tbtOf({json.dumps(tasks)}, {fcp}, {end})") == pytest.approx(tbt)


def test_tbt_before_a_paint_is_not_measured(algorithms: Any) -> None:
    assert algorithms("tbtOf([[100, 300]], null, 1000)") is None
