"""Baselines: save a run's figures under a name, compare later runs against them.

A baseline is a small JSON file, ``<root>/<name>.json``, holding the per-metric
statistics of one run (the ``metrics`` of :meth:`Results.to_json
<pytest_cdp_accept.report.Results.to_json>`), its counters, a fingerprint of
the machine it ran on and the git commit it ran at::

    {"schema": "pytest-cdp-accept-baseline/1", "name": "main", "created": 1714557603.2,
     "commit": "1a2b...", "dirty": false,
     "machine": {"node": ..., "machine": "x86_64", "system": "Linux", "cpus": 8,
                 "memory_mb": 15872, "python": "3.11.7", "browser": "Chromium 126..."},
     "metrics": {"navigation": {"n": 20, "min": ..., "med": ..., "p95": ..., ...}},
     "counters": {...}}

:func:`compare` sets a run against a baseline: a row per metric and statistic
(old value, new value, relative change) and, for the statistics named by a
*fail rule* (:func:`parse_fail_rule`, ``"navigation.p95:10%"``), whether the
change exceeds the rule's limit. Without a rule a row is informational only.

Nothing here knows pytest; bad input raises
:class:`~pytest_cdp_accept.errors.UsageError`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeGuard

import psutil

from ..errors import UsageError
from ..metrics import BUILTIN_LATENCY, METRIC_KINDS, kind_of, unit_of
from .shift import ShiftRow, samples_by_metric, shift_row
from .thresholds import UNITS, format_amount, format_value, number_text, spell_units

__all__ = [
    "BASELINE_SCHEMA",
    "COMPARED_STATS",
    "LATEST",
    "RULE_STATS",
    "BaselineStore",
    "Comparison",
    "FailRule",
    "GitState",
    "Row",
    "compare",
    "git_state",
    "machine_fingerprint",
    "missing_baseline_message",
    "parse_fail_rule",
    "parse_fail_rules",
]

BASELINE_SCHEMA = "pytest-cdp-accept-baseline/1"
LATEST = "latest"
"""The name that means "the most recently saved baseline"."""

RULE_STATS: tuple[str, ...] = ("min", "med", "avg", "p75", "p95", "p99", "max")
"""The statistics a fail rule may name (in display order)."""

COMPARED_STATS: tuple[str, ...] = ("med", "p95", "p99", "max")
"""The statistics compared for every metric, rule or not (latency, memory, growth)."""

_STAT_ALIASES = {"value": "max", "rate": "avg", "p50": "med"}
_DEFAULT_STATS = {
    "rate": ("avg",),
    "count": ("max",),
    "vital": ("med", "p75", "p95", "max"),
    "score": ("med", "p75", "p95", "max"),
    "size": ("med", "max"),
}
"""Rates are 0/1 outcomes (their avg is the success rate) and counts a single
figure: their percentiles say nothing, so only one row is shown by default. The
Web Vitals add p75 (Google's assessment); page weights show the typical and the
heaviest navigation."""

_LOWER_IS_WORSE = frozenset({"rate", "count"})
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_NAME_CHARS = "letters A-Z a-z, digits 0-9, '.', '_' and '-'"
_GIT_TIMEOUT = 3.0

_HARDWARE_FIELDS = ("node", "machine", "system", "cpus", "memory_mb")
_SOFTWARE_FIELDS = ("python", "browser")
_MEMORY_TOLERANCE = 0.02
"""Total memory may wobble a little on one machine (VM ballooning, kernel reservations)."""


# -- machine and commit --------------------------------------------------------------


def machine_fingerprint(browser_version: str | None = None) -> dict[str, Any]:
    """What identifies the machine a run was measured on."""
    return {
        "node": platform.node(),
        "machine": platform.machine(),
        "system": platform.system(),
        "cpus": os.cpu_count(),
        "memory_mb": round(psutil.virtual_memory().total / 2**20),
        "python": platform.python_version(),
        "browser": browser_version,
    }


def _machine_diff(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The fingerprint fields that differ (fields missing on either side are skipped)."""
    differ = []
    for name in (*_HARDWARE_FIELDS, *_SOFTWARE_FIELDS):
        old, new = baseline.get(name), current.get(name)
        if old is None or new is None or old == new:
            continue
        if (
            name == "memory_mb"
            and _finite(old)
            and _finite(new)
            and math.isclose(old, new, rel_tol=_MEMORY_TOLERANCE)
        ):
            continue
        differ.append(name)
    return differ


@dataclass(frozen=True)
class GitState:
    """The git checkout a run was measured in (all None/False outside one)."""

    commit: str | None = None
    dirty: bool = False
    branch: str | None = None


def _git(args: Sequence[str], cwd: Path) -> str | None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(cwd: str | Path | None = None) -> GitState:
    """The commit checked out in ``cwd`` (default: the current directory).

    ``commit`` is ``git rev-parse HEAD`` (None outside a checkout, without git,
    before the first commit or when git does not answer within a few seconds);
    ``dirty`` is whether tracked files have uncommitted changes (untracked files,
    such as the reports and baselines a run writes, do not count).
    """
    where = Path.cwd() if cwd is None else Path(cwd)
    commit = _git(["rev-parse", "--verify", "--quiet", "HEAD"], where)
    if not commit:
        return GitState()
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
    return GitState(commit=commit, dirty=bool(status), branch=branch or None)


# -- the store -----------------------------------------------------------------------


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise UsageError(
            f"bad baseline name {name!r}: use only {_NAME_CHARS} (e.g. 'main', 'v1.2', 'pr-17')"
        )
    return name


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class BaselineStore:
    """Named baselines as ``<root>/<name>.json``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"BaselineStore({str(self.root)!r})"

    def path(self, name: str) -> Path:
        """Where the baseline ``name`` lives (whether or not it exists)."""
        return self.root / f"{_check_name(name)}.json"

    def names(self) -> list[str]:
        """The saved baselines, sorted by name."""
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if _NAME_RE.fullmatch(p.stem))

    def latest(self) -> str | None:
        """The most recently saved baseline (by modification time), if any."""
        best: tuple[int, str] | None = None
        for name in self.names():
            try:
                key = (self.root.joinpath(f"{name}.json").stat().st_mtime_ns, name)
            except OSError:
                continue
            if best is None or key > best:
                best = key
        return None if best is None else best[1]

    def resolve(self, name: str) -> str | None:
        """``name`` itself if saved (``"latest"``: the newest one), else None."""
        if name == LATEST:
            return self.latest()
        return name if self.path(name).is_file() else None

    def find(self, name: str) -> dict[str, Any] | None:
        """The baseline ``name`` (or ``"latest"``), or None when there is none."""
        resolved = self.resolve(name)
        if resolved is None:
            return None
        path = self.path(resolved)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"cannot read baseline {resolved!r} ({path}): {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"baseline {resolved!r} ({path}) is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
            raise UsageError(
                f"{path} is not a pytest-cdp-accept baseline (no 'metrics' object); "
                f"save one with --cdp-save {resolved}"
            )
        data["name"] = resolved
        return data

    def load(self, name: str) -> dict[str, Any]:
        """The baseline ``name`` (or ``"latest"``); UsageError naming what exists if missing."""
        data = self.find(name)
        if data is None:
            saved = self.names()
            known = ", ".join(saved) if saved else "none yet"
            what = "no baseline saved yet" if name == LATEST else f"no baseline {name!r}"
            raise UsageError(f"{what} in {self.root} (saved: {known})")
        return data

    def save(self, name: str, report: Mapping[str, Any], *, cwd: str | Path | None = None) -> Path:
        """Save the figures of ``report`` (a :meth:`Results.to_json` dict) as ``name``.

        ``cwd`` is where the git commit is looked up (default: the current
        directory). An existing baseline of that name is replaced.
        """
        if name == LATEST:
            raise UsageError(
                f"{LATEST!r} is reserved (--cdp-compare latest means the newest baseline); "
                "pick another name"
            )
        path = self.path(name)
        metrics = report.get("metrics")
        if not isinstance(metrics, Mapping):
            raise UsageError("cannot save a baseline: the report has no 'metrics' object")
        git = git_state(cwd)
        created = report.get("created")
        browser = report.get("browser_version")
        data = {
            "schema": BASELINE_SCHEMA,
            "name": name,
            "created": created if _finite(created) else time.time(),
            "commit": git.commit,
            "dirty": git.dirty,
            "branch": git.branch,
            "machine": machine_fingerprint(browser if isinstance(browser, str) else None),
            "metrics": {
                str(metric): dict(stats)
                for metric, stats in metrics.items()
                if isinstance(stats, Mapping)
            },
            "counters": dict(report.get("counters") or {}),
            "throttle": _profiles(report),
            # The raw samples (the last MAX_SAMPLES per metric): a later run is compared
            # with them as a distribution, not as a handful of statistics.
            "samples": samples_by_metric(report),
        }
        text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False)
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _profiles(figures: Mapping[str, Any]) -> list[str]:
    """The throttling profiles a report's (or a baseline's) figures were taken under
    (none: unthrottled)."""
    profiles = figures.get("throttle")
    vitals = figures.get("vitals")
    if profiles is None and isinstance(vitals, Mapping):
        profiles = vitals.get("throttle")
    return sorted(str(p) for p in profiles) if isinstance(profiles, list) else []


def missing_baseline_message(name: str, saved_path: str | Path) -> str:
    """What to say when the baseline to compare against did not exist and was saved now."""
    return (
        f"no baseline '{name}' yet: saved this run as {name} ({saved_path}); "
        "later runs compare against it"
    )


# -- fail rules ----------------------------------------------------------------------

_LIMIT_RE = re.compile(r"\+?\s*(?P<num>\d+(?:\.\d+)?|\.\d+)\s*(?P<unit>.*)", re.DOTALL)


@dataclass(frozen=True)
class FailRule:
    """How much one statistic of one metric may worsen against the baseline.

    ``relative``: ``limit`` is a percentage of the baseline value; otherwise an
    amount in ``unit`` (the metric's canonical unit: ms, MB, KB/run).
    """

    text: str
    metric: str
    stat: str
    limit: float
    relative: bool
    unit: str
    kind: str

    @property
    def lower_is_worse(self) -> bool:
        """Rates and counts regress by dropping; everything else by growing."""
        return self.kind in _LOWER_IS_WORSE

    @property
    def single_value(self) -> bool:
        """Written on ``value`` (``memory.idle.value:20MB``): one figure, compared directly."""
        written = self.text.partition(":")[0].rpartition(".")[2]
        return written.strip().lower() == "value"

    def amount(self, reference: float) -> float:
        """The limit as an amount in the metric's unit (a percentage of ``reference``)."""
        return abs(reference) * self.limit / 100.0 if self.relative else self.limit

    @property
    def limit_text(self) -> str:
        """The limit in canonical form: ``"10%"``, ``"50 ms"``, ``"20 MB"``."""
        if self.relative:
            return f"{number_text(self.limit)}%"
        return format_amount(self.limit, self.unit)

    def exceeded(self, baseline: float, current: float) -> bool:
        """Whether going from ``baseline`` to ``current`` worsens by more than the limit."""
        worsening = baseline - current if self.lower_is_worse else current - baseline
        if worsening <= 0:
            return False
        if self.relative:
            if baseline == 0:
                return True  # any growth from nothing is an unbounded relative increase
            worsening = worsening / abs(baseline) * 100
        return worsening > self.limit and not math.isclose(worsening, self.limit, rel_tol=1e-9)


def _known_metric(name: str) -> bool:
    return name in METRIC_KINDS or name in BUILTIN_LATENCY


def parse_fail_rule(text: str) -> FailRule:
    """Parse ``"<metric>.<stat>:<limit>"``, e.g. ``"navigation.p95:10%"``.

    The metric may contain dots (``memory.idle.max:20MB``); the stat is the last
    dotted part, one of ``min med avg p95 p99 max`` (``value`` means ``max``,
    ``rate`` means ``avg``, the success rate of a rate metric). The limit is a
    percentage (``10%``: the stat may worsen by up to 10 % of the baseline value)
    or an amount in the metric's unit, written as a threshold writes it (``50ms``,
    ``0.5s``; ``20MB``; ``64KB/run``; ``5/run``; see
    :data:`~pytest_cdp_accept.gate.thresholds.UNITS`). A bare number is refused as
    ambiguous. Rates and counts only take a percentage; for them a drop is what
    worsens.
    """
    if not isinstance(text, str):
        raise UsageError(f"bad fail rule {text!r}: expected a string like 'navigation.p95:10%'")
    source = text.strip()

    def bad(problem: str) -> UsageError:
        return UsageError(
            f'bad fail rule "{text}": {problem}; expected "<metric>.<stat>:<limit>" '
            'such as "navigation.p95:10%" or "navigation.p95:50ms"'
        )

    target, colon, limit_text = source.partition(":")
    target, limit_text = target.strip(), limit_text.strip()
    if not colon:
        raise bad('no ":" between the metric and the limit')
    if ":" in limit_text:
        raise bad('more than one ":"')
    metric, stat = _rule_target(target, limit_text, bad)
    if not limit_text:
        raise bad("the limit is missing")
    number, written_unit = _rule_number(limit_text, bad)
    kind = kind_of(metric)
    if re.sub(r"\s+", "", written_unit) == "%":
        return FailRule(source, metric, stat, float(number), True, "%", kind)
    factor, unit = _rule_amount_unit(metric, limit_text, written_unit, bad)
    return FailRule(source, metric, stat, float(number * factor), False, unit, kind)


def _rule_target(target: str, limit_text: str, bad: Callable[[str], UsageError]) -> tuple[str, str]:
    """``(metric, stat)`` of a rule's ``<metric>.<stat>``, aliases resolved."""
    metric, dot, stat_text = target.rpartition(".")
    metric, stat_text = metric.strip(), stat_text.strip().lower()
    if not dot or not metric or any(ch.isspace() for ch in metric):
        if _known_metric(target):
            example = "max" if kind_of(target) in ("memory", "count", "growth") else "p95"
            raise bad(f'the stat is missing; write e.g. "{target}.{example}:{limit_text or "10%"}"')
        raise bad(f'"{target}" does not name a metric and a stat')
    stat = _STAT_ALIASES.get(stat_text, stat_text)
    if stat not in RULE_STATS:
        hint = ""
        if _known_metric(target):
            hint = f' ("{target}" is a metric: add the stat, e.g. "{target}.max")'
        raise bad(
            f'unknown stat "{stat_text}"{hint}; allowed: {" ".join(RULE_STATS)} '
            "(and value = max, rate = avg, p50 = med)"
        )
    return metric, stat


def _rule_number(limit_text: str, bad: Callable[[str], UsageError]) -> tuple[Decimal, str]:
    """The number of a limit and its unit as written."""
    match = _LIMIT_RE.fullmatch(limit_text)
    if match is None:
        if limit_text.lstrip().startswith("-"):
            raise bad(f'the limit "{limit_text}" is negative; limits are >= 0')
        raise bad(f'the limit "{limit_text}" is not a number with a unit or %')
    try:
        number = Decimal(match.group("num"))
    except InvalidOperation:  # pragma: no cover - the regex only lets numbers through
        raise bad(f'the limit "{limit_text}" is not a number') from None
    return number, match.group("unit").strip()


def _rule_amount_unit(
    metric: str, limit_text: str, written_unit: str, bad: Callable[[str], UsageError]
) -> tuple[Decimal, str]:
    """The factor and canonical unit of an absolute limit: a unit of the threshold
    grammar that gives the unit the metric is recorded in (no bare number, no %)."""
    kind = kind_of(metric)
    amounts = {
        spelled: value
        for spelled, value in UNITS[kind].items()
        if spelled not in ("", "%") and value[1] == unit_of(metric)
    }
    allowed = "a percentage such as 10% (relative change allowed)"
    if amounts:
        allowed += f" or an amount in {spell_units(amounts)}"
    if not written_unit:
        raise bad(
            f'"{limit_text}" has no unit, which is ambiguous; write {allowed}, e.g. "{limit_text}%"'
        )
    by_lower = {spelled.lower(): value for spelled, value in amounts.items()}
    unit_key = re.sub(r"\s+", "", written_unit).lower()
    if unit_key not in by_lower:
        raise bad(f'unit "{written_unit}" does not fit {metric} ({kind}); use {allowed}')
    return by_lower[unit_key]


def parse_fail_rules(texts: Sequence[str]) -> list[FailRule]:
    """Parse several rules (the repeatable ``--cdp-compare-fail``)."""
    return [parse_fail_rule(text) for text in texts]


# -- comparison ----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One statistic of one metric, in the baseline and now."""

    metric: str
    stat: str
    baseline: float
    current: float
    change_pct: float | None
    limit: str | None
    regressed: bool
    direct: bool = False
    """A rule judged on the statistic itself, though the metric has samples on both
    sides (a rule on ``value``): the line says so."""

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "stat": self.stat,
            "baseline": self.baseline,
            "current": self.current,
            "change_pct": self.change_pct,
            "limit": self.limit,
            "regressed": self.regressed,
            "direct": self.direct,
        }

    def line(self) -> str:
        """E.g. ``"navigation p95: 312.4 ms -> 340.1 ms (+8.9 %) limit 10% ✓"``."""
        unit = unit_of(self.metric)
        if self.change_pct is None:
            change = "(no change)" if self.current == self.baseline else "(from 0)"
        else:
            change = f"({self.change_pct:+.1f} %)"
        stat = "rate" if self.stat == "avg" and kind_of(self.metric) == "rate" else self.stat
        text = (
            f"{self.metric} {stat}: {format_value(self.baseline, unit)} -> "
            f"{format_value(self.current, unit)} {change}"
        )
        if self.limit is not None:
            drop = " drop" if kind_of(self.metric) in _LOWER_IS_WORSE else ""
            text += f" limit {self.limit}{drop} {'✗' if self.regressed else '✓'}"
        if self.direct:
            text += " (a single value: compared directly, no significance test)"
        return text


@dataclass
class Comparison:
    """A run set against a baseline."""

    baseline_name: str
    baseline_created: float | None
    baseline_commit: str | None
    baseline_dirty: bool = False
    rows: list[Row] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    """Metrics of this run the baseline does not have."""
    removed: list[str] = field(default_factory=list)
    """Metrics of the baseline this run does not have."""
    unmatched: list[str] = field(default_factory=list)
    """Rules that could not be checked, with the reason."""
    other_machine: bool = False
    machine_diff: list[str] = field(default_factory=list)
    rules: int = 0
    throttle: tuple[list[str], list[str]] | None = None
    """The baseline's and this run's throttling profiles, when they differ."""
    shifts: list[ShiftRow] = field(default_factory=list)
    """The distribution rows: every metric with samples on both sides, one per rule."""
    alpha: float = 0.01

    @property
    def regressions(self) -> list[Row | ShiftRow]:
        found: list[Row | ShiftRow] = [row for row in self.rows if row.regressed]
        return found + [row for row in self.shifts if row.regressed]

    @property
    def failed(self) -> bool:
        """Whether any fail rule's limit was exceeded (with significance, for a
        distribution)."""
        return bool(self.regressions)

    def to_json(self) -> list[dict[str, Any]]:
        """The statistic rows as plain dicts (the HTML report reads these)."""
        return [row.to_json() for row in self.rows]

    def shifts_json(self) -> list[dict[str, Any]]:
        """The distribution rows as plain dicts."""
        return [row.to_json() for row in self.shifts]

    def header(self) -> str:
        when = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(self.baseline_created))
            if self.baseline_created is not None
            else "unknown date"
        )
        if self.baseline_commit:
            commit = f"commit {self.baseline_commit[:12]}"
            if self.baseline_dirty:
                commit += " with uncommitted changes"
        else:
            commit = "no commit"
        return f"baseline '{self.baseline_name}' ({when}, {commit})"

    def lines(self) -> list[str]:
        """The comparison for the terminal."""
        lines = [f"  compared with {self.header()}"]
        hardware = [f for f in self.machine_diff if f in _HARDWARE_FIELDS]
        software = [f for f in self.machine_diff if f not in _HARDWARE_FIELDS]
        if self.other_machine:
            verb = "differs" if len(hardware) == 1 else "differ"
            lines.append(
                f"    ! recorded on another machine ({', '.join(hardware)} {verb}): "
                "changes may come from the machine, not the code"
            )
        if software:
            what = " and ".join(software)
            verb = "version differs" if len(software) == 1 else "versions differ"
            lines.append(f"    ! {what} {verb} from the baseline's")
        if self.throttle is not None:
            old, new = (", ".join(p) or "unthrottled" for p in self.throttle)
            lines.append(
                f"    ! throttled differently: the baseline under {old}, this run under {new}"
            )
        judged = {row.metric for row in self.shifts}
        if self.shifts:
            lines.append(
                f"    shift: Hodges-Lehmann, this run minus the baseline; p: one-sided "
                f"Mann-Whitney U, significant below {self.alpha:g}"
            )
        lines += [f"    {row.line()}" for row in self.shifts]
        lines += [
            f"    {row.line()}"
            for row in self.rows
            if row.metric not in judged or row.limit is not None
        ]
        lines += [f"    + {metric}: new in this run (not in the baseline)" for metric in self.added]
        lines += [f"    - {metric}: in the baseline, not in this run" for metric in self.removed]
        lines += [f"    ? {reason}" for reason in self.unmatched]
        regressions = self.regressions
        if regressions:
            lines.append(
                f"    ✗ {len(regressions)} regression(s) beyond the --cdp-compare-fail limits"
            )
        elif self.rules:
            lines.append(f"    ✓ no regression beyond the {self.rules} --cdp-compare-fail limit(s)")
        return lines


def _stat_value(stats: Any, stat: str) -> float | None:
    if not isinstance(stats, Mapping):
        return None
    value = stats.get(stat)
    return float(value) if _finite(value) else None


def compare(
    current_report: Mapping[str, Any],
    baseline: Mapping[str, Any],
    rules: Sequence[FailRule] = (),
    *,
    alpha: float = 0.01,
    fingerprint: Mapping[str, Any] | None = None,
) -> Comparison:
    """Set ``current_report`` (a :meth:`Results.to_json` dict) against ``baseline``
    (from :meth:`BaselineStore.load`).

    Every metric in both gets a row per statistic in :data:`COMPARED_STATS`
    (rates: their rate, counts: their value), and, when both hold its samples, a
    distribution row (:class:`~pytest_cdp_accept.gate.shift.ShiftRow`) judged at
    ``alpha``, without a rule against the noise floor and for information only. A
    rule on a metric with at least two samples on each side is
    judged on the distributions: regressed only when the shift exceeds its limit
    and p < ``alpha``; a rule on ``value`` or on a metric with one sample on a
    side compares the statistic directly, as a row of its own.
    ``fingerprint`` is this machine's (default: :func:`machine_fingerprint`).
    """
    current_metrics = current_report.get("metrics") or {}
    baseline_metrics = baseline.get("metrics") or {}
    result = _comparison_of(current_report, baseline, fingerprint)
    result.rules, result.alpha = len(rules), alpha
    by_target: dict[tuple[str, str], list[FailRule]] = {}
    for rule in rules:
        by_target.setdefault((rule.metric, rule.stat), []).append(rule)
        if rule.metric not in current_metrics or rule.metric not in baseline_metrics:
            where = "this run" if rule.metric not in current_metrics else "the baseline"
            result.unmatched.append(f"rule {rule.text}: no {rule.metric} in {where}")
    old_samples, new_samples = samples_by_metric(baseline), samples_by_metric(current_report)
    by_distribution = _distribution_rules(rules, old_samples, new_samples)
    direct = {
        target: [r for r in found if r not in by_distribution]
        for target, found in by_target.items()
    }
    for metric in sorted(set(current_metrics) & set(baseline_metrics)):
        both = metric in old_samples and metric in new_samples
        _compare_metric(
            result, metric, baseline_metrics[metric], current_metrics[metric], direct, both
        )
        if both:
            result.shifts += _shift_rows(
                metric,
                old_samples[metric],
                new_samples[metric],
                [r for r in by_distribution if r.metric == metric],
                baseline_metrics[metric],
                alpha,
            )
    return result


def _comparison_of(
    current_report: Mapping[str, Any],
    baseline: Mapping[str, Any],
    fingerprint: Mapping[str, Any] | None,
) -> Comparison:
    """An empty comparison: the baseline's identity, the metrics only one side has
    and how the machines differ."""
    current_metrics = current_report.get("metrics") or {}
    baseline_metrics = baseline.get("metrics") or {}
    if fingerprint is None:
        browser = current_report.get("browser_version")
        fingerprint = machine_fingerprint(browser if isinstance(browser, str) else None)
    diff = _machine_diff(baseline.get("machine") or {}, fingerprint)
    then, now = _profiles(baseline), _profiles(current_report)
    created = baseline.get("created")
    commit = baseline.get("commit")
    return Comparison(
        baseline_name=str(baseline.get("name") or "?"),
        baseline_created=float(created) if _finite(created) else None,
        baseline_commit=commit if isinstance(commit, str) else None,
        baseline_dirty=bool(baseline.get("dirty")),
        added=sorted(set(current_metrics) - set(baseline_metrics)),
        removed=sorted(set(baseline_metrics) - set(current_metrics)),
        other_machine=any(f in _HARDWARE_FIELDS for f in diff),
        machine_diff=diff,
        throttle=None if then == now else (then, now),
    )


def _distribution_rules(
    rules: Sequence[FailRule],
    old: Mapping[str, Sequence[float]],
    new: Mapping[str, Sequence[float]],
) -> list[FailRule]:
    """The rules judged on the distributions: not on ``value``, and at least two
    samples of the metric on each side."""
    return [
        rule
        for rule in rules
        if not rule.single_value
        and len(old.get(rule.metric, ())) >= 2
        and len(new.get(rule.metric, ())) >= 2
    ]


def _shift_rows(
    metric: str,
    old: Sequence[float],
    new: Sequence[float],
    rules: Sequence[FailRule],
    old_stats: Any,
    alpha: float,
) -> list[ShiftRow]:
    """One distribution row per rule on the metric (one informational row without)."""
    if not rules:
        return [shift_row(metric, old, new, alpha=alpha)]
    rows = []
    for rule in rules:
        reference = _stat_value(old_stats, rule.stat)
        if reference is None:
            reference = sorted(old)[len(old) // 2]
        limit_text = rule.limit_text
        if rule.relative:
            limit_text += f" of the baseline {rule.stat}"
        rows.append(
            shift_row(
                metric,
                old,
                new,
                alpha=alpha,
                limit=rule.amount(reference),
                rule=rule.text,
                limit_text=limit_text,
            )
        )
    return rows


def _compare_metric(
    result: Comparison,
    metric: str,
    old_stats: Any,
    new_stats: Any,
    by_target: Mapping[tuple[str, str], list[FailRule]],
    has_samples: bool = False,
) -> None:
    """Add one metric's rows (and the rules that found no figure) to ``result``;
    ``has_samples``: both sides hold its samples, so a rule here is one on ``value``,
    judged directly by choice."""
    wanted = set(_DEFAULT_STATS.get(kind_of(metric), COMPARED_STATS))
    wanted |= {stat for (m, stat) in by_target if m == metric}
    for stat in RULE_STATS:
        if stat not in wanted:
            continue
        old = _stat_value(old_stats, stat)
        new = _stat_value(new_stats, stat)
        metric_rules = by_target.get((metric, stat), [])
        if old is None or new is None:
            for rule in metric_rules:
                side = "the baseline" if old is None else "this run"
                result.unmatched.append(f"rule {rule.text}: no {stat} of {metric} in {side}")
            continue
        change = None if old == 0 else (new - old) / abs(old) * 100
        targets: Sequence[FailRule | None] = metric_rules or [None]
        for target in targets:
            result.rows.append(
                Row(
                    metric=metric,
                    stat=stat,
                    baseline=old,
                    current=new,
                    change_pct=change,
                    limit=None if target is None else target.limit_text,
                    regressed=False if target is None else target.exceeded(old, new),
                    direct=target is not None and has_samples,
                )
            )
