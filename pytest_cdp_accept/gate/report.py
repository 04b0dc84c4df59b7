"""What a run measured and decided: collected per process, merged across
xdist workers, written as JSON and summed up for the terminal.

Nothing here knows CDP; the only pytest-facing output is plain text lines.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..metrics import (
    FAILED_SUFFIX,
    VITALS,
    Sample,
    band_of,
    is_failed_metric,
    kind_of,
    unit_of,
)
from .thresholds import Verdict, compute_stat, format_value

SCHEMA = "pytest-cdp-accept/1"
SUMMARY_STATS = ("min", "med", "p95", "p99", "max")


@dataclass(frozen=True)
class SampleRecord:
    metric: str
    value: float
    test: str
    worker: str
    time: float
    tags: dict[str, str] = field(default_factory=dict)
    """What the sample was taken on or under: ``page`` (a vital's page), ``throttle``."""


@dataclass(frozen=True)
class VerdictRecord:
    scope: str  # "test" or "session"
    test: str
    metric: str
    threshold: str
    measured: float | None
    n: int
    passed: bool
    weak: bool
    line: str
    failed: int = 0
    """Attempts that failed (``<metric>.failed``): not samples, counted next to n."""
    applies: bool = True
    """False for a threshold that did not apply to what ran (n/a, never a failure)."""
    basis: str = ""
    """What the samples were when not the metric's usual figure (see Verdict.basis)."""

    @classmethod
    def of(cls, verdict: Verdict, scope: str, test: str) -> VerdictRecord:
        return cls(
            scope,
            test,
            verdict.threshold.metric,
            verdict.threshold.describe(),
            verdict.measured,
            verdict.n,
            verdict.passed,
            verdict.weak,
            verdict.line(),
            verdict.failed,
            verdict.applies,
            verdict.basis,
        )


@dataclass
class Results:
    """Samples and verdicts of a run (or of one xdist worker)."""

    samples: list[SampleRecord] = field(default_factory=list)
    verdicts: list[VerdictRecord] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    basis: dict[str, str] = field(default_factory=dict)
    """What a metric's samples are, when the tests said they were not its usual figure."""
    inapplicable: dict[str, str] = field(default_factory=dict)
    """Metrics the tests could not measure where they ran, with the reason (n/a)."""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """What each test that kept evidence kept (see :mod:`pytest_cdp_accept.run.evidence`)."""

    def add_samples(self, test: str, worker: str, samples: Iterable[Sample]) -> None:
        self.samples += [
            SampleRecord(s.name, s.value, test, worker, s.time, dict(s.tags)) for s in samples
        ]

    def add_verdicts(self, scope: str, test: str, verdicts: Iterable[Verdict]) -> None:
        self.verdicts += [VerdictRecord.of(v, scope, test) for v in verdicts]

    def add_evidence(self, kept: Mapping[str, Any]) -> None:
        self.evidence.append(dict(kept))

    def count(self, name: str, value: float) -> None:
        self.counters[name] += value

    def by_metric(self) -> dict[str, list[float]]:
        grouped: dict[str, list[float]] = defaultdict(list)
        for sample in self.samples:
            grouped[sample.metric].append(sample.value)
        return dict(grouped)

    # -- xdist ------------------------------------------------------------------

    def to_wire(self) -> str:
        """A string for ``workeroutput`` (execnet carries only plain data)."""
        return json.dumps(
            {
                "samples": [asdict(s) for s in self.samples],
                "verdicts": [asdict(v) for v in self.verdicts],
                "counters": dict(self.counters),
                "basis": self.basis,
                "inapplicable": self.inapplicable,
                "evidence": self.evidence,
            }
        )

    def merge_wire(self, text: str) -> None:
        data = json.loads(text)
        self.samples += [SampleRecord(**s) for s in data["samples"]]
        self.verdicts += [VerdictRecord(**v) for v in data["verdicts"]]
        for name, value in data["counters"].items():
            self.counters[name] += value
        self.basis.update(data.get("basis", {}))
        self.inapplicable.update(data.get("inapplicable", {}))
        self.evidence += data.get("evidence", [])

    # -- output -------------------------------------------------------------------

    def to_json(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "created": time.time(),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            "counters": dict(self.counters),
            "metrics": {
                metric: _stats(values, kind_of(metric))
                for metric, values in sorted(self.by_metric().items())
            },
            "verdicts": [asdict(v) for v in self.verdicts],
            "samples": [asdict(s) for s in self.samples],
            "vitals": self.vitals(),
            "evidence": self.evidence,
            **(extra or {}),
        }

    def vitals(self) -> dict[str, Any]:
        """The Web Vitals by page and throttling profile: per metric n, p75 and its band
        (Google's assessment), and the profiles the figures were taken under."""
        groups: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for sample in self.samples:
            page = sample.tags.get("page")
            if page is not None and sample.metric in VITALS:
                key = (page, sample.tags.get("throttle", ""))
                groups[key][sample.metric].append(sample.value)
        pages = []
        for (page, throttle), metrics in sorted(groups.items()):
            figures = {}
            for metric, values in metrics.items():
                p75 = compute_stat("p75", values)
                figures[metric] = {"n": len(values), "p75": p75, "band": band_of(metric, p75)}
            pages.append({"page": page, "throttle": throttle or None, "metrics": figures})
        profiles = sorted({s.tags["throttle"] for s in self.samples if "throttle" in s.tags})
        return {"pages": pages, "throttle": profiles}

    def summary_lines(self) -> list[str]:
        """The terminal summary: a table per metric, then every verdict, then session figures."""
        lines: list[str] = []
        grouped = self.by_metric()
        failures = {
            name[: -len(FAILED_SUFFIX)]: len(values)
            for name, values in grouped.items()
            if is_failed_metric(name)
        }
        shown = sorted({name for name in grouped if not is_failed_metric(name)} | set(failures))
        if shown:
            # Failed attempts are not samples: they get a column next to n, not rows.
            width = max(12, *(len(m) for m in shown))
            header = f"  {'metric':<{width}} {'n':>6}"
            if failures:
                header += f" {'failed':>6}"
            header += "".join(f" {s:>11}" for s in SUMMARY_STATS)
            lines.append(header)
            for metric in shown:
                values = grouped.get(metric, [])
                unit = unit_of(metric)
                row = f"  {metric:<{width}} {len(values):>6}"
                if failures:
                    row += f" {failures.get(metric, 0) or '':>6}"
                for stat in SUMMARY_STATS:
                    figure = format_value(compute_stat(stat, values), unit) if values else "-"
                    row += f" {figure:>11}"
                lines.append(row)
        failed = [v for v in self.verdicts if not v.passed]
        test_verdicts = [v for v in self.verdicts if v.scope == "test"]
        if test_verdicts:
            lines.append("")
            lines.append("  test thresholds (✓ when every test that sets it met it):")
            lines += self._threshold_lines(test_verdicts)
        session_verdicts = [v for v in self.verdicts if v.scope == "session"]
        if session_verdicts:
            lines.append("")
            lines.append("  session gates:")
            lines += [f"    {v.line}" for v in session_verdicts]
        figures = self.session_figures()
        if figures:
            lines.append("")
            lines.append("  session: " + ", ".join(figures))
        if failed:
            lines.append("")
            lines.append(f"  {len(failed)} threshold(s) missed")
        return lines

    @staticmethod
    def _threshold_lines(verdicts: Sequence[VerdictRecord]) -> list[str]:
        """k6-style: one ✓/✗ line per distinct threshold (metric and condition), with
        how many tests set it; under it, each test that missed it or judged it weakly."""
        by_threshold: dict[tuple[str, str], list[VerdictRecord]] = {}
        for verdict in verdicts:
            by_threshold.setdefault((verdict.metric, verdict.threshold), []).append(verdict)
        lines = []
        for (metric, threshold), group in sorted(by_threshold.items()):
            missed = [v for v in group if not v.passed]
            judged = [v for v in group if v.applies]
            tests = "test" if len(group) == 1 else "tests"
            if missed:
                mark, tally = "✗", f"{len(missed)} of {len(group)} {tests} missed it"
            elif judged:
                mark, tally = "✓", f"met in {len(judged)} of {len(group)} {tests}"
                if len(judged) == len(group):
                    tally = f"met in {len(group)} {tests}"
            else:
                mark, tally = "–", f"applied to none of {len(group)} {tests}"
            lines.append(f"    {mark} {metric} {threshold}: {tally}")
            lines += [
                f"        {v.line}  [{v.test}]"
                for v in group
                if not v.passed or v.weak or (v.failed and v.applies)
            ]
        return lines

    def session_figures(self) -> list[str]:
        grouped = self.by_metric()
        figures = []
        profiles = sorted({s.tags["throttle"] for s in self.samples if "throttle" in s.tags})
        if profiles:
            figures.append(f"throttled: {', '.join(profiles)}")
        if self.counters.get("browsers_launched"):
            figures.append(f"browsers launched {int(self.counters['browsers_launched'])}")
        if grouped.get("startup"):
            figures.append(f"startup med {compute_stat('med', grouped['startup']):.0f} ms")
        if self.counters.get("pages_opened"):
            figures.append(f"pages opened {int(self.counters['pages_opened'])}")
        memory = grouped.get("memory.peak", []) + grouped.get("memory.idle", [])
        browser = grouped.get("memory.browser_peak", []) + grouped.get("memory.browser_idle", [])
        if memory or browser:
            rss = grouped.get("memory.peak_rss", []) + grouped.get("memory.idle_rss", [])
            parts = []
            if memory:  # the tests' renderers (footprint; RSS as the secondary figure)
                parts.append(f"peak memory {max(memory):.0f} MB")
                if rss:
                    parts[-1] += f" (RSS {max(rss):.0f} MB)"
            if browser:
                parts.append(f"whole browser {max(browser):.0f} MB")
            figures.append(", ".join(parts))
        if self.counters.get("farm_sessions_cut"):
            cut = int(self.counters["farm_sessions_cut"])
            figures.append(
                f"{cut} farm session{'s' if cut != 1 else ''} cut by the farm's session timeout "
                "(its browsers are renewed before that age from then on)"
            )
        return figures


def _stats(values: Sequence[float], kind: str) -> dict[str, float]:
    stats = (*SUMMARY_STATS, "avg", "p75")
    return {"n": len(values), **{s: compute_stat(s, values) for s in stats}}
