"""Outputs of the run: each test's samples and JUnit properties, the report files,
baselines, and the terminal summary.

The report dict is built, and each writer imported, only when an output asks
for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..gate.report import Results
from ..gate.thresholds import compute_stat
from ..metrics import MetricsRecorder

BASELINE_DIR = ".cdp-accept/baselines"


class Outputs:
    """What the run writes, and the lines the summary prints about it.

    ``targets`` maps ``cdp_json``, ``cdp_html`` and ``cdp_benchmark_json`` to the
    path given for each (or None); ``compare`` and ``save`` name baselines in
    ``baseline_dir``; ``rules`` are ``--cdp-compare-fail`` rules as written.
    """

    def __init__(
        self,
        results: Results,
        *,
        root: Path,
        targets: Mapping[str, str | None],
        compare: str | None = None,
        save: str | None = None,
        baseline_dir: str | None = None,
        rules: Sequence[str] = (),
        alpha: float = 0.01,
        worker: str = "main",
    ) -> None:
        self.results = results
        self.root = root
        self.targets = dict(targets)
        self.compare_name = compare
        self.save_name = save
        self.baseline_dir = Path(baseline_dir) if baseline_dir else root / BASELINE_DIR
        self.worker = worker
        self.alpha = alpha
        self.rules: list[Any] = []
        if rules:
            from ..gate.baseline import parse_fail_rules

            try:
                self.rules = parse_fail_rules(list(rules))
            except UsageError as exc:
                raise UsageError(f"--cdp-compare-fail: {exc}") from None
        self.notes: list[str] = []
        self.comparison_lines: list[str] = []

    def __repr__(self) -> str:
        wanted = [name for name, path in self.targets.items() if path]
        return f"<Outputs {wanted} compare={self.compare_name!r} save={self.save_name!r}>"

    def test_finished(self, nodeid: str, recorder: MetricsRecorder) -> list[tuple[str, float]]:
        """Keep a test's samples; its key figures as JUnit properties (``cdp.<metric>.p95``,
        or ``.value`` for a metric recorded once)."""
        self.results.add_samples(nodeid, self.worker, recorder.all_samples())
        properties = []
        for metric, values in recorder.by_name().items():
            stat = "p95" if len(values) > 1 else "value"
            properties.append((f"cdp.{metric}.{stat}", round(compute_stat(stat, values), 3)))
        return properties

    def write(self, meta: Mapping[str, Any]) -> bool:
        """Baselines, then the report files, from one report dict; whether a baseline
        comparison found a regression beyond the fail rules."""
        if not (self.compare_name or self.save_name or any(self.targets.values())):
            return False
        report = self.results.to_json(dict(meta))
        regressed = self._baselines(report)
        for option, target in self.targets.items():
            if target:
                path = Path(target)
                path.parent.mkdir(parents=True, exist_ok=True)
                _WRITERS[option](report, path)
                self.notes.append(f"{option.removeprefix('cdp_').replace('_', ' ')} report: {path}")
        return regressed

    def _baselines(self, report: dict[str, Any]) -> bool:
        if not (self.compare_name or self.save_name):
            return False
        from ..gate.baseline import BaselineStore, compare, missing_baseline_message

        store = BaselineStore(self.baseline_dir)
        regressed = False
        if self.compare_name:
            baseline = store.find(self.compare_name)
            if baseline is None:
                name = "default" if self.compare_name == "latest" else self.compare_name
                saved = store.save(name, report, cwd=self.root)
                self.notes.append(missing_baseline_message(name, saved))
            else:
                comparison = compare(report, baseline, self.rules, alpha=self.alpha)
                report["comparison"] = comparison.to_json()
                report["baseline_comparison"] = {
                    "baseline": comparison.header(),
                    "alpha": self.alpha,
                    "shifts": comparison.shifts_json(),
                }
                self.comparison_lines = comparison.lines()
                regressed = comparison.failed
        if self.save_name:
            saved = store.save(self.save_name, report, cwd=self.root)
            self.notes.append(f"saved baseline {self.save_name!r} ({saved})")
        return regressed

    def summary(
        self, *, factor: float, record_only: bool, run_failed: bool
    ) -> tuple[str, list[str]] | None:
        """The terminal summary's title and lines (None when the run measured nothing)."""
        if not (self.results.samples or self.results.verdicts or self.notes):
            return None
        title = "cdp-accept"
        if factor != 1.0:
            title += f" (time thresholds x{factor:g})"
        if record_only:
            title += " (record only)"
        lines = list(self.results.summary_lines())
        if self.comparison_lines:
            lines += ["", *(f"  {line}" for line in self.comparison_lines)]
        lines += [f"  {note}" for note in self.notes]
        if run_failed:
            verb = "would fail" if record_only else "failed"
            lines.append(f"  the run {verb}: a session gate or baseline was missed")
        return title, lines


def _write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=1))


def _write_html(report: dict[str, Any], path: Path) -> None:
    from ..gate.html_report import write_html

    write_html(report, path)


def _write_benchmark(report: dict[str, Any], path: Path) -> None:
    from ..gate.benchmark_export import write_pytest_benchmark

    write_pytest_benchmark(report, path)


_WRITERS = {
    "cdp_json": _write_json,
    "cdp_html": _write_html,
    "cdp_benchmark_json": _write_benchmark,
}
