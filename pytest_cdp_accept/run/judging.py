"""Judging: markers read at collection, each test's thresholds after its body, the
session gates at the end of the run over what the selected tests could produce.

The judge takes plain values (marker names and arguments, samples, node ids)
and returns failure texts; the plugin turns those into pytest outcomes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import UsageError
from ..gate.markers import (
    MARKERS,
    GateSpec,
    judge_session,
    judge_test,
    produces,
    session_gates,
    spec_for,
    unknown_marker,
)
from ..gate.report import Results
from ..gate.thresholds import Threshold, ThresholdSyntaxError, Verdict
from ..metrics import is_paint_metric

Marker = tuple[str, Sequence[Any], Mapping[str, Any]]

NOTHING_MEASURED = (
    "nothing measured: the test uses no cdp fixture (cdp_page, cdp_async_page, cdp_browser, "
    "cdp_fleet or cdp_metrics)"
)


class Judge:
    """The thresholds of the run and the verdicts on them, into ``results``."""

    def __init__(
        self,
        results: Results,
        *,
        factor: float = 1.0,
        record_only: bool = False,
        gates_text: str | None = None,
        preset: str | None = None,
    ) -> None:
        self.results = results
        self.factor = factor
        self.record_only = record_only
        try:
            self.gates: list[Threshold] = session_gates(gates_text, preset)
        except ThresholdSyntaxError as exc:
            raise UsageError(f"cdp_gates / --cdp-preset: {exc}") from None
        self.produced: set[str] = set()
        """What the selected tests can produce (:func:`~..gate.markers.produces`)."""
        self.deselected = 0
        self.tests_run = 0

    def __repr__(self) -> str:
        return (
            f"<Judge gates={len(self.gates)} factor={self.factor:g} "
            f"record_only={self.record_only} tests_run={self.tests_run}>"
        )

    # -- collection ---------------------------------------------------------------------

    def read_markers(
        self, nodeid: str, marks: Sequence[Marker], registered: Iterable[str]
    ) -> tuple[GateSpec | None, str | None]:
        """A test's gate spec and, when any of its ``cdp_*`` marks is bad, the usage
        error naming every problem (an unknown mark, a bad keyword or threshold)."""
        problems = [
            problem
            for name in dict.fromkeys(name for name, _, _ in marks)
            if (problem := unknown_marker(name, registered)) is not None
        ]
        spec = None
        ours = [mark for mark in marks if mark[0] in MARKERS]
        if ours:
            try:
                spec = spec_for(ours)
            except ThresholdSyntaxError as exc:
                problems += [str(problem) for problem in exc.problems]
        if not problems:
            return spec, None
        return spec, f"{nodeid}: " + "\n    ".join(problems)

    def gates_paint(self, spec: GateSpec | None) -> bool:
        """Whether a threshold of the test or of the session reads fcp or lcp (of any
        loop: ``stress.fcp``): its pages then wait for a first paint still due."""
        thresholds = [*(spec.thresholds if spec is not None else ()), *self.gates]
        return any(is_paint_metric(t.metric) for t in thresholds)

    def selected(self, spec: GateSpec | None, *, uses_pages: bool, records: bool) -> None:
        """One selected test: what it can produce scopes the session gates."""
        self.produced |= produces(spec, uses_pages=uses_pages, records=records)

    def scope_wire(self) -> str:
        """What this (xdist worker) process selected, for the controller."""
        return json.dumps({"produced": sorted(self.produced), "deselected": self.deselected})

    def merge_scope(self, wire: str) -> None:
        # Every worker collects the whole selection: any one's view of it will do.
        data = json.loads(wire)
        self.produced |= set(data["produced"])
        self.deselected = max(self.deselected, int(data["deselected"]))

    # -- one test -----------------------------------------------------------------------

    def judge_test(
        self,
        nodeid: str,
        thresholds: Sequence[Threshold],
        samples: Mapping[str, Sequence[float]] | None,
        unmeasured: Mapping[str, str] | None = None,
        detail: Sequence[str] = (),
        basis: Mapping[str, str] | None = None,
        inapplicable: Mapping[str, str] | None = None,
    ) -> str | None:
        """Judge a test's thresholds; the failure text when the test must fail.

        ``samples`` None: the test used no cdp fixture, so nothing was measured,
        which must not pass. ``basis`` and ``inapplicable`` (see
        :func:`~..gate.markers.judge`) are kept for the session gates too.
        """
        if samples is None:
            unmeasured = {t.metric: NOTHING_MEASURED for t in thresholds}
        self.results.basis.update(basis or {})
        self.results.inapplicable.update(inapplicable or {})
        verdicts = judge_test(
            thresholds, samples or {}, self.factor, unmeasured, basis, inapplicable
        )
        self.results.add_verdicts("test", nodeid, verdicts)
        failed = [v for v in verdicts if not v.passed]
        if not failed or self.record_only:
            return None
        lines = "\n".join(f"  {v.line()}" for v in verdicts)
        text = f"cdp-accept: {len(failed)} of {len(verdicts)} thresholds missed:\n{lines}"
        return text + "".join(f"\n{line}" for line in detail)

    def missed_metrics(self, nodeid: str) -> list[str]:
        """The metrics whose thresholds test ``nodeid`` missed."""
        return [
            v.metric
            for v in self.results.verdicts
            if v.scope == "test" and v.test == nodeid and v.applies and not v.passed
        ]

    # -- the run --------------------------------------------------------------------------

    def judge_session(self) -> bool:
        """Judge the session gates over the run's (merged) samples; whether one missed."""
        if not self.gates:
            return False
        verdicts: list[Verdict] = judge_session(
            self.gates,
            self.results.by_metric(),
            self.produced,
            self.factor,
            self.deselected,
            self.results.basis,
            self.results.inapplicable,
        )
        self.results.add_verdicts("session", "", verdicts)
        return any(not v.passed for v in verdicts)
