"""Baseline comparison by distributions: one row per compared metric (and fail rule)
with the Hodges–Lehmann shift, its 95 % interval, the one-sided Mann–Whitney p and
the verdict (see :mod:`pytest_cdp_accept.gate.stats` and docs/compare.md). A row
without a rule is judged against the noise floor and fails nothing.

A baseline keeps the last :data:`MAX_SAMPLES` samples of each metric; a JSON report
keeps every sample. :func:`samples_by_metric` reads either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..metrics import kind_of, unit_of
from .stats import NOISE_FLOOR_MS, SampleComparison, compare_samples, noise_floor_text
from .thresholds import format_value

__all__ = ["MAX_SAMPLES", "ShiftRow", "samples_by_metric", "shift_row"]

MAX_SAMPLES = 1000
"""Samples a baseline keeps per metric (the most recent ones)."""
DRAWN_SAMPLES = 400
"""Samples per side the HTML report gets to draw a distribution from."""

LOWER_IS_WORSE = frozenset({"rate", "count"})


def samples_by_metric(data: Mapping[str, Any]) -> dict[str, list[float]]:
    """The raw samples of a baseline (``{"samples": {metric: [...]}}``) or of a JSON
    report (``{"samples": [{"metric": ..., "value": ...}, ...]}``), at most the last
    :data:`MAX_SAMPLES` of each metric, in recording order."""
    raw = data.get("samples")
    grouped: dict[str, list[float]] = {}
    if isinstance(raw, Mapping):
        for metric, values in raw.items():
            if isinstance(values, list):
                grouped[str(metric)] = [float(v) for v in values if _finite(v)]
    elif isinstance(raw, list):
        for record in raw:
            if isinstance(record, Mapping) and _finite(record.get("value")):
                grouped.setdefault(str(record.get("metric")), []).append(float(record["value"]))
    return {metric: values[-MAX_SAMPLES:] for metric, values in grouped.items() if values}


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ShiftRow:
    """One metric's samples, baseline against this run, judged."""

    metric: str
    result: SampleComparison
    baseline_median: float
    current_median: float
    rule: str | None
    """The ``--cdp-compare-fail`` rule this row judges (None: informational)."""
    limit_text: str | None
    """The rule's limit, or without a rule the noise floor the verdict is judged against."""
    baseline_samples: tuple[float, ...]
    current_samples: tuple[float, ...]

    @property
    def regressed(self) -> bool:
        """Whether a fail rule's limit was exceeded with significance."""
        return self.rule is not None and self.result.verdict == "regressed"

    def line(self) -> str:
        """E.g. ``"navigation: med 101.2 ms -> 141.9 ms, shift +40.3 ms (95 % CI +35.2 to
        +45.1 ms), p = 3e-12: regressed, limit 20 ms ✗"``; without a rule the line ends
        with the noise floor instead of the limit."""
        unit = unit_of(self.metric)
        r = self.result
        head = (
            f"{self.metric}: med {format_value(self.baseline_median, unit)} -> "
            f"{format_value(self.current_median, unit)}"
        )
        if r.shift is None:
            return f"{head}: {r.reason}"
        shift = r.shift
        text = (
            f"{head}, shift {_signed(shift.estimate, unit)} "
            f"({shift.confidence * 100:g} % CI {_signed(shift.low, unit)} to "
            f"{_signed(shift.high, unit)}), p = {_p_text(r.p)}: {r.verdict}"
        )
        if self.rule is not None:
            text += f", limit {self.limit_text} {'✗' if self.regressed else '✓'}"
        elif self.limit_text is not None:
            text += f", {self.limit_text}"
        return text

    def to_json(self) -> dict[str, Any]:
        r = self.result
        shift = r.shift
        return {
            "metric": self.metric,
            "unit": unit_of(self.metric),
            "verdict": r.verdict,
            "reason": r.reason,
            "baseline_n": r.baseline_n,
            "current_n": r.current_n,
            "baseline_median": self.baseline_median,
            "current_median": self.current_median,
            "shift": None if shift is None else shift.estimate,
            "ci_low": None if shift is None else shift.low,
            "ci_high": None if shift is None else shift.high,
            "confidence": None if shift is None else shift.confidence,
            "ci_achieved": None if shift is None else shift.achieved,
            "method": None if shift is None else shift.method,
            "p": r.p,
            "p_worse": r.p_worse,
            "p_better": r.p_better,
            "alpha": r.alpha,
            "lower_is_worse": r.lower_is_worse,
            "rule": self.rule,
            "limit": self.limit_text,
            "noise_floor_percent": r.limit if r.noise_floor else None,
            "regressed": self.regressed,
            "baseline_samples": _drawn(self.baseline_samples),
            "current_samples": _drawn(self.current_samples),
        }


def shift_row(
    metric: str,
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    alpha: float,
    limit: float | None = None,
    rule: str | None = None,
    limit_text: str | None = None,
) -> ShiftRow:
    """Judge one metric against a rule's ``limit`` (an amount in the metric's unit), or
    with ``limit=None`` against the noise floor."""
    unit = unit_of(metric)
    floor_amount = NOISE_FLOOR_MS if unit == "ms" else 0.0
    result = compare_samples(
        baseline,
        current,
        limit=limit,
        lower_is_worse=kind_of(metric) in LOWER_IS_WORSE,
        alpha=alpha,
        floor_amount=floor_amount,
    )
    baseline_median = _median(baseline)
    if limit is None:
        limit_text = noise_floor_text(baseline_median, floor_amount, unit)
    return ShiftRow(
        metric=metric,
        result=result,
        baseline_median=baseline_median,
        current_median=_median(current),
        rule=rule,
        limit_text=limit_text,
        baseline_samples=tuple(baseline),
        current_samples=tuple(current),
    )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def _signed(value: float, unit: str) -> str:
    sign = "-" if value < 0 else "+"
    return sign + format_value(abs(value), unit)


def _p_text(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _drawn(values: Sequence[float]) -> list[float]:
    """At most DRAWN_SAMPLES values, evenly picked (the report draws, never tests, them)."""
    if len(values) <= DRAWN_SAMPLES:
        return list(values)
    step = len(values) / DRAWN_SAMPLES
    return [values[int(i * step)] for i in range(DRAWN_SAMPLES)]
